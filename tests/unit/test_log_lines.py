"""Log lines that carry a model id or a provider name: escaped (configapp/log_lines.py)."""

from __future__ import annotations

import ast
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

import configapp
from configapp.chat.service import ChatService
from configapp.chat.usage import UsageEntry, UsageService
from configapp.domain import ModelInfo, NewApiKey
from configapp.keys.service import ConfigurationService
from configapp.log_lines import log_text
from configapp.providers.llm import ChatMessage
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


# Arguments of configapp's log calls that are not passed through log_text, each reviewed:
# numbers, kinds and results of configapp's own, masked keys, settings, exception types.
# A new one fails the test below: wrap it in log_text, or add it here if nothing from a
# request, a provider or a file can reach it.
REVIEWED_LOG_ARGUMENTS = frozenset({
    'providers/apis.py: cut',
    'providers/apis.py: entries',
    'providers/apis.py: size',
    # A client's database id, and the names of the fields changed (of a fixed set).
    "access/clients.py: ','.join(sorted(clean))",
    'access/clients.py: client.id',
    'access/clients.py: client_id',
    'catalog/curation.py: None if change.only is None else len(change.only)',
    'catalog/curation.py: change.show_all',
    'catalog/curation.py: len(change.hide)',
    'catalog/curation.py: len(change.show)',
    'catalog/discovery.py: answer.kind',
    'catalog/discovery.py: answer.status_code',
    'catalog/discovery.py: check.result',
    'catalog/discovery.py: check.status_code',
    'catalog/discovery.py: mask_key(key.api_key)',
    'catalog/discovery.py: record.id',
    'catalog/litellm_catalog.py: error',
    'chat/service.py: attempt.key.source',
    'chat/service.py: elapsed_ms(started)',
    'chat/service.py: error.kind',
    'chat/service.py: error.status_code',
    'chat/service.py: latency',
    'chat/service.py: type(error).__name__',
    'chat/usage.py: entry.completion_tokens',
    'chat/usage.py: entry.key_id',
    'chat/usage.py: entry.outcome',
    'chat/usage.py: entry.prompt_tokens',
    'chat/usage.py: type(error).__name__',
    'composition.py: head',
    'composition.py: security.bind',
    'keys/data_files.py: folder',
    'keys/data_files.py: mode',
    'keys/data_files.py: owner',
    'keys/data_files.py: status.st_uid',
    'keys/env_import.py: line',
    'keys/env_import.py: record.id',
    'keys/env_import.py: record.is_active',
    'keys/env_import.py: record.masked_key',
    'keys/env_import.py: report.lines()[0]',
    "keys/service.py: 'activated' if is_active else 'deactivated'",
    'keys/service.py: env[0]',
    'keys/service.py: record.id',
    'keys/service.py: record.is_active',
    'keys/service.py: record.masked_key',
    'ops/cli.py: counts',
    'ops/cli.py: rotation.fingerprint',
    'ops/cli.py: rotation.resumed',
    'ops/cli.py: rotation.rows',
    'ops/cli.py: state.generation',
    'providers/litellm_gateway.py: kind',
    'providers/litellm_gateway.py: len(cut)',
    'providers/litellm_gateway.py: status',
    'providers/litellm_gateway.py: type(error).__name__',
    'serving/worker.py: len(expired)',
    'serving/worker.py: len(self.waiting_heads)',
    'serving/worker.py: self.head_seconds',
    'serving/worker.py: self.request_read_seconds',
    'startup.py: error',
})
LOGGERS = {"log", "audit", "logger", "current_app.logger", "self.logger"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def mutant_copies(tree: ast.AST) -> set[ast.AST]:
    """The nodes of mutmut's copies of functions (`x_name__mutmut_3`): under `make
    mutation` the suite reads mutated sources, whose variants are not configapp's code."""
    return {inner for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and "__mutmut_" in node.name for inner in ast.walk(node)}


def unescaped_log_arguments() -> set[str]:
    """Every argument of a log call in configapp/ not passed through log_text (an f-string
    message counts as one: its values would reach the line unescaped)."""
    root = Path(configapp.__file__).parent
    found = set()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        skipped = mutant_copies(tree)
        for node in ast.walk(tree):
            if node in skipped or not (
                    isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS
                    and ast.unparse(node.func.value) in LOGGERS):
                continue
            message, *values = node.args
            arguments = values if isinstance(message, ast.Constant) else node.args
            found.update(f"{path.relative_to(root)}: {ast.unparse(argument)}"
                         for argument in arguments
                         if not ast.unparse(argument).startswith("log_text("))
    return found


def test_every_value_in_a_log_line_is_escaped_or_reviewed():
    assert unescaped_log_arguments() - REVIEWED_LOG_ARGUMENTS == set()
