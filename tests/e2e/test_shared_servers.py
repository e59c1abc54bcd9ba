"""What lets tests share a served app (tests/e2e/shared_servers.py): after a reset, the
database holds what it held just after the start, the sync revision has moved on rather
than back, and new rows get new ids."""

from __future__ import annotations

import pytest

from tests.e2e.shared_servers import SharedServers, database_of, read_rows

pytestmark = pytest.mark.e2e

MODEL = "openai/gpt-4o-mini"


def revision(server) -> str:
    status, snapshot = server.api("GET", "/api/config/sync")
    assert status == 200
    return snapshot["revision"]


def test_a_reset_puts_every_table_back_and_moves_the_revision_on(
        shared_servers: SharedServers):
    server = shared_servers.get()
    started = read_rows(database_of(server))
    before = revision(server)
    status, key = server.api("POST", "/api/config/api-keys",
                             {"provider": "openai", "api_key": "sk-shared-reset-0001"})
    assert status == 201
    for method, path, body in [
            ("POST", f"/api/config/models/{MODEL}/select", None),
            ("PUT", f"/api/config/models/{MODEL}/parameters", {"temperature": 0.2}),
            ("PUT", "/api/config/budgets/provider/openai", {"monthly_limit": 5}),
            ("PUT", "/api/config/aliases/fast", {"model": MODEL}),
            ("PATCH", "/api/config/curation/openai", {"hide": ["openai/gpt-4o"]}),
            ("POST", "/api/config/clients", {"name": "reset-me", "monthly_limit": 5})]:
        assert server.api(method, path, body)[0] in (200, 201), path
    assert read_rows(database_of(server)) != started
    changed = revision(server)

    shared_servers.reset(server, "a test of the reset")

    assert shared_servers.get() is server  # kept: nothing retires it
    assert read_rows(database_of(server)) == started
    assert server.api("GET", "/api/config/api-keys") == (200, [])
    assert server.api("GET", "/api/config/models/selected")[0] == 404
    assert server.api("GET", "/api/config/clients") == (200, [])
    # The revision moves on: an ETag the test's changes made (an extension's cached copy)
    # is not current for the content put back.
    after = revision(server)
    assert after != changed
    assert int(after.split("-")[1]) > int(changed.split("-")[1]) > int(before.split("-")[1])
    _, again = server.api("POST", "/api/config/api-keys",
                          {"provider": "openai", "api_key": "sk-shared-reset-0002"})
    assert again["id"] > key["id"]
    shared_servers.reset(server, "a test of the reset")
