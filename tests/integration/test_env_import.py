"""The first start's import of .env and default.yaml: once, in one transaction, or not at all."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import PendingRollbackError

from configapp import create_app
from configapp.domain import LegacyImportError, NewApiKey
from configapp.keys.env_import import IMPORT_VERSION, LegacyImport
from tests.integration.support import (
    ANTHROPIC_KEY,
    ENV_TEXT,
    GEMINI_KEY,
    LEGACY_KEYS,
    OPENAI_KEY,
    ROOT,
    YAML_TEXT,
    at_head,
    dispose,
    snapshot,
    subprocess_env,
)


def write_legacy(settings, env=ENV_TEXT, config=YAML_TEXT):
    if env is not None:
        settings.env_file.write_text(env)
    if config is not None:
        settings.config_file.write_text(config)


def stored(app):
    """(provider -> masked key, the default model, when the import ran)."""
    with app.app_context():
        parts = app.extensions["configapp"]
        keys = {r.provider: r.masked_key for r in parts.config.list_api_keys()}
        selected = parts.storage.selected_model()
        return (keys, selected.model_id if selected else None,
                parts.storage.migration_applied(IMPORT_VERSION))


def test_the_first_start_imports_both_files_once_and_logs_masked(make_settings, caplog):
    settings = at_head(make_settings())
    write_legacy(settings)
    caplog.set_level(logging.INFO)
    app = create_app(settings)
    keys, model, applied = stored(app)
    assert keys == {"openai": "sk-proj-***1111", "anthropic": "sk-ant-***2222",
                    "gemini": "AIza***3333"}
    assert model == "openai/gpt-4o-mini" and applied is not None
    with app.app_context():
        service = app.extensions["configapp"].config
        assert [service.resolve_key(p).api_key for p in ("openai", "anthropic", "gemini")] == [
            OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY]
    assert "openai sk-proj-***1111 (OPENAI_API_KEY)" in caplog.text
    assert "now deprecated" in caplog.text and "Recorded as plan_09_api_keys" in caplog.text
    audit = [r.getMessage() for r in caplog.records if r.name == "configapp.audit"]
    assert audit[:4] == [  # the .env's order; then the three uses above
        f"key added id={n} provider={provider} key={keys[provider]} active=True "
        "source=legacy-env-import" for n, provider in enumerate(("openai", "anthropic",
                                                                  "gemini"), 1)
    ] + ["default model changed model=openai/gpt-4o-mini source=legacy-config-import"]
    assert not any(key in caplog.text for key in LEGACY_KEYS)
    before = snapshot(settings)
    assert [row[-1] for row in before["migration_versions"]] == [  # what was imported, masked
        "openai sk-proj-***1111 (OPENAI_API_KEY); anthropic sk-ant-***2222 (ANTHROPIC_API_KEY); "
        "gemini AIza***3333 (GOOGLE_API_KEY); default model openai/gpt-4o-mini"]
    again = create_app(settings)  # the second start finds it done and writes nothing
    assert snapshot(settings) == before
    dispose(app)
    dispose(again)


@pytest.mark.parametrize(("env", "config"), [(ENV_TEXT, None), (None, YAML_TEXT), (None, None)],
                         ids=["env-only", "yaml-only", "none"])
def test_a_missing_file_is_not_an_error(make_settings, env, config):
    settings = at_head(make_settings())
    write_legacy(settings, env, config)
    app = create_app(settings)
    keys, model, applied = stored(app)
    assert bool(keys) == (env is not None)
    assert (model == "openai/gpt-4o-mini") == (config is not None)
    assert applied is not None  # recorded even when there was nothing: it never runs again
    if env is None and config is None:
        assert [row[-1] for row in snapshot(settings)["migration_versions"]] == [
            "nothing to import"]
    write_legacy(settings)  # files that appear later are not imported
    dispose(app)
    app = create_app(settings)
    assert stored(app)[:2] == (keys, model)
    dispose(app)


@pytest.mark.parametrize(("env", "config", "moves"), [
    (ENV_TEXT, None, True), (None, YAML_TEXT, True), (None, None, False)],
    ids=["keys-only", "model-only", "nothing"])
def test_the_import_moves_the_sync_revision_only_when_it_brings_something(
        make_settings, env, config, moves):
    """The extension's cache is refreshed after an import that added keys or a model, and
    not after one that found nothing."""
    settings = at_head(make_settings())
    cli_app = create_app(replace(settings, cli=True))  # the start's import not run yet
    with cli_app.app_context():
        before = cli_app.extensions["configapp"].storage.revision()
    dispose(cli_app)
    write_legacy(settings, env, config)
    app = create_app(settings)
    with app.app_context():
        after = app.extensions["configapp"].storage.revision()
    assert (after != before) is moves
    dispose(app)


def test_the_database_wins_over_the_files(make_settings, caplog):
    settings = at_head(make_settings())
    write_legacy(settings)
    cli_app = create_app(settings.__class__(**{**settings.__dict__, "cli": True}))
    with cli_app.app_context():
        service = cli_app.extensions["configapp"].config
        service.add_api_key(NewApiKey("openai", "sk-mine-99998888"))
        service.select_model("anthropic/claude-sonnet-4-5")
    dispose(cli_app)
    caplog.set_level(logging.INFO)
    app = create_app(settings)
    keys, model, _ = stored(app)
    assert keys == {"openai": "sk-***888", "anthropic": "sk-ant-***2222",
                    "gemini": "AIza***3333"}
    assert model == "anthropic/claude-sonnet-4-5"
    assert "Kept the database's key for openai" in caplog.text
    assert "Kept the database's default model anthropic/claude-sonnet-4-5" in caplog.text
    dispose(app)


@pytest.mark.parametrize(("env", "config", "reason"), [
    (ENV_TEXT, "llm:\n  default_model: [openai/gpt-4o-mini\n", "is not valid YAML at line"),
    (ENV_TEXT, "llm: just-a-string\n", "llm must be a mapping"),
    (ENV_TEXT, "llm:\n  default_model: openai/no-such-model\n", "is not in the model catalogue"),
    (ENV_TEXT + "OPENAI_API_KEY='unterminated\n", YAML_TEXT, "is malformed: line(s) 6"),
    ("OPENAI_API_KEY=short\n", YAML_TEXT, "OPENAI_API_KEY in"),
], ids=["bad-yaml", "bad-shape", "unknown-model", "bad-env", "bad-key"])
def test_a_bad_file_rolls_back_and_stops_the_start(make_settings, env, config, reason, caplog):
    settings = at_head(make_settings())
    write_legacy(settings, env, config)
    before = snapshot(settings)
    with pytest.raises(LegacyImportError) as refused:
        create_app(settings)
    message = str(refused.value)
    assert reason in message and "rolled back" in message
    assert message.endswith("Fix it and start again; `flask --app wsgi config import-env "
                            "--dry-run` shows what would be imported.")
    assert not any(key in message or key in caplog.text for key in LEGACY_KEYS)
    assert snapshot(settings) == before


def refuse_writes_to_migration_versions(settings):
    """A real failing write: the database itself refuses the import's last statement."""
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        if settings.is_sqlite:
            connection.execute(text(
                "CREATE TRIGGER refuse BEFORE INSERT ON migration_versions "
                "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk quota exceeded'; END $$ LANGUAGE plpgsql"))
            connection.execute(text(
                "CREATE TRIGGER refuse BEFORE INSERT ON migration_versions "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"))
    engine.dispose()


def test_a_failing_write_rolls_back_the_keys_and_stops_the_start(make_settings):
    settings = at_head(make_settings())
    write_legacy(settings)
    refuse_writes_to_migration_versions(settings)
    before = snapshot(settings)
    with pytest.raises(LegacyImportError) as refused:
        create_app(settings)
    # The driver's own error (its type and message), not SQLAlchemy's wrapper with the SQL.
    driver_error = "IntegrityError" if settings.is_sqlite else "RaiseException"
    assert f"writing to the database failed ({driver_error}: disk quota exceeded" in str(
        refused.value)
    assert snapshot(settings) == before  # the keys inserted before the failure are gone


def test_a_database_failure_that_is_not_the_drivers_is_reported_too(make_settings,
                                                                     monkeypatch):
    """Any database failure of the write is the import's refusal with its reason, also one
    SQLAlchemy raises itself (no driver error under it), not an exception of its own."""
    settings = at_head(make_settings(cli=True))
    write_legacy(settings)
    app = create_app(settings)
    with app.app_context():
        parts = app.extensions["configapp"]

        def session_already_failed(*args):
            raise PendingRollbackError("the session's transaction was rolled back")

        monkeypatch.setattr(parts.storage, "import_once", session_already_failed)
        with pytest.raises(LegacyImportError) as refused:
            LegacyImport(parts.config, parts.storage, settings.env_file,
                         settings.config_file).run()
    assert ("writing to the database failed (PendingRollbackError: the session's "
            "transaction was rolled back)") in str(refused.value)


def test_an_import_that_another_process_finished_first_reports_that_run(make_settings,
                                                                        monkeypatch):
    """The race the database settles: this process saw no import, another then recorded
    one; this one writes nothing and reports the other's, with its time."""
    settings = at_head(make_settings(cli=True))
    write_legacy(settings)
    app = create_app(settings)
    with app.app_context():
        parts = app.extensions["configapp"]
        first = LegacyImport(parts.config, parts.storage, settings.env_file,
                             settings.config_file).run()
        applied = parts.storage.migration_applied(IMPORT_VERSION)
        before = snapshot(settings)
        real = parts.storage.migration_applied
        checks: list[str] = []

        def seen_before_the_other_wrote(version: str):
            checks.append(version)
            return None if len(checks) == 1 else real(version)

        monkeypatch.setattr(parts.storage, "migration_applied", seen_before_the_other_wrote)
        late = LegacyImport(parts.config, parts.storage, settings.env_file,
                            settings.config_file).run()
    assert first.status == "imported"
    assert late.status == "already" and late.applied_at == applied
    assert checks == [IMPORT_VERSION, IMPORT_VERSION]  # before the import, and after its refusal
    assert late.lines()[0].startswith("The one-time import (plan_09_api_keys) already ran on ")
    assert snapshot(settings) == before
    dispose(app)


def test_two_processes_starting_at_once_import_once(make_settings):
    settings = at_head(make_settings())
    write_legacy(settings)
    env = subprocess_env(settings)
    start_at = f"{time.time() + 2.5:.3f}"  # both are loaded by then, and start together
    children = [subprocess.Popen([sys.executable, "-m", "tests.integration.start_app",
                                  start_at], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [child.communicate(timeout=60) for child in children]
    outcomes = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    assert [o["outcome"] for o in outcomes] == ["started", "started"], results
    assert [o["litellm_imported"] for o in outcomes] == [False, False]
    logs = "".join(err for _, err in results)
    assert logs.count("Recorded as plan_09_api_keys") == 1, logs
    assert not any(key in logs for key in LEGACY_KEYS)
    rows = snapshot(settings)
    assert len(rows["api_keys"]) == 3 and len(rows["migration_versions"]) == 1
    assert len([row for row in rows["model_configs"] if row[3]]) == 1
