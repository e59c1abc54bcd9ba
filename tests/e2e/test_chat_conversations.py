"""Chat as a user keeps it, in Chromium against the provider stand-in: conversations kept in
the browser across reloads and the Change-model link, with their system prompt; the cost of
each reply and of the conversation; regenerate, edit-and-resend, rename, export, delete;
following a long answer; and the first-run checklist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.chat_support import FIRST_ANSWER_MS, key_and_model, screenshots, send
from tests.e2e.harness import Browsing, Server
from tests.provider_stub import ProviderStub

pytestmark = pytest.mark.e2e

PRICED = re.compile(r"^\d+ in \+ 7 out tokens · \$0\.0\d+ · \d+\.\d s$")


def answers(page):
    return page.locator(".message-assistant")


def test_a_conversation_is_kept_with_its_cost_system_prompt_and_edits(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    page.goto(server.url + "/")
    send(page, "Hi there")
    expect(answers(page).last.locator(".bubble-text")).to_have_text(
        "Hello from the openai stand-in. You said: Hi there", timeout=FIRST_ANSWER_MS)
    expect(answers(page).last.locator(".message-meta")).to_have_text(PRICED)
    expect(page.locator(".conversation-total")).to_have_text(re.compile(
        r"^1 reply · total \$0\.0\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hi there")

    # Sent at once after typing the system prompt (its save waits for a pause in typing):
    # the request carries it all the same.
    page.get_by_label("Message", exact=True).fill("Second question")
    page.get_by_text("System prompt").click()
    page.get_by_label("Instructions the model reads").fill("Answer like a pirate.")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(answers(page)).to_have_count(2, timeout=FIRST_ANSWER_MS)
    expect(answers(page).last).to_contain_text("You said: Second question")
    sent = stub.last("/chat/completions").body["messages"]
    assert sent[0] == {"role": "system", "content": "Answer like a pirate."}
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    expect(page.locator(".conversation-total")).to_contain_text("2 replies · total $")

    # A reload, and a visit to Settings by the Change-model link, keep all of it.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hi there")
    expect(page.locator(".message")).to_have_count(4)
    expect(page.get_by_label("Instructions the model reads")).to_have_value(
        "Answer like a pirate.")
    page.get_by_role("link", name="Change model").click()
    expect(page).to_have_url(server.url + "/settings#settings-models")
    page.go_back()
    expect(page.locator(".message")).to_have_count(4)
    expect(answers(page).last.locator(".message-meta")).to_have_text(PRICED)
    screenshots(browsing, "chat-conversation")

    # Regenerate the last answer; edit the first question and send it again.
    stub.say("A better answer.")
    answers(page).last.get_by_role("button", name="Regenerate").click()
    expect(answers(page).last.locator(".bubble-text")).to_have_text("A better answer.",
                                                                    timeout=FIRST_ANSWER_MS)
    expect(answers(page)).to_have_count(2)
    stub.say(None)
    page.locator(".message-user").first.get_by_role("button", name="Edit").click()
    editor = page.get_by_label("Edit your message")
    expect(editor).to_be_focused()
    editor.fill("Hello again")
    page.get_by_role("button", name="Send edited message").click()
    expect(answers(page)).to_have_count(1)
    expect(answers(page).last).to_contain_text("You said: Hello again", timeout=FIRST_ANSWER_MS)
    assert [m["content"] for m in stub.last("/chat/completions").body["messages"]][1:] == [
        "Hello again"]

    # Rename, export, start another, come back, delete.
    sidebar = page.get_by_role("navigation", name="Conversations")
    sidebar.get_by_role("button", name="Actions").click()  # each row's actions: one button
    sidebar.get_by_role("button", name="Rename").click()
    sidebar.get_by_label("Conversation name").fill("Pirate talk")
    sidebar.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pirate talk")
    expect(sidebar.locator(".conversation-open")).to_be_focused()
    sidebar.get_by_role("button", name="Actions").click()
    with page.expect_download() as download:
        sidebar.get_by_role("button", name="Markdown").click()
    assert download.value.suggested_filename == "pirate-talk.md"
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("# Pirate talk\n")
    assert "## System prompt\n\nAnswer like a pirate." in exported
    assert "## You\n\nHello again" in exported
    with page.expect_download() as download:
        sidebar.get_by_role("button", name="JSON").click()
    assert '"title": "Pirate talk"' in Path(download.value.path()).read_text(encoding="utf-8")

    sidebar.get_by_role("button", name="New conversation").click()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    expect(page.locator(".message")).to_have_count(0)
    send(page, "Another topic")
    expect(answers(page).last.locator(".message-meta")).to_have_text(PRICED,
                                                                     timeout=FIRST_ANSWER_MS)
    expect(sidebar.locator(".conversation-open")).to_have_count(2)
    sidebar.get_by_role("button", name="Pirate talk").click()
    expect(page.locator(".message-user")).to_have_text(re.compile("Hello again"))

    sidebar.locator("li.current").get_by_role("button", name="Actions").click()
    sidebar.locator("li.current").get_by_role("button", name="Delete").click()
    sidebar.get_by_role("button", name="Delete for good?").click()
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_have_text(
        "Deleted “Pirate talk”.")
    expect(sidebar.locator(".conversation-open")).to_have_count(1)
    expect(sidebar.get_by_role("button", name="New conversation")).to_be_focused()
    page.reload()
    expect(sidebar.locator(".conversation-open")).to_have_text(re.compile("Another topic"))



MOUNT_LIST = """async () => {
    const { mountConversationList } = await import("/assets/js/conversation-list.js");
    const list = mountConversationList({ onOpen() {}, onNew() {}, onRename() {},
                                         onDelete() {}, onExport() {} });
    list.node.id = "list-under-test";
    document.body.prepend(list.node);
    const at = new Date().toISOString();
    window.redraw = () => list.render(
        [{ id: "c1", title: "First", updatedAt: new Date().toISOString(), messages: [] },
         { id: "c2", title: "Second", updatedAt: at, messages: [] }], "c1");
    window.redraw();
}"""


def test_a_redrawn_list_keeps_the_open_actions_and_the_name_being_typed(
        server: Server, browsing: Browsing):
    """A reply that ends saves its conversation and redraws the sidebar: that must not close
    the Actions the user just opened, nor drop the name they are typing."""
    page = browsing.page
    page.goto(server.url + "/")
    page.evaluate(MOUNT_LIST)
    sidebar = page.locator("#list-under-test")
    second = sidebar.locator("li").filter(has_text="Second")
    second.get_by_role("button", name="Actions").click()
    expect(second.get_by_role("button", name="Rename")).to_be_focused()
    page.evaluate("window.redraw()")
    expect(second.get_by_role("button", name="Rename")).to_be_focused()
    expect(second.get_by_role("button", name="Actions")).to_have_attribute(
        "aria-expanded", "true")

    second.get_by_role("button", name="Rename").click()
    sidebar.get_by_label("Conversation name").fill("Second, renamed")
    page.evaluate("window.redraw()")
    expect(sidebar.get_by_label("Conversation name")).to_have_value("Second, renamed")
    expect(sidebar.get_by_label("Conversation name")).to_be_focused()
    sidebar.get_by_role("button", name="Cancel").click()
    expect(second.locator(".conversation-open")).to_be_focused()
    page.evaluate("window.redraw()")
    expect(sidebar.get_by_label("Conversation name")).to_have_count(0)

def test_a_reply_of_an_unpriced_model_says_price_unknown(server: Server, browsing: Browsing,
                                                         stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    assert server.api("POST", "/api/config/models/openai/stub-local-llama/select")[0] == 200
    page.goto(server.url + "/")
    send(page, "How much?")
    meta = answers(page).last.locator(".message-meta")
    expect(meta).to_contain_text("7 out tokens", timeout=FIRST_ANSWER_MS)
    expect(meta).to_contain_text("price unknown")
    expect(meta).not_to_contain_text("$")
    expect(page.locator(".conversation-total")).to_have_text("1 reply · total price unknown")


def settled_scroll_top(page: Page, log: Locator) -> float:
    """The log's scrollTop once two reads 150 ms apart agree (at most 3 s of reads)."""
    last = log.evaluate("(log) => log.scrollTop")
    for _ in range(20):
        page.wait_for_timeout(150)
        now = log.evaluate("(log) => log.scrollTop")
        if now == last:
            break
        last = now
    return now


