"""Answers in Chromium as a reader sees them: markdown, code with a Copy button, tables, safe
links, and hostile markdown made inert. Against the provider stand-in, through gunicorn."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.chat_support import FIRST_ANSWER_MS, key_and_model, screenshots, send
from tests.e2e.harness import Browsing, Server
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import KEYS, MODELS

pytestmark = pytest.mark.e2e

RICH = """# Plan

Here is **bold**, *italic* and `inline code`, and [the docs](https://example.org/docs).

- one
- two

```python
def greet(name):
    return f"Hello {name}"  # a comment
```

| Model | Price |
|-------|------:|
| mini  | $0.15 |
| large | $2.50 |
"""

HOSTILE = """<img src="x" onerror="window.__pwned = 'img'">

<script>window.__pwned = 'script'</script>

[click me](javascript:window.__pwned='link') and <a href="javascript:alert(1)">raw link</a>

![tracker](https://tracker.example/pixel.png) <iframe src="https://evil.example"></iframe>

<b onmouseover="window.__pwned='hover'">raw bold</b> [data](data:text/html,hi)
"""


def test_an_answer_in_markdown_shows_headings_lists_code_and_tables(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    browsing.context.grant_permissions(["clipboard-read", "clipboard-write"])
    key_and_model(server, stub)
    stub.say(RICH)
    page.goto(server.url + "/")
    send(page, "Show me everything")
    answer = page.locator(".message-assistant").last.locator(".bubble-text")
    expect(answer.locator("h1")).to_have_text("Plan", timeout=FIRST_ANSWER_MS)
    expect(answer.locator("strong")).to_have_text("bold")
    expect(answer.locator("em")).to_have_text("italic")
    expect(answer.locator("p code")).to_have_text("inline code")
    expect(answer.locator("li")).to_have_text(["one", "two"])
    expect(answer).not_to_contain_text("**")
    expect(answer).not_to_contain_text("```")

    link = answer.get_by_role("link", name="the docs")
    expect(link).to_have_attribute("href", "https://example.org/docs")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")

    code = answer.locator(".code-block")
    expect(code.locator(".code-lang")).to_have_text("python")
    expect(code.locator("code .hljs-keyword").first).to_have_text("def")
    expect(code.locator("code .hljs-comment")).to_have_text("# a comment")
    code.get_by_role("button", name="Copy code").click()
    expect(code.get_by_role("button", name="Code copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == 'def greet(name):\n    return f"Hello {name}"  # a comment\n'

    table = answer.get_by_role("table")
    expect(table.locator("th")).to_have_text(["Model", "Price"])
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(1)).to_contain_text("$2.50")
    screenshots(browsing, "chat-markdown")


def test_hostile_markdown_is_shown_inert(server: Server, browsing: Browsing,
                                         stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    stub.say(HOSTILE)
    page.goto(server.url + "/")
    send(page, "Be nasty")
    answer = page.locator(".message-assistant").last.locator(".bubble-text")
    expect(answer).to_contain_text("raw bold", timeout=FIRST_ANSWER_MS)
    expect(page.locator(".message-assistant").last.locator(".message-meta")).to_be_visible()
    # Raw HTML stays text: what the model wrote is readable, nothing of it is markup.
    expect(answer).to_contain_text('<img src="x" onerror=')
    expect(answer).to_contain_text("<script>")
    for tag in ("img", "script", "iframe", "b[onmouseover]", "[onerror]"):
        expect(answer.locator(tag)).to_have_count(0)
    # Links: only http(s) ones stay links; javascript: and data: ones are plain text.
    expect(answer.locator("a")).to_have_count(1)
    expect(answer.get_by_role("link", name="tracker")).to_have_attribute(
        "href", "https://tracker.example/pixel.png")  # an image becomes a link, not a load
    expect(answer).to_contain_text("click me")
    page.get_by_text("click me").click()
    answer.locator("text=raw bold").hover()
    assert page.evaluate("window.__pwned") is None
    assert stub.requests and all("pixel" not in r.path for r in stub.requests)


def test_an_answer_whose_stream_just_stops_shows_as_cut_short(
        server: Server, browsing: Browsing, stub: ProviderStub):
    page = browsing.page
    key_and_model(server, stub)
    stub.close_delimited = True  # HTTP/1.0: the close ends the body, cleanly
    stub.behave("cut")  # the text, then the close: no finish reason, no [DONE]
    page.goto(server.url + "/")
    send(page, "Tell me everything")
    reply = page.locator(".message-assistant").last
    expect(reply.locator(".message-meta")).to_contain_text("Cut short after",
                                                           timeout=FIRST_ANSWER_MS)
    expect(reply.locator(".bubble-text")).to_have_text(
        "Hello from the openai stand-in. You said: Tell me everything")
    expect(reply).to_have_class(re.compile(r"\bstopped\b"))
    status = page.locator(".chat-status")
    expect(status).to_contain_text("Cut short: the provider's stream ended")
    expect(status).not_to_contain_text("Answered.")


def test_a_reply_that_fell_back_says_which_model_answered_and_why(
        server: Server, browsing: Browsing, stub: ProviderStub, other_stub: ProviderStub):
    page = browsing.page
    first = key_and_model(server, stub)
    assert server.api("POST", "/api/config/api-keys", {
        "provider": "anthropic", "api_key": KEYS["anthropic"],
        "api_base": other_stub.base("anthropic")})[0] == 201
    status, body = server.api("PUT", "/api/config/purposes/chat",
                              {"model": first, "fallbacks": [MODELS["anthropic"]]})
    assert status == 200, body
    stub.behave(503)
    page.goto(server.url + "/")
    send(page, "Hello there")
    reply = page.locator(".message-assistant").last
    expect(reply.locator(".message-fallback")).to_have_text(
        f"answered by {MODELS['anthropic']} ({first} was unavailable: 503)",
        timeout=FIRST_ANSWER_MS)
    expect(reply.locator(".bubble-text")).to_contain_text("Hello from the anthropic stand-in")
