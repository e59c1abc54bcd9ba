"""Issue 24's figure: the time from a stream's last delta to its `done` event when the
provider sends no usage (so its tokens are counted: litellm's stream and the ledger), beside
the same stream with usage, for the model families litellm's token_counter treats apart.
Target: within 50 ms of it (before issue 24, a llama-named model waited about 24 s a count
for a tokenizer download that could not happen offline).

A 10-piece answer from the provider stand-in (127.0.0.1, in process), through the app's
/api/chat in process (Flask's test client, so the time is the server's own), the two kinds
of stream interleaved, after one unmeasured round (litellm's import, the encodings' load).
Run alone with `python -m bench stream_end`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

QUICK = bool(os.environ.get("BENCH_QUICK"))
ROUNDS = 3 if QUICK else 15
# (provider, the model as the stand-in lists it): llama-3 (codellama-34b is one, by name),
# llama-2, and the others counted by a bundled encoding.
FAMILIES = [("perplexity", "codellama-34b-instruct"), ("dashscope", "qwen-max")] if QUICK \
    else [("perplexity", "codellama-34b-instruct"), ("groq", "llama-3.1-8b-instant"),
          ("together_ai", "meta-llama/Llama-2-70b-chat-hf"), ("mistral", "open-mixtral-8x22b"),
          ("dashscope", "qwen-max"), ("deepseek", "deepseek-chat"),
          ("openrouter", "anthropic/claude-sonnet-4-5"),
          ("openrouter", "google/gemini-2.5-flash")]
ANSWER = "one two three four five six seven eight nine ten"
HELLO = [{"role": "user", "content": "Say hello"}]
TARGET_MS = 50


@contextmanager
def app_and_stand_in() -> Iterator[tuple[Any, Any]]:
    """A test client of the app on a fresh SQLite folder, with a key per family's provider
    on the stand-in, whose listing offers every family's model."""
    from configapp import create_app
    from configapp.settings import SecuritySettings, Settings
    from tests.provider_stub import ProviderStub

    token = "bench-stream-end-token-0123456789"
    stub = ProviderStub().start()
    stub.say(ANSWER, pieces=10)
    stub.extra_openai_models = tuple(name for _, name in FAMILIES)
    with tempfile.TemporaryDirectory(prefix="configapp-bench-") as tmp:
        folder = Path(tmp)
        app = create_app(Settings(data_dir=folder / "data", database_url="",
                                  env_file=folder / "absent.env",
                                  config_file=folder / "absent.yaml", provider_env={},
                                  security=SecuritySettings(api_token=token)))
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        try:
            for provider in dict(FAMILIES):
                saved = client.post("/api/config/api-keys", json={
                    "provider": provider, "api_key": f"sk-bench-{provider}-0001",
                    "api_base": stub.base("openai")})
                if saved.status_code != 201:
                    raise RuntimeError(f"{provider}: {saved.get_json()}")
                client.get(f"/api/config/models?live=true&provider={provider}")
            yield client, stub
        finally:
            stub.stop()
            with app.app_context():
                from configapp.records import db

                db.session.remove()
                db.engine.dispose()


def last_delta_to_done(client: Any, model: str) -> float:
    """Seconds between the last delta's block and the `done` block of one streamed chat."""
    response = client.post("/api/chat", json={"messages": HELLO, "model": model,
                                              "stream": True}, buffered=False)
    last_delta = done = None
    try:
        for block in response.response:
            text = block.decode() if isinstance(block, bytes) else block
            now = time.perf_counter()
            if text.startswith("event: delta"):
                last_delta = now
            elif text.startswith("event: done"):
                done = now
    finally:
        response.close()
    if last_delta is None or done is None:
        raise RuntimeError(f"{model}: no delta or no done in the stream")
    return done - last_delta


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with app_and_stand_in() as (client, stub):
        models = [f"{provider}/{name}" for provider, name in FAMILIES]
        times: dict[tuple[str, bool], list[float]] = {(m, u): [] for m in models
                                                      for u in (True, False)}
        for round_number in range(ROUNDS + 1):
            for model in models:
                for usage in (True, False):
                    stub.usage_in_streams = usage
                    took = last_delta_to_done(client, model)
                    if round_number:  # the first round warms up
                        times[(model, usage)].append(took)
        for model in models:
            with_usage = statistics.median(times[(model, True)]) * 1000
            without = statistics.median(times[(model, False)]) * 1000
            rows.append({
                "name": f"last delta to done without usage, over with: {model}",
                "value": round(without - with_usage, 2), "unit": "ms",
                "baseline": round(with_usage, 2),
                "ratio": round(without / with_usage, 2) if with_usage else None,
                "target": f"< {TARGET_MS}",
                "note": f"median of {ROUNDS}: {without:.2f} ms without usage, "
                        f"{with_usage:.2f} ms with"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
