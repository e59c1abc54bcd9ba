"""The objects the composition root builds once per app, and the helper views use."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_smorest import Api

from configapp.access.clients import ClientService
from configapp.access.gate import Gate
from configapp.catalog.curation import ModelCuration
from configapp.catalog.discovery import ModelDiscovery
from configapp.catalog.litellm_catalog import LiteLLMMetadataCatalog
from configapp.catalog.sql_curation import SqlAlchemyCurationStorage
from configapp.chat.service import ChatService
from configapp.chat.usage import UsageService
from configapp.keys.fernet import FernetEncryption
from configapp.keys.service import ConfigurationService
from configapp.keys.sql_storage import Database
from configapp.providers.litellm_gateway import LiteLLMGateway
from configapp.settings import Settings


@dataclass
class Components:
    settings: Settings
    storage: SqlAlchemyCurationStorage
    encryption: FernetEncryption
    catalog: LiteLLMMetadataCatalog
    config: ConfigurationService
    api: Api
    schema_head: str | None
    gateway: LiteLLMGateway
    chat: ChatService
    discovery: ModelDiscovery
    # The database the app uses (the standalone `db`, the host's, or configapp's own) and
    # the Alembic version table configapp's revision is kept in there.
    database: Database
    version_table: str
    curation: ModelCuration
    gate: Gate
    usage: UsageService
    clients: ClientService


def components() -> Components:
    """The current app's components (views and CLI commands call this)."""
    return current_app.extensions["configapp"]
