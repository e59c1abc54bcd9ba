"""Locked by default (issue 12), in process: what needs credentials, the token made at
first start, sessions, rotation, the limit on wrong tokens, CONFIGAPP_AUTH=off.

The same through real gunicorn (the start's output, the login link, rotation by the CLI
of another process) is in test_auth_gunicorn.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import subprocess
import sys
import time

import pytest
from cryptography.fernet import Fernet
from itsdangerous import TimestampSigner

from configapp import create_app
from configapp.access.auth import (
    FAILURE_WINDOW_SECONDS,
    FAILURES_ALLOWED,
    GLOBAL_FAILURES_ALLOWED,
    SESSION_RENEW_SECONDS,
    AuthConfigurationError,
    FailureLimiter,
    is_loopback_bind,
    login_link,
)
from configapp.settings import SecuritySettings
from tests.conftest import upgrade_postgres
from tests.integration.routes import every_route
from tests.integration.support import ROOT, at_head, subprocess_env

OPEN_API = {"/api/openapi.json", "/api/docs"}
LINK = re.compile(r"http://127\.0\.0\.1:8000/login#token=([A-Za-z0-9_-]{43})\b")


@pytest.fixture
def fresh(make_settings, backend):
    """Settings with no CONFIGAPP_API_TOKEN: the token is the one made at first start."""
    settings = make_settings(security=SecuritySettings())
    if backend == "postgresql":
        upgrade_postgres(settings)
    return settings


def first_start(settings, capsys) -> tuple:
    app = create_app(settings)
    printed = capsys.readouterr().out
    found = LINK.findall(printed)
    return app, found


def anonymous(app):
    return app.test_client().signed_out()


def sign_in(browser, token: str, **options) -> str:
    """POST /login like the sign-in page; the session's secret, sent from now on."""
    signed = browser.post("/login", json={"token": token}, **options)
    assert signed.status_code == 200, signed.get_json()
    secret = signed.get_json().get("session_secret", "")
    browser.environ_base["HTTP_X_CONFIGAPP_SESSION"] = secret
    return secret


def test_every_api_route_needs_credentials_but_the_documented_open_ones(app, client):
    key_id = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-auth-walk-00001234"}).get_json()["id"]
    stranger = anonymous(app)
    api = [route for route in every_route(app, key_id) if route.path.startswith("/api/")
           and route.method not in ("OPTIONS", "HEAD")]
    assert len(api) >= 12
    for route in api:
        response = stranger.open(route.path, method=route.method, json=route.body)
        if route.path in OPEN_API:
            assert response.status_code == 200, route
        else:
            assert response.status_code == 401, route
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "flask --app wsgi config token" in response.get_json()["message"]
    for path in ("/healthz", "/readyz", "/login", "/assets/js/login-page.js", "/session"):
        assert stranger.get(path).status_code == 200, path


def test_a_page_without_a_session_sends_the_browser_to_sign_in(app):
    stranger = anonymous(app)
    for page in ("/", "/settings"):
        response = stranger.get(page)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/login?next={page}"
    assert b"flask --app wsgi config token" in stranger.get("/login").data


def test_the_first_start_makes_a_token_and_shows_its_link_once(fresh, capsys, caplog):
    app, links = first_start(fresh, capsys)
    assert len(links) == 1
    token = links[0]
    assert token not in caplog.text  # printed, never logged
    again, more = first_start(fresh, capsys)
    assert more == []  # a later start cannot show it: only the hash is kept
    for server in (app, again):  # both instances (same database) agree on it
        client = anonymous(server)
        assert client.get("/api/config/sync").status_code == 401
        assert client.get("/api/config/sync", headers={
            "Authorization": f"Bearer {token}"}).status_code == 200


