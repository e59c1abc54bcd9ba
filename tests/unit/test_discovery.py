"""Key tests and live listings against fakes: TTL, staleness, new keys, merged catalogue."""

import logging

import pytest

from configapp.catalog.discovery import (
    DiscoveredModels,
    MergedCatalog,
    ModelDiscovery,
    reachability,
)
from configapp.domain import ConfigurationError, NewApiKey
from configapp.keys.service import ConfigurationService
from configapp.providers.llm import ProviderError, ProviderTimeoutError, ReachableModel
from tests.fakes import FakeCatalog, FakeEncryption, FakeGateway, FakeStorage


@pytest.fixture
def discovered():
    return DiscoveredModels()


@pytest.fixture
def config(discovered):
    return ConfigurationService(FakeStorage(), FakeEncryption(),
                                MergedCatalog(FakeCatalog(), discovered))


@pytest.fixture
def gateway():
    fake = FakeGateway()
    fake.listings["openai"] = [ReachableModel("gpt-4o-mini"), ReachableModel("llama3.2")]
    return fake


@pytest.fixture
def discovery(config, gateway, discovered):
    return ModelDiscovery(config, gateway, discovered, ttl_seconds=300)


def test_a_valid_key_test_counts_models_sets_last_used_and_writes_an_audit_line(
        config, discovery, caplog):
    record = config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    with caplog.at_level(logging.INFO, logger="configapp.audit"):
        check = discovery.test_key(record.id)
    assert (check.ok, check.result, check.model_count) == (True, "valid", 2)
    assert config.get_api_key(record.id).last_used_at is not None
    assert "key tested" in caplog.text and "sk-***2222" in caplog.text
    assert "sk-test-key-11112222" not in caplog.text


@pytest.mark.parametrize("failure", [
    ProviderError("invalid_key", "openai refused the API key (HTTP 401)", 401),
    ProviderError("rate_limited", "openai is rate-limiting this key (HTTP 429)", 429),
    ProviderTimeoutError("openai did not answer within 10 s."),
])
def test_a_refused_key_is_a_result_not_an_error(config, discovery, gateway, failure):
    record = config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    gateway.failure = failure
    check = discovery.test_key(record.id)
    assert (check.ok, check.result, check.status_code) == (False, failure.kind,
                                                           failure.status_code)
    assert check.message == failure.message


def test_providers_that_are_not_offered_get_no_key(config, gateway):
    with pytest.raises(ConfigurationError, match="not offered: its litellm path follows"):
        config.add_api_key(NewApiKey("cohere_chat", "co-test-key-1111"))
    assert config.list_api_keys() == [] and gateway.calls == []


def test_listings_are_kept_for_the_ttl(config, discovery, gateway):
    config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    discovery.listings()
    discovery.listings()
    assert len(gateway.calls) == 1
    discovery.listings(refresh=True)
    assert len(gateway.calls) == 2
    discovery.ttl = 0
    discovery.listings()
    assert len(gateway.calls) == 3


def test_a_failure_keeps_the_last_good_answer_marked_stale(config, discovery, gateway):
    config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    discovery.listings()
    gateway.failure = ProviderError("unreachable", "openai could not be reached")
    listing = discovery.listings(refresh=True)["openai"]
    assert listing.status == "stale" and listing.message == "openai could not be reached"
    assert listing.model_ids == {"openai/gpt-4o-mini", "openai/llama3.2"}


def test_a_first_failure_is_failed_with_no_models(config, discovery, gateway):
    config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    gateway.failure = ProviderError("invalid_key", "refused", 401)
    listing = discovery.listings()["openai"]
    assert listing.status == "failed" and listing.models == ()


def test_models_only_the_provider_knows_join_the_catalogue(config, discovery):
    assert "openai/llama3.2" not in config.catalog_source.catalog().by_id
    config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    listings = discovery.listings()
    catalog = config.catalog_source.catalog()
    assert catalog.by_id["openai/llama3.2"].display_name == "llama3.2"
    assert config.get_model("openai/llama3.2").provider == "openai"
    assert reachability(catalog.by_id["openai/gpt-4o-mini"], listings) == {
        "reachable": True, "stale": False}
    assert reachability(catalog.by_id["gemini/gemini-2.5-flash"], listings) == {
        "reachable": None, "stale": False}


def test_deleting_the_key_drops_its_listing_and_a_new_key_asks_again(config, discovery,
                                                                      gateway):
    first = config.add_api_key(NewApiKey("openai", "sk-test-key-11112222"))
    discovery.listings()
    config.add_api_key(NewApiKey("openai", "sk-second-key-3333"))
    discovery.listings()
    assert [c["key"] for c in gateway.calls] == ["sk-test-key-11112222", "sk-second-key-3333"]
    for record in config.list_api_keys("openai"):
        config.delete_api_key(record.id)
    assert discovery.listings() == {}
    assert "openai/llama3.2" not in config.catalog_source.catalog().by_id
    assert first.id not in {k.id for k in config.list_api_keys()}
