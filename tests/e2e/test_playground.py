"""The Playground in Chromium against the real app under gunicorn: Settings and Chat."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import Browsing, Server

pytestmark = pytest.mark.e2e

MODEL = "anthropic/claude-sonnet-4-5"


def open_settings(page: Page, server: Server, fragment: str = "") -> None:
    page.goto(server.url + "/settings" + fragment)
    expect(page.locator(".model-count")).to_contain_text("models")


def radio(page: Page, model_id: str):
    return page.locator(f'.model-list input[type=radio][value="{model_id}"]')


def key_card(page: Page, masked: str):
    return page.locator(".key-card").filter(has_text=masked)


def test_a_key_is_added_shown_masked_switched_off_and_deleted(server: Server,
                                                              browsing: Browsing):
    page = browsing.page
    plaintext = f"sk-e2e-{secrets.token_hex(12)}Zq9W"
    open_settings(page, server)
    expect(page.locator(".key-list")).to_contain_text("No keys stored yet")
    expect(page.locator('.source[data-provider="openai"]')).to_contain_text("no key")

    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("Key name (optional)").fill("e2e key")
    page.get_by_label("API key", exact=True).fill(plaintext)
    page.get_by_role("button", name="Add key").click()

    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(
        "Added sk-***Zq9W for OpenAI: it is now the active key.")
    card = key_card(page, "sk-***Zq9W")
    expect(card).to_contain_text("OpenAI")
    expect(card).to_contain_text("e2e key")
    # "now", or a second or two later on a loaded machine.
    expect(card.locator("dd").nth(0)).to_have_text(re.compile(r"^(now|[12] seconds? ago)$"))
    expect(card.locator("dd").nth(1)).to_have_text("never")
    expect(card.get_by_role("switch", name="Active")).to_be_checked()
    expect(page.get_by_label("API key", exact=True)).to_have_value("")
    expect(page.locator('.source[data-provider="openai"]')).to_contain_text("stored key")
    # The plaintext is nowhere: not in the markup, no field's value, no storage.
    everything = page.evaluate("""() => [document.documentElement.outerHTML,
        ...[...document.querySelectorAll("input, textarea")].map((field) => field.value),
        JSON.stringify(sessionStorage), JSON.stringify(localStorage)].join("\\n")""")
    assert plaintext not in everything
    assert plaintext[7:-4] not in everything

    card.get_by_role("switch", name="Active").click()
    expect(card.get_by_role("status")).to_have_text("Inactive.")
    expect(key_card(page, "sk-***Zq9W").get_by_role("switch")).not_to_be_checked()
    assert server.api("GET", "/api/config/api-keys")[1][0]["is_active"] is False

    key_card(page, "sk-***Zq9W").get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("group", name="Confirm deletion")
    expect(confirm).to_contain_text("Delete sk-***Zq9W (OpenAI)?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")  # Cancel has the focus: nothing is deleted
    expect(confirm).to_have_count(0)
    expect(key_card(page, "sk-***Zq9W")).to_have_count(1)
    browsing.screenshot("settings-with-key")

    key_card(page, "sk-***Zq9W").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_have_text(
        "Deleted sk-***Zq9W (OpenAI).")
    expect(page.locator(".key-card")).to_have_count(0)
    assert server.api("GET", "/api/config/api-keys") == (200, [])
    browsing.assert_clean()


def test_a_bad_key_is_refused_with_the_reason_and_kept_to_correct(server: Server,
                                                                  browsing: Browsing):
    page = browsing.page
    browsing.expect_status(422)
    open_settings(page, server)
    page.get_by_label("API key", exact=True).fill("sk-with spaces-1234")
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("status").filter(has_text="Not added")).to_contain_text(
        "no spaces")
    key_field = page.get_by_label("API key", exact=True)
    expect(key_field).to_have_value("sk-with spaces-1234")
    expect(key_field).to_be_focused()
    expect(key_field).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show key").click()
    expect(key_field).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide key").click()
    expect(key_field).to_have_attribute("type", "password")
    expect(page.locator(".key-card")).to_have_count(0)


def test_a_model_is_filtered_chosen_with_the_keyboard_and_its_parameters_persist(
        server: Server, browsing: Browsing):
    page = browsing.page
    open_settings(page, server)
    expect(page.get_by_text("Pick a model in the list")).to_be_visible()

    search = page.get_by_label("Search models")
    search.click()
    page.keyboard.type("claude sonnet 4", delay=15)
    expect(page.locator(".model-count")).to_contain_text("match")
    # The list filters on every keystroke: wait until the last one has been applied.
    expect(page.locator(".model-row .model-id").filter(
        has_not_text=re.compile(r"^(?=.*claude)(?=.*sonnet)(?=.*4)"))).to_have_count(0)
    ids = page.locator(".model-row .model-id").all_inner_texts()
    assert ids and all("claude" in i and "sonnet" in i and "4" in i for i in ids)
    page.get_by_label("Filter by provider").select_option("anthropic")
    expect(page.locator(".model-row").first.locator(".model-id")).to_have_text(MODEL)
    assert all(i.startswith("anthropic/") for i in
               page.locator(".model-row .model-id").all_inner_texts())
    expect(page.locator(".model-row").first).to_contain_text("no key")

    # Keyboard: Tab from the search box reaches the list; arrows move the choice.
    search.focus()
    page.keyboard.press("Tab")  # the "only models with a key" box
    page.keyboard.press("Tab")  # the "also providers configapp cannot chat with" box
    page.keyboard.press("Tab")  # the radio group
    expect(radio(page, MODEL)).to_be_focused()
    page.keyboard.press("ArrowDown")
    second = page.locator(".model-row").nth(1).locator(".model-id").inner_text()
    expect(page.locator(".params h3")).to_have_text(second.split("/", 1)[1])
    page.keyboard.press("ArrowUp")
    expect(radio(page, MODEL)).to_be_checked()
    expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")
    # Anthropic's temperature stops at 1; max_tokens at the model's output limit.
    temperature = page.get_by_role("slider", name="Temperature")
    expect(temperature).to_have_attribute("max", "1")
    assert int(page.get_by_role("slider", name="Max tokens").get_attribute("max")) > 4096

    page.get_by_label("Temperature value").fill("0.4")
    page.get_by_label("Top P value").fill("0.9")
    page.get_by_label("Max tokens value").fill("2048")
    expect(temperature).to_have_value("0.4")
    page.get_by_role("button", name="Save as default model").click()
    # No Anthropic key yet: Settings says what that means before it saves.
    warning = page.get_by_role("status").filter(has_text="No key reaches")
    expect(warning).to_contain_text("No key reaches Anthropic yet: Chat cannot use "
                                    "claude-sonnet-4-5 until one is added.")
    expect(warning.get_by_role("link", name="Add a key")).to_have_attribute(
        "href", "#settings-keys")
    assert server.api("GET", "/api/config/models/selected")[0] == 404
    anyway = warning.get_by_role("button", name="Make it the default anyway")
    expect(anyway).to_be_focused()
    anyway.click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text(
        "Saved: claude-sonnet-4-5 is the default model "
        "(Max tokens 2048, Temperature 0.4, Top P 0.9).")
    expect(page.get_by_role("button", name="Save parameters")).to_be_focused()
    status, selected = server.api("GET", "/api/config/models/selected")
    assert status == 200 and selected["model"]["id"] == MODEL
    assert selected["parameters"] == {"temperature": 0.4, "top_p": 0.9, "max_tokens": 2048}

    page.reload()
    expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")
    expect(page.locator(".params .default-tag")).to_have_text("default")
    expect(page.get_by_label("Temperature value")).to_have_value("0.4")
    expect(page.get_by_label("Top P value")).to_have_value("0.9")
    expect(page.get_by_label("Max tokens value")).to_have_value("2048")
    expect(page.get_by_role("button", name="Save parameters")).to_be_visible()
    expect(page.locator(".dirty-note")).to_be_hidden()
    page.get_by_label("Search models").fill("claude-sonnet-4-5")
    expect(radio(page, MODEL)).to_be_checked()
    browsing.screenshot("settings-models")

    page.get_by_label("Temperature value").fill("0.8")
    expect(page.locator(".dirty-note")).to_be_visible()
    page.get_by_role("button", name="Save parameters").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("Temperature 0.8")
    assert server.api("GET", "/api/config/models/selected")[1]["parameters"]["temperature"] == 0.8


def test_filtering_three_thousand_models_as_you_type_is_debounced_and_paged(
        server: Server, browsing: Browsing):
    """What keeps typing smooth: one filter pass per pause, not per keystroke, and at most
    100 rows drawn at a time. The passes' durations are printed, not asserted: speed is
    the benchmarks' to report (docs/benchmarks.md), never a timed test's."""
    page = browsing.page
    open_settings(page, server, "#settings-models")  # where Chat's "Change model" leads
    expect(page.get_by_role("heading", name="Default model")).to_be_in_viewport()
    total = server.api("GET", "/api/config/models")[1]["count"]
    assert total > 2000
    expect(page.locator(".model-row")).to_have_count(100)
    expect(page.get_by_role("button", name="Show 100 more")).to_be_visible()

    page.evaluate("performance.clearMeasures()")
    search = page.get_by_label("Search models")
    search.click()
    page.keyboard.type("gemini flash", delay=30)
    expect(page.locator(".model-count")).to_contain_text("match")
    # The count says "match" after the first filter pass: wait until the last is applied.
    expect(page.locator(".model-row .model-id").filter(
        has_not_text=re.compile(r"^(?=.*gemini)(?=.*flash)"))).to_have_count(0)
    timings = page.evaluate("""() => ({
        filter: performance.getEntriesByName("configapp:filter-models").map((e) => e.duration),
        render: performance.getEntriesByName("configapp:render-models").map((e) => e.duration),
    })""")
    # Typing is debounced: far fewer filter passes than keystrokes.
    assert 1 <= len(timings["filter"]) < len("gemini flash")
    ids = page.locator(".model-row .model-id").all_inner_texts()
    assert ids and all("gemini" in i and "flash" in i for i in ids)

    # The worst case: from a narrow filter back to all models, rendered 100 at a time.
    page.evaluate("performance.clearMeasures()")
    search.fill("")
    expect(page.locator(".model-row")).to_have_count(100)
    widest = page.evaluate(
        'performance.getEntriesByName("configapp:filter-models").map((e) => e.duration)')
    assert len(widest) == 1, widest  # one pass for the whole change, then 100 rows drawn
    page.get_by_role("button", name="Show 100 more").click()
    expect(page.locator(".model-row")).to_have_count(200)
    print(f"\nfilter passes while typing: {timings}; back to all {total}: {widest}")


@pytest.mark.parametrize(("path", "ready", "name"), [
    ("/", ".model-bar", "chat"),
    ("/settings", ".model-row", "settings"),
])
def test_each_page_loads_with_no_console_error_and_no_csp_violation(
        server: Server, browsing: Browsing, path: str, ready: str, name: str):
    page = browsing.page
    response = page.goto(server.url + path)
    assert response is not None and response.ok
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page.locator(ready).first.wait_for()
    page.wait_for_load_state("networkidle")
    browsing.screenshot(name)
    browsing.assert_clean()


def test_the_settings_ui_mounts_anywhere_with_the_client_it_is_given(server: Server,
                                                                    browsing: Browsing):
    """What the extension relies on: mountSettings(root, {client, readOnly, onChange}) fills
    any element, talks only through the client, and can be read-only with a reason."""
    page = browsing.page
    server.api("POST", "/api/config/api-keys",
               {"provider": "gemini", "api_key": "AIza-e2e-000000004321"})
    page.goto(server.url + "/settings")
    page.evaluate("""async (base) => {
        document.body.replaceChildren();
        const root = document.createElement("div");
        document.body.append(root);
        const { mountSettings } = await import("/assets/js/settings-ui.js");
        const { createApiClient } = await import("/assets/js/api-client.js");
        const calls = [];
        const client = createApiClient({ baseUrl: base, getToken: () => null });
        const counting = new Proxy(client, { get: (target, name) => {
            if (typeof target[name] === "function") calls.push(name);
            return target[name];
        } });
        window.calls = calls;
        window.changes = [];
        window.ui = mountSettings(root, { client: counting, readOnly: "The backend is away.",
                                          onChange: (what) => window.changes.push(what) });
    }""", server.url)
    expect(page.locator(".banner-readonly")).to_have_text("Read-only. The backend is away.")
    expect(key_card(page, "AIza***4321")).to_contain_text("Google (Gemini)")
    expect(page.locator(".model-count")).to_contain_text("models")
    writes = page.locator("[data-write]")
    assert writes.count() > 5
    for index in range(writes.count()):
        expect(writes.nth(index)).to_be_disabled()
    assert set(page.evaluate("window.calls")) == {"providers", "listKeys", "models",
                                                  "selectedModel", "purposes", "aliases",
                                                  "curation"}

    page.evaluate("window.ui.setReadOnly(null)")
    expect(page.locator(".banner-readonly")).to_be_hidden()
    expect(page.get_by_role("button", name="Add key")).to_be_enabled()
    expect(key_card(page, "AIza***4321").get_by_role("button", name="Delete")).to_be_enabled()
    key_card(page, "AIza***4321").get_by_role("switch", name="Active").click()
    expect(key_card(page, "AIza***4321").get_by_role("status")).to_have_text("Inactive.")
    page.wait_for_function("() => window.changes.length > 0")
    assert page.evaluate("window.changes") == ["keys"]
