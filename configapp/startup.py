"""The checks a start runs once the schema is at head: the encryption key, then the import.

Serving (gunicorn, `create_app()` in tests) refuses to start when either fails. Under the
`flask` command a wrong key is only logged, so that `flask --app wsgi config check-key` and
`rotate-key` can run to repair it, and the import is left to `config import-env`, so that
its `--dry-run` can show what it would do before anything is written.
"""

from __future__ import annotations

import logging

from configapp.domain import InvalidEncryptionKeyError
from configapp.keys.env_import import LegacyImport, log_report
from configapp.keys.service import ConfigurationService
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage
from configapp.settings import Settings

log = logging.getLogger("configapp")


def run_start_checks(settings: Settings, service: ConfigurationService,
                     storage: SqlAlchemyConfigurationStorage) -> None:
    """Raise (refusing the start) on a wrong key or a failed import, unless under `flask`."""
    if settings.cli:
        try:
            service.check_encryption_key()
        except InvalidEncryptionKeyError as error:
            log.error("%s", error)
        return
    service.check_encryption_key()
    log_report(LegacyImport(service, storage, settings.env_file, settings.config_file).run())
