"""The gunicorn worker's quick shutdown (configapp/serving/worker.py)."""

import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from configapp.serving.worker import GuardedThreadWorker


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
