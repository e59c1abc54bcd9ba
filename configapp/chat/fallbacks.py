"""Fallbacks: when a chat may try the next model of an alias or a purpose, and what the
answer says of it. One rule for every endpoint that calls ChatService (docs/architecture.md,
"Fallbacks"):

- only before the first byte of the answer reached the client, and only on a connection
  refused or reset, a timeout, 429 or 5xx, or the provider's "model not found";
- never on another failure (400, 401, 403, 422: the request or the key is wrong, and the
  user must see it), nor on a budget refusal of configapp's own;
- each fallback checks its own provider's and key's budgets: a spent one is skipped and
  named; at most MAX_ATTEMPTS provider calls, each bounded by the provider timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from configapp.domain import ModelInfo
from configapp.providers.llm import ProviderError, ProviderTimeoutError

MAX_ATTEMPTS = 3
# The ledger's outcome of an attempt that failed before its first byte (no tokens, no cost).
UNAVAILABLE = "unavailable"
BUDGET_SPENT = "budget spent"


@dataclass(frozen=True)
class Candidate:
    """A fallback as the plan found it: its model and parameters, or why it cannot be used
    (`problem`, named in the answer if it is reached)."""

    name: str
    model: ModelInfo | None
    parameters: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class FellBack:
    """A model that did not answer, and why: the answer's `fallback_from`."""

    model: str
    reason: str

    def view(self) -> dict[str, str]:
        return {"model": self.model, "reason": self.reason}


def fallback_reason(error: ProviderError) -> str | None:
    """Why the next model may be tried after this failure ("503", "429", "timeout",
    "connection refused", "model not found"), or None: the failure is the answer."""
    if isinstance(error, ProviderTimeoutError):
        return "timeout"
    if error.kind == "unreachable":
        return "connection refused"
    status = error.status_code
    if status == 429 or (status is not None and 500 <= status <= 599):
        return str(status)
    if status == 404 and "model" in error.message.lower():
        return "model not found"
    return None


def fallback_view(notes: tuple[FellBack, ...]) -> list[dict[str, str]]:
    return [note.view() for note in notes]
