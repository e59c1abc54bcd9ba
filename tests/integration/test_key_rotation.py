"""Rotation and checking of the encryption key, on real files, real Fernet, both databases."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import stat
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from configapp import create_app
from configapp.domain import InvalidEncryptionKeyError, NewApiKey, SealedKey
from configapp.keys.fernet import FernetEncryption, load_keys, pending_key_file
from configapp.keys.key_files import KeyFiles
from tests.integration.support import dispose

PROVIDERS = ("openai", "anthropic", "gemini", "mistral", "groq")


def fill(app, count: int) -> dict[int, str]:
    """`count` keys through the service; row id -> plaintext."""
    expected = {}
    with app.app_context():
        service = app.extensions["configapp"].config
        for number in range(count):
            plaintext = f"sk-row{number:04d}-{secrets.token_hex(8)}"
            base = "https://proxy.example/v1" if number % 7 == 0 else None
            record = service.add_api_key(NewApiKey(PROVIDERS[number % len(PROVIDERS)],
                                                   plaintext, f"key {number}", base,
                                                   is_active=False))
            expected[record.id] = plaintext
    return expected


def rows(settings) -> list[tuple[int, str, str | None, str]]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT id, provider, api_base, encrypted_key FROM api_keys ORDER BY id"))]
    finally:
        engine.dispose()


def opened_by(settings, keys: list[str], expected: dict[int, str]) -> int:
    """How many rows open with exactly these keys, bound to their row, with the right key."""
    cipher = FernetEncryption(keys)
    count = 0
    for row_id, provider, api_base, token in rows(settings):
        try:
            sealed = SealedKey.from_plaintext(cipher.decrypt(token))
        except InvalidEncryptionKeyError:
            continue
        assert (sealed.row_id, sealed.provider, sealed.api_base) == (row_id, provider, api_base)
        assert sealed.api_key == expected[row_id]
        count += 1
    return count


def cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["config", *args], input=input)


def no_secret_in(output: str, expected: dict[int, str]) -> None:
    assert not any(plaintext in output for plaintext in expected.values())
    assert "gAAAAA" not in output  # a Fernet token


def test_rotating_500_keys_leaves_them_all_opening_with_the_new_key_alone(app, settings):
    expected = fill(app, 500)
    old = load_keys(settings.encryption_keys, settings.key_file, 1)[0]
    result = cli(app, "rotate-key")
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 500 stored key(s)" in result.stderr
    assert "re-encrypted 250/500" in result.stderr and "re-encrypted 500/500" in result.stderr
    no_secret_in(result.output, expected)
    assert old not in result.output
    seconds = float(re.search(r"in (\d+\.\d+) s", result.stderr).group(1))
    print(f"rotation of 500 rows ({settings.database_url.split(':')[0]}): {seconds:.2f} s")
    if settings.encryption_keys:  # ENCRYPTION_KEY: the new key waits in the pending file
        new = pending_key_file(settings.key_file).read_text().strip()
        assert "Put the new key first in ENCRYPTION_KEY" in result.stderr
    else:
        new = settings.key_file.read_text().strip()
        [backup] = KeyFiles(settings.key_file).backups()
        assert backup.read_text().strip() == old
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
        assert not pending_key_file(settings.key_file).exists()
    assert new != old
    assert opened_by(settings, [new], expected) == 500
    assert opened_by(settings, [old], expected) == 0
    restarted = create_app(settings)  # the start's canary opens the rows with the new key
    with restarted.app_context():
        service = restarted.extensions["configapp"].config
        assert service.reveal(service.get_api_key(1)) == expected[1]
    dispose(restarted)


def test_through_encryption_key_the_operator_puts_the_new_key_first_then_drops_the_old(
        make_settings, fernet_key):
    settings = make_settings(encryption_keys=(fernet_key,))
    if not settings.is_sqlite:
        from tests.conftest import upgrade_postgres
        upgrade_postgres(settings)
    app = create_app(settings)
    expected = fill(app, 20)
    result = cli(app, "rotate-key", "--print-new-key")
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()  # asked for: the key alone on stdout, the rest on stderr
    assert Fernet(new.encode()) and new != fernet_key and new not in result.stderr
    assert "ENCRYPTION_KEY=<new>,<old>" in result.stderr
    dispose(app)
    # An instance still running with only the old key (and the pending file) saves a key.
    still_old = create_app(settings)
    expected.update(fill(still_old, 1))
    dispose(still_old)
    assert opened_by(settings, [new], expected) == 20
    both = replace(settings, encryption_keys=(new, fernet_key))
    app = create_app(both)
    result = cli(app, "rotate-key", "--keep-key")
    assert result.exit_code == 0, result.output
    assert "is no longer needed" in result.stderr
    check = cli(app, "check-key")
    assert check.exit_code == 0 and "Every row opens with the first key" in check.output
    assert opened_by(settings, [new], expected) == 21
    dispose(app)
    pending_key_file(settings.key_file).unlink()
    dispose(create_app(replace(settings, encryption_keys=(new,))))


def test_a_given_key_comes_from_stdin_and_is_never_printed(app, settings):
    expected = fill(app, 3)
    given = Fernet.generate_key().decode()
    result = cli(app, "rotate-key", "--given-key", input=given + "\n")
    assert result.exit_code == 0, result.output
    assert given not in result.output
    installed = pending_key_file(settings.key_file) if settings.encryption_keys else (
        settings.key_file)
    assert installed.read_text().strip() == given
    assert opened_by(settings, [given], expected) == 3


def test_a_key_that_is_not_a_fernet_key_changes_nothing(app, settings):
    fill(app, 3)
    before = rows(settings)
    result = cli(app, "rotate-key", "--given-key", input="not-a-fernet-key\n")
    assert result.exit_code == 1 and "not a valid Fernet key" in result.output
    assert rows(settings) == before
    assert not pending_key_file(settings.key_file).exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's states
@pytest.mark.parametrize("stopped_after", ["pending-written", "rows-committed", "backup-made"])
def test_a_rotation_stopped_between_its_steps_still_starts_and_finishes(make_settings,
                                                                         stopped_after):
    settings = make_settings()
    app = create_app(settings)
    expected = fill(app, 30)
    old = settings.key_file.read_text().strip()
    new = Fernet.generate_key().decode()
    files = KeyFiles(settings.key_file)
    files.write_pending(new)
    if stopped_after != "pending-written":
        with app.app_context():
            storage = app.extensions["configapp"].storage
            rotator = FernetEncryption([new, old])
            storage.reencrypt_all(rotator.rotate)
    if stopped_after == "backup-made":
        files._backup(datetime.now(UTC))
    dispose(app)
    restarted = create_app(settings)  # reads the key file and the pending key
    check = cli(restarted, "check-key")
    assert check.exit_code == 0 and "A key rotation has not finished" in check.output
    result = cli(restarted, "rotate-key")
    assert result.exit_code == 0 and "Finished the interrupted rotation" in result.stderr
    assert settings.key_file.read_text().strip() == new
    assert [b.read_text().strip() for b in files.backups()] == [old]
    assert opened_by(settings, [new], expected) == 30
    dispose(restarted)


def test_reencrypting_reports_progress_keeps_the_revision_and_is_durable_on_disk(
        app, settings, tmp_path):
    """The storage's side of a rotation: progress row by row, the sync revision unchanged
    (the settings are the same, only their ciphertext is new), and on SQLite the new
    tokens in the database file itself before the key files change (make_durable)."""
    fill(app, 3)
    old = load_keys(settings.encryption_keys, settings.key_file, 1)[0]
    rotator = FernetEncryption([Fernet.generate_key().decode(), old])
    with app.app_context():
        storage = app.extensions["configapp"].storage
        revision = storage.revision()
        calls: list[tuple[int, int]] = []
        assert storage.reencrypt_all(rotator.rotate, lambda *call: calls.append(call)) == 3
        assert calls == [(1, 3), (2, 3), (3, 3)]
        assert storage.revision() == revision
        storage.make_durable()
        if settings.is_sqlite:
            # The database file alone, as a power cut would leave it without its WAL.
            copy = tmp_path / "copy.db"
            copy.write_bytes(Path(settings.database_url.removeprefix("sqlite:///"))
                             .read_bytes())
            with sqlite3.connect(copy) as connection:
                on_disk = connection.execute(
                    "SELECT id, encrypted_key FROM api_keys ORDER BY id").fetchall()
            assert on_disk == [(row[0], row[3]) for row in rows(settings)]


def test_check_key_names_the_rows_no_key_opens_and_rotation_refuses_them(app, settings):
    expected = fill(app, 4)
    foreign = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE api_keys SET encrypted_key = :t WHERE id = 2"),
                           {"t": foreign})
        connection.execute(text("UPDATE api_keys SET encrypted_key = (SELECT encrypted_key "
                                "FROM api_keys WHERE id = 1) WHERE id = 3"))
    engine.dispose()
    before = rows(settings)
    check = cli(app, "check-key")
    assert check.exit_code == 1
    assert "row 2 (anthropic sk-***" in check.output
    assert "no configured encryption key opens it" in check.output
    assert "row 3 (" in check.output and "belongs to another row" in check.output
    no_secret_in(check.output, expected)
    result = cli(app, "rotate-key")
    assert result.exit_code == 1 and "No configured key opens row(s) 2" in result.output
    assert rows(settings) == before
    assert not pending_key_file(settings.key_file).exists()


def test_a_wrong_key_stops_the_start_and_names_the_commands(app, settings):
    fill(app, 2)
    wrong = replace(settings, encryption_keys=(Fernet.generate_key().decode(),))
    with pytest.raises(InvalidEncryptionKeyError) as refused:
        create_app(wrong)
    assert "flask --app wsgi config check-key" in str(refused.value)
    assert "docs/operators/security/encryption.md" in str(refused.value)
    under_flask = create_app(replace(wrong, cli=True))  # so that check-key can run
    check = cli(under_flask, "check-key")
    assert check.exit_code == 1 and "opens 0 row(s)" in check.output
    added = cli(under_flask, "keys", "add", "openai", input="sk-never-stored-1234\n")
    assert added.exit_code == 1 and "cannot decrypt" in added.output
    dispose(under_flask)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_with_the_key_lost_for_good_the_rows_can_be_deleted_and_entered_again(make_settings):
    settings = make_settings()
    app = create_app(settings)
    fill(app, 2)
    dispose(app)
    settings.key_file.unlink()
    with pytest.raises(InvalidEncryptionKeyError, match="is missing"):
        create_app(settings)
    # The documented way out: any valid key for the command, delete the rows, start afresh.
    stand_in = replace(settings, encryption_keys=(Fernet.generate_key().decode(),), cli=True)
    app = create_app(stand_in)
    for key_id in ("1", "2"):
        assert cli(app, "keys", "delete", key_id, "--yes").exit_code == 0
    dispose(app)
    app = create_app(settings)  # no row left: a new key file is made
    assert settings.key_file.is_file()
    assert cli(app, "keys", "add", "openai", input="sk-again-12345678\n").exit_code == 0
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_a_key_saved_by_an_instance_left_running_is_recovered_as_documented(make_settings):
    settings = make_settings()
    running = create_app(settings)  # started before the rotation: holds the old key
    expected = fill(running, 3)
    rotator = create_app(replace(settings, cli=True))
    assert cli(rotator, "rotate-key").exit_code == 0
    dispose(rotator)
    expected.update(fill(running, 1))  # saved with the old key after the rotation
    dispose(running)
    new = settings.key_file.read_text().strip()
    [backup] = KeyFiles(settings.key_file).backups()
    assert opened_by(settings, [new], expected) == 3
    # The start's canary is the newest key, the one most likely saved by such an instance:
    # the start refuses rather than fail the first request that needs that key.
    with pytest.raises(InvalidEncryptionKeyError, match="check-key"):
        create_app(settings)
    both = replace(settings, encryption_keys=(new, backup.read_text().strip()), cli=True)
    recovery = create_app(both)
    assert cli(recovery, "rotate-key", "--keep-key").exit_code == 0
    dispose(recovery)
    assert opened_by(settings, [new], expected) == 4
    dispose(create_app(settings))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_the_old_key_is_kept_as_encryption_key_utc_time_bak_and_the_output_names_it(
        make_settings):
    """docs/operators/security/encryption.md: `data/.encryption_key.<UTC time>.bak`, 0600."""
    settings = make_settings()
    app = create_app(replace(settings, cli=True))
    fill(app, 2)
    old = settings.key_file.read_text().strip()
    before = datetime.now(UTC).replace(microsecond=0)
    result = cli(app, "rotate-key")
    after = datetime.now(UTC)
    dispose(app)
    assert result.exit_code == 0, result.output
    [backup] = KeyFiles(settings.key_file).backups()
    stamp = re.fullmatch(r"\.encryption_key\.(\d{8}T\d{6}Z)\.bak", backup.name)
    assert stamp, backup.name
    made = datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= made <= after
    assert backup.read_text().strip() == old
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert f"The old key is kept in {backup} (mode 0600)" in result.stderr


def test_two_rotations_in_one_second_keep_both_old_keys(tmp_path):
    """The second backup of the same second gets `-1`: neither old key is lost."""
    files = KeyFiles(tmp_path / ".encryption_key")
    first, second, third = (Fernet.generate_key().decode() for _ in range(3))
    files.main.write_text(first + "\n")
    files.main.chmod(0o600)
    now = datetime(2026, 12, 2, 14, 0, 0, tzinfo=UTC)
    backups = []
    for new in (second, third):
        files.write_pending(new)
        backups.append(files.install_pending(now))
    assert [path.name for path in backups] == [".encryption_key.20261202T140000Z.bak",
                                               ".encryption_key.20261202T140000Z-1.bak"]
    assert set(files.backups()) == set(backups)
    assert [path.read_text().strip() for path in backups] == [first, second]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in backups)
    assert files.read_main() == third and files.read_pending() is None


# ---- What check-key and rotate-key say, line by line (mutation testing of keys/rotation.py:
# docs/testing.md, "keys/rotation.py").

def fingerprint_of(key: str) -> str:
    """The documented fingerprint: the first 8 hex digits of the key's SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def said(output: str) -> list[str]:
    return output.splitlines()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # ENCRYPTION_KEY's case
