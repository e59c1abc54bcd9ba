"""A stream whose provider sends no usage is counted here, and counting never reaches out:
every model family litellm's token_counter treats apart, through the stand-in, under the
network guard (tests/network_guard.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from configapp.providers.llm import ChatMessage
from configapp.providers.token_counting import bundled_encoding, estimate_tokens
from configapp.records import UsageRecord, db
from tests.network_guard import WATCH
from tests.provider_stub.fixtures import quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]
REPLY = "Hello from the openai stand-in. You said: Say hello"
# (provider, model as the provider lists it, the bundled encoding it is counted with, or
# None: litellm's tokenizer for it is on the Hugging Face hub, so it is estimated).
FAMILIES = [
    ("perplexity", "codellama-34b-instruct", None),  # "llama-3" is in "codellama-34b"
    ("groq", "llama-3.1-8b-instant", None),
    ("together_ai", "meta-llama/Llama-2-70b-chat-hf", None),
    ("mistral", "open-mixtral-8x22b", "cl100k_base"),
    ("dashscope", "qwen-max", "cl100k_base"),
    ("deepseek", "deepseek-chat", "cl100k_base"),
    ("openrouter", "anthropic/claude-sonnet-4-5", "cl100k_base"),
    ("openrouter", "google/gemini-2.5-flash", "cl100k_base"),
    ("openrouter", "cohere/command-r-plus", "cl100k_base"),
]


@pytest.fixture
def backend():
    """Counting does not depend on the database: SQLite is enough here."""
    return "sqlite"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.mark.parametrize(("provider", "name", "encoding"), FAMILIES)
def test_a_stream_without_usage_is_counted_without_reaching_out(app, client, stub, provider,
                                                                name, encoding):
    stub.usage_in_streams = False
    stub.extra_openai_models = (name,)
    saved = client.post("/api/config/api-keys", json={
        "provider": provider, "api_key": f"sk-stub-{provider}-0001",
        "api_base": stub.base("openai")})
    assert saved.status_code == 201, saved.get_json()
    client.get(f"/api/config/models?live=true&provider={provider}")  # learn the model
    model = f"{provider}/{name}"
    mark = WATCH.mark()

    streamed = client.post("/api/chat", json={"messages": HELLO, "model": model,
                                              "stream": True}).get_data(as_text=True)

    blocks = [block.split("\n") for block in streamed.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in blocks]
    assert names[-1] == "done" and "error" not in names, streamed
    assert "".join(json.loads(lines[1].removeprefix("data: "))["content"]
                   for lines in blocks if lines[0] == "event: delta") == REPLY
    assert stub.usage_sent == []  # the stand-in told no usage
    assert WATCH.since(mark) == []  # no tokenizer, cost map or anything else fetched

    gateway = app.extensions["configapp"].gateway
    assert bundled_encoding(model) == encoding
    counted = gateway.count_tokens(model, [ChatMessage("user", "Say hello")], REPLY)
    if encoding is None:
        assert counted == (estimate_tokens("Say hello"), estimate_tokens(REPLY))
    else:
        litellm = gateway.litellm()
        assert counted == (litellm.token_counter(model=model, messages=HELLO),
                           litellm.token_counter(model=model, text=REPLY))
    with app.app_context():
        (row,) = db.session.scalars(select(UsageRecord))
        # Counted here, or by litellm's stream (its own counting, with downloads off).
        assert row.outcome == "finished" and row.prompt_tokens and row.completion_tokens
        if row.tokens_counted:
            assert (row.prompt_tokens, row.completion_tokens) == counted
        db.session.remove()
    assert WATCH.since(mark) == []
