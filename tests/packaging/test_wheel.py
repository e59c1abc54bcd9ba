"""The wheel and the sdist, built with the usual tooling and installed as a new user would:
into a fresh virtual environment outside the repository (the runtime dependencies from
requirements.lock, with their hashes, then the wheel), run from a folder of its own.

Building needs no download (setuptools and build are in requirements-dev.lock). The
environment is made once per test session: uv (in requirements-dev.lock) installs the lock
file, seconds with its cache (pip takes about 2.5 minutes here), then pip the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from sqlalchemy import create_engine, inspect

from configapp.domain import PROVIDER_ENV_VARS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "wheel-T0ken-" + "Pk9sLm2q" * 4
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    venv: Path
    package_dir: Path  # configapp/ in the venv's site-packages

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`python -m build`: the sdist from a copy of the tree (the files git would commit),
    then the wheel from the sdist, as PyPI's tooling does: a file the sdist lacks is
    missing from the wheel too."""
    folder = tmp_path_factory.mktemp("build")
    source = folder / "source"
    files = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(folder / "dist"),
         str(source)])
    return Built(next((folder / "dist").glob("*.whl")), next((folder / "dist").glob("*.tar.gz")))


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = tmp_path_factory.mktemp("venv") / "configapp"
    started = time.monotonic()
    python = str(venv / "bin" / "python")
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(Path(sys.executable).with_name("uv")), "pip", "install", "--quiet", "--python",
         python, "--require-hashes", "-r", str(ROOT / "requirements.lock")])
    run([python, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps",
         str(built.wheel)])
    print(f"fresh venv with the wheel installed in {time.monotonic() - started:.0f} s")
    where = run([str(venv / "bin" / "python"), "-c",
                 "import configapp, pathlib; print(pathlib.Path(configapp.__file__).parent)"],
                cwd=venv.parent).stdout.strip()
    return Installed(venv, Path(where))


def outside_environment(folder: Path, **extra: str) -> dict[str, str]:
    """The parent's environment without anything that could lead back to the repository
    or this machine's configapp: no PYTHONPATH, no virtualenv, no CONFIGAPP_*, no keys."""
    provider_vars = {name for names in PROVIDER_ENV_VARS.values() for name in names}
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CONFIGAPP_", "PYTHON", "FLASK_", "VIRTUAL_ENV"))
           and name != "ENCRYPTION_KEY" and name not in provider_vars}
    env.update(CONFIGAPP_DATA_DIR=str(folder / "data"), PYTHONUNBUFFERED="1",
               CONFIGAPP_ENV_FILE=str(folder / "absent.env"),
               CONFIGAPP_CONFIG_FILE=str(folder / "absent.yaml"))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


