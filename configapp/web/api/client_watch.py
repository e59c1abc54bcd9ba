"""ClientWatch: notices at once that a client with a stream open has gone away.

A server learns that a client left only when a write to it fails, and a provider that is
thinking writes nothing for minutes. One thread per process watches the sockets of the
clients that have a stream open (gunicorn puts each request's socket in the WSGI environ
as `gunicorn.socket`); when one hangs up, its callback ends the provider's request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class ClientWatch:
    """`stop = watch(sock, on_gone)`: on_gone() runs (in the watch's thread) if the client
    hangs up before stop() is called. A client that sends something instead is no longer
    watched: its bytes are not ours to read, and they do not say it left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._selector: selectors.BaseSelector | None = None
        self._pid: int | None = None

    def watch(self, sock: socket.socket, on_gone: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            selector = self._running_selector()
            try:
                key = selector.register(sock, selectors.EVENT_READ, on_gone)
            except (KeyError, ValueError, OSError):
                return lambda: None

        def stop() -> None:
            with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
                if selector.get_map().get(key.fd) is key:
                    selector.unregister(key.fileobj)

        return stop

    def _running_selector(self) -> selectors.BaseSelector:
        """The selector and its thread, started in this process (never inherited: a
        thread does not survive a fork)."""
        if self._selector is None or self._pid != os.getpid():
            self._selector = selectors.DefaultSelector()
            self._pid = os.getpid()
            threading.Thread(target=self._run, args=(self._selector,), daemon=True,
                             name="client-watch").start()
        return self._selector

    def _run(self, selector: selectors.BaseSelector) -> None:
        while True:
            for key, _events in selector.select(POLL_SECONDS):
                if self._client_left(key.fileobj):
                    with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
                        selector.unregister(key.fileobj)
                    try:
                        key.data()
                    except Exception:  # one stream's failure must not stop the watch
                        log.exception("ending a provider request failed")
                    log.info("client went away mid-stream; provider request ended")

    def _client_left(self, sock: socket.socket) -> bool:
        """Readable: either the client hung up (or reset), or it sent bytes (stop watching
        it, without reading them)."""
        try:
            left = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            left = True
        except ValueError:  # a TLS socket cannot be peeked at: stop watching it
            left = False
        if not left:
            with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(sock)  # type: ignore[union-attr]
        return left
