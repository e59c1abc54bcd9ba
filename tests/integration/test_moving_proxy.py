"""Moving out, for real: the LiteLLM Proxy (the benchmark's own install, bench/.proxy-venv)
starts from what `export-litellm` wrote, lists the models and answers through the provider
stand-in with the key configapp stored. Slow (the proxy takes seconds to start): one test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bench.harness import ROOT, clean_environment, free_port
from tests.network_guard import served_environment
from tests.provider_stub.fixtures import KEYS, add_key, quick_settings

PROXY = Path(os.environ.get("BENCH_PROXY_VENV", ROOT / "bench" / ".proxy-venv")) / "bin" / \
    "litellm"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def ask(port: int, path: str, token: str, body: dict | None = None,
        timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode() if body else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, json.loads(answer.read())


def wait_for_models(port: int, token: str, process: subprocess.Popen[bytes],
                    log: Path) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        with suppress(OSError):
            return ask(port, "/v1/models", token, timeout=5)[1]
        time.sleep(0.5)
    raise AssertionError("the LiteLLM Proxy did not start: "
                         + log.read_text(errors="replace")[-2000:])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_litellm_proxy_starts_from_an_export_and_answers_with_the_stored_key(
        app, client, stub, tmp_path):
    if not PROXY.exists():
        pytest.skip(f"the LiteLLM Proxy is not installed ({PROXY}): `make test` installs it "
                    "with scripts/install-bench-deps --proxy")
    add_key(client, stub, "openai", KEYS["openai"])
    assert client.put("/api/config/aliases/fast", json={
        "model": "openai/gpt-4o-mini", "parameters": {"temperature": 0.2}}).status_code in (
        200, 201)
    assert client.put("/api/config/aliases/quick", json={"model": "fast"}).status_code in (
        200, 201)
    config, env_file = tmp_path / "config.yaml", tmp_path / "keys.env"
    exported = app.test_cli_runner().invoke(args=[
        "config", "export-litellm", str(config), "--env-file", str(env_file)])
    assert exported.exit_code == 0, exported.output

    port, log = free_port(), tmp_path / "proxy.log"
    keys = {name: value for name, value in dotenv_values(env_file).items() if value}
    environment = clean_environment({**served_environment(), **keys,
                                     "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                                     "LITELLM_MODE": "PRODUCTION"})
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(PROXY), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", "1"], env=environment, stdout=output, stderr=output,
            start_new_session=True, cwd=tmp_path)
    try:
        models = wait_for_models(port, keys["LITELLM_MASTER_KEY"], process, log)
        assert {"fast", "quick"} <= {model["id"] for model in models["data"]}
        status, answer = ask(port, "/v1/chat/completions", keys["LITELLM_MASTER_KEY"], {
            "model": "quick", "messages": [{"role": "user", "content": "hello proxy"}]})
        assert status == 200, answer
        assert answer["choices"][0]["message"]["content"]
        received = stub.last("chat")
        assert received.key == KEYS["openai"]
        assert received.body["model"] == "gpt-4o-mini"
        assert received.body["temperature"] == 0.2
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
