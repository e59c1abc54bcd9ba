"""Locked by default through real gunicorn: the start's login link, every /api/ route
closed without credentials, rotation by the CLI of another process, a session cookie that
another port of the host receives and cannot use, wrong tokens that cannot lock the owner
out, CONFIGAPP_AUTH=off.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from configapp.access.auth import FAILURES_ALLOWED, GLOBAL_FAILURES_ALLOWED
from tests.e2e.harness import (
    LOGIN_LINK,
    ROOT,
    Server,
    free_port,
    server_environment,
    spawn_gunicorn,
    wait_until_ready,
)

FLASK = str(Path(sys.executable).parent / "flask")
OPEN_API = {"/api/openapi.json", "/api/docs"}
SAMPLE = {"key_id": "1", "client_id": "1", "model_id": "openai/gpt-4o-mini", "provider": "openai",
          "name": "fast",
          "scope": "provider", "target": "openai", "receipt": "A" * 22}


def call(server: Server, method: str, path: str, body: object = None,
         headers: dict[str, str] | None = None, source: str | None = None,
         host: str | None = None) -> http.client.HTTPResponse:
    """One request on a new connection, from the `source` address (127.0.0.1), to `host`
    (the server's)."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(
        host or parts.hostname, parts.port, timeout=30,
        source_address=(source, 0) if source else None)
    sent = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def session_cookie(response: http.client.HTTPResponse) -> str:
    """`name=value` of the Set-Cookie of a sign-in."""
    return response.headers["Set-Cookie"].split(";", 1)[0]


def session(response: http.client.HTTPResponse) -> dict[str, str]:
    """What the signed-in page sends: the cookie, and the session's secret beside it."""
    return {"Cookie": session_cookie(response),
            "X-Configapp-Session": json.loads(response.body)["session_secret"]}


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
    browser = session(signed)
    assert call(locked, "GET", "/api/config/sync", headers=browser).status == 200
    locked.restart()  # a later start shows no link: only the hash is kept
    assert len(LOGIN_LINK.findall(locked.log())) == 1
    assert call(locked, "GET", "/api/config/sync", headers=browser).status == 200


def test_a_cookie_of_a_rotated_token_is_refused(locked: Server):
    browser = session(call(locked, "POST", "/login", {"token": locked.token}))
    rotated = subprocess.run([FLASK, "--app", "wsgi", "config", "token", "--yes"], cwd=ROOT,
                             env=locked.env, capture_output=True, text=True, timeout=120,
                             check=False)
    assert rotated.returncode == 0, rotated.stderr
    (new,) = LOGIN_LINK.findall(rotated.stdout)
    assert new != locked.token
    # Every worker of the running server sees it at once: no restart.
    for _ in range(4):
        assert call(locked, "GET", "/api/config/sync", headers=browser).status == 401
        assert call(locked, "GET", "/api/config/sync", headers={
            "Authorization": f"Bearer {locked.token}"}).status == 401
        assert call(locked, "GET", "/api/config/sync", headers={
            "Authorization": f"Bearer {new}"}).status == 200
    fresh = session(call(locked, "POST", "/login", {"token": new}))
    assert call(locked, "GET", "/api/config/sync", headers=fresh).status == 200


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


def test_a_session_cookie_alone_opens_nothing_and_wrong_tokens_never_lock_the_owner_out(
        make_server):
    """Findings of issue 25, on one server (one worker: the limits are per process).

    A page on another port of 127.0.0.1 receives the session cookie (cookies ignore
    ports); replayed without the session's secret it neither reads nor writes. Wrong
    tokens from any local process, from one address or rotating over 127.x, get 429s
    past the limits, and the owner's right token and a sign-in with it still pass."""
    server = make_server({"CONFIGAPP_AUTH": "on", "CONFIGAPP_WORKERS": "1"})
    signed = call(server, "POST", "/login", {"token": server.token})
    assert signed.status == 200
    replayed = {"Cookie": session_cookie(signed)}
    assert call(server, "GET", "/api/config/api-keys", headers=replayed).status == 401
    budget = ("PUT", "/api/config/budgets/provider/openai", {"monthly_limit": 5})
    assert call(server, *budget, headers=replayed).status == 401
    secret = json.loads(signed.body)["session_secret"]
    assert secret not in signed.headers["Set-Cookie"]
    assert call(server, "GET", "/api/config/api-keys", headers={
        **replayed, "X-Configapp-Session": secret[:-1]}).status == 401
    assert call(server, "GET", "/settings", headers=replayed).status == 200  # the page
    assert call(server, "GET", "/api/config/api-keys", headers={
        **replayed, "X-Configapp-Session": secret}).status == 200
    assert call(server, *budget, headers={**replayed, "X-Configapp-Session": secret,
                                          "Origin": server.url}).status == 200

    bearer = {"Authorization": f"Bearer {server.token}"}
    for _ in range(FAILURES_ALLOWED):
        assert call(server, "GET", "/api/config/sync", headers={
            "Authorization": "Bearer guess"}).status == 401
    assert call(server, "GET", "/api/config/sync", headers={
        "Authorization": "Bearer guess"}).status == 429
    assert call(server, "GET", "/api/config/sync", headers=bearer).status == 200
    assert call(server, "POST", "/login", {"token": server.token}).status == 200

    statuses = [call(server, "GET", "/api/config/sync", headers={
        "Authorization": "Bearer guess"}, source=f"127.0.1.{number}").status
        for number in range(1, GLOBAL_FAILURES_ALLOWED + 1)]
    assert statuses[-1] == 429, statuses  # every address new, the global bound holds
    assert call(server, "GET", "/api/config/sync", headers=bearer,
                source="127.0.2.1").status == 200
    assert server.log().count("a wrong API token from") <= GLOBAL_FAILURES_ALLOWED + 2


