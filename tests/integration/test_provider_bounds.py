"""A provider's answers are read within bounds: a models list of any length, an error body
of any size, an answer sent a byte at a time, a body that is no JSON (docs/reliability.md,
"Bounds"). The bounds tests run on SQLite only: the database plays no part in them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from configapp.providers import apis
from configapp.providers.apis import MAX_LISTED_MODELS, MAX_LISTING_BYTES
from configapp.providers.outbound_http import MAX_ERROR_BODY_BYTES
from configapp.records import DiscoveredModelRecord, ModelListingRecord, db
from tests.provider_stub.fixtures import TEST_TIMEOUT, add_key, quick_settings

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
MB = 2**20


@pytest.fixture
def settings(make_settings, request):
    """Short provider timeouts; a test that reads a long answer on purpose asks for time
    (indirect parametrisation) so that a loaded machine does not turn it into a timeout."""
    return quick_settings(make_settings, **getattr(request, "param", {}))


PATIENT = {"provider_timeout": 20.0, "provider_check_timeout": 20.0}


def openai_listing(count: int, padding: int = 0) -> Iterator[bytes]:
    """An OpenAI-format list of `count` models, sent in pieces of about 64 KiB, made as it
    is sent (the stand-in never holds the whole answer either)."""
    yield b'{"object": "list", "data": ['
    pad = "x" * padding
    batch: list[str] = []
    for number in range(count):
        batch.append(json.dumps({"id": f"stub-model-{number:07d}", "object": "model",
                                 "owned_by": "stub", "note": pad}))
        if len(batch) == 256 or number == count - 1:
            yield ((", " if number >= 256 else "") + ", ".join(batch)).encode()
            batch = []
    yield b"]}"


def sent_bytes(stub) -> int:
    """What the stand-in had handed over when the answer ended (it ends when the client
    hangs up: wait for that)."""
    deadline = time.monotonic() + 10
    while not stub.answer_sent and time.monotonic() < deadline:
        time.sleep(0.05)
    return stub.answer_sent[0]


def live(client) -> dict:
    response = client.get("/api/config/models?live=true&provider=openai")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# Reading and parsing 10,000 entries takes a few hundred ms of CPU, shared with the stand-in
# in this process: within the 1 s deadline of the other tests, a loaded CI box timed it out.
@pytest.mark.parametrize("settings", [PATIENT], indirect=True, ids=["patient"])
def test_a_listing_of_400000_models_keeps_the_first_ones_warns_and_stops_reading(
        client, stub, caplog):
    total = 400_000  # about 31 MB
    stub.answer_with(lambda: openai_listing(total))
    add_key(client, stub, "openai")
    with caplog.at_level(logging.WARNING, "configapp"):
        body = live(client)
    listing = body["live"]["openai"]
    assert listing["status"] == "fresh", listing  # its message says why it failed
    assert listing["count"] == MAX_LISTED_MODELS
    cut = [w for w in body["warnings"] if w["kind"] == "listing_cut"]
    assert len(cut) == 1 and f"more than {MAX_LISTED_MODELS:,} models" in cut[0]["message"]
    assert "models list cut provider=openai bound=entries" in caplog.text
    listed = [m for m in body["models"] if m["id"].startswith("openai/stub-model-")]
    assert len(listed) == MAX_LISTED_MODELS
    # Read as it came and dropped once the bound was reached: of the whole answer, the
    # stand-in handed over little more than what the socket buffers hold.
    whole = sum(len(chunk) for chunk in openai_listing(total))
    assert sent_bytes(stub) < whole / 2


def discovered_and_withdrawn(app) -> tuple[set[str], set[str]]:
    """The stored discoveries' model ids, and the ids marked withdrawn."""
    with app.app_context():
        discovered = set(db.session.scalars(select(DiscoveredModelRecord.model_id)))
        withdrawn = set(db.session.scalars(select(ModelListingRecord.model_id).where(
            ModelListingRecord.withdrawn_at.is_not(None))))
        db.session.remove()
    return discovered, withdrawn


def test_a_listing_cut_by_a_bound_withdraws_nothing_and_deletes_no_discovery(
        app, client, stub, monkeypatch):
    stub.answer_with(lambda: openai_listing(30))
    add_key(client, stub, "openai")
    assert live(client)["live"]["openai"]["count"] == 30  # the whole listing
    full, withdrawn = discovered_and_withdrawn(app)
    assert len({m for m in full if "stub-model-" in m}) == 30 and withdrawn == set()
    monkeypatch.setattr(apis, "MAX_LISTED_MODELS", 20)  # the same 30, now past the bound
    response = client.get("/api/config/models?refresh=true&provider=openai")
    listing = response.get_json()["live"]["openai"]
    assert listing["count"] == 20 and "more than 20 models" in listing["warning"]
    assert discovered_and_withdrawn(app) == (full, set())


