"""Fakes of the ports, for unit tests of the rules (never for adapter tests)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from configapp.access.clients import Client, ClientNotFoundError
from configapp.domain import (
    ApiKeyConfig,
    ApiKeyNotFoundError,
    Catalog,
    InvalidEncryptionKeyError,
    ModelConfig,
    ModelInfo,
    NewApiKey,
    NewKeySecret,
)
from configapp.providers.llm import (
    ChatMessage,
    ChatReply,
    ProviderError,
    ProviderStream,
    ReachableModel,
    StreamChunk,
    Usage,
)


def now() -> datetime:
    return datetime.now(UTC)


class FakeEncryption:
    """Reversible and keyed, so a wrong key is detectable: enough for the rules."""

    def __init__(self, key: str = "k1") -> None:
        self.key = key

    def encrypt(self, plaintext: str) -> str:
        return f"{self.key}:{plaintext[::-1]}"

    def decrypt(self, token: str) -> str:
        key, _, body = token.partition(":")
        if key != self.key:
            raise InvalidEncryptionKeyError("wrong key")
        return body[::-1]


class FakeCatalog:
    def __init__(self, *models: ModelInfo, source: str = "litellm") -> None:
        self._catalog = Catalog(source, models or (
            ModelInfo("openai/gpt-4o-mini", "openai", "gpt-4o-mini", 128000, 16384, 0.15, 0.6),
            ModelInfo("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5",
                      200000, 64000, 3.0, 15.0),
            ModelInfo("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash",
                      1048576, 65536, 0.3, 2.5),
        ))

    def catalog(self) -> Catalog:
        return self._catalog


class FakeStorage:
    """Stores what it is given, keeping the one active key per provider and the one
    default model the discovery and chat tests rely on. These rules are the database's:
    they are tested on the real storage (tests/integration/test_storage_rules.py), never
    here; nor is the revision, which this fake does not have."""

    def __init__(self) -> None:
        self.keys: dict[int, ApiKeyConfig] = {}
        self.tokens: dict[int, str] = {}
        self.models: dict[str, ModelConfig] = {}
        self.touched: list[int] = []
        self._ids = itertools.count(1)

    def reads_together(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def add_api_key(self, new: NewApiKey, masked_key: str,
                    seal: Callable[[int], str]) -> ApiKeyConfig:
        if new.is_active:
            self._deactivate(new.provider)
        key_id = next(self._ids)
        record = ApiKeyConfig(key_id, new.provider, new.key_name, masked_key, new.api_base,
                              new.is_active, now(), now())
        self.keys[key_id] = record
        self.tokens[key_id] = seal(key_id)
        return record

    def _deactivate(self, provider: str) -> None:
        for key_id, record in self.keys.items():
            if record.provider == provider and record.is_active:
                self.keys[key_id] = replace(record, is_active=False)

    def list_api_keys(self, provider: str | None = None) -> list[ApiKeyConfig]:
        return [r for r in self.keys.values() if provider in (None, r.provider)]

    def get_api_key(self, key_id: int) -> ApiKeyConfig:
        if key_id not in self.keys:
            raise ApiKeyNotFoundError(f"No API key with id {key_id}.")
        return self.keys[key_id]

    def get_encrypted_key(self, key_id: int) -> str:
        self.get_api_key(key_id)
        return self.tokens[key_id]

    def active_api_key(self, provider: str) -> ApiKeyConfig | None:
        return next((r for r in self.keys.values()
                     if r.provider == provider and r.is_active), None)

    def providers_with_active_keys(self) -> set[str]:
        return {r.provider for r in self.keys.values() if r.is_active}

    def update_api_key(self, key_id: int, key_name: str | None, is_active: bool | None,
                       secret: NewKeySecret | None = None) -> ApiKeyConfig:
        record = self.get_api_key(key_id)
        if is_active:
            self._deactivate(record.provider)
        record = replace(record,
                         key_name=record.key_name if key_name is None else key_name,
                         is_active=record.is_active if is_active is None else is_active)
        if secret is not None:
            record = replace(record, api_base=secret.api_base, masked_key=secret.masked_key)
            self.tokens[key_id] = secret.seal(key_id)
        self.keys[key_id] = record
        return record

    def delete_api_key(self, key_id: int) -> ApiKeyConfig:
        record = self.get_api_key(key_id)
        del self.keys[key_id], self.tokens[key_id]
        return record

    def touch_api_key(self, key_id: int) -> None:
        self.touched.append(key_id)
        self.keys[key_id] = replace(self.keys[key_id], last_used_at=now())

    def sample_encrypted_key(self) -> str | None:
        return next(iter(self.tokens.values()), None)

    def select_model(self, model_id: str, provider: str) -> ModelConfig:
        for key, config in self.models.items():
            self.models[key] = replace(config, is_default=False)
        config = self.models.get(model_id) or ModelConfig(model_id, provider, False, {}, now())
        self.models[model_id] = replace(config, is_default=True)
        return self.models[model_id]

    def selected_model(self) -> ModelConfig | None:
        return next((c for c in self.models.values() if c.is_default), None)

    def get_model_config(self, model_id: str) -> ModelConfig | None:
        return self.models.get(model_id)

    def set_parameters(self, model_id: str, provider: str,
                       parameters: dict[str, Any]) -> ModelConfig:
        config = self.models.get(model_id) or ModelConfig(model_id, provider, False, {}, now())
        self.models[model_id] = replace(config, parameters=parameters)
        return self.models[model_id]

    def revision(self) -> str:
        raise NotImplementedError("the revision is the storage's: test it on the database")


class FakeGateway:
    """Answers from a script and records what it was asked (never a real provider)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.listings: dict[str, list[ReachableModel]] = {}
        self.failure: ProviderError | None = None
        self.listable = {"openai", "anthropic", "gemini"}

    def _note(self, kind: str, **details: Any) -> None:
        self.calls.append({"kind": kind, **details})
        if self.failure is not None:
            raise self.failure

    def list_models(self, key: Any) -> list[ReachableModel]:
        self._note("list", provider=key.provider, key=key.api_key, api_base=key.api_base)
        return self.listings.get(key.provider, [])

    def supports_listing(self, provider: str, api_base: str | None) -> bool:
        return provider in self.listable

    def complete(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
                 key: Any) -> ChatReply:
        self._note("complete", model=model_id, parameters=parameters, key=key.api_key,
                   api_base=key.api_base, messages=messages)
        return ChatReply(f"reply from {model_id}", "stop", Usage(1, 2, 3))

    def stream(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
               key: Any) -> ProviderStream:
        self._note("stream", model=model_id, parameters=parameters, key=key.api_key)
        return ProviderStream(iter([StreamChunk("re"),
                                    StreamChunk("ply", "stop", Usage(1, 2, 3))]))

    def supported_parameters(self, model_id: str, provider: str) -> frozenset[str] | None:
        """Every provider takes the usual ones and `tools`; only OpenAI takes `seed`."""
        return frozenset({"temperature", "top_p", "max_tokens", "tools", "tool_choice",
                          *({"seed"} if provider == "openai" else ())})

    def count_tokens(self, model_id: str, messages: list[ChatMessage],
                     text: str) -> tuple[int, int]:
        """One token a word: enough for the rules."""
        return sum(len(m.content.split()) for m in messages), len(text.split())


