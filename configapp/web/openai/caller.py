"""Who sent a /v1 request: the one function that reads its credentials.

Only `Authorization: Bearer <token>`: a client token (access/clients.py: its models and
its budget) or the API token (every model, no budget of its own). Never the session
cookie, and never nothing, even with CONFIGAPP_AUTH=off: a tool holds a token of its
own, so an unknown one is refused whatever the Playground's setting. A wrong token counts
against the sender like one sent to /api (the gate's limiter).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from configapp.access.auth import TooManyFailures
from configapp.access.clients import Client, ClientService
from configapp.components import components
from configapp.web.openai.errors import OpenAIError

REFUSED = ("Incorrect API key provided. Use the API token of configapp (or a client "
               "token made in Settings) as the key, sent as `Authorization: Bearer <token>`.")


@dataclass(frozen=True)
class Caller:
    """The sender: a client, or (None) the API token's holder."""

    client: Client | None = None

    @property
    def client_id(self) -> int | None:
        return self.client.id if self.client is not None else None

    @property
    def limited(self) -> bool:
        return self.client is not None and self.client.models is not None

    def allows(self, model_name: str) -> bool:
        """Whether the caller may list and call this model id or alias."""
        return self.client is None or ClientService.allows(self.client, model_name)


def bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def caller() -> Caller:
    """The caller, or a 401 (a 429 past the limit of wrong tokens)."""
    token = bearer_token()
    if not token:
        raise OpenAIError(401, REFUSED, code="invalid_api_key")
    parts = components()
    client = parts.clients.authenticate(token)
    if client is not None:
        return Caller(client)
    gate = parts.gate
    try:
        known = gate.check_token(request, token) is not None
    except TooManyFailures as refusal:
        raise OpenAIError(429, "Too many wrong API keys from this address: try again in "
                               f"{refusal.retry_after} s.", "rate_limit_exceeded") from None
    if not known:
        raise OpenAIError(401, REFUSED, code="invalid_api_key")
    return Caller()
