"""What each key can actually reach: key tests and live model discovery.

Both ask the provider's models endpoint, which costs nothing (a chat call would be paid).
The answers are kept per provider for the catalogue's TTL; when a provider cannot be
reached, its last good answer stays, marked stale. Models that only the provider knows (a
local Ollama or vLLM model) join the catalogue through MergedCatalog. A database key's last
listing is also kept in the database (`discovered_models`), and read back at start, so that
those models outlive a restart until a later listing of that key leaves them out.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from configapp.domain import (
    ApiKeyConfig,
    Catalog,
    ConfigurationError,
    ModelInfo,
    NewApiKey,
    ResolvedKey,
    mask_key,
)
from configapp.keys.service import ConfigurationService
from configapp.log_lines import log_text
from configapp.ports import ModelCatalogPort, ProviderGatewayPort
from configapp.providers.llm import KeyCheck, ProviderError, ReachableModel

audit = logging.getLogger("configapp.audit")
log = logging.getLogger(__name__)

MAX_PARALLEL_LOOKS = 8


@dataclass(frozen=True)
class Listing:
    """A provider's models endpoint's last answer for the key in use.

    status: `fresh` (this answer is current), `stale` (the provider failed just now; these
    are the models of the last good answer) or `failed` (no good answer yet).
    """

    provider: str
    identity: tuple[Any, ...]
    models: tuple[ReachableModel, ...]
    status: str
    checked_at: float
    fetched_at: datetime | None
    message: str | None = None
    warning: str | None = None  # a bound cut the answer short (only its first models)

    @functools.cached_property
    def model_ids(self) -> frozenset[str]:
        """Made once: every catalogue entry asks it (10,000 models: 10,000 times)."""
        return frozenset(f"{self.provider}/{m.model_id}" for m in self.models)


@dataclass(frozen=True)
class StoredListing:
    """A key's last listing as the database keeps it (configapp/catalog/sql_discovery.py)."""

    provider: str
    key_id: int
    api_base: str | None
    changed_at: datetime
    models: tuple[ReachableModel, ...]


class DiscoveryStoragePort(Protocol):
    """Where each database key's discovered models outlive the process."""

    def keep_discoveries(self, key_id: int, models: list[ReachableModel],
                         complete: bool = True) -> bool:
        """Make these the key's models (when not `complete`, a listing cut by a bound: add
        and update only, delete none); False, and no write, when they already are."""
        ...

    def discoveries(self) -> list[StoredListing]:
        """Each active key's stored listing."""
        ...


class DiscoveredModels:
    """The listings of this process, by provider; `version` moves with every change."""

    def __init__(self) -> None:
        self._listings: dict[str, Listing] = {}
        self._lock = threading.Lock()
        self.version = 0

    def get(self, provider: str) -> Listing | None:
        return self._listings.get(provider)

    def all(self) -> dict[str, Listing]:
        with self._lock:
            return dict(self._listings)

    def put(self, listing: Listing) -> None:
        with self._lock:
            self._listings[listing.provider] = listing
            self.version += 1

    def keep_only(self, providers: set[str]) -> None:
        with self._lock:
            for provider in set(self._listings) - providers:
                del self._listings[provider]
                self.version += 1

    def restore(self, stored: Iterable[StoredListing]) -> None:
        """The database's listings, at start: the catalogue has the models only a provider
        lists from the first request on, marked stale (they are asked again when due)."""
        for item in stored:
            self.put(Listing(item.provider, ("database", item.key_id, item.api_base),
                             item.models, "stale", -math.inf, item.changed_at))


def discovered_info(provider: str, model: ReachableModel) -> ModelInfo:
    """A catalogue entry for a model LiteLLM has no metadata for: what the provider said."""
    return ModelInfo(f"{provider}/{model.model_id}", provider,
                     model.display_name or model.model_id, model.context_window,
                     model.max_output_tokens)


