"""LiteLLMMetadataCatalog: the chat models LiteLLM knows, read from its packaged metadata.

It reads `model_prices_and_context_window_backup.json` from the installed litellm package
without importing litellm (that import costs seconds and hundreds of MB), caches the parsed
catalogue for a TTL, and falls back to a list shipped with configapp when the file cannot be
read.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

from cachetools import TTLCache

from configapp.domain import Catalog, ModelInfo

log = logging.getLogger(__name__)

METADATA_FILE = "model_prices_and_context_window_backup.json"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FALLBACK_FILE = Path(__file__).resolve().parent.parent / "data" / "fallback_models.json"


def litellm_metadata_path() -> Path | None:
    """Where the installed litellm keeps its metadata, found without importing it."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / METADATA_FILE


def _per_million(cost: Any) -> float | None:
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        return round(cost * 1_000_000, 6)
    return None


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _as_date(value: Any) -> str | None:
    """A YYYY-MM-DD date as the metadata writes it, or None for anything else."""
    return value if isinstance(value, str) and DATE.match(value) else None


def model_from_metadata(name: str, entry: dict[str, Any]) -> ModelInfo | None:
    """A catalogue entry for one of LiteLLM's chat models, with its `provider/model` id."""
    provider = entry.get("litellm_provider")
    if entry.get("mode") != "chat" or not isinstance(provider, str) or " " in provider:
        return None
    model_id = name if name.startswith(f"{provider}/") else f"{provider}/{name}"
    return ModelInfo(
        id=model_id,
        provider=provider,
        display_name=model_id.split("/", 1)[1],
        context_window=_as_int(entry.get("max_input_tokens")),
        max_output_tokens=_as_int(entry.get("max_output_tokens") or entry.get("max_tokens")),
        input_price_per_million=_per_million(entry.get("input_cost_per_token")),
        output_price_per_million=_per_million(entry.get("output_cost_per_token")),
        deprecation_date=_as_date(entry.get("deprecation_date")),
    )


def parse_metadata(raw: dict[str, Any], source: str) -> Catalog:
    models = (model_from_metadata(name, entry) for name, entry in raw.items()
              if isinstance(entry, dict))
    unique = {model.id: model for model in models if model is not None}
    return Catalog(source, tuple(sorted(unique.values(), key=lambda m: (m.provider, m.id))))


class LiteLLMMetadataCatalog:
    """The ModelCatalogPort on LiteLLM's metadata file, with a static fallback."""

    def __init__(self, ttl_seconds: int = 300, metadata_path: Path | None = None,
                 fallback_path: Path = FALLBACK_FILE) -> None:
        self._cache: TTLCache[str, Catalog] = TTLCache(maxsize=1, ttl=ttl_seconds)
        self._lock = threading.Lock()
        self._metadata_path = metadata_path
        self._fallback_path = fallback_path

    def catalog(self) -> Catalog:
        with self._lock:
            catalog = self._cache.get("catalog")
            if catalog is None:
                catalog = self._cache["catalog"] = self._load()
            return catalog

    def _load(self) -> Catalog:
        path = self._metadata_path or litellm_metadata_path()
        try:
            if path is None:
                raise FileNotFoundError("litellm is not installed")
            catalog = parse_metadata(json.loads(path.read_bytes()), "litellm")
            if not catalog.models:
                raise ValueError("no chat models in the metadata")
        except (OSError, ValueError) as error:
            log.warning("LiteLLM's model metadata could not be read (%s); "
                        "serving the fallback list.", error)
            return parse_metadata(json.loads(self._fallback_path.read_bytes()), "fallback")
        return catalog
