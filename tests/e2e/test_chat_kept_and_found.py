"""Chat past what a new user tripped on (issue 29), in Chromium against the provider
stand-in: an answer outlives a reload mid-stream and agrees with the ledger; a stopped
reply is counted; the page at phone and tablet widths; search across conversations; the
model picker offers what can be used; titles from the `title` purpose. Axe (no serious or
critical violation, light and dark) on every state reached."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_support import FIRST_ANSWER_MS, key_and_model, screenshots, send
from tests.e2e.harness import Browsing, Server
from tests.e2e.test_accessibility import audit
from tests.provider_stub import ProviderStub

pytestmark = pytest.mark.e2e

COUNTED = re.compile(r"(\d+) in \+ (\d+) out tokens \(counted\) · \$0\.0\d+")


def answers(page: Page):
    return page.locator(".message-assistant")


def heading_order_problems(page: Page) -> int:
    """axe's heading-order (a moderate rule, which audit() does not fail on)."""
    return page.evaluate("""async () => (await axe.run(document,
        { runOnly: ["heading-order"] })).violations.length""")


def ledger(server: Server, requests: int) -> dict:
    """The month's ledger totals, once it holds `requests` rows (a stopped stream's row is
    written when the server sees the client gone)."""
    deadline = time.monotonic() + 15
    while True:
        status, report = server.api("GET", "/api/config/usage")
        assert status == 200
        if report["total"]["requests"] >= requests or time.monotonic() > deadline:
            return report["total"]
        time.sleep(0.2)


