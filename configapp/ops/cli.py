"""`flask --app wsgi config ...`: the API's twin for the shell, the import and the key's life.

Each command calls the same service method as the matching route. Keys are read from a
hidden prompt or stdin, never from the command line (it would land in the shell's history),
and shown masked. Domain errors end as one line, `Error: ...`, with exit status 1.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.engine import make_url

from configapp.access.auth import login_link, new_token
from configapp.chat.usage import GROUPS, SCOPES, parse_moment
from configapp.components import components
from configapp.domain import ConfigurationError, NewApiKey
from configapp.keys.env_import import LegacyImport
from configapp.keys.rotation import Rotation, check_keys, configured_keys, rotate_key
from configapp.ops import backup_file
from configapp.ops.backup import SettingsBackup, check_schema
from configapp.schema import current_revision, upgrade

audit = logging.getLogger("configapp.audit")


class ConfigGroup(AppGroup):
    """A group whose commands' domain errors become `Error: <message>`, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigurationError as error:
            raise click.ClickException(str(error)) from None


config_commands = ConfigGroup(
    "config", help="Provider keys, models, usage and budgets, backups, the legacy .env "
                   "import, the encryption key and the API token.")


def read_secret(label: str, confirm: bool = True) -> str:
    """A secret from a hidden (confirmed) prompt, or the first line of stdin when piped."""
    if sys.stdin.isatty():
        return click.prompt(label, hide_input=True, confirmation_prompt=confirm).strip()
    secret = sys.stdin.readline().strip()
    if not secret:
        raise click.UsageError(f"{label}: expected it on stdin (or run in a terminal for a "
                               "prompt).")
    return secret


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(headers[i]) for i in range(len(headers))]]
    cells += [["" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(row, widths,
                                                                            strict=True)).rstrip()
                     for row in cells)


# ---- keys ------------------------------------------------------------------------------

@config_commands.group("keys")
def keys_commands() -> None:
    """Stored provider API keys (shown masked)."""


@keys_commands.command("list")
@click.option("--provider", help="Only this provider's keys (google means gemini).")
def list_keys(provider: str | None) -> None:
    """List the stored keys, masked (GET /api/config/api-keys)."""
    records = components().config.list_api_keys(provider)
    if not records:
        click.echo("No stored keys.")
        return
    click.echo(table(
        ["ID", "PROVIDER", "NAME", "KEY", "ACTIVE", "API BASE", "LAST USED"],
        [[r.id, r.provider, r.key_name, r.masked_key, "yes" if r.is_active else "no",
          r.api_base, f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else ""]
         for r in records]))


@keys_commands.command("add")
@click.argument("provider")
@click.option("--name", "key_name", default="", help="A label for the key, e.g. 'work'.")
@click.option("--api-base", default=None,
              help="The provider's base URL (a proxy or a local server); the key is bound to it.")
@click.option("--inactive", is_flag=True,
              help="Store it without making it the provider's active key.")
def add_key(provider: str, key_name: str, api_base: str | None, inactive: bool) -> None:
    """Add a key, read from a hidden prompt or stdin (POST /api/config/api-keys)."""
    service = components().config
    service.check_encryption_key()  # never store a key under one that cannot open the rest
    api_key = read_secret(f"{provider} API key")
    record = service.add_api_key(NewApiKey(provider, api_key, key_name, api_base,
                                           not inactive))
    state = "active" if record.is_active else "inactive"
    click.echo(f"Added key {record.id}: {record.provider} {record.masked_key} ({state}).")


