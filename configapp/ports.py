"""The ports: what the services need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from configapp.domain import ApiKeyConfig, Catalog, ModelConfig, NewApiKey
from configapp.llm import ChatMessage, ChatReply, ProviderStream, ReachableModel

if TYPE_CHECKING:
    from configapp.service import ResolvedKey


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

    def update_api_key(self, key_id: int, key_name: str | None,
                       is_active: bool | None) -> ApiKeyConfig: ...

    def delete_api_key(self, key_id: int) -> ApiKeyConfig: ...

    def touch_api_key(self, key_id: int) -> None:
        """Set last_used_at to now."""
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