def test_the_view_follows_a_long_answer_until_the_reader_scrolls_up(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    stub.say("\n\n".join(f"Paragraph {n}: " + "words " * 30 for n in range(1, 61)),
             pieces=120, pace=0.05)
    page.goto(server.url + "/")
    log = page.get_by_role("log", name="Conversation")
    distance = "(log) => log.scrollHeight - log.scrollTop - log.clientHeight"
    send(page, "Write a lot")
    expect(log).to_contain_text("Paragraph 10", timeout=FIRST_ANSWER_MS)
    assert log.evaluate(distance) < 60  # following: the newest line is in view
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_hidden()

    log.hover()
    page.mouse.wheel(0, -600)
    expect(jump).to_be_visible()
    held = settled_scroll_top(page, log)  # a wheel's scroll may land in several steps
    expect(log).to_contain_text("Paragraph 30")
    assert abs(log.evaluate("(log) => log.scrollTop") - held) < 2  # left where the reader is
    assert log.evaluate(distance) > 200
    screenshots(browsing, "chat-jump-to-latest")

    jump.click()
    expect(jump).to_be_hidden()
    expect(log).to_contain_text("Paragraph 45")
    assert log.evaluate(distance) < 60
    expect(answers(page).last.locator(".message-meta")).to_be_visible(timeout=FIRST_ANSWER_MS)
    assert log.evaluate(distance) < 60


def test_an_empty_chat_shows_the_first_run_checklist_and_errors_link_to_the_step(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    page.goto(server.url + "/")
    steps = page.locator(".checklist-step")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_have_text("NextAdd an API key. Add one in Settings")
    expect(steps.nth(1)).to_contain_text("Choose a model.")
    screenshots(browsing, "chat-first-run")
    send(page, "Hello?")
    problem = page.get_by_role("status").filter(has_text="No API key")
    expect(problem).to_have_text("No API key is stored yet. Add one in Settings, then choose "
                                 "a model.")
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hello?")
    problem.get_by_role("link", name="Add one in Settings").click()
    expect(page).to_have_url(server.url + "/settings#settings-keys")

    assert server.api("POST", "/api/config/api-keys", {
        "provider": "openai", "api_key": "sk-stub-openai-0001",
        "api_base": stub.base("openai")})[0] == 201
    page.goto(server.url + "/")
    expect(steps.nth(0)).to_have_text("DoneAdd an API key. A key is stored.")
    expect(steps.nth(1)).to_have_text("NextChoose a model. Choose one in Settings")
    send(page, "Hello?")
    problem = page.get_by_role("status").filter(has_text="No default model")
    problem.get_by_role("link", name="Choose one in Settings").click()
    expect(page).to_have_url(server.url + "/settings#settings-models")

    assert server.api("POST", "/api/config/models/openai/gpt-4o-mini/select")[0] == 200
    page.goto(server.url + "/")
    expect(page.locator(".empty-chat")).to_contain_text("Start a conversation.")
    expect(steps).to_have_count(0)
