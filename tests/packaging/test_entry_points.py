"""A checkout's gunicorn.conf.py stays a thin import of the package's settings: `make run`
and `configapp serve` serve the same way."""

from __future__ import annotations

import runpy
import types
from pathlib import Path

import configapp.gunicorn_config as package_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_checkouts_gunicorn_conf_has_every_setting_of_the_package() -> None:
    checkout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    settings = {name: value for name, value in vars(package_settings).items()
                if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert {"bind", "workers", "preload_app", "post_worker_init"} <= settings.keys()
    for name, value in settings.items():
        assert checkout.get(name) is value, name

