"""WSGI entry point in a checkout: `gunicorn wsgi:app` and `flask --app wsgi ...`."""

from configapp.wsgi import app

__all__ = ["app"]
