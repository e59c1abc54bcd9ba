"""The domain: value objects, the rules that need no I/O, and the exceptions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Provider -> the environment variables that may hold its key, in priority order.
PROVIDER_ENV_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "perplexity": ("PERPLEXITYAI_API_KEY",),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
    "deepinfra": ("DEEPINFRA_API_KEY",),
    "nebius": ("NEBIUS_API_KEY",),
    "sambanova": ("SAMBANOVA_API_KEY",),
    "moonshot": ("MOONSHOT_API_KEY",),
    "dashscope": ("DASHSCOPE_API_KEY",),
    "zai": ("ZAI_API_KEY",),
    "novita": ("NOVITA_API_KEY",),
}

PROVIDER_ALIASES = {"google": "gemini"}

# Printable ASCII with no spaces: what every provider's keys look like.
API_KEY_PATTERN = r"^[\x21-\x7e]+$"
# http(s), a host name, IPv4 or [::1], an optional port (1-65535), an optional path.
_PORT = r"(6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})"
BASE_URL_PATTERN = (r"^$|^https?://(\[::1\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
                    rf"(:{_PORT})?(/[\x21-\x7e]*)?$")
MIN_KEY_LENGTH = 8
MAX_KEY_LENGTH = 1000
MAX_MASK_TAIL = 4
# Prefixes every key of a provider starts with: showing them tells nothing of the key.
# Longest first, so that `sk-proj-` wins over `sk-`.
PUBLIC_KEY_PREFIXES = ("sk-svcacct-", "sk-or-v1-", "sk-admin-", "sk-proj-", "sk-ant-",
                       "nvapi-", "pplx-", "xai-", "csk-", "gsk_", "AIza", "fw_", "sk-")


class ConfigurationError(Exception):
    """A request that the rules refuse; the message is safe to show a person."""


class ApiKeyNotFoundError(ConfigurationError):
    """No key (stored or in the environment) for what was asked."""


class ProviderKeyMissingError(ApiKeyNotFoundError):
    """A provider call needs a key and neither the database nor the environment has one."""


class ModelNotFoundError(ConfigurationError):
    """The model is not in the catalogue."""


class InvalidEncryptionKeyError(ConfigurationError):
    """The encryption key cannot decrypt what is stored (or is not a Fernet key)."""


class LegacyImportError(ConfigurationError):
    """The one-time import of the legacy .env / default.yaml failed and was rolled back."""


class ParameterOutOfBoundsError(ConfigurationError):
    """A model parameter outside the model's limits."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("Some parameters are outside the model's limits.")
        self.errors = errors


def normalise_provider(provider: str) -> str:
    """LiteLLM's provider name, accepting the aliases users type (google -> gemini)."""
    name = provider.strip().lower()
    return PROVIDER_ALIASES.get(name, name)


