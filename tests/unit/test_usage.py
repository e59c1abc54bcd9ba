"""The ledger's and the budgets' rules against fakes: what a chat records, however it ends,
what a budget's level is, and what a refusal says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from configapp.chat.pricing import reply_cost
from configapp.chat.service import ChatService
from configapp.chat.usage import (
    Budget,
    BudgetExceededError,
    BudgetStatus,
    UsageEntry,
    UsageNotFoundError,
    UsageService,
    UsageTotals,
    dollars,
    month_start,
    parse_moment,
)
from configapp.domain import ConfigurationError, ModelInfo, NewApiKey
from configapp.keys.service import ConfigurationService
from configapp.providers.llm import ChatMessage, ProviderError, ProviderStream, StreamChunk, Usage
from tests.fakes import FakeCatalog, FakeEncryption, FakeGateway, FakeStorage

HELLO = [ChatMessage("user", "hello there")]
MINI = ModelInfo("openai/gpt-4o-mini", "openai", "gpt-4o-mini", 128000, 16384, 0.15, 0.6)


class FakeLedger:
    """Rows in a list; `broken` makes every write fail, like a database that went away."""

    def __init__(self) -> None:
        self.entries: list[UsageEntry] = []
        self.limits: list[Budget] = []
        self.broken = False
        self.receipts_read = 0

    def record(self, entry: UsageEntry) -> None:
        if self.broken:
            raise OSError("disk I/O error")
        self.entries.append(entry)

    def spent(self, since, provider=None, key_id=None, client_id=None) -> float:
        return sum(e.cost or 0 for e in self.entries if e.created_at >= since
                   and (provider is None or e.provider == provider)
                   and (key_id is None or e.key_id == key_id)
                   and (client_id is None or e.client_id == client_id))

    def totals(self, since, until, group_by):
        rows = [e for e in self.entries if since <= e.created_at < until]
        if group_by == "client":  # the only grouping the rules read
            groups: dict[str, list[UsageEntry]] = {}
            for e in rows:
                groups.setdefault("api_token" if e.client_id is None else str(e.client_id),
                                  []).append(e)
            return [UsageTotals(group, len(entries), 0, 0, sum(e.cost or 0 for e in entries),
                                0) for group, entries in sorted(groups.items())]
        return [UsageTotals(None, len(rows), 0, 0, sum(e.cost or 0 for e in rows), 0)]

    def budgets(self) -> list[Budget]:
        return list(self.limits)

    def set_budget(self, budget: Budget) -> Budget:
        self.limits = [b for b in self.limits if (b.scope, b.target) != (
            budget.scope, budget.target)] + [budget]
        return budget

    def delete_budget(self, scope: str, target: str) -> bool:
        before = len(self.limits)
        self.limits = [b for b in self.limits if (b.scope, b.target) != (scope, target)]
        return len(self.limits) < before

    def sync_revision(self) -> tuple[str, int, int]:
        return "store", 1, len(self.entries)

    def by_receipt(self, receipt: str) -> UsageEntry | None:
        self.receipts_read += 1
        return next((e for e in self.entries if e.receipt == receipt), None)


class StoppingGateway(FakeGateway):
    """A stream of three pieces whose usage would come only after the last one."""

    def stream(self, model_id, messages, parameters, key):
        self._note("stream", model=model_id, parameters=parameters, key=key.api_key)
        return ProviderStream(iter([StreamChunk("one "), StreamChunk("two "),
                                    StreamChunk("three", "stop"),
                                    StreamChunk("", None, Usage(2, 3, 5))]))


class BreakingGateway(FakeGateway):
    def stream(self, model_id, messages, parameters, key):
        def pieces():
            yield StreamChunk("partial answer")
            raise ProviderError("unreachable", "the provider went away")
        return ProviderStream(pieces())


@pytest.fixture
def config():
    service = ConfigurationService(FakeStorage(), FakeEncryption(), FakeCatalog())
    service.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    return service


@pytest.fixture
def ledger():
    return FakeLedger()


@pytest.fixture
def usage(config, ledger):
    return UsageService(ledger, config.known_providers,
                        lambda key_id: key_id in {k.id for k in config.list_api_keys()})


def chat_with(config, usage, gateway=None):
    return ChatService(config, gateway or FakeGateway(), usage=usage)


def test_a_finished_chat_records_the_providers_usage_and_its_cost(config, usage, ledger):
    chat = chat_with(config, usage)
    chat.complete(chat.plan(HELLO, "openai/gpt-4o-mini"))
    (entry,) = ledger.entries
    assert (entry.outcome, entry.prompt_tokens, entry.completion_tokens) == ("finished", 1, 2)
    assert entry.key_id == config.list_api_keys()[0].id and entry.key_source == "database"
    assert not entry.tokens_counted
    assert entry.cost == pytest.approx((1 * 0.15 + 2 * 0.6) / 1e6)


def test_a_stream_read_to_the_end_records_once_as_finished(config, usage, ledger):
    chat = chat_with(config, usage, StoppingGateway())
    assert "".join(c.content for c in chat.stream(chat.plan(HELLO, "openai/gpt-4o-mini"))) == (
        "one two three")
    (entry,) = ledger.entries
    assert (entry.outcome, entry.prompt_tokens, entry.completion_tokens) == ("finished", 2, 3)


def test_a_stream_closed_early_records_the_delivered_text_counted(config, usage, ledger):
    chat = chat_with(config, usage, StoppingGateway())
    stream = chat.stream(chat.plan(HELLO, "openai/gpt-4o-mini"))
    assert next(stream).content == "one "
    assert next(stream).content == "two "
    stream.close()
    (entry,) = ledger.entries
    # FakeGateway counts a token a word: "one two " is 2, "hello there" is 2.
    assert (entry.outcome, entry.tokens_counted) == ("stopped", True)
    assert (entry.prompt_tokens, entry.completion_tokens) == (2, 2)


def test_each_stream_records_under_its_own_receipt_and_reads_back_by_it(config, usage,
                                                                       ledger):
    chat = chat_with(config, usage, StoppingGateway())
    first = chat.stream(chat.plan(HELLO, "openai/gpt-4o-mini"))
    second = chat.stream(chat.plan(HELLO, "openai/gpt-4o-mini"))
    next(first)
    first.close()
    list(second)
    assert first.receipt != second.receipt
    assert usage.by_receipt(first.receipt).outcome == "stopped"
    assert usage.by_receipt(second.receipt).outcome == "finished"


def test_a_receipt_is_waited_for_then_refused_and_a_malformed_one_is_not_looked_up(
        usage, ledger):
    with pytest.raises(UsageNotFoundError, match="No usage is recorded under this receipt"):
        usage.by_receipt("A" * 22, wait=0.25)
    assert ledger.receipts_read >= 2  # asked again while it waited
    ledger.receipts_read = 0
    for malformed in ("", "short", "x" * 33, "a.b" * 8, "A" * 21 + "\n"):
        with pytest.raises(UsageNotFoundError):
            usage.by_receipt(malformed, wait=5)
    assert ledger.receipts_read == 0


def test_a_stream_the_provider_breaks_off_records_it_as_failed(config, usage, ledger):
    chat = chat_with(config, usage, BreakingGateway())
    stream = chat.stream(chat.plan(HELLO, "openai/gpt-4o-mini"))
    with pytest.raises(ProviderError):
        list(stream)
    (entry,) = ledger.entries
    assert (entry.outcome, entry.completion_tokens) == ("failed", 2)


def test_a_failing_ledger_is_logged_and_the_chat_goes_on(config, usage, ledger, caplog):
    ledger.broken = True
    chat = chat_with(config, usage)
    result = chat.complete(chat.plan(HELLO, "openai/gpt-4o-mini"))
    assert result.reply.content
    assert "usage not recorded" in caplog.text and "sk-stored" not in caplog.text


def test_a_spent_budget_refuses_before_the_key_is_used(config, usage, ledger):
    gateway = FakeGateway()
    chat = chat_with(config, usage, gateway)
    usage.set_budget("provider", "openai", 1e-6)
    chat.complete(chat.plan(HELLO, "openai/gpt-4o-mini"))  # 1.35e-6: over
    touched = config.list_api_keys()[0].last_used_at
    with pytest.raises(BudgetExceededError) as refused:
        chat.plan(HELLO, "openai/gpt-4o-mini")
    assert refused.value.errors["budget"]["level"] == "exceeded"
    assert "no provider was called" in str(refused.value)
    assert len(gateway.calls) == 1 and config.list_api_keys()[0].last_used_at == touched
    usage.set_budget("provider", "openai", 1.0)
    chat.plan(HELLO, "openai/gpt-4o-mini")  # raised: allowed again


@pytest.mark.parametrize(("spent", "level"), [(0, "ok"), (7.99, "ok"), (8, "warning"),
                                              (9.99, "warning"), (10, "exceeded"),
                                              (12, "exceeded")])
def test_a_budgets_level(spent, level):
    status = BudgetStatus(Budget("provider", "openai", 10.0), "2026-12", spent)
    assert status.level == level


def test_budget_targets_are_checked(usage):
    with pytest.raises(ConfigurationError, match="Unknown provider"):
        usage.set_budget("provider", "nope", 5)
    with pytest.raises(ConfigurationError, match="No API key with id"):
        usage.set_budget("key", "²", 5)
    with pytest.raises(ConfigurationError, match="more than"):
        usage.set_budget("provider", "openai", 0)
    assert usage.set_budget("provider", "google", 5).budget.target == "gemini"


def test_cost_needs_both_prices_and_a_count():
    assert reply_cost(MINI, 1000, 100) == pytest.approx(0.00015 + 0.00006)
    assert reply_cost(MINI, None, 100) is None  # a count unknown: never a guess
    assert reply_cost(MINI, None, None) is None
    unpriced = ModelInfo("openai/local", "openai", "local")
    assert reply_cost(unpriced, 1000, 100) is None


def test_dates_and_money_as_people_write_them():
    assert parse_moment("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_moment("2026-12-01T10:00:00+02:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    for bad in ("yesterday", "2026-13-01", "0001-01-01T00:00:00+01:00", "9" * 41):
        with pytest.raises(ValueError):
            parse_moment(bad)
    assert month_start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC)
    assert [dollars(v) for v in (0, 12.5, 0.0123, 9e-6)] == [
        "$0.00", "$12.50", "$0.0123", "$0.00000900"]
