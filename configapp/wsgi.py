"""WSGI entry point of the standalone app: `configapp serve` runs `configapp.wsgi:app`."""

import logging

from configapp import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
