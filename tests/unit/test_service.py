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
from configapp.service import ConfigurationService
from tests.fakes import FakeCatalog, FakeEncryption, FakeStorage


@pytest.fixture
def storage():
    return FakeStorage()


@pytest.fixture
def service(storage):
    return ConfigurationService(storage, FakeEncryption(), FakeCatalog(),
                                {"ANTHROPIC_API_KEY": "sk-ant-fromenv-0000"})


def test_adding_a_key_makes_it_the_active_one(service):
    first = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    second = service.add_api_key(NewApiKey("openai", "sk-second-22222222"))
    keys = {k.id: k for k in service.list_api_keys("openai")}
    assert keys[second.id].is_active and not keys[first.id].is_active


def test_an_inactive_key_can_be_added_without_displacing_the_active_one(service):
    first = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    service.add_api_key(NewApiKey("openai", "sk-spare-22222222", is_active=False))
    assert service.resolve_key("openai").key_id == first.id


def test_activating_a_key_deactivates_the_others_of_its_provider(service):
    first = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    service.add_api_key(NewApiKey("openai", "sk-second-22222222"))
    service.update_api_key(first.id, is_active=True)
    active = [k.id for k in service.list_api_keys() if k.is_active]
    assert active == [first.id]


def test_google_keys_are_stored_as_gemini(service):
    assert service.add_api_key(NewApiKey("google", "AIzaSy-gemini-key-9999")).provider == "gemini"


@pytest.mark.parametrize(("provider", "key", "api_base"), [
    ("nonsense", "sk-valid-key-1234", None),
    ("openai", "short", None),
    ("openai", "sk-" + "x" * 2000, None),
    ("openai", "sk-has space-1234", None),
    ("openai", "sk-valid-key-1234", "ftp://example.com"),
    ("openai", "sk-valid-key-1234", "http://user:pw@example.com"),
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


def test_a_token_moved_to_another_row_does_not_open(service, storage):
    a = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    b = service.add_api_key(NewApiKey("anthropic", "sk-ant-second-2222"))
    storage.tokens[b.id] = storage.tokens[a.id]
    with pytest.raises(InvalidEncryptionKeyError):
        service.reveal(storage.get_api_key(b.id))


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


def test_selecting_a_model_keeps_one_default(service):
    service.select_model("openai/gpt-4o-mini")
    service.select_model("gemini/gemini-2.5-flash")
    model, config = service.selected_model()
    assert model.id == "gemini/gemini-2.5-flash" and config.is_default
    assert sum(c.is_default for c in service.storage.models.values()) == 1


def test_unknown_models_and_keys_are_not_found(service):
    with pytest.raises(ModelNotFoundError):
        service.select_model("openai/gpt-nonexistent")
    with pytest.raises(ModelNotFoundError):
        service.selected_model()
    with pytest.raises(ApiKeyNotFoundError):
        service.delete_api_key(42)


def test_every_change_moves_the_revision(service):
    before = service.revision()
    service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
    assert service.revision() != before


def test_audit_lines_show_masked_keys_only(service, caplog):
    with caplog.at_level(logging.INFO, logger="configapp.audit"):
        record = service.add_api_key(NewApiKey("openai", "sk-first-11111111"))
        service.update_api_key(record.id, is_active=False)
        service.select_model("openai/gpt-4o-mini")
        service.delete_api_key(record.id)
    text = caplog.text
    assert "key added" in text and "key deactivated" in text
    assert "key deleted" in text and "default model changed" in text
    assert "sk-***111" in text and "sk-first-11111111" not in text


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
