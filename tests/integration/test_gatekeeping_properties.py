"""The gatekeeping comparisons, as properties (issue 25): the Host allow-list, the API
token, the session's secret and the extension origins let only the exact value through.
A prefix, a shorter or longer string, one that starts or ends with the allowed value, a
case or Unicode variant, or one with a character added, changed or removed is refused.

Host names are the one case-insensitive comparison (RFC 3986: `LocalHost` is `localhost`,
and browsers send it lower-cased); every other variant of them is refused.

Strings reach the app as a server would hand them over: a header's UTF-8 bytes decoded
as latin-1 (WSGI's rule), so a full-width or composed look-alike arrives as what it is.
"""

from __future__ import annotations

import unicodedata

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from configapp import create_app
from configapp.access.auth import Sessions, TokenState, token_hash
from configapp.settings import SecuritySettings
from configapp.web.security import host_name
from tests.conftest import TEST_API_TOKEN, upgrade_postgres

EXTENSION = "chrome-extension://" + "abcdefghijklmnopabcdefghijklmnop"
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
# Characters an attacker might add: ASCII punctuation, controls-free, and a few look-alikes.
EXTRA = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
LOOK_ALIKES = {".": "\uff0e", "/": "\u2215", ":": "\uff1a", "-": "\u2010", "a": "\u0430",
               "e": "\u0435", "o": "\u043e", "c": "\u0441", "1": "\uff11", "l": "\u217c"}


@st.composite
def variants(draw: st.DrawFn, allowed: str, case_counts: bool = True) -> str:
    """A string that is not `allowed` but near it."""
    cut = draw(st.integers(0, len(allowed) - 1))
    extra = draw(st.text(EXTRA, min_size=1, max_size=4))
    where = draw(st.integers(0, len(allowed)))
    kinds = [
        allowed[:cut],                                        # a prefix, a shorter one
        allowed + extra,                                      # starts with it
        extra + allowed,                                      # ends with it
        allowed[:where] + extra + allowed[where:],            # a character inserted
        allowed[:cut] + allowed[cut + 1:],                    # one removed
        allowed[:cut] + extra[0] + allowed[cut + 1:],         # one changed
        "".join(LOOK_ALIKES.get(c, c) for c in allowed),      # Unicode look-alikes
        unicodedata.normalize("NFKD", allowed.replace("o", "\u00f6")),  # composed forms
    ]
    if case_counts:
        kinds.append(allowed.swapcase())
        kinds.append(allowed[:cut] + allowed[cut].swapcase() + allowed[cut + 1:])
    variant = draw(st.sampled_from(kinds))
    if not case_counts:
        variant = variant if variant.lower() != allowed.lower() else allowed + extra
    return variant if variant != allowed else allowed + extra


def started(make_settings, backend: str, **overrides) -> Flask:
    settings = make_settings(**overrides)
    if backend == "postgresql":
        upgrade_postgres(settings)
    return create_app(settings)


def on_the_wire(text: str) -> str:
    """What a WSGI server hands the app for a header sent as UTF-8."""
    return text.encode("utf-8").decode("latin-1")


def status_for_host(app: Flask, host: str) -> int:
    """GET /healthz with this Host header, straight through WSGI (werkzeug's test client
    parses the URL it makes of the Host, and some of these are no URL's host)."""
    environ = EnvironBuilder(path="/healthz").get_environ()
    environ["HTTP_HOST"] = host
    statuses: list[str] = []
    body = app(environ, lambda status, headers: statuses.append(status))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return int(statuses[0].split()[0])


def test_only_an_allowed_host_passes(make_settings, backend):
    app = started(make_settings, backend)

    @FAST
    @given(allowed=st.sampled_from(["localhost", "127.0.0.1", "[::1]"]), data=st.data())
    def check(allowed: str, data: st.DataObject) -> None:
        variant = data.draw(variants(allowed, case_counts=False))
        assert host_name(variant) != allowed
        for host in (variant, variant + ":8000"):
            assert status_for_host(app, on_the_wire(host)) == 400, host
        for host in (allowed, allowed.upper(), f"{allowed}:8000"):
            assert status_for_host(app, host) == 200, host

    check()


@FAST
@given(data=st.data())
def test_only_the_api_token_matches(data: st.DataObject):
    state = TokenState(token_hash(TEST_API_TOKEN), 1)
    assert state.matches(TEST_API_TOKEN)
    assert not state.matches(data.draw(variants(TEST_API_TOKEN)))


@FAST
@given(data=st.data())
def test_only_the_sessions_own_secret_matches(data: st.DataObject):
    sessions = Sessions(b"server secret")
    state = TokenState(token_hash(TEST_API_TOKEN), 1)
    cookie, secret = sessions.start(state)
    session = sessions.open(cookie, state)
    assert session is not None and sessions.matches_secret(session, state, secret)
    assert not sessions.matches_secret(session, state, on_the_wire(data.draw(variants(secret))))
    other = sessions.open(sessions.start(state)[0], state)
    assert other is not None and not sessions.matches_secret(other, state, secret)


def test_only_the_api_token_and_the_session_secret_open_the_api(make_settings, backend):
    app = started(make_settings, backend)
    browser = app.test_client().signed_out()
    secret = browser.post("/login", json={"token": TEST_API_TOKEN}).get_json()[
        "session_secret"]

    @FAST
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        token = on_the_wire(data.draw(variants(TEST_API_TOKEN)))
        assert app.test_client().signed_out().get("/api/config/sync", headers={
            "Authorization": f"Bearer {token}"}).status_code in (401, 429)
        wrong = on_the_wire(data.draw(variants(secret)))
        assert browser.get("/api/config/sync", headers={
            "X-Configapp-Session": wrong}).status_code == 401

    check()
    assert browser.get("/api/config/sync", headers={
        "X-Configapp-Session": secret}).status_code == 200


def test_only_a_listed_extension_origin_gets_cors(make_settings, backend):
    app = started(make_settings, backend, security=SecuritySettings(
        api_token=TEST_API_TOKEN, extension_origins=(EXTENSION,)))
    client = app.test_client()

    def allowed(origin: str) -> bool:
        answer = client.options("/api/config/sync", headers={"Origin": origin})
        return answer.status_code == 204 and (
            answer.headers.get("Access-Control-Allow-Origin") == origin)

    assert allowed(EXTENSION)

    @FAST
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        assert not allowed(on_the_wire(data.draw(variants(EXTENSION))))

    check()
