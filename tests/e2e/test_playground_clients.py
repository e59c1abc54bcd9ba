"""Settings' "Clients" card in Chromium against gunicorn: a client made with its models and
limit, its token shown once with a Copy button and gone after, a clear refusal, a revocation
after a confirmation, and the Usage card's month per client."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import violations
from tests.e2e.harness import Browsing, Server
from tests.e2e.test_playground_usage import chat
from tests.provider_stub.fixtures import KEYS, MODELS

pytestmark = pytest.mark.e2e


def test_settings_makes_a_client_shows_its_token_once_and_revokes_it(
        server: Server, browsing: Browsing, stub):
    assert server.api("POST", "/api/config/api-keys", {
        "provider": "openai", "api_key": KEYS["openai"],
        "api_base": stub.base("openai")})[0] == 201
    assert chat(server, MODELS["openai"]) == 200  # a call with no client: the API token's

    page = browsing.page
    browsing.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                       origin=server.url)
    browsing.expect_status(422)  # the unknown model, below
    page.goto(server.url + "/settings#settings-clients")
    card = page.locator("#settings-clients")
    expect(card.locator(".client-list")).to_contain_text("No clients yet.")
    expect(page.locator("#usage-by-client")).to_contain_text("Playground / API token")

    card.get_by_label("Client name").fill("open-webui")
    card.get_by_label("Models it may use (optional)").fill("openai/gpt-4o-mini")
    card.get_by_label("Its monthly limit in $ (optional)").fill("5")
    card.get_by_role("button", name="Create client").click()
    panel = card.get_by_role("region", name="The new client's token")
    expect(panel).to_contain_text("it is shown only once")
    token = panel.locator(".client-token").text_content()
    assert token.startswith("cfgc_") and len(token) == 48
    expect(card.locator(".client-list")).to_contain_text(
        "open-webui openai/gpt-4o-mini; limit $5.00 a month; $0 spent this month")
    _, listed = server.api("GET", "/api/config/clients")
    assert [(c["name"], c["models"], c["monthly_limit"]) for c in listed] == [
        ("open-webui", ["openai/gpt-4o-mini"], 5.0)]
    assert violations(page) == []

    panel.get_by_role("button", name="Copy token").click()
    expect(panel.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    panel.get_by_role("button", name="Done, hide it").click()
    expect(panel).to_be_hidden()
    page.reload()
    expect(card.locator(".client-list")).to_contain_text("open-webui")
    assert token not in page.content()

    card.get_by_label("Client name").fill("scripts")
    card.get_by_label("Models it may use (optional)").fill("openai/no-such-model")
    card.get_by_role("button", name="Create client").click()
    expect(card.locator(".client-form .status-error")).to_contain_text(
        "Unknown model or alias 'openai/no-such-model'")

    card.locator(".client", has_text="open-webui").get_by_role("button", name="Revoke").click()
    card.get_by_role("button", name="Revoke for good").click()
    expect(card.locator(".client-list")).to_contain_text("No clients yet.")
    assert server.api("GET", "/api/config/clients") == (200, [])
    browsing.screenshot("settings-clients")
    browsing.assert_clean()
