"""Fixtures for tests that reach the provider stand-in (loaded by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.provider_stub import ProviderStub

# Short enough to keep the hanging-provider tests fast, long enough for a loaded CI box: at
# 1 s, a key test once found the in-process stand-in silent for that long (8 December 2026,
# the whole suite on two workers, the 403 answer never read).
TEST_TIMEOUT = 2.0
MODELS = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-sonnet-4-5",
          "gemini": "gemini/gemini-2.5-flash"}
KEYS = {"openai": "sk-stub-openai-0001", "anthropic": "sk-ant-stub-0002",
        "gemini": "AIzaSy-stub-gemini-0003"}


@pytest.fixture
def stub() -> Iterator[ProviderStub]:
    server = ProviderStub().start()
    yield server
    server.stop()


@pytest.fixture
def other_stub() -> Iterator[ProviderStub]:
    """A second host: keys saved for the first one must never show up here."""
    server = ProviderStub().start()
    yield server
    server.stop()


@pytest.fixture(params=list(MODELS))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each wire format in turn: openai, anthropic, gemini."""
    return request.param


def add_key(client, stub: ProviderStub, flavour: str, key: str | None = None,
            **extra) -> dict:
    """Save a key for the flavour's provider, bound to the stand-in's base URL."""
    response = client.post("/api/config/api-keys", json={
        "provider": flavour, "api_key": key or KEYS[flavour],
        "api_base": stub.base(flavour), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def quick_settings(make_settings, **overrides):
    """Settings with short provider timeouts, the schema ready on either backend."""
    return make_settings.at_head(**{"provider_timeout": TEST_TIMEOUT,
                                    "provider_check_timeout": TEST_TIMEOUT, **overrides})