def test_check_key_names_each_key_by_its_place_and_fingerprint_and_says_which_encrypts(
        make_settings, fernet_key):
    old, new = fernet_key, Fernet.generate_key().decode()
    settings = make_settings(encryption_keys=(old,))
    app = create_app(settings)
    expected = fill(app, 3)
    pending = pending_key_file(settings.key_file)
    rotated = cli(app, "rotate-key", "--given-key", input=new + "\n")
    assert rotated.exit_code == 0, rotated.output
    lines = said(rotated.stderr)
    assert lines[1].startswith(f"Re-encrypted 3 stored key(s) under the key with fingerprint "
                               f"{fingerprint_of(new)} in ")
    assert lines[2].startswith("ENCRYPTION_KEY comes from the environment, so no key file was "
                               f"replaced. The new key is in {pending};")
    assert len(lines) == 6 and "no longer needed" not in rotated.stderr  # the new key's file
    dispose(app)
    still_old = create_app(settings)  # an instance left running with the old key saves one
    expected.update(fill(still_old, 1))
    dispose(still_old)
    pending.unlink()  # the operator put the new key first in ENCRYPTION_KEY
    both = create_app(replace(settings, encryption_keys=(new, old)))
    check = cli(both, "check-key")
    assert check.exit_code == 0, check.output
    # The old key still opens a row: nothing may say the other keys are not needed.
    assert said(check.stdout) == [
        "4 stored key(s); 2 encryption key(s) configured:",
        f"  ENCRYPTION_KEY #1 (fingerprint {fingerprint_of(new)}, encrypts new keys): "
        "opens 3 row(s)",
        f"  ENCRYPTION_KEY #2 (fingerprint {fingerprint_of(old)}, decrypts only): "
        "opens 1 row(s)",
        "Every stored key opens with the configured encryption key(s).",
    ]
    kept = cli(both, "rotate-key", "--keep-key")
    assert kept.exit_code == 0, kept.output
    lines = said(kept.stderr)
    assert lines[0] == "Rotating the encryption key of 4 stored key(s)..."
    assert lines[1].startswith(f"Re-encrypted 4 stored key(s) under the key with fingerprint "
                               f"{fingerprint_of(new)} in ")
    assert lines[2:] == ["When `flask --app wsgi config check-key` says every row opens with "
                         "the first key, drop the other keys from ENCRYPTION_KEY and restart."]
    assert not pending.exists()  # --keep-key writes no key
    check = cli(both, "check-key")
    assert check.exit_code == 0, check.output
    assert said(check.stdout)[1:] == [
        f"  ENCRYPTION_KEY #1 (fingerprint {fingerprint_of(new)}, encrypts new keys): "
        "opens 4 row(s)",
        f"  ENCRYPTION_KEY #2 (fingerprint {fingerprint_of(old)}, decrypts only): "
        "opens 0 row(s)",
        "Every stored key opens with the configured encryption key(s).",
        "Every row opens with the first key: the other keys are no longer needed for the "
        "stored rows.",
    ]
    for output in (rotated.output, check.output, kept.output):
        no_secret_in(output, expected)
        assert new not in output and old not in output
    dispose(both)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_the_old_key_files_backup_is_dated_in_utc_whatever_the_time_zone(make_settings,
                                                                          monkeypatch):
    settings = make_settings()
    app = create_app(settings)
    fill(app, 1)
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: a local time is 5.5 hours off
    time.tzset()
    try:
        before = datetime.now(UTC).replace(microsecond=0)
        assert cli(app, "rotate-key").exit_code == 0
        after = datetime.now(UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
    [backup] = KeyFiles(settings.key_file).backups()
    stamp = re.search(r"\.(\d{8}T\d{6}Z)\.bak$", backup.name).group(1)
    made = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= made <= after, backup.name
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_with_the_key_file_check_key_and_rotate_key_name_the_files_and_the_backup(
        make_settings):
    settings = make_settings()
    app = create_app(settings)
    expected = fill(app, 2)
    old = settings.key_file.read_text().strip()
    check = cli(app, "check-key")
    assert check.exit_code == 0, check.output
    assert said(check.stdout) == [
        "2 stored key(s); 1 encryption key(s) configured:",
        f"  {settings.key_file} (fingerprint {fingerprint_of(old)}, encrypts new keys): "
        "opens 2 row(s)",
        "Every stored key opens with the configured encryption key(s).",
    ]
    given = Fernet.generate_key().decode()
    result = cli(app, "rotate-key", "--given-key", input=given + "\n")
    assert result.exit_code == 0, result.output
    [backup] = KeyFiles(settings.key_file).backups()
    lines = said(result.stderr)
    assert lines[0] == "Rotating the encryption key of 2 stored key(s)..."
    took = re.fullmatch(rf"Re-encrypted 2 stored key\(s\) under the key with fingerprint "
                        rf"{fingerprint_of(given)} in (\d+\.\d\d) s\.", lines[1])
    assert took and float(took.group(1)) < 60, lines[1]
    assert lines[2:] == [
        f"{settings.key_file} now holds the new key: back it up now; the old backup no "
        "longer opens the stored keys.",
        "Restart the app now if it is running: it keeps the key it loaded at start, which no "
        "longer opens the stored keys.",
        f"The old key is kept in {backup} (mode 0600); delete it once no backup of the "
        "database made before now is needed.",
    ]
    assert backup.read_text().strip() == old
    no_secret_in(result.output, expected)
    assert given not in result.output and old not in result.output
    # --keep-key re-encrypts under the key file's key: no new key, no backup, no pending file.
    kept = cli(app, "rotate-key", "--keep-key")
    assert kept.exit_code == 0, kept.output
    assert KeyFiles(settings.key_file).backups() == [backup]
    assert not pending_key_file(settings.key_file).exists()
    assert settings.key_file.read_text().strip() == given
    assert opened_by(settings, [given], expected) == 2
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_an_unfinished_rotation_is_named_and_only_its_own_key_may_finish_it(make_settings):
    settings = make_settings()
    app = create_app(settings)
    expected = fill(app, 2)
    dispose(app)
    old = settings.key_file.read_text().strip()
    new = Fernet.generate_key().decode()
    files = KeyFiles(settings.key_file)
    files.write_pending(new)
    app = create_app(settings)
    check = cli(app, "check-key")
    assert check.exit_code == 0, check.output
    assert said(check.stdout)[1:3] == [
        f"  {settings.key_file} (fingerprint {fingerprint_of(old)}, encrypts new keys): "
        "opens 2 row(s)",
        f"  {files.pending} (an unfinished rotation's new key) (fingerprint "
        f"{fingerprint_of(new)}, decrypts only): opens 0 row(s)",
    ]
    assert said(check.stdout)[-1] == ("A key rotation has not finished: run `flask --app wsgi "
                                      "config rotate-key` to finish it.")
    before = rows(settings)
    other = Fernet.generate_key().decode()
    refused = cli(app, "rotate-key", "--given-key", input=other + "\n")
    assert refused.exit_code == 1
    assert (f"A rotation to another key has not finished ({files.pending} exists): run "
            "`flask --app wsgi config rotate-key` without a key to finish it first."
            ) in refused.output
    assert rows(settings) == before and files.read_pending() == new
    assert settings.key_file.read_text().strip() == old
    finished = cli(app, "rotate-key", "--given-key", input=new + "\n")  # the same key: fine
    assert finished.exit_code == 0, finished.output
    assert "Finished the interrupted rotation: re-encrypted 2 stored key(s)" in finished.stderr
    assert settings.key_file.read_text().strip() == new
    assert opened_by(settings, [new], expected) == 2
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the key file's case
def test_rotate_key_refusals_say_why_and_change_nothing(make_settings):
    settings = make_settings()
    app = create_app(settings)
    fill(app, 23)
    foreign = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:  # rows 2 to 22 open with no configured key
        connection.execute(text("UPDATE api_keys SET encrypted_key = :t "
                                "WHERE id BETWEEN 2 AND 22"), {"t": foreign})
    engine.dispose()
    before = rows(settings)
    check = cli(app, "check-key")
    assert check.exit_code == 1
    assert said(check.stdout)[-1] == (
        "21 row(s) cannot be used: restore the key they were saved with (see "
        "docs/operators/security/encryption.md), or delete them and enter the keys again.")
    refused = cli(app, "rotate-key")
    assert refused.exit_code == 1
    assert ("No configured key opens row(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, "
            "16, 17, 18, 19, 20, 21, so they cannot be re-encrypted; run `flask --app wsgi "
            "config check-key`. Nothing was changed.") in " ".join(refused.output.split())
    both = cli(app, "rotate-key", "--given-key", "--keep-key",
               input=Fernet.generate_key().decode() + "\n")
    assert both.exit_code == 1
    assert "Give either a new key or --keep-key, not both." in both.output
    settings.key_file.unlink()  # the app started, then the key file went
    none = cli(app, "rotate-key")
    assert none.exit_code == 1 and "No encryption key is configured." in none.output
    assert rows(settings) == before
    assert not pending_key_file(settings.key_file).exists()
    assert KeyFiles(settings.key_file).backups() == []
    dispose(app)
