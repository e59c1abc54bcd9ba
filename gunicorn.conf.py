"""gunicorn's settings for a checkout (`make run`, `gunicorn wsgi:app`): the package's own."""

from configapp.serving.gunicorn_config import *  # noqa: F403