def test_the_token_buys_a_session_cookie_that_opens_the_api_and_the_pages(app):
    browser = anonymous(app)
    signed = browser.post("/login", json={"token": app.extensions["configapp"].settings
                                          .security.api_token})
    assert signed.status_code == 200
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Max-Age=2592000" in cookie and "Secure" not in cookie  # plain http here
    # The cookie alone opens the pages (a navigation sends no header), not the API.
    assert browser.get("/settings").status_code == 200
    assert browser.get("/api/config/sync").status_code == 401
    assert browser.get("/session").get_json()["signed_in"] is False
    secret = signed.get_json()["session_secret"]
    assert signed.get_json()["session_header"] == "X-Configapp-Session"
    assert secret not in cookie and signed.headers["Cache-Control"] == "no-store"
    browser.environ_base["HTTP_X_CONFIGAPP_SESSION"] = secret
    assert browser.get("/api/config/sync").status_code == 200
    assert browser.get("/settings").status_code == 200
    assert browser.get("/session").get_json() == {"auth": "on", "signed_in": True,
                                                  "method": "session"}
    out = browser.post("/logout")
    assert out.status_code == 204 and "Max-Age=0" in out.headers["Set-Cookie"]
    assert browser.get("/api/config/sync").status_code == 401


def test_a_session_older_than_a_day_is_renewed_when_used_and_a_fresh_one_is_not(
        app, monkeypatch):
    """A browser used every day stays signed in: a cookie past SESSION_RENEW_SECONDS is
    issued again on its next use; a younger one, a bearer request or no credentials get
    no cookie."""
    token = app.extensions["configapp"].settings.security.api_token
    issued_at = int(time.time()) - SESSION_RENEW_SECONDS - 60
    old = anonymous(app)
    with monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda self: issued_at)
        sign_in(old, token)
    stale = old.get_cookie("configapp_session_80").value

    used = old.get("/api/config/sync")
    assert used.status_code == 200
    renewed = used.headers.get("Set-Cookie", "")
    assert renewed.startswith("configapp_session_80=") and "Max-Age=2592000" in renewed
    assert "HttpOnly" in renewed and "SameSite=Strict" in renewed
    fresh_cookie = old.get_cookie("configapp_session_80").value
    assert fresh_cookie != stale
    # The same session, so the same secret: the page's stored one goes on working.
    assert old.get("/api/config/sync").headers.get("Set-Cookie") is None  # now young

    young = anonymous(app)
    sign_in(young, token)
    assert young.get("/api/config/sync").headers.get("Set-Cookie") is None
    assert app.test_client().get("/api/config/sync").headers.get("Set-Cookie") is None
    stranger = anonymous(app)
    for path in ("/api/config/sync", "/healthz"):
        assert stranger.get(path).headers.get("Set-Cookie") is None  # no session for free


def test_over_https_the_cookie_is_secure(app):
    browser = anonymous(app)
    signed = browser.post("/login", base_url="https://localhost", json={
        "token": app.extensions["configapp"].settings.security.api_token})
    assert "Secure" in signed.headers["Set-Cookie"]


def test_a_wrong_or_missing_token_is_refused_clearly(app):
    browser = anonymous(app)
    wrong = browser.post("/login", json={"token": "not-the-token"})
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
    assert "config token" in wrong.get_json()["message"]
    assert browser.post("/login", json={}).status_code == 400
    assert browser.post("/login", data="token=x",
                        content_type="application/x-www-form-urlencoded").status_code == 415
    foreign = browser.post("/login", json={"token": "x"},
                           headers={"Origin": "http://attacker.example"})
    assert foreign.status_code == 403


def test_a_forged_or_foreign_cookie_is_refused(app, make_settings):
    signed = anonymous(app)
    signed.post("/login", json={"token": app.extensions["configapp"].settings
                                .security.api_token})
    cookie = signed.get_cookie("configapp_session_80").value
    forged = anonymous(app)
    forged.set_cookie("configapp_session_80", cookie[:-2] + ("AA" if cookie[-2:] != "AA"
                                                            else "BB"))
    assert forged.get("/api/config/sync").status_code == 401
    # Another server with the same token but another encryption key: not its session.
    other = create_app(make_settings(data_dir=app.extensions["configapp"].settings.data_dir
                                     .parent / "other",
                                     encryption_keys=(Fernet.generate_key().decode(),),
                                     database_url=""))
    stranger = anonymous(other)
    stranger.set_cookie("configapp_session_80", cookie)
    assert stranger.get("/api/config/sync").status_code == 401


