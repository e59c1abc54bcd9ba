"""gunicorn settings: local-first (127.0.0.1), the app built once and forked."""

import os

bind = os.environ.get("CONFIGAPP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CONFIGAPP_WORKERS", "2"))
preload_app = True
timeout = 120
accesslog = "-"
