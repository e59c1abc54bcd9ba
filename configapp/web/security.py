"""The HTTP safety net: Host allow-list, same-origin writes, credentials, CORS, headers.

In the standalone app it covers every request. Mounted in a host app (ConfigApp), it covers
configapp's own routes and leaves the host's alone, and a host's `authorize` hook replaces
configapp's own sign-in (the API token or its session, configapp/access/gate.py): the host's
login decides who may use configapp.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

from flask import Flask, Response, g, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from configapp.access.auth import TooManyFailures, is_loopback_bind
from configapp.settings import SecuritySettings

if TYPE_CHECKING:
    from configapp.access.gate import Gate

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Under the mount's prefix: what anyone may read without signing in.
OPEN_API_PATHS = frozenset({"/api/openapi.json", "/api/docs"})
OPEN_PATHS = OPEN_API_PATHS | {"/healthz", "/readyz", "/login", "/logout", "/session",
                                "/identity", "/identity/key"}
UNAUTHORIZED = ("Sign in first: send Authorization: Bearer <API token>, or open the login "
                "link the server printed at its first start (`flask --app wsgi config token` "
                "makes a new one).")
# A Chromium extension's origin: its id is 32 letters from a to p.
EXTENSION_ORIGIN = re.compile(r"chrome-extension://[a-p]{32}")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
# Set on every answer unless the view set its own. (name, lower-case name, value)
SECURITY_HEADERS = tuple((name, name.lower(), value) for name, value in (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CSP),
))


def host_name(host: str) -> str:
    """The host without its port: `[::1]:8000` -> `[::1]`, `Example.org:80` -> `example.org`
    (host names are case-insensitive). "" when the Host is no host and port: not ASCII, or
    with anything but digits after its name (`[::1]0`, `localhost:x`), so that only an
    allowed name exactly, with or without a port, passes the allow-list."""
    if not host.isascii():
        return ""
    host = host.lower()
    if host.startswith("["):
        end = host.find("]") + 1
        name, rest = (host[:end], host[end:]) if end else ("", "")
    elif host.count(":") == 1:
        name, rest = host.split(":")[0], host[host.find(":"):]
    else:
        name, rest = host, ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return ""
    return name


def cross_origin_refusal(origin: str | None) -> str:
    """Why a write from `origin` is refused; for a browser extension, how to allow it."""
    if origin and EXTENSION_ORIGIN.fullmatch(origin):
        return (f"Cross-origin writes are not allowed: this extension's origin, {origin}, "
                "is not listed in CONFIGAPP_EXTENSION_ORIGINS on the server.")
    return "Cross-origin writes are not allowed."


# GETs that decrypt keys and call providers: guarded like writes (issue 11).
PROVIDER_CALLING_GETS = {"/api/config/models": ("live", "refresh")}
FALSE_WORDS = frozenset({"", "false", "0", "no", "off", "f", "n"})
SAME_ORIGIN_FETCH_SITES = frozenset({"same-origin", "none"})


def calls_providers(prefix: str = "") -> bool:
    """A GET that makes the server decrypt keys and ask providers (`live`, `refresh`); a
    HEAD too: it runs the GET's view, and a page may send one without a preflight."""
    flags = PROVIDER_CALLING_GETS.get(request.path.removeprefix(prefix), ())
    return request.method in ("GET", "HEAD") and any(
        request.args.get(flag, "").strip().lower() not in FALSE_WORDS
        for flag in flags if flag in request.args)


@dataclass(frozen=True)
class Mount:
    """Where configapp answers in its Flask app, and who may use it there.

    prefix: the URL prefix of the API, the pages and the health checks ("" = at the root).
    authorize: the host's hook; it returns whether the current request may use configapp
        (it may also abort with a response of its own, e.g. a redirect to its login).
        None: configapp's own sign-in (the API token or its session), on the API and
        the pages.
    whole_app: the safety net covers every request of the app (the standalone app), not
        only configapp's routes.
    blueprints: the names of configapp's blueprints in the app.
    """

    prefix: str = ""
    authorize: Callable[[], bool] | None = None
    whole_app: bool = True
    blueprints: frozenset[str] = field(default_factory=frozenset)

    @property
    def api_root(self) -> str:
        return f"{self.prefix}/api/"

    def owns(self) -> bool:
        """Whether the current request is configapp's (its routes, or a path under them)."""
        if self.whole_app or request.blueprint in self.blueprints:
            return True
        path = request.path
        return path.startswith(f"{self.prefix}/") if self.prefix else path.startswith("/api/")

    def is_openai(self, path: str) -> bool:
        """Under /v1, the OpenAI-compatible face."""
        return path.startswith(f"{self.prefix}/v1/")

    def is_open(self, path: str) -> bool:
        """Readable without signing in: the API's description, health, the pages' files."""
        local = path[len(self.prefix):]
        return local in OPEN_PATHS or local.startswith("/assets/")


def signed_in(gate: Gate, page: bool = False) -> bool:
    """Whether this request has valid credentials (kept in `g` for the answer's cookie
    renewal); too many wrong tokens is a 429. `page`: a page navigation, which the session
    cookie alone opens (configapp/access/gate.py)."""
    try:
        identity = gate.identify(request, page=page)
    except TooManyFailures as refusal:
        abort(429, message="Too many wrong API tokens (from this address, or from all "
                           f"together): try again in {refusal.retry_after} s.",
              headers={"Retry-After": str(refusal.retry_after)})
    g.configapp_identity = identity
    return identity is not None


