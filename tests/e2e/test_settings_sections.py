"""Settings past what a new user tripped on (issue 29), in Chromium against gunicorn: a
failing key never replaces a working one, keys are edited in place, the page fits phones
and tablets in sections, hiding the default model warns where it is done, budgets choose
a key by name, and the catalogue offers the providers configapp can chat with. axe-core
(light and dark) on every state reached."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import violations
from tests.e2e.chat_support import FIRST_ANSWER_MS, key_and_model
from tests.e2e.harness import Browsing, Server
from tests.provider_stub import ProviderStub, closed_port_url
from tests.provider_stub.fixtures import KEYS, MODELS

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1280, 900), "tablet": (768, 1024), "phone": (390, 844)}


def audit(page: Page, state: str) -> dict[str, list[str]]:
    """The blocking violations of the page as it is, in each colour scheme."""
    found = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(100)
        problems = violations(page)
        if problems:
            found[f"{state} ({scheme})"] = problems
            print(f"\n{state} ({scheme}):", *problems, sep="\n  ")  # shown on failure
    page.emulate_media(color_scheme="light")
    return found


def card_of(page: Page, masked: str):
    return page.locator(".key-card").filter(has_text=masked)


def test_a_failing_key_is_saved_inactive_and_a_key_is_edited_in_place(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    page.set_viewport_size({"width": 1280, "height": 900})
    key_and_model(server, stub)
    _, [working] = server.api("GET", "/api/config/api-keys")
    found = {}
    page.goto(server.url + "/settings")
    expect(page.locator(".key-card")).to_have_count(1)

    # A new key whose base URL nothing listens on: tested first, saved inactive.
    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("API key", exact=True).fill("sk-wrong-key-00009999")
    page.get_by_label("Base URL (optional)").fill(closed_port_url() + "/v1")
    expect(page.get_by_label("Test the key as soon as it is added")).to_be_checked()
    page.get_by_role("button", name="Add key").click()
    failed = page.get_by_role("status").filter(has_text="saved inactive")
    # The first key test of a worker imports the provider library: give it time.
    expect(failed).to_contain_text("the test failed", timeout=FIRST_ANSWER_MS)
    expect(page.locator(".key-card")).to_have_count(2)
    expect(card_of(page, working["masked_key"]).get_by_role("switch")).to_be_checked()
    _, keys = server.api("GET", "/api/config/api-keys")
    assert [k["id"] for k in keys if k["is_active"]] == [working["id"]]
    found |= audit(page, "settings, a key that failed its test")

    # Made active anyway, at the user's word.
    failed.get_by_role("button", name="Make it active anyway").click()
    expect(page.get_by_role("status").filter(has_text="although its test failed")).to_be_visible()
    expect(failed).to_be_hidden()
    new = next(k for k in keys if k["id"] != working["id"])
    expect(card_of(page, new["masked_key"]).get_by_role("switch")).to_be_checked()
    expect(card_of(page, working["masked_key"]).get_by_role("switch")).not_to_be_checked()

    # Edited in place: the base URL corrected, then the secret replaced; the id stays.
    card_of(page, new["masked_key"]).get_by_role("button", name="Edit").click()
    editor = page.get_by_role("form", name=f"Edit {new['masked_key']}")
    expect(editor.get_by_label("Key name")).to_be_focused()
    editor.get_by_label("Base URL (optional)").fill(stub.base("openai"))
    found |= audit(page, "settings, editing a key")
    editor.get_by_role("button", name="Save changes").click()
    # A saved key is never sent to a new address: the base URL changes with the key itself.
    expect(editor.get_by_role("status")).to_contain_text("Enter the key again")
    editor.get_by_label("Replace the secret (optional)").fill("sk-moved-with-its-key-4242")
    editor.get_by_role("button", name="Save changes").click()
    saved = card_of(page, "sk-***4242").get_by_role("status")
    expect(saved).to_contain_text(f"at {stub.base('openai')}")
    expect(page.get_by_role("status").filter(has_text="although")).to_be_hidden()  # old news
    card_of(page, "sk-***4242").get_by_role("button", name="Edit").click()
    editor = page.get_by_role("form", name="Edit sk-***4242")
    editor.get_by_label("Replace the secret (optional)").fill(KEYS["openai"])
    editor.get_by_role("button", name="Save changes").click()
    # The mask follows the new secret (the working key's, so the same mask).
    expect(page.locator(".key-card").filter(has_text="Saved:")).to_contain_text(
        f"Saved: {working['masked_key']}")
    _, [_, second] = server.api("GET", "/api/config/api-keys")
    assert (second["id"], second["api_base"], second["is_active"]) == (
        new["id"], stub.base("openai"), True)
    assert second["masked_key"] == working["masked_key"]
    found |= audit(page, "settings, a key edited")
    browsing.expect_unreachable()
    assert found == {}

    # Chat's skip link skips the conversation list too: the next stop is past it.
    page.goto(server.url + "/")
    expect(page.locator(".conversations")).to_be_visible()
    page.get_by_role("link", name="Skip to the conversation").focus()  # the first stop
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.chat-ui') !== null")
    assert page.evaluate("document.activeElement.closest('.conversations') === null")


def test_settings_fits_phones_and_tablets_in_sections_and_warns_when_the_default_is_hidden(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    _, [key] = server.api("GET", "/api/config/api-keys")
    server.api("PATCH", f"/api/config/api-keys/{key['id']}", {"key_name": "work"})
    server.api("PUT", "/api/config/purposes/title", {"model": MODELS["openai"]})
    found = {}
    page.goto(server.url + "/settings")
    expect(page.locator(".key-card")).to_have_count(1)
    expect(page.locator(".model-count")).to_contain_text("models")

    # The catalogue: only providers configapp can chat with, unless asked for all.
    providers = page.get_by_label("Filter by provider").locator("option").all_text_contents()
    assert any(label.startswith("OpenAI") for label in providers)
    assert not any(label.startswith(("Bedrock", "Vertex", "Sagemaker")) for label in providers)
    usable = len(providers)
    page.get_by_label("Also providers configapp cannot chat with").check()
    expect(page.get_by_label("Filter by provider").locator("option")).not_to_have_count(usable)
    assert page.get_by_label("Filter by provider").locator("option").count() > usable
    page.get_by_label("Also providers configapp cannot chat with").uncheck()

    # Budgets: a key is chosen by its name and provider, never typed as an id.
    options = page.get_by_label("Budget for").locator("option").all_text_contents()
    assert f"work (OpenAI, {key['masked_key']})" in options

    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{size}: the page is {wide} px wide at {width} px"
        purpose_input = page.get_by_label("Model for the purpose chat")
        assert purpose_input.bounding_box()["width"] >= min(240, width * 0.6), size
        stacked = page.locator(".purposes-table td").first.evaluate(
            "cell => getComputedStyle(cell).display")
        assert (stacked == "block") == (width <= 768), size
        found |= audit(page, f"settings at {size}")

    # Sections, reached with the keyboard from the skip link.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/settings")
    expect(page.locator(".key-card")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the settings")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Usage & budgets":
            break
    expect(page.get_by_role("link", name="Usage & budgets")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#settings-usage")).to_be_in_viewport()

    # Hiding the model behind the default and a purpose: warned beside the toggle, in the
    # status line (not green) and in the Default model card.
    page.get_by_role("link", name="Curation").click()
    page.get_by_label("Provider to curate").select_option("openai")
    toggle = page.locator(".visibility-list li").filter(has_text=MODELS["openai"]).first
    toggle.get_by_role("checkbox").uncheck()
    warned = page.locator(".visibility .status")
    expect(warned).to_contain_text("the default model (purpose chat)")
    expect(warned).to_contain_text("the purpose title")
    expect(warned).to_have_class("status status-info")
    row = page.locator(f'.visibility-list li[data-model="{MODELS["openai"]}"]')
    expect(row.locator(".toggle-warning")).to_contain_text("chat refuses it")
    expect(page.locator(".default-warnings")).to_contain_text(
        f"uses {MODELS['openai']}, which is hidden")
    assert "flask" not in page.locator("main").inner_text()
    found |= audit(page, "settings at phone, the default model hidden")
    assert found == {}
    browsing.assert_clean()
