"""Log lines that carry a model id or a provider name: escaped (configapp/log_lines.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from configapp.chat import ChatService
from configapp.domain import ModelInfo, NewApiKey
from configapp.llm import ChatMessage
from configapp.log_lines import log_text
from configapp.service import ConfigurationService
from configapp.usage import UsageEntry, UsageService
from tests.fakes import FakeCatalog, FakeEncryption, FakeGateway, FakeStorage

FORGED = "\nINFO configapp.audit key deleted id=1 provider=openai"
ANSI = "\x1b[2J\x1b[31m"


def one_line_each(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The rendered messages of configapp's records, each checked to be one printable line."""
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("configapp")]
    for message in messages:
        assert message.isprintable(), repr(message)
    return messages


@pytest.mark.parametrize(("text", "logged"), [
    ("openai/evil\nINFO configapp.audit", "openai/evil\\nINFO configapp.audit"),
    ("a\rb", "a\\rb"),
    ("red" + ANSI, "red\\x1b[2J\\x1b[31m"),
    ("line\u2028sep\x85nel\x9bcsi", "line\\u2028sep\\x85nel\\x9bcsi"),
    ("openai/gpt-4o", "openai/gpt-4o"),
    ("café/modèle", "café/modèle"),
])
def test_log_text_escapes_what_could_end_or_repaint_a_line(text, logged):
    assert log_text(text) == logged


def test_log_text_is_cut():
    assert len(log_text("x" * 1000)) == 200 and len(log_text("x" * 1000, limit=50)) == 50


def test_a_model_id_is_logged_escaped_when_a_chat_ends_or_fails(caplog):
    model_id = "openai/evil" + ANSI + FORGED
    config = ConfigurationService(FakeStorage(), FakeEncryption(), FakeCatalog(
        ModelInfo(model_id, "openai", "evil", 8000, 1000, 0.1, 0.1)), {}, {})
    config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    gateway = FakeGateway()
    chat = ChatService(config, gateway)
    caplog.set_level(logging.INFO)
    chat.complete(chat.plan([ChatMessage("user", "hello")], model_id))
    messages = [m for m in one_line_each(caplog) if m.startswith("chat model=")]
    assert messages and "openai/evil\\x1b[2J\\x1b[31m\\nINFO configapp.audit" in messages[0]


def test_a_provider_name_and_model_id_are_logged_escaped_when_usage_is_not_recorded(caplog):
    class BrokenLedger:
        def record(self, entry: UsageEntry) -> None:
            raise OSError("disk full")

    usage = UsageService(BrokenLedger(), frozenset, lambda _id: True)  # type: ignore[arg-type]
    caplog.set_level(logging.ERROR)
    entry = UsageEntry("openai/x" + FORGED, "openai" + ANSI, None, "database", None,
                       "finished", 1, 1, True, None, datetime.now(UTC))
    assert usage.record(entry) is False
    [message] = one_line_each(caplog)
    assert "model=openai/x\\nINFO configapp.audit" in message
    assert "provider=openai\\x1b[2J" in message
