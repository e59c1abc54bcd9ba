"""Reads a provider's models list as it arrives, one entry at a time, within bounds.

`json.loads` of a whole answer holds all of it twice (the text and its objects): one page
of 487,500 models took a worker to 1.4 GiB. Here the text is parsed as it comes, each
entry of the list is handed to `keep` and dropped, and reading stops once `max_entries`
entries or `max_bytes` bytes were read: what was kept so far is the answer, marked cut.
An answer that is not JSON, or nested too deeply, or with one value longer than
MAX_VALUE_CHARS, is NotAListingError.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# One entry of the list, or one other top-level value, is at most this long: an entry is a
# few hundred characters (OpenRouter's, with a description, a few thousand).
MAX_VALUE_CHARS = 64 * 1024
DECODER = json.JSONDecoder()
SPACE = re.compile(r"[ \t\n\r]*")


class NotAListingError(ValueError):
    """The answer is not a JSON models list."""


class _MoreNeeded(Exception):
    """The text so far ends inside a value: wait for the next chunk."""


@dataclass
class ListingPage(Generic[T]):
    """What one answer gave: the kept entries, its other top-level fields, how many entries
    and bytes were read, and `cut` ("entries" or "bytes") when a bound stopped the reading."""

    kept: list[T] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    entries_read: int = 0
    bytes_read: int = 0
    cut: str | None = None
    listed: bool = False  # whether the list itself was seen


class _Parser(Generic[T]):
    """The states of `{"key": value, ..., "<list_key>": [entry, ...], ...}` or `[entry, ...]`."""

    def __init__(self, list_key: str, keep: Callable[[Any], T | None], max_entries: int,
                 page: ListingPage[T]) -> None:
        self.list_key = list_key
        self.keep = keep
        self.max_entries = max_entries
        self.page = page
        self.text = ""
        self.pos = 0
        self.state = "start"
        self.key: str | None = None

    def feed(self, text: str, final: bool) -> bool:
        """Parse what can be parsed; True once the answer is over or the entries bound hit."""
        self.text = self.text[self.pos:] + text
        self.pos = 0
        try:
            while self.state not in ("done", "cut"):
                started = self.pos
                try:
                    self._step(final)
                except _MoreNeeded:
                    self.pos = started
                    raise
        except _MoreNeeded:
            if final or len(self.text) - self.pos > MAX_VALUE_CHARS:
                raise NotAListingError("the answer ends, or a value runs on, mid-way") from None
            return False
        if self.state == "done" and self.text[self.pos:].strip():
            raise NotAListingError("there is more after the answer")
        return True

    def _next_char(self) -> str:
        self.pos = SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
        if self.pos >= len(self.text):
            raise _MoreNeeded
        return self.text[self.pos]

    def _value(self, final: bool) -> Any:
        """The JSON value at pos; a value that reaches the end of the text so far may go on
        (a number), so it waits for a character after it unless the text is all there."""
        try:
            value, end = DECODER.raw_decode(self.text, self.pos)
        except RecursionError:
            raise NotAListingError("the answer is nested too deeply") from None
        except json.JSONDecodeError:
            raise _MoreNeeded from None
        if end >= len(self.text) and not final:
            raise _MoreNeeded
        if end - self.pos > MAX_VALUE_CHARS:
            raise NotAListingError("a value of the answer is too long")
        self.pos = end
        return value

    def _step(self, final: bool) -> None:
        char = self._next_char()
        state = self.state
        if state == "start":
            if char not in "[{":
                raise NotAListingError("the answer is not a JSON object or list")
            self.pos += 1
            self.state = "first_entry" if char == "[" else "first_key"
            self.page.listed = char == "["
        elif state in ("first_key", "key"):
            if char == "}" and state == "first_key":
                self.pos += 1
                self.state = "done"
                return
            if char != '"':
                raise NotAListingError("a key is expected")
            key = self._value(final)
            if self._next_char() != ":":
                raise NotAListingError("a colon is expected")
            self.pos += 1
            self.key, self.state = key, "value"
        elif state == "value":
            if self.key == self.list_key and char == "[":
                self.pos += 1
                self.state = "first_entry"
                self.page.listed = True
            else:
                self.page.fields[str(self.key)] = self._value(final)
                self.state = "after_value"
        elif state == "after_value":
            self._after(char, "}", "key", "done")
        elif state in ("first_entry", "entry"):
            if char == "]" and state == "first_entry":
                self.pos += 1
                self._list_over()
                return
            entry = self._value(final)
            self.page.entries_read += 1
            kept = self.keep(entry)
            if kept is not None:
                self.page.kept.append(kept)
            self.state = "after_entry"
        elif state == "after_entry":
            if char == "," and self.page.entries_read >= self.max_entries:
                self.page.cut, self.state = "entries", "cut"
                return
            if char == "]":
                self.pos += 1
                self._list_over()
                return
            self._after(char, "]", "entry", "done")

    def _list_over(self) -> None:
        self.state = "done" if self.key is None else "after_value"

    def _after(self, char: str, closing: str, next_state: str, end_state: str) -> None:
        if char == ",":
            self.pos += 1
            self.state = next_state
        elif char == closing:
            self.pos += 1
            self.state = end_state
        else:
            raise NotAListingError(f"',' or '{closing}' is expected")


def read_listing(chunks: Iterable[bytes], list_key: str, keep: Callable[[Any], T | None],
                 max_entries: int, max_bytes: int) -> ListingPage[T]:
    """Read a models list from its chunks (stopping early at a bound): a list at the top,
    or an object whose `list_key` holds it. `keep` turns an entry into what is kept (None:
    left out) and may raise KeyError, TypeError or AttributeError for a malformed entry."""
    page: ListingPage[T] = ListingPage()
    parser = _Parser(list_key, keep, max_entries, page)
    decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")  # a BOM is dropped
    over = False
    for chunk in chunks:
        room = max_bytes - page.bytes_read
        if len(chunk) > room:
            chunk, over = chunk[:room], True
        page.bytes_read += len(chunk)
        if parser.feed(decoder.decode(chunk), final=False):
            return page
        if over:
            page.cut = "bytes"
            return page
    parser.feed(decoder.decode(b"", final=True), final=True)
    return page
