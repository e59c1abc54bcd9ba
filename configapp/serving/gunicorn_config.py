"""gunicorn settings: local-first (127.0.0.1), the app built once and forked, served by
threads (docs/adr/0005-serving-model.md).

Used by `configapp serve` (`-c python:configapp.serving.gunicorn_config`) and, through the
top-level gunicorn.conf.py (`import *`: every public name here is a setting, and gunicorn
ignores the names it does not know), by `make run` and `gunicorn wsgi:app` in a checkout.

A streaming chat holds one thread, not a whole process: one worker with 32 threads serves
the Playground's tabs, the extension's sync and long answers at the same time, and pays
litellm's weight once. gthread's heartbeat runs in the worker's main loop, so `timeout`
never cuts a long stream; idle connections wait in its poller, not on a thread.
"""

import gc
import os

from configapp.providers.offline import stay_offline
from configapp.serving.worker import (
    DEFAULT_HEAD_SECONDS,
    DEFAULT_MAX_WAITING_HEADS,
    DEFAULT_REQUEST_READ_SECONDS,
    DeadlineSocket,
    GuardedThreadWorker,
)
from configapp.settings import DEFAULT_THREADS, DEFAULT_WORKERS

stay_offline()  # the master, before it preloads the app; the workers inherit it

bind = os.environ.get("CONFIGAPP_BIND", "127.0.0.1:8000")
worker_class = "configapp.serving.worker.GuardedThreadWorker"
workers = int(os.environ.get("CONFIGAPP_WORKERS", str(DEFAULT_WORKERS)))
threads = int(os.environ.get("CONFIGAPP_THREADS", str(DEFAULT_THREADS)))
# A client must send its request's head within CONFIGAPP_HEAD_TIMEOUT seconds (read by the
# worker's main loop, at most CONFIGAPP_HEAD_CONNECTIONS at once), then the whole request
# within CONFIGAPP_REQUEST_TIMEOUT seconds (docs/adr/0005-serving-model.md).
GuardedThreadWorker.head_seconds = float(
    os.environ.get("CONFIGAPP_HEAD_TIMEOUT", str(DEFAULT_HEAD_SECONDS)))
GuardedThreadWorker.max_waiting_heads = int(
    os.environ.get("CONFIGAPP_HEAD_CONNECTIONS", str(DEFAULT_MAX_WAITING_HEADS)))
DeadlineSocket.request_read_seconds = float(
    os.environ.get("CONFIGAPP_REQUEST_TIMEOUT", str(DEFAULT_REQUEST_READ_SECONDS)))
preload_app = True
# The worker's main loop must answer the master within this; requests and streams run on
# the threads and are never timed by it.
timeout = 30
keepalive = 5
accesslog = "-"
# gunicorn 27 shares one control socket per user by default: two instances on one machine
# would steer each other. configapp needs no runtime control.
control_socket_disable = True


def post_worker_init(worker):
    """Import litellm in the background of each new worker, so the first chat need not wait
    for it (seconds); start and the other endpoints never wait."""
    components = getattr(worker.wsgi, "extensions", {}).get("configapp")
    if components is not None:
        components.gateway.warm_up()


def pre_fork(server, worker):
    """Hide the preloaded app's objects from the garbage collector before forking: a
    worker's collections would otherwise write to every object it inherited and so copy
    the pages it shares with the master (Python's gc.freeze() documentation)."""
    gc.freeze()


def when_ready(server):
    """CONFIGAPP_AUTH=off only on loopback, checked on the addresses gunicorn really bound
    (a `-b` on the command line overrides CONFIGAPP_BIND, which the app checked)."""
    import ipaddress

    app = server.app.wsgi() if server.cfg.preload_app else None
    components = getattr(app, "extensions", {}).get("configapp")
    if components is None or components.gate.enabled or not components.gate.own_auth:
        return
    for listener in server.LISTENERS:
        address = listener.getsockname()
        host = address[0] if isinstance(address, tuple) else None
        if host is None or not ipaddress.ip_address(host).is_loopback:
            server.halt(f"CONFIGAPP_AUTH=off is allowed only on a loopback address, and "
                        f"gunicorn is bound to {listener}: remove CONFIGAPP_AUTH, or bind "
                        "to 127.0.0.1.", exit_status=1)
