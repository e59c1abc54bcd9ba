"""litellm's per-piece logging of a stream is off (configapp registers no callback to feed):
the switch is set when the gateway imports litellm, and a streamed chat hands no task per
piece to litellm's logging pool, so that pool does not grow a thread per piece. Its service
logging starts no event loop per call while no service callback is set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

import pytest

from tests.integration.support import ROOT
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

PIECES = 60


@pytest.fixture
def backend():
    """litellm's switches do not depend on the database: SQLite is enough here."""
    return "sqlite"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def count_logging_tasks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the tasks handed to litellm's logging pool from now on (its threads
    come and go with the machine's pace; the tasks handed to it do not)."""
    from litellm.litellm_core_utils.thread_pool_executor import executor

    handed: list[str] = []
    submit = executor.submit

    def counted(fn, /, *args, **kwargs):
        handed.append(getattr(fn, "__name__", repr(fn)))
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(executor, "submit", counted)
    return handed


PROBE = """
import json
from configapp import create_app
litellm = create_app().extensions["configapp"].gateway.litellm()
print(json.dumps([litellm.disable_streaming_logging, litellm.callbacks,
                  litellm.success_callback, litellm.failure_callback], default=repr))
"""


def test_the_gateway_turns_off_litellms_stream_logging_and_adds_no_callback(tmp_path):
    """In a fresh interpreter: litellm's lists are the process's, and other tests' libraries
    (a litellm Cache adds "cache") may have written to them in this one."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CONFIGAPP_")}
    env.update({"PYTHONPATH": str(ROOT), "CONFIGAPP_DATA_DIR": str(tmp_path / "data"),
                "CONFIGAPP_ENV_FILE": str(tmp_path / "absent.env"),
                "CONFIGAPP_CONFIG_FILE": str(tmp_path / "absent.yaml"),
                "CONFIGAPP_API_TOKEN": "bookkeeping-test-token-0123456789abcdef"})
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [True, [], [], []]


def test_a_streamed_chat_hands_no_logging_task_per_piece(client, stub, monkeypatch):
    add_key(client, stub, "openai")
    model = MODELS["openai"]
    stub.say("word " * PIECES, pieces=PIECES)
    chat = {"messages": [{"role": "user", "content": "Say hello"}], "model": model,
            "stream": True}
    client.post("/api/chat", json=chat)  # litellm imported
    handed = count_logging_tasks(monkeypatch)

    streamed = client.post("/api/chat", json=chat).get_data(as_text=True)

    assert streamed.count("event: delta") >= PIECES // 2 and "event: done" in streamed
    # The success handler and the last piece's task are left (litellm has no switch for
    # them); with the per-piece logging on, one task per piece.
    assert len(handed) <= 3, handed


def count_event_loops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads that make an event loop from now on."""
    made: list[str] = []
    init = asyncio.base_events.BaseEventLoop.__init__

    def counted(self, *args, **kwargs):
        made.append(threading.current_thread().name)
        init(self, *args, **kwargs)

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "__init__", counted)
    return made


def chat_on_a_thread_without_a_loop(client) -> int:
    """A chat from a fresh thread, as gunicorn's request threads are: none has a loop."""
    statuses: list[int] = []
    chat = {"messages": [{"role": "user", "content": "Say hello"}], "model": MODELS["openai"]}
    thread = threading.Thread(target=lambda: statuses.append(
        client.post("/api/chat", json=chat).status_code), name="request-thread")
    thread.start()
    thread.join(60)
    return statuses[0]


def test_a_chat_starts_no_event_loop_for_service_callbacks_nobody_set(client, stub,
                                                                      monkeypatch):
    import litellm

    add_key(client, stub, "openai")
    assert chat_on_a_thread_without_a_loop(client) == 200  # litellm imported
    made = count_event_loops(monkeypatch)

    assert chat_on_a_thread_without_a_loop(client) == 200
    assert made == []
    # A service callback set: litellm's own logging runs, in a loop of its own.
    monkeypatch.setattr(litellm, "service_callback", ["a-callback-litellm-ignores"])
    assert chat_on_a_thread_without_a_loop(client) == 200
    assert "request-thread" in made
