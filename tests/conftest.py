"""Shared fixtures: settings on a temporary data folder, the app on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from configapp import create_app
from configapp.access.gate import COOKIE_PREFIX
from configapp.settings import SecuritySettings, Settings
from tests.head_templates import copy_sqlite_at_head, create_postgres_at_head

pytest_plugins = ["tests.network_guard", "tests.provider_stub.fixtures", "tests.secret_watch",
                  "tests.skip_gate"]

# Hypothesis's per-example deadline is a timing assertion: a loaded machine failed a rule
# test on it (255 ms for one mask). Speed is measured by bench/, never asserted by tests.
hypothesis_settings.register_profile("configapp", deadline=None)
hypothesis_settings.load_profile("configapp")

POSTGRES_URL = os.environ.get("CONFIGAPP_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]
CANARY_KEY = "sk-canary-" + "c4n4ry" * 5 + "Zq9W"
# The API token of every app the suite starts unless a test says otherwise (in-process apps
# through make_settings, gunicorns through tests/e2e/harness.py), and sent by default.
TEST_API_TOKEN = "t3st-T0ken-" + "Qw8rTy2u" * 4


class SignedInClient(FlaskClient):
    """The suite's test client, signed in, so that a test of anything but authentication
    need not think of it: it sends the app's configured API token as a bearer token (a
    test's own Authorization header wins; an empty one sends none), or, when the token is
    the one the app made at its first start, carries a valid session cookie and sends its
    secret (`signed_out()` drops both)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        parts = self.application.extensions.get("configapp")
        if parts is None or not parts.gate.enabled:
            return
        if parts.settings.security.api_token:
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {parts.settings.security.api_token}"
            return
        with self.application.app_context():
            state = parts.gate.tokens.current()
        if state is not None:
            cookie, secret = parts.gate.sessions.start(state)
            self.set_cookie(f"{COOKIE_PREFIX}_80", cookie)
            self.environ_base["HTTP_X_CONFIGAPP_SESSION"] = secret

    def signed_out(self) -> SignedInClient:
        self.environ_base.pop("HTTP_AUTHORIZATION", None)
        self.environ_base.pop("HTTP_X_CONFIGAPP_SESSION", None)
        self.delete_cookie(f"{COOKIE_PREFIX}_80")
        return self


# Every `app.test_client()` of the suite, the fixtures' and the tests' own.
Flask.test_client_class = SignedInClient


@pytest.fixture(scope="session")
def postgres_server() -> str:
    if not POSTGRES_URL:
        pytest.skip("CONFIGAPP_TEST_DATABASE_URL is not set: run under scripts/with-postgres "
                    "(as `make test` does) to test on PostgreSQL too")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


FUZZ_DATABASE_PREFIX = "configapp_fuzz_"
# The databases this process made: a pytest-xdist worker's secret watch dumps these.
CREATED_DATABASES: list[str] = []


def fresh_postgres_database(server_url: str, prefix: str = "configapp_test_",
                            at_head: bool = False) -> str:
    """A new, empty database on the test server; its URL. (The fuzzer's are named apart:
    the secret watch learns no key from them, see tests/secret_watch.py.) at_head: with
    the schema at head instead, copied from a template migrated once (tests/head_templates.py),
    as `upgrade_postgres` would leave it."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    if at_head:
        create_postgres_at_head(server_url, name)
    else:
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    CREATED_DATABASES.append(name)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def upgrade_postgres(settings: Settings) -> None:
    """What an operator does before the first start: `flask --app wsgi db upgrade`."""
    result = create_app(settings).test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def stopping_servers() -> Iterator[list]:
    """gunicorn servers told to stop (tests/e2e/harness.py), waited for at the end of the
    session: a gunicorn takes a second or more to exit, overlapped with the tests after."""
    stopping: list = []
    yield stopping
    for server in stopping:
        server.reap()


@pytest.fixture
def make_server(tmp_path_factory: pytest.TempPathFactory, stopping_servers: list):
    """make_server(env={...}) -> a started gunicorn (tests/e2e/harness.py) with a fresh data
    folder; stopped after."""
    from tests.e2e.harness import start_fresh

    started: list = []

    def start(env: dict[str, str] | None = None):
        server = start_fresh(tmp_path_factory.mktemp("server"), env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(wait=False)
        stopping_servers.append(server)


@pytest.fixture(scope="session")
def shared_servers(tmp_path_factory: pytest.TempPathFactory, stopping_servers: list):
    """The session's shared servers, one per environment (tests/e2e/shared_servers.py)."""
    from tests.e2e.harness import start_fresh
    from tests.e2e.shared_servers import SharedServers

    def retire(server) -> None:
        server.stop(wait=False)
        stopping_servers.append(server)

    servers = SharedServers(lambda env: start_fresh(tmp_path_factory.mktemp("shared"), env),
                            retire)
    yield servers
    servers.close()


@pytest.fixture
def shared_server(shared_servers, request: pytest.FixtureRequest):
    """shared_server(env={...}) -> the shared gunicorn of that environment, as it was just
    after its start; put back so after the test (or retired, see shared_servers.py)."""
    used: list = []

    def get(env: dict[str, str] | None = None):
        server = shared_servers.get(env)
        if not any(server is known for known in used):
            used.append(server)
        return server

    yield get
    for server in used:
        shared_servers.reset(server, request.node.nodeid)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest,
                  fernet_key: str):
    """A factory of Settings on this test's data folder and database.
    `make_settings.at_head(**overrides)`: the same, with the schema at head on PostgreSQL
    (SQLite's is migrated by the app's start, or copied by the `app` fixture)."""
    server_url = request.getfixturevalue("postgres_server") if backend == "postgresql" else ""
    database: dict[str, str] = {}  # made at the first build: empty, or at head

    def database_url(at_head: bool) -> str:
        if server_url and "url" not in database:
            database["url"] = fresh_postgres_database(server_url, at_head=at_head)
        return database.get("url", "")

    def build(_at_head: bool = False, **overrides) -> Settings:
        values = {
            "data_dir": tmp_path / "data",
            "database_url": database_url(_at_head),
            "env_file": tmp_path / ".env",
            "config_file": tmp_path / "default.yaml",
            "provider_env": {},
            "security": SecuritySettings(api_token=TEST_API_TOKEN),
        }
        if backend == "postgresql":
            values["encryption_keys"] = (fernet_key,)
        values.update(overrides)
        return Settings(**values)

    def build_at_head(**overrides) -> Settings:
        fresh = server_url != "" and "url" not in database
        built = build(True, **overrides)
        if not built.is_sqlite and not (fresh and built.database_url == database["url"]):
            upgrade_postgres(built)
        return built

    build.at_head = build_at_head
    return build


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings.at_head()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    copy_sqlite_at_head(settings)  # the start's migration, done once (tests/head_templates.py)
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        from configapp.records import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


# The tests that take tens of seconds each, longest first, ahead of the rest (issue 32).
# pytest-xdist's worksteal gives each worker a contiguous part of this order and an idle
# worker steals from the end of another's: a long test near the end would keep one worker
# busy while the other waits. The order changes nothing else: each test sets up its own.
LONG_TESTS_FIRST = ("tests/integration/test_rotation_kill.py", "tests/reliability/",
                    "tests/fuzz/", "tests/integration/test_secret_watch.py",
                    "tests/packaging/", "tests/integration/test_cli.py", "tests/e2e/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((place for place, prefix in enumerate(LONG_TESTS_FIRST)
                     if item.nodeid.startswith(prefix)), len(LONG_TESTS_FIRST))

    items.sort(key=rank)
