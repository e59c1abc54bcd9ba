"""ConfigApp in a host app (tests/host_app): configapp's API and pages under the host's
prefix, behind the host's login, next to the host's own table, routes and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text

from configapp import ConfigApp
from configapp.schema import VERSION_TABLE, head_revision, include_name
from configapp.settings import Settings
from tests.host_app import PREFIX, create_host_app, host_db

API = f"{PREFIX}/api/config"
KEY = {"provider": "openai", "api_key": "sk-host-" + "h0st" * 8, "key_name": "host"}


def dispose(app: Flask) -> None:
    with app.app_context():
        host_db.session.remove()
        host_db.engine.dispose()
        app.extensions["configapp"].database.engine.dispose()


@pytest.fixture
def host_url(make_settings, tmp_path: Path) -> str:
    """The host's database: configapp's own settings' database (a fresh PostgreSQL one, or
    a SQLite file of the host's)."""
    url = make_settings().database_url
    return url if not url.startswith("sqlite") else f"sqlite:///{tmp_path / 'host.db'}"


@pytest.fixture
def host_settings(make_settings) -> Settings:
    return make_settings()


def upgraded_host(host_url: str, settings: Settings, **options) -> Flask:
    """The host app after its deploy step: the host's migrations, then configapp's."""
    first = create_host_app(host_url, settings, **options)
    runner = first.test_cli_runner()
    for command in (["db", "upgrade"], ["config", "upgrade-schema"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    dispose(first)
    return create_host_app(host_url, settings, **options)


@pytest.fixture
def host(host_url: str, host_settings: Settings) -> Iterator[Flask]:
    app = upgraded_host(host_url, host_settings)
    yield app
    dispose(app)


def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", json={"user": "admin"}).status_code == 200
    return client


def test_configapp_and_the_host_work_side_by_side_in_one_database(host: Flask,
                                                                    host_url: str) -> None:
    client = signed_in(host)
    assert client.post("/notes", json={"text": "buy milk"}).status_code == 201
    added = client.post(f"{API}/api-keys", json=KEY)
    assert added.status_code == 201, added.get_json()
    assert client.get("/notes").get_json() == {"notes": ["buy milk"]}
    keys = client.get(f"{API}/api-keys").get_json()
    assert [key["key_name"] for key in keys] == ["host"]
    assert client.get(f"{PREFIX}/readyz").status_code == 200

    engine = create_engine(host_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"notes", "api_keys", "alembic_version", VERSION_TABLE} <= tables
        with engine.connect() as connection:
            # Each side's revision in its own table: neither moved the other's.
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == (
                "h001_notes")
            assert connection.scalar(text("SELECT version_num FROM configapp_alembic_version")) == (
                head_revision())
    finally:
        engine.dispose()


def test_the_hosts_autogenerate_leaves_configapps_tables_alone(host: Flask) -> None:
    """With configapp.schema.include_name (the host's env.py), the host's `flask db migrate`
    finds nothing to do; without it, it would drop configapp's tables."""
    with host.app_context(), host_db.engine.connect() as connection:
        filtered = MigrationContext.configure(connection, opts={"include_name": include_name})
        assert compare_metadata(filtered, host_db.metadata) == []
        unfiltered = MigrationContext.configure(connection)
        dropped = {diff[1].name for diff in compare_metadata(unfiltered, host_db.metadata)
                   if diff[0] == "remove_table"}
        assert {"api_keys", VERSION_TABLE} <= dropped


def test_the_hosts_login_decides_who_uses_configapp(host: Flask) -> None:
    stranger = host.test_client()
    for path in (f"{API}/api-keys", f"{API}/sync", f"{PREFIX}/settings", f"{PREFIX}/"):
        answer = stranger.get(path)
        assert answer.status_code == 401, path
    refused = stranger.post(f"{API}/api-keys", json=KEY)
    assert refused.status_code == 401
    assert "Sign in" in refused.get_json()["message"]
    assert stranger.post("/login", json={"user": "guest"}).status_code == 200
    assert stranger.get(f"{API}/api-keys").status_code == 401
    # Open to anyone: the host's routes, health, the API's description, the pages' files.
    for path in ("/notes", f"{PREFIX}/healthz", f"{PREFIX}/api/openapi.json",
                 f"{PREFIX}/assets/js/playground-client.js"):
        assert stranger.get(path).status_code == 200, path
    # A CORS preflight carries no credentials: answered without the host's login.
    preflight = stranger.options(f"{API}/api-keys")
    assert preflight.status_code == 200 and "POST" in preflight.headers["Allow"]
    admin = signed_in(host)
    assert admin.get(f"{API}/api-keys").status_code == 200
    assert admin.get(f"{PREFIX}/settings").status_code == 200


def test_configapp_answers_under_the_prefix_and_leaves_the_hosts_pages_alone(
        host: Flask) -> None:
    client = signed_in(host)
    with client.get(f"{PREFIX}/settings") as page:
        assert b'src="assets/js/settings-page.js"' in page.data  # relative: follows the prefix
        assert "Content-Security-Policy" in page.headers
    with client.get(f"{PREFIX}/assets/css/app.css") as style:
        assert style.mimetype == "text/css"
    spec = client.get(f"{PREFIX}/api/openapi.json").get_json()
    assert f"{API}/api-keys" in spec["paths"]
    assert client.get("/api/config/api-keys").status_code == 404  # nothing at the root
    # configapp's JSON errors and headers are its own; the host's answers stay the host's.
    missing = client.get(f"{API}/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == 404
    host_missing = client.get("/no-such-host-page")
    assert host_missing.status_code == 404
    assert host_missing.mimetype == "text/html"
    notes = client.get("/notes")
    assert "Content-Security-Policy" not in notes.headers
    # The host's requests are not subject to configapp's same-origin rule.
    cross_origin = client.post("/notes", json={"text": "n"},
                               headers={"Origin": "https://elsewhere.example"})
    assert cross_origin.status_code == 201


def test_configapp_on_a_database_of_its_own(host_url: str, host_settings: Settings,
                                            tmp_path: Path) -> None:
    own = f"sqlite:///{tmp_path / 'configapp-own.db'}"
    app = upgraded_host(host_url, host_settings, share_db=False, own_database_url=own)
    try:
        client = signed_in(app)
        assert client.post(f"{API}/api-keys", json=KEY).status_code == 201
        assert client.post("/notes", json={"text": "n"}).status_code == 201
    finally:
        dispose(app)
    host_engine, own_engine = create_engine(host_url), create_engine(own)
    try:
        assert "api_keys" not in inspect(host_engine).get_table_names()
        assert {"api_keys", VERSION_TABLE} <= set(inspect(own_engine).get_table_names())
        assert "notes" not in inspect(own_engine).get_table_names()
    finally:
        host_engine.dispose()
        own_engine.dispose()


def test_pages_can_be_left_out(host_url: str, host_settings: Settings) -> None:
    app = upgraded_host(host_url, host_settings, pages=False)
    try:
        client = signed_in(app)
        assert client.get(f"{PREFIX}/settings").status_code == 404
        assert client.get(f"{PREFIX}/assets/css/app.css").status_code == 404
        assert client.get(f"{API}/api-keys").status_code == 200
    finally:
        dispose(app)


def test_the_extension_refuses_a_confusing_setup(host_settings: Settings) -> None:
    with pytest.raises(ValueError, match="either db"):
        ConfigApp(db=host_db, database_url="sqlite://", settings=host_settings)
    with pytest.raises(ValueError, match="must start with '/'"):
        ConfigApp(url_prefix="llm", settings=host_settings)


def test_under_the_prefix_a_foreign_page_cannot_make_the_server_ask_the_providers(
        host: Flask) -> None:
    """The guard of the provider-calling GETs (live, refresh) holds under the host's prefix
    too: the admin's browser, signed in to the host, visiting another site."""
    admin = signed_in(host)
    for query in ("live=true", "refresh=1"):
        foreign = admin.get(f"{API}/models?{query}", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403, foreign.get_json()
        assert "allowed only from this server's own pages" in foreign.get_json()["message"]
        cross_site = admin.get(f"{API}/models?{query}", headers={"Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403
    own_page = admin.get(f"{API}/models?live=true", headers={"Sec-Fetch-Site": "same-origin"})
    assert own_page.status_code == 200, own_page.get_json()


def test_mounted_at_the_root_configapp_guards_its_api_and_leaves_the_hosts_routes_alone(
        host_url: str, host_settings: Settings) -> None:
    """ConfigApp's default url_prefix is "": its safety net covers its own API and pages,
    not every path of the host."""
    app = upgraded_host(host_url, host_settings, prefix="")
    client = signed_in(app)
    foreign = {"Origin": "https://elsewhere.example"}
    notes = client.post("/notes", json={"text": "n"}, headers=foreign)
    assert notes.status_code == 201  # the host's route: not configapp's same-origin rule
    assert "Content-Security-Policy" not in client.get("/notes").headers
    refused = client.post("/api/config/api-keys", json=KEY, headers=foreign)
    assert refused.status_code == 403  # configapp's own route, at the root
    assert client.get("/api/config/api-keys").get_json() == []
    assert "Content-Security-Policy" in client.get("/api/config/api-keys").headers
    # A path under /api/ that no route takes is still configapp's: its headers, its Host rule.
    missing = client.get("/api/config/nothing-here")
    assert missing.status_code == 404 and "Content-Security-Policy" in missing.headers
    assert client.get("/api/config/nothing-here",
                      headers={"Host": "attacker.example"}).status_code == 400
    assert client.get("/notes", headers={"Host": "attacker.example"}).status_code == 200
    dispose(app)


def test_configapp_limits_its_request_bodies_in_a_host_without_a_limit(host: Flask) -> None:
    """The host sets no MAX_CONTENT_LENGTH: configapp's routes still refuse a body over
    CONFIGAPP_MAX_REQUEST_BYTES with a 413, and the host's routes keep the host's rule."""
    assert host.config.get("MAX_CONTENT_LENGTH") is None
    client = signed_in(host)
    limit = host.extensions["configapp"].settings.security.max_request_bytes
    too_big = {**KEY, "key_name": "x" * (limit + 1)}
    refused = client.post(f"{API}/api-keys", json=too_big)
    assert refused.status_code == 413, refused.get_data(as_text=True)[:200]
    assert client.get(f"{API}/api-keys").get_json() == []
    assert client.post("/notes", json={"text": "n", "pad": "x" * (limit + 1)}).status_code == 201


def test_a_security_header_a_view_set_itself_is_kept_and_not_doubled(host: Flask) -> None:
    """configapp adds its security headers to every answer under its prefix, but one a view
    set itself (here a host's page there that its own site may frame) stays the only one."""

    @host.get(f"{PREFIX}/host-frame")
    def host_frame():
        return "framed", 200, {"X-Frame-Options": "SAMEORIGIN"}

    answer = signed_in(host).get(f"{PREFIX}/host-frame")
    assert answer.status_code == 200
    assert answer.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert "Content-Security-Policy" in answer.headers  # the others are still added
