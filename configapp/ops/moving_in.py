"""Moving in: keys and aliases read from another tool's settings, applied in one transaction.

The readers (litellm_config.py, openwebui_config.py) turn a file into a `MovingPlan` and
report lines; `apply_plan` writes it through the same service methods as Settings, so every
rule of an add holds (base URL checks, one active key per provider, aliases that shadow no
model and make no loop). It is all or nothing: one transaction, rolled back on a dry run,
when nothing changes, or when a write fails. A key is never printed, only its mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from configapp.catalog.curation import ModelCuration
from configapp.domain import ConfigurationError, NewApiKey, mask_key
from configapp.keys.service import ConfigurationService
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage

ENV_REFERENCE = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class ReportLine:
    """What became of one entry's field: imported, unchanged, mapped, skipped or ignored."""

    outcome: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.outcome:<9} {self.where}: {self.detail}"


@dataclass(frozen=True)
class KeyToMove:
    provider: str
    api_key: str = field(repr=False)
    api_base: str | None
    where: str

    def describe(self) -> str:
        base = f" at {self.api_base}" if self.api_base else ""
        return f"{self.provider} {mask_key(self.api_key)}{base}"


@dataclass(frozen=True)
class AliasToMove:
    name: str
    target: str
    parameters: dict[str, Any]
    where: str


@dataclass
class MovingPlan:
    """What a file asks for, in the order it is applied, with the lines read so far."""

    keys: list[KeyToMove] = field(default_factory=list)
    aliases: list[AliasToMove] = field(default_factory=list)
    lines: list[ReportLine] = field(default_factory=list)

    def note(self, outcome: str, where: str, detail: str) -> None:
        self.lines.append(ReportLine(outcome, where, detail))


@dataclass(frozen=True)
class MovingReport:
    lines: tuple[ReportLine, ...]
    changed: bool
    dry_run: bool

    def text(self, source: str) -> list[str]:
        ending = ("Dry run: nothing was written." if self.dry_run and self.changed else
                  f"Nothing to change: configapp already holds what {source} gives."
                  if not self.changed else f"Imported from {source} in one transaction.")
        return [str(line) for line in self.lines] + [ending]


def resolve_reference(value: Any, environ: dict[str, str]) -> tuple[Any, str | None]:
    """(value, None), or for `os.environ/NAME` the variable's value; (None, why) if unset."""
    if not isinstance(value, str):
        return value, None
    match = ENV_REFERENCE.match(value.strip())
    if match is None:
        return value, None
    name = match.group(1)
    if not environ.get(name):
        return None, f"{value} is not set in the environment"
    return environ[name], None


class DiscardChanges(Exception):
    """Raised inside the transaction to roll it back (a dry run, or nothing changed)."""


def apply_plan(plan: MovingPlan, config: ConfigurationService, curation: ModelCuration | None,
               storage: SqlAlchemyConfigurationStorage, dry_run: bool) -> MovingReport:
    """Write the plan in one transaction; the lines say what each part did (or would do)."""
    config.check_encryption_key()  # never store a key under one that cannot open the rest
    lines = list(plan.lines)
    changed = False
    try:
        with storage.writes_together():
            for key in plan.keys:
                line, wrote = _apply_key(key, config)
                lines.append(line)
                changed |= wrote
            for alias in plan.aliases:
                line, wrote = _apply_alias(alias, curation)
                lines.append(line)
                changed |= wrote
            if dry_run or not changed:
                raise DiscardChanges
    except DiscardChanges:
        pass
    except SQLAlchemyError as error:  # its text may hold a row's values: only its kind
        raise ConfigurationError(f"The import failed in the database "
                                 f"({type(error).__name__}) and was rolled back: nothing was "
                                 "written.") from None
    if dry_run:
        lines = [ReportLine(_would(line.outcome), line.where, line.detail) for line in lines]
    return MovingReport(tuple(lines), changed, dry_run)


def _would(outcome: str) -> str:
    return {"imported": "would add"}.get(outcome, outcome)


def _apply_key(key: KeyToMove, config: ConfigurationService) -> tuple[ReportLine, bool]:
    """Add the key unless the same secret is stored for that provider and base URL; it is
    active only when its provider has no active key (a moved-in key never replaces one)."""
    try:
        clean = config.clean_new_key(NewApiKey(key.provider, key.api_key, "", key.api_base))
    except ConfigurationError as error:
        return ReportLine("skipped", key.where, f"key {key.describe()}: {error}"), False
    stored = [record for record in config.list_api_keys(clean.provider)
              if record.api_base == clean.api_base]
    for record in stored:
        if config.reveal(record) == clean.api_key:
            return ReportLine("unchanged", key.where,
                              f"key {key.describe()} is already stored (key {record.id})"), False
    active = config.storage.active_api_key(clean.provider) is None
    name = f"imported {clean.api_base or clean.provider}"[:100]
    record = config.add_api_key(NewApiKey(clean.provider, clean.api_key, name, clean.api_base,
                                          active))
    state = "active" if active else (f"inactive: {clean.provider} already has an active key; "
                                     "switch keys in Settings (API keys)")
    return ReportLine("imported", key.where,
                      f"key {key.describe()} as key {record.id} ({state})"), True


def _apply_alias(alias: AliasToMove,
                 curation: ModelCuration | None) -> tuple[ReportLine, bool]:
    shown = f"alias {alias.name} -> {alias.target}" + (
        f" ({', '.join(f'{k} {v}' for k, v in sorted(alias.parameters.items()))})"
        if alias.parameters else "")
    if curation is None:
        return ReportLine("skipped", alias.where, f"{shown}: aliases need the curation"), False
    existing = curation.aliases().get(alias.name)
    if existing is not None:
        if existing.target == alias.target and existing.parameters == alias.parameters:
            return ReportLine("unchanged", alias.where, f"{shown} is already set"), False
        return ReportLine("skipped", alias.where,
                          f"{shown}: an alias of that name points at {existing.target}; "
                          "change or delete it in Settings (Aliases) first"), False
    try:
        curation.set_alias(alias.name, alias.target, alias.parameters)
    except ConfigurationError as error:
        errors = getattr(error, "errors", None) or {}
        detail = " ".join([str(error), *(f"{name}: {' '.join(why)}"
                                         for name, why in sorted(errors.items()))])
        return ReportLine("skipped", alias.where, f"{shown}: {detail}"), False
    return ReportLine("imported", alias.where, shown), True
