"""The `configapp` command: `configapp serve` runs gunicorn, the rest is `flask config ...`.

`configapp` alone, or `configapp serve [gunicorn options]`, serves the standalone app with
the same settings as `make run` (configapp/serving/gunicorn_config.py: 127.0.0.1:8000 or
CONFIGAPP_BIND, CONFIGAPP_WORKERS workers, the app preloaded). Any other command is run by
Flask's command line on `configapp:create_app`: `configapp config keys list`,
`configapp db upgrade`, `configapp routes`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from flask.cli import FlaskGroup

from configapp.providers.offline import stay_offline

USAGE = """Usage: configapp [serve [GUNICORN OPTIONS]] | COMMAND [ARGS]...

  serve            serve the app with gunicorn (the default; `configapp serve --help`)
  config ...       provider keys, models, client tokens, the .env import, the encryption key
  db upgrade       build or upgrade the database schema
  COMMAND          any other `flask` command, run on configapp:create_app
"""


def serve(options: Sequence[str]) -> None:
    """Replace this process with gunicorn, so that signals reach its master directly."""
    argv = [sys.executable, "-m", "gunicorn",
            "--config", "python:configapp.serving.gunicorn_config",
            *options, "configapp.wsgi:app"]
    os.execv(sys.executable, argv)  # noqa: S606 (no shell: the arguments go as they are)


def flask_commands(arguments: Sequence[str]) -> None:
    """`flask --app configapp:create_app ARGUMENTS` (it loads .env as `flask` does)."""
    from configapp import create_app

    group = FlaskGroup(name="configapp", create_app=lambda: create_app())
    group.main(args=list(arguments), prog_name="configapp")


def main(argv: Sequence[str] | None = None) -> None:
    stay_offline()  # gunicorn's master and the Flask command inherit it
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] in ([], ["serve"]):
        serve(arguments[1:])
    elif arguments[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
    else:
        flask_commands(arguments)


if __name__ == "__main__":
    main()