def fake_resolver(*addresses: str):
    """A getaddrinfo that answers these addresses for any name: the outbound rules under
    test, without DNS."""
    import socket

    def resolve(host: str, port: int, type: int = 0) -> list[tuple]:
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in addresses]
    return resolve


class FakeClientStorage:
    """Client rows in a dict, keyed by id (the name rule is the database's: tested there)."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[Client, str]] = {}  # id -> (Client, token hash)
        self._ids = itertools.count(1)

    def add_client(self, new):
        client = Client(next(self._ids), new.name, new.models, new.monthly_limit, now())
        self.rows[client.id] = (client, new.token_hash)
        return client

    def list_clients(self):
        return sorted((client for client, _ in self.rows.values()), key=lambda c: c.name)

    def update_client(self, client_id, changes):
        if client_id not in self.rows:
            raise ClientNotFoundError(f"No client with id {client_id}.")
        client, hashed = self.rows[client_id]
        self.rows[client_id] = (replace(client, **changes), hashed)
        return self.rows[client_id][0]

    def delete_client(self, client_id):
        if self.rows.pop(client_id, None) is None:
            raise ClientNotFoundError(f"No client with id {client_id}.")

    def client_by_token_hash(self, hashed):
        return next((client for client, kept in self.rows.values() if kept == hashed), None)
