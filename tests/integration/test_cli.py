"""`flask config ...`: every command through Flask's CLI runner, then as a real process."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import replace

import click
import pytest

from configapp import create_app
from configapp.ops.cli import config_commands
from tests.integration.support import (
    ENV_TEXT,
    FLASK,
    LEGACY_KEYS,
    ROOT,
    YAML_TEXT,
    at_head,
    dispose,
    snapshot,
    subprocess_env,
)

KEY = "sk-cli-test-Q7w8E9r0"


def cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["config", *args], input=input)


def secrets_absent(text: str, *plaintexts: str) -> None:
    assert not any(secret in text for secret in (KEY, *LEGACY_KEYS, *plaintexts))
    assert "gAAAAA" not in text  # no Fernet token


def test_every_command_has_help_text():
    def commands(group: click.Group, path: str = "config"):
        for name, command in group.commands.items():
            yield f"{path} {name}", command
            if isinstance(command, click.Group):
                yield from commands(command, f"{path} {name}")

    found = dict(commands(config_commands))
    assert {"config keys list", "config keys add", "config keys delete", "config models list",
            "config models select", "config models show", "config import-env",
            "config rotate-key", "config check-key"} <= set(found)
    assert all(command.help for command in found.values())


def test_keys_add_list_and_delete(app, caplog):
    caplog.set_level(logging.INFO)
    added = cli(app, "keys", "add", "openai", "--name", "work", input=KEY + "\n")
    assert added.exit_code == 0, added.output
    assert "Added key 1: openai sk-***E9r0 (active)." in added.output
    cli(app, "keys", "add", "google", "--inactive", "--api-base", "https://gw.example/v1",
        input="AIzaSyCLItestKEY0000\n")
    listed = cli(app, "keys", "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ID", "PROVIDER", "NAME", "KEY", "ACTIVE", "API", "BASE",
                                "LAST", "USED"]
    assert lines[1].split() == ["2", "gemini", "AIza***0000", "no", "https://gw.example/v1"]
    assert lines[2].split() == ["1", "openai", "work", "sk-***E9r0", "yes"]
    only = cli(app, "keys", "list", "--provider", "openai")
    assert len(only.output.splitlines()) == 2
    refused = cli(app, "keys", "delete", "1", input="n\n")
    assert refused.exit_code == 1 and "Delete key 1 (openai sk-***E9r0)?" in refused.output
    assert cli(app, "keys", "delete", "1", input="y\n").exit_code == 0
    assert cli(app, "keys", "delete", "2", "--yes").output == (
        "Deleted key 2 (gemini AIza***0000).\n")
    assert cli(app, "keys", "list").output == "No stored keys.\n"
    missing = cli(app, "keys", "delete", "2", "--yes")
    assert missing.exit_code == 1 and "Error: No API key with id 2." in missing.output
    for result in (added, listed, only):
        secrets_absent(result.output, "AIzaSyCLItestKEY0000")
    secrets_absent(caplog.text, "AIzaSyCLItestKEY0000")


def test_a_key_is_never_taken_from_the_command_line(app):
    on_argv = cli(app, "keys", "add", "openai", KEY)
    assert on_argv.exit_code == 2 and "unexpected extra argument" in on_argv.output.lower()
    empty = cli(app, "keys", "add", "openai", input="")
    assert empty.exit_code == 2 and "expected it on stdin" in empty.output
    bad = cli(app, "keys", "add", "openai", input="short\n")
    assert bad.exit_code == 1 and bad.output.startswith("Error: The API key must be")
    assert cli(app, "keys", "list").output == "No stored keys.\n"


def test_models_list_select_and_show(app):
    listed = cli(app, "models", "list", "--provider", "openai", "-q", "gpt-4o-mini")
    assert listed.exit_code == 0 and "openai/gpt-4o-mini " in listed.output
    assert "from litellm metadata" in listed.output
    assert "0 model(s)" in cli(app, "models", "list", "--configured").output
    none = cli(app, "models", "show")
    assert none.exit_code == 1 and "No default model is chosen yet" in none.output
    unknown = cli(app, "models", "select", "openai/no-such-model")
    assert unknown.exit_code == 1 and "Unknown model" in unknown.output
    selected = cli(app, "models", "select", "anthropic/claude-sonnet-4-5")
    assert selected.output == "Default model: anthropic/claude-sonnet-4-5.\n"
    shown = cli(app, "models", "show")
    assert shown.exit_code == 0
    assert "Default model: anthropic/claude-sonnet-4-5 (anthropic)" in shown.output
    assert "temperature: 0 to 1" in shown.output


def test_import_env_dry_run_then_once(make_settings):
    settings = at_head(make_settings(cli=True))
    settings.env_file.write_text(ENV_TEXT)
    settings.config_file.write_text(YAML_TEXT)
    app = create_app(settings)  # under `flask`, the start leaves the import to the command
    before = snapshot(settings)
    dry = cli(app, "import-env", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would import from" in dry.output and "openai sk-proj-***1111" in dry.output
    assert "Would import the default model openai/gpt-4o-mini" in dry.output
    assert snapshot(settings) == before
    done = cli(app, "import-env")
    assert done.exit_code == 0 and "Recorded as plan_09_api_keys" in done.output
    assert "already ran on" in cli(app, "import-env").output
    assert len(snapshot(settings)["api_keys"]) == 3
    for result in (dry, done):
        secrets_absent(result.output)
    dispose(app)


def test_the_import_report_says_exactly_what_was_and_would_be_done(make_settings, caplog):
    """Every line an operator reads: what the dry run would import and keep (the database
    wins), then what the import did; a second start logs nothing about it."""
    settings = at_head(make_settings(cli=True))
    env, config = settings.env_file, settings.config_file
    env.write_text(ENV_TEXT + "ANTHROPIC_API_BASE=http://127.0.0.1:9/anthropic/\n")
    config.write_text(YAML_TEXT)
    app = create_app(settings)
    cli(app, "keys", "add", "openai", input="sk-mine-99998888\n")
    cli(app, "models", "select", "anthropic/claude-sonnet-4-5")
    deprecated = ("The keys in the .env file are now deprecated: the database is the source "
                  "of truth. Manage them in Settings or with `flask --app wsgi config keys`, "
                  "and remove them from the .env file.")
    imported = ("sk-ant-***2222 (ANTHROPIC_API_KEY at http://127.0.0.1:9/anthropic/), "
                "gemini AIza***3333 (GOOGLE_API_KEY)")
    assert cli(app, "import-env", "--dry-run").output.splitlines() == [
        f"Would import from {env}: anthropic {imported}.",
        "Would keep the database's key for openai: the database wins over .env.",
        "Would keep the database's default model anthropic/claude-sonnet-4-5 over "
        f"openai/gpt-4o-mini from {config}.",
        deprecated,
    ]
    assert cli(app, "import-env").output.splitlines() == [
        f"Imported from {env}: anthropic {imported}.",
        "Kept the database's key for openai: the database wins over .env.",
        "Kept the database's default model anthropic/claude-sonnet-4-5 over "
        f"openai/gpt-4o-mini from {config}.",
        deprecated,
        "Recorded as plan_09_api_keys: the import does not run again.",
    ]
    dispose(app)
    caplog.set_level(logging.DEBUG, logger="configapp.keys.env_import")
    dispose(create_app(replace(settings, cli=False)))
    logged = [(r.levelno, r.getMessage()) for r in caplog.records
              if r.name == "configapp.keys.env_import"]
    assert len(logged) == 1 and logged[0][0] == logging.DEBUG  # not news at every start
    assert logged[0][1].startswith("The one-time import (plan_09_api_keys) already ran on ")


def test_without_legacy_files_the_report_says_there_is_nothing_to_import(make_settings):
    settings = at_head(make_settings(cli=True))
    app = create_app(settings)
    assert cli(app, "import-env", "--dry-run").output.splitlines() == [
        f"No {settings.env_file}: no keys to import.",
        f"No {settings.config_file}: no default model to import.",
    ]
    settings.env_file.write_text("# every key is in Settings now\n")
    assert cli(app, "import-env").output.splitlines() == [
        f"Imported from {settings.env_file}: no keys.",
        f"No {settings.config_file}: no default model to import.",
        "Recorded as plan_09_api_keys: the import does not run again.",
    ]
    dispose(app)


def test_import_env_failing_says_why_and_writes_nothing(make_settings):
    settings = at_head(make_settings(cli=True))
    settings.env_file.write_text(ENV_TEXT)
    settings.config_file.write_text("llm: [\n")
    app = create_app(settings)
    before = snapshot(settings)
    dry = cli(app, "import-env", "--dry-run")
    assert dry.exit_code == 1 and dry.output.startswith("Error: The import would fail: ")
    result = cli(app, "import-env")
    assert result.exit_code == 1
    assert result.output.startswith("Error: The one-time import of")
    assert "is not valid YAML" in result.output
    assert snapshot(settings) == before
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_commands_as_a_real_flask_process(make_settings):
    settings = make_settings()
    settings.env_file.write_text(ENV_TEXT)
    settings.config_file.write_text(YAML_TEXT)
    env = subprocess_env(settings)

    def flask(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([FLASK, "--app", "wsgi", "config", *args], cwd=ROOT, env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        secrets_absent(done.stdout + done.stderr)
        return done.stdout + done.stderr

    assert "Would import from" in flask("import-env", "--dry-run")
    assert "Recorded as plan_09_api_keys" in flask("import-env")
    assert "Added key 4: openai sk-***E9r0" in flask("keys", "add", "openai", stdin=KEY + "\n")
    assert "sk-***E9r0" in flask("keys", "list")
    assert "openai/gpt-4o-mini" in flask("models", "list", "-q", "gpt-4o-mini")
    assert "Default model: openai/gpt-4o-mini (openai)" in flask("models", "show")
    assert "Default model: gemini/gemini-2.5-flash." in flask("models", "select",
                                                              "gemini/gemini-2.5-flash")
    assert "opens 4 row(s)" in flask("check-key")
    rotated = flask("rotate-key")
    assert "Re-encrypted 4 stored key(s)" in rotated and ".bak (mode 0600)" in rotated
    assert "Deleted key 4" in flask("keys", "delete", "4", "--yes")
    # gunicorn's start (not under `flask`) would now find the import done and start.
    dispose(create_app(replace(settings, cli=False)))
