"""Locked by default: the API token, the sessions it buys, and the limit on wrong guesses.

- The token is 256 random bits (`secrets`), made at first start when CONFIGAPP_API_TOKEN is
  not set, and kept only as its SHA-256 hash in the database (one row, so that every
  instance on one PostgreSQL agrees; racing first starts agree on the row that was
  inserted first). A salt or a slow hash would add nothing to 256 random bits.
- A session is an itsdangerous-signed cookie. Its signing key is derived from the server's
  first encryption key and the token's hash, so any instance can check it (they share both)
  and a rotated token ends every session at once; it carries the token's generation too.
  Reading the database alone (the hash) is not enough to forge one.
- A wrong token (bearer or sign-in) counts against the client's address; past the limit
  the address is answered 429 until the window passes. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from configapp.domain import ConfigurationError

TOKEN_BYTES = 32  # 256 bits
SESSION_SECONDS = 30 * 24 * 3600  # 30 days (Tornado's and so Jupyter's cookie default)
SESSION_RENEW_SECONDS = 24 * 3600  # a cookie older than a day is renewed when used
FAILURES_ALLOWED = 10  # wrong tokens per address and window, per process
FAILURE_WINDOW_SECONDS = 60.0
MAX_TRACKED_ADDRESSES = 10_000
MAX_REMEMBERED_SESSIONS = 1_000


class AuthConfigurationError(ConfigurationError):
    """The settings would leave the server open where that is not allowed."""


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_link(bind: str, token: str) -> str:
    """`http://127.0.0.1:8000/login#token=...`: a fragment never reaches a server or its
    access log. A wildcard bind (0.0.0.0, [::]) is shown as 127.0.0.1."""
    host, _, port = bind.rpartition(":")
    if not host or host.startswith("unix"):
        host, port = "127.0.0.1", "8000"
    if host in ("0.0.0.0", "[::]", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port}/login#token={token}"


def is_loopback_bind(bind: str) -> bool:
    """Whether every address of a gunicorn bind (`host:port`, comma-separated) is loopback."""
    for one in bind.split(","):
        host = one.strip().rpartition(":")[0].strip("[]") or one.strip()
        if host == "localhost":
            continue
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return False
        except ValueError:
            return False  # a name or a unix socket: not known to be loopback
    return True


def check_auth_settings(auth_enabled: bool, bind: str) -> None:
    """Refuse CONFIGAPP_AUTH=off anywhere but on a loopback bind."""
    if not auth_enabled and not is_loopback_bind(bind):
        raise AuthConfigurationError(
            f"CONFIGAPP_AUTH=off is allowed only on a loopback address, and CONFIGAPP_BIND is "
            f"{bind!r}: anyone who reaches it could read and change the settings. Remove "
            "CONFIGAPP_AUTH (the API token is then required), or bind to 127.0.0.1.")


@dataclass(frozen=True)
class TokenState:
    """The current token, as its hash, and its generation (grows at each rotation)."""

    hash: str
    generation: int

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(token_hash(token).encode(), self.hash.encode())


class FailureLimiter:
    """Wrong tokens per client address in a sliding window, in this process (a few lines
    rather than a library: one counter, no storage). Behind a proxy every client has the
    proxy's address, so a flood of wrong guesses there blocks everyone for a minute."""

    def __init__(self, allowed: int = FAILURES_ALLOWED,
                 window: float = FAILURE_WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed = allowed
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        failures = self._failures.get(address)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, address: str) -> None:
        """Raise TooManyFailures while `address` is over the limit."""
        with self._lock:
            now = self.clock()
            failures = self._recent(address, now)
            if failures is not None and len(failures) >= self.allowed:
                raise TooManyFailures(max(1, int(failures[0] + self.window - now) + 1))

    def fail(self, address: str) -> None:
        with self._lock:
            now = self.clock()
            failures = self._recent(address, now)
            if failures is None:
                if len(self._failures) >= MAX_TRACKED_ADDRESSES:
                    self._failures.pop(next(iter(self._failures)))
                failures = self._failures[address] = deque()
            failures.append(now)


class Sessions:
    """Signed session cookies, checkable by every instance that shares the server secret."""

    def __init__(self, server_secret: bytes) -> None:
        self._secret = server_secret
        self._serializers: dict[str, URLSafeTimedSerializer] = {}
        self._verified: dict[tuple[str, TokenState], float] = {}

    def _serializer(self, state: TokenState) -> URLSafeTimedSerializer:
        """One per token hash, kept (a rotation adds one; a few at most per process)."""
        serializer = self._serializers.get(state.hash)
        if serializer is None:
            key = hmac.new(self._secret, b"configapp session|" + state.hash.encode(),
                           hashlib.sha256).digest()
            serializer = URLSafeTimedSerializer(key, salt="configapp.session")
            if len(self._serializers) >= 8:
                self._serializers.clear()
            self._serializers[state.hash] = serializer
        return serializer

    def issue(self, state: TokenState) -> str:
        return self._serializer(state).dumps({"g": state.generation})

    def age(self, value: str, state: TokenState) -> float | None:
        """Seconds since the cookie was issued, or None when it is not valid now (forged,
        expired, or from a token since rotated). A cookie checked once under this token is
        remembered (a browser sends the same one with every request): its signature is
        not checked again, its age is."""
        issued = self._verified.get((value, state))
        if issued is None:
            try:
                payload, stamp = self._serializer(state).loads(
                    value, max_age=SESSION_SECONDS, return_timestamp=True)
            except (BadSignature, SignatureExpired):
                return None
            if not isinstance(payload, dict) or payload.get("g") != state.generation:
                return None
            issued = stamp.timestamp()
            if len(self._verified) >= MAX_REMEMBERED_SESSIONS:
                self._verified.clear()
            self._verified[(value, state)] = issued
        age = time.time() - issued
        return max(0.0, age) if age <= SESSION_SECONDS else None
