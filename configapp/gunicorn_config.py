"""gunicorn settings: local-first (127.0.0.1), the app built once and forked.

Used by `configapp serve` (`-c python:configapp.gunicorn_config`) and, through the
top-level gunicorn.conf.py (`import *`: every public name here is a setting, and gunicorn
ignores the names it does not know), by `make run` and `gunicorn wsgi:app` in a checkout.
"""

import gc
import os

bind = os.environ.get("CONFIGAPP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CONFIGAPP_WORKERS", "2"))
preload_app = True
timeout = 120
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
