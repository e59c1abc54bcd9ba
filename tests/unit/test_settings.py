from pathlib import Path

import pytest

from configapp.settings import Settings

EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"


@pytest.mark.parametrize("origins", [
    "null", "*", "https://evil.example", "chrome-extension://abc",
    f"chrome-extension://{EXTENSION_ID}/", f"chrome-extension://{EXTENSION_ID.upper()}",
    "chrome-extension://qrstuvwxyzqrstuvwxyzqrstuvwxyzqr", f"chrome-extension://{EXTENSION_ID},null",
    "moz-extension://not-a-uuid", "file://",
])
def test_only_extension_origins_are_accepted_for_cors(origins):
    with pytest.raises(ValueError, match="is not an extension's origin"):
        Settings.from_env({"CONFIGAPP_EXTENSION_ORIGINS": origins})


def test_chrome_and_firefox_extension_origins_are_accepted():
    firefox = "moz-extension://0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    settings = Settings.from_env({
        "CONFIGAPP_EXTENSION_ORIGINS": f"chrome-extension://{EXTENSION_ID}, {firefox}"})
    assert settings.security.extension_origins == (f"chrome-extension://{EXTENSION_ID}", firefox)


def test_settings_come_from_the_environment(tmp_path: Path):
    settings = Settings.from_env({
        "CONFIGAPP_DATA_DIR": str(tmp_path),
        "ENCRYPTION_KEY": "new-key, old-key",
        "CONFIGAPP_API_TOKEN": "tok",
        "CONFIGAPP_ALLOWED_HOSTS": "configapp.internal, localhost",
        "CONFIGAPP_EXTENSION_ORIGINS": f"chrome-extension://{EXTENSION_ID}",
        "CONFIGAPP_MODEL_CACHE_TTL": "60",
        "CONFIGAPP_ENV_FILE": str(tmp_path / "missing.env"),
    })
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/configapp.db"
    assert settings.encryption_keys == ("new-key", "old-key")
    assert settings.security.api_token == "tok"
    assert settings.security.allowed_hosts == ("configapp.internal", "localhost")
    assert settings.security.extension_origins == (f"chrome-extension://{EXTENSION_ID}",)
    assert settings.model_cache_ttl == 60
    assert settings.key_file == tmp_path / ".encryption_key"
    assert "new-key" not in repr(settings) and "tok" not in repr(settings.security)


def test_defaults_are_local_first():
    settings = Settings.from_env({})
    assert settings.security.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert settings.security.api_token is None
    assert settings.is_sqlite and settings.model_cache_ttl == 300


def test_a_provider_key_only_in_the_legacy_env_file_is_not_the_environment(tmp_path: Path):
    """`flask` loads .env into the environment; after the import the database decides."""
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_API_KEY=sk-legacy-1111\nANTHROPIC_API_KEY=sk-ant-old-2222\n")
    settings = Settings.from_env({
        "CONFIGAPP_ENV_FILE": str(env_file),
        "OPENAI_API_KEY": "sk-legacy-1111",      # loaded from .env by flask
        "ANTHROPIC_API_KEY": "sk-ant-real-3333",  # set by the operator
        "GOOGLE_API_KEY": "AIza-google-4444",
    })
    assert settings.provider_env == {"ANTHROPIC_API_KEY": "sk-ant-real-3333",
                                     "GOOGLE_API_KEY": "AIza-google-4444"}
