"""SqlAlchemyClientStorage: client tokens' rows, in the configuration's transactions.

A write moves the settings revision like every other setting. The lookup by a token's hash
runs at every /v1 call: one prebuilt SELECT on a pooled connection, nothing cached, so a
deleted client is refused at once by every instance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from configapp.access.clients import (
    Client,
    ClientNameTakenError,
    ClientNotFoundError,
    NewClient,
)
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage, _aware
from configapp.records import ClientRecord, utcnow

CLIENTS = ClientRecord.__table__
COLUMNS = CLIENTS.c["id", "name", "models", "monthly_limit", "created_at"]
BY_TOKEN_HASH = select(*COLUMNS).where(CLIENTS.c.token_hash == bindparam("hashed"))
ALL = select(*COLUMNS).order_by(CLIENTS.c.name)


def _client(row: Any) -> Client:
    models = row.models
    return Client(id=row.id, name=row.name,
                  models=tuple(models) if models is not None else None,
                  monthly_limit=row.monthly_limit, created_at=_aware(row.created_at))


class SqlAlchemyClientStorage:
    """The ClientStoragePort on the configuration storage's session and write lock."""

    def __init__(self, storage: SqlAlchemyConfigurationStorage) -> None:
        self.storage = storage

    def add_client(self, new: NewClient) -> Client:
        try:
            with self.storage._write() as session:
                self._refuse_taken(session, new.name)
                row = ClientRecord(name=new.name, token_hash=new.token_hash,
                                   models=list(new.models) if new.models is not None else None,
                                   monthly_limit=new.monthly_limit)
                session.add(row)
                session.flush()
                return _client(row)
        except IntegrityError:  # a name taken between the check and the insert
            raise ClientNameTakenError(f"A client named '{new.name}' exists.") from None

    def list_clients(self) -> list[Client]:
        return [_client(row) for row in self.storage._rows(ALL)]

    def update_client(self, client_id: int, changes: dict[str, Any]) -> Client:
        try:
            with self.storage._write() as session:
                row = session.get(ClientRecord, client_id)
                if row is None:
                    raise ClientNotFoundError(f"No client with id {client_id}.")
                if "name" in changes and changes["name"] != row.name:
                    self._refuse_taken(session, changes["name"])
                    row.name = changes["name"]
                if "models" in changes:
                    models = changes["models"]
                    row.models = list(models) if models is not None else None
                if "monthly_limit" in changes:
                    row.monthly_limit = changes["monthly_limit"]
                row.updated_at = utcnow()
                session.flush()
                return _client(row)
        except IntegrityError:
            raise ClientNameTakenError(f"A client named '{changes.get('name')}' exists.") from None

    def delete_client(self, client_id: int) -> None:
        with self.storage._write() as session:
            row = session.get(ClientRecord, client_id)
            if row is None:
                raise ClientNotFoundError(f"No client with id {client_id}.")
            session.delete(row)

    def client_by_token_hash(self, hashed: str) -> Client | None:
        rows = self.storage._rows(BY_TOKEN_HASH, hashed=hashed)
        return _client(rows[0]) if rows else None

    @staticmethod
    def _refuse_taken(session: Session, name: str) -> None:
        if session.scalar(select(CLIENTS.c.id).where(CLIENTS.c.name == name)) is not None:
            raise ClientNameTakenError(f"A client named '{name}' exists: choose another name.")
