"""The gunicorn worker (configapp/serving/worker.py): its quick shutdown, and the request
deadline of its sockets."""

import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from configapp.serving.worker import DeadlineSocket, GuardedThreadWorker


def test_a_quit_signal_while_a_connection_goes_to_the_pool_exits_at_once():
    """The signal handler runs on the main thread wherever it is; in `tpool.submit`, which
    holds the pool's lock while it starts a thread. gthread's handler waits for that lock
    there forever (the worker hung until the master killed it)."""
    worker = GuardedThreadWorker.__new__(GuardedThreadWorker)  # only what the handler uses
    worker.tpool, worker.alive = ThreadPoolExecutor(2), True
    worker.cfg = SimpleNamespace(worker_int=lambda worker: None)
    exits: list[object] = []

    def quit_inside_submit() -> None:
        with worker.tpool._shutdown_lock:  # where `submit` is when the signal lands
            try:
                worker.handle_quit(signal.SIGQUIT, None)
            except SystemExit as exit:
                exits.append(exit.code)

    handler = threading.Thread(target=quit_inside_submit, daemon=True)
    handler.start()
    handler.join(timeout=5)
    assert exits == [0] and not worker.alive
    worker.tpool.shutdown()


HEAD = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_the_first_read_after_the_buffered_head_is_under_the_deadline(monkeypatch):
    """A chunked head, then silence: the thread's first read from the socket itself (the
    head came from the main loop's buffer) fails at the deadline. It blocked forever, so
    each such client held a thread (the clock started only with that read)."""
    monkeypatch.setattr(DeadlineSocket, "request_read_seconds", 1.0)
    client, served = socket.socketpair()
    sock = DeadlineSocket.adopt(served)
    outcome: list[object] = []

    def read_the_request() -> None:
        try:
            outcome.append(sock.recv(len(HEAD)))
            outcome.append(sock.recv(8192))
        except OSError as error:
            outcome.append(error)
        outcome.append(time.monotonic() - armed)

    try:
        client.sendall(HEAD)
        assert sock.read_head() is True  # the main loop's read: the head is whole
        sock.setblocking(True)  # as gthread hands it to a thread
        sock.arm()
        armed = time.monotonic()
        reader = threading.Thread(target=read_the_request, daemon=True)
        reader.start()
        reader.join(timeout=4)
        assert not reader.is_alive(), "the first socket read after the head is not timed"
    finally:
        client.close()  # ends a read still blocked
        sock.close()
    head, error, seconds = outcome
    assert head == HEAD
    assert isinstance(error, ConnectionResetError)
    assert 0.9 <= seconds < 3, seconds


def test_the_deadline_counts_from_arming_not_from_the_first_read(monkeypatch):
    """Time the thread spent before its first read counts: bytes that come after the
    deadline are refused, not read."""
    monkeypatch.setattr(DeadlineSocket, "request_read_seconds", 0.2)
    client, served = socket.socketpair()
    sock = DeadlineSocket.adopt(served)
    try:
        sock.setblocking(True)
        sock.arm()
        time.sleep(0.3)
        client.sendall(b"5\r\nhello\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(8192)
        sock.arm(False)  # the answer and the next request's head are not timed here
        assert sock.recv(8192) == b"5\r\nhello\r\n"
    finally:
        client.close()
        sock.close()
