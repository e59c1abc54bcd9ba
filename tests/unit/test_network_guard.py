"""The suite's network guard (tests/network_guard.py) fails a test that reaches out, and
its proxy recorder sees what a served app would send out."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

from tests.network_guard import ProxyRecorder, is_local_address

ROOT = Path(__file__).resolve().parents[2]

PLANTED = '''
import socket
import threading
import urllib.request


def test_a_tokenizer_fetch_from_a_background_thread():
    def fetch():
        try:
            urllib.request.urlopen(
                "https://huggingface.co/Xenova/llama-3-tokenizer/resolve/main/tokenizer.json",
                timeout=5)
        except OSError:
            pass
    worker = threading.Thread(target=fetch)
    worker.start()
    worker.join()


def test_a_connection_to_an_address():
    with socket.socket() as sock:
        assert sock.connect_ex(("203.0.113.7", 443)) != 0


def test_loopback_and_unix_sockets_are_fine(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        socket.create_connection(server.getsockname(), timeout=2).close()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s"))
        server.listen(1)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(tmp_path / "s"))
'''


def test_a_planted_fetch_fails_the_test_that_made_it_naming_the_destination(tmp_path):
    (tmp_path / "test_planted.py").write_text(textwrap.dedent(PLANTED))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.network_guard", "-p", "no:cacheprovider",
         "-q", "test_planted.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "3 passed, 2 errors" in out, out
    assert "ERROR at teardown of test_a_tokenizer_fetch_from_a_background_thread" in out, out
    assert ("network guard: this test tried to reach huggingface.co (name lookup) "
            "(thread Thread-1 (fetch))") in out, out
    assert "ERROR at teardown of test_a_connection_to_an_address" in out, out
    assert "network guard: this test tried to reach 203.0.113.7:443 (thread MainThread)" in out
    assert "loopback_and_unix" not in out, out


def test_loopback_and_unspecified_addresses_are_local_and_nothing_else_is():
    for host in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::",
                 "localhost"):
        assert is_local_address(host), host
    for host in ("169.254.169.254", "10.0.0.1", "192.168.1.2", "8.8.8.8", "fe80::1",
                 "::ffff:169.254.169.254", "huggingface.co", "localhost.attacker.example"):
        assert not is_local_address(host), host


def test_the_recorder_sees_what_a_client_honouring_the_proxy_variables_sends():
    recorder = ProxyRecorder()
    try:
        env = recorder.environment()
        assert env["https_proxy"] == env["HTTPS_PROXY"] == recorder.url
        assert "127.0.0.1" in env["NO_PROXY"].split(",")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler(
            {"http": env["HTTP_PROXY"]}))
        with contextlib.suppress(OSError):
            opener.open("http://cost-map.example/prices.json", timeout=5)
        assert recorder.connections() == ["GET http://cost-map.example/prices.json HTTP/1.1"]
    finally:
        recorder.stop()
