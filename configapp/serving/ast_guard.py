"""ast.parse made safe on several threads, on the Pythons that need it.

CPython 3.11 before 3.11.8, and 3.12 before 3.12.2, count the depth of the tree ast.parse
builds in one counter per interpreter. A garbage collection in the middle of a parse can run
another thread that parses too, and then one of them fails with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905). The server parses on several
threads: Python's tracebacks parse each line they show (3.11's carets), and litellm formats
one on a thread of its own for every failed call. One thread is enough, too: a finalizer
that the collection runs mid-parse can format a traceback of its own (pytest's hook for
errors in finalizers does), and the nested parse resets the outer one's counter. On those
Pythons, parses take turns, and no collection runs during one.
"""

from __future__ import annotations

import ast
import functools
import gc
import sys
import threading
from typing import Any

AFFECTED = ((3, 11, 0) <= sys.version_info[:3] < (3, 11, 8)
            or (3, 12, 0) <= sys.version_info[:3] < (3, 12, 2))


def guard_ast_parse() -> None:
    """Make ast.parse take a lock and hold the garbage collector off while it builds the
    tree (once per process). Without a collection no finalizer runs mid-parse, so nothing
    hands the GIL to another thread or nests a parse; the lock is re-entrant for a parse
    made by a finalizer outside a tree's building. Nothing is done where Python is fixed."""
    if not AFFECTED or getattr(ast.parse, "configapp_guarded", False):
        return
    lock = threading.RLock()
    parse = ast.parse

    @functools.wraps(parse)
    def guarded_parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            collecting = gc.isenabled()
            gc.disable()
            try:
                return parse(*args, **kwargs)
            finally:
                if collecting:
                    gc.enable()

    guarded_parse.configapp_guarded = True  # type: ignore[attr-defined]
    ast.parse = guarded_parse  # type: ignore[assignment]
