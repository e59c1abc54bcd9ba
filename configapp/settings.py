"""Settings read once from the environment into typed objects; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from configapp.domain import PROVIDER_ENV_VARS

DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_BIND = "127.0.0.1:8000"


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class SecuritySettings:
    """What the HTTP layer enforces: hosts, origins, authentication and sizes.

    api_token: CONFIGAPP_API_TOKEN; None means the token kept (hashed) in the database,
    made at first start. auth_enabled: False only with CONFIGAPP_AUTH=off, which the start
    refuses unless `bind` (CONFIGAPP_BIND, also gunicorn's) is a loopback address.
    """

    api_token: str | None = field(default=None, repr=False)
    auth_enabled: bool = True
    bind: str = DEFAULT_BIND
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    extension_origins: tuple[str, ...] = ()
    max_request_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build the app."""

    data_dir: Path = Path("data")
    database_url: str = ""
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    env_file: Path = Path(".env")
    config_file: Path = Path("configs/default.yaml")
    model_cache_ttl: int = 300
    provider_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    env_key_base_urls: Mapping[str, str] = field(default_factory=dict)
    provider_timeout: float = 60.0
    provider_check_timeout: float = 10.0
    security: SecuritySettings = field(default_factory=SecuritySettings)
    # Loaded by the `flask` command (FLASK_RUN_FROM_CLI): see configapp/startup.py.
    cli: bool = False

    def __post_init__(self) -> None:
        if not self.database_url:
            path = (self.data_dir / "configapp.db").resolve()
            object.__setattr__(self, "database_url", f"sqlite:///{path}")

    @property
    def key_file(self) -> Path:
        return self.data_dir / ".encryption_key"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the process environment (CONFIGAPP_*, ENCRYPTION_KEY)."""
        env = os.environ if environ is None else environ
        env_file = Path(env.get("CONFIGAPP_ENV_FILE", ".env"))
        return cls(
            data_dir=Path(env.get("CONFIGAPP_DATA_DIR", "data")),
            database_url=env.get("CONFIGAPP_DATABASE_URL", ""),
            encryption_keys=_split(env.get("ENCRYPTION_KEY")),
            env_file=env_file,
            config_file=Path(env.get("CONFIGAPP_CONFIG_FILE", "configs/default.yaml")),
            model_cache_ttl=int(env.get("CONFIGAPP_MODEL_CACHE_TTL", "300")),
            provider_env=provider_keys_from_environment(env, env_file),
            env_key_base_urls=base_urls(env.get("CONFIGAPP_ENV_KEY_BASE_URLS")),
            provider_timeout=float(env.get("CONFIGAPP_PROVIDER_TIMEOUT", "60")),
            provider_check_timeout=float(env.get("CONFIGAPP_PROVIDER_CHECK_TIMEOUT", "10")),
            security=SecuritySettings(
                api_token=env.get("CONFIGAPP_API_TOKEN") or None,
                auth_enabled=auth_switch(env.get("CONFIGAPP_AUTH")),
                bind=env.get("CONFIGAPP_BIND") or DEFAULT_BIND,
                allowed_hosts=_split(env.get("CONFIGAPP_ALLOWED_HOSTS")) or DEFAULT_ALLOWED_HOSTS,
                extension_origins=_split(env.get("CONFIGAPP_EXTENSION_ORIGINS")),
            ),
            cli=env.get("FLASK_RUN_FROM_CLI") == "true",
        )


def auth_switch(value: str | None) -> bool:
    """CONFIGAPP_AUTH: unset or `on` -> True; `off` -> False; anything else is a mistake."""
    word = (value or "on").strip().lower()
    if word not in ("on", "off"):
        raise ValueError(f"CONFIGAPP_AUTH must be on or off, not {value[:20]!r}.")
    return word == "on"


def base_urls(value: str | None) -> dict[str, str]:
    """`openai=http://gw/v1,anthropic=https://...` -> {provider: base URL}."""
    pairs = {}
    for item in _split(value):
        provider, equals, url = item.partition("=")
        if not equals or not provider.strip() or not url.strip():
            raise ValueError(f"CONFIGAPP_ENV_KEY_BASE_URLS: {item[:40]!r} is not provider=url.")
        pairs[provider.strip()] = url.strip()
    return pairs


def provider_keys_from_environment(env: Mapping[str, str], env_file: Path) -> dict[str, str]:
    """Provider keys set in the real environment, by variable name.

    A value that only came from the legacy .env file (which `flask` loads into the
    environment) is not counted: that file is imported once, and after that the database
    is the source of truth, so a key deleted in Settings must not come back from it.
    """
    legacy = dotenv_values(env_file) if env_file.is_file() else {}
    return {
        name: env[name]
        for names in PROVIDER_ENV_VARS.values()
        for name in names
        if env.get(name) and legacy.get(name) != env[name]
    }
