"""`flask config import-litellm|export-litellm|import-openwebui`: moving in from the LiteLLM
Proxy or Open WebUI, and out to the LiteLLM Proxy (docs/moving.md)."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import click
import yaml
from dotenv import dotenv_values
from flask.cli import with_appcontext

from configapp.components import components
from configapp.ops.cli import config_commands
from configapp.ops.litellm_config import export_litellm, load_config, read_litellm_config
from configapp.ops.moving_in import MovingPlan, apply_plan
from configapp.ops.openwebui_config import read_openwebui


def _apply(plan: MovingPlan, source: str, dry_run: bool) -> None:
    parts = components()
    report = apply_plan(plan, parts.config, parts.curation, parts.storage, dry_run)
    for line in report.text(source):
        click.echo(line)


@click.command("import-litellm")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
def import_litellm(path: Path, dry_run: bool) -> None:
    """Import the keys and aliases of a LiteLLM Proxy config.yaml, in one transaction.

    `os.environ/NAME` references are read from this command's environment. Importing the
    same file again changes nothing. Keys are shown masked.
    """
    document = load_config(path.read_text(encoding="utf-8", errors="replace"))
    plan = read_litellm_config(document, dict(os.environ), components().config)
    _apply(plan, str(path), dry_run)


@click.command("import-openwebui")
@with_appcontext
@click.option("--env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Open WebUI's .env file (default: this command's environment).")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
def import_openwebui(env_file: Path | None, dry_run: bool) -> None:
    """Import Open WebUI's provider connections (OPENAI_API_BASE_URLS and OPENAI_API_KEYS,
    GEMINI_API_KEY; Ollama servers are listed with how to add them)."""
    environ = ({k: v for k, v in dotenv_values(env_file).items() if v is not None}
               if env_file else dict(os.environ))
    _apply(read_openwebui(environ), str(env_file or "the environment"), dry_run)


def write_private(path: Path, text: str, force: bool) -> None:
    """Write a file only its owner can read (0600), refusing to replace one unless forced."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists: choose another file, or pass --force to "
                                   "replace it.") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        os.fchmod(stream.fileno(), 0o600)
        stream.write(text)


def env_line(name: str, value: str) -> str:
    """NAME=value, single-quoted for a shell when it holds anything but plain characters."""
    if all(c.isalnum() or c in "-_.:/+=" for c in value):
        return f"{name}={value}"
    return f"{name}='" + value.replace("'", "'\\''") + "'"


@click.command("export-litellm")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--env-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where the keys go (written 0600); the config only names them.")
@click.option("--force", is_flag=True, help="Replace PATH and the env file if they exist.")
def export_litellm_command(path: Path, env_file: Path, force: bool) -> None:
    """Write a LiteLLM Proxy config.yaml of the aliases, the purposes' models and the
    default, and the keys they use in ENV_FILE (start the proxy with those variables set)."""
    parts = components()
    exported = export_litellm(parts.config, parts.curation)
    if not exported.document["model_list"]:
        raise click.ClickException("Nothing to export: set a default model, a purpose or an "
                                   "alias first.")
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists: choose another file, or pass --force to "
                                   "replace it.")
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    # The proxy refuses to start without a master key: a new one, for its clients.
    variables = {**exported.environment, "LITELLM_MASTER_KEY": f"sk-{secrets.token_hex(32)}"}
    write_private(env_file, f"# configapp's keys for the LiteLLM Proxy, {stamp}\n" + "".join(
        f"{env_line(name, value)}\n" for name, value in variables.items()), force)
    path.write_text(f"# Exported by configapp on {stamp}. The keys are in {env_file.name}:\n"
                    f"#   set -a; . {env_file.name}; set +a; litellm --config {path.name}\n"
                    + yaml.safe_dump(exported.document, sort_keys=False), encoding="utf-8")
    for line in exported.lines:
        click.echo(line)
    click.echo(f"Wrote {path} and {env_file} (0600, with a new LITELLM_MASTER_KEY for the "
               "proxy's clients).")


def add_moving_commands() -> None:
    for command in (import_litellm, import_openwebui, export_litellm_command):
        config_commands.add_command(command)