class MergedCatalog:
    """The ModelCatalogPort: LiteLLM's metadata plus the models only a provider listed."""

    def __init__(self, static: ModelCatalogPort, discovered: DiscoveredModels) -> None:
        self.static = static
        self.discovered = discovered
        self._seen: tuple[int, int] | None = None
        self._merged: Catalog | None = None
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        static = self.static.catalog()
        with self._lock:
            seen = (id(static), self.discovered.version)
            if self._merged is None or seen != self._seen:
                self._merged, self._seen = self._merge(static), seen
            return self._merged

    def _merge(self, static: Catalog) -> Catalog:
        extra = {info.id: info
                 for listing in self.discovered.all().values()
                 for info in (discovered_info(listing.provider, m) for m in listing.models)
                 if info.id not in static.by_id}
        if not extra:
            return static
        models = sorted((*static.models, *extra.values()), key=lambda m: (m.provider, m.id))
        return Catalog(static.source, tuple(models))


class ModelDiscovery:
    """Key tests and live listings, through the gateway, with keys from the configuration."""

    def __init__(self, config: ConfigurationService, gateway: ProviderGatewayPort,
                 discovered: DiscoveredModels, ttl_seconds: float = 300,
                 on_listing: Callable[[str, Iterable[str]], None] | None = None,
                 store: DiscoveryStoragePort | None = None) -> None:
        self.config = config
        self.gateway = gateway
        self.discovered = discovered
        self.ttl = ttl_seconds
        # Told each fresh listing's model ids (curation marks what a provider dropped).
        self.on_listing = on_listing
        self.store = store  # keeps a database key's listing across restarts

    # ---- key test ---------------------------------------------------------------------

    def test_key(self, key_id: int) -> KeyCheck:
        """Ask the provider whether a stored key works; a refusal is a result, not an error."""
        record = self.config.get_api_key(key_id)
        if not self.gateway.supports_listing(record.provider, record.api_base):
            raise ConfigurationError(
                f"Keys for {record.provider} cannot be tested here"
                + ("" if record.api_base else " without a base URL") + ".")
        key = self.config.stored_key(key_id)
        started = time.perf_counter()
        try:
            models = self.gateway.list_models(key)
        except ProviderError as error:
            check = KeyCheck(False, error.kind, key.provider, error.status_code, error.message,
                             _ms(started))
        else:
            cut = getattr(models, "warning", None)
            check = KeyCheck(True, "valid", key.provider, 200,
                             f"The key works: {len(models)} chat models reachable."
                             + (f" {cut}" if cut else ""), _ms(started), len(models))
            if record.is_active:
                self._store_good(key.provider, self._database_identity(key), models)
        audit.info("key tested id=%s provider=%s key=%s result=%s status=%s",
                   record.id, log_text(record.provider), mask_key(key.api_key), check.result,
                   check.status_code)
        return check

    def add_tested_key(self, new: NewApiKey) -> tuple[ApiKeyConfig, KeyCheck | None]:
        """Add a key inactive, test it, and make it active (if asked) only when it works:
        a failing key never replaces a working one. A key of a provider whose keys cannot
        be tested is saved as asked, with no test (None)."""
        record = self.config.add_api_key(replace(new, is_active=False))
        if not self.gateway.supports_listing(record.provider, record.api_base):
            check = None
        else:
            check = self.test_key(record.id)
        if new.is_active and (check is None or check.ok):
            record = self.config.update_api_key(record.id, is_active=True)
        return record, check

    # ---- live listings ----------------------------------------------------------------

    def listings(self, refresh: bool = False, only: str | None = None) -> dict[str, Listing]:
        """Each configured provider's listing (or `only` that provider's), asked again when
        older than the TTL (or when refresh is set); the asks run in parallel."""
        providers = self.config.configured_providers()
        self.discovered.keep_only(providers)
        due: list[tuple[str, tuple[Any, ...]]] = []
        for provider in sorted(providers):
            if only is not None and provider != only:
                continue
            identity = self._identity(provider)
            if identity is None:
                continue
            current = self.discovered.get(provider)
            if refresh or current is None or current.identity != identity or (
                    time.monotonic() - current.checked_at >= self.ttl):
                due.append((provider, identity))
        keys: dict[str, ResolvedKey] = {}
        for provider, identity in due:
            try:
                keys[provider] = self.config.resolve_key(provider)
            except ConfigurationError as error:
                self._store_failure(provider, identity, str(error))
        if keys:
            with ThreadPoolExecutor(min(MAX_PARALLEL_LOOKS, len(keys)),
                                    thread_name_prefix="discovery") as pool:
                answers = dict(zip(keys, pool.map(self._ask, keys.values()), strict=True))
            for provider, identity in due:
                if provider in answers:
                    self._record(provider, identity, answers[provider])
        return self.discovered.all()

    def _ask(self, key: ResolvedKey) -> list[ReachableModel] | ProviderError:
        try:
            return self.gateway.list_models(key)
        except ProviderError as error:
            return error

    def _record(self, provider: str, identity: tuple[Any, ...],
                answer: list[ReachableModel] | ProviderError) -> None:
        if isinstance(answer, ProviderError):
            log.warning("model discovery failed provider=%s kind=%s status=%s",
                        log_text(provider), answer.kind, answer.status_code)
            self._store_failure(provider, identity, answer.message)
        else:
            self._store_good(provider, identity, answer)

    def _store_good(self, provider: str, identity: tuple[Any, ...],
                    models: list[ReachableModel]) -> None:
        listing = Listing(provider, identity, tuple(models), "fresh", time.monotonic(),
                          datetime.now(UTC), warning=getattr(models, "warning", None))
        self.discovered.put(listing)
        # A listing cut by a bound says nothing of the models past the cut: they are
        # neither deleted from the stored discoveries nor marked withdrawn.
        complete = listing.warning is None
        if self.store is not None and identity[0] == "database":
            self.store.keep_discoveries(identity[1], list(models), complete)
        if self.on_listing is not None and complete:
            self.on_listing(provider, listing.model_ids)

    def _store_failure(self, provider: str, identity: tuple[Any, ...], message: str) -> None:
        last = self.discovered.get(provider)
        if last is not None and last.identity == identity and last.fetched_at is not None:
            listing = Listing(provider, identity, last.models, "stale", time.monotonic(),
                              last.fetched_at, message)
        else:
            listing = Listing(provider, identity, (), "failed", time.monotonic(), None, message)
        self.discovered.put(listing)

    def _identity(self, provider: str) -> tuple[Any, ...] | None:
        """Which key a listing belongs to (a new key means a new look); None when the
        provider's models endpoint cannot be asked."""
        active = next((k for k in self.config.list_api_keys(provider) if k.is_active), None)
        if active is not None:
            identity: tuple[Any, ...] = ("database", active.id, active.api_base)
        else:
            env = self.config.environment_key(provider)
            if env is None:
                return None
            identity = ("environment", env[0], self.config.env_key_base_urls.get(provider))
        return identity if self.gateway.supports_listing(provider, identity[2]) else None

    @staticmethod
    def _database_identity(key: ResolvedKey) -> tuple[Any, ...]:
        return ("database", key.key_id, key.api_base)


def reachability(model: ModelInfo, listings: dict[str, Listing]) -> dict[str, Any]:
    """Whether the provider's key reaches the model (None: not asked or no answer yet)."""
    listing = listings.get(model.provider)
    if listing is None or listing.status == "failed":
        return {"reachable": None, "stale": False}
    return {"reachable": model.id in listing.model_ids, "stale": listing.status == "stale"}


def listing_view(listing: Listing) -> dict[str, Any]:
    fetched = listing.fetched_at.isoformat() if listing.fetched_at else None
    return {"status": listing.status, "count": len(listing.models), "fetched_at": fetched,
            "message": listing.message, "warning": listing.warning}


def listing_warnings(listings: dict[str, Listing]) -> list[dict[str, str]]:
    """What the live catalogue warns of: each listing cut short by a bound, and each
    provider whose listing failed (its message)."""
    warnings = []
    for provider, listing in sorted(listings.items()):
        if listing.warning:
            warnings.append({"provider": provider, "kind": "listing_cut",
                             "message": listing.warning})
        if listing.status != "fresh" and listing.message:
            warnings.append({"provider": provider, "kind": f"listing_{listing.status}",
                             "message": listing.message})
    return warnings


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
