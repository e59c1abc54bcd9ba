"""Where the API token's hash lives: the `auth_token` row, or CONFIGAPP_API_TOKEN."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from configapp.access.auth import TokenState, token_hash
from configapp.keys.sql_storage import IMMEDIATE, Database
from configapp.records import AuthTokenRecord

ROW_ID = 1
CURRENT = "SELECT token_hash, generation FROM auth_token WHERE id = 1"


class SqlTokenStore:
    """The token kept hashed in the database, shared by every instance on it."""

    fixed = False

    def __init__(self, database: Database) -> None:
        self.database = database

    def current(self) -> TokenState | None:
        """The row, read on a raw pooled connection (one small SELECT per request; an ORM
        session would cost several times more for nothing)."""
        connection = self.database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(CURRENT)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()
        return TokenState(row[0], int(row[1])) if row else None

    def create_if_absent(self, token: str) -> bool:
        """Store `token`'s hash unless a token exists; True when this call stored it. Of
        racing first starts, the first insert wins and the others read its row."""
        session = self.database.session()
        try:
            session.connection(execution_options={IMMEDIATE: True})
            session.execute(insert(AuthTokenRecord).values(
                id=ROW_ID, token_hash=token_hash(token), generation=1))
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
            return False

    def replace(self, token: str) -> TokenState:
        """Make `token` the token, in a new generation (which ends every session)."""
        session = self.database.session()
        try:
            session.connection(execution_options={IMMEDIATE: True})
            changed = session.execute(
                update(AuthTokenRecord).where(AuthTokenRecord.id == ROW_ID).values(
                    token_hash=token_hash(token),
                    generation=AuthTokenRecord.generation + 1)).rowcount
            if not changed:
                session.execute(insert(AuthTokenRecord).values(
                    id=ROW_ID, token_hash=token_hash(token), generation=1))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        state = self.current()
        assert state is not None
        return state


class FixedTokenStore:
    """CONFIGAPP_API_TOKEN: set by the operator, never stored; changing it (and restarting
    every instance) is the rotation."""

    fixed = True

    def __init__(self, token: str) -> None:
        self._state = TokenState(token_hash(token), 0)

    def current(self) -> TokenState:
        return self._state
