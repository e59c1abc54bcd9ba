"""`gunicorn tests.host_app.wsgi:app`: the host app on HOST_DATABASE_URL, configapp's
settings from the environment (the browser test serves it this way)."""

import os

from configapp.settings import Settings
from tests.host_app import create_host_app

app = create_host_app(os.environ["HOST_DATABASE_URL"], Settings.from_env())
