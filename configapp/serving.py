"""GuardedThreadWorker: gunicorn's gthread worker, where slow clients cannot hold threads.

gthread gives a new connection to a thread at once, which waits up to 5 s for its first
byte: a few idle connections (a browser's spare ones, or a port scan) stall every other
request for seconds. Here a new connection waits in the worker's poller until it sends
something. And once a byte has come, gthread reads the request to its end on the thread, and
a client sending a header a byte a second would hold that thread for hours; a few such
clients would take every thread. Here the request's head and body must arrive within
`request_read_seconds` (CONFIGAPP_REQUEST_TIMEOUT, set in configapp/gunicorn_config.py) of
its first bytes; a client slower than that is disconnected. Answers (a long stream) are
never timed.
"""

from __future__ import annotations

import errno
import functools
import logging
import select
import selectors
import socket
import time
from typing import Any

from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

DEFAULT_REQUEST_READ_SECONDS = 15.0


class DeadlineSocket(socket.socket):
    """A socket whose reads fail once a request has taken too long to arrive: the clock
    starts at the first read of a request (its first bytes are there) when `armed`."""

    __slots__ = ("armed", "deadline")

    armed: bool
    deadline: float | None
    request_read_seconds = DEFAULT_REQUEST_READ_SECONDS

    @classmethod
    def adopt(cls, sock: socket.socket) -> DeadlineSocket:
        blocking = sock.getblocking()
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted.setblocking(blocking)
        adopted.arm(False)
        return adopted

    def arm(self, armed: bool = True) -> None:
        self.armed, self.deadline = armed, None

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.armed and not flags & socket.MSG_PEEK:
            now = time.monotonic()
            if self.deadline is None:
                self.deadline = now + self.request_read_seconds
            elif self.deadline <= now or not self.readable_within(self.deadline - now):
                log.info("closed a connection that sent its request too slowly (over %g s)",
                         self.request_read_seconds)
                # gunicorn closes a reset connection quietly, as for a client that left.
                raise ConnectionResetError(errno.ECONNRESET, "request read too slowly")
        return super().recv(size, flags)

    def readable_within(self, seconds: float) -> bool:
        poll = select.poll()
        poll.register(self, select.POLLIN)
        return bool(poll.poll(seconds * 1000))


class GuardedThreadWorker(ThreadWorker):
    """gthread, with a deadline on reading each request (head and body), and a quick
    shutdown that cannot hang."""

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGQUIT or SIGINT (Ctrl-C): leave now. gthread's handler first shuts its thread
        pool down, which waits for the pool's lock; when the signal lands while the main
        thread is handing a connection to the pool (`submit` holds that lock while it
        starts a thread), the handler waits for itself and the worker hangs until the
        master kills it, `graceful_timeout` later (python/cpython#121649). Python's exit
        shuts the pool down anyway."""
        Worker.handle_quit(self, sig, frame)

    def enqueue_req(self, conn: Any) -> None:
        """A new connection goes to a thread once it has sent something: until then it
        waits in the poller (closed after `keepalive` seconds of silence), where gthread
        would hold a thread for up to 5 s on it."""
        if not conn.initialized and not conn.data_ready:
            conn.sock = DeadlineSocket.adopt(conn.sock)
            if not conn.sock.readable_within(0):
                self._wait_in_poller(conn)
                return
            conn.data_ready = True
        super().enqueue_req(conn)

    def _wait_in_poller(self, conn: Any) -> None:
        """What gthread does with a connection whose thread waited in vain (its `_DEFER`)."""
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             functools.partial(self.on_pending_socket_readable, conn))

    def handle(self, conn: Any) -> Any:
        """On a thread: a request is to be read from `conn`; its clock starts with it."""
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.arm()
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        """The head has come; the application reads the body within the same deadline,
        and the answer is never timed."""
        try:
            return super().handle_request(req, conn)
        finally:
            if isinstance(conn.sock, DeadlineSocket):
                conn.sock.arm(False)
