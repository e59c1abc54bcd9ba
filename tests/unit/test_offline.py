"""Every entry point sets the libraries' offline switches (configapp/providers/offline.py) before
anything imports litellm: gunicorn's settings, the `configapp` command, and ConfigApp (which
`create_app`, `flask`, gunicorn's app and an embedding host go through)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from configapp.providers.offline import OFFLINE_ENV

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import contextlib, io, json, os, sys
from configapp.providers.offline import OFFLINE_ENV

def cleared():
    for name in OFFLINE_ENV:
        os.environ.pop(name, None)

def switched():
    return all(os.environ.get(name) == value for name, value in OFFLINE_ENV.items())

found = {}
cleared()
import configapp.serving.gunicorn_config
found["gunicorn settings"] = switched()
cleared()
from configapp.serving.console import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["--help"])
found["configapp command"] = switched()
cleared()
from configapp import create_app
create_app()
found["create_app (ConfigApp)"] = switched()
found["litellm imported"] = "litellm" in sys.modules
print(json.dumps(found))
"""


def test_every_entry_point_sets_the_offline_switches(tmp_path):
    env = {name: value for name, value in os.environ.items()
           if name not in OFFLINE_ENV and not name.startswith("CONFIGAPP_")}
    env.update({"PYTHONPATH": str(ROOT), "CONFIGAPP_DATA_DIR": str(tmp_path / "data"),
                "CONFIGAPP_ENV_FILE": str(tmp_path / "absent.env"),
                "CONFIGAPP_CONFIG_FILE": str(tmp_path / "absent.yaml"),
                "CONFIGAPP_API_TOKEN": "offline-test-token-0123456789abcdef"})
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {
        "gunicorn settings": True, "configapp command": True, "create_app (ConfigApp)": True,
        "litellm imported": False}
