"""Signing in: the login page, the token traded for a session cookie, and signing out.

`GET /login` serves the page that reads the login link's `#token=...` (a fragment: it never
reaches the server's access log) and POSTs it here; the answer sets the session cookie
(HttpOnly, SameSite=Strict, Secure over https) and its body the session's secret, which
the page sends as a header with every API call (configapp/access/gate.py). All open without
credentials; the POSTs still pass the same-origin check of every write (configapp/web/security.py).
"""

from __future__ import annotations

import re
from base64 import urlsafe_b64encode
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, request, url_for
from flask_smorest import abort

from configapp.access.auth import SESSION_SECONDS, TooManyFailures
from configapp.access.gate import SESSION_HEADER
from configapp.components import components
from configapp.log_lines import log_text
from configapp.web.pages import send_page
from configapp.web.security import UNAUTHORIZED, signed_in

blp = Blueprint("configapp_signin", __name__)
# Where a sign-in may send the browser back to: the pages, nothing else (no open redirect).
RETURN_PATHS = frozenset({"/", "/settings"})
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{16,128}")


def return_url(value: str | None) -> str:
    """The page to go back to, under the mount's prefix."""
    prefix = url_for("configapp_signin.login_page").removesuffix("/login")
    return prefix + (value if value in RETURN_PATHS else "/")


@blp.get("/login")
def login_page() -> Response:
    """The sign-in page (with authentication off or a host's login, the Chat page)."""
    if not components().gate.enabled:
        return redirect(return_url(request.args.get("next")), code=303)
    return send_page("login.html")


@blp.post("/login")
def login() -> tuple[Response, int]:
    """Trade the API token for a session: `{"token": "..."}`. The answer sets its cookie
    and gives its secret (`session_secret`), which the page keeps in its origin's storage
    and sends in the `session_header` of every API call."""
    gate = components().gate
    if not gate.own_auth:
        abort(404, message="Sign in with this app's own login.")
    body: Any = request.get_json(silent=True)
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        abort(400, message='Send the API token as JSON: {"token": "..."}.')
    if not gate.enabled:
        return jsonify(signed_in=True, auth="off"), 200
    try:
        state = gate.check_token(request, token.strip())
    except TooManyFailures as refusal:
        abort(429, message="Too many wrong API tokens (from this address, or from all "
                           f"together): try again in {refusal.retry_after} s.",
              headers={"Retry-After": str(refusal.retry_after)})
    if state is None:
        abort(401, message="That is not this server's API token (a rotated token no longer "
                           "works). Run `flask --app wsgi config token` on the server for a "
                           "new login link.")
    cookie, secret = gate.sessions.start(state)
    # The secret goes in the body, never in a cookie: only this page's origin reads it.
    response = jsonify(signed_in=True, auth="on", session_seconds=SESSION_SECONDS,
                       session_header=SESSION_HEADER, session_secret=secret)
    response.headers["Cache-Control"] = "no-store"
    gate.set_cookie(request, response, cookie)
    current_app.logger.info("a browser signed in from %s", log_text(gate.address(request)))
    return response, 200


@blp.post("/logout")
def logout() -> Response:
    """End this browser's session (its cookie); other sessions go on until a rotation."""
    response = Response(status=204)
    components().gate.end_session(request, response)
    return response


@blp.get("/session")
def session() -> dict[str, Any]:
    """Whether this browser is signed in, and how (the pages' Sign out button)."""
    gate = components().gate
    if not gate.own_auth:
        return {"auth": "host", "signed_in": True, "method": "host"}
    if not gate.enabled:
        return {"auth": "off", "signed_in": True, "method": "off"}
    is_in = signed_in(gate)
    identity = g.get("configapp_identity")
    return {"auth": "on", "signed_in": is_in, "method": identity.method if is_in else None}


@blp.get("/identity")
def identity() -> dict[str, str]:
    """Prove this is the configapp the extension signed in to, before it sends its token:
    `?challenge=<16 to 128 URL-safe characters>` -> `{"proof": HMAC(identity key,
    challenge)}`. Open: the proof gives nothing away; a program squatting the port while
    configapp is down cannot make it (ADR 0006)."""
    gate = components().gate
    if not gate.enabled:
        abort(404, message="configapp's own sign-in is off here: there is no identity to prove.")
    challenge = request.args.get("challenge", "")
    if not CHALLENGE.fullmatch(challenge):
        abort(400, message="Send ?challenge= with 16 to 128 letters, digits, '-' or '_'.")
    return {"proof": gate.sessions.identity_proof(challenge)}


@blp.get("/identity/key")
def identity_key() -> Response:
    """The identity key, for a holder of the API token (the extension, when it is given
    the token): with it, it checks `/identity`'s proofs later."""
    gate = components().gate
    if not gate.enabled:
        abort(404, message="configapp's own sign-in is off here: there is no identity to prove.")
    if not signed_in(gate) or g.configapp_identity.method != "bearer":
        abort(401, message=UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    key = urlsafe_b64encode(gate.sessions.identity_key()).rstrip(b"=").decode()
    response = jsonify(key=key)
    response.headers["Cache-Control"] = "no-store"
    return response
