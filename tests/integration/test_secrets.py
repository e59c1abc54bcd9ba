"""A canary key goes in and is found nowhere it must not be."""

import logging

from cryptography.fernet import Fernet
from sqlalchemy import select

from configapp.domain import SealedKey
from configapp.records import ApiKeyRecord, db
from tests.conftest import CANARY_KEY


def test_the_canary_key_leaks_nowhere(app, client, settings, caplog):
    caplog.set_level(logging.DEBUG)
    responses = []
    created = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": CANARY_KEY, "key_name": "canary"})
    responses.append(created)
    key_id = created.get_json()["id"]
    for method, path, body in [
        ("get", "/api/config/api-keys", None),
        ("get", "/api/config/api-keys?provider=openai", None),
        ("patch", f"/api/config/api-keys/{key_id}", {"key_name": "renamed"}),
        ("patch", f"/api/config/api-keys/{key_id}", {"is_active": False}),
        ("patch", f"/api/config/api-keys/{key_id}", {"is_active": True}),
        ("get", "/api/config/sync", None),
        ("get", "/api/config/providers", None),
        ("post", "/api/config/api-keys", {"provider": "openai", "api_key": CANARY_KEY + " x"}),
        ("get", "/readyz", None),
    ]:
        responses.append(getattr(client, method)(path, json=body))

    with app.app_context():
        token = db.session.scalar(select(ApiKeyRecord.encrypted_key))
    bodies = "\n".join(r.get_data(as_text=True) + str(r.headers) for r in responses)
    assert CANARY_KEY not in bodies and CANARY_KEY[:-4] not in bodies
    assert token not in bodies
    assert CANARY_KEY not in caplog.text and token not in caplog.text

    if settings.is_sqlite:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # checkpoint the WAL into the file
        raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("configapp.db*"))
        assert CANARY_KEY.encode() not in raw
        key = settings.key_file.read_text().strip()
        assert key.encode() not in raw
        assert oct(settings.key_file.stat().st_mode & 0o777) == "0o600"
    else:
        key = settings.encryption_keys[0]

    # The token opens with the key and `cryptography` alone, and carries its binding.
    sealed = SealedKey.from_plaintext(Fernet(key.encode()).decrypt(token.encode()).decode())
    assert (sealed.api_key, sealed.row_id, sealed.provider) == (CANARY_KEY, key_id, "openai")


def test_repr_of_settings_and_encryption_hides_secrets(app, settings):
    components = app.extensions["configapp"]
    assert "t0ken" not in repr(settings)
    for key in settings.encryption_keys:
        assert key not in repr(settings)
    assert "hidden" in repr(components.encryption)
