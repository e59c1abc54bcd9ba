"""Stored masks follow the new rule: a listed public prefix, at most 4 characters and at
most a quarter of the rest (configapp.domain.mask_key).

The old masks showed everything up to the first '-' and the last four (`abcd-efg` whole).
A mask is made from the key, so each key is decrypted here with the app's encryption key;
a row that cannot be opened (no key at hand, a wrong one) gets only its public prefix.
The sync revision moves, so the extension replaces the masks it cached. Going down keeps
the new masks: the old ones told too much.

Revision ID: 0007_key_masks
Revises: 0005_model_curation (chained after main's 0004 and 0005)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app, has_app_context

from configapp.keys.fernet import pending_key_file, read_key_file
from configapp.domain import PUBLIC_KEY_PREFIXES, SealedKey, mask_key

revision = "0007_key_masks"
down_revision = "0006_usage_budgets"
branch_labels = None
depends_on = None


def _cipher() -> MultiFernet | None:
    """The app's Fernet keys (ENCRYPTION_KEY, the key file, a pending rotation's)."""
    if not has_app_context():
        return None
    settings = current_app.extensions.get("configapp.settings")
    if settings is None:
        return None
    keys = list(settings.encryption_keys)
    for path in (settings.key_file, pending_key_file(settings.key_file)):
        if not settings.encryption_keys and path.is_file():
            keys.append(read_key_file(path))
    try:
        return MultiFernet([Fernet(key) for key in keys]) if keys else None
    except ValueError:
        return None


def _new_mask(cipher: MultiFernet | None, token: str, old_mask: str) -> str:
    if cipher is not None:
        try:
            return mask_key(SealedKey.from_plaintext(cipher.decrypt(token.encode()).decode())
                            .api_key)
        except (InvalidToken, ValueError, KeyError, TypeError):
            pass
    prefix = next((p for p in PUBLIC_KEY_PREFIXES if old_mask.startswith(p)), "")
    return f"{prefix}***"


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, encrypted_key, masked_key FROM api_keys")).all()
    if not rows:
        return
    cipher = _cipher()
    for row_id, token, old_mask in rows:
        bind.execute(sa.text("UPDATE api_keys SET masked_key = :mask WHERE id = :id"),
                     {"mask": _new_mask(cipher, token, old_mask), "id": row_id})
    bind.execute(sa.text("UPDATE settings_revision SET counter = counter + 1"))


def downgrade():
    pass
