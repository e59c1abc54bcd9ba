"""The usage ledger and budgets: what each chat cost, and the monthly limits on spending.

A chat is checked against its provider's and its key's budgets before the provider is
called (402 when a budget is spent), and recorded after it ends (finished, stopped by the
client, cut short by the provider, or failed after text flowed). Recording never breaks a
chat: a failed write is logged and the answer goes out. Months are calendar months in UTC.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from configapp.domain import ApiKeyNotFoundError, ConfigurationError, normalise_provider
from configapp.log_lines import log_text

log = logging.getLogger(__name__)

WARNING_RATIO = 0.8
GROUPS = ("model", "provider", "key", "day", "client")
# The group of calls made without a client token (the pages, the API token).
NO_CLIENT = "api_token"
NO_CLIENT_NAME = "Playground / API token"
SCOPES = ("provider", "key")
OUTCOMES = ("finished", "stopped", "failed", "cut", "unavailable")
MAX_LIMIT = 1_000_000_000.0
RECEIPT = re.compile(r"[A-Za-z0-9_-]{16,32}")
RECEIPT_POLL_SECONDS = 0.1


def new_receipt() -> str:
    """A stream's name: random, so that it says nothing and cannot be guessed."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class UsageEntry:
    """One chat's use of a key: never the key itself, only its id and where it came from."""

    model: str
    provider: str
    key_id: int | None
    key_source: str
    purpose: str | None
    outcome: str
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens_counted: bool
    cost: float | None
    created_at: datetime
    client_id: int | None = None  # the client token that asked (access/clients.py)
    receipt: str | None = None  # a stream's name, given to its client (read back by it)


@dataclass(frozen=True)
class UsageTotals:
    """The sums over a set of ledger rows; `unpriced` counts rows with no known cost."""

    group: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    unpriced: int
    name: str | None = None  # grouped by client: its name (None once it is deleted)
    unavailable: int = 0  # attempts that failed before their first byte (fallbacks)


@dataclass(frozen=True)
class Budget:
    scope: str
    target: str
    monthly_limit: float


@dataclass(frozen=True)
class BudgetStatus:
    """A budget with this month's spending against it."""

    budget: Budget
    month: str
    spent: float

    @property
    def ratio(self) -> float:
        return self.spent / self.budget.monthly_limit if self.budget.monthly_limit else 1.0

    @property
    def level(self) -> str:
        if self.spent >= self.budget.monthly_limit:
            return "exceeded"
        return "warning" if self.ratio >= WARNING_RATIO else "ok"

    @property
    def message(self) -> str:
        what = {"provider": f"the {self.budget.target} budget",
                "client": f"the budget of client {self.budget.target}"}.get(
            self.budget.scope, f"the budget of key {self.budget.target}")
        return (f"{self.month}: {dollars(self.spent)} spent of {what} "
                f"({dollars(self.budget.monthly_limit)}, {self.ratio:.0%}).")

    def view(self) -> dict[str, Any]:
        return {"scope": self.budget.scope, "target": self.budget.target,
                "monthly_limit": self.budget.monthly_limit, "month": self.month,
                "spent": round(self.spent, 10), "ratio": round(self.ratio, 4),
                "level": self.level, "message": self.message}


def dollars(value: float) -> str:
    """$12.50, or three significant digits below a dollar ($0.0123, $0.00000900)."""
    if value >= 1 or value == 0:
        return f"${value:,.2f}"
    digits = 2
    while value < 10 ** -(digits - 1) and digits < 12:
        digits += 1
    return f"${value:.{digits + 1}f}"


class BudgetExceededError(ConfigurationError):
    """A chat refused before any provider call: a budget of this month is spent (402)."""

    def __init__(self, status: BudgetStatus) -> None:
        super().__init__(f"Budget reached, no provider was called: {status.message} Raise or "
                         "remove the budget in Settings, or wait for next month.")
        self.errors = {"budget": status.view()}


class UsageLedgerPort(Protocol):
    def sync_revision(self) -> tuple[str, int, int]:
        """(store id, settings counter, last ledger row id), read in one statement."""
        ...

    def record(self, entry: UsageEntry) -> None: ...

    def by_receipt(self, receipt: str) -> UsageEntry | None: ...

    def totals(self, since: datetime, until: datetime,
               group_by: str | None) -> list[UsageTotals]: ...

    def spent(self, since: datetime, provider: str | None = None,
              key_id: int | None = None, client_id: int | None = None) -> float: ...

    def budgets(self) -> list[Budget]: ...

    def set_budget(self, budget: Budget) -> Budget: ...

    def delete_budget(self, scope: str, target: str) -> bool: ...


