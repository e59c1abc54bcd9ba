"""A checkout's gunicorn.conf.py stays a thin import of the package's settings: `make run`
and `configapp serve` serve the same way."""

from __future__ import annotations

import os
import runpy
import types
from pathlib import Path

import pytest

import configapp.serving.gunicorn_config as package_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_checkouts_gunicorn_conf_has_every_setting_of_the_package() -> None:
    checkout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    settings = {name: value for name, value in vars(package_settings).items()
                if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert {"bind", "workers", "preload_app", "post_worker_init"} <= settings.keys()
    for name, value in settings.items():
        assert checkout.get(name) is value, name



def test_configapp_passes_other_commands_to_flask(tmp_path: Path, monkeypatch,
                                                  capsys) -> None:
    """`configapp config keys list` is `flask --app configapp:create_app config keys list`
    (in-process here; tests/packaging/test_wheel.py runs the installed command)."""
    from configapp.serving.console import main

    monkeypatch.chdir(tmp_path)
    # Flask's CLI sets it for the process; monkeypatch puts the old state back.
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    for name in [name for name in os.environ if name.startswith("CONFIGAPP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CONFIGAPP_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as ended:
        main(["config", "keys", "list"])
    assert ended.value.code == 0
    assert "No stored keys." in capsys.readouterr().out
    assert (tmp_path / "data" / "configapp.db").is_file()

    main(["--help"])
    assert "serve" in capsys.readouterr().out