def near_misses(right: str) -> dict[str, str]:
    """What a check that compares less than the whole of `right` would let through."""
    return {"the last character changed": right[:-1] + ("B" if right[-1] == "A" else "A"),
            "a prefix": right[:-1], "the first half": right[:len(right) // 2],
            "one character more": right + "A", "empty": ""}


def test_the_token_and_the_session_secret_open_only_when_whole(app):
    """Issue 32: a check comparing a prefix, or the first n characters, would let a near
    miss through. The API token (as a bearer, at sign-in, for the identity key) and the
    session's secret (X-Configapp-Session): each near miss refused, the whole accepted."""
    token = app.extensions["configapp"].settings.security.api_token
    uses = {  # one address each: the near misses stay under the limit of wrong tokens
        "bearer": lambda c, t: c.get("/api/config/sync", headers={
            "Authorization": f"Bearer {t}"}),
        "sign-in": lambda c, t: c.post("/login", json={"token": t}),
        "identity key": lambda c, t: c.get("/identity/key", headers={
            "Authorization": f"Bearer {t}"}),
    }
    for number, (use, send) in enumerate(uses.items(), start=1):
        client = anonymous(app)
        client.environ_base["REMOTE_ADDR"] = f"127.0.0.{number}"
        for name, near in near_misses(token).items():
            answer = send(client, near)
            assert answer.status_code == (400 if use == "sign-in" and not near else 401), (
                use, name, answer.status_code)
            assert "Set-Cookie" not in answer.headers, (use, name)
        assert send(client, token).status_code == 200, use
    browser = anonymous(app)
    secret = sign_in(browser, token)
    for name, near in near_misses(secret).items():
        browser.environ_base["HTTP_X_CONFIGAPP_SESSION"] = near
        assert browser.get("/api/config/sync").status_code == 401, name
    browser.environ_base["HTTP_X_CONFIGAPP_SESSION"] = secret
    assert browser.get("/api/config/sync").status_code == 200


def test_rotating_the_token_ends_every_session(fresh, capsys):
    app, (token,) = first_start(fresh, capsys)
    browser = anonymous(app)
    sign_in(browser, token)
    assert browser.get("/api/config/sync").status_code == 200
    result = app.test_cli_runner().invoke(args=["config", "token", "--yes"])
    assert result.exit_code == 0, result.output
    (new,) = LINK.findall(result.stdout)
    assert new != token
    assert browser.get("/api/config/sync").status_code == 401  # the old session
    bearer = anonymous(app)
    assert bearer.get("/api/config/sync", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401
    assert bearer.get("/api/config/sync", headers={
        "Authorization": f"Bearer {new}"}).status_code == 200


def test_rotation_refuses_when_the_token_comes_from_the_environment(runner):
    result = runner.invoke(args=["config", "token", "--yes"])
    assert result.exit_code == 1
    assert "CONFIGAPP_API_TOKEN" in result.output


def test_wrong_tokens_are_limited_but_the_right_token_never_is(app, caplog):
    """Ten wrong tokens from a local process do not lock the owner out: the right token
    (the extension's) and a sign-in with it still pass, from the same address too. The
    wrong ones past the limit get a 429, and the log one line per address and window."""
    token = app.extensions["configapp"].settings.security.api_token
    guesser = anonymous(app)
    with caplog.at_level(logging.WARNING, logger="configapp.access.auth"):
        for _ in range(FAILURES_ALLOWED):
            assert guesser.get("/api/config/sync", headers={
                "Authorization": "Bearer guess"}).status_code == 401
        limited = guesser.get("/api/config/sync", headers={"Authorization": "Bearer guess"})
    assert limited.status_code == 429
    retry_after = int(limited.headers["Retry-After"])
    assert 0 < retry_after <= FAILURE_WINDOW_SECONDS + 1
    message = limited.get_json()["message"]  # says why, and when to try again
    assert "too many wrong api tokens" in message.lower() and f" {retry_after} s" in message
    assert caplog.text.count("a wrong API token from 127.0.0.1") == 1
    assert guesser.post("/login", json={"token": "guess"}).status_code == 429
    assert guesser.get("/api/config/sync", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    assert guesser.post("/login", json={"token": token}).status_code == 200


def test_rotating_source_addresses_does_not_escape_the_global_bound(app):
    guesser = anonymous(app)
    for number in range(GLOBAL_FAILURES_ALLOWED):
        guesser.environ_base["REMOTE_ADDR"] = f"127.0.{number // 250}.{number % 250 + 1}"
        assert guesser.get("/api/config/sync", headers={
            "Authorization": "Bearer guess"}).status_code == 401
    guesser.environ_base["REMOTE_ADDR"] = "127.9.9.9"
    assert guesser.get("/api/config/sync", headers={
        "Authorization": "Bearer guess"}).status_code == 429


def test_the_limiter_forgets_failures_after_its_window():
    now = [0.0]
    limiter = FailureLimiter(allowed=2, window=60, clock=lambda: now[0], allowed_in_all=3)
    assert limiter.fail("a") == (True, 0)
    assert limiter.fail("a") == (False, 0)
    assert limiter.fail("a") == (False, 61)
    assert limiter.fail("b") == (True, 61)  # three in all: everyone is over, b too
    now[0] = 60.5
    assert limiter.fail("a") == (True, 0)


def test_a_basic_header_is_not_a_token_and_a_wrong_bearer_beside_a_session_is_refused(app):
    """A basic-auth proxy in front sends `Authorization: Basic ...` with every request: it
    neither overrides the session nor counts as a wrong token. A wrong bearer token beside
    a good session is refused."""
    browser = anonymous(app)
    sign_in(browser, app.extensions["configapp"].settings.security.api_token)
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    for _ in range(FAILURES_ALLOWED + 2):
        assert browser.get("/api/config/sync", headers=basic).status_code == 200
    assert browser.get("/api/config/sync", headers={
        "Authorization": "Bearer wrong"}).status_code == 401
    assert anonymous(app).get("/api/config/sync", headers=basic).status_code == 401


def test_auth_off_refuses_clients_that_are_not_loopback_whatever_serves_it(make_settings,
                                                                          backend):
    """`flask run --host 0.0.0.0` or an operator's own gunicorn config: the start's bind
    checks do not see it, each request's address (and werkzeug's bind) does."""
    settings = make_settings(security=SecuritySettings(auth_enabled=False))
    if backend == "postgresql":
        upgrade_postgres(settings)
    app = create_app(settings)
    client = anonymous(app)
    assert client.get("/api/config/sync").status_code == 200
    client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    for path in ("/api/config/sync", "/settings", "/healthz"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "CONFIGAPP_AUTH=off" in refused.get_json()["message"]
    client.environ_base["REMOTE_ADDR"] = "::ffff:192.0.2.7"  # a dual-stack bind's form
    assert client.get("/api/config/sync").status_code == 403
    client.environ_base["REMOTE_ADDR"] = "::ffff:127.0.0.1"
    assert client.get("/api/config/sync").status_code == 200
    local = anonymous(app)
    served = {"SERVER_SOFTWARE": "Werkzeug/3.1", "SERVER_NAME": "0.0.0.0"}
    # flask run --host 0.0.0.0: refused even to this machine, which says how to fix it
    assert local.get("/api/config/sync", environ_overrides=served).status_code == 403
    served["SERVER_NAME"] = "127.0.0.1"
    assert local.get("/api/config/sync", environ_overrides=served).status_code == 200


@pytest.mark.parametrize("header", [
    {"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
    {"Forwarded": "for=203.0.113.9;proto=https"}])
def test_auth_off_refuses_what_a_reverse_proxy_on_this_machine_forwards(make_settings,
                                                                       backend, header):
    """nginx's `proxy_pass http://127.0.0.1:8000` connects from loopback, with a Host the
    allow-list knows: the request is the internet's all the same, and says so."""
    settings = make_settings(security=SecuritySettings(auth_enabled=False))
    if backend == "postgresql":
        upgrade_postgres(settings)
    client = anonymous(create_app(settings))
    assert client.get("/api/config/sync").status_code == 200
    refused = client.get("/api/config/sync", headers=header)
    assert refused.status_code == 403
    assert "CONFIGAPP_AUTH=off" in refused.get_json()["message"]


def test_auth_off_is_refused_on_an_address_that_is_not_loopback(make_settings):
    for bind in ("0.0.0.0:8000", "192.168.1.5:8000", "example.org:80",
                 "127.0.0.1:8000,10.0.0.1:8000"):
        with pytest.raises(AuthConfigurationError, match="only on a loopback address"):
            create_app(make_settings(security=SecuritySettings(auth_enabled=False,
                                                               bind=bind)))


def test_auth_off_on_loopback_needs_no_credentials_and_warns(make_settings, backend, caplog):
    settings = make_settings(security=SecuritySettings(auth_enabled=False,
                                                       bind="[::1]:8123"))
    if backend == "postgresql":
        upgrade_postgres(settings)
    with caplog.at_level(logging.WARNING):
        app = create_app(settings)
    assert "Authentication is OFF" in caplog.text
    client = anonymous(app)
    assert client.get("/api/config/sync").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/session").get_json()["auth"] == "off"


def test_binds_and_links():
    assert is_loopback_bind("127.0.0.1:8000") and is_loopback_bind("[::1]:80")
    assert is_loopback_bind("localhost:8000") and is_loopback_bind("127.8.9.1:1")
    assert not is_loopback_bind("0.0.0.0:8000") and not is_loopback_bind("unix:/tmp/s")
    assert login_link("0.0.0.0:9000", "t") == "http://127.0.0.1:9000/login#token=t"
    assert login_link("[::1]:8000", "t") == "http://[::1]:8000/login#token=t"


def test_racing_first_starts_agree_on_one_token(fresh):
    """Three processes start at the same instant on one new database: one token is made,
    one link printed, and it is the token every instance accepts."""
    if fresh.is_sqlite:  # (on PostgreSQL the fixture upgraded it, before any token)
        at_head(fresh)
    start_at = f"{time.time() + 3:.3f}"
    children = [subprocess.Popen([sys.executable, "-m", "tests.integration.start_app",
                                  start_at], cwd=ROOT, env=subprocess_env(fresh),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    outputs = [child.communicate(timeout=90)[0] for child in children]
    assert all('"outcome": "started"' in output for output in outputs), outputs
    links = [link for output in outputs for link in LINK.findall(output)]
    assert len(links) == 1, outputs
    app = create_app(fresh)
    assert anonymous(app).get("/api/config/sync", headers={
        "Authorization": f"Bearer {links[0]}"}).status_code == 200


def test_the_server_proves_its_identity_to_a_holder_of_the_key_the_token_buys(app):
    """The extension learns the identity key with the token (/identity/key), then sends
    the token only to a server that answers its challenge with the key's HMAC."""
    token = app.extensions["configapp"].settings.security.api_token
    stranger = anonymous(app)
    assert stranger.get("/identity/key").status_code == 401
    browser = anonymous(app)
    sign_in(browser, token)
    assert browser.get("/identity/key").status_code == 401  # a session is not the token
    learnt = stranger.get("/identity/key", headers={"Authorization": f"Bearer {token}"})
    assert learnt.status_code == 200 and learnt.headers["Cache-Control"] == "no-store"
    key = base64.urlsafe_b64decode(learnt.get_json()["key"] + "=")
    challenge = "c" * 16 + "-_9"
    proof = stranger.get(f"/identity?challenge={challenge}").get_json()["proof"]
    expected = hmac.new(key, challenge.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(proof + "=") == expected
    for bad in ("", "short", "x" * 129, "has space here!!", "é" * 16):
        assert stranger.get("/identity", query_string={"challenge": bad}).status_code == 400
