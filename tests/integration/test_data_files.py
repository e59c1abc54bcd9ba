"""The data folder and its files are the owner's alone, whatever the umask."""

import logging
import os
import stat

import pytest

from configapp import create_app
from configapp.keys.data_files import DataFolderError, private_folder
from tests.integration.support import dispose


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_database_wal_shm_key_file_and_locks_are_0600_in_a_0700_folder(settings, open_umask):
    app = create_app(settings)
    client = app.test_client()
    assert client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-private-files-0001"}).status_code == 201
    data = settings.data_dir
    names = {entry.name for entry in data.iterdir()}
    assert {"configapp.db", "configapp.db-wal", "configapp.db-shm",
            ".encryption_key"} <= names, names
    assert mode(data) == 0o700
    assert {name: mode(data / name) for name in names} == dict.fromkeys(names, 0o600)
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_files_left_open_by_an_older_version_are_made_private_at_start(settings):
    """The files as well as the folder: what configapp keeps in it is made private."""
    data = settings.data_dir
    data.mkdir(mode=0o750, parents=True)
    for name in ("configapp.db", ".encryption_key.20260101T000000Z.bak"):
        (data / name).touch()
        os.chmod(data / name, 0o644)
    dispose(create_app(settings))
    assert mode(data / "configapp.db") == 0o600
    assert mode(data / ".encryption_key.20260101T000000Z.bak") == 0o600


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_data_folder_open_to_everyone_is_made_0700_at_start_with_a_warning(settings, caplog):
    data = settings.data_dir
    data.mkdir(parents=True)
    data.chmod(0o777)
    (data / "backups").mkdir()
    with caplog.at_level(logging.WARNING, logger="configapp"):
        dispose(create_app(settings))
    assert mode(data) == 0o700
    assert f"The data folder {data} was open to other users (mode 0777)" in caplog.text


def test_a_data_folder_open_to_others_that_is_not_ours_stops_the_start(tmp_path):
    """Not ours: another user could put files there or take the database (simulated
    through `owner`: a root-run suite owns everything it makes)."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    with pytest.raises(DataFolderError, match=(
            r"open to other users \(mode 0777\) and belongs to user \d+, not to this one "
            r"\(\d+\): run `chmod 700 .*data` as its owner")):
        private_folder(data, owner=os.getuid() + 1)
    assert mode(data) == 0o777
    data.chmod(0o700)
    private_folder(data, owner=os.getuid() + 1)  # private already: whoever's, nothing to say


@pytest.mark.parametrize("folder_mode", [0o770, 0o775, 0o2775])
def test_a_container_volume_others_cannot_write_in_is_used_with_a_warning(tmp_path, caplog,
                                                                          folder_mode):
    """Kubernetes' fsGroup (root's folder, the pod's group, 2775) and OpenShift's random
    user in group 0 (0775): not ours and not changeable, but no other user can put or
    replace a file in it (the files in it are made 0600 all the same)."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(folder_mode)
    with caplog.at_level(logging.WARNING, logger="configapp"):
        private_folder(data, owner=os.getuid() + 1)
    assert mode(data) == folder_mode  # untouched
    assert "a container volume's" in caplog.text
