"""The one-time import of the legacy `.env` keys and `configs/default.yaml`'s default model.

It runs at the app's start and as `flask --app wsgi config import-env` (the deploy step). It
writes everything and its `plan_09_api_keys` record in one transaction of the storage
adapter, so two processes at once import once, and a failure leaves the database as it was.
It never imports litellm: the default model is checked against the catalogue's metadata.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from dotenv.parser import parse_stream
from sqlalchemy.exc import SQLAlchemyError

from configapp.domain import (
    PROVIDER_ENV_VARS,
    ConfigurationError,
    ImportedSettings,
    LegacyImportError,
    ModelInfo,
    ModelNotFoundError,
    NewApiKey,
    mask_key,
    normalise_provider,
)
from configapp.keys.service import ConfigurationService
from configapp.keys.sql_storage import KeyToImport, SqlAlchemyConfigurationStorage
from configapp.log_lines import log_text

IMPORT_VERSION = "plan_09_api_keys"
API_KEY_SUFFIX = "_API_KEY"
BASE_SUFFIXES = ("_API_BASE", "_BASE_URL")

log = logging.getLogger(__name__)
audit = logging.getLogger("configapp.audit")


@dataclass(frozen=True)
class LegacyKey:
    """A provider key found in the legacy env file, with its base URL if one was set."""

    provider: str
    variable: str
    api_key: str = field(repr=False)
    api_base: str | None = None

    @property
    def masked(self) -> str:
        return mask_key(self.api_key)

    def describe(self) -> str:
        base = f" at {self.api_base}" if self.api_base else ""
        return f"{self.provider} {self.masked} ({self.variable}{base})"


@dataclass(frozen=True)
class LegacySettings:
    """What the legacy files hold, read and checked, before anything is written."""

    env_file: Path
    config_file: Path
    env_found: bool
    config_found: bool
    keys: tuple[LegacyKey, ...] = ()
    model: ModelInfo | None = None

    @property
    def empty(self) -> bool:
        return not self.keys and self.model is None


@dataclass(frozen=True)
class ImportReport:
    """The outcome: `imported`, `already` done (when), or a `dry-run` of what would be."""

    status: str
    legacy: LegacySettings | None = None
    result: ImportedSettings | None = None
    applied_at: datetime | None = None

    def lines(self) -> list[str]:
        """What happened, for a person; keys are masked."""
        if self.status == "already":
            return [f"The one-time import ({IMPORT_VERSION}) already ran on "
                    f"{self.applied_at:%Y-%m-%d %H:%M:%S %Z}; nothing to do."]
        assert self.legacy is not None and self.result is not None
        dry = self.status == "dry-run"
        verb, keep = ("Would import", "Would keep") if dry else ("Imported", "Kept")
        legacy, result = self.legacy, self.result
        imported = [key.describe() for key in legacy.keys
                    if key.provider not in result.kept_providers]
        lines = [f"{verb} from {legacy.env_file}: {', '.join(imported) or 'no keys'}."
                 if legacy.env_found else f"No {legacy.env_file}: no keys to import."]
        lines += [f"{keep} the database's key for {provider}: the database wins over .env."
                  for provider in result.kept_providers]
        if not legacy.config_found:
            lines.append(f"No {legacy.config_file}: no default model to import.")
        elif result.default_model:
            lines.append(f"{verb} the default model {result.default_model} "
                         f"from {legacy.config_file}.")
        elif result.kept_default_model and legacy.model is not None:
            lines.append(f"{keep} the database's default model {result.kept_default_model} "
                         f"over {legacy.model.id} from {legacy.config_file}.")
        if result.keys or (dry and legacy.keys):
            lines.append("The keys in the .env file are now deprecated: the database is the "
                         "source of truth. Manage them in Settings or with `flask --app wsgi "
                         "config keys`, and remove them from the .env file.")
        if self.status == "imported":
            lines.append(f"Recorded as {IMPORT_VERSION}: the import does not run again.")
        return lines


def read_env_file(path: Path) -> dict[str, str] | None:
    """The file's variables, None when it does not exist; LegacyImportError if malformed."""
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LegacyImportError(f"{path} cannot be read ({type(error).__name__}).") from None
    broken = [binding.original.line for binding in parse_stream(io.StringIO(text))
              if binding.error]
    if broken:
        lines = ", ".join(str(line) for line in broken[:5])
        raise LegacyImportError(f"{path} is malformed: line(s) {lines} cannot be parsed.")
    values = dotenv_values(stream=io.StringIO(text))
    return {name: value.strip() for name, value in values.items() if value and value.strip()}


def legacy_keys(values: dict[str, str]) -> list[LegacyKey]:
    """One key per provider: its first variable that is set (GEMINI_API_KEY before
    GOOGLE_API_KEY), with `<PREFIX>_API_BASE` or `<PREFIX>_BASE_URL` as its base URL."""
    found = []
    for provider, names in PROVIDER_ENV_VARS.items():
        name = next((name for name in names if values.get(name)), None)
        if name is None:
            continue
        prefix = name.removesuffix(API_KEY_SUFFIX)
        base = next((values[prefix + suffix] for suffix in BASE_SUFFIXES
                     if values.get(prefix + suffix)), None)
        found.append(LegacyKey(provider, name, values[name], base))
    return found


