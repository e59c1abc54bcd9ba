"""The chat rules against fakes: model, parameters and key are asked for at every request."""

import logging

import pytest

from configapp.chat.service import ChatService
from configapp.domain import (
    ConfigurationError,
    ModelNotFoundError,
    NewApiKey,
    ParameterOutOfBoundsError,
    ProviderKeyMissingError,
)
from configapp.keys.service import ConfigurationService
from configapp.providers.llm import ChatMessage, ProviderError
from tests.fakes import FakeCatalog, FakeEncryption, FakeGateway, FakeStorage

HELLO = [ChatMessage("user", "hello")]


@pytest.fixture
def config():
    return ConfigurationService(FakeStorage(), FakeEncryption(), FakeCatalog(),
                                {"ANTHROPIC_API_KEY": "sk-ant-env-0000"},
                                {"anthropic": "http://127.0.0.1:9/anthropic"})


@pytest.fixture
def gateway():
    return FakeGateway()


@pytest.fixture
def chat(config, gateway):
    return ChatService(config, gateway)


def test_the_selected_model_is_used_with_its_stored_parameters(config, chat, gateway):
    config.add_api_key(NewApiKey("openai", "sk-stored-11111111",
                                 api_base="http://127.0.0.1:9/v1"))
    config.select_model("openai/gpt-4o-mini")
    config.set_parameters("openai/gpt-4o-mini", {"temperature": 0.3, "max_tokens": 100})
    result = chat.complete(chat.plan(HELLO, overrides={"max_tokens": 50}))
    assert result.reply.content == "reply from openai/gpt-4o-mini"
    call = gateway.calls[-1]
    assert call["parameters"] == {"temperature": 0.3, "max_tokens": 50}
    assert (call["key"], call["api_base"]) == ("sk-stored-11111111", "http://127.0.0.1:9/v1")


def test_each_request_asks_the_configuration_again(config, chat, gateway):
    config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    config.select_model("openai/gpt-4o-mini")
    chat.complete(chat.plan(HELLO))
    config.select_model("anthropic/claude-sonnet-4-5")
    chat.complete(chat.plan(HELLO))
    assert [c["model"] for c in gateway.calls] == ["openai/gpt-4o-mini",
                                                   "anthropic/claude-sonnet-4-5"]


def test_a_named_model_wins_over_the_selected_one(config, chat, gateway):
    config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    config.select_model("anthropic/claude-sonnet-4-5")
    config.set_parameters("openai/gpt-4o-mini", {"temperature": 1.5})
    chat.complete(chat.plan(HELLO, "openai/gpt-4o-mini"))
    assert gateway.calls[-1]["parameters"] == {"temperature": 1.5}


def test_the_environment_key_goes_to_its_configured_base_url_with_a_warning(chat, gateway,
                                                                           caplog):
    with caplog.at_level(logging.WARNING):
        plan = chat.plan(HELLO, "anthropic/claude-sonnet-4-5")
    chat.complete(plan)
    assert plan.key.source == "environment"
    assert gateway.calls[-1]["api_base"] == "http://127.0.0.1:9/anthropic"
    assert "add the key in Settings" in caplog.text


def test_overrides_are_checked_against_the_models_bounds_before_the_key_is_used(
        config, chat, gateway):
    record = config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    with pytest.raises(ParameterOutOfBoundsError) as raised:
        chat.plan(HELLO, "openai/gpt-4o-mini", {"temperature": 3.0})
    assert set(raised.value.errors) == {"temperature"}
    assert config.get_api_key(record.id).last_used_at is None
    assert gateway.calls == []


def test_no_key_no_model_and_bad_messages_are_refused(chat):
    with pytest.raises(ProviderKeyMissingError, match="add one in Settings"):
        chat.plan(HELLO, "gemini/gemini-2.5-flash")
    with pytest.raises(ModelNotFoundError):
        chat.plan(HELLO, "openai/gpt-99")
    with pytest.raises(ModelNotFoundError, match="choose one in Settings > Models"):
        chat.plan(HELLO)
    with pytest.raises(ConfigurationError):
        chat.plan([], "anthropic/claude-sonnet-4-5")
    with pytest.raises(ConfigurationError, match="Unknown role"):
        chat.plan([ChatMessage("tool", "x")], "anthropic/claude-sonnet-4-5")


def test_a_plans_repr_never_shows_the_key(chat):
    plan = chat.plan(HELLO, "anthropic/claude-sonnet-4-5")
    assert "sk-ant-env-0000" not in repr(plan)


def test_provider_failures_pass_through_and_are_logged_without_detail(chat, gateway, caplog):
    gateway.failure = ProviderError("invalid_key", "anthropic refused the API key", 401)
    plan = chat.plan(HELLO, "anthropic/claude-sonnet-4-5")
    with caplog.at_level(logging.WARNING), pytest.raises(ProviderError):
        chat.complete(plan)
    with pytest.raises(ProviderError):
        chat.stream(plan)
    assert "kind=invalid_key status=401" in caplog.text


def test_streaming_gives_the_gateways_pieces(chat):
    pieces = list(chat.stream(chat.plan(HELLO, "anthropic/claude-sonnet-4-5")))
    assert "".join(p.content for p in pieces) == "reply"
    assert pieces[-1].finish_reason == "stop"


def test_last_used_at_is_written_at_most_once_a_minute(config, chat):
    record = config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    for _ in range(3):
        chat.plan(HELLO, "openai/gpt-4o-mini")
    assert config.storage.touched == [record.id]
    assert config.get_api_key(record.id).last_used_at is not None


def test_a_key_kept_by_the_plan_cache_is_still_marked_used_at_most_once_a_minute(config):
    """The plan cache keeps the key's row as it was read (its last_used_at stays None):
    the service's own touches count, so the cached row does not write at every chat."""
    record = config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    cached = config.active_key("openai")
    for _ in range(3):
        assert config.use_key("openai", cached).api_key == "sk-stored-11111111"
    assert cached.record.last_used_at is None
    assert config.storage.touched == [record.id]


def test_openais_other_parameters_go_on_when_the_model_takes_them_and_are_named_if_not(
        config, chat, gateway):
    config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    tools = [{"type": "function", "function": {"name": "f"}}]
    plan = chat.plan(HELLO, "anthropic/claude-sonnet-4-5", {"temperature": 0.5},
                     extras={"tools": tools, "seed": 3})
    assert (plan.extras, plan.dropped) == ({"tools": tools}, ("seed",))
    plan = chat.plan(HELLO, "openai/gpt-4o-mini", {"presence_penalty": 1},
                     extras={"tools": tools, "seed": 3})
    chat.complete(plan)
    assert plan.dropped == ("presence_penalty",)
    assert gateway.calls[-1]["parameters"] == {"presence_penalty": 1.0, "tools": tools,
                                               "seed": 3}
    assert chat.plan(HELLO, "openai/gpt-4o-mini", {"presence_penalty": 1}).dropped == ()


def test_a_tool_message_needs_the_call_it_answers(config, chat):
    config.add_api_key(NewApiKey("openai", "sk-stored-11111111"))
    asked = ChatMessage("assistant", "", ({"id": "c1", "type": "function"},))
    plan = chat.plan([*HELLO, asked, ChatMessage("tool", "sunny", tool_call_id="c1")],
                     "openai/gpt-4o-mini")
    assert plan.messages[-1].wire() == {"role": "tool", "content": "sunny",
                                        "tool_call_id": "c1"}
    with pytest.raises(ConfigurationError, match="Unknown role 'tool'"):
        chat.plan([*HELLO, ChatMessage("tool", "sunny")], "openai/gpt-4o-mini")
