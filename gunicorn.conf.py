"""gunicorn settings: local-first (127.0.0.1), the app built once and forked."""

import gc
import os

bind = os.environ.get("CONFIGAPP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CONFIGAPP_WORKERS", "2"))
preload_app = True
timeout = 120
accesslog = "-"


def pre_fork(server, worker):
    """Hide the preloaded app's objects from the garbage collector before forking: a
    worker's collections would otherwise write to every object it inherited and so copy
    the pages it shares with the master (Python's gc.freeze() documentation)."""
    gc.freeze()
