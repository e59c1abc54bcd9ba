"""Two app instances (two gunicorns, two workers each) on one PostgreSQL database.

A change made through one is seen by the other on its very next request: keys (list,
provider overview, configured catalogue, chat), the default model, its parameters, and the
sync ETag. No instance keeps a copy of the settings: every request reads the database.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from configapp.settings import Settings
from tests.conftest import fresh_postgres_database, upgrade_postgres
from tests.e2e.harness import Server, start_server
from tests.provider_stub import ProviderStub

KEYS = "/api/config/api-keys"
MODEL, OTHER = "openai/gpt-4o-mini", "openai/gpt-4o"
ROUNDS = 3


def sync(server: Server, etag: str | None = None) -> tuple[int, str | None]:
    """(status, ETag) of the sync, conditional on `etag` when given."""
    headers = {"Authorization": f"Bearer {server.token}"}
    if etag:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(server.url + "/api/config/sync", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["ETag"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["ETag"]


def openai_source(server: Server) -> str | None:
    _, providers = server.api("GET", "/api/config/providers")
    return next(p["key_source"] for p in providers if p["name"] == "openai")


def configured(server: Server) -> bool:
    """Whether the configured catalogue lists the default model's provider."""
    _, catalogue = server.api("GET", "/api/config/models?configured=true&provider=openai")
    return catalogue["count"] > 0


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres_server: str,
         fernet_key: str) -> Iterator[tuple[Server, Server]]:
    """Two gunicorns on one fresh PostgreSQL database, for the whole module."""
    url = fresh_postgres_database(postgres_server)
    folder = tmp_path_factory.mktemp("twins")
    upgrade_postgres(Settings(data_dir=folder / "data", database_url=url,
                              encryption_keys=(fernet_key,), env_file=folder / ".env",
                              config_file=folder / "none.yaml"))
    env = {"CONFIGAPP_DATABASE_URL": url, "ENCRYPTION_KEY": fernet_key,
           "CONFIGAPP_WORKERS": "2"}
    servers = [start_server(tmp_path_factory.mktemp("twin"), env) for _ in range(2)]
    yield servers[0], servers[1]
    for server in servers:
        server.stop(wait=False)
    for server in servers:
        server.reap()


def mine(keys: list[dict], key: dict) -> list[tuple]:
    return [(k["id"], k["key_name"], k["is_active"]) for k in keys if k["id"] == key["id"]]


def test_keys_changed_through_one_are_seen_by_the_other_at_once(pair):
    for one, other in [pair, pair[::-1]] * ROUNDS:
        status, key = one.api("POST", KEYS, {"provider": "openai",
                                             "api_key": "sk-twin-0000abcd", "key_name": "a"})
        assert status == 201
        assert mine(other.api("GET", KEYS)[1], key) == [(key["id"], "a", True)]
        assert other.api("PATCH", f"{KEYS}/{key['id']}", {"key_name": "b"})[0] == 200
        assert mine(one.api("GET", KEYS)[1], key) == [(key["id"], "b", True)]
        assert openai_source(one) == "database" and configured(one)
        assert one.api("PATCH", f"{KEYS}/{key['id']}", {"is_active": False})[0] == 200
        assert openai_source(other) is None and not configured(other)
        assert other.api("DELETE", f"{KEYS}/{key['id']}")[0] == 204
        assert one.api("PATCH", f"{KEYS}/{key['id']}", {"key_name": "c"})[0] == 404
        assert mine(one.api("GET", KEYS)[1], key) == []


def test_the_default_model_and_its_parameters_are_seen_by_the_other_at_once(pair):
    for round_number in range(ROUNDS):
        for one, other in (pair, pair[::-1]):
            for model in (MODEL, OTHER):
                assert one.api("POST", f"/api/config/models/{model}/select")[0] == 200
                status, selected = other.api("GET", "/api/config/models/selected")
                assert (status, selected["model"]["id"]) == (200, model)
                parameters = {"temperature": round(0.1 * (round_number + 1), 1),
                              "max_tokens": 100 + round_number}
                path = f"/api/config/models/{model}/parameters"
                assert other.api("PUT", path, parameters)[0] == 200
                assert one.api("GET", "/api/config/models/selected")[1]["parameters"] == (
                    parameters)


def test_the_sync_etag_moves_on_both_at_the_next_request(pair):
    for writer, reader in [pair, pair[::-1]] * ROUNDS:
        status, etag = sync(reader)
        assert status == 200 and sync(writer)[1] == etag
        assert sync(reader, etag)[0] == 304
        assert writer.api("POST", KEYS, {"provider": "anthropic",
                                         "api_key": "sk-ant-twin-0000"})[0] == 201
        status, moved = sync(reader, etag)
        assert status == 200 and moved != etag
        assert sync(writer)[1] == moved


def test_a_chat_on_one_uses_the_key_saved_or_deleted_through_the_other(pair):
    stub = ProviderStub().start()
    try:
        one, other = pair
        assert one.api("POST", f"/api/config/models/{MODEL}/select")[0] == 200
        for number in range(ROUNDS):
            writer, chatter = (one, other) if number % 2 == 0 else (other, one)
            api_key = f"sk-twin-chat-{number:04d}"
            status, key = writer.api("POST", KEYS, {"provider": "openai", "api_key": api_key,
                                                    "api_base": stub.base("openai")})
            assert status == 201
            message = {"messages": [{"role": "user", "content": "hello"}]}
            assert chatter.api("POST", "/api/chat", message)[0] == 200
            assert stub.requests[-1].key == api_key
            assert writer.api("DELETE", f"{KEYS}/{key['id']}")[0] == 204
            assert chatter.api("POST", "/api/chat", message)[0] == 409
    finally:
        stub.stop()


def test_a_model_only_the_provider_lists_chosen_through_one_works_on_the_other(pair):
    """Each process learns such a model when it asks the provider (`?live=true`); once
    chosen through one, the others must take its parameters and chats by name too."""
    stub = ProviderStub().start()
    one, other = pair
    model = "openai/stub-local-llama"
    status, key = one.api("POST", KEYS, {"provider": "openai", "api_key": "sk-twin-live-01",
                                         "api_base": stub.base("openai")})
    assert status == 201
    try:
        live = one.api("GET", "/api/config/models?live=true&provider=openai")[1]
        assert model in {m["id"] for m in live["models"]}
        assert one.api("POST", f"/api/config/models/{model}/select")[0] == 200
        assert other.api("GET", "/api/config/models/selected")[1]["model"]["id"] == model
        path = f"/api/config/models/{model}/parameters"
        assert other.api("PUT", path, {"temperature": 0.3})[0] == 200
        assert one.api("GET", "/api/config/models/selected")[1]["parameters"] == {
            "temperature": 0.3}
        assert other.api("POST", f"/api/config/models/{model}/select")[0] == 200
        message = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        assert other.api("POST", "/api/chat", message)[0] == 200
    finally:
        other.api("DELETE", f"{KEYS}/{key['id']}")
        stub.stop()