# A request made from another host: a network namespace of the test's own, joined to this
# one by a veth pair (198.18.0.0/15, the benchmarking range; nothing outside this machine).
NEIGHBOUR_REQUEST = """
import http.client, json, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
connection = http.client.HTTPConnection(host, port, timeout=30)
connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}",
                                         "Accept": "application/json"})
answer = connection.getresponse()
print(json.dumps({"status": answer.status, "type": answer.getheader("Content-Type"),
                  "body": answer.read().decode("utf-8", "replace")}))
"""


@pytest.fixture
def neighbour():
    """(the address this machine has towards the neighbour, a function that makes a GET
    from the neighbour's own address): another machine on the network, made here."""
    number = os.getpid() % 16000
    namespace, here, there = f"cfgn{number}", f"cfgn{number}a", f"cfgn{number}b"
    subnet = f"198.{18 + number // 8000}.{number % 8000 // 32}.{number % 32 * 8}"
    base = subnet.rsplit(".", 1)
    local, remote = f"{base[0]}.{int(base[1]) + 1}", f"{base[0]}.{int(base[1]) + 2}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)

    ip("netns", "add", namespace)
    try:
        ip("link", "add", here, "type", "veth", "peer", "name", there)
        ip("link", "set", there, "netns", namespace)
        ip("addr", "add", f"{local}/29", "dev", here)
        ip("link", "set", here, "up")
        ip("netns", "exec", namespace, "ip", "addr", "add", f"{remote}/29", "dev", there)
        ip("netns", "exec", namespace, "ip", "link", "set", there, "up")

        def get(port: int, path: str) -> dict:
            done = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c",
                                   NEIGHBOUR_REQUEST, local, str(port), path],
                                  check=True, capture_output=True, text=True, timeout=60)
            return json.loads(done.stdout)

        yield local, get
    finally:
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)


def test_auth_off_under_an_operators_own_gunicorn_config_refuses_other_machines(
        tmp_path: Path, stopping_servers: list, neighbour):
    """An operator's own config (no configapp's `when_ready` check) binding 0.0.0.0 with
    CONFIGAPP_AUTH=off: this machine's loopback clients are served, a client on the
    network (a neighbour in a network namespace of the test's own) gets a 403 that says
    why."""
    port = free_port()
    env = server_environment(tmp_path / "data", port, {"CONFIGAPP_AUTH": "off"})
    config = tmp_path / "own.conf.py"
    config.write_text(f'bind = "0.0.0.0:{port}"\nworkers = 1\n')
    log_path = tmp_path / "gunicorn.log"
    server = Server(f"http://127.0.0.1:{port}", tmp_path / "data", log_path,
                    spawn_gunicorn(env, log_path, options=("-c", str(config))), None, env)
    _, get_from_neighbour = neighbour
    try:
        wait_until_ready(server)
        assert call(server, "GET", "/api/config/sync").status == 200
        refused = get_from_neighbour(port, "/api/config/sync")
        assert refused["status"] == 403, refused
        assert refused["type"] == "application/json"
        assert "CONFIGAPP_AUTH=off" in json.loads(refused["body"])["message"]
        assert get_from_neighbour(port, "/settings")["status"] == 403
    finally:
        server.stop(wait=False)
        stopping_servers.append(server)