def test_a_60_mb_listing_is_read_to_the_bytes_bound_only(client, stub):
    stub.answer_with(lambda: openai_listing(10_000, padding=6000))  # about 60 MB
    key_id = add_key(client, stub, "openai")["id"]
    check = client.post(f"/api/config/api-keys/{key_id}/test").get_json()
    assert check["result"] == "valid", check
    assert f"larger than {MAX_LISTING_BYTES // MB} MB" in check["message"]
    body = live(client)
    listing = body["live"]["openai"]
    assert 0 < listing["count"] < MAX_LISTED_MODELS
    assert listing["count"] * 6000 < MAX_LISTING_BYTES
    assert [w["kind"] for w in body["warnings"]] == ["listing_cut"]
    assert f"larger than {MAX_LISTING_BYTES // MB} MB" in listing["warning"]
    assert sent_bytes(stub) < 30 * MB


def huge_error() -> Iterator[bytes]:
    yield b'{"error": {"message": "'
    for _ in range(800):  # 50 MB
        yield b"y" * 65536
    yield b'"}}'


def test_a_huge_error_body_is_read_to_its_bound_only(client, stub):
    stub.answer_with(huge_error, status=500)
    key_id = add_key(client, stub, "openai")["id"]
    check = client.post(f"/api/config/api-keys/{key_id}/test").get_json()
    assert check["result"] == "provider_error", check
    # Cut, it is no JSON error any more: only its size is told, the size of the bound.
    assert f"({MAX_ERROR_BODY_BYTES} bytes, not shown)" in check["message"]
    assert sent_bytes(stub) < 20 * MB


@pytest.mark.parametrize("stream", [False, True])
def test_a_huge_error_body_of_a_chat_is_read_to_its_bound_only(client, stub, stream):
    """Through litellm and the OpenAI SDK, which read an error's whole body themselves."""
    stub.answer_with(huge_error, status=500, path="/chat/completions")
    add_key(client, stub, "openai")
    reply = client.post("/api/chat", json={"model": "openai/gpt-4o-mini", "stream": stream,
                                           "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code >= 500
    assert "yyyy" not in reply.get_data(as_text=True)
    assert sent_bytes(stub) < 20 * MB


def test_a_trickling_provider_is_cut_at_the_total_deadline(client, stub):
    """A byte every 0.1 s for 20 s: each read is well within the 1 s timeout, the whole
    would take 20 s."""
    listing = json.dumps({"object": "list", "data": [{"id": "m"}] * 40}).encode()[:200]
    stub.answer_with(lambda: stub.trickled(listing, 0.1))
    key_id = add_key(client, stub, "openai")["id"]
    started = time.monotonic()
    check = client.post(f"/api/config/api-keys/{key_id}/test").get_json()
    took = time.monotonic() - started
    assert check["result"] == "unreachable", check
    assert f"within {TEST_TIMEOUT:g} s" in check["message"]
    assert took < 10
    started = time.monotonic()
    body = live(client)
    assert body["live"]["openai"]["status"] == "failed"
    assert time.monotonic() - started < 10


NOT_A_LISTING = {
    "nested": lambda: iter([b'{"data": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}"]),
    "nested_field": lambda: iter([b'{"meta": ' + b"{\"a\": " * 5000 + b"1" + b"}" * 5000
                                  + b', "data": []}']),
    "malformed": lambda: iter([b'{"data": [{"id": "a"}, {"id": ']),
    "not_json": lambda: iter([b"\xff\xfe{{{"]),
}


@pytest.mark.parametrize("answer", list(NOT_A_LISTING))
def test_an_answer_that_is_no_listing_fails_that_provider_only(client, stub, other_stub,
                                                               answer):
    stub.answer_with(NOT_A_LISTING[answer])
    add_key(client, stub, "openai")
    add_key(client, other_stub, "anthropic")
    response = client.get("/api/config/models?live=true")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["live"]["openai"]["status"] == "failed"
    assert "not a models list" in body["live"]["openai"]["message"]
    assert body["live"]["anthropic"]["status"] == "fresh"
    assert [w["provider"] for w in body["warnings"]] == ["openai"]
