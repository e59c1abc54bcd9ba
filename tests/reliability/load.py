"""Clients that drive a running app over real HTTP, each keeping a ledger of its writes.

Each client owns its keys (and one model's parameters), so what the database must hold at
the end follows from the answers it got: a write answered 2xx must be there, a write that
got no answer (its worker was killed) may or may not be, and nothing else may be. The keys'
providers and the default model are shared, so that the clients contend for the one active
key per provider and the one default model.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import TEST_API_TOKEN
from tests.reliability.store import Store

PROVIDERS = ("openai", "anthropic", "gemini", "mistral")
SELECT_MODELS = ("openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
                 "openai/gpt-4o")
CATALOGUE_QUERIES = ("?provider=openai", "?provider=anthropic", "?q=gpt-4o", "?q=flash",
                     "?configured=true", "?provider=gemini&q=pro", "?provider=mistral", "")
# Weights of each operation: the mixed load, and writes only (for the kill test).
MIXED = {"add": 14, "rename": 10, "activate": 8, "deactivate": 6, "delete": 8, "select": 10,
         "parameters": 10, "catalogue": 6, "sync": 16, "list": 8, "selected": 4}
WRITES = {"add": 30, "rename": 20, "activate": 15, "deactivate": 10, "delete": 15, "select": 5,
          "parameters": 5}
EXPECTED = {"add": {201}, "rename": {200}, "activate": {200}, "deactivate": {200},
            "delete": {204}, "select": {200}, "parameters": {200}, "catalogue": {200},
            "sync": {200, 304}, "list": {200}, "selected": {200, 404}}
TIMEOUT_S = 60


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    etag: str | None


def call(base: str, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> Answer | None:
    """One request on a new connection, with the harness's API token; None when no answer
    came (reset, closed)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
    sent = {"Accept": "application/json", "Authorization": f"Bearer {TEST_API_TOKEN}",
            **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw[:200]
    return Answer(response.status, parsed, response.getheader("ETag"))


@dataclass
class Key:
    """A key a client added: what it sent, the name it was last told, what is uncertain."""

    provider: str
    api_key: str
    name: str
    id: int | None = None  # None: the add got no answer
    maybe_names: set[str] = field(default_factory=set)
    deleted: bool = False
    maybe_deleted: bool = False

    @property
    def usable(self) -> bool:
        return self.id is not None and not self.deleted and not self.maybe_deleted


@dataclass
class Client:
    """One client's requests and its ledger of what the app answered."""

    number: int
    base: str
    model: str  # the model whose parameters only this client sets
    rng: random.Random
    keys: list[Key] = field(default_factory=list)
    maybe_added: list[Key] = field(default_factory=list)
    parameters: dict[str, Any] | None = None
    maybe_parameters: list[dict[str, Any]] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)
    maybe_selected: set[str] = field(default_factory=set)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    no_answer: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    acknowledged_writes: int = 0
    unanswered_writes: int = 0
    etag: str | None = None
    counter: int = 0
    pending: Key | None = None  # the key of the add in flight
    pending_model: str = ""  # the model of the select in flight

    def run(self, requests: int | None, mix: dict[str, int], done: threading.Event) -> None:
        """`requests` requests, or (None) requests until `done` is set."""
        operations, weights = list(mix), list(mix.values())
        sent = 0
        while (sent < requests) if requests is not None else not done.is_set():
            self.step(self.rng.choices(operations, weights)[0])
            sent += 1

    def own_key(self) -> Key | None:
        usable = [key for key in self.keys if key.usable]
        return self.rng.choice(usable) if usable else None

    def step(self, operation: str) -> None:
        key = self.own_key()
        if operation in ("rename", "activate", "deactivate", "delete") and key is None:
            operation = "add"
        self.counter += 1
        method, path, body, headers = self.request(operation, key)
        answer = call(self.base, method, path, body, headers)
        writes = operation in WRITES
        if answer is None:
            self.no_answer[operation] += 1
            self.unanswered_writes += writes
            self.unknown(operation, key, body)
            return
        self.statuses[(operation, answer.status)] += 1
        if answer.status not in EXPECTED[operation]:
            self.unexpected.append(f"client {self.number} {method} {path}: {answer.status} "
                                   f"{str(answer.body)[:200]}")
            return
        self.acknowledged_writes += writes
        self.acknowledged(operation, key, body, answer)

    def request(self, operation: str, key: Key | None) -> tuple[str, str, Any, dict]:
        n, rng = f"c{self.number}-{self.counter}", self.rng
        if operation == "add":
            self.pending = Key(rng.choice(PROVIDERS), f"sk-load-{n}-{rng.getrandbits(64):016x}",
                               f"key {n}")
            return "POST", "/api/config/api-keys", {
                "provider": self.pending.provider, "api_key": self.pending.api_key,
                "key_name": self.pending.name, "is_active": rng.random() < 0.7}, {}
        assert key is not None or operation not in ("rename", "activate", "deactivate",
                                                    "delete")
        if operation == "rename":
            return "PATCH", f"/api/config/api-keys/{key.id}", {"key_name": f"renamed {n}"}, {}
        if operation in ("activate", "deactivate"):
            return "PATCH", f"/api/config/api-keys/{key.id}", {
                "is_active": operation == "activate"}, {}
        if operation == "delete":
            return "DELETE", f"/api/config/api-keys/{key.id}", None, {}
        if operation == "select":
            self.pending_model = rng.choice(SELECT_MODELS)
            return "POST", f"/api/config/models/{self.pending_model}/select", None, {}
        if operation == "parameters":
            parameters = {"temperature": round(rng.uniform(0, 1), 3),
                          "max_tokens": rng.randint(1, 256)}
            if rng.random() < 0.5:
                parameters["top_p"] = round(rng.uniform(0, 1), 2)
            return "PUT", f"/api/config/models/{self.model}/parameters", parameters, {}
        if operation == "catalogue":
            return "GET", "/api/config/models" + rng.choice(CATALOGUE_QUERIES), None, {}
        if operation == "sync":
            headers = {"If-None-Match": self.etag} if self.etag and rng.random() < 0.5 else {}
            return "GET", "/api/config/sync", None, headers
        if operation == "list":
            return "GET", "/api/config/api-keys", None, {}
        return "GET", "/api/config/models/selected", None, {}

    def acknowledged(self, operation: str, key: Key | None, body: Any, answer: Answer) -> None:
        if operation == "add":
            self.pending.id = answer.body["id"]
            self.keys.append(self.pending)
        elif operation == "rename":
            key.name = body["key_name"]
            key.maybe_names.clear()
        elif operation in ("activate", "deactivate") and (
                answer.body["is_active"] != body["is_active"]):
            self.unexpected.append(f"client {self.number}: {operation} answered "
                                   f"is_active={answer.body['is_active']}")
        elif operation == "delete":
            key.deleted = True
        elif operation == "select":
            self.selected.add(answer.body["model"]["id"])
        elif operation == "parameters":
            self.parameters = body
            self.maybe_parameters.clear()
        elif operation == "sync":
            self.etag = answer.etag or self.etag

    def unknown(self, operation: str, key: Key | None, body: Any) -> None:
        """A write that got no answer: the ledger keeps both outcomes possible."""
        if operation == "add":
            self.maybe_added.append(self.pending)
        elif operation == "rename":
            key.maybe_names.add(body["key_name"])
        elif operation == "delete":
            key.maybe_deleted = True
        elif operation == "select":
            self.maybe_selected.add(self.pending_model)
        elif operation == "parameters":
            self.maybe_parameters.append(body)


