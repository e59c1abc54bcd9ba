"""The rules the database enforces, tested on the database (SQLite and PostgreSQL).

One active key per provider and one default model are kept by the storage adapter's swaps
and guaranteed by the migrations' unique partial indexes; the revision moves with every
change of the settings. The unit tests' fakes do not hold these rules, so they are tested
here, through the real adapter and the real schema.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import IntegrityError

from configapp.domain import ApiKeyNotFoundError, NewApiKey


@pytest.fixture
def parts(app):
    with app.app_context():
        yield app.extensions["configapp"]


def add(parts, provider="openai", key="sk-rules-00001111", active=True):
    return parts.config.add_api_key(NewApiKey(provider, key, is_active=active))


def active_ids(parts) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for record in parts.storage.list_api_keys():
        if record.is_active:
            found.setdefault(record.provider, []).append(record.id)
    return found


def test_adding_an_active_key_makes_it_the_only_active_key_of_its_provider(parts):
    first = add(parts)
    other = add(parts, "anthropic", "sk-ant-rules-2222")
    second = add(parts, key="sk-rules-00003333")
    assert active_ids(parts) == {"openai": [second.id], "anthropic": [other.id]}
    assert parts.config.resolve_key("openai").key_id == second.id
    assert not parts.storage.get_api_key(first.id).is_active


def test_activating_a_key_deactivates_only_the_others_of_its_provider(parts):
    first = add(parts)
    other = add(parts, "anthropic", "sk-ant-rules-2222")
    add(parts, key="sk-rules-00003333")
    assert parts.config.update_api_key(first.id, is_active=True).is_active
    assert active_ids(parts) == {"openai": [first.id], "anthropic": [other.id]}
    parts.config.update_api_key(first.id, is_active=False)
    assert active_ids(parts) == {"anthropic": [other.id]}


def test_renaming_or_deactivating_an_inactive_key_leaves_the_active_one_active(parts):
    inactive = add(parts)
    active = add(parts, key="sk-rules-00003333")
    parts.config.update_api_key(inactive.id, key_name="old laptop")
    parts.config.update_api_key(inactive.id, is_active=False)
    assert active_ids(parts) == {"openai": [active.id]}
    assert parts.storage.get_api_key(inactive.id).key_name == "old laptop"


def test_keys_are_listed_by_provider_then_by_age(parts):
    """By age, not by the order rows happen to be stored in: on PostgreSQL an updated row's
    new version is stored after the others, so a change must not move a key down."""
    added = [add(parts, provider, f"sk-order-{n:08d}", active=False).id
             for n, provider in enumerate(("openai", "anthropic", "openai", "anthropic"))]
    parts.config.update_api_key(added[0], key_name="renamed")
    parts.config.update_api_key(added[1], key_name="renamed")
    listed = [(record.provider, record.id) for record in parts.storage.list_api_keys()]
    assert listed == [("anthropic", added[1]), ("anthropic", added[3]),
                      ("openai", added[0]), ("openai", added[2])]


def test_the_tokens_are_listed_by_id_even_after_a_change(parts):
    """check-key reports its rows, and rotate-key names the first 20 no key opens, in id
    order: not in the order rows happen to be stored in (an update moves a row on
    PostgreSQL)."""
    added = [add(parts, key=f"sk-rules-{n:08d}", active=False).id for n in range(3)]
    parts.config.update_api_key(added[0], key_name="renamed")
    assert [record.id for record, _token in parts.storage.list_encrypted_keys()] == added


def test_a_key_deleted_after_its_row_was_read_is_not_found_and_says_which(parts):
    """reveal() reads the row, then its token: a key deleted in between (another request)
    is the same 404 as any missing key, with words that name it."""
    record = parts.storage.get_api_key(add(parts).id)
    parts.config.delete_api_key(record.id)
    with pytest.raises(ApiKeyNotFoundError, match=rf"^No API key with id {record.id}\.$"):
        parts.config.reveal(record)


def test_activating_a_key_dates_the_change_of_the_key_it_switched_off(parts):
    """updated_at says when each key last changed: the one switched off by another's
    activation changed then; an inactive one left alone did not."""
    switched_off = add(parts, key="sk-rules-00004444")
    idle = add(parts, key="sk-rules-00005555", active=False)
    chosen = add(parts, key="sk-rules-00006666", active=False)
    idle_since = parts.storage.get_api_key(idle.id).updated_at
    parts.config.update_api_key(chosen.id, is_active=True)
    assert parts.storage.get_api_key(switched_off.id).updated_at > switched_off.updated_at
    assert parts.storage.get_api_key(idle.id).updated_at == idle_since


def test_an_unknown_key_id_is_refused_in_words(client):
    for method in ("patch", "delete"):
        answer = getattr(client, method)("/api/config/api-keys/987654", json={"key_name": "x"})
        assert answer.status_code == 404
        assert answer.get_json()["message"] == "No API key with id 987654."
    tested = client.post("/api/config/api-keys/987654/test")
    assert tested.status_code == 404 and "987654" in tested.get_json()["message"]


def test_a_model_outside_the_catalogue_with_a_stored_row_is_known_to_every_process(
        client, settings):
    """A model only a provider lists, configured through another process or instance (its
    row is all this process has), can be tuned and chosen here."""
    model_id = "openrouter/acme/fine-tune:2026"
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO model_configs (model_id, provider, is_default, parameters, "
            "created_at, updated_at) VALUES (:model, 'openrouter', false, '{}', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"model": model_id})
    engine.dispose()
    assert client.post("/api/config/models/openrouter/acme/fine-tune:2027/select"
                       ).status_code == 404
    tuned = client.put(f"/api/config/models/{model_id}/parameters", json={"temperature": 0.4})
    assert tuned.status_code == 200, tuned.get_json()
    chosen = client.post(f"/api/config/models/{model_id}/select")
    assert chosen.status_code == 200, chosen.get_json()
    selected = client.get("/api/config/models/selected").get_json()
    assert selected["model"]["id"] == model_id and selected["model"]["provider"] == "openrouter"
    assert selected["model"]["display_name"] == "acme/fine-tune:2026"  # its provider's name
    assert selected["parameters"] == {"temperature": 0.4}
    assert selected["is_default"] is True and selected["updated_at"] is not None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode_waits_for_locks_and_begins_writes_immediately(parts):
    """What lets several workers share one SQLite file: readers beside a writer (WAL), a
    writer that waits for the lock instead of failing (busy_timeout), and writes that take
    the lock at BEGIN (no deadlock upgrading a read), with foreign keys enforced."""
    engine = parts.storage.database.engine
    with engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")}
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 10000, "synchronous": 1,
                       "foreign_keys": 1}
    with engine.connect().execution_options(configapp_immediate=True) as connection:
        statements: list[str] = []
        event.listen(connection, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        with connection.begin():
            connection.exec_driver_sql("SELECT 1")
    assert "BEGIN IMMEDIATE" in statements


def test_selecting_a_model_leaves_exactly_one_default(parts):
    for model in ("openai/gpt-4o-mini", "gemini/gemini-2.5-flash", "openai/gpt-4o-mini"):
        parts.config.select_model(model)
        model_info, config = parts.config.selected_model()
        assert model_info.id == model and config.is_default
    parts.config.set_parameters("anthropic/claude-sonnet-4-5", {"temperature": 0.5})
    engine = create_engine(parts.settings.database_url)
    with engine.connect() as connection:
        defaults = connection.execute(text(
            "SELECT model_id FROM model_configs WHERE is_default")).scalars().all()
    engine.dispose()
    assert defaults == ["openai/gpt-4o-mini"]


@pytest.mark.parametrize("statement", [
    "UPDATE api_keys SET is_active = :yes",
    "UPDATE model_configs SET is_default = :yes",
], ids=["two-active-keys", "two-defaults"])
def test_the_schema_itself_refuses_a_second_active_key_or_default(parts, statement):
    """Whatever writes to the database (a bug, another tool), the indexes hold the rule."""
    add(parts)
    add(parts, key="sk-rules-00003333", active=False)
    parts.config.select_model("openai/gpt-4o-mini")
    parts.config.set_parameters("gemini/gemini-2.5-flash", {"temperature": 0.5})
    engine = create_engine(parts.settings.database_url)
    try:
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(statement), {"yes": True})
    finally:
        engine.dispose()


def test_every_change_of_the_settings_moves_the_revision_and_nothing_else_does(parts):
    config = parts.config
    seen = [config.revision()]

    def moved() -> bool:
        seen.append(config.revision())
        return seen[-1] != seen[-2]

    record = add(parts)
    assert moved()
    config.update_api_key(record.id, key_name="work")
    assert moved()
    config.update_api_key(record.id, is_active=False)
    assert moved()
    config.select_model("openai/gpt-4o-mini")
    assert moved()
    config.set_parameters("openai/gpt-4o-mini", {"temperature": 0.2})
    assert moved()
    config.update_api_key(record.id, is_active=True)
    assert moved()
    config.resolve_key("openai")  # sets last_used_at: not a change of the settings
    config.stored_key(record.id)
    config.snapshot()
    config.update_api_key(record.id)  # an empty PATCH changes nothing
    assert not moved()
    config.delete_api_key(record.id)
    assert moved()
    assert len(set(seen)) == len(seen) - 1  # never back to an earlier value


def test_reads_together_share_one_transaction_and_leave_none_open(parts):
    """A chat's plan reads in one transaction; each other read, and the plan once done,
    leave no read transaction open (a WAL checkpoint or a vacuum would wait on it)."""
    key = add(parts)
    session = parts.storage.session
    parts.storage.active_api_key("openai")
    assert not session.in_transaction()
    with parts.storage.reads_together():
        parts.storage.active_api_key("openai")
        assert session.in_transaction()
        transaction = session.get_transaction()
        parts.storage.list_api_keys()
        assert session.get_transaction() is transaction
        parts.config.resolve_key("openai")  # its write (last used) commits on its own
        parts.storage.list_api_keys()
    assert not session.in_transaction()
    assert parts.storage.get_api_key(key.id).last_used_at is not None
