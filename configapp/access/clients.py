"""Client tokens: each tool that calls /v1 (a script, an IDE, Open WebUI) has its own token,
the models it may use and its own monthly budget, on top of the provider and key budgets.

A token is `cfgc_` and 256 random bits, shown once when made and kept only as its SHA-256
hash (like the API token: a salt or a slow hash adds nothing to 256 random bits). It is
looked up by the hash of the whole token at every call, so a deleted client's token stops
working at once, on every instance sharing the database.

The names a client may use and its month's spending come from the catalogue and the
ledger, which `access` may not import: the composition root hands them in (`ModelNames`,
`ClientSpending`).
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from configapp.access.auth import TOKEN_BYTES, token_hash
from configapp.domain import ConfigurationError, ModelNotFoundError
from configapp.log_lines import log_text

audit = logging.getLogger("configapp.audit")

TOKEN_PREFIX = "cfgc_"  # noqa: S105 (a prefix, not a secret)
# The longest token worth hashing: `cfgc_` and 43 characters are 48.
MAX_TOKEN_LENGTH = 128
MAX_NAME_LENGTH = 64
MAX_MODELS = 500
MAX_MODEL_NAME = 255
MAX_LIMIT = 1_000_000_000.0  # the budgets' bound (chat/usage.py)
CHANGES = frozenset({"name", "models", "monthly_limit"})


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    models: tuple[str, ...] | None  # model ids or aliases it may call and list; None: all
    monthly_limit: float | None  # dollars a calendar month (UTC); None: no limit of its own
    created_at: datetime


@dataclass(frozen=True)
class NewClient:
    name: str
    models: tuple[str, ...] | None
    monthly_limit: float | None
    token_hash: str


class ClientNotFoundError(ConfigurationError):
    """No client with that id (404)."""


class ClientNameTakenError(ConfigurationError):
    """Another client has that name (409)."""


class ClientInputError(ConfigurationError):
    """A name, a model or a limit that cannot be used (422, by field); nothing changed."""

    def __init__(self, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.errors = errors


class ClientStoragePort(Protocol):
    """The clients' rows. Writes are one transaction each; a taken name raises
    ClientNameTakenError (the database holds the rule), a missing id ClientNotFoundError."""

    def add_client(self, new: NewClient) -> Client: ...

    def list_clients(self) -> list[Client]: ...

    def update_client(self, client_id: int, changes: dict[str, Any]) -> Client: ...

    def delete_client(self, client_id: int) -> None: ...

    def client_by_token_hash(self, hashed: str) -> Client | None: ...


class ClientSpending(Protocol):
    """The ledger's side (chat/usage.py's UsageService)."""

    def client_spending(self) -> dict[int, float]:
        """This month's dollars per client id."""
        ...

    def check_client(self, client_id: int, name: str, monthly_limit: float) -> None:
        """Raise BudgetExceededError when the client's month is spent."""
        ...


# A model id or an alias, checked: raises a ConfigurationError (unknown, hidden) if not.
ModelNames = Callable[[str], object]


def new_client_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