def test_an_answer_outlives_a_reload_mid_stream_and_agrees_with_the_ledger(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    # "w0 w1 ... w399 ", quickly enough that a piece is often on its way as the page goes:
    # the counts still agree, read back from the ledger by the stream's receipt.
    stub.pace(pieces=400, interval=0.03)
    page.goto(server.url + "/")
    send(page, "Write slowly")
    reply = answers(page).last.locator(".bubble-text")
    expect(reply).to_contain_text("w4", timeout=FIRST_ANSWER_MS)

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    seen = reply.inner_text().strip()
    page.reload()
    assert asked == ["beforeunload"]  # leaving mid-answer asks first

    kept = answers(page).last
    meta = kept.locator(".message-meta")
    expect(meta).to_contain_text("Cut short: the page was left at")
    expect(meta).to_have_text(COUNTED)  # the server's count of what arrived
    text = kept.locator(".bubble-text").inner_text().strip()
    assert text.startswith(seen) and re.fullmatch(r"(w\d+ )*w\d+", text), text
    expect(kept).to_have_class(re.compile(r"\bstopped\b"))
    # The ledger's stopped row counts the very text the conversation kept.
    tokens = COUNTED.search(meta.inner_text())
    total = ledger(server, 1)
    assert total["requests"] == 1
    assert int(tokens.group(2)) == total["completion_tokens"], (text, total)
    assert int(tokens.group(1)) == total["prompt_tokens"]
    expect(page.locator(".conversation-total")).to_have_text(re.compile(
        r"^1 reply · total \$0\.0\d+$"))
    found = audit(page, "chat, an answer cut short by a reload")
    assert heading_order_problems(page) == 0  # messages' headings follow the page's h1

    # A reply stopped with the button shows its counted tokens and cost too, and the
    # conversation's total includes it.
    send(page, "Once more")
    expect(answers(page).last.locator(".bubble-text")).to_contain_text(
        "w2", timeout=FIRST_ANSWER_MS)
    page.get_by_role("button", name="Stop").click()
    stopped = answers(page).last.locator(".message-meta")
    expect(stopped).to_have_text(re.compile(r"^Stopped after \d+\.\d s · " + COUNTED.pattern))
    expect(page.locator(".conversation-total")).to_have_text(re.compile(
        r"^2 replies · total \$0\.0\d+$"))
    # Both rows, read back by their receipts: the conversation's counts are the ledger's.
    both = ledger(server, 2)
    second = COUNTED.search(stopped.inner_text())
    assert both["requests"] == 2
    assert int(tokens.group(2)) + int(second.group(2)) == both["completion_tokens"], both
    found |= audit(page, "chat, a stopped reply")
    assert found == {}


SEEDED = [
    ("Trip planning", "Where should we go in spring?", "Iceland: glaciers and a volcano hike."),
    ("Soup recipes", "A quick lentil soup?", "Lentils, onion, cumin, 25 minutes."),
    ("Tax questions", "Can I deduct a desk?", "Often, if it is for work."),
]


def seed(page: Page) -> None:
    """Three kept conversations, written into the page's own store (IndexedDB)."""
    page.evaluate("""async (seeded) => {
        const db = await new Promise((resolve, reject) => {
            const opening = indexedDB.open("configapp-chat", 1);
            opening.onupgradeneeded = () => opening.result.createObjectStore(
                "conversations", { keyPath: "id" });
            opening.onsuccess = () => resolve(opening.result);
            opening.onerror = () => reject(opening.error);
        });
        const store = db.transaction("conversations", "readwrite").objectStore("conversations");
        seeded.forEach(([title, question, answer], n) => {
            const at = new Date(Date.now() - n * 60000).toISOString();
            store.put({ id: `seeded-${n}`, title, model: null, system: "", createdAt: at,
                        updatedAt: at, messages: [
                { role: "user", content: question },
                { role: "assistant", content: answer, seconds: "1.0", cost: 0.00001,
                  usage: { prompt_tokens: 9, completion_tokens: 7 } }] });
        });
        await new Promise((resolve) => { store.transaction.oncomplete = resolve; });
        db.close();
    }""", SEEDED)


def fits(page: Page) -> None:
    """No sideways scroll, and the messages get at least half of the window's height."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{width} px wide"
    height = page.get_by_role("log", name="Conversation").bounding_box()["height"]
    assert height >= page.viewport_size["height"] / 2, f"the messages get {height} px"


def test_at_phone_and_tablet_widths_the_list_folds_and_search_finds_conversations(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/")
    seed(page)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trip planning")
    toggle = page.get_by_role("button", name="Conversations")
    sidebar = page.get_by_role("navigation", name="Conversations")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()
    fits(page)
    browsing.screenshot("chat-folded-phone")
    found = audit(page, "chat at 390 px, the list folded")

    # Ctrl+K opens the list at its search; a word of an answer finds its conversation.
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.press("Control+K")
    search = page.get_by_label("Search conversations")
    expect(search).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.type("VOLCANO")
    expect(sidebar.locator(".conversation-open")).to_have_count(1)
    expect(sidebar.locator(".conversation-snippet")).to_contain_text("a volcano hike")
    expect(sidebar.get_by_role("status")).to_have_text("1 conversation matches.")
    found |= audit(page, "chat at 390 px, searching")
    screenshots(browsing, "chat-search")
    search.fill("soup")
    page.keyboard.press("Enter")  # opens the first result, and folds the list
    expect(page.get_by_role("heading", level=1)).to_have_text("Soup recipes")
    expect(sidebar).to_be_hidden()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()

    # The button opens it too; Escape folds it and gives the focus back.
    toggle.click()
    expect(search).to_be_focused()
    search.fill("")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # Each row shows one Actions button (not five); it opens the row's actions.
    page.keyboard.press("Enter")
    expect(sidebar.get_by_role("button", name="Rename")).to_have_count(0)
    actions = sidebar.locator("li.current").get_by_role("button", name="Actions")
    actions.focus()
    page.keyboard.press("Enter")
    expect(actions).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("button", name="Rename")).to_be_focused()
    expect(sidebar.get_by_role("button", name="JSON")).to_be_visible()
    found |= audit(page, "chat at 390 px, a row's actions open")
    page.keyboard.press("Escape")
    expect(actions).to_be_focused()
    expect(sidebar.get_by_role("button", name="Rename")).to_have_count(0)

    page.set_viewport_size({"width": 768, "height": 1024})
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    fits(page)
    found |= audit(page, "chat at 768 px")

    page.set_viewport_size({"width": 1280, "height": 900})
    expect(sidebar).to_be_visible()
    expect(toggle).to_be_hidden()
    search.fill("tax")
    expect(sidebar.locator(".conversation-title")).to_have_text(["Tax questions"])
    fits(page)
    assert found == {}


def test_the_picker_offers_what_can_be_used_and_the_title_purpose_names_conversations(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    for method, path, body in [
            ("PUT", "/api/config/aliases/fast", {"model": "openai/gpt-4o"}),
            ("PUT", "/api/config/purposes/title", {"model": "openai/gpt-4o-mini"}),
            ("PUT", "/api/config/purposes/brief", {"model": "openai/gpt-4o-mini"}),
            ("PUT", "/api/config/purposes/summary", {"model": "fast"}),
            ("PATCH", "/api/config/curation/openai", {"hide": ["openai/gpt-4o"]})]:
        assert server.api(method, path, body)[0] == 200, path
    page.goto(server.url + "/")
    picker = page.get_by_label("Model", exact=True)
    reached = picker.locator("optgroup[label='Models a key reaches'] option")
    # What the stand-in's key lists, less the hidden one: not the catalogue's 98 entries.
    expect(reached).to_have_count(2)
    assert sorted(reached.evaluate_all("(options) => options.map((o) => o.value)")) == [
        "openai/gpt-4o-mini", "openai/stub-local-llama"]
    options = picker.locator("option")
    expect(options).to_have_count(7)  # the default, 3 purposes, 1 alias, 2 models
    purposes = picker.locator("optgroup[label='Purposes'] option")
    expect(purposes).to_have_text([re.compile(r"^title: "), re.compile(r"^brief: "),
                                   re.compile(r"^summary: .*\(hidden: chat refuses it\)$")])
    expect(picker.locator("optgroup[label='Aliases'] option")).to_have_text(
        re.compile(r"^fast → .*\(hidden: chat refuses it\)$"))
    expect(options.first).not_to_contain_text("hidden")
    found = audit(page, "chat, the picker of usable models")

    picker.select_option("purpose:brief")
    expect(page.get_by_role("status").filter(has_text="now uses")).to_contain_text("brief: ")
    with page.expect_request(re.compile(r"/api/chat$")) as sent:
        send(page, "Plan a trip to Iceland")
    assert sent.value.post_data_json["purpose"] == "brief"
    assert "model" not in sent.value.post_data_json
    # After the first answer, the title purpose names the conversation (the stand-in echoes).
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Hello from the openai stand-in"),
                                 timeout=FIRST_ANSWER_MS)
    titled = stub.last("/chat/completions").body
    assert titled["messages"][0]["role"] == "system" and "Name this conversation" in \
        titled["messages"][0]["content"]
    assert titled["messages"][1] == {"role": "user", "content": "Plan a trip to Iceland"}
    expect(page.get_by_role("navigation", name="Conversations").locator(
        ".conversation-title")).to_have_text(re.compile(r"^Hello from the openai stand-in"))
    assert ledger(server, 2)["requests"] == 2  # the answer, and the title

    # A title purpose that fails (no key for its provider) leaves the first line, silently.
    assert server.api("PUT", "/api/config/purposes/title",
                      {"model": "anthropic/claude-sonnet-4-5"})[0] == 200
    browsing.expect_status(409)
    page.get_by_role("button", name="New conversation").click()
    with page.expect_response(lambda r: r.url.endswith("/api/chat") and r.status == 409):
        send(page, "Second topic here")
    expect(heading).to_have_text("Second topic here")
    expect(page.locator(".chat-status")).to_have_text("Answered.")
    found |= audit(page, "chat, titled conversations")
    assert found == {}
