"""The ports: what the services need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from configapp.domain import (
    Alias,
    ApiKeyConfig,
    Catalog,
    ModelConfig,
    NewApiKey,
    NewKeySecret,
    ResolvedKey,
    Visibility,
    VisibilityChange,
)
from configapp.providers.llm import ChatMessage, ChatReply, ProviderStream, ReachableModel


class EncryptionPort(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str:
        """The plaintext; InvalidEncryptionKeyError when no configured key opens it."""
        ...


class ConfigurationStoragePort(Protocol):
    def add_api_key(self, new: NewApiKey, masked_key: str,
                    seal: Callable[[int], str]) -> ApiKeyConfig:
        """Insert a key; `seal(row_id)` gives the token, written in the same transaction."""
        ...

    def list_api_keys(self, provider: str | None = None) -> list[ApiKeyConfig]: ...

    def get_api_key(self, key_id: int) -> ApiKeyConfig: ...

    def get_encrypted_key(self, key_id: int) -> str: ...

    def active_api_key(self, provider: str) -> ApiKeyConfig | None: ...

    def providers_with_active_keys(self) -> set[str]: ...

    def update_api_key(self, key_id: int, key_name: str | None, is_active: bool | None,
                       secret: NewKeySecret | None = None) -> ApiKeyConfig:
        """Rename, (de)activate, and with `secret` replace the token, mask and base URL."""
        ...

    def delete_api_key(self, key_id: int) -> ApiKeyConfig: ...

    def touch_api_key(self, key_id: int) -> None:
        """Set last_used_at to now."""
        ...

    def reads_together(self) -> AbstractContextManager[None]:
        """The reads made inside share one read transaction (the writes keep their own):
        a chat's plan makes about ten."""
        ...

    def sample_encrypted_key(self) -> str | None:
        """Any one stored token, to check the encryption key against (the canary)."""
        ...

    def select_model(self, model_id: str, provider: str) -> ModelConfig: ...

    def selected_model(self) -> ModelConfig | None: ...

    def get_model_config(self, model_id: str) -> ModelConfig | None: ...

    def set_parameters(self, model_id: str, provider: str,
                       parameters: dict[str, Any]) -> ModelConfig: ...

    def revision(self) -> str:
        """An opaque value that changes with every change of the settings."""
        ...


class ModelCatalogPort(Protocol):
    def catalog(self) -> Catalog: ...


class ProviderGatewayPort(Protocol):
    """Calls to providers; every failure is a ProviderError with a keyless message."""

    def list_models(self, key: ResolvedKey) -> list[ReachableModel]:
        """What the key can reach, from the provider's models endpoint (free)."""
        ...

    def supports_listing(self, provider: str, api_base: str | None) -> bool: ...

    def complete(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
                 key: ResolvedKey) -> ChatReply: ...

    def stream(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
               key: ResolvedKey) -> ProviderStream:
        """Opens the stream (a refusal raises here), then yields its pieces."""
        ...

    def supported_parameters(self, model_id: str, provider: str) -> frozenset[str] | None:
        """The OpenAI parameters the model takes; None when unknown."""
        ...


class CurationStoragePort(Protocol):
    """Curation's rows. Every write is one transaction that moves the sync revision; the
    `check` callbacks run inside it, on the rows as they are then, and may raise."""

    def visibility(self) -> Visibility: ...

    def change_visibility(self, change: VisibilityChange) -> None: ...

    def aliases(self) -> dict[str, Alias]: ...

    def put_alias(self, alias: Alias,
                  check: Callable[[dict[str, Alias]], tuple[str, str]]) -> Alias:
        """check gives the (model id, provider) the alias comes to, stored if new."""
        ...

    def delete_alias(self, name: str,
                     check: Callable[[dict[str, Alias], dict[str, str]], None]) -> None:
        """ModelNotFoundError when there is no such alias."""
        ...

    def purposes(self) -> dict[str, str]:
        """Purpose -> model id or alias; `chat` is the default model unless an alias."""
        ...

    def set_purpose(self, name: str, target: str, provider: str | None,
                    check: Callable[[dict[str, Alias]], None],
                    fallbacks: tuple[str, ...] | None = None) -> None:
        """provider is None when target is an alias; fallbacks None keeps the purpose's."""
        ...

    def purpose_fallbacks(self) -> dict[str, tuple[str, ...]]:
        """Purpose -> its fallbacks, in order (purposes with none are left out)."""
        ...

    def clear_purpose(self, name: str) -> None: ...

    def record_listing(self, provider: str, listed: frozenset[str]) -> list[str]:
        """Remember what a provider lists; mark what it listed before and no longer does
        withdrawn (and unmark what is back). The ids newly withdrawn."""
        ...

    def listed_models(self) -> dict[str, str]:
        """Model id -> provider of every model a live listing named, withdrawn or not."""
        ...

    def withdrawn(self) -> dict[str, datetime]: ...
    def count_tokens(self, model_id: str, messages: list[ChatMessage],
                     text: str) -> tuple[int, int]:
        """(prompt tokens, reply tokens) by a tokenizer installed with the packages, or
        estimated, never downloaded: for a reply whose provider sent no usage (a stream the
        client stopped)."""
        ...
