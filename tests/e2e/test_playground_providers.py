"""The Playground's provider paths in Chromium: key tests and streamed chat, through
gunicorn, against the provider stand-in (a real HTTP server on 127.0.0.1 speaking the
providers' wire formats)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_support import FIRST_ANSWER_MS
from tests.e2e.harness import Browsing, Server
from tests.provider_stub import ProviderStub, closed_port_url
from tests.provider_stub.fixtures import KEYS, MODELS

pytestmark = pytest.mark.e2e

OPENAI_KEY = KEYS["openai"]
MASKED = "sk-***0001"



@pytest.fixture
def server(shared_server) -> Server:
    """Short provider timeouts: a stalled stream frees its gunicorn worker quickly."""
    return shared_server({"CONFIGAPP_PROVIDER_TIMEOUT": "3",
                          "CONFIGAPP_PROVIDER_CHECK_TIMEOUT": "3"})


def add_key_in_settings(page: Page, server: Server, stub: ProviderStub) -> None:
    page.goto(server.url + "/settings")
    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("API key", exact=True).fill(OPENAI_KEY)
    page.get_by_label("Base URL (optional)").fill(stub.base("openai"))
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_contain_text(MASKED)


def send(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.keyboard.press("Enter")


def test_test_connection_says_valid_then_invalid_with_the_reason(server: Server,
                                                                 browsing: Browsing,
                                                                 stub: ProviderStub):
    page = browsing.page
    add_key_in_settings(page, server, stub)
    card = page.locator(".key-card").filter(has_text=MASKED)
    expect(card).to_contain_text(stub.base("openai"))

    card.get_by_role("button", name="Test connection").click()
    result = card.locator(".test-result")
    expect(result).to_have_attribute("data-result", "valid")
    expect(result.locator(".result-class")).to_have_text("Valid")
    expect(result).not_to_contain_text(re.compile(r"valid\s+valid", re.IGNORECASE))
    expect(result).to_contain_text("HTTP 200")
    expect(result).to_contain_text(" ms")
    assert stub.last("/models").key == OPENAI_KEY

    stub.behave(401)
    card.get_by_role("button", name="Test connection").click()
    expect(result).to_have_attribute("data-result", "invalid_key")
    expect(result).to_contain_text("Invalid key")
    expect(result).to_contain_text("HTTP 401")
    expect(result).not_to_contain_text(OPENAI_KEY)  # the stand-in echoes it; the app scrubs
    browsing.screenshot("settings-key-test")


def test_chat_streams_stops_and_explains_provider_failures_and_a_missing_key(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    browsing.expect_status(409, 502)
    add_key_in_settings(page, server, stub)
    assert server.api("POST", f"/api/config/models/{MODELS['openai']}/select")[0] == 200

    page.goto(server.url + "/")
    expect(page.locator(".model-bar")).to_contain_text("gpt-4o-mini")
    send(page, "Hi there")
    answer = page.locator(".message-assistant").last
    expect(answer.locator(".bubble-text")).to_have_text(
        "Hello from the openai stand-in. You said: Hi there", timeout=FIRST_ANSWER_MS)
    expect(answer.locator(".message-meta")).to_contain_text("tokens")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert stub.last("/chat/completions").body["stream"] is True

    # The stand-in sends one piece, then stalls: the piece shows while it waits; Stop.
    stub.behave("stall")
    send(page, "Tell me more")
    answer = page.locator(".message-assistant").last
    expect(answer.locator(".bubble-text")).to_contain_text("Hello", timeout=FIRST_ANSWER_MS)
    expect(answer).to_have_class("message message-assistant streaming")
    browsing.screenshot("chat-streaming")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status").filter(has_text="Stopped")).to_have_text(
        "Stopped. The partial answer is kept.")
    expect(answer.locator(".message-meta")).to_contain_text("Stopped after")

    stub.behave(500)
    send(page, "And now?")
    # The API's own sentence, with no "answered with an error" before an unreachable one.
    expect(page.get_by_role("status").filter(has_text="HTTP 500")).to_contain_text(
        "OpenAI failed (HTTP 500)", timeout=FIRST_ANSWER_MS)
    expect(page.get_by_label("Message", exact=True)).to_have_value("And now?")
    stub.behave("ok")

    page.goto(server.url + "/settings")
    page.locator(".key-card").filter(has_text=MASKED).get_by_role(
        "button", name="Delete").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.locator(".key-card")).to_have_count(0)
    page.goto(server.url + "/")
    send(page, "Still there?")
    problem = page.get_by_role("status").filter(has_text="No API key")
    expect(problem).to_have_text("No API key is stored yet. Add one in Settings, then choose "
                                 "a model.")
    browsing.screenshot("chat-no-key")
    problem.get_by_role("link", name="Add one in Settings").click()
    expect(page).to_have_url(server.url + "/settings#settings-keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_in_viewport()


def test_a_key_with_an_unreachable_base_url_is_tested_on_adding_and_said_at_once(
        server: Server, browsing: Browsing):
    page = browsing.page
    page.goto(server.url + "/settings")
    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("API key", exact=True).fill(OPENAI_KEY)
    offered = page.get_by_label("Test the key as soon as it is added")
    expect(offered).not_to_be_checked()
    page.get_by_label("Base URL (optional)").fill(closed_port_url() + "/v1")
    expect(offered).to_be_checked()  # a base URL is the likeliest thing to be wrong
    page.get_by_role("button", name="Add key").click()
    said = page.get_by_role("status").filter(has_text="Added")
    expect(said).to_contain_text("but the test failed: OpenAI could not be reached",
                                 timeout=15_000)
    expect(said).to_contain_text("It was saved inactive")
    expect(said).to_have_class("status status-error")
    card = page.locator(".key-card").filter(has_text=MASKED)
    expect(card.locator(".test-result")).to_have_attribute("data-result", "unreachable")
    browsing.screenshot("settings-key-unreachable")
