"""WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi ...`."""

import logging

from configapp import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
