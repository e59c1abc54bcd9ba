"""The rules of a save, applied to every row of a backup before a restore writes anything.

A backup file is authenticated by its passphrase, not by this instance: whoever holds the
passphrase can write any row into it. So each row passes what the API or the CLI would
have checked when it was saved (a supported provider, a base URL keys may be sent to,
parameters within the model's bounds, dates that parse, a known budget target) and the
column types of its table; the first row that fails stops the restore, named by table
and row, before the transaction begins.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Table

from configapp.catalog.curation import ALIAS_PATTERN, MAX_ALIAS_LENGTH, check_purpose_name, follow
from configapp.chat.usage import MAX_LIMIT, OUTCOMES, SCOPES, key_number
from configapp.domain import (
    Alias,
    ConfigurationError,
    ModelConfig,
    NewApiKey,
    ParameterOutOfBoundsError,
    check_parameters,
)
from configapp.keys.service import ConfigurationService
from configapp.ops.backup_file import BackupError

PLAINTEXT = "api_key"  # the plaintext that stands in a backup for api_keys.encrypted_key
MAX_DATE_LENGTH = 40

Row = dict[str, Any]


class RowRefused(ValueError):
    """One value of a row breaks a rule; the message says which and why."""


def check_tables(tables: dict[str, list[Row]], specs: dict[str, Table],
                 rules: ConfigurationService) -> dict[str, list[Row]]:
    """The rows as they will be written (dates as datetimes, keys and URLs as a save cleans
    them); BackupError naming the table and the row for the first that breaks a rule."""
    key_ids = {row.get("id") for row in tables.get("api_keys", [])}
    aliases = {row["name"]: Alias(row["name"], row.get("target"), row.get("parameters") or {})
               for row in tables.get("model_aliases", []) if isinstance(row.get("name"), str)
               and isinstance(row.get("target"), str)
               and isinstance(row.get("parameters") or {}, dict)}
    providers = {row.get("model_id"): row.get("provider")
                 for row in tables.get("model_configs", [])}
    checks: dict[str, Callable[[Row], Row]] = {
        "api_keys": lambda row: _api_key(row, rules),
        "model_configs": lambda row: _model_config(row, rules),
        "provider_curation": lambda row: _provider(row, "provider", rules),
        "model_visibility": lambda row: _provider(row, "provider", rules),
        "model_listings": lambda row: _provider(row, "provider", rules),
        "model_aliases": lambda row: _alias(row, aliases, providers, rules),
        "model_purposes": _purpose,
        "purpose_fallbacks": _purpose,
        "budgets": lambda row: _budget(row, rules, key_ids),
        "clients": _client,
        "usage_records": _usage,
    }
    checked: dict[str, list[Row]] = {}
    for name, rows in tables.items():
        table, check = specs[name], checks.get(name, lambda row: row)
        checked[name] = []
        for number, row in enumerate(rows, start=1):
            try:
                checked[name].append(check(_typed(table, row)))
            except (RowRefused, ConfigurationError) as error:
                raise BackupError(f"The backup's {name} table, row {number}"
                                  f"{_identity(table, row)}: {_reason(error)} Nothing was "
                                  "changed.") from None
    return checked


def _identity(table: Table, row: Row) -> str:
    keys = [c.name for c in table.primary_key.columns if c.name in row] or [
        name for name in ("model_id", "name", "scope", "target") if name in row]
    shown = ", ".join(f"{name} {row[name][:60]!r}" if isinstance(row[name], str)
                      else f"{name} {row[name]}" for name in keys[:2])
    return f" ({shown})" if shown else ""


def _reason(error: Exception) -> str:
    if isinstance(error, ParameterOutOfBoundsError):
        return "; ".join(f"{name}: {' '.join(problems)}"
                         for name, problems in error.errors.items())
    text = str(error)
    return text if text.endswith(".") else text + "."


def _typed(table: Table, row: Row) -> Row:
    """The row with each value of the type its column holds (dates parsed), or RowRefused."""
    typed = dict(row)
    for name, value in row.items():
        if name == PLAINTEXT:
            continue
        column = table.c[name]
        if value is None:
            if not column.nullable or column.primary_key:
                raise RowRefused(f"{name} is empty.")
            continue
        kind = column.type
        if isinstance(kind, DateTime):
            typed[name] = _moment(name, value)
        elif isinstance(kind, Boolean):
            _require(isinstance(value, bool), f"{name} must be true or false.")
        elif isinstance(kind, Integer):
            _require(isinstance(value, int) and not isinstance(value, bool)
                     and -(2**31) <= value < 2**31, f"{name} must be a whole number.")
        elif isinstance(kind, Float):
            _require(isinstance(value, int | float) and not isinstance(value, bool)
                     and math.isfinite(value), f"{name} must be a number.")
        elif isinstance(kind, String):
            _require(isinstance(value, str) and value.isprintable()
                     and (kind.length is None or len(value) <= kind.length),
                     f"{name} must be printable text of at most {kind.length} characters.")
        elif isinstance(kind, JSON):
            _require(isinstance(value, dict), f"{name} must be an object.")
    return typed


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RowRefused(message)


def _moment(name: str, value: Any) -> datetime:
    _require(isinstance(value, str) and len(value) <= MAX_DATE_LENGTH,
             f"{name} is not a date.")
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise RowRefused(f"{name} is not a date ({value[:MAX_DATE_LENGTH]!r}).") from None


def _api_key(row: Row, rules: ConfigurationService) -> Row:
    key = row.get(PLAINTEXT)
    _require(isinstance(key, str) and bool(key), "the key itself is missing.")
    _require(isinstance(row.get("id"), int) and row["id"] > 0, "id is missing.")
    clean = rules.clean_new_key(NewApiKey(
        row.get("provider") or "", key, row.get("key_name") or "", row.get("api_base"),
        row.get("is_active", True)))
    return {**row, "provider": clean.provider, PLAINTEXT: clean.api_key,
            "key_name": clean.key_name, "api_base": clean.api_base}


def _model_config(row: Row, rules: ConfigurationService) -> Row:
    _require(isinstance(row.get("model_id"), str) and isinstance(row.get("provider"), str),
             "model_id and provider are missing.")
    model = rules.model_info_for(ModelConfig(
        row["model_id"], row["provider"], bool(row.get("is_default")),
        row.get("parameters") or {}, datetime.now(UTC)))
    return {**row, "parameters": check_parameters(model, row.get("parameters") or {})}


def _provider(row: Row, column: str, rules: ConfigurationService) -> Row:
    _require(row.get(column) in rules.known_providers(),
             f"{column} {str(row.get(column))[:64]!r} is not a supported provider.")
    return row


def _alias(row: Row, aliases: dict[str, Alias], providers: dict[str, str],
           rules: ConfigurationService) -> Row:
    """A name set_alias would take, no loop through the backup's aliases, and parameters
    within the bounds of the model it comes to (as the catalogue or the backup knows it)."""
    name = row.get("name")
    _require(isinstance(name, str) and len(name) <= MAX_ALIAS_LENGTH
             and ALIAS_PATTERN.match(name) is not None, "name is not an alias name.")
    model_id, parameters, _ = follow(name, aliases)
    model = rules.model_info_for(ModelConfig(
        model_id, providers.get(model_id) or model_id.split("/", 1)[0], False, {},
        datetime.now(UTC)))
    check_parameters(model, row.get("parameters") or {})
    check_parameters(model, parameters)
    return row


def _purpose(row: Row) -> Row:
    check_purpose_name(row.get("name") or "")
    return row


def _budget(row: Row, rules: ConfigurationService, key_ids: set[Any]) -> Row:
    scope, target, limit = row.get("scope"), row.get("target"), row.get("monthly_limit")
    _require(scope in SCOPES, f"scope must be one of {', '.join(SCOPES)}.")
    _require(isinstance(limit, int | float) and 0 < limit <= MAX_LIMIT,
             f"monthly_limit must be more than $0 (at most ${MAX_LIMIT:,.0f}).")
    if scope == "provider":
        return _provider(row, "target", rules)
    _require(isinstance(target, str) and key_number(target) in key_ids,
             "target names no key of the backup.")
    return row


def _client(row: Row) -> Row:
    name, token_hash = row.get("name"), row.get("token_hash")
    models, limit = row.get("models"), row.get("monthly_limit")
    _require(isinstance(name, str) and 0 < len(name.strip()) <= 64,
             "name must be 1 to 64 characters.")
    _require(isinstance(token_hash, str) and len(token_hash) == 64
             and all(c in "0123456789abcdef" for c in token_hash),
             "token_hash must be a SHA-256 in hex.")
    _require(models is None or (isinstance(models, list)
                                and all(isinstance(m, str) and m for m in models)),
             "models must be a list of model ids or aliases.")
    _require(limit is None or (isinstance(limit, int | float) and 0 < limit <= MAX_LIMIT),
             f"monthly_limit must be more than $0 (at most ${MAX_LIMIT:,.0f}).")
    return row


def _usage(row: Row) -> Row:
    _require(row.get("outcome") in OUTCOMES, f"outcome must be one of {', '.join(OUTCOMES)}.")
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        value = row.get(name)
        _require(value is None or value >= 0, f"{name} may not be negative.")
    return row
