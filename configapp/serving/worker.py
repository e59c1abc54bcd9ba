"""GuardedThreadWorker: gunicorn's gthread worker, where slow clients cannot hold threads.

gthread gives a connection to a thread as soon as it is readable, and the thread reads and
parses the request's head: a client sending its head a byte at a time holds a thread, and
forty such clients took all 32 threads, so /healthz waited 14 s (issue 25). Here the
worker's main loop reads each request's head itself, without blocking, with its body if a
small one, and gives the connection to a thread only once they are whole: slow heads
wait in the poller, which costs a buffer, not a thread. A head has `head_seconds`
(CONFIGAPP_HEAD_TIMEOUT, 5 s) from the connection's start, or from the first byte of a kept-
alive connection's next request, to arrive; and at most `max_waiting_heads`
(CONFIGAPP_HEAD_CONNECTIONS, 256) connections may be sending one at once: past either, the
connection is answered 408 and closed, the oldest first, so a crowd of slow clients churns
itself while a quick client's head still gets in. Once the head has come, a larger body
must arrive within `request_read_seconds` (CONFIGAPP_REQUEST_TIMEOUT, 15 s) on the thread,
or the connection is closed. Answers (a long stream) are never timed. And a connection
being closed lingers in the poller, not on the main loop (gthread waits there up to 2 s
for each).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import re
import select
import selectors
import socket
import time
from typing import Any

from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

DEFAULT_REQUEST_READ_SECONDS = 15.0
DEFAULT_HEAD_SECONDS = 5.0
DEFAULT_MAX_WAITING_HEADS = 256
# A head longer than this goes to a thread unfinished: the thread reads the rest within the
# request deadline, and gunicorn refuses a head past its limits (414, 431).
MAX_HEAD_BYTES = 64 * 1024
END_OF_HEAD = b"\r\n\r\n"
# A small body comes with the head, read the same way (a chunked one goes to the thread).
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,9})[ \t]*\r\n", re.IGNORECASE)
EXPECT_CONTINUE = re.compile(rb"\r\nexpect:", re.IGNORECASE)
UNREAD_BODY_SECONDS = 0.2
LINGER_SECONDS = 2.0  # gunicorn's close_graceful
TOO_SLOW = b"The request head came too slowly.\n"
TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain"
             b"\r\nContent-Length: %d\r\n\r\n%s" % (len(TOO_SLOW), TOO_SLOW))


class DeadlineSocket(socket.socket):
    """A socket whose reads fail once a request has taken too long to arrive: the clock
    starts when a thread takes the request (`arm`), and every read from the socket itself,
    the first too, waits at most what is left of it. The head the main loop has read
    (`head`) is what its next reads return first."""

    __slots__ = ("deadline", "head", "scanned", "whole")

    deadline: float | None  # when the request being read must have come, once armed
    head: bytearray
    whole: int | None  # the request's length with its small body, once its head has come
    scanned: int  # how much of `head` holds no end of head
    request_read_seconds = DEFAULT_REQUEST_READ_SECONDS

    @classmethod
    def adopt(cls, sock: socket.socket) -> DeadlineSocket:
        blocking = sock.getblocking()
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted.setblocking(blocking)
        adopted.arm(False)
        adopted.head = bytearray()
        adopted.whole, adopted.scanned = None, 0
        return adopted

    def arm(self, armed: bool = True) -> None:
        self.deadline = time.monotonic() + self.request_read_seconds if armed else None

    def read_head(self) -> bool | None:
        """Read what has come of the request without blocking: True once its head is whole
        and so is its body if a small one (a Content-Length within MAX_HEAD_BYTES), or once
        it is too long to wait for; None when the client has left; False while more is to
        come."""
        while not self._complete():
            if len(self.head) >= MAX_HEAD_BYTES:
                return True
            try:
                chunk = socket.socket.recv(self, MAX_HEAD_BYTES - len(self.head))
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return None
            if not chunk:
                return None if not self.head else True
            self.head += chunk
        return True

    def _complete(self) -> bool:
        if self.whole is None:
            end = self.head.find(END_OF_HEAD, self.scanned)
            if end < 0:
                self.scanned = max(len(self.head) - len(END_OF_HEAD) + 1, 0)
                return False
            length = CONTENT_LENGTH.search(self.head, 0, end + 2)
            waits = EXPECT_CONTINUE.search(self.head, 0, end + 2)  # sends its body after a 100
            self.whole = end + len(END_OF_HEAD) + (
                int(length[1]) if length and not waits else 0)
        if self.whole > MAX_HEAD_BYTES or len(self.head) >= self.whole:
            self.whole, self.scanned = None, 0
            return True
        return False

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.head and not flags & socket.MSG_PEEK:
            given = bytes(self.head[:size])
            del self.head[:size]
            return given
        if self.deadline is not None and not flags & socket.MSG_PEEK:
            left = self.deadline - time.monotonic()
            if left <= 0 or not self.readable_within(left):
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
    """gthread, where a request's head is read by the main loop and only a whole one is
    given to a thread, with deadlines on the head and the body, and a quick shutdown that
    cannot hang."""

    head_seconds = DEFAULT_HEAD_SECONDS
    max_waiting_heads = DEFAULT_MAX_WAITING_HEADS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections whose head is still coming, oldest first, with their deadlines.
        self.waiting_heads: dict[Any, float] = {}
        # Connections being closed, with the time they may linger until.
        self.lingering: dict[Any, float] = {}

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGQUIT or SIGINT (Ctrl-C): leave now. gthread's handler first shuts its thread
        pool down, which waits for the pool's lock; when the signal lands while the main
        thread is handing a connection to the pool (`submit` holds that lock while it
        starts a thread), the handler waits for itself and the worker hangs until the
        master kills it, `graceful_timeout` later (python/cpython#121649). Python's exit
        shuts the pool down anyway."""
        Worker.handle_quit(self, sig, frame)

    def enqueue_req(self, conn: Any) -> None:
        """A connection goes to a thread once its request's head is whole; until then it
        waits in the poller, its head read here as it comes. TLS and HTTP/2 connections
        are gthread's (the head is not plain text on the socket)."""
        if self.cfg.is_ssl or conn.is_http2 or (
                conn.parser is not None and conn.parser.unreader.buf.getvalue()):
            super().enqueue_req(conn)
            return
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket.adopt(conn.sock)
        conn.sock.setblocking(False)
        self._read_head(conn)

    def _read_head(self, conn: Any) -> None:
        whole = conn.sock.read_head()
        if whole is False:
            self._wait_for_head(conn)
            return
        self._stop_waiting(conn)
        if whole is None:
            self._close(conn)
            return
        conn.data_ready = True
        super().enqueue_req(conn)

    def _wait_for_head(self, conn: Any) -> None:
        if conn in self.waiting_heads:
            return
        while len(self.waiting_heads) >= self.max_waiting_heads:
            oldest = next(iter(self.waiting_heads))
            log.info("closed the oldest of %d connections still sending their request head",
                     len(self.waiting_heads))
            self._time_out(oldest)
        self.waiting_heads[conn] = time.monotonic() + self.head_seconds
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             functools.partial(self._on_head_readable, conn))

    def _on_head_readable(self, conn: Any, _sock: Any) -> None:
        self._read_head(conn)

    def _stop_waiting(self, conn: Any) -> None:
        if self.waiting_heads.pop(conn, None) is not None:
            self.poller.unregister(conn.sock)

    def _time_out(self, conn: Any) -> None:
        """408 and close: a head that did not come in time, or made room for a newer one."""
        self._stop_waiting(conn)
        with contextlib.suppress(OSError):  # gone, or its buffer full: the close tells it
            conn.sock.send(TIMED_OUT)
        self._close(conn)

    def _close(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also close the connections whose head has not come by its deadline (the main
        loop calls this at least once a second)."""
        super().murder_pending()
        now = time.monotonic()
        expired = [conn for conn, deadline in self.waiting_heads.items() if deadline <= now]
        if expired:
            log.info("closed %d connections that sent their request head too slowly "
                     "(over %g s)", len(expired), self.head_seconds)
        for conn in expired:
            self._time_out(conn)
        for conn in [conn for conn, deadline in self.lingering.items() if deadline <= now]:
            self._stop_lingering(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """On the main loop, a request done. A kept-alive connection whose next request the
        main loop has already read (a pipelining client) goes on at once: its socket may
        never be readable again. A connection to close lingers in the poller: gthread
        lingers on the main loop itself, up to 2 s for each, which forty clients still
        sending would turn into a minute of a stalled worker."""
        done = not fs.cancelled() and fs.exception() is None
        if done and isinstance(conn.sock, DeadlineSocket):
            if not fs.result():
                self._linger(conn)
                return
            if conn.sock.head and self.alive and fs.result() is True:
                self.enqueue_req(conn)
                return
        super().finish_request(conn, fs)

    def _linger(self, conn: Any) -> None:
        """Close as RFC 9112 9.6 asks (gunicorn's close_graceful: FIN, then read what the
        client still sends, so that the answer is not cut by a reset), without waiting."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 functools.partial(self._on_lingering_readable, conn))
        except (OSError, ValueError):
            self._close(conn)
            return
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS

    def _on_lingering_readable(self, conn: Any, _sock: Any) -> None:
        try:
            more = bool(socket.socket.recv(conn.sock, 65536))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            more = False
        if not more:
            self._stop_lingering(conn)

    def _stop_lingering(self, conn: Any) -> None:
        if self.lingering.pop(conn, None) is not None:
            self.poller.unregister(conn.sock)
        self._close(conn)

    def _keepalive_after(self, conn: Any, keepalive: Any) -> bool:
        """A body the app did not read (a request refused before it, e.g. a 401) is drained
        only if it is already there: gthread waits up to 5 s on the thread for it, which a
        client sending it slowly would use to hold the thread. Else the connection closes."""
        if not keepalive:
            return False
        return bool(conn.parser.finish_body(deadline=time.monotonic() + UNREAD_BODY_SECONDS))

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
