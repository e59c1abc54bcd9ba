"""The ledger's write (docs/adr/0007-ledger-write.md): one Core INSERT on the request's own
connection, committed before the chat's answer, and queued behind the settings' write lock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text

from configapp.chat.usage import UsageEntry
from configapp.keys.sql_storage import WRITE_LOCK_ID
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello to the ledger please"}]
HELD = 0.5  # seconds the write lock is held by another connection


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.fixture
def outside(app, settings) -> Iterator[Engine]:
    """An engine of its own on the app's database: it sees only what was committed."""
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


def committed_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT outcome FROM usage_records ORDER BY id")))


def test_a_chats_answer_follows_its_rows_commit(client, stub, outside):
    """Seen from another connection: the row is committed when the stream's `done` arrives
    (before the client reads anything after it), and when the JSON answer arrives."""
    add_key(client, stub, "openai")
    streamed = client.post("/api/chat", json={"messages": HELLO, "model": MODELS["openai"],
                                              "stream": True}, buffered=False)
    seen_at_done = None
    for block in streamed.response:
        event = block.decode() if isinstance(block, bytes) else block
        if event.startswith("event: done"):
            seen_at_done = committed_rows(outside)
            assert json.loads(event.split("data: ", 1)[1])["model"] == MODELS["openai"]
            break
    streamed.close()
    assert seen_at_done == ["finished"]

    assert client.post("/api/chat", json={"messages": HELLO,
                                          "model": MODELS["openai"]}).status_code == 200
    assert committed_rows(outside) == ["finished", "finished"]


@contextmanager
def write_lock_held(engine: Engine) -> Iterator[None]:
    """The lock a settings write holds, taken by another connection: BEGIN IMMEDIATE on
    SQLite, the advisory lock on PostgreSQL."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_ID})"))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield
        connection.commit()


def test_a_ledger_row_waits_for_a_settings_write_in_progress_then_commits(app, outside):
    """Rows commit one at a time behind the settings' write lock: on PostgreSQL so that
    they commit in id order (the sync revision is the last id) and never inside a restore;
    on SQLite the INSERT waits out the busy timeout rather than failing."""
    entry = UsageEntry("openai/gpt-4o-mini", "openai", None, "environment", None,
                       "finished", 3, 4, False, 0.0, datetime.now(UTC))
    recorded: list[bool] = []

    def record() -> None:
        with app.app_context():
            recorded.append(app.extensions["configapp"].usage.record(entry))

    with write_lock_held(outside):
        writer = threading.Thread(target=record)
        writer.start()
        time.sleep(HELD)
        assert writer.is_alive() and not recorded, "the row did not wait for the lock"
    writer.join(10)
    assert recorded == [True]
    assert committed_rows(outside) == ["finished"]
