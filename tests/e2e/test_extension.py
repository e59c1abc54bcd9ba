"""The browser extension in Chromium against the real app under gunicorn: first run, sync
(200 and 304), writes through the backend, the read-only offline cache, and what the
extension keeps in its storage."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import Extension, Server

pytestmark = pytest.mark.e2e

TOKEN = "e2e-extension-token"
MODEL = "anthropic/claude-sonnet-4-5"
OTHER_MODEL = "openai/gpt-4o-mini"
SYNC_304 = re.compile(r'"GET /api/config/sync HTTP/1\.1" 304 ')
SYNC_200 = re.compile(r'"GET /api/config/sync HTTP/1\.1" 200 ')


def listed(extension: Extension, token: str | None = TOKEN) -> dict[str, str]:
    """The backend's settings that let this extension write (and need a token)."""
    env = {"CONFIGAPP_EXTENSION_ORIGINS": extension.origin}
    if token:
        env["CONFIGAPP_API_TOKEN"] = token
    return env


def open_settings(extension: Extension) -> Page:
    page = extension.page
    page.goto(extension.url("settings.html"))
    return page


def connect(page: Page, server: Server, token: str | None = TOKEN) -> None:
    """First run: the backend's address and token in the Backend card, then Connect."""
    page.get_by_label("Backend URL").fill(server.url)
    if token:
        page.get_by_label("API token (if the server has one)").fill(token)
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#backend").get_by_role("status").first).to_have_text(
        f"Connected to the configapp backend at {server.url}.")


def sync_now(page: Page) -> None:
    page.get_by_role("button", name="Sync now").click()


def sync_status(page: Page):
    return page.locator(".sync-part .status")


def key_card(page: Page, masked: str):
    return page.locator(".key-card").filter(has_text=masked)


def count(pattern: re.Pattern[str], server: Server) -> int:
    return len(pattern.findall(server.log()))


def test_first_run_connects_and_shows_the_synced_keys_and_model(
        extension: Extension, make_server: Callable[..., Server]):
    server = make_server(listed(extension))
    server.api("POST", "/api/config/api-keys", {"provider": "openai", "key_name": "team",
                                                "api_key": "sk-first-run-000000Ab12"})
    server.api("POST", f"/api/config/models/{MODEL}/select")
    server.api("PUT", f"/api/config/models/{MODEL}/parameters", {"temperature": 0.3})

    page = open_settings(extension)
    expect(page.get_by_label("Backend URL")).to_have_value("http://127.0.0.1:8000")
    expect(page.locator("#backend .status").first).to_contain_text("First, tell the extension")
    expect(page.locator("#settings-root")).to_contain_text("once the backend is connected")
    extension.browsing.screenshot("extension-first-run")

    connect(page, server)
    expect(page.locator("#connection-badge")).to_have_text("Online")
    expect(key_card(page, "sk-***Ab12")).to_contain_text("team")
    expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")
    expect(page.get_by_label("Temperature value")).to_have_value("0.3")
    expect(page.locator(".synced-model")).to_have_text(f"{MODEL} (temperature 0.3)")
    expect(page.locator(".synced-keys")).to_have_text("OpenAI sk-***Ab12")
    expect(page.get_by_text("Changes are allowed")).to_be_visible()
    expect(page.locator(".model-count")).to_contain_text("models")
    extension.browsing.screenshot("extension-online")
