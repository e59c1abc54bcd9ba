"""ConfigurationService: the rules of keys, catalogue, selection and sync."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from configapp.domain import (
    API_KEY_PATTERN,
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
    PROVIDER_ENV_VARS,
    ApiKeyConfig,
    ConfigurationError,
    InvalidEncryptionKeyError,
    ModelConfig,
    ModelInfo,
    ModelNotFoundError,
    NewApiKey,
    NewKeySecret,
    ProviderKeyMissingError,
    ResolvedKey,
    SealedKey,
    check_parameters,
    mask_key,
    normalise_provider,
    parameter_bounds,
)
from configapp.log_lines import log_text
from configapp.ports import ConfigurationStoragePort, EncryptionPort, ModelCatalogPort
from configapp.providers.outbound import check_base_url
from configapp.providers.support import SUPPORTED, unsupported_reason

audit = logging.getLogger("configapp.audit")
log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(API_KEY_PATTERN)


@dataclass(frozen=True)
class ActiveKey:
    """A provider's active stored key as the settings hold it: its row and its Fernet
    token, opened only when a call uses it (`ConfigurationService.use_key`)."""

    record: ApiKeyConfig
    token: str = field(repr=False)


class Unchanged:
    """The type of UNCHANGED: a field a PATCH left out (None there means "clear it")."""


UNCHANGED = Unchanged()
LAST_USED_RESOLUTION = timedelta(seconds=60)


def check_api_base(api_base: str | None) -> str | None:
    """A base URL keys may be sent to (configapp/providers/outbound.py), or None when empty."""
    return check_base_url(api_base)


def env_base_url(provider: str, url: str) -> str | None:
    try:
        return check_api_base(url)
    except ConfigurationError as error:
        raise ConfigurationError(f"The base URL for {provider} keys from the environment "
                                 f"(CONFIGAPP_ENV_KEY_BASE_URLS): {error}") from None


class ConfigurationService:
    """The one place that knows the rules; callers are the API, the CLI and ChatService."""

    def __init__(self, storage: ConfigurationStoragePort, encryption: EncryptionPort,
                 catalog: ModelCatalogPort, provider_env: Mapping[str, str] | None = None,
                 env_key_base_urls: Mapping[str, str] | None = None) -> None:
        self.storage = storage
        self.encryption = encryption
        self.catalog_source = catalog
        self.provider_env = dict(provider_env or {})
        # Where keys from the environment go (CONFIGAPP_ENV_KEY_BASE_URLS); stored keys go
        # only to the base URL they were saved with.
        self.env_key_base_urls = {normalise_provider(provider): env_base_url(provider, url)
                                  for provider, url in (env_key_base_urls or {}).items()}
        # When this process last set each key's last_used_at: a cached row's is stale.
        self._touched: dict[int, datetime] = {}

    # ---- providers -------------------------------------------------------------------

    def known_providers(self) -> frozenset[str]:
        """Providers a key may be added for: those of the support table (providers/support.py)."""
        return frozenset(SUPPORTED)

    def _known_provider(self, provider: str) -> str:
        name = normalise_provider(provider)
        if name not in SUPPORTED:
            raise ConfigurationError(unsupported_reason(name))
        return name

    def environment_key(self, provider: str) -> tuple[str, str] | None:
        """(variable name, key) for a provider's key in the environment, if any."""
        for name in PROVIDER_ENV_VARS.get(provider, ()):
            if self.provider_env.get(name):
                return name, self.provider_env[name]
        return None

    def provider_overview(self) -> list[dict[str, Any]]:
        """Each known provider with where its effective key comes from."""
        in_database = self.storage.providers_with_active_keys()
        overview = []
        for provider in sorted(self.known_providers()):
            env = self.environment_key(provider)
            source = "database" if provider in in_database else ("environment" if env else None)
            overview.append({
                "name": provider,
                "key_source": source,
                "env_var": env[0] if env else None,
                "env_vars": list(PROVIDER_ENV_VARS.get(provider, ())),
            })
        return overview

    def configured_providers(self) -> set[str]:
        """Providers with an active key in the database or a key in the environment."""
        from_env = {p for p in PROVIDER_ENV_VARS if self.environment_key(p)}
        return self.storage.providers_with_active_keys() | from_env

    # ---- keys ------------------------------------------------------------------------

    def clean_new_key(self, new: NewApiKey) -> NewApiKey:
        """The key as it will be stored (known provider, trimmed, checked), or an error."""
        provider = self._known_provider(new.provider)
        api_key = new.api_key.strip()
        if not KEY_PATTERN.match(api_key) or not (
                MIN_KEY_LENGTH <= len(api_key) <= MAX_KEY_LENGTH):
            raise ConfigurationError(f"The API key must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} "
                                     "printable characters with no spaces.")
        api_base = check_api_base(new.api_base)
        if api_base is None and SUPPORTED[provider].public_base is None:
            raise ConfigurationError(f"Keys for {provider} need the base URL of the server "
                                     "they belong to (for example http://localhost:8000/v1).")
        return NewApiKey(provider, api_key, new.key_name.strip(), api_base, new.is_active)

    def sealer(self, clean: NewApiKey) -> Callable[[int], str]:
        """`seal(row_id)`: the token of a clean key, bound to its row, provider and base."""

        def seal(row_id: int) -> str:
            return self.encryption.encrypt(
                SealedKey(row_id, clean.provider, clean.api_base, clean.api_key).to_plaintext()
            )

        return seal

    def add_api_key(self, new: NewApiKey) -> ApiKeyConfig:
        clean = self.clean_new_key(new)
        record = self.storage.add_api_key(clean, mask_key(clean.api_key), self.sealer(clean))
        audit.info("key added id=%s provider=%s key=%s active=%s",
                   record.id, log_text(clean.provider), record.masked_key, record.is_active)
        return record

    def list_api_keys(self, provider: str | None = None) -> list[ApiKeyConfig]:
        return self.storage.list_api_keys(normalise_provider(provider) if provider else None)

    def get_api_key(self, key_id: int) -> ApiKeyConfig:
        return self.storage.get_api_key(key_id)

    def update_api_key(self, key_id: int, key_name: str | None = None,
                       is_active: bool | None = None, api_key: str | None = None,
                       api_base: str | Unchanged | None = UNCHANGED) -> ApiKeyConfig:
        """Rename, (de)activate, or replace the secret or base URL in place: the id, the
        budgets and the ledger stay. A new secret or base URL is checked like an add."""
        secret = None
        if api_key is not None or not isinstance(api_base, Unchanged):
            secret = self._new_secret(self.storage.get_api_key(key_id), api_key, api_base)
        elif key_name is None and is_active is None:
            return self.storage.get_api_key(key_id)  # an empty PATCH changes nothing
        record = self.storage.update_api_key(
            key_id, key_name.strip() if key_name is not None else None, is_active, secret
        )
        if secret is not None:
            audit.info("key changed id=%s provider=%s key=%s base=%s",
                       record.id, log_text(record.provider), record.masked_key,
                       log_text(record.api_base or "-"))
        if is_active is not None:
            audit.info("key %s id=%s provider=%s key=%s",
                       "activated" if is_active else "deactivated",
                       record.id, log_text(record.provider), record.masked_key)
        return record

    def _new_secret(self, record: ApiKeyConfig, api_key: str | None,
                    api_base: str | Unchanged | None) -> NewKeySecret:
        """The re-sealed token of a key whose secret or base URL changes (the seal binds
        both), after the checks of an add. A new base URL comes with the key itself: whoever
        may edit settings must not be able to send a saved key to an address of theirs."""
        if (api_key is None and not isinstance(api_base, Unchanged)
                and check_api_base(api_base) != record.api_base):
            raise ConfigurationError("Enter the key again to change its base URL: a saved key "
                                     "is never sent to a new address without it.")
        clean = self.clean_new_key(NewApiKey(
            record.provider,
            self.reveal(record) if api_key is None else api_key,
            record.key_name,
            record.api_base if isinstance(api_base, Unchanged) else api_base,
        ))
        return NewKeySecret(clean.api_base, mask_key(clean.api_key), self.sealer(clean))

    def delete_api_key(self, key_id: int) -> None:
        record = self.storage.delete_api_key(key_id)
        audit.info("key deleted id=%s provider=%s key=%s",
                   record.id, log_text(record.provider), record.masked_key)

    def reveal(self, record: ApiKeyConfig) -> str:
        """The plaintext of a stored key, after checking the token belongs to this row."""
        return self._open(record, self.storage.get_encrypted_key(record.id))

    def _open(self, record: ApiKeyConfig, token: str) -> str:
        sealed = SealedKey.from_plaintext(self.encryption.decrypt(token))
        if not sealed.matches(record):
            raise InvalidEncryptionKeyError(
                f"The stored key {record.id} does not belong to its row; enter it again."
            )
        return sealed.api_key

    def resolve_key(self, provider: str) -> ResolvedKey:
        """The key to use: the active stored key, else the environment's, else an error."""
        provider = normalise_provider(provider)
        if provider not in SUPPORTED:
            raise ConfigurationError(unsupported_reason(provider))
        return self.use_key(provider, self.active_key(provider))

    def active_key(self, provider: str) -> ActiveKey | None:
        """The provider's active stored key and its token (what a chat's plan caches)."""
        record = self.storage.active_api_key(provider)
        if record is None:
            return None
        return ActiveKey(record, self.storage.get_encrypted_key(record.id))

    def use_key(self, provider: str, active: ActiveKey | None) -> ResolvedKey:
        """The key a call uses: `active` (the provider's active stored key, opened now and
        marked used), else the environment's, else ProviderKeyMissingError."""
        if provider not in SUPPORTED:
            raise ConfigurationError(unsupported_reason(provider))
        if active is not None:
            record = active.record
            resolved = ResolvedKey(provider, self._open(record, active.token), record.api_base,
                                   "database", record.id)
            self._mark_used(record)
            audit.info("key used id=%s provider=%s key=%s",
                       record.id, log_text(provider), record.masked_key)
            return resolved
        env = self.environment_key(provider)
        if env is not None:
            log.warning("Using %s from the environment for %s; add the key in Settings, "
                        "the environment variable is deprecated.", env[0], log_text(provider))
            return ResolvedKey(provider, env[1], self.env_key_base_urls.get(provider),
                               "environment")
        raise ProviderKeyMissingError(
            f"No API key for {provider}: add one in Settings > Keys."
        )

    def _mark_used(self, record: ApiKeyConfig) -> None:
        """Set last_used_at, to the minute: a chat need not wait for a write every time.
        The row may be a cached one (the touch does not move the settings revision), so
        this process's own last touch counts too."""
        now = datetime.now(UTC)
        used = max((moment for moment in (record.last_used_at, self._touched.get(record.id))
                    if moment is not None), default=None)
        if used is None or now - used >= LAST_USED_RESOLUTION:
            self.storage.touch_api_key(record.id)
            self._touched[record.id] = now

    def stored_key(self, key_id: int) -> ResolvedKey:
        """A stored key by id, active or not (for a key test); using it sets last_used_at."""
        record = self.storage.get_api_key(key_id)
        resolved = ResolvedKey(record.provider, self.reveal(record), record.api_base,
                               "database", record.id)
        self.storage.touch_api_key(record.id)
        return resolved

    def check_encryption_key(self) -> None:
        """Raise InvalidEncryptionKeyError if the configured key cannot open a stored token."""
        token = self.storage.sample_encrypted_key()
        if token is not None:
            self.encryption.decrypt(token)

    # ---- catalogue and selection ------------------------------------------------------

    def catalog(self, provider: str | None = None, query: str | None = None,
                configured: bool = False) -> tuple[str, list[ModelInfo]]:
        """(source, models) filtered by provider, a search text and configured providers."""
        catalog = self.catalog_source.catalog()
        models: list[ModelInfo] = list(catalog.models)
        if provider:
            wanted = normalise_provider(provider)
            models = [m for m in models if m.provider == wanted]
        if configured:
            providers = self.configured_providers()
            models = [m for m in models if m.provider in providers]
        if query:
            needle = query.strip().lower()
            models = [m for m in models
                      if needle in m.id.lower() or needle in m.display_name.lower()]
        return catalog.source, models

    def get_model(self, model_id: str) -> ModelInfo:
        """The catalogue's model, or one the database holds a configuration for.

        A model only a provider lists joins the catalogue of the process that asked the
        provider; once chosen or configured there (a stored row), every process and every
        instance knows it, as the stored settings are the source of truth.
        """
        model = self.catalog_source.catalog().by_id.get(model_id)
        if model is not None:
            return model
        config = self.storage.get_model_config(model_id) if model_id.isprintable() else None
        if config is None:
            raise ModelNotFoundError(f"Unknown model '{model_id[:200]}'.")
        return self.model_info_for(config)

    def select_model(self, model_id: str) -> ModelConfig:
        model = self.get_model(model_id)
        config = self.storage.select_model(model.id, model.provider)
        audit.info("default model changed model=%s", log_text(model.id))
        return config

    def selected_model(self) -> tuple[ModelInfo, ModelConfig]:
        config = self.storage.selected_model()
        if config is None:
            raise ModelNotFoundError(
                "No default model is chosen yet: choose one in Settings > Models.")
        return self.model_info_for(config), config

    def model_info_for(self, config: ModelConfig) -> ModelInfo:
        """The catalogue's entry for a stored model, or a bare one if it left the catalogue."""
        model = self.catalog_source.catalog().by_id.get(config.model_id)
        return model or ModelInfo(config.model_id, config.provider,
                                  config.model_id.split("/", 1)[-1])

    def stored_parameters(self, model_id: str) -> dict[str, Any]:
        """The parameters saved for a model ({} when none)."""
        config = self.storage.get_model_config(model_id)
        return dict(config.parameters) if config else {}

    def set_parameters(self, model_id: str, parameters: dict[str, Any]) -> ModelConfig:
        model = self.get_model(model_id)
        return self.storage.set_parameters(model.id, model.provider,
                                           check_parameters(model, parameters))

    @staticmethod
    def bounds(model: ModelInfo) -> dict[str, dict[str, Any]]:
        return {name: asdict(bound) for name, bound in parameter_bounds(model).items()}

    # ---- sync ----------------------------------------------------------------------

    def revision(self) -> str:
        return self.storage.revision()

    def snapshot(self) -> dict[str, Any]:
        """The settings the extension caches: masked keys per provider and the selected
        model. The sync route reads the revision before calling this, so that the
        revision never claims more than the content holds."""
        keys: dict[str, list[dict[str, Any]]] = {}
        for record in self.storage.list_api_keys():
            keys.setdefault(record.provider, []).append({
                "id": record.id, "key_name": record.key_name, "masked_key": record.masked_key,
                "api_base": record.api_base, "is_active": record.is_active,
            })
        config = self.storage.selected_model()
        selected = None
        if config is not None:
            selected = {"model": asdict(self.model_info_for(config)),
                        "parameters": config.parameters}
        return {"keys": keys, "selected": selected}