# Headers a reverse proxy adds: a request that carries one came from somewhere else,
# whatever its own (the proxy's loopback) address says.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_loopback_client() -> bool:
    """Whether the request comes from this machine, and (werkzeug's `flask run`, which
    says where it is bound) the server listens on loopback only. A request a proxy
    forwarded (nginx's `proxy_pass http://127.0.0.1:8000` comes from loopback) is not."""
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:  # a unix socket or no address: not known to be local
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack bind
    if not (mapped or address).is_loopback:
        return False
    environ = request.environ
    if str(environ.get("SERVER_SOFTWARE", "")).startswith("Werkzeug/"):
        return is_loopback_bind(f"{environ.get('SERVER_NAME', '')}:0")
    return True


AUTH_OFF_REFUSAL = ("Authentication is off (CONFIGAPP_AUTH=off), which is allowed only for "
                    "this machine's own loopback clients on a loopback bind: this request "
                    "is not one. Remove CONFIGAPP_AUTH (the API token is then required), or "
                    "serve on 127.0.0.1.")


UNREADABLE_BODY = "The request body could not be read (malformed or cut short)."
NOT_JSON = "Send the body as JSON (Content-Type: application/json)."


def read_request_body(limit: int) -> bytes:
    """The body, read once (the views reuse it), whatever its framing: a chunked one has
    no Content-Length to look at. One the server cannot decode (bad chunking, cut short)
    is a 400, and one over the limit a 413, chunked or not."""
    try:
        body = request.get_data(cache=True)
        if request.content_length is None and len(body) >= limit:
            request.stream.read(1)  # werkzeug cuts a chunked body at the limit: 413
    except HTTPException:
        raise
    except Exception:  # what the server raised while decoding the body
        abort(400, message=UNREADABLE_BODY)
    return body


def install_security(app: Flask, settings: SecuritySettings, gate: Gate,
                     mount: Mount | None = None) -> None:
    mount = mount or Mount()
    allowed_hosts = {host.lower() for host in settings.allowed_hosts}
    extension_origins = set(settings.extension_origins)

    def refuse(code: int, message: str) -> NoReturn:
        abort(code, message=message)

    def read_body() -> bytes:
        return read_request_body(settings.max_request_bytes)

    def guard() -> Response | None:
        if not mount.owns():
            return None
        request.max_content_length = settings.max_request_bytes
        # Werkzeug's request.host is the raw Host header, port included.
        if host_name(request.host) not in allowed_hosts:
            refuse(400, "This host name is not allowed (CONFIGAPP_ALLOWED_HOSTS).")
        if mount.authorize is None and not gate.enabled and not is_loopback_client():
            refuse(403, AUTH_OFF_REFUSAL)
        if mount.is_openai(request.path):
            # /v1 signs its callers in itself, by Bearer token only (never the session
            # cookie), then reads the body: a token is no ambient authority, so the page
            # rules on origins do not apply, and no CORS answer lets a page read /v1
            # (configapp/web/openai/).
            return None
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and origin in extension_origins:
            return Response(status=204)
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if calls_providers(mount.prefix) and not bearer:
            fetch_site = request.headers.get("Sec-Fetch-Site")
            if not (origin in extension_origins or origin == request.host_url.rstrip("/") or (
                    origin is None and fetch_site in SAME_ORIGIN_FETCH_SITES | {None})):
                refuse(403, "Asking the providers (live, refresh) is allowed only from this "
                            "server's own pages, a listed extension or with the API token.")
        if request.method in WRITE_METHODS:
            same_origin = origin is None or origin == request.host_url.rstrip("/")
            if not (same_origin or origin in extension_origins) or (
                    origin is None and request.headers.get("Sec-Fetch-Site") == "cross-site"):
                refuse(403, cross_origin_refusal(origin))
        if mount.authorize is not None:
            if request.method != "OPTIONS" and not mount.is_open(request.path) and (
                    not mount.authorize()):
                refuse(401, "Sign in first: this app's login does not let this request use "
                            "configapp.")
        elif request.path.startswith(mount.api_root) and not mount.is_open(request.path) and (
                request.method != "OPTIONS") and not signed_in(gate):
            refuse(401, UNAUTHORIZED)
        # The body only after the sign-in: a client that is not signed in is answered
        # without waiting for a body it may send a byte at a time (docs/adr/0005).
        if request.method in WRITE_METHODS and read_body() and not request.is_json:
            refuse(415, NOT_JSON)
        return None

    def harden(response: Response) -> Response:
        if not mount.owns():
            return response
        identity = g.get("configapp_identity")
        if identity is not None and identity.renew:
            gate.renew_session(request, response, identity)
        headers = response.headers
        # One pass over the headers: Headers.setdefault raises and catches an exception
        # for each header that is missing, which is every one of them, on every answer.
        present = {name.lower() for name, _value in headers}
        for name, lower, value in SECURITY_HEADERS:
            if lower not in present:
                headers.add(name, value)
        origin = request.headers.get("Origin")
        if origin and origin in extension_origins and not mount.is_openai(request.path):
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
            headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-None-Match"
            headers["Access-Control-Expose-Headers"] = "ETag"
            headers["Access-Control-Max-Age"] = "600"
            headers.add("Vary", "Origin")
        return response

    # Registered by call, not by decorator: mutmut does not mutate decorated functions,
    # and these two hold the Host, origin and sign-in rules (docs/testing.md).
    app.before_request(guard)
    app.after_request(harden)
