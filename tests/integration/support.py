"""Helpers of the import, rotation and CLI tests: databases at head, snapshots, subprocesses."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text

from configapp import create_app
from configapp.records import db
from configapp.settings import Settings
from tests.conftest import upgrade_postgres

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")
OPENAI_KEY = "sk-proj-legacyAAAAopenai1111"
ANTHROPIC_KEY = "sk-ant-legacyBBBBanthropic2222"
GEMINI_KEY = "AIzaLegacyCCCCgemini3333"
LEGACY_KEYS = (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY)
ENV_TEXT = (f"# the legacy settings\nOPENAI_API_KEY={OPENAI_KEY}\n"
            f'ANTHROPIC_API_KEY="{ANTHROPIC_KEY}"\nGOOGLE_API_KEY={GEMINI_KEY}\n'
            "UNRELATED=1\n")
YAML_TEXT = "llm:\n  default_model: openai/gpt-4o-mini\n  temperature: 0.3\n"
TABLES = ("api_keys", "model_configs", "migration_versions", "settings_revision")


def at_head(settings: Settings) -> Settings:
    """The database built to head without running the start's import (as the `flask`
    command does), and the settings a real start then uses."""
    if not settings.is_sqlite:
        upgrade_postgres(settings)
    else:
        create_app(replace(settings, cli=True))
    return settings


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused start changed nothing."""
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return {table: [tuple(row) for row in connection.execute(
                text(f"SELECT * FROM {table} ORDER BY 1"))] for table in TABLES}  # noqa: S608
    finally:
        engine.dispose()


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a real `flask --app wsgi ...` or app process for these settings."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CONFIGAPP_", "FLASK_")) and name != "ENCRYPTION_KEY"}
    env.update({
        "CONFIGAPP_DATA_DIR": str(settings.data_dir),
        "CONFIGAPP_ENV_FILE": str(settings.env_file),
        "CONFIGAPP_CONFIG_FILE": str(settings.config_file),
        "FLASK_SKIP_DOTENV": "1",
        "PYTHONUNBUFFERED": "1",
    })
    if not settings.is_sqlite:
        env["CONFIGAPP_DATABASE_URL"] = settings.database_url
    if settings.encryption_keys:
        env["ENCRYPTION_KEY"] = ",".join(settings.encryption_keys)
    env.update(extra)
    return env


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether `condition` came true within `seconds`, looked at every 10 ms: a test waits
    for what it needs, not for a length of time that is enough on a quiet machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
