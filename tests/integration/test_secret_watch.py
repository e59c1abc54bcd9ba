"""The secret watch (tests/secret_watch.py) catches a leak wherever it is planted.

Each case runs a small pytest session of its own, with the watch loaded, on a throwaway
app that echoes the `api_key` it is sent: in process (the answer never read, or read only
in part) and through a real gunicorn behind the harness's recorder (the client reads only
the status). The session must fail, naming the leak; the same app answering without the
key must pass, so the failure is the leak's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.support import ROOT

LEAKY_APP = '''
import flask

app = flask.Flask("leaky")


@app.post("/echo")
def echo():
    key = flask.request.get_json()["api_key"]
    shown = key if flask.request.args.get("leak") == "yes" else "(hidden)"

    def body():
        yield "received "
        yield shown
    return flask.Response(body(), mimetype="text/plain")
'''

PROBES = '''
import signal
import subprocess
import sys
import urllib.request
import json
from pathlib import Path

from leaky_app import app
from tests.e2e.harness import free_port, spawn_gunicorn

SECRET = "sk-planted-leak-Q1w2E3r4T5y6"
LEAK = "LEAK"


def test_in_process_never_read():
    response = app.test_client().post(f"/echo?leak={LEAK}", json={"api_key": SECRET},
                                      buffered=False)
    assert response.status_code == 200


def test_in_process_read_in_part():
    response = app.test_client().post(f"/echo?leak={LEAK}", json={"api_key": SECRET},
                                      buffered=False)
    assert next(iter(response.response)) == b"received "


def test_through_gunicorn(tmp_path):
    port = free_port()
    env = {**{k: v for k, v in __import__("os").environ.items()
              if not k.startswith("CONFIGAPP_")},
           "CONFIGAPP_TEST_APP": "leaky_app:app", "CONFIGAPP_BIND": f"127.0.0.1:{port}",
           "CONFIGAPP_WORKERS": "1",
           "PYTHONPATH": f"{Path(__file__).parent}:{Path.cwd()}"}
    server = spawn_gunicorn(env, tmp_path / "gunicorn.log")
    try:
        for _ in range(300):
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/echo?leak={LEAK}",
                    data=json.dumps({"api_key": SECRET}).encode(),
                    headers={"Content-Type": "application/json"}, method="POST")
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 200  # the body is never read here
                break
            except OSError:
                __import__("time").sleep(0.1)
        else:
            raise AssertionError((tmp_path / "gunicorn.log").read_text())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
'''


CASES = ["test_in_process_never_read", "test_in_process_read_in_part", "test_through_gunicorn"]


def run_probes(folder: Path, leak: bool) -> subprocess.CompletedProcess:
    folder.mkdir()
    (folder / "leaky_app.py").write_text(LEAKY_APP)
    (folder / "test_probes.py").write_text(
        PROBES.replace('LEAK = "LEAK"', f'LEAK = "{"yes" if leak else "no"}"'))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CONFIGAPP_", "PYTEST_"))}
    env["PYTHONPATH"] = f"{folder}:{ROOT}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.secret_watch",
         "-q", "-rE", f"--rootdir={folder}", f"--basetemp={folder / 'tmp'}",
         str(folder / "test_probes.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(700)  # two pytest runs in subprocesses, each allowed 300 s when loaded
def test_the_watch_fails_every_test_that_leaks_a_key_and_only_those(tmp_path):
    leaked = run_probes(tmp_path / "leak", leak=True)
    output = leaked.stdout + leaked.stderr
    assert leaked.returncode == 1, output
    for case in CASES:
        assert f"ERROR at teardown of {case}" in output, (case, output)
        assert f"test_probes.py::{case}: an API key sent to " in output, (case, output)
    assert "in the answer to POST /echo" in output
    assert "in the answers of the server in test_through_gunicorn0" in output
    assert "3 passed, 3 errors" in output, output

    clean = run_probes(tmp_path / "clean", leak=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "3 passed" in clean.stdout and "; 0 leaks" in clean.stdout


PG_PROBE = '''
import json
import os

from sqlalchemy import create_engine, text

from tests.conftest import fresh_postgres_database
from tests.secret_watch import WATCH

SECRET = "sk-planted-in-postgres-Q1w2E3r4"


def test_a_key_kept_in_a_postgresql_table():
    server = os.environ["CONFIGAPP_TEST_DATABASE_URL"]
    engine = create_engine(fresh_postgres_database(server))
    with engine.begin() as connection:
        # In a schema of its own, a table whose name needs quoting, after a NULL.
        connection.execute(text('CREATE SCHEMA kept; CREATE TABLE kept."Notes" '
                                '(id int, "when" date, body jsonb)'))
        connection.execute(text('INSERT INTO kept."Notes" VALUES (1, NULL, :body)'),
                           {"body": json.dumps({"note": BODY})})
        connection.execute(text(f"COMMENT ON TABLE kept.\\"Notes\\" IS '{COMMENT}'"))
    engine.dispose()
    WATCH.add(SECRET, "a key the test used")
'''


def run_postgres_probe(folder: Path, leak: str = "") -> subprocess.CompletedProcess:
    """A session on the suite's PostgreSQL server, as a pytest-xdist worker would run it
    (the watch reads the databases it made), with the key in a row, in a table's comment,
    or nowhere."""
    folder.mkdir()
    body = "SECRET" if leak == "row" else '"nothing secret"'
    comment = "SECRET" if leak == "comment" else '"notes"'
    (folder / "test_pg_probe.py").write_text(
        f"{PG_PROBE}\nBODY = {body}\nCOMMENT = {comment}\n")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CONFIGAPP_", "PYTEST_"))}
    env.update(PYTHONPATH=f"{folder}:{ROOT}", PYTEST_XDIST_WORKER="gw-probe",
               CONFIGAPP_TEST_DATABASE_URL=os.environ["CONFIGAPP_TEST_DATABASE_URL"])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.secret_watch",
         "-q", "-rE", f"--rootdir={folder}", f"--basetemp={folder / 'tmp'}",
         str(folder / "test_pg_probe.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_watch_finds_a_key_in_a_postgresql_database_it_made(tmp_path, postgres_server):
    for where in ("row", "comment"):
        leaked = run_postgres_probe(tmp_path / where, leak=where)
        output = leaked.stdout + leaked.stderr
        assert leaked.returncode == 1, output
        assert ("a key the test used in the rows of the PostgreSQL database configapp_test_"
                in output)
    clean = run_postgres_probe(tmp_path / "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "2 PostgreSQL databases read" in clean.stdout and "; 0 leaks" in clean.stdout