@pytest.fixture
def served(installed: Installed, tmp_path: Path) -> Iterator[str]:
    """`configapp` (no arguments), from a folder of its own, on a free port."""
    port = free_port()
    log_path = tmp_path / "configapp.log"
    env = outside_environment(tmp_path, CONFIGAPP_BIND=f"127.0.0.1:{port}",
                              CONFIGAPP_WORKERS="1", CONFIGAPP_API_TOKEN=TOKEN)
    with log_path.open("wb") as log:
        process = subprocess.Popen([installed.bin("configapp")], cwd=tmp_path, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"configapp did not start:\n{log_path.read_text(errors='replace')}")
            try:
                if get(url + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_wheel_holds_the_pages_the_migrations_and_the_catalogue(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = Parser().parsestr(
            wheel.read(next(name for name in names if name.endswith("/METADATA"))).decode())
    for packaged in ("configapp/playground/settings.html", "configapp/playground/index.html",
                     "configapp/playground/js/settings-ui.js", "configapp/playground/css/app.css",
                     "configapp/migrations/alembic.ini", "configapp/migrations/env.py",
                     "configapp/migrations/script.py.mako",
                     "configapp/migrations/versions/0001_initial.py",
                     "configapp/data/fallback_models.json", "configapp/templates/api_docs.html",
                     "configapp/serving/gunicorn_config.py"):
        assert packaged in names, packaged
    for migration in (ROOT / "configapp" / "migrations" / "versions").glob("*.py"):
        assert f"configapp/migrations/versions/{migration.name}" in names
    assert not any(name.startswith(("tests/", "bench/", "data/")) for name in names)
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("Project-URL")
    assert any(name.endswith("entry_points.txt") for name in names)


def test_the_sdist_holds_the_sources_and_the_documents(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for document in ("pyproject.toml", "LICENSE", "README.md", "CHANGELOG.md",
                     "docs/architecture.md", "configapp/migrations/versions/0001_initial.py",
                     "configapp/playground/settings.html"):
        assert document in names, document


def test_the_declared_dependencies_admit_the_locked_versions(built: Built) -> None:
    """Every runtime dependency of requirements.in is declared, with a range that holds the
    version requirements.lock installs (the tests ran with that one)."""
    with zipfile.ZipFile(built.wheel) as wheel:
        metadata = Parser().parsestr(
            wheel.read(next(name for name in wheel.namelist()
                            if name.endswith("/METADATA"))).decode())
    declared = {Requirement(line).name.lower(): Requirement(line)
                for line in metadata.get_all("Requires-Dist")}
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ", 1)[0].split("==")
            locked[name.split("[")[0].lower()] = version
    wanted = [Requirement(line.split("#")[0]).name.lower()
              for line in (ROOT / "requirements.in").read_text().splitlines()
              if line.split("#")[0].strip()]
    assert wanted
    for name in wanted:
        assert name in declared, f"{name} (requirements.in) is not a declared dependency"
        assert declared[name].specifier.contains(locked[name]), (
            f"{name}: the locked {locked[name]} is outside {declared[name].specifier}")
        assert list(declared[name].specifier.filter(["999999"])) == [], (
            f"{name}: no upper bound")


# The first test to use the environment makes it (pytest-timeout counts the fixtures).
SLOW = pytest.mark.timeout(900)


@SLOW
def test_the_installed_configapp_serves_the_pages_and_the_api(installed: Installed,
                                                             served: str) -> None:
    status, kind, page = get(served + "/settings")
    assert (status, kind) == (200, "text/html")
    assert b'src="assets/js/settings-page.js"' in page
    status, kind, body = get(served + "/api/config/models")
    assert (status, kind) == (200, "application/json"), body[:300]
    assert json.loads(body)["models"]


@SLOW
def test_the_pages_files_come_from_the_installed_package(installed: Installed,
                                                         served: str) -> None:
    assert not installed.package_dir.is_relative_to(ROOT)
    assert installed.package_dir.is_relative_to(installed.venv)
    for asset in ("js/settings-page.js", "css/app.css", "img/favicon.svg"):
        status, _kind, body = get(f"{served}/assets/{asset}")
        assert status == 200
        assert body == (installed.package_dir / "playground" / asset).read_bytes()


@SLOW
def test_flask_db_upgrade_builds_the_schema(installed: Installed, make_settings,
                                            tmp_path: Path) -> None:
    """`flask --app configapp:create_app db upgrade` with the migrations of the package."""
    settings = make_settings()
    extra = {"ENCRYPTION_KEY": ",".join(settings.encryption_keys)} if (
        settings.encryption_keys) else {}
    env = outside_environment(tmp_path, CONFIGAPP_DATABASE_URL=settings.database_url,
                              **extra)
    run([installed.bin("flask"), "--app", "configapp:create_app", "db", "upgrade"],
        cwd=tmp_path, env=env)
    engine = create_engine(settings.database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"api_keys", "model_configs", "settings_revision", "alembic_version"} <= tables
    listed = run([installed.bin("configapp"), "config", "keys", "list"], cwd=tmp_path, env=env)
    assert "No stored keys." in listed.stdout
