"""Client tokens' rules against fakes: the token shown once and kept hashed, the whole token
compared, the input refused with a reason, the models a client may name, and its budget
read from the ledger's month for that client."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from configapp.access.clients import TOKEN_PREFIX, ClientInputError, ClientService
from configapp.chat.usage import BudgetExceededError, UsageEntry, UsageService
from configapp.domain import ModelNotFoundError
from tests.fakes import FakeClientStorage
from tests.unit.test_usage import FakeLedger

KNOWN = {"openai/gpt-4o-mini", "anthropic/claude-3-5-haiku", "fast"}


def check_model(name: str) -> str:
    if name not in KNOWN:
        raise ModelNotFoundError(f"Unknown model '{name}'.")
    return name


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def storage() -> FakeClientStorage:
    return FakeClientStorage()


@pytest.fixture
def service(storage, ledger) -> ClientService:
    usage = UsageService(ledger, lambda: frozenset({"openai"}), lambda _key: False)
    return ClientService(storage, check_model, usage)


def spend(ledger: FakeLedger, client_id: int | None, cost: float,
          when: datetime | None = None) -> None:
    ledger.entries.append(UsageEntry(
        model="openai/gpt-4o-mini", provider="openai", key_id=1, key_source="database",
        purpose=None, outcome="finished", prompt_tokens=10, completion_tokens=5,
        tokens_counted=False, cost=cost, created_at=when or datetime.now(UTC),
        client_id=client_id))


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(service, storage):
    client, token = service.create("open-webui")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    ((kept, hashed),) = storage.rows.values()
    assert hashed == hashlib.sha256(token.encode()).hexdigest() and token not in repr(kept)
    assert service.authenticate(token) == client
    assert all(token not in str(value) for value in service.clients()[0].values())
    assert service.create("other")[1] != token


def test_only_the_whole_token_authenticates(service):
    client, token = service.create("scripts")
    for wrong in (token[:-1], token + "x", token[len(TOKEN_PREFIX):], token.upper(), "",
                  TOKEN_PREFIX, "cfgc_" + "a" * 10_000):
        assert service.authenticate(wrong) is None, wrong
    assert service.authenticate(token).id == client.id


def test_a_deleted_clients_token_stops_working(service):
    client, token = service.create("ide")
    service.delete(client.id)
    assert service.authenticate(token) is None
    assert service.clients() == []


@pytest.mark.parametrize(("name", "models", "limit", "field"), [
    ("", None, None, "name"),
    ("   ", None, None, "name"),
    ("x" * 65, None, None, "name"),
    ("tab\there", None, None, "name"),
    ("ok", ["openai/nope"], None, "models"),
    ("ok", [], None, "models"),
    ("ok", None, 0, "monthly_limit"),
    ("ok", None, -5, "monthly_limit"),
    ("ok", None, float("nan"), "monthly_limit"),
    ("ok", None, float("inf"), "monthly_limit"),
    ("ok", None, True, "monthly_limit"),
])
def test_bad_input_is_refused_by_field_and_nothing_is_made(service, storage, name, models,
                                                           limit, field):
    with pytest.raises(ClientInputError) as refused:
        service.create(name, models, limit)
    assert field in refused.value.errors and "Nothing was changed" in str(refused.value)
    assert storage.rows == {}


def test_every_unknown_model_is_named_in_the_refusal(service):
    with pytest.raises(ClientInputError) as refused:
        service.create("ok", ["fast", "openai/nope", "mystery"])
    assert refused.value.errors["models"] == ["Unknown model or alias 'openai/nope'.",
                                              "Unknown model or alias 'mystery'."]


def test_a_client_may_name_only_what_it_lists_as_it_was_asked(service):
    limited, _ = service.create("limited", ["fast", "openai/gpt-4o-mini", "fast"])
    everything, _ = service.create("everything")
    assert limited.models == ("fast", "openai/gpt-4o-mini")
    assert service.allows(limited, "fast") and service.allows(limited, "openai/gpt-4o-mini")
    assert not service.allows(limited, "anthropic/claude-3-5-haiku")
    assert service.allows(everything, "anthropic/claude-3-5-haiku")


def test_update_changes_only_the_fields_sent_and_checks_them(service):
    client, _ = service.create("ide", ["fast"], 5)
    renamed = service.update(client.id, {"name": "ide-2"})
    assert (renamed.name, renamed.models, renamed.monthly_limit) == ("ide-2", ("fast",), 5.0)
    opened = service.update(client.id, {"models": None, "monthly_limit": None})
    assert (opened.models, opened.monthly_limit) == (None, None)
    with pytest.raises(ClientInputError):
        service.update(client.id, {"models": ["nope"], "name": "ide-3"})
    with pytest.raises(ClientInputError):
        service.update(client.id, {"token": "x"})
    assert service.clients()[0]["name"] == "ide-2"


def test_the_budget_is_the_clients_own_spending_this_month(service, ledger):
    client, _ = service.create("capped", monthly_limit=1.0)
    other, _ = service.create("other")
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=1)
    spend(ledger, client.id, 5.0, last_month)  # another month
    spend(ledger, other.id, 5.0)  # another client
    spend(ledger, None, 5.0)  # the API token
    spend(ledger, client.id, 0.6)
    service.check_budget(client)
    spend(ledger, client.id, 0.4)
    with pytest.raises(BudgetExceededError) as refused:
        service.check_budget(client)
    assert "client capped" in str(refused.value)
    assert refused.value.errors["budget"]["scope"] == "client"
    service.check_budget(other)  # no limit of its own


def test_the_list_shows_each_clients_spending_this_month(service, ledger):
    client, _ = service.create("ide")
    spend(ledger, client.id, 0.25)
    spend(ledger, None, 3.0)
    ((shown),) = service.clients()
    assert shown["spent"] == pytest.approx(0.25) and shown["name"] == "ide"
