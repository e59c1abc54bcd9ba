import logging

import pytest

from configapp.domain import (
    ApiKeyNotFoundError,
    ConfigurationError,
    InvalidEncryptionKeyError,
    ModelNotFoundError,
    NewApiKey,
    ProviderKeyMissingError,
)
from configapp.keys.service import ConfigurationService
from tests.fakes import FakeCatalog, FakeEncryption, FakeStorage


@pytest.fixture
def storage():
    return FakeStorage()


@pytest.fixture
def service(storage):
    return ConfigurationService(storage, FakeEncryption(), FakeCatalog(),
                                {"ANTHROPIC_API_KEY": "sk-ant-fromenv-0000"})








def test_google_keys_are_stored_as_gemini(service):
    assert service.add_api_key(NewApiKey("google", "AIzaSy-gemini-key-9999")).provider == "gemini"


@pytest.mark.parametrize(("provider", "key", "api_base"), [
    ("nonsense", "sk-valid-key-1234", None),
    ("openai", "short", None),
    ("openai", "sk-" + "x" * 2000, None),
    ("openai", "sk-has space-1234", None),
    ("openai", "sk-valid-key-1234", "ftp://example.com"),
    ("openai", "sk-valid-key-1234", "http://user:pw@example.com"),
    ("openai", "sk-valid-key-1234", "http://sk-secret-in-url@example.com/v1"),
    ("openai", "sk-valid-key-1234", "http://:pw-only@example.com/v1"),
    ("openai", "sk-valid-key-1234", "http://example.com/" + "x" * 2030),
    ("openai", "sk-valid-key-1234", "http://[::1"),
    ("openai", "sk-valid-key-1234", "http://localhost:port"),
    ("openai", "sk-valid-key-1234", "http://example.com/" + "x" * 3000),
])
def test_bad_keys_are_refused_and_nothing_is_stored(service, storage, provider, key, api_base):
    with pytest.raises(ConfigurationError):
        service.add_api_key(NewApiKey(provider, key, api_base=api_base))
    assert storage.keys == {}


def test_the_database_key_wins_over_the_environment(service):
    service.add_api_key(NewApiKey("anthropic", "sk-ant-stored-5555"))
    resolved = service.resolve_key("anthropic")
    assert (resolved.source, resolved.api_key) == ("database", "sk-ant-stored-5555")


def test_the_environment_key_is_used_with_a_warning(service, caplog):
    with caplog.at_level(logging.WARNING):
        resolved = service.resolve_key("anthropic")
    assert resolved.source == "environment"
    assert "add the key in Settings" in caplog.text
    assert "sk-ant-fromenv" not in caplog.text


def test_no_key_anywhere_is_an_error_that_says_what_to_do(service):
    with pytest.raises(ProviderKeyMissingError, match="add one in Settings"):
        service.resolve_key("gemini")


def test_using_a_key_sets_last_used_at(service):
    record = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    assert record.last_used_at is None
    service.resolve_key("openai")
    assert service.get_api_key(record.id).last_used_at is not None


@pytest.mark.parametrize("other", [
    NewApiKey("openai", "sk-second-22222222", is_active=False),  # only the row id differs
    NewApiKey("anthropic", "sk-ant-second-2222"),
    NewApiKey("openai", "sk-third-33333333", api_base="http://127.0.0.1:1/v1",
              is_active=False),
], ids=["same-provider-and-base", "other-provider", "other-base"])
def test_a_token_moved_to_another_row_does_not_open(service, storage, other):
    a = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    b = service.add_api_key(other)
    storage.tokens[b.id] = storage.tokens[a.id]
    with pytest.raises(InvalidEncryptionKeyError, match="does not belong to its row"):
        service.reveal(storage.get_api_key(b.id))
    assert service.reveal(storage.get_api_key(a.id)) == "sk-first-11111111"


def test_a_wrong_encryption_key_is_caught_by_the_canary(storage):
    ConfigurationService(storage, FakeEncryption("old"), FakeCatalog()).add_api_key(
        NewApiKey("openai", "sk-first-11111111"))
    with pytest.raises(InvalidEncryptionKeyError):
        ConfigurationService(storage, FakeEncryption("new"), FakeCatalog()).check_encryption_key()