def parse_moment(value: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time (UTC when it names no zone);
    ValueError otherwise."""
    if len(value) > 40:
        raise ValueError("too long")
    moment = (datetime.combine(date.fromisoformat(value), datetime.min.time())
              if len(value) == 10 else datetime.fromisoformat(value))
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable moment
        raise ValueError("out of range") from None


def key_number(text: str) -> int | None:
    """A key id written in ASCII digits, within a database integer; else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > 2**31 - 1:
        return None
    return int(text)


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class UsageService:
    """The rules of the ledger and the budgets; callers are ChatService, the API, the CLI."""

    def __init__(self, ledger: UsageLedgerPort,
                 known_providers: Callable[[], frozenset[str]],
                 key_exists: Callable[[int], bool]) -> None:
        self.ledger = ledger
        self._known_providers = known_providers
        self._key_exists = key_exists

    # ---- the ledger --------------------------------------------------------------------

    def record(self, entry: UsageEntry) -> bool:
        """Write one row; on failure log it and go on (the user's chat must not break)."""
        try:
            self.ledger.record(entry)
        except Exception as error:
            log.error("usage not recorded model=%s provider=%s key_id=%s outcome=%s "
                      "prompt_tokens=%s completion_tokens=%s error=%s", log_text(entry.model),
                      log_text(entry.provider), entry.key_id, entry.outcome, entry.prompt_tokens,
                      entry.completion_tokens, type(error).__name__)
            return False
        return True

    def by_receipt(self, receipt: str, wait: float = 0.0) -> UsageEntry:
        """The row of the stream given this receipt, waiting up to `wait` seconds for it
        (it is written when the stream ends, however it ends: a page that stops reading
        asks at once); UsageNotFoundError if it is not there by then."""
        deadline = time.monotonic() + wait
        entry = None
        while RECEIPT.fullmatch(receipt):
            entry = self.ledger.by_receipt(receipt)
            if entry is not None or time.monotonic() >= deadline:
                break
            time.sleep(RECEIPT_POLL_SECONDS)
        if entry is None:
            raise UsageNotFoundError("No usage is recorded under this receipt (yet): a "
                                     "stream's row is written when it ends.")
        return entry

    def totals(self, since: datetime | None = None, until: datetime | None = None,
               group_by: str | None = None) -> dict[str, Any]:
        """The sums from `since` (default: the month's start) to `until` (default: now)."""
        now = datetime.now(UTC)
        since = (since or month_start(now)).astimezone(UTC)
        until = (until or now).astimezone(UTC)
        if since > until:
            raise ConfigurationError("`since` is after `until`.")
        if group_by is not None and group_by not in GROUPS:
            raise ConfigurationError(f"group_by must be one of {', '.join(GROUPS)}.")
        (total,) = self.ledger.totals(since, until, None)
        groups = self.ledger.totals(since, until, group_by) if group_by else []
        named = group_by == "client"
        return {"since": since, "until": until, "group_by": group_by,
                "total": _totals_view(total), "groups": [_totals_view(g, named) for g in groups]}

    def sync_revision(self) -> str:
        """The settings revision, moved also by every chat and at each new month: the
        snapshot carries the month's spending and budget warnings."""
        store_id, counter, last_usage = self.ledger.sync_revision()
        return f"{store_id}-{counter}-u{last_usage}-{datetime.now(UTC):%Y%m}"

    def client_spending(self) -> dict[int, float]:
        """This month's dollars per client id (for the clients' list)."""
        now = datetime.now(UTC)
        return {int(totals.group): totals.cost
                for totals in self.ledger.totals(month_start(now), now, "client")
                if totals.group is not None and totals.group != NO_CLIENT}

    def check_client(self, client_id: int, name: str, monthly_limit: float) -> None:
        """Raise BudgetExceededError when a client's own budget of this month is spent."""
        now = datetime.now(UTC)
        status = BudgetStatus(Budget("client", name, monthly_limit), f"{now:%Y-%m}",
                              self.ledger.spent(month_start(now), client_id=client_id))
        if status.level == "exceeded":
            raise BudgetExceededError(status)

    def month_summary(self) -> dict[str, Any]:
        """The month so far: what the extension's snapshot carries."""
        now = datetime.now(UTC)
        (total,) = self.ledger.totals(month_start(now), now, None)
        return {"month": f"{now:%Y-%m}", "requests": total.requests,
                "cost": round(total.cost, 10), "unpriced": total.unpriced}

    # ---- budgets -----------------------------------------------------------------------

    def clean_budget(self, scope: str, target: str, monthly_limit: float) -> Budget:
        if scope not in SCOPES:
            raise ConfigurationError(f"A budget is per provider or per key, not {scope[:20]!r}.")
        if not 0 < monthly_limit <= MAX_LIMIT:
            raise ConfigurationError("The monthly limit must be more than $0 (at most "
                                     f"${MAX_LIMIT:,.0f}).")
        return Budget(scope, self._target(scope, target), float(monthly_limit))

    def _target(self, scope: str, target: str) -> str:
        if scope == "provider":
            provider = normalise_provider(target)
            if provider not in self._known_providers():
                raise BudgetNotFoundError(f"Unknown provider '{target[:64]}'.")
            return provider
        key_id = key_number(target)
        if key_id is None or not self._key_exists(key_id):
            raise ApiKeyNotFoundError(f"No API key with id {target[:20]}.")
        return str(key_id)

    def set_budget(self, scope: str, target: str, monthly_limit: float) -> BudgetStatus:
        budget = self.ledger.set_budget(self.clean_budget(scope, target, monthly_limit))
        return self._status(budget, datetime.now(UTC))

    def delete_budget(self, scope: str, target: str) -> None:
        name = (normalise_provider(target) if scope == "provider"
                else str(key_number(target) or ""))
        if scope not in SCOPES or not name.isprintable() or not name or (
                not self.ledger.delete_budget(scope, name)):
            raise BudgetNotFoundError(f"No {scope[:20]} budget for {target[:64]!r}.")

    def budgets(self) -> list[BudgetStatus]:
        now = datetime.now(UTC)
        return [self._status(budget, now) for budget in self.ledger.budgets()]

    def _status(self, budget: Budget, now: datetime) -> BudgetStatus:
        since = month_start(now)
        spent = (self.ledger.spent(since, provider=budget.target) if budget.scope == "provider"
                 else self.ledger.spent(since, key_id=int(budget.target)))
        return BudgetStatus(budget, f"{now:%Y-%m}", spent)

    def budgets_for(self, provider: str, key_id: int | None) -> tuple[Budget, ...]:
        """The budgets a chat through this provider and key counts against (a setting:
        the chat's plan caches them per settings revision; the spending it never caches)."""
        wanted = {("provider", provider)} | ({("key", str(key_id))} if key_id else set())
        return tuple(budget for budget in self.ledger.budgets()
                     if (budget.scope, budget.target) in wanted)

    def statuses_for(self, provider: str, key_id: int | None,
                     budgets: tuple[Budget, ...] | None = None) -> list[BudgetStatus]:
        """The budgets a chat through this provider and key counts against, with this
        month's spending: `budgets`, when the caller already knows them."""
        now = datetime.now(UTC)
        if budgets is None:
            budgets = self.budgets_for(provider, key_id)
        return [self._status(budget, now) for budget in budgets]

    def warnings(self, provider: str | None = None, key_id: int | None = None,
                 every: bool = False) -> list[dict[str, Any]]:
        """Budgets at 80% or more: all of them, or those of one provider and key."""
        statuses = (self.budgets() if every or provider is None
                    else self.statuses_for(provider, key_id))
        return [status.view() for status in statuses if status.level != "ok"]

    def check(self, provider: str, key_id: int | None,
              budgets: tuple[Budget, ...] | None = None) -> None:
        """Raise BudgetExceededError when a budget this chat counts against is spent
        (`budgets`: those, when the caller already knows them; none, no spending read).

        The spending read is what is recorded: chats in flight are not, so each worker can
        overshoot by the one request it is serving (docs/providers.md).
        """
        for status in self.statuses_for(provider, key_id, budgets):
            if status.level == "exceeded":
                raise BudgetExceededError(status)


class BudgetNotFoundError(ConfigurationError):
    """No budget for that provider or key, or no such provider to put one on (404)."""


class UsageNotFoundError(ConfigurationError):
    """No ledger row under that receipt (404)."""


def _totals_view(totals: UsageTotals, named: bool = False) -> dict[str, Any]:
    """named: grouped by client, whose name goes beside its id."""
    return {"group": totals.group, **({"name": totals.name} if named else {}),
            "requests": totals.requests,
            "prompt_tokens": totals.prompt_tokens, "completion_tokens": totals.completion_tokens,
            "cost": round(totals.cost, 10), "unpriced_requests": totals.unpriced,
            "unavailable_requests": totals.unavailable}
