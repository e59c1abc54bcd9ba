"""ConfigApp: configapp as a Flask extension, the composition root of every configapp app.

    ConfigApp(app)                       # or: configapp = ConfigApp(...); configapp.init_app(app)
    ConfigApp(app, url_prefix="/llm", db=host_db, authorize=lambda: current_user.is_admin)

It mounts the configuration API (and, unless `pages=False`, the Playground pages) under
`url_prefix`, on a database: the host's Flask-SQLAlchemy `db`, a URL of its own, or the
settings' (CONFIGAPP_DATABASE_URL, else SQLite in the data folder). Its tables are migrated
with their own Alembic version table, so the host's migrations are not disturbed.
`create_app()` (configapp/__init__.py) is the standalone app built on it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from configapp.access.auth import (
    FailureLimiter,
    Sessions,
    check_auth_settings,
    login_link,
    new_token,
)
from configapp.access.clients import ClientService
from configapp.access.gate import Gate
from configapp.access.sql_auth import FixedTokenStore, SqlTokenStore
from configapp.access.sql_clients import SqlAlchemyClientStorage
from configapp.catalog.curation import ModelCuration
from configapp.catalog.discovery import DiscoveredModels, MergedCatalog, ModelDiscovery
from configapp.catalog.litellm_catalog import LiteLLMMetadataCatalog
from configapp.catalog.sql_curation import SqlAlchemyCurationStorage
from configapp.catalog.sql_discovery import SqlAlchemyDiscoveryStorage
from configapp.chat.plan_cache import PlanCache
from configapp.chat.service import ChatService
from configapp.chat.sql_usage import SqlAlchemyUsageLedger
from configapp.chat.usage import UsageService
from configapp.components import Components
from configapp.database import OwnDatabase
from configapp.domain import PROVIDER_ALIASES, InvalidEncryptionKeyError
from configapp.keys.data_files import secure_data_files
from configapp.keys.fernet import FernetEncryption, load_keys
from configapp.keys.service import ConfigurationService
from configapp.keys.sql_storage import Database, configure_engine
from configapp.ops.cli import config_commands
from configapp.ops.cli_clients import clients_commands
from configapp.ops.cli_curation import add_curation_commands
from configapp.ops.cli_moving import add_moving_commands
from configapp.providers.litellm_gateway import LiteLLMGateway
from configapp.providers.offline import stay_offline
from configapp.schema import VERSION_TABLE, current_revision, head_revision, upgrade_with_lock
from configapp.serving.ast_guard import guard_ast_parse
from configapp.settings import DEFAULT_THREADS, SecuritySettings, Settings
from configapp.startup import run_start_checks
from configapp.web.api import api_blueprint_names, register_api
from configapp.web.openai import blp as openai_blueprint
from configapp.web.openai import register_openai
from configapp.web.pages import blp as pages_blueprint
from configapp.web.security import Mount, install_security
from configapp.web.signin import blp as signin_blueprint

log = logging.getLogger(__name__)


POOL_OVERFLOW = 8


def engine_options(url: str, threads: int = DEFAULT_THREADS) -> dict[str, Any]:
    """hide_parameters: a failed statement's message never carries a token. A connection
    per serving thread, and a few over for a request that briefly holds two: no thread
    waits for the pool (docs/adr/0005-serving-model.md)."""
    options: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite"),
                               "hide_parameters": True}
    parsed = make_url(url)
    if not (parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")):
        options.update(pool_size=threads, max_overflow=POOL_OVERFLOW)  # not a memory database
    return options


class ConfigApp:
    """configapp in a Flask app.

    settings: everything else (keys, the data folder, hosts, timeouts); default: from the
        environment (Settings.from_env).
    url_prefix: where the API (`<prefix>/api/config/...`), the health checks and the pages
        (`<prefix>/`, `<prefix>/settings`) answer; "" mounts them at the root.
    pages: serve the Playground pages too.
    db: the host's Flask-SQLAlchemy `db`: configapp's tables go into its database.
    database_url: a database of configapp's own instead (default: the settings').
    authorize: the host's hook, called in a request to configapp: True lets it through,
        False answers 401 (the hook may also abort with its own response, e.g. a redirect
        to the host's login). Without it, configapp is locked by its own API token
        (CONFIGAPP_API_TOKEN, or one made at first start; ADR 0006).
    version_table: where configapp's Alembic revision is kept.
    whole_app: apply configapp's HTTP safety net (Host allow-list, same-origin writes,
        security headers) to every request of the app, not only to configapp's: what the
        standalone app does.
    """

    def __init__(self, app: Flask | None = None, *, settings: Settings | None = None,
                 url_prefix: str = "", pages: bool = True, db: Database | None = None,
                 database_url: str | None = None, authorize: Callable[[], bool] | None = None,
                 version_table: str = VERSION_TABLE, whole_app: bool = False) -> None:
        if db is not None and database_url is not None:
            raise ValueError("ConfigApp: give either db (the host's) or database_url, not both.")
        self.settings = settings
        self.url_prefix = url_prefix.rstrip("/")
        if self.url_prefix and not self.url_prefix.startswith("/"):
            raise ValueError(f"ConfigApp: url_prefix must start with '/': {url_prefix!r}.")
        self.pages = pages
        self.db = db
        self.database_url = database_url
        self.authorize = authorize
        self.version_table = version_table
        self.whole_app = whole_app
        if app is not None:
            self.init_app(app)

    def _database(self, app: Flask, settings: Settings) -> Database:
        if self.db is not None:
            return self.db
        url = self.database_url or settings.database_url
        database = OwnDatabase(url, engine_options(url, settings.threads))
        database.init_app(app)
        return database

    def init_app(self, app: Flask) -> None:
        """Build configapp on `app`: database, encryption key, services, routes.

        On SQLite the schema is upgraded here. A wrong encryption key, a failed import of
        the legacy .env / default.yaml (configapp/startup.py), or CONFIGAPP_AUTH=off on an
        address that is not loopback stops the start with a message that says what to do.
        A first start makes the API token and prints its login link. The database
        connections opened here are closed before returning, so that gunicorn can fork
        workers from a preloaded app.
        """
        if "configapp" in app.extensions:
            raise RuntimeError("ConfigApp is already registered on this app.")
        stay_offline()  # before anything imports litellm or a Hugging Face library
        guard_ast_parse()  # the threads that serve it format tracebacks (ast_guard)
        settings = self.settings or Settings.from_env()
        app.extensions["configapp.settings"] = settings  # 0007_key_masks decrypts to re-mask
        own_auth = self.authorize is None
        if own_auth:
            check_auth_settings(settings.security.auth_enabled, settings.security.bind)
        database = self._database(app, settings)

        with app.app_context():
            engine = database.engine
            # The data folder 0700; its files and a SQLite database (it holds the encrypted
            # keys) 0600, before SQLite first opens it.
            secure_data_files(settings.data_dir,
                              engine.url.render_as_string(hide_password=True))
            configure_engine(engine)
            is_sqlite = engine.dialect.name == "sqlite"
            if is_sqlite:
                upgrade_with_lock(settings.data_dir, engine, self.version_table)
            head = head_revision()
            schema_current = current_revision(engine, self.version_table) == head
            storage = SqlAlchemyCurationStorage(database)
            if not is_sqlite and not settings.encryption_keys and not (
                    settings.key_file.is_file()):
                raise InvalidEncryptionKeyError(
                    "Set ENCRYPTION_KEY: with a shared database every instance needs the "
                    "same key.")
            stored = storage.count_api_keys() if schema_current else 0
            keys = load_keys(settings.encryption_keys, settings.key_file, stored)
            encryption = FernetEncryption(keys)
            tokens = (FixedTokenStore(settings.security.api_token)
                      if settings.security.api_token else SqlTokenStore(database))
            catalog = LiteLLMMetadataCatalog(settings.model_cache_ttl)
            discovered = DiscoveredModels()
            discoveries = SqlAlchemyDiscoveryStorage(storage)
            service = ConfigurationService(storage, encryption,
                                           MergedCatalog(catalog, discovered),
                                           settings.provider_env, settings.env_key_base_urls)
            try:
                if schema_current:
                    run_start_checks(settings, service, storage)
                    discovered.restore(discoveries.discoveries())
                    if own_auth and not settings.cli:
                        announce_token(settings.security, tokens)
                else:
                    log.warning("configapp's database schema is not at head (%s): run "
                                "`flask --app wsgi db upgrade` (embedded in another app: "
                                "`flask config upgrade-schema`).", head)
            finally:
                database.session.remove()
                engine.dispose()

        blueprints = api_blueprint_names() | {openai_blueprint.name} | (
            {pages_blueprint.name} if self.pages else set())
        mount = Mount(self.url_prefix, self.authorize, self.whole_app, frozenset(blueprints))
        gateway = LiteLLMGateway(settings.provider_timeout, settings.provider_check_timeout)
        api = register_api(app, sorted(service.known_providers() | PROVIDER_ALIASES.keys()),
                           mount)
        if self.pages:
            app.register_blueprint(pages_blueprint, url_prefix=self.url_prefix or None)
        register_openai(app, self.url_prefix)
        add_curation_commands()
        add_moving_commands()
        # Under a host's hook too: /session tells the pages there is no sign-out of ours.
        app.register_blueprint(signin_blueprint, url_prefix=self.url_prefix or None)
        config_commands.add_command(clients_commands)
        app.cli.add_command(config_commands)
        curation = ModelCuration(service, storage)
        usage = UsageService(SqlAlchemyUsageLedger(storage), service.known_providers,
                             storage.key_exists)
        # The session key: the server's first encryption key, which every instance shares.
        gate = Gate(settings.security.auth_enabled, tokens, Sessions(keys[0].encode()),
                    FailureLimiter(), own_auth=own_auth)
        app.extensions["configapp"] = Components(
            settings=settings, storage=storage, encryption=encryption, catalog=catalog,
            config=service, api=api, schema_head=head, gateway=gateway,
            chat=ChatService(service, gateway, curation=curation, usage=usage, cache=PlanCache()),
            discovery=ModelDiscovery(service, gateway, discovered, settings.model_cache_ttl,
                                     on_listing=curation.record_listing, store=discoveries),
            database=database, version_table=self.version_table, curation=curation, gate=gate,
            usage=usage, clients=ClientService(SqlAlchemyClientStorage(storage),
                                               curation.check_target, usage))
        install_security(app, settings.security, gate, mount)


def announce_token(security: SecuritySettings, tokens: FixedTokenStore | SqlTokenStore) -> None:
    """Say how to sign in. A first start makes the token and prints its login link on the
    standard output, once (never through logging: log files and collectors keep lines);
    later starts only say how to get a new one."""
    if not security.auth_enabled:
        log.warning("Authentication is OFF (CONFIGAPP_AUTH=off): any program or user on this "
                    "machine can read and change the settings. Bound to %s.", security.bind)
        return
    if tokens.fixed:
        log.info("Sign in with the token of CONFIGAPP_API_TOKEN.")
        return
    token = new_token()
    if isinstance(tokens, SqlTokenStore) and tokens.create_if_absent(token):
        print(f"\nconfigapp is locked: sign in once with this link (shown only now):\n\n"
              f"    {login_link(security.bind, token)}\n\n"
              "Run `flask --app wsgi config token` for a new one.\n", file=sys.stdout,
              flush=True)
        log.warning("A new API token was made: its login link is printed on the standard "
                    "output, this once.")
    else:
        log.info("Sign in with the login link printed at the first start, or run "
                 "`flask --app wsgi config token` for a new one (it ends every session).")
