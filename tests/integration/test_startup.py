"""Start-up: schema upgrades, the key file, and the refusal of a wrong key."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from configapp import create_app
from configapp.domain import InvalidEncryptionKeyError
from configapp.keys import fernet
from configapp.keys.fernet import FernetEncryption
from configapp.records import db
from configapp.schema import current_revision, head_revision
from configapp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def sqlite_settings(tmp_path: Path, **extra) -> Settings:
    return Settings(data_dir=tmp_path / "data", env_file=tmp_path / ".env",
                    config_file=tmp_path / "none.yaml", **extra)


def add_key(app) -> None:
    client = app.test_client()
    assert client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-start-1234abcd"}).status_code == 201


def test_first_start_makes_the_database_and_a_private_key_file(tmp_path):
    settings = sqlite_settings(tmp_path)
    app = create_app(settings)
    assert settings.key_file.stat().st_mode & 0o777 == 0o600
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700
    key_file = settings.key_file.read_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=\n", key_file)  # one key and a newline
    Fernet(key_file.strip().encode())  # a valid Fernet key
    with app.app_context():
        assert current_revision(db.engine) == head_revision()


def test_the_checkouts_data_folder_is_made_private_on_the_first_start(tmp_path):
    """git makes data/ (with its README) with the umask's mode: the first start tightens
    it, as it does any data folder open to others (test_data_files.py)."""
    settings = sqlite_settings(tmp_path)
    settings.data_dir.mkdir(mode=0o755)
    settings.data_dir.chmod(0o755)
    (settings.data_dir / "README.md").write_text("what goes here\n")
    create_app(settings)
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700


def test_starting_twice_keeps_the_key_and_the_data(tmp_path):
    settings = sqlite_settings(tmp_path)
    add_key(create_app(settings))
    key = settings.key_file.read_text()
    again = create_app(settings).test_client()
    assert settings.key_file.read_text() == key
    assert len(again.get("/api/config/api-keys").get_json()) == 1


def test_a_killed_starts_temporary_key_file_is_removed_at_the_next_start(tmp_path):
    """A start killed between writing its temporary key file and linking it leaves a key
    that opens nothing; the next start removes it, and never one of a running process."""
    data = tmp_path / "data"
    data.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = data / f".encryption_key.{gone.stdout.strip()}.tmp"
    stale.write_text(Fernet.generate_key().decode())
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        starting = data / f".encryption_key.{running.pid}.tmp"
        starting.write_text(Fernet.generate_key().decode())
        create_app(sqlite_settings(tmp_path))
        assert not stale.exists() and starting.exists()
        assert running.poll() is None  # asked whether it lives, sent no signal
    finally:
        running.kill()
        running.wait()


def test_a_temporary_of_another_users_process_is_kept(tmp_path, monkeypatch):
    """Asking whether another user's process lives is refused (EPERM): it lives."""
    data = tmp_path / "data"
    data.mkdir()
    theirs = data / ".encryption_key.4242.tmp"
    theirs.write_text(Fernet.generate_key().decode())

    def refused(pid: int, signal: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fernet.os, "kill", refused)
    create_app(sqlite_settings(tmp_path))
    assert theirs.exists()


def test_a_stale_temporary_another_start_removed_first_is_no_problem(tmp_path, monkeypatch):
    """Two workers start together and both find the same stale temporary."""
    data = tmp_path / "data"
    data.mkdir()
    stale = data / ".encryption_key.4242.tmp"
    stale.write_text(Fernet.generate_key().decode())

    def gone_meanwhile(pid: int) -> bool:
        stale.unlink()  # the other worker, between our glob and our unlink
        return False

    monkeypatch.setattr(fernet, "process_alive", gone_meanwhile)
    create_app(sqlite_settings(tmp_path))
    assert not stale.exists()


def test_a_key_file_another_worker_made_first_is_the_one_used(tmp_path, monkeypatch):
    settings = sqlite_settings(tmp_path)
    theirs = Fernet.generate_key().decode()

    def made_first(path: Path) -> str:
        path.write_text(theirs + "\n")  # the other worker linked its key a moment before
        raise FileExistsError(path)

    monkeypatch.setattr(fernet, "create_key_file", made_first)
    add_key(create_app(settings))
    monkeypatch.undo()
    # The key stored just now opens with their key alone.
    create_app(sqlite_settings(tmp_path, encryption_keys=(theirs,)))
    assert settings.key_file.read_text() == theirs + "\n"


def test_a_temporary_not_named_by_a_process_id_is_neither_removed_nor_a_problem(tmp_path):
    """A crashed rotation leaves `.encryption_key.new.tmp` (keys/key_files.py): it is
    not a start's temporary, so the start leaves it alone."""
    data = tmp_path / "data"
    data.mkdir()
    leftover = data / ".encryption_key.new.tmp"
    leftover.write_text(Fernet.generate_key().decode())
    create_app(sqlite_settings(tmp_path))
    assert leftover.exists()


