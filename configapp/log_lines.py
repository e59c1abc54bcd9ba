"""Text from outside (a request, a provider, a file) for a log line: one escaping rule.

A log line is one line: a CR, LF, ANSI escape or any other unprintable character in a path,
header, model id, name or provider message would let its sender write a line of their
choosing (or repaint a terminal). Every log call that formats such text passes it through
`log_text` (docs/architecture.md, security model).
"""

from __future__ import annotations

LOG_TEXT_LIMIT = 200


def log_text(value: object, limit: int = LOG_TEXT_LIMIT) -> str:
    """The value for a log line: cut to `limit` characters, and, when any of them is
    unprintable (CR, LF, ESC, U+2028, ...), backslash-escaped, so it stays recognisable
    (`evil\\nINFO ...`) but can never end the line."""
    text = str(value)[:limit]
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