def read_default_model(path: Path) -> tuple[str, str | None] | None:
    """(`llm.default_model`, `llm.provider`) from the YAML file; None when absent."""
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        # The problem and its position only: the file's text could hold a secret.
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LegacyImportError(f"{path} is not valid YAML{where}: {error.problem}.") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise LegacyImportError(f"{path} cannot be read ({type(error).__name__}).") from None
    llm = _mapping(data, path, "the file").get("llm")
    if llm is None:
        return None
    llm = _mapping(llm, path, "llm")
    model, provider = llm.get("default_model"), llm.get("provider")
    if model is None:
        return None
    if not isinstance(model, str) or not model.strip():
        raise LegacyImportError(f"{path} is malformed: llm.default_model must be a model name.")
    if provider is not None and not isinstance(provider, str):
        raise LegacyImportError(f"{path} is malformed: llm.provider must be a provider name.")
    return model.strip(), provider


def _mapping(value: Any, path: Path, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LegacyImportError(f"{path} is malformed: {what} must be a mapping.")
    return value


class LegacyImport:
    """Reads the legacy files, checks them, and imports them once."""

    def __init__(self, service: ConfigurationService, storage: SqlAlchemyConfigurationStorage,
                 env_file: Path, config_file: Path) -> None:
        self.service = service
        self.storage = storage
        self.env_file = env_file
        self.config_file = config_file

    def read(self) -> LegacySettings:
        """The legacy settings, checked against the rules and the catalogue; nothing written."""
        values = read_env_file(self.env_file)
        keys = tuple(legacy_keys(values or {}))
        for key in keys:
            try:
                self.service.clean_new_key(self._new_key(key))
            except ConfigurationError as error:
                raise LegacyImportError(f"{key.variable} in {self.env_file}: {error}") from None
        default = read_default_model(self.config_file)
        model = self.resolve_model(*default) if default else None
        return LegacySettings(self.env_file, self.config_file, values is not None,
                              self.config_file.is_file(), keys, model)

    def resolve_model(self, name: str, provider: str | None) -> ModelInfo:
        """The catalogue's model for `llm.default_model`: with `llm.provider`, that
        provider's model (LiteLLM's reading: "openai/gpt-4o" of openrouter is
        openrouter/openai/gpt-4o); else `provider/model`, or a bare name that only one of
        the usual providers has."""
        candidate = name
        if provider:
            prefix = f"{normalise_provider(provider)}/"
            candidate = name if name.startswith(prefix) else prefix + name
        try:
            return self.service.get_model(candidate)
        except ModelNotFoundError:
            pass
        if "/" not in name and not provider:
            _, models = self.service.catalog()
            same = [model for model in models
                    if model.display_name == name and model.provider in PROVIDER_ENV_VARS]
            if len(same) == 1:
                return same[0]
        raise LegacyImportError(
            f"llm.default_model '{name[:200]}' in {self.config_file} is not in the model "
            "catalogue: write it as provider/model (for example openai/gpt-4o-mini), as "
            "listed by `flask --app wsgi config models list`."
        )

    def run(self, dry_run: bool = False) -> ImportReport:
        """Import once; on any failure roll back and raise LegacyImportError with the reason."""
        applied_at = self.storage.migration_applied(IMPORT_VERSION)
        if applied_at is not None:
            return ImportReport("already", applied_at=applied_at)
        try:
            legacy = self.read()
            if dry_run:
                return ImportReport("dry-run", legacy, self._preview(legacy))
            self.service.check_encryption_key()
            result = self._write(legacy)
        except LegacyImportError as error:
            if dry_run:
                raise LegacyImportError(f"The import would fail: {error}") from None
            raise LegacyImportError(self._failure(str(error))) from None
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            reason = f"writing to the database failed ({type(cause).__name__}: {cause})."
            raise LegacyImportError(self._failure(reason)) from None
        if result is None:
            return ImportReport("already",
                                applied_at=self.storage.migration_applied(IMPORT_VERSION))
        for record in result.keys:
            audit.info("key added id=%s provider=%s key=%s active=%s source=legacy-env-import",
                       record.id, log_text(record.provider), record.masked_key, record.is_active)
        if result.default_model:
            audit.info("default model changed model=%s source=legacy-config-import",
                       log_text(result.default_model))
        return ImportReport("imported", legacy, result)

    def _write(self, legacy: LegacySettings) -> ImportedSettings | None:
        batch: list[KeyToImport] = []
        for key in legacy.keys:
            clean = self.service.clean_new_key(self._new_key(key))
            batch.append((clean, mask_key(clean.api_key), self.service.sealer(clean)))
        model = (legacy.model.id, legacy.model.provider) if legacy.model else None
        return self.storage.import_once(IMPORT_VERSION, batch, model, _details(legacy))

    def _preview(self, legacy: LegacySettings) -> ImportedSettings:
        stored = {record.provider for record in self.storage.list_api_keys()}
        chosen = self.storage.selected_model()
        kept_model = chosen.model_id if chosen and legacy.model else None
        return ImportedSettings(
            kept_providers=tuple(k.provider for k in legacy.keys if k.provider in stored),
            default_model=legacy.model.id if legacy.model and not chosen else None,
            kept_default_model=kept_model,
        )

    def _new_key(self, key: LegacyKey) -> NewApiKey:
        return NewApiKey(key.provider, key.api_key, f"imported from .env ({key.variable})",
                         key.api_base)

    def _failure(self, reason: str) -> str:
        return (f"The one-time import of {self.env_file} and {self.config_file} failed and "
                f"was rolled back, so nothing was imported: {reason} Fix it and start again; "
                "`flask --app wsgi config import-env --dry-run` shows what would be imported.")


def _details(legacy: LegacySettings) -> str:
    parts: Iterable[str] = [key.describe() for key in legacy.keys]
    if legacy.model is not None:
        parts = [*parts, f"default model {legacy.model.id}"]
    return "; ".join(parts) or "nothing to import"


def log_report(report: ImportReport) -> None:
    """Log what the import did at start (masked); quiet when it had already run."""
    if report.status == "already":
        log.debug(report.lines()[0])
        return
    for line in report.lines():
        log.info(line)