def test_a_wrong_key_refuses_to_start_and_says_what_to_do(tmp_path):
    settings = sqlite_settings(tmp_path)
    add_key(create_app(settings))
    other = Fernet.generate_key().decode()
    with pytest.raises(InvalidEncryptionKeyError, match="cannot decrypt") as caught:
        create_app(sqlite_settings(tmp_path, encryption_keys=(other,)))
    assert other not in str(caught.value)


def test_an_old_key_second_in_the_list_still_decrypts(tmp_path):
    settings = sqlite_settings(tmp_path)
    add_key(create_app(settings))
    old = settings.key_file.read_text().strip()
    new = Fernet.generate_key().decode()
    app = create_app(sqlite_settings(tmp_path, encryption_keys=(new, old)))
    assert app.test_client().get("/readyz").status_code == 200


def test_a_missing_key_file_with_stored_keys_is_never_replaced(tmp_path):
    settings = sqlite_settings(tmp_path)
    add_key(create_app(settings))
    settings.key_file.unlink()
    with pytest.raises(InvalidEncryptionKeyError) as caught:
        create_app(settings)
    assert str(caught.value) == (
        f"1 encrypted API key(s) are stored but {settings.key_file} is missing and "
        "ENCRYPTION_KEY is not set. Restore the key file from your backup (or set "
        "ENCRYPTION_KEY); a new key would not open them. Nothing was changed.")
    assert not settings.key_file.exists()


def test_a_malformed_key_is_refused(tmp_path):
    with pytest.raises(InvalidEncryptionKeyError) as caught:
        create_app(sqlite_settings(tmp_path, encryption_keys=("not-a-key",)))
    assert str(caught.value) == (
        "ENCRYPTION_KEY (or the key file) is not a valid Fernet key: it must be 32 "
        "url-safe base64-encoded bytes, as made by Fernet.generate_key().")


def test_a_token_of_another_key_is_refused_by_decrypt_and_by_rotate_with_the_help():
    token = FernetEncryption([Fernet.generate_key().decode()]).encrypt("sk-other-1234")
    cipher = FernetEncryption([Fernet.generate_key().decode()])
    for operation in (cipher.decrypt, cipher.rotate):
        with pytest.raises(InvalidEncryptionKeyError, match="cannot decrypt the stored API"):
            operation(token)


def test_no_key_at_all_is_refused_in_words():
    with pytest.raises(InvalidEncryptionKeyError) as caught:
        FernetEncryption([])
    assert str(caught.value) == "No encryption key is configured."


def test_the_cipher_shows_no_key_when_printed():
    key = Fernet.generate_key().decode()
    assert repr(FernetEncryption([key])) == "FernetEncryption(<keys hidden>)"


def test_readyz_reports_a_schema_behind_head(tmp_path):
    settings = sqlite_settings(tmp_path)
    app = create_app(settings)
    with app.app_context():
        db.session.execute(db.text("UPDATE alembic_version SET version_num = 'older'"))
        db.session.commit()
    body = app.test_client().get("/readyz")
    assert body.status_code == 503
    assert "flask --app wsgi db upgrade" in body.get_json()["checks"]["schema"]


def test_flask_db_upgrade_builds_a_fresh_database_twice_over(tmp_path):
    env = {"CONFIGAPP_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin",
           "CONFIGAPP_ENV_FILE": str(tmp_path / ".env"),
           "CONFIGAPP_CONFIG_FILE": str(tmp_path / "none.yaml")}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    app = create_app(sqlite_settings(tmp_path))
    with app.app_context():
        assert current_revision(db.engine) == head_revision()


def test_workers_starting_together_agree_on_one_key(tmp_path):
    """Eight processes create the app on one empty data folder at once: one key file,
    whole, and every process uses it."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from configapp import create_app\n"
        "from configapp.settings import Settings\n"
        "root = Path(sys.argv[1])\n"
        "app = create_app(Settings(data_dir=root / 'data', env_file=root / '.env',\n"
        "                          config_file=root / 'none.yaml'))\n"
        "parts = app.extensions['configapp']\n"
        "print(parts.encryption.encrypt('probe of ' + sys.argv[2]))\n"
        "print(app.test_client().get('/readyz').status_code)\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(number)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
                 for number in range(8)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * 8, outputs
    key_file = Fernet((tmp_path / "data" / ".encryption_key").read_text().strip().encode())
    for number, (out, _) in enumerate(outputs):
        *_, token, status = out.split()
        assert status == "200"
        # What each process encrypts opens with the one key file's key alone.
        assert key_file.decrypt(token.encode()) == f"probe of {number}".encode()
    # And they agree on one API token: exactly one of them made it and printed its link.
    assert sum("/login#token=" in out for out, _ in outputs) == 1
    assert not list((tmp_path / "data").glob("*.tmp"))