@keys_commands.command("delete")
@click.argument("key_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_key(key_id: int, yes: bool) -> None:
    """Delete a stored key (DELETE /api/config/api-keys/{id})."""
    service = components().config
    record = service.get_api_key(key_id)
    if not yes:
        click.confirm(f"Delete key {record.id} ({record.provider} {record.masked_key})?",
                      abort=True)
    service.delete_api_key(key_id)
    click.echo(f"Deleted key {record.id} ({record.provider} {record.masked_key}).")


# ---- models ----------------------------------------------------------------------------

@config_commands.group("models")
def models_commands() -> None:
    """The model catalogue and the default model."""


def _price(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@models_commands.command("list")
@click.option("--provider", help="Only this provider's models.")
@click.option("--configured", is_flag=True, help="Only providers that have a key.")
@click.option("-q", "--query", help="Text to look for in the model's id.")
@click.option("--include-hidden", is_flag=True, help="Also the models hidden in Settings.")
def list_models(provider: str | None, configured: bool, query: str | None,
                include_hidden: bool) -> None:
    """The catalogue of chat models (GET /api/config/models)."""
    source, models = components().config.catalog(provider, query, configured)
    if not include_hidden:
        models = components().curation.visible(models)
    click.echo(f"{len(models)} model(s) from {source} metadata.")
    if models:
        click.echo(table(
            ["MODEL", "CONTEXT", "MAX OUTPUT", "$/M IN", "$/M OUT"],
            [[m.id, m.context_window, m.max_output_tokens, _price(m.input_price_per_million),
              _price(m.output_price_per_million)] for m in models]))


@models_commands.command("select")
@click.argument("model_id")
def select_model(model_id: str) -> None:
    """Make a model (provider/model) or an alias the default: the chat purpose
    (POST /api/config/models/{model}/select)."""
    resolved, _ = components().curation.select(model_id)
    via = f" (alias {resolved.alias})" if resolved.alias else ""
    click.echo(f"Default model: {resolved.model.id}{via}.")


@models_commands.command("show")
def show_model() -> None:
    """The default model, its parameters and their bounds (GET /api/config/models/selected)."""
    service = components().config
    resolved, config = components().curation.selected()
    model = resolved.model
    via = f", through the alias {resolved.alias}" if resolved.alias else ""
    click.echo(f"Default model: {model.id} ({model.provider}{via})")
    click.echo(f"Context window: {model.context_window or 'unknown'}; "
               f"max output tokens: {model.max_output_tokens or 'unknown'}")
    parameters = ", ".join(f"{name}={value}" for name, value in sorted(config.parameters.items()))
    click.echo(f"Parameters: {parameters or '(provider defaults)'}")
    for name, bound in service.bounds(model).items():
        click.echo(f"  {name}: {bound['low']:g} to {bound['high']:g}")


# ---- the schema ------------------------------------------------------------------------

@config_commands.command("upgrade-schema")
def upgrade_schema() -> None:
    """Build or upgrade configapp's tables (in the standalone app, `flask db upgrade` too).

    The revision is kept in configapp's own Alembic version table, so that in a host app's
    database the host's migrations are not disturbed.
    """
    parts = components()
    engine, table = parts.database.engine, parts.version_table
    upgrade(engine, table)
    click.echo(f"configapp's schema is at {current_revision(engine, table)} (version "
               f"table {table}).")


# ---- the legacy import -----------------------------------------------------------------

@config_commands.command("import-env")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
def import_env(dry_run: bool) -> None:
    """Import the legacy .env keys and default.yaml's default model, once (the deploy step)."""
    parts = components()
    settings = parts.settings
    report = LegacyImport(parts.config, parts.storage, settings.env_file,
                          settings.config_file).run(dry_run=dry_run)
    for line in report.lines():
        click.echo(line)


# ---- the encryption key ----------------------------------------------------------------

@config_commands.command("check-key")
def check_key() -> None:
    """Say whether the configured encryption key(s) open every stored key; change nothing.

    Exit status 1 when some row cannot be opened (or is not bound to its row).
    """
    parts = components()
    keys = configured_keys(parts.settings.encryption_keys, parts.settings.key_file)
    report = check_keys(parts.storage, keys)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


def _progress_printer() -> Callable[[int, int], None]:
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        tenth = done * 10 // total
        if total >= 100 and tenth > shown:
            shown = tenth
            click.echo(f"  re-encrypted {done}/{total}", err=True)

    return progress


@config_commands.command("rotate-key")
@click.option("--given-key", is_flag=True,
              help="Rotate to a key you give (hidden prompt, or stdin) instead of a new one.")
@click.option("--keep-key", is_flag=True,
              help="Make no new key: re-encrypt every row under the first configured key "
                   "(the second step of a rotation through ENCRYPTION_KEY).")
@click.option("--print-new-key", is_flag=True,
              help="Print the new key on stdout, to put it in ENCRYPTION_KEY. Without this "
                   "it is only written to the key file.")
def rotate_key_command(given_key: bool, keep_key: bool, print_new_key: bool) -> None:
    """Re-encrypt every stored key under a new encryption key, then install that key.

    Crash-safe: the new key is on disk before any row depends on it, the rows change in one
    transaction, and the old key file stays as a dated 0600 backup. Run it again after an
    interruption to finish.
    """
    parts = components()
    settings = parts.settings
    new_key = read_secret("New encryption key") if given_key else None
    click.echo(f"Rotating the encryption key of {parts.storage.count_api_keys()} stored "
               "key(s)...", err=True)
    rotation = rotate_key(parts.storage, settings.encryption_keys, settings.key_file,
                          new_key, keep_key, _progress_printer())
    audit.info("encryption key rotated rows=%s fingerprint=%s resumed=%s",
               rotation.rows, rotation.fingerprint, rotation.resumed)
    for line in rotation_lines(rotation):
        click.echo(line, err=True)
    if print_new_key and not keep_key:
        click.echo(rotation.new_key)


def rotation_lines(rotation: Rotation) -> list[str]:
    """What the rotation did and what the operator does next; never the key itself."""
    lines = [f"{'Finished the interrupted rotation: r' if rotation.resumed else 'R'}e-encrypted "
             f"{rotation.rows} stored key(s) under the key with fingerprint "
             f"{rotation.fingerprint} in {rotation.seconds:.2f} s."]
    if rotation.key_file is not None:
        lines.append(f"{rotation.key_file} now holds the new key: back it up now; the old "
                     "backup no longer opens the stored keys.")
        lines.append("Restart the app now if it is running: it keeps the key it loaded at "
                     "start, which no longer opens the stored keys.")
        if rotation.backup is not None:
            lines.append(f"The old key is kept in {rotation.backup} (mode 0600); delete it "
                         "once no backup of the database made before now is needed.")
    elif rotation.from_environment and rotation.pending is not None and not rotation.kept_key:
        lines += [
            f"ENCRYPTION_KEY comes from the environment, so no key file was replaced. The new "
            f"key is in {rotation.pending}; the app reads it from there until you finish:",
            "  1. Put the new key first in ENCRYPTION_KEY on every instance "
            "(ENCRYPTION_KEY=<new>,<old>) and restart them.",
            "  2. Run `flask --app wsgi config rotate-key --keep-key`: it re-encrypts what an "
            "instance still running with the old key saved in the meantime.",
            "  3. When `flask --app wsgi config check-key` says every row opens with the first "
            "key, drop the old one (ENCRYPTION_KEY=<new>) and restart.",
        ]
    elif rotation.pending is not None:
        lines.append(f"{rotation.pending} holds a key that is not configured yet: "
                     + ("put it first in ENCRYPTION_KEY." if rotation.from_environment else
                        "run `flask --app wsgi config rotate-key` to finish that rotation."))
    elif rotation.from_environment and rotation.kept_key:
        lines.append("When `flask --app wsgi config check-key` says every row opens with the "
                     "first key, drop the other keys from ENCRYPTION_KEY and restart.")
    if rotation.stale_pending is not None:
        lines.append(f"{rotation.stale_pending} is no longer needed (its key is configured): "
                     "delete it.")
    return lines


# ---- the API token ---------------------------------------------------------------------

@config_commands.command("token")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def token_command(yes: bool) -> None:
    """Make a new API token and print its login link (alone on stdout, this once).

    The old token stops working at once on every instance, and every session ends: each
    browser signs in again with the new link, and the extension is given the new token.
    """
    parts = components()
    tokens = parts.gate.tokens
    if tokens.fixed:
        raise click.ClickException(
            "The token comes from CONFIGAPP_API_TOKEN: change it there (on every instance) "
            "and restart. Unset it to use a token kept in the database instead.")
    if not parts.gate.enabled:
        click.echo("Note: CONFIGAPP_AUTH=off, so the server asks for no token until it is "
                   "turned back on.", err=True)
    if not yes:
        click.confirm("Make a new API token? The current one, and every session, stops "
                      "working.", abort=True, err=True)
    token = new_token()
    state = tokens.replace(token)
    audit.info("API token rotated generation=%s", state.generation)
    click.echo("New API token made; every session has ended. Sign in with this link (the "
               "token is the part after #token=, for the extension):", err=True)
    click.echo(login_link(parts.settings.security.bind, token))
# ---- usage and budgets -----------------------------------------------------------------

def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError:
        raise click.BadParameter(f"{value[:40]!r} is not a date (2026-12-01) or date-time "
                                 "(2026-12-01T08:00:00Z).") from None


def _dollars(value: float) -> str:
    return f"${value:,.4f}"


@config_commands.command("usage")
@click.option("--since", help="From this date or date-time (UTC); default: the month's start.")
@click.option("--until", help="To this date or date-time (UTC); default: now.")
@click.option("--group-by", type=click.Choice(GROUPS), help="One line per model, provider, "
              "key or day.")
def usage_command(since: str | None, until: str | None, group_by: str | None) -> None:
    """Tokens and cost from the usage ledger (GET /api/config/usage)."""
    report = components().usage.totals(_moment(since), _moment(until), group_by)
    click.echo(f"From {report['since']:%Y-%m-%d %H:%M} to {report['until']:%Y-%m-%d %H:%M} UTC.")
    lines = [*report["groups"], {**report["total"], "group": "TOTAL"}]
    click.echo(table(
        [(group_by or "").upper(), "REQUESTS", "PROMPT", "COMPLETION", "COST", "UNPRICED"],
        [[line["group"], line["requests"], line["prompt_tokens"], line["completion_tokens"],
          _dollars(line["cost"]), line["unpriced_requests"]] for line in lines]))


@config_commands.group("budgets")
def budgets_commands() -> None:
    """Monthly spending limits per provider or per key, in dollars."""


@budgets_commands.command("list")
def list_budgets() -> None:
    """Every budget with this month's spending (GET /api/config/budgets)."""
    statuses = components().usage.budgets()
    if not statuses:
        click.echo("No budgets.")
        return
    click.echo(table(["SCOPE", "TARGET", "MONTHLY LIMIT", "SPENT", "USED", "STATE"],
                     [[s.budget.scope, s.budget.target, _dollars(s.budget.monthly_limit),
                       _dollars(s.spent), f"{s.ratio:.0%}", s.level] for s in statuses]))


@budgets_commands.command("set")
@click.argument("scope", type=click.Choice(SCOPES))
@click.argument("target")
@click.argument("monthly_limit", type=float)
def set_budget(scope: str, target: str, monthly_limit: float) -> None:
    """Set a monthly limit: `set provider openai 20` or `set key 3 5.50`
    (PUT /api/config/budgets/{scope}/{target})."""
    status = components().usage.set_budget(scope, target, monthly_limit)
    click.echo(f"Budget set: {status.message}")


@budgets_commands.command("delete")
@click.argument("scope", type=click.Choice(SCOPES))
@click.argument("target")
def delete_budget(scope: str, target: str) -> None:
    """Remove a budget (DELETE /api/config/budgets/{scope}/{target})."""
    components().usage.delete_budget(scope, target)
    click.echo(f"Budget removed: {scope} {target}.")


# ---- backup and restore ----------------------------------------------------------------

def _settings_backup() -> SettingsBackup:
    parts = components()
    return SettingsBackup(parts.storage, parts.encryption, parts.schema_head, parts.config)


@config_commands.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup_command(file: Path, force: bool) -> None:
    """Write keys, models, defaults, parameters, budgets and the usage ledger to FILE
    (mode 0600), encrypted with a passphrase from a hidden prompt or stdin.

    FILE may not exist yet (unless --force) and may not be inside the data folder, where
    it could replace the database or the encryption key. The backup does not need
    ENCRYPTION_KEY to open: keep the passphrase safe instead.
    """
    settings = components().settings
    database = make_url(settings.database_url).database if settings.is_sqlite else None
    backup_file.check_target(file, settings.data_dir, Path(database) if database else None,
                             replace=force)
    backup = _settings_backup()
    payload = backup.payload()  # before the passphrase: a key that does not open stops here
    passphrase = read_secret("Backup passphrase")
    backup_file.check_passphrase(passphrase)
    backup_file.write_private(
        file, backup_file.seal(payload, backup.schema_head, passphrase), replace=force)
    counts = ", ".join(f"{len(content['rows'])} {name}"
                       for name, content in payload["tables"].items())
    audit.info("settings backed up: %s", counts)
    click.echo(f"Backed up {counts} to {file} (mode 0600).")


@config_commands.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what the restore would change; write nothing.")
def restore_command(file: Path, dry_run: bool) -> None:
    """Replace the settings with a backup's, in one transaction, after saying what changes.

    Refused, with nothing written: a wrong passphrase, a damaged or truncated file, or a
    backup from a newer configapp. Keys are sealed again under this instance's key.
    """
    data = backup_file.read_file(file)
    header, _, _ = backup_file.read_header(data)
    check_schema(header.get("schema"))  # refused before the passphrase is asked
    backup = _settings_backup()
    opened = backup_file.open_backup(data, read_secret("Backup passphrase", confirm=False))
    report = backup.restore(opened.payload, dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