class Team:
    """Clients running at once, each in its thread, and their ledgers."""

    def __init__(self, base: str, clients: int, seed: str, mix: dict[str, int],
                 models: list[str]) -> None:
        self.clients = [Client(number, base, models[number], random.Random(f"{seed}-{number}"))
                        for number in range(clients)]
        self.mix = mix
        self.done = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, requests: int | None = None) -> Team:
        """Share `requests` among the clients, or (None) run until `stop()`."""
        count = len(self.clients)
        for number, client in enumerate(self.clients):
            share = None if requests is None else (
                requests // count + (number < requests % count))
            self.threads.append(threading.Thread(target=client.run, daemon=True,
                                                 args=(share, self.mix, self.done)))
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> list[Client]:
        """Let every client finish its request in flight; their ledgers."""
        self.done.set()
        for thread in self.threads:
            thread.join()
        return self.clients


def run_clients(base: str, clients: int, requests: int, seed: str, mix: dict[str, int],
                models: list[str]) -> list[Client]:
    """`requests` requests from `clients` clients at once; each client's ledger."""
    team = Team(base, clients, seed, mix, models).start(requests)
    for thread in team.threads:
        thread.join()
    return team.clients


def owned_models(base: str, count: int) -> list[str]:
    """`count` OpenAI chat models whose limits take any of the clients' parameters."""
    answer = call(base, "GET", "/api/config/models?provider=openai")
    assert answer is not None and answer.status == 200
    models = sorted(model["id"] for model in answer.body["models"]
                    if (model["max_output_tokens"] or 4096) >= 256)
    assert len(models) >= count
    return models[:count]


def check_ledgers(store: Store, team: list[Client], revision_before: int) -> list[str]:
    """What the database holds against what the clients were told; the problems found."""
    problems: list[str] = []
    rows = store.rows()  # every row opens, bound to its row (else AssertionError)
    claimed: set[int] = set()
    for client in team:
        for key in client.keys:
            row = rows.get(key.id)
            if key.deleted and row is not None:
                problems.append(f"key {key.id}: deleted (204), still there" if (
                    row.api_key == key.api_key) else f"key {key.id}: deleted (204), its id "
                                                     "given to another key since")
            elif not key.deleted and not key.maybe_deleted and row is None:
                problems.append(f"key {key.id}: added (201), missing")
            if row is None or key.deleted:
                continue
            claimed.add(key.id)
            if (row.provider, row.api_key) != (key.provider, key.api_key):
                problems.append(f"key {key.id}: holds another key or provider")
            if row.key_name not in {key.name, *key.maybe_names}:
                problems.append(f"key {key.id}: named {row.key_name!r}, told {key.name!r}")
    maybe = {key.api_key: key for client in team for key in client.maybe_added}
    for row_id, row in rows.items():
        if row_id not in claimed and maybe.pop(row.api_key, None) is None:
            problems.append(f"key {row_id}: no client was told of it")
    configs = store.model_configs()
    for client in team:
        if client.parameters is not None:
            stored = configs.get(client.model, (False, {}))[1]
            if stored != client.parameters and stored not in client.maybe_parameters:
                problems.append(f"{client.model}: parameters {stored}, told {client.parameters}")
    defaults = [model for model, (default, _) in configs.items() if default]
    chosen = set().union(*(c.selected | c.maybe_selected for c in team))
    if chosen and (len(defaults) != 1 or defaults[0] not in chosen):
        problems.append(f"default models {defaults}, selected {sorted(chosen)}")
    moved = store.revision() - revision_before
    acknowledged = sum(client.acknowledged_writes for client in team)
    unanswered = sum(client.unanswered_writes for client in team)
    if not acknowledged <= moved <= acknowledged + unanswered:
        problems.append(f"the revision moved {moved} times for {acknowledged} acknowledged "
                        f"writes and {unanswered} unanswered ones")
    return problems


def summary(team: list[Client]) -> dict[str, Any]:
    """Figures of a run: requests by operation and status, 5xx, no answers, unexpected."""
    statuses: Counter[tuple[str, int]] = sum((c.statuses for c in team), Counter())
    no_answer: Counter[str] = sum((c.no_answer for c in team), Counter())
    return {
        "requests": sum(statuses.values()) + sum(no_answer.values()),
        "by_status": dict(sorted(Counter(status for _, status in statuses.elements()).items())),
        "5xx": sum(n for (_, status), n in statuses.items() if status >= 500),
        "no_answer": sum(no_answer.values()),
        "acknowledged_writes": sum(c.acknowledged_writes for c in team),
        "unanswered_writes": sum(c.unanswered_writes for c in team),
        "unexpected": [line for c in team for line in c.unexpected],
    }