class ClientService:
    """The rules of client tokens; callers are the /api/config routes, the CLI and /v1."""

    def __init__(self, storage: ClientStoragePort, check_model: ModelNames,
                 spending: ClientSpending) -> None:
        self.storage = storage
        self._check_model = check_model
        self.spending = spending

    def create(self, name: str, models: list[str] | None = None,
               monthly_limit: float | None = None) -> tuple[Client, str]:
        """A new client and its token: the token is shown now and never again."""
        errors: dict[str, list[str]] = {}
        clean_name = self._clean_name(name, errors)
        clean_models = self._clean_models(models, errors)
        limit = self._clean_limit(monthly_limit, errors)
        self._refuse(errors)
        token = new_client_token()
        client = self.storage.add_client(NewClient(clean_name, clean_models, limit,
                                                   token_hash(token)))
        audit.info("client created id=%s name=%s", client.id, log_text(client.name))
        return client, token

    def clients(self) -> list[dict[str, Any]]:
        """Every client with this month's spending (never a token: none is kept)."""
        spent = self.spending.client_spending()
        return [view(client, spent.get(client.id, 0.0)) for client in self.storage.list_clients()]

    def client(self, client_id: int) -> dict[str, Any]:
        found = next((c for c in self.storage.list_clients() if c.id == client_id), None)
        if found is None:
            raise ClientNotFoundError(f"No client with id {client_id}.")
        return view(found, self.spending.client_spending().get(found.id, 0.0))

    def update(self, client_id: int, changes: dict[str, Any]) -> Client:
        """Change the name, the models (None: all) or the monthly limit (None: none)."""
        unknown = sorted(set(changes) - CHANGES)
        if unknown:
            raise ClientInputError(f"A client has no field {unknown[0][:40]!r}.",
                                   {name[:40]: ["Unknown field."] for name in unknown[:5]})
        errors: dict[str, list[str]] = {}
        clean: dict[str, Any] = {}
        if "name" in changes:
            clean["name"] = self._clean_name(changes["name"], errors)
        if "models" in changes:
            clean["models"] = self._clean_models(changes["models"], errors)
        if "monthly_limit" in changes:
            clean["monthly_limit"] = self._clean_limit(changes["monthly_limit"], errors)
        self._refuse(errors)
        client = self.storage.update_client(client_id, clean)
        audit.info("client changed id=%s fields=%s", client.id, ",".join(sorted(clean)))
        return client

    def delete(self, client_id: int) -> None:
        """Remove the client: its token is refused from the next call on."""
        self.storage.delete_client(client_id)
        audit.info("client deleted id=%s", client_id)

    def authenticate(self, token: str) -> Client | None:
        """The client whose token this is, by the hash of the whole token; None otherwise."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        return self.storage.client_by_token_hash(token_hash(token))

    @staticmethod
    def allows(client: Client, name: str) -> bool:
        """Whether the client may call or list `name`, as it was asked (a model id or an
        alias): an alias allows itself, not the model it points at, and the reverse."""
        return client.models is None or name in client.models

    def check_budget(self, client: Client) -> None:
        """BudgetExceededError (chat/usage.py) when the client's month is spent."""
        if client.monthly_limit is not None:
            self.spending.check_client(client.id, client.name, client.monthly_limit)

    # ---- input -----------------------------------------------------------------------

    @staticmethod
    def _refuse(errors: dict[str, list[str]]) -> None:
        if errors:
            field, problems = next(iter(errors.items()))
            raise ClientInputError(f"{field}: {problems[0]} Nothing was changed.", errors)

    @staticmethod
    def _clean_name(name: object, errors: dict[str, list[str]]) -> str:
        clean = name.strip() if isinstance(name, str) else ""
        if not clean or len(clean) > MAX_NAME_LENGTH or not clean.isprintable():
            errors["name"] = [f"A name is 1 to {MAX_NAME_LENGTH} printable characters "
                              "(e.g. open-webui)."]
        return clean

    def _clean_models(self, models: Iterable[str] | None,
                      errors: dict[str, list[str]]) -> tuple[str, ...] | None:
        if models is None:
            return None
        names = list(models)
        if not names or len(names) > MAX_MODELS:
            errors["models"] = [f"List 1 to {MAX_MODELS} model ids or aliases, or leave it "
                                "out (null) for every model."]
            return None
        problems = []
        for name in dict.fromkeys(names):
            if not isinstance(name, str) or not name or len(name) > MAX_MODEL_NAME:
                problems.append("A model is a model id or an alias.")
                continue
            try:
                self._check_model(name)
            except ModelNotFoundError:
                problems.append(f"Unknown model or alias '{name[:200]}'.")
            except ConfigurationError as error:
                problems.append(f"'{name[:200]}': {error}")
        if problems:
            errors["models"] = problems
        return tuple(dict.fromkeys(names))

    @staticmethod
    def _clean_limit(limit: object, errors: dict[str, list[str]]) -> float | None:
        if limit is None:
            return None
        if (isinstance(limit, bool) or not isinstance(limit, int | float)
                or not math.isfinite(limit) or not 0 < limit <= MAX_LIMIT):
            errors["monthly_limit"] = [f"The monthly limit is more than $0 and at most "
                                       f"${MAX_LIMIT:,.0f}, or null for none."]
            return None
        return float(limit)


def view(client: Client, spent: float) -> dict[str, Any]:
    """What the API and the CLI show of a client."""
    return {"id": client.id, "name": client.name,
            "models": list(client.models) if client.models is not None else None,
            "monthly_limit": client.monthly_limit, "created_at": client.created_at,
            "spent": round(spent, 10)}