def test_configured_providers_come_from_the_database_and_the_environment(service):
    service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    _, models = service.catalog(configured=True)
    assert {m.provider for m in models} == {"openai", "anthropic"}


def test_catalogue_filters_by_provider_and_text(service):
    _, models = service.catalog(provider="google", query="FLASH")
    assert [m.id for m in models] == ["gemini/gemini-2.5-flash"]


def test_the_selected_model_comes_with_the_catalogues_details(service):
    """(One default at a time is the storage's rule: tests/integration/test_storage_rules.)"""
    service.select_model("gemini/gemini-2.5-flash")
    model, config = service.selected_model()
    assert model.id == "gemini/gemini-2.5-flash" and config.is_default
    assert model.context_window == 1048576


def test_unknown_models_and_keys_are_not_found(service):
    with pytest.raises(ModelNotFoundError):
        service.select_model("openai/gpt-nonexistent")
    with pytest.raises(ModelNotFoundError):
        service.selected_model()
    with pytest.raises(ApiKeyNotFoundError):
        service.delete_api_key(42)




def test_audit_lines_say_what_happened_to_which_key_masked(service, caplog):
    """The audit trail, line by line: each change and use names the key's id, provider and
    masked form, never the key."""
    with caplog.at_level(logging.INFO, logger="configapp.audit"):
        record = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
        other = service.add_api_key(NewApiKey("anthropic", "sk-ant-second-2222",
                                              is_active=False))
        service.update_api_key(record.id, key_name="renamed only")  # not an audit event
        service.update_api_key(record.id, is_active=False)
        service.update_api_key(record.id, is_active=True)
        service.resolve_key("openai")
        service.select_model("openai/gpt-4o-mini")
        service.delete_api_key(other.id)
    lines = [r.getMessage() for r in caplog.records if r.name == "configapp.audit"]
    first, second = f"id={record.id} provider=openai", f"id={other.id} provider=anthropic"
    assert lines == [
        f"key added {first} key=sk-***111 active=True",
        f"key added {second} key=sk-ant-***22 active=False",
        f"key deactivated {first} key=sk-***111",
        f"key activated {first} key=sk-***111",
        f"key used {first} key=sk-***111",
        "default model changed model=openai/gpt-4o-mini",
        f"key deleted {second} key=sk-ant-***22",
    ]


def test_a_model_configured_by_another_process_is_known_here(storage):
    """A model only a provider lists, chosen through another process (its row is stored),
    takes parameters and can be chosen again here, where the provider was never asked."""
    storage.select_model("openai/local-llama", "openai")
    service = ConfigurationService(storage, FakeEncryption(), FakeCatalog())
    assert service.get_model("openai/local-llama").provider == "openai"
    assert service.set_parameters("openai/local-llama", {"temperature": 0.3}).parameters == {
        "temperature": 0.3}
    assert service.select_model("openai/local-llama").is_default
    with pytest.raises(ModelNotFoundError):
        service.get_model("openai/never-stored")
    with pytest.raises(ModelNotFoundError):
        service.get_model("openai/\x00")


@pytest.mark.parametrize(("key", "api_base"), [
    ("k" * 8, None),  # the shortest key
    ("k" * 1000, None),  # the longest
    ("sk-valid-key-1234", "http://example.com/" + "x" * 2029),  # the longest base URL
    ("sk-valid-key-1234", "https://gw.example/v1/"),
])
def test_keys_and_base_urls_at_the_limits_are_accepted(service, key, api_base):
    record = service.add_api_key(NewApiKey("openai", f"  {key} ", api_base=api_base))
    resolved = service.resolve_key("openai")
    assert resolved.api_key == key
    assert resolved.api_base == (api_base.rstrip("/") if api_base else None)
    assert record.api_base == resolved.api_base


def test_a_key_one_character_past_a_limit_is_refused(service, storage):
    for key in ("k" * 7, "k" * 1001):
        with pytest.raises(ConfigurationError, match="8 to 1000"):
            service.add_api_key(NewApiKey("openai", key))
    assert storage.keys == {}
