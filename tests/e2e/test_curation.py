"""Curation in Chromium against the real app under gunicorn: the shown-model toggles and
their counts, purposes and aliases, and the warnings, in the Playground's Settings and in
the extension (live, and from its cache when the backend is away)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import Browsing, Extension, Server
from tests.e2e.test_extension import connect, listed, open_settings, sync_now
from tests.provider_stub import ProviderStub

pytestmark = pytest.mark.e2e

WITHDRAWN = "openai/gpt-4o"


def withdraw_a_default(server: Server, stub: ProviderStub) -> None:
    """A stand-in key, gpt-4o as the default model, then the stand-in stops listing it."""
    status, _ = server.api("POST", "/api/config/api-keys", {
        "provider": "openai", "api_key": "sk-e2e-curation-0001",
        "api_base": stub.base("openai")})
    assert status == 201
    assert server.api("GET", "/api/config/models?live=true&provider=openai")[0] == 200
    assert server.api("POST", f"/api/config/models/{WITHDRAWN}/select")[0] == 200
    stub.stop_listing("gpt-4o")
    assert server.api("GET", "/api/config/models?live=true&refresh=true&provider=openai")[
        0] == 200


def curation_card(page: Page):
    return page.locator("#settings-curation")


def toggle(page: Page, model_id: str):
    return curation_card(page).locator(f'.visibility-list input[value="{model_id}"]')


def shown_count(server: Server, provider: str) -> tuple[int, int]:
    entry = server.api("GET", f"/api/config/curation?provider={provider}")[1]["providers"][0]
    return entry["shown"], entry["total"]


def test_settings_toggles_models_and_shows_purposes_aliases_and_warnings(
        server: Server, browsing: Browsing, stub: ProviderStub):
    withdraw_a_default(server, stub)
    page = browsing.page
    page.goto(server.url + "/settings")
    card = curation_card(page)

    # The warning about the withdrawn default, with what to do.
    warnings = card.locator(".curation-warnings")
    withdrawn = warnings.locator('li[data-kind="withdrawn"]')
    expect(withdrawn).to_contain_text(f"The purpose 'chat' uses {WITHDRAWN}, which openai "
                                      "stopped listing on ")
    expect(withdrawn).to_contain_text("Choose another model for the purpose 'chat'")
    expect(withdrawn).to_contain_text("today")

    # The toggles and the counts: openai is the first provider offered.
    expect(card.get_by_label("Provider to curate")).to_have_value("openai")
    total = shown_count(server, "openai")[1]
    expect(card.locator(".curation-count")).to_have_text(f"{total} of {total} shown")
    expect(toggle(page, WITHDRAWN).locator("xpath=..")).to_contain_text("withdrawn ")
    toggle(page, "openai/gpt-4o-mini").uncheck()
    expect(card.locator(".curation-count")).to_have_text(f"{total - 1} of {total} shown")
    # The message stays once the list is redrawn (the redraw used to clear it at once).
    expect(card.get_by_role("status").filter(has_text="Hidden")).to_contain_text(
        "Hidden openai/gpt-4o-mini.")
    assert "openai/gpt-4o-mini" not in {
        m["id"] for m in server.api("GET", "/api/config/models?provider=openai")[1]["models"]}
    # The catalogue above redraws without it.
    page.get_by_label("Search models").fill("gpt-4o-mini")
    expect(page.locator('.model-list input[value="openai/gpt-4o-mini"]')).to_have_count(0)
    toggle(page, "openai/gpt-4o-mini").check()
    expect(card.locator(".curation-count")).to_have_text(f"{total} of {total} shown")
    expect(page.locator('.model-list input[value="openai/gpt-4o-mini"]')).to_have_count(1)

    # Hiding the withdrawn default adds a second warning: chat refuses it now.
    toggle(page, WITHDRAWN).uncheck()
    expect(warnings.locator('li[data-kind="hidden"]')).to_contain_text("chat refuses it")

    # An alias with its own parameters, and a purpose that uses it.
    card.get_by_label("Alias name").fill("fast")
    card.get_by_label("Alias of").fill("openai/gpt-4o-mini")
    card.get_by_label("Alias temperature").fill("0.3")
    card.get_by_label("Alias fallbacks").fill("anthropic/claude-haiku-4-5")
    card.get_by_role("button", name="Save alias").click()
    expect(card.locator('tr[data-alias="fast"]')).to_contain_text("temperature 0.3")
    expect(card.locator('tr[data-alias="fast"]')).to_contain_text(
        "openai/gpt-4o-mini, then anthropic/claude-haiku-4-5")
    card.get_by_label("New purpose").fill("summaries")
    card.get_by_label("Its model or alias").fill("fast")
    card.get_by_role("button", name="Add purpose").click()
    expect(card.locator('tr[data-purpose="summaries"] .resolved')).to_have_text(
        "openai/gpt-4o-mini (alias fast)")
    purposes = {p["name"]: p for p in server.api("GET", "/api/config/purposes")[1]["purposes"]}
    assert purposes["summaries"]["target"] == "fast"

    # A bad purpose name is refused with the server's reason, and nothing is added.
    browsing.expect_status(422)
    card.get_by_label("New purpose").fill("Not A Slug")
    card.get_by_label("Its model or alias").fill("fast")
    card.get_by_role("button", name="Add purpose").click()
    expect(card.get_by_role("status").filter(has_text="Not saved")).to_contain_text(
        "is not a purpose name")
    expect(card.locator("tr[data-purpose]")).to_have_count(4)

    # The deprecation date of a purpose's model, counted from today.
    row = card.locator('tr[data-purpose="title"]')
    row.get_by_label("Model for the purpose title").fill("openai/gpt-4o-2024-08-06")
    row.get_by_label("Fallbacks for the purpose title").fill("fast")
    row.get_by_role("button", name="Set", exact=True).click()
    expect(warnings.locator('li[data-kind="deprecated"]')).to_contain_text(
        re.compile(r"2027-01-14, in \d+ days"))
    purposes = {p["name"]: p for p in server.api("GET", "/api/config/purposes")[1]["purposes"]}
    assert purposes["title"]["fallbacks"] == ["fast"]
    browsing.screenshot("settings-curation")


def test_the_extension_shows_purposes_and_warnings_live_and_from_its_cache(
        extension: Extension, make_server: Callable[..., Server], stub: ProviderStub):
    server = make_server(listed(extension))
    withdraw_a_default(server, stub)
    server.api("PUT", "/api/config/aliases/fast", {"model": "openai/gpt-4o-mini"})
    server.api("PUT", "/api/config/purposes/title", {"model": "fast"})
    page = open_settings(extension)
    connect(page, server)

    # The Backend card: what the snapshot holds.
    expect(page.locator(".synced-purposes")).to_have_text(
        f"chat: {WITHDRAWN}, title: fast (openai/gpt-4o-mini)")
    expect(page.locator(".synced-warnings")).to_contain_text(
        f"The purpose 'chat' uses {WITHDRAWN}, which openai stopped listing on ")

    # Live: the toggles write through the backend, and the sync carries the change.
    card = curation_card(page)
    expect(card.get_by_label("Provider to curate")).to_have_value("openai")
    toggle(page, WITHDRAWN).uncheck()
    expect(card.locator(".curation-warnings li[data-kind='hidden']")).to_be_visible()
    assert WITHDRAWN not in {m["id"] for m in server.api(
        "GET", "/api/config/models?provider=openai")[1]["models"]}
    expect(page.locator(".synced-warnings")).to_contain_text("which is hidden: chat refuses it")

    # Offline: the purposes, aliases and warnings come from the cache, read-only.
    extension.browsing.expect_unreachable()
    server.stop()
    sync_now(page)
    expect(page.locator("#connection-badge")).to_have_text("Offline · read-only")
    expect(card.locator('tr[data-purpose="title"] .resolved')).to_have_text(
        "openai/gpt-4o-mini (alias fast)")
    expect(card.locator('tr[data-alias="fast"]')).to_contain_text("openai/gpt-4o-mini")
    expect(card.locator(".curation-warnings li[data-kind='withdrawn']")).to_contain_text(
        "stopped listing")
    expect(card.get_by_role("button", name="Save alias")).to_be_disabled()
    expect(card.locator(".visibility")).to_be_hidden()
    extension.browsing.screenshot("extension-curation-offline")


DAYS_FROM = """async ({ date, now }) => {
    const { daysFrom } = await import("/assets/js/curation-section.js");
    return daysFrom(date, Date.parse(now));
}"""


# (a date, now, what the page shows)
DAYS_CASES = [
    ("2026-12-02", "2026-12-02T00:00:00Z", "today"),
    ("2026-12-02", "2026-12-02T23:59:59Z", "today"),  # the afternoon was "1 days ago"
    ("2026-12-01", "2026-12-02T00:00:01Z", "1 day ago"),
    ("2026-12-03", "2026-12-02T18:00:00Z", "in 1 day"),
    ("2027-01-14", "2026-12-02T13:00:00Z", "in 43 days"),
    ("2026-11-20", "2026-12-02T06:00:00Z", "12 days ago"),
    ("not-a-date", "2026-12-02T06:00:00Z", ""),
]


def test_a_warnings_date_is_counted_in_calendar_days(server: Server, browsing: Browsing):
    browsing.page.goto(server.url + "/settings")
    shown = [browsing.page.evaluate(DAYS_FROM, {"date": date, "now": now})
             for date, now, _ in DAYS_CASES]
    assert shown == [expected for _, _, expected in DAYS_CASES]
