"""configapp: the dynamic-configuration backend of an LLM Playground and its extension."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_migrate import Migrate

from configapp.adapters.data_files import secure_data_files
from configapp.adapters.fernet import FernetEncryption, load_keys
from configapp.adapters.litellm_catalog import LiteLLMMetadataCatalog
from configapp.adapters.litellm_gateway import LiteLLMGateway
from configapp.adapters.sql_storage import SqlAlchemyConfigurationStorage, configure_engine
from configapp.api import register_api
from configapp.chat import ChatService
from configapp.cli import config_commands
from configapp.components import Components
from configapp.discovery import DiscoveredModels, MergedCatalog, ModelDiscovery
from configapp.domain import PROVIDER_ALIASES, InvalidEncryptionKeyError
from configapp.models import db
from configapp.pages import blp as pages_blueprint
from configapp.schema import MIGRATIONS_DIR, current_revision, head_revision, upgrade_with_lock
from configapp.security import install_security
from configapp.service import ConfigurationService
from configapp.settings import Settings
from configapp.startup import run_start_checks

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **config: Any) -> Flask:
    """Build the app: settings, database, encryption key, services, routes.

    On SQLite the schema is upgraded here. A wrong encryption key, or a failed import of
    the legacy .env / default.yaml, stops the start with a message that says what to do
    (configapp/startup.py). The database connections opened here are closed before
    returning, so that gunicorn can fork workers from a preloaded app.
    """
    settings = settings or Settings.from_env()
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
    app.extensions["configapp.settings"] = settings  # 0003_key_masks decrypts to re-mask

    secure_data_files(settings.data_dir, settings.database_url)
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
        encryption = FernetEncryption(load_keys(settings.encryption_keys, settings.key_file,
                                                stored))
        catalog = LiteLLMMetadataCatalog(settings.model_cache_ttl)
        discovered = DiscoveredModels()
        service = ConfigurationService(storage, encryption, MergedCatalog(catalog, discovered),
                                       settings.provider_env, settings.env_key_base_urls)
        try:
            if schema_current:
                run_start_checks(settings, service, storage)
            else:
                log.warning("The database schema is not at head (%s): run "
                            "`flask --app wsgi db upgrade`.", head)
        finally:
            db.session.remove()
            db.engine.dispose()

    gateway = LiteLLMGateway(settings.provider_timeout, settings.provider_check_timeout)
    api = register_api(app, sorted(service.known_providers() | PROVIDER_ALIASES.keys()))
    app.register_blueprint(pages_blueprint)
    app.cli.add_command(config_commands)
    app.extensions["configapp"] = Components(
        settings, storage, encryption, catalog, service, api, head, gateway,
        ChatService(service, gateway),
        ModelDiscovery(service, gateway, discovered, settings.model_cache_ttl))
    install_security(app, settings.security)
    return app
