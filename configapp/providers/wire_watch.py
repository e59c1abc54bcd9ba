"""What a provider's chat answer said on the wire, read as httpx hands the bytes to litellm.

litellm cannot be asked whether a stream was finished: when the bytes just stop (a
close-delimited body, as HTTP/1.0 servers and many proxies send, ends cleanly at the
close) its stream wrapper makes up finish_reason "stop". So the bytes are watched as they
are read: a stream is finished when the provider said so in its own format (OpenAI's
`finish_reason` or `[DONE]`, Anthropic's `message_stop`, Gemini's `finishReason`, the
Responses API's `response.completed` or `response.incomplete`). The watch also bounds what
one answer may hold in memory: a plain body, or one line of a stream, of more than
MAX_ANSWER_BYTES ends the read, and so does a stream of more than MAX_STREAM_BYTES in all
(litellm keeps every chunk, and deltas without text, reasoning or tool calls among them,
count for nothing against MAX_ANSWER_CHARS). Bodies in gzip or deflate (all httpx offers) are read
through zlib; a stream in an encoding nobody asked for is not understood, and is taken as
litellm tells it.
"""

from __future__ import annotations

import contextlib
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import httpx

from configapp.providers.llm import MAX_ANSWER_CHARS

# A plain answer's body, or one line of a stream: room for MAX_ANSWER_CHARS of text as JSON
# escapes it (up to six bytes a character) and the envelope around it.
MAX_ANSWER_BYTES = 8 * MAX_ANSWER_CHARS
# A whole event stream, every line together (128 MiB). A chunk carries one token of a few
# characters in an envelope of about 230 bytes (OpenAI's), so the longest answer today's
# models write (128k tokens) is about 30 MB on the wire: this leaves four times that.
MAX_STREAM_BYTES = 4 * MAX_ANSWER_BYTES

# Cheap first look at a data line; only a line that matches is parsed.
SAYS_FINISHED = re.compile(rb'"(?:finish_reason|finishReason)"\s*:\s*"[^"]'
                           rb'|"type"\s*:\s*"(?:message_stop|response\.completed'
                           rb'|response\.incomplete)"')
FINISHING_TYPES = frozenset({"message_stop", "response.completed", "response.incomplete"})


class AnswerTooLargeError(Exception):
    """The provider's answer passed MAX_ANSWER_BYTES: the read ends there."""


def said_finished(event: Any) -> bool:
    """Whether one event of a stream is the provider saying the answer is finished."""
    if not isinstance(event, dict):
        return False
    if event.get("type") in FINISHING_TYPES:
        return True
    choices = event.get("choices") or event.get("candidates") or []
    return isinstance(choices, list) and any(
        isinstance(choice, dict) and (choice.get("finish_reason") or choice.get("finishReason"))
        for choice in choices)


def _decoder(encoding: str) -> Any:
    """A zlib decompressor for the body's Content-Encoding; None for none; False for one
    this watch cannot read (it then stays blind, and says so)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or raw-looking: auto
    return False


class WireWatch:
    """One answer's bytes as they are read: whether it is a stream (Server-Sent Events),
    whether the provider said the stream was finished, and how large it got."""

    def __init__(self, response: httpx.Response) -> None:
        self.event_stream = response.headers.get("content-type", "").lower().startswith(
            "text/event-stream")
        self._decoder = _decoder(response.headers.get("content-encoding", ""))
        self.blind = self._decoder is False
        self.spoke_events = False  # at least one `data:` line was read
        self.finished = False
        self.size = 0
        self._line = bytearray()

    @property
    def cut(self) -> bool:
        """A stream the provider did not say it finished (only told of a stream read)."""
        return self.event_stream and self.spoke_events and not self.finished

    def feed(self, raw: bytes) -> None:
        data = raw if not self._decoder else self._decoder.decompress(raw)
        self.size += len(data)
        if not self.event_stream:
            if self.size > MAX_ANSWER_BYTES:
                raise AnswerTooLargeError(f"an answer of more than {MAX_ANSWER_BYTES} bytes")
            return
        if self.size > MAX_STREAM_BYTES:
            raise AnswerTooLargeError(f"a stream of more than {MAX_STREAM_BYTES} bytes")
        if self.blind:
            return
        start = len(self._line)
        self._line += data  # a bytearray: a long line grows in place, never copied whole
        if self._line.find(b"\n", start) < 0:
            if len(self._line) > MAX_ANSWER_BYTES:
                raise AnswerTooLargeError(f"a line of more than {MAX_ANSWER_BYTES} bytes")
            return
        *lines, rest = self._line.split(b"\n")
        self._line = bytearray(rest)
        for line in lines:
            self._read_line(bytes(line.rstrip(b"\r")))

    def end(self) -> None:
        """The body is over, or its reader stopped: the last line counts even without a
        line end (httpx hands it to litellm so). A line cut part-way is no JSON and no
        `[DONE]`, so it never counts as the provider saying it finished."""
        if self.event_stream and not self.blind and self._line:
            self._read_line(bytes(self._line.rstrip(b"\r")))
            self._line = bytearray()

    def _read_line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        self.spoke_events = True
        payload = line[5:].strip()
        if payload == b"[DONE]":
            self.finished = True
        elif not self.finished and SAYS_FINISHED.search(payload):
            with contextlib.suppress(ValueError, RecursionError):
                self.finished = said_finished(json.loads(payload))


class WatchedStream(httpx.SyncByteStream):
    """An httpx response body that shows each piece to a WireWatch on its way."""

    def __init__(self, stream: httpx.SyncByteStream, watch: WireWatch) -> None:
        self._stream = stream
        self.watch = watch

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._stream:
            self.watch.feed(piece)
            yield piece
        self.watch.end()

    def close(self) -> None:
        # litellm may stop reading at the finish it parsed (Anthropic's message_delta),
        # with the end marker that came in the same read still unended in the watch.
        self.watch.end()
        self._stream.close()


def watch(response: httpx.Response) -> WireWatch:
    """Watch this response's body from now on (call before it is read)."""
    seen = WireWatch(response)
    response.stream = WatchedStream(response.stream, seen)  # type: ignore[arg-type]
    return seen
