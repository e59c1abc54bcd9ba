from pathlib import Path

from configapp.settings import Settings


def test_settings_come_from_the_environment(tmp_path: Path):
    settings = Settings.from_env({
        "CONFIGAPP_DATA_DIR": str(tmp_path),
        "ENCRYPTION_KEY": "new-key, old-key",
        "CONFIGAPP_API_TOKEN": "tok",
        "CONFIGAPP_ALLOWED_HOSTS": "configapp.internal, localhost",
        "CONFIGAPP_EXTENSION_ORIGINS": "chrome-extension://abc",
        "CONFIGAPP_MODEL_CACHE_TTL": "60",
        "CONFIGAPP_ENV_FILE": str(tmp_path / "missing.env"),
    })
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/configapp.db"
    assert settings.encryption_keys == ("new-key", "old-key")
    assert settings.security.api_token == "tok"
    assert settings.security.allowed_hosts == ("configapp.internal", "localhost")
    assert settings.security.extension_origins == ("chrome-extension://abc",)
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