def mask_key(api_key: str) -> str:
    """`sk-***1234`: a public prefix from a fixed list (never any other part of the key),
    three stars, and the last characters: at most 4, and at most a quarter of the rest."""
    prefix = next((p for p in PUBLIC_KEY_PREFIXES if api_key.startswith(p)), "")
    secret = api_key[len(prefix):]
    shown = min(MAX_MASK_TAIL, len(secret) // 4)
    return f"{prefix}***{secret[len(secret) - shown:] if shown else ''}"


@dataclass(frozen=True)
class ApiKeyConfig:
    """A stored key as the world may see it: masked, never the plaintext."""

    id: int
    provider: str
    key_name: str
    masked_key: str
    api_base: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class NewApiKey:
    """What a user submits to add a key."""

    provider: str
    api_key: str = field(repr=False)
    key_name: str = ""
    api_base: str | None = None
    is_active: bool = True


@dataclass(frozen=True)
class NewKeySecret:
    """A stored key's new secret or base URL: its mask and the token, bound to its row."""

    api_base: str | None
    masked_key: str
    seal: Callable[[int], str] = field(repr=False)


@dataclass(frozen=True)
class ImportedSettings:
    """What a one-time import wrote, and what it left alone because the database had it."""

    keys: tuple[ApiKeyConfig, ...] = ()
    kept_providers: tuple[str, ...] = ()
    default_model: str | None = None
    kept_default_model: str | None = None


@dataclass(frozen=True)
class SealedKey:
    """The plaintext that gets encrypted: the key bound to its row, provider and base URL.

    Fernet has no associated data, so the binding travels inside the token and is checked
    on the way out: a token copied to another row, or a row whose api_base was changed,
    no longer opens.
    """

    row_id: int
    provider: str
    api_base: str | None
    api_key: str = field(repr=False)

    def to_plaintext(self) -> str:
        return json.dumps(
            {"v": 1, "id": self.row_id, "provider": self.provider,
             "api_base": self.api_base, "key": self.api_key},
            separators=(",", ":"),
        )

    @classmethod
    def from_plaintext(cls, plaintext: str) -> SealedKey:
        data = json.loads(plaintext)
        return cls(data["id"], data["provider"], data["api_base"], data["key"])

    def matches(self, record: ApiKeyConfig) -> bool:
        return (self.row_id, self.provider, self.api_base) == (
            record.id, record.provider, record.api_base
        )


@dataclass(frozen=True)
class ModelInfo:
    """A model of the catalogue, with what LiteLLM knows of it."""

    id: str
    provider: str
    display_name: str
    context_window: int | None = None
    max_output_tokens: int | None = None
    input_price_per_million: float | None = None
    output_price_per_million: float | None = None
    deprecation_date: str | None = None  # LiteLLM's `deprecation_date`, YYYY-MM-DD


@dataclass(frozen=True)
class Catalog:
    """The catalogue and where it came from (`litellm` metadata or the `fallback` list)."""

    source: str
    models: tuple[ModelInfo, ...]
    by_id: dict[str, ModelInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {model.id: model for model in self.models})

    @property
    def providers(self) -> frozenset[str]:
        return frozenset(model.provider for model in self.models)


@dataclass(frozen=True)
class ModelConfig:
    """A model's stored parameters, and whether it is the default."""

    model_id: str
    provider: str
    is_default: bool
    parameters: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    integer: bool = False


DEFAULT_MAX_TOKENS_LIMIT = 4096


def parameter_bounds(model: ModelInfo) -> dict[str, Bound]:
    """Limits of each tunable parameter for this model."""
    temperature_high = 1.0 if model.provider == "anthropic" else 2.0
    return {
        "temperature": Bound(0.0, temperature_high),
        "top_p": Bound(0.0, 1.0),
        "max_tokens": Bound(1, model.max_output_tokens or DEFAULT_MAX_TOKENS_LIMIT, integer=True),
        "presence_penalty": Bound(-2.0, 2.0),
        "frequency_penalty": Bound(-2.0, 2.0),
    }


def check_parameters(model: ModelInfo, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters if all are known and within bounds; else ParameterOutOfBoundsError."""
    bounds = parameter_bounds(model)
    errors: dict[str, list[str]] = {}
    for name, value in parameters.items():
        bound = bounds.get(name)
        if bound is None:
            errors[name] = [f"Unknown parameter; known: {', '.join(sorted(bounds))}."]
        elif isinstance(value, bool) or not isinstance(value, int | float):
            errors[name] = ["Must be a number."]
        elif bound.integer and not float(value).is_integer():
            errors[name] = ["Must be a whole number."]
        elif not bound.low <= value <= bound.high:
            high = int(bound.high) if bound.integer else bound.high
            low = int(bound.low) if bound.integer else bound.low
            errors[name] = [f"Must be between {low} and {high} for {model.id}."]
    if errors:
        raise ParameterOutOfBoundsError(errors)
    return {
        name: int(value) if bounds[name].integer else float(value)
        for name, value in parameters.items()
    }


@dataclass(frozen=True)
class Visibility:
    """Which models are hidden: per model, or all of a provider's but the chosen few."""

    only_chosen: frozenset[str] = frozenset()  # providers that show only their shown models
    shown: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()

    def hides(self, model_id: str, provider: str) -> bool:
        if provider in self.only_chosen:
            return model_id not in self.shown
        return model_id in self.hidden


@dataclass(frozen=True)
class Alias:
    name: str
    target: str
    parameters: dict[str, Any] = field(default_factory=dict)
    # Model ids or aliases tried in order when the target is unavailable (chat/fallbacks.py).
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class VisibilityChange:
    """One request's change of a provider's shown models, applied in this order:
    show_all (forget every choice), only (show just these), hide, show."""

    provider: str
    hide: tuple[str, ...] = ()
    show: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None
    show_all: bool = False


@dataclass(frozen=True)
class ResolvedKey:
    """The key a provider call will use, and where it came from (`database`/`environment`)."""

    provider: str
    api_key: str
    api_base: str | None
    source: str
    key_id: int | None = None

    def __repr__(self) -> str:
        return f"ResolvedKey(provider={self.provider!r}, source={self.source!r})"
