"""Each provider's HTTP API as configapp uses it: public base URL, models endpoint, auth.

A base URL here means what LiteLLM takes as `api_base` for that provider, so that the key
test and the chat go to the same place: OpenAI and OpenAI-compatible servers end in `/v1`
(`https://api.openai.com/v1`, `http://localhost:11434/v1`), Anthropic has no version
(`https://api.anthropic.com`), Gemini ends in `/v1beta`.

The models endpoint is called with httpx directly (LiteLLM's helpers turn every error into
an empty list): never following a redirect, with a timeout, and reading at most a few MB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from configapp.adapters.outbound_http import refused_by_rules
from configapp.llm import (
    ProviderError,
    ProviderTimeoutError,
    ReachableModel,
    describe_failure,
    host_of,
    kind_for_status,
    provider_name,
    shown_detail,
)
from configapp.providers import AZURE_API_VERSION, SUPPORTED

MAX_LISTING_BYTES = 8 * 1024 * 1024
MAX_PAGES = 20
ANTHROPIC_VERSION = "2023-06-01"
# Entries of an OpenAI-style listing that are not chat models (embeddings, speech, images).
NOT_CHAT = re.compile(r"embed|tts|whisper|dall-e|moderation|transcribe|image|audio|"
                      r"realtime|rerank|davinci|babbage", re.IGNORECASE)


@dataclass(frozen=True)
class ProviderApi:
    """How to reach one provider: its wire format and its public base URL, if it has one."""

    dialect: str
    public_base: str | None

    def base_for(self, api_base: str | None) -> str | None:
        return api_base or self.public_base


PROVIDER_APIS: dict[str, ProviderApi] = {
    name: ProviderApi(row.wire, row.public_base) for name, row in SUPPORTED.items()}
BASE_URL_HINTS = {
    "openai": "OpenAI-compatible base URLs usually end in /v1",
    "anthropic": "Anthropic's base URL has no /v1 (https://api.anthropic.com)",
    "gemini": "Gemini's base URL ends in /v1beta",
    "azure": "Azure's base URL is the resource's endpoint (https://NAME.openai.azure.com)",
}


def provider_api(provider: str) -> ProviderApi | None:
    return PROVIDER_APIS.get(provider)


def auth_headers(dialect: str, api_key: str) -> dict[str, str]:
    if dialect == "anthropic":
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
    if dialect == "gemini":
        return {"x-goog-api-key": api_key}
    if dialect == "azure":
        return {"api-key": api_key}
    return {"Authorization": f"Bearer {api_key}"}


def models_url(dialect: str, base: str) -> str:
    if dialect == "anthropic":
        return f"{base}/v1/models"
    if dialect == "azure":
        return f"{base}/openai/models"
    return f"{base}/models"


def first_query(dialect: str) -> dict[str, str]:
    if dialect == "anthropic":
        return {"limit": "1000"}
    if dialect == "azure":
        return {"api-version": AZURE_API_VERSION}
    return {}


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_page(dialect: str, body: Any) -> tuple[list[ReachableModel], dict[str, str] | None]:
    """The models of one page, and the query that asks for the next page (None: last)."""
    if dialect == "gemini":
        entries = body.get("models", [])
        models = [
            ReachableModel(str(entry["name"]).removeprefix("models/"), entry.get("displayName"),
                           _as_int(entry.get("inputTokenLimit")),
                           _as_int(entry.get("outputTokenLimit")))
            for entry in entries
            if "generateContent" in entry.get("supportedGenerationMethods", ["generateContent"])
        ]
        token = body.get("nextPageToken")
        return models, ({"pageToken": str(token)} if token else None)
    entries = body if isinstance(body, list) else body["data"]  # Together answers a list
    if not isinstance(entries, list):
        raise TypeError("data is not a list")
    if dialect == "anthropic":
        models = [ReachableModel(str(entry["id"]), entry.get("display_name")) for entry in entries]
        more = body.get("has_more") and body.get("last_id")
        return models, ({"after_id": str(body["last_id"]), "limit": "1000"} if more else None)
    if dialect == "azure":  # the resource's models; only those that can chat
        entries = [entry for entry in entries
                   if (entry.get("capabilities") or {}).get("chat_completion", True)]
    return [ReachableModel(str(entry["id"])) for entry in entries], None


class ModelsEndpointClient:
    """Lists what a key can reach from the provider's models endpoint."""

    def __init__(self, http: httpx.Client, timeout: float) -> None:
        self.http = http
        self.timeout = timeout

    def list_models(self, provider: str, api_key: str, api_base: str | None
                    ) -> list[ReachableModel]:
        """Every chat model the key can reach; ProviderError (scrubbed) when refused."""
        api = provider_api(provider)
        base = api.base_for(api_base) if api else None
        if api is None or base is None:
            raise ProviderError("provider_error",
                                f"Listing models is not available for {provider}.")
        models: list[ReachableModel] = []
        query: dict[str, str] | None = first_query(api.dialect)
        pages = 0
        while query is not None and pages < MAX_PAGES:
            body = self._get(provider, api.dialect, base, api_key, query)
            try:
                page, query = parse_page(api.dialect, body)
            except (KeyError, TypeError, AttributeError) as error:
                raise self._not_a_listing(provider, api.dialect, base) from error
            models.extend(page)
            pages += 1
        # An id with control characters (a line break) is no model id: it could only forge
        # log lines or break pages.
        models = [m for m in models if m.model_id.isprintable() and 0 < len(m.model_id) <= 200]
        if api.dialect in ("openai", "azure"):
            models = [m for m in models if not NOT_CHAT.search(m.model_id)]
        return models

    def _not_a_listing(self, provider: str, dialect: str, base: str) -> ProviderError:
        return ProviderError("bad_base_url", describe_failure(
            provider, "bad_base_url", None,
            f"the answer at {host_of(base)} is not a models list ({BASE_URL_HINTS[dialect]})."))

    def _get(self, provider: str, dialect: str, base: str, api_key: str,
             query: dict[str, str]) -> Any:
        url = models_url(dialect, base)
        name = provider_name(provider)
        try:
            with self.http.stream("GET", url, params=query, headers=auth_headers(dialect, api_key),
                                  timeout=self.timeout, follow_redirects=False) as response:
                raw = b"".join(_capped(response.iter_bytes(), MAX_LISTING_BYTES))
                status = response.status_code
                location = response.headers.get("location")
        except httpx.TimeoutException as error:
            raise ProviderTimeoutError(
                f"{name} did not answer within {self.timeout:g} s at {host_of(base)}."
            ) from error
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise ProviderError("bad_base_url", f"The base URL of this {name} key is not "
                                                "a usable http(s) URL.") from error
        except httpx.TransportError as error:
            refused = refused_by_rules(error)
            if refused is not None:
                raise ProviderError("bad_base_url", f"{name}: the base URL "
                                    f"{host_of(base)} is {refused}.") from error
            raise ProviderError("unreachable", f"{name} could not be reached at "
                                f"{host_of(base)} ({type(error).__name__}).") from error
        except httpx.HTTPError as error:
            raise ProviderError("provider_error", f"{name}'s answer could not be read "
                                                  f"({type(error).__name__}).") from error
        except ValueError as error:
            raise ProviderError("provider_error", f"{name} sent a models list larger than "
                                                  f"{MAX_LISTING_BYTES // 2**20} MB.") from error
        return self._body(provider, dialect, base, api_key, status, raw, location)

    def _body(self, provider: str, dialect: str, base: str, api_key: str, status: int,
              raw: bytes, location: str | None) -> Any:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if 200 <= status < 300 and isinstance(body, dict | list):
            return body
        if 200 <= status < 300:
            raise self._not_a_listing(provider, dialect, base)
        kind = kind_for_status(status, body)
        if 300 <= status < 400:
            detail = (f"it redirects to {host_of(location)}; redirects are not followed with "
                      "a key, save the key with the final base URL.")
        elif status in (404, 405):
            detail = (f"nothing at {host_of(base)} answers the models list "
                      f"({BASE_URL_HINTS[dialect]}).")
        else:
            detail = shown_detail(raw, api_key)
        raise ProviderError(kind, describe_failure(provider, kind, status, detail), status)


def _capped(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ValueError("answer too large")
        yield chunk
