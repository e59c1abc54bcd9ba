"""GuardedThreadWorker: gunicorn's gthread worker, with a deadline on reading a request.

gthread already keeps a connection that sends nothing off its threads (after 5 s it waits
in the worker's poller). But once a byte has come, a thread reads the request to its end,
and a client sending a header a byte a second would hold that thread for hours; a few such
clients would take every thread. Here the request's head and body must arrive within
REQUEST_READ_SECONDS of the thread taking the connection; a client slower than that is
disconnected. Answers (a long stream) are never timed.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

REQUEST_READ_SECONDS = 15.0


class DeadlineSocket(socket.socket):
    """A socket whose reads fail once `deadline` (time.monotonic()) has passed."""

    __slots__ = ("deadline",)

    deadline: float | None

    @classmethod
    def adopt(cls, sock: socket.socket) -> DeadlineSocket:
        blocking = sock.getblocking()
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted.setblocking(blocking)
        adopted.deadline = None
        return adopted

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.deadline is not None and not flags & socket.MSG_PEEK:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not self._readable_within(remaining):
                log.info("closed a connection that sent its request too slowly (over %g s)",
                         REQUEST_READ_SECONDS)
                # gunicorn closes a reset connection quietly, as for a client that left.
                raise ConnectionResetError(errno.ECONNRESET, "request read too slowly")
        return super().recv(size, flags)

    def _readable_within(self, seconds: float) -> bool:
        poll = select.poll()
        poll.register(self, select.POLLIN)
        return bool(poll.poll(seconds * 1000))


class GuardedThreadWorker(ThreadWorker):
    """gthread, with a deadline on reading each request (head and body)."""

    def enqueue_req(self, conn: Any) -> None:
        """A thread is about to read a request on `conn`: the clock starts."""
        if not isinstance(conn.sock, DeadlineSocket) and not conn.initialized:
            conn.sock = DeadlineSocket.adopt(conn.sock)
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.deadline = time.monotonic() + REQUEST_READ_SECONDS
        super().enqueue_req(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        """The head has come; the application reads the body within the same deadline,
        and the answer is never timed."""
        try:
            return super().handle_request(req, conn)
        finally:
            if isinstance(conn.sock, DeadlineSocket):
                conn.sock.deadline = None
