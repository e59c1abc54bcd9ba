"""Who is asking: a request's credentials (bearer token or session cookie), checked.

The Gate is built once by the composition root and used by the security guard (every
/api/ call), the pages (/ and /settings) and the sign-in routes (/login, /logout).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from flask import Request, Response

from configapp.access.auth import (
    SESSION_RENEW_SECONDS,
    SESSION_SECONDS,
    FailureLimiter,
    Sessions,
    TokenState,
    TooManyFailures,
)
from configapp.log_lines import log_text

log = logging.getLogger("configapp.access.auth")
COOKIE_PREFIX = "configapp_session"
# What a page of configapp's own origin sends beside the cookie: the session's secret.
SESSION_HEADER = "X-Configapp-Session"


class TokenStore(Protocol):
    fixed: bool

    def current(self) -> TokenState | None: ...


@dataclass(frozen=True)
class Identity:
    """How a request is signed in: "bearer", "session" or "off" (authentication is off);
    `session`: the session's id, and `renew`: its cookie is old enough to be issued again."""

    method: str
    renew: bool = False
    session: str | None = None


def cookie_name(request: Request) -> str:
    """One cookie per port: cookies ignore ports, and two instances on one host (or the
    tests' many servers) must not sign each other out."""
    host = request.host
    port = host.rsplit(":", 1)[1] if host.count(":") == 1 or "]:" in host else ""
    if not port.isdigit():
        port = "443" if request.is_secure else "80"
    return f"{COOKIE_PREFIX}_{port}"


class Gate:
    """enabled: configapp's own sign-in is on. own_auth: False when a host app's
    `authorize` hook decides instead (ConfigApp): the gate then lets everything through
    and the hook is asked (configapp/web/security.py)."""

    def __init__(self, enabled: bool, tokens: TokenStore, sessions: Sessions,
                 limiter: FailureLimiter | None = None, own_auth: bool = True) -> None:
        self.enabled = enabled and own_auth
        self.own_auth = own_auth
        self.tokens = tokens
        self.sessions = sessions
        self.limiter = limiter or FailureLimiter()

    @staticmethod
    def address(request: Request) -> str:
        return request.remote_addr or "unknown"

    def check_token(self, request: Request, token: str) -> TokenState | None:
        """The current token state when `token` is it. A wrong one counts against the
        client's address and against everyone: past either limit it raises TooManyFailures
        (a 429). The right token is never refused, whoever sent wrong ones."""
        state = self.tokens.current()
        if state is not None and token and state.matches(token):
            return state
        address = self.address(request)
        first, retry_after = self.limiter.fail(address)
        if first:  # once per address and window: a flood must not flood the log
            log.warning("a wrong API token from %s (%s %s); more in the next minute are "
                        "not logged", log_text(address), log_text(request.method),
                        log_text(request.path))
        if retry_after:
            raise TooManyFailures(retry_after)
        return None

    def identify(self, request: Request, page: bool = False) -> Identity | None:
        """The request's identity, or None when it has no valid credentials.

        A bearer token, when sent, decides alone: a wrong one is refused even beside a good
        session. Another scheme (a proxy's `Basic`) is not configapp's and is ignored. A
        session needs its cookie and, for the API, its secret in SESSION_HEADER: a cookie
        reaches every port of the host, the secret only pages of configapp's origin. A
        page navigation (`page`) cannot send a header: the cookie lets the page load, and
        its API calls need the secret."""
        if not self.enabled:
            return Identity("off")
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            return Identity("bearer") if self.check_token(request, token.strip()) else None
        cookie = request.cookies.get(cookie_name(request))
        state = self.tokens.current() if cookie else None
        session = self.sessions.open(cookie, state) if cookie and state is not None else None
        if session is None or state is None:
            return None
        if not page and not self.sessions.matches_secret(
                session, state, request.headers.get(SESSION_HEADER, "")):
            return None
        return Identity("session", renew=session.age > SESSION_RENEW_SECONDS,
                        session=session.id)

    def renew_session(self, request: Request, response: Response, identity: Identity) -> None:
        """The same session (so the same secret) in a cookie issued now."""
        state = self.tokens.current()
        if state is not None and identity.session is not None:
            self.set_cookie(request, response, self.sessions.issue(state, identity.session))

    @staticmethod
    def set_cookie(request: Request, response: Response, value: str) -> None:
        response.set_cookie(cookie_name(request), value, max_age=SESSION_SECONDS, path="/",
                            secure=request.is_secure, httponly=True, samesite="Strict")

    @staticmethod
    def end_session(request: Request, response: Response) -> None:
        response.delete_cookie(cookie_name(request), path="/", secure=request.is_secure,
                               httponly=True, samesite="Strict")
