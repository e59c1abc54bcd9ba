"""The wire watch on real httpx responses: which events say a stream is finished, in each
format, and the bound on what one answer may hold."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from configapp.providers import wire_watch
from configapp.providers.wire_watch import (
    MAX_ANSWER_BYTES,
    MAX_STREAM_BYTES,
    AnswerTooLargeError,
    WireWatch,
    watch,
)

SSE = {"content-type": "text/event-stream; charset=utf-8"}


def sse(*events: dict | str) -> bytes:
    return b"".join(b"data: " + (e if isinstance(e, str) else json.dumps(e)).encode() + b"\n\n"
                    for e in events)


def read(body: bytes, headers: dict[str, str] = SSE, piece: int = 7):
    """The body as it comes off a socket: in small pieces, lines split across them."""
    pieces = [body[i:i + piece] for i in range(0, len(body), piece)] if piece else [body]
    response = httpx.Response(200, headers=headers, content=iter(pieces))
    seen = watch(response)
    response.read()
    return seen


TEXT = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
FINISHED = {
    "openai finish_reason": sse(TEXT, {"choices": [{"delta": {}, "finish_reason": "stop"}]}),
    "openai [DONE] alone": sse(TEXT, "[DONE]"),
    "anthropic message_stop": sse({"type": "content_block_delta"}, {"type": "message_stop"}),
    "gemini finishReason": sse({"candidates": [{"content": {}, "finishReason": "STOP"}]}),
    "responses completed": sse({"type": "response.completed", "response": {}}),
    "[DONE] without its line end": sse(TEXT) + b"data: [DONE]",
    "finish chunk without its line end": sse(TEXT) + b'data: {"choices": [{"delta": {}, '
                                                    b'"finish_reason": "stop"}]}\r',
}


@pytest.mark.parametrize("body", FINISHED.values(), ids=FINISHED.keys())
def test_a_stream_the_provider_said_it_finished_is_not_cut(body):
    seen = read(body)
    assert seen.finished and not seen.cut


UNFINISHED = {
    "openai text only": sse(TEXT, TEXT),
    "finish_reason null": sse({"choices": [{"delta": {}, "finish_reason": None}]}),
    "finish words in the text": sse({"choices": [{"delta": {
        "content": '"finish_reason": "stop", "type": "message_stop" [DONE]'},
        "finish_reason": None}]}),
    "anthropic without message_stop": sse({"type": "message_delta",
                                           "delta": {"stop_reason": None}}),
    "gemini without finishReason": sse({"candidates": [{"content": {"parts": []}}]}),
    "last text line without its end": sse(TEXT) + b"data: " + json.dumps(TEXT).encode(),
}


@pytest.mark.parametrize("body", UNFINISHED.values(), ids=UNFINISHED.keys())
def test_a_stream_that_just_stops_is_cut(body):
    seen = read(body)
    assert not seen.finished and seen.cut


def test_a_gzip_stream_is_read_through_its_encoding():
    body = gzip.compress(sse(TEXT, "[DONE]"))
    assert not read(body, {**SSE, "content-encoding": "gzip"}).cut
    assert read(gzip.compress(sse(TEXT)), {**SSE, "content-encoding": "gzip"}).cut


def test_a_plain_answer_is_never_called_cut():
    assert not read(b'{"choices": [', {"content-type": "application/json"}).cut


def test_a_plain_body_past_the_bound_ends_the_read():
    with pytest.raises(AnswerTooLargeError):
        read(b"x" * (MAX_ANSWER_BYTES + 1), {"content-type": "application/json"}, piece=0)
    assert read(b"x" * 1000, {"content-type": "application/json"}).size == 1000


def test_a_stream_line_past_the_bound_ends_the_read():
    with pytest.raises(AnswerTooLargeError):
        read(b"data: " + b"x" * (MAX_ANSWER_BYTES + 1), piece=65536)


def test_a_stream_of_empty_deltas_past_the_total_bound_ends_the_read(monkeypatch):
    """No line is long and no delta has text, yet the stream as a whole is bounded (the
    bound shrunk to 2 MiB here: reading the real 128 MiB takes seconds)."""
    assert MAX_STREAM_BYTES == 4 * MAX_ANSWER_BYTES
    monkeypatch.setattr(wire_watch, "MAX_STREAM_BYTES", 2 * 1024 * 1024)
    empty = b"data: " + json.dumps({"choices": [{"delta": {}, "finish_reason": None}]}
                                   ).encode() + b"\n\n"
    piece = empty * (64 * 1024 // len(empty))  # about 64 KiB of small lines
    seen = WireWatch(httpx.Response(200, headers=SSE))

    def feed_past_the_bound() -> None:
        for _ in range(wire_watch.MAX_STREAM_BYTES // len(piece) + 2):
            seen.feed(piece)

    with pytest.raises(AnswerTooLargeError, match="stream"):
        feed_past_the_bound()
    assert wire_watch.MAX_STREAM_BYTES < seen.size <= wire_watch.MAX_STREAM_BYTES + len(piece)
