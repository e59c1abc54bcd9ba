"""Locked by default through real gunicorn: the start's login link, every /api/ route
closed without credentials, rotation by the CLI of another process, CONFIGAPP_AUTH=off.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.harness import (
    LOGIN_LINK,
    ROOT,
    Server,
    free_port,
    server_environment,
    spawn_gunicorn,
)

FLASK = str(Path(sys.executable).parent / "flask")
OPEN_API = {"/api/openapi.json", "/api/docs"}
SAMPLE = {"key_id": "1", "model_id": "openai/gpt-4o-mini", "provider": "openai", "name": "fast",
          "scope": "provider", "target": "openai"}


def call(server: Server, method: str, path: str, body: object = None,
         headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    sent = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def session_cookie(response: http.client.HTTPResponse) -> str:
    """`name=value` of the Set-Cookie of a sign-in."""
    return response.headers["Set-Cookie"].split(";", 1)[0]


@pytest.fixture
def locked(make_server) -> Server:
    """A first start with no CONFIGAPP_API_TOKEN: the server makes its token."""
    return make_server({"CONFIGAPP_AUTH": "on"})


def test_every_api_route_refuses_a_request_without_credentials(locked: Server):
    assert locked.login_link is not None
    status, document = locked.api("GET", "/api/openapi.json", token="-")
    assert status == 200
    operations = [(method.upper(), re.sub(r"{([a-z_]+)}", lambda m: SAMPLE[m.group(1)], path))
                  for path, item in document["paths"].items() for method in item
                  if method != "parameters"]
    assert len(operations) >= 12
    for method, path in operations:
        response = call(locked, method, path, {} if method in ("POST", "PUT", "PATCH") else None)
        assert response.status == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for path in (*OPEN_API, "/healthz", "/readyz", "/login", "/assets/js/login-page.js"):
        assert call(locked, "GET", path).status == 200, path
    for page in ("/", "/settings"):
        refused = call(locked, "GET", page)
        assert refused.status == 303 and refused.headers["Location"] == f"/login?next={page}"


def test_the_login_link_of_the_start_output_signs_in_and_is_shown_once(locked: Server):
    log = locked.log()
    assert len(LOGIN_LINK.findall(log)) == 1
    assert locked.login_link.startswith(f"{locked.url}/login#token=")
    assert log.count(locked.token) == 1  # only in the link: not in any log line
    signed = call(locked, "POST", "/login", {"token": locked.token})
    assert signed.status == 200
    cookie = session_cookie(signed)
    assert call(locked, "GET", "/api/config/sync", headers={"Cookie": cookie}).status == 200
    locked.restart()  # a later start shows no link: only the hash is kept
    assert len(LOGIN_LINK.findall(locked.log())) == 1
    assert call(locked, "GET", "/api/config/sync", headers={"Cookie": cookie}).status == 200


def test_a_cookie_of_a_rotated_token_is_refused(locked: Server):
    cookie = session_cookie(call(locked, "POST", "/login", {"token": locked.token}))
    rotated = subprocess.run([FLASK, "--app", "wsgi", "config", "token", "--yes"], cwd=ROOT,
                             env=locked.env, capture_output=True, text=True, timeout=120,
                             check=False)
    assert rotated.returncode == 0, rotated.stderr
    (new,) = LOGIN_LINK.findall(rotated.stdout)
    assert new != locked.token
    # Every worker of the running server sees it at once: no restart.
    for _ in range(4):
        assert call(locked, "GET", "/api/config/sync", headers={"Cookie": cookie}).status == 401
        assert call(locked, "GET", "/api/config/sync", headers={
            "Authorization": f"Bearer {locked.token}"}).status == 401
        assert call(locked, "GET", "/api/config/sync", headers={
            "Authorization": f"Bearer {new}"}).status == 200
    fresh = session_cookie(call(locked, "POST", "/login", {"token": new}))
    assert call(locked, "GET", "/api/config/sync", headers={"Cookie": fresh}).status == 200


def test_auth_off_with_a_bind_that_is_not_loopback_refuses_to_start(tmp_path: Path):
    port = free_port()
    env = server_environment(tmp_path / "data", port, {"CONFIGAPP_AUTH": "off"})
    env["CONFIGAPP_BIND"] = f"0.0.0.0:{port}"
    log_path = tmp_path / "gunicorn.log"
    process = spawn_gunicorn(env, log_path)
    try:
        assert process.wait(timeout=60) != 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = log_path.read_text()
    assert "CONFIGAPP_AUTH=off is allowed only on a loopback address" in log


def test_auth_off_on_loopback_needs_nothing_and_warns(make_server):
    server = make_server({"CONFIGAPP_AUTH": "off"})
    assert "Authentication is OFF" in server.log()
    assert LOGIN_LINK.search(server.log()) is None
    assert call(server, "GET", "/api/config/sync").status == 200
    assert call(server, "GET", "/settings").status == 200


def test_auth_off_is_refused_when_a_command_line_bind_is_not_loopback(tmp_path: Path):
    """CONFIGAPP_BIND says loopback, but `-b` binds everywhere: gunicorn.conf.py's check of
    the sockets really bound stops the start before any worker serves."""
    port = free_port()
    env = server_environment(tmp_path / "data", port, {"CONFIGAPP_AUTH": "off"})
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--no-control-socket", "-b",
                           f"0.0.0.0:{port}", "wsgi:app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "CONFIGAPP_AUTH=off is allowed only on a loopback address" in done.stderr
    assert "Booting worker" not in done.stderr
