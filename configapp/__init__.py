"""configapp: the dynamic-configuration backend of an LLM Playground and its extension."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask
from flask_migrate import Migrate

from configapp.adapters.fernet import FernetEncryption, load_keys
from configapp.adapters.litellm_catalog import LiteLLMMetadataCatalog
from configapp.adapters.litellm_gateway import LiteLLMGateway
from configapp.adapters.sql_auth import FixedTokenStore, SqlTokenStore
from configapp.adapters.sql_storage import SqlAlchemyConfigurationStorage, configure_engine
from configapp.api import register_api
from configapp.auth import FailureLimiter, Sessions, check_auth_settings, login_link, new_token
from configapp.chat import ChatService
from configapp.cli import config_commands
from configapp.components import Components
from configapp.discovery import DiscoveredModels, MergedCatalog, ModelDiscovery
from configapp.domain import PROVIDER_ALIASES, InvalidEncryptionKeyError
from configapp.gate import Gate
from configapp.models import db
from configapp.pages import blp as pages_blueprint
from configapp.schema import MIGRATIONS_DIR, current_revision, head_revision, upgrade_with_lock
from configapp.security import install_security
from configapp.service import ConfigurationService
from configapp.settings import SecuritySettings, Settings
from configapp.signin import blp as signin_blueprint
from configapp.startup import run_start_checks

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **config: Any) -> Flask:
    """Build the app: settings, database, encryption key, services, routes.

    On SQLite the schema is upgraded here. A wrong encryption key, a failed import of
    the legacy .env / default.yaml (configapp/startup.py), or CONFIGAPP_AUTH=off on an
    address that is not loopback stops the start with a message that says what to do. A
    first start makes the API token and prints its login link. The database connections
    opened here are closed before returning, so that gunicorn can fork workers from a
    preloaded app.
    """
    settings = settings or Settings.from_env()
    check_auth_settings(settings.security.auth_enabled, settings.security.bind)
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        # hide_parameters: a failed statement's message never carries a token.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": not settings.is_sqlite,
                                   "hide_parameters": True},
        MAX_CONTENT_LENGTH=settings.security.max_request_bytes,
        API_TITLE="configapp",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.config.update(config)
    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)

    with app.app_context():
        configure_engine(db.engine)
        if settings.is_sqlite:
            upgrade_with_lock(settings.data_dir)
        head = head_revision()
        schema_current = current_revision(db.engine) == head
        storage = SqlAlchemyConfigurationStorage()
        if not settings.is_sqlite and not settings.encryption_keys and not (
                settings.key_file.is_file()):
            raise InvalidEncryptionKeyError(
                "Set ENCRYPTION_KEY: with a shared database every instance needs the same key.")
        stored = storage.count_api_keys() if schema_current else 0
        keys = load_keys(settings.encryption_keys, settings.key_file, stored)
        encryption = FernetEncryption(keys)
        catalog = LiteLLMMetadataCatalog(settings.model_cache_ttl)
        discovered = DiscoveredModels()
        service = ConfigurationService(storage, encryption, MergedCatalog(catalog, discovered),
                                       settings.provider_env, settings.env_key_base_urls)
        tokens = (FixedTokenStore(settings.security.api_token) if settings.security.api_token
                  else SqlTokenStore())
        try:
            if schema_current:
                run_start_checks(settings, service, storage)
                if not settings.cli:
                    announce_token(settings.security, tokens)
            else:
                log.warning("The database schema is not at head (%s): run "
                            "`flask --app wsgi db upgrade`.", head)
        finally:
            db.session.remove()
            db.engine.dispose()

    gateway = LiteLLMGateway(settings.provider_timeout, settings.provider_check_timeout)
    api = register_api(app, sorted(service.known_providers() | PROVIDER_ALIASES.keys()))
    app.register_blueprint(pages_blueprint)
    app.register_blueprint(signin_blueprint)
    app.cli.add_command(config_commands)
    # The session key: the server's first encryption key, which every instance shares.
    gate = Gate(settings.security.auth_enabled, tokens, Sessions(keys[0].encode()),
                FailureLimiter())
    app.extensions["configapp"] = Components(
        settings=settings, storage=storage, encryption=encryption, catalog=catalog,
        config=service, api=api, schema_head=head, gateway=gateway,
        chat=ChatService(service, gateway),
        discovery=ModelDiscovery(service, gateway, discovered, settings.model_cache_ttl),
        gate=gate)
    install_security(app, settings.security, gate)
    return app


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
