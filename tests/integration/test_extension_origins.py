"""A server told to allow a CORS origin that is no extension's refuses to start, saying why."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_server_with_a_null_extension_origin_does_not_start(tmp_path):
    env = {**os.environ, "CONFIGAPP_EXTENSION_ORIGINS": "null",
           "CONFIGAPP_DATA_DIR": str(tmp_path / "data"),
           "CONFIGAPP_ENV_FILE": str(tmp_path / ".env"),
           "CONFIGAPP_CONFIG_FILE": str(tmp_path / "default.yaml")}
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert started.returncode != 0
    assert "CONFIGAPP_EXTENSION_ORIGINS: 'null' is not an extension's origin" in started.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made
