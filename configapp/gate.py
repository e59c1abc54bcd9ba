"""Who is asking: a request's credentials (bearer token or session cookie), checked.

The Gate is built once by the composition root and used by the security guard (every
/api/ call), the pages (/ and /settings) and the sign-in routes (/login, /logout).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from flask import Request, Response

from configapp.auth import (
    SESSION_RENEW_SECONDS,
    SESSION_SECONDS,
    FailureLimiter,
    Sessions,
    TokenState,
)
from configapp.log_lines import log_text

log = logging.getLogger("configapp.auth")
COOKIE_PREFIX = "configapp_session"


class TokenStore(Protocol):
    fixed: bool

    def current(self) -> TokenState | None: ...


@dataclass(frozen=True)
class Identity:
    """How a request is signed in: "bearer", "session" or "off" (authentication is off);
    `renew`: the session cookie is old enough to be issued again."""

    method: str
    renew: bool = False


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
    and the hook is asked (configapp/security.py)."""

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
        """The current token state when `token` is it; a wrong one counts as a failure of
        the client's address. Raises TooManyFailures while the address is over the limit."""
        address = self.address(request)
        self.limiter.check(address)
        state = self.tokens.current()
        if state is not None and token and state.matches(token):
            return state
        self.limiter.fail(address)
        log.warning("a wrong API token from %s (%s %s)", log_text(address),
                    log_text(request.method), log_text(request.path))
        return None

    def identify(self, request: Request) -> Identity | None:
        """The request's identity, or None when it has no valid credentials. A bearer
        token, when sent, decides alone: a wrong one is refused even beside a good cookie."""
        if not self.enabled:
            return Identity("off")
        header = request.headers.get("Authorization", "").strip()
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer":
                token = ""
            return Identity("bearer") if self.check_token(request, token.strip()) else None
        cookie = request.cookies.get(cookie_name(request))
        if cookie:
            state = self.tokens.current()
            age = self.sessions.age(cookie, state) if state is not None else None
            if age is not None:
                return Identity("session", renew=age > SESSION_RENEW_SECONDS)
        return None

    def start_session(self, request: Request, response: Response, state: TokenState) -> None:
        response.set_cookie(cookie_name(request), self.sessions.issue(state),
                            max_age=SESSION_SECONDS, path="/", secure=request.is_secure,
                            httponly=True, samesite="Strict")

    def renew_session(self, request: Request, response: Response) -> None:
        state = self.tokens.current()
        if state is not None:
            self.start_session(request, response, state)

    @staticmethod
    def end_session(request: Request, response: Response) -> None:
        response.delete_cookie(cookie_name(request), path="/", secure=request.is_secure,
                               httponly=True, samesite="Strict")
