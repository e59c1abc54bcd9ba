"""Locked by default: the API token, the sessions it buys, and the limit on wrong guesses.

- The token is 256 random bits (`secrets`), made at first start when CONFIGAPP_API_TOKEN is
  not set, and kept only as its SHA-256 hash in the database (one row, so that every
  instance on one PostgreSQL agrees; racing first starts agree on the row that was
  inserted first). A salt or a slow hash would add nothing to 256 random bits.
- A session is an itsdangerous-signed cookie and a secret derived from it. The cookie's
  signing key is derived from the server's first encryption key and the token's hash, so
  any instance can check it (they share both) and a rotated token ends every session at
  once; it carries the token's generation and a random session id. Reading the database
  alone (the hash) is not enough to forge one. The session's secret (an HMAC of its id) is
  given to the signing-in page in the answer's body and sent back as a header: cookies
  reach every port of a host, the page's storage only its own origin (ADR 0006).
- Wrong tokens (bearer or sign-in) are counted per client address and in all; past either
  limit a wrong one is answered 429 until the window passes, the right one never is.
  Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from base64 import urlsafe_b64encode
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from configapp.domain import ConfigurationError

TOKEN_BYTES = 32  # 256 bits
SESSION_SECONDS = 30 * 24 * 3600  # 30 days (Tornado's and so Jupyter's cookie default)
SESSION_RENEW_SECONDS = 24 * 3600  # a cookie older than a day is renewed when used
FAILURES_ALLOWED = 10  # wrong tokens per address and window, per process
GLOBAL_FAILURES_ALLOWED = 100  # wrong tokens from all addresses together, per window
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
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


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
    """Wrong tokens per client address, and from all addresses together, in a sliding
    window, in this process (a few lines rather than a library: counters, no storage).

    It bounds what wrong tokens cost (the answer turns into a bare 429, the log gets one
    line per address and window) and never refuses the right token: a local process
    sending wrong ones must not lock the owner out. The global bound stops a guesser that
    rotates its source address (every 127.x address is loopback)."""

    def __init__(self, allowed: int = FAILURES_ALLOWED,
                 window: float = FAILURE_WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 allowed_in_all: int = GLOBAL_FAILURES_ALLOWED) -> None:
        self.allowed = allowed
        self.allowed_in_all = allowed_in_all
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        failures = self._failures.get(address)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def fail(self, address: str) -> tuple[bool, int]:
        """Count a wrong token from `address`: (whether it is the first of its window, so
        worth a log line; 0, or the seconds to wait when the address or everyone is over
        the limit)."""
        with self._lock:
            now = self.clock()
            while self._all and self._all[0] <= now - self.window:
                self._all.popleft()
            failures = self._recent(address, now)
            if failures is None:
                if len(self._failures) >= MAX_TRACKED_ADDRESSES:
                    self._failures.pop(next(iter(self._failures)))
                failures = self._failures[address] = deque()
            first = not failures
            over = [queue for queue, allowed in ((failures, self.allowed),
                                                 (self._all, self.allowed_in_all))
                    if len(queue) >= allowed]
            if len(failures) <= self.allowed:
                failures.append(now)
            if len(self._all) <= self.allowed_in_all:
                self._all.append(now)
            if not over:
                return first, 0
            return first, max(max(1, int(queue[0] + self.window - now) + 1) for queue in over)


@dataclass(frozen=True)
class Session:
    """A valid session cookie: its id (which its secret is derived from) and its age."""

    id: str
    age: float


class Sessions:
    """Signed session cookies, checkable by every instance that shares the server secret."""

    def __init__(self, server_secret: bytes) -> None:
        self._secret = server_secret
        self._serializers: dict[str, URLSafeTimedSerializer] = {}
        self._verified: dict[tuple[str, TokenState], tuple[str, float]] = {}

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

    def issue(self, state: TokenState, session_id: str | None = None) -> str:
        """A cookie for a new session, or a renewed one of `session_id` (same secret)."""
        return self._serializer(state).dumps(
            {"g": state.generation, "s": session_id or secrets.token_urlsafe(16)})

    def secret(self, state: TokenState, session_id: str) -> str:
        """The session's secret: what its page sends beside the cookie."""
        key = hmac.new(self._secret, b"configapp session secret|" + state.hash.encode(),
                       hashlib.sha256).digest()
        mac = hmac.new(key, session_id.encode(), hashlib.sha256).digest()
        return urlsafe_b64encode(mac).rstrip(b"=").decode()

    def start(self, state: TokenState) -> tuple[str, str]:
        """A new session: (its cookie, its secret)."""
        session_id = secrets.token_urlsafe(16)
        return self.issue(state, session_id), self.secret(state, session_id)

    def open(self, value: str, state: TokenState) -> Session | None:
        """The session of a cookie, or None when it is not valid now (forged, expired, from
        a token since rotated, or from before sessions had secrets). A cookie checked once
        under this token is remembered (a browser sends the same one with every request):
        its signature is not checked again, its age is."""
        known = self._verified.get((value, state))
        if known is None:
            try:
                payload, stamp = self._serializer(state).loads(
                    value, max_age=SESSION_SECONDS, return_timestamp=True)
            except (BadSignature, SignatureExpired):
                return None
            if not isinstance(payload, dict) or payload.get("g") != state.generation or (
                    not isinstance(payload.get("s"), str)):
                return None
            known = (payload["s"], stamp.timestamp())
            if len(self._verified) >= MAX_REMEMBERED_SESSIONS:
                self._verified.clear()
            self._verified[(value, state)] = known
        session_id, issued = known
        age = time.time() - issued
        return Session(session_id, max(0.0, age)) if age <= SESSION_SECONDS else None

    def identity_key(self) -> bytes:
        """The key the extension learns with the token and later challenges the server
        with (`/identity`), so that it sends the token only to configapp: derived from the
        server secret alone (a rotation keeps it, and its proofs let nobody test guesses of
        the token)."""
        return hmac.new(self._secret, b"configapp server identity", hashlib.sha256).digest()

    def identity_proof(self, challenge: str) -> str:
        mac = hmac.new(self.identity_key(), challenge.encode(), hashlib.sha256).digest()
        return urlsafe_b64encode(mac).rstrip(b"=").decode()

    def matches_secret(self, session: Session, state: TokenState, sent: str) -> bool:
        return hmac.compare_digest(self.secret(state, session.id).encode(),
                                   sent.encode("utf-8", "surrogatepass"))
