"""The browser extension in Chromium against the real app under gunicorn: first run, sync
(200 and 304), writes through the backend, the read-only offline cache, and what the
extension keeps in its storage."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from scripts.build_extension import EXTENSION, copy_sources
from tests.e2e.harness import Extension, Server, load_extension
from tests.provider_stub import ProviderStub, closed_port_url

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
        page.get_by_label("API token or login link").fill(token)
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
        extension: Extension, shared_server: Callable[..., Server]):
    server = shared_server(listed(extension))
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
    expect(page.locator(".synced-usage")).to_contain_text("$0.000000 over 0 requests (20")
    expect(page.get_by_text("Changes are allowed")).to_be_visible()
    expect(page.locator(".model-count")).to_contain_text("models")
    extension.browsing.screenshot("extension-online")


def encrypted_keys(server: Server) -> list[str]:
    """The Fernet tokens the backend stored (read from its SQLite file)."""
    with sqlite3.connect(server.data_dir / "configapp.db") as database:
        return [row[0] for row in database.execute("SELECT encrypted_key FROM api_keys")]


def test_writes_through_the_extension_reach_the_backend_and_no_key_is_kept(
        extension: Extension, shared_server: Callable[..., Server], stub: ProviderStub):
    server = shared_server(listed(extension))
    plaintext = f"sk-ext-{secrets.token_hex(12)}Zq9W"
    page = open_settings(extension)
    connect(page, server)
    expect(page.locator(".key-list")).to_contain_text("No keys stored yet")

    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("Key name (optional)").fill("from the extension")
    page.get_by_label("API key", exact=True).fill(plaintext)
    page.get_by_label("Base URL (optional)").fill(stub.base("openai"))
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(
        "Added sk-***Zq9W for OpenAI: it is now the active key. The test passed.")
    status, keys = server.api("GET", "/api/config/api-keys")
    assert status == 200 and [key["masked_key"] for key in keys] == ["sk-***Zq9W"]
    # The write is followed by a sync: the cache has the new key, masked.
    expect(page.locator(".synced-keys")).to_have_text("OpenAI sk-***Zq9W")

    # Test it: the backend asks the provider (the stand-in) with the stored key.
    card = key_card(page, "sk-***Zq9W")
    card.get_by_role("button", name="Test connection").click()
    expect(card.locator(".test-result")).to_have_attribute("data-result", "valid")
    assert stub.last("/models").key == plaintext

    # And a model with its parameters, saved through the extension too.
    page.get_by_label("Search models").fill("claude-sonnet-4-5")
    page.locator(f'.model-list input[type=radio][value="{MODEL}"]').check()
    page.get_by_label("Temperature value").fill("0.5")
    page.get_by_role("button", name="Save as default model").click()
    page.get_by_role("button", name="Make it the default anyway").click()  # no Anthropic key
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "claude-sonnet-4-5 is the default model")
    assert server.api("GET", "/api/config/models/selected")[1]["parameters"][
        "temperature"] == 0.5
    expect(page.locator(".synced-model")).to_contain_text(f"{MODEL} (")
    extension.browsing.screenshot("extension-after-writes")

    stored = extension.storage()
    everything = json.dumps(stored) + page.evaluate(
        """() => [document.documentElement.outerHTML,
                  ...[...document.querySelectorAll("input")].map((field) => field.value)]
                 .join("\\n")""")
    assert plaintext not in everything
    assert plaintext[7:-4] not in everything
    fernet_tokens = encrypted_keys(server)
    assert len(fernet_tokens) == 1
    assert fernet_tokens[0] not in everything
    assert "gAAAAA" not in everything  # no Fernet token of any kind
    # What is kept, all in storage.local: the backend's address, the cache, the API token
    # (ADR 0006: the one place the extension keeps it; not in the cache) and the backend's
    # identity key (issue 25).
    assert set(stored["local"]) == {"configapp.backendUrl", "configapp.cache",
                                    "configapp.apiToken", "configapp.serverIdentity"}
    assert TOKEN not in json.dumps(stored["local"]["configapp.serverIdentity"])
    assert stored["local"]["configapp.apiToken"] == TOKEN
    assert stored["session"] == {}
    cache = stored["local"]["configapp.cache"]
    assert TOKEN not in json.dumps(cache)
    assert set(cache) == {"backendUrl", "etag", "snapshot", "syncedAt"}
    assert cache["snapshot"]["keys"]["openai"][0]["masked_key"] == "sk-***Zq9W"

    key_card(page, "sk-***Zq9W").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.locator(".key-card")).to_have_count(0)
    assert server.api("GET", "/api/config/api-keys") == (200, [])
    expect(page.locator(".synced-keys")).to_have_text("none")


def choose_in_the_playground(page: Page, server: Server, model_id: str) -> None:
    """The Playground's Settings page, in another browser: make model_id the default."""
    page.goto(server.url + "/settings")
    page.get_by_label("Search models").fill(model_id.split("/", 1)[1])
    page.locator(f'.model-list input[type=radio][value="{model_id}"]').check()
    page.get_by_role("button", name="Save as default model").click()
    page.get_by_role("button", name="Make it the default anyway").click()  # no key stored
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "is the default model")


def wait_for(condition: Callable[[], bool], page: Page, timeout_ms: int = 10_000) -> None:
    """Poll a condition outside the page (the server's log, the extension's storage)."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    assert condition()


def test_a_change_made_in_the_playground_shows_after_a_sync_and_no_change_costs_a_304(
        extension: Extension, shared_server: Callable[..., Server], new_browsing):
    server = shared_server(listed(extension))
    server.api("POST", f"/api/config/models/{MODEL}/select")
    page = open_settings(extension)
    connect(page, server)
    expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")

    choose_in_the_playground(new_browsing(token=TOKEN).page, server, OTHER_MODEL)
    sync_now(page)
    expect(sync_status(page)).to_contain_text("this copy holds the backend's current settings")
    expect(page.locator(".synced-model")).to_contain_text(OTHER_MODEL)
    expect(page.locator(".params h3")).to_have_text("gpt-4o-mini")
    expect(page.locator(".params .default-tag")).to_have_text("default")

    # Nothing changed since: the server answers 304, and counts it in its access log.
    before = count(SYNC_304, server)
    sync_now(page)
    expect(sync_status(page)).to_contain_text("Up to date, synced at")
    # (a word: the backend's address shows there, and its port may hold "304")
    expect(page.locator("#backend")).not_to_contain_text(re.compile(r"\b304\b"))
    expect(page.locator("#backend")).not_to_contain_text("Revision")
    wait_for(lambda: count(SYNC_304, server) > before, page)
    extension.browsing.screenshot("extension-synced-304")

    # The service worker's timer: a periodic alarm; when it fires, it syncs on its own.
    worker = extension.worker
    assert worker.evaluate("chrome.alarms.get('configapp-sync')")["periodInMinutes"] == 5
    page.goto("about:blank")  # no Settings page open: only the worker can sync now
    server.api("POST", f"/api/config/models/{MODEL}/select")
    answered = count(SYNC_200, server)
    worker.evaluate("chrome.alarms.create('configapp-sync', { when: Date.now() })")

    def cached_model() -> str:
        cache = worker.evaluate("chrome.storage.local.get('configapp.cache')")
        return cache["configapp.cache"]["snapshot"]["selected"]["model"]["id"]

    wait_for(lambda: cached_model() == MODEL, page)
    # gunicorn writes a request's access line after the answer went out, so the cache can
    # change first (CI saw 12 == 12 + 1): wait for the line, then see it was the only one.
    wait_for(lambda: count(SYNC_200, server) > answered, page)
    assert count(SYNC_200, server) == answered + 1
    wait_for(lambda: (worker.evaluate("chrome.alarms.get('configapp-sync')") or {})
             .get("periodInMinutes") == 5, page)  # the periodic alarm is back
    # The page shares that cache: opened again, its sync is a 304, and it shows what the
    # worker fetched.
    before = count(SYNC_304, server)
    open_settings(extension)
    expect(sync_status(page)).to_contain_text("Up to date, synced at")
    expect(page.locator(".synced-model")).to_contain_text(MODEL)
    expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")
    wait_for(lambda: count(SYNC_304, server) > before, page)


def test_offline_the_cached_settings_are_read_only_and_writes_come_back_with_the_backend(
        extension: Extension, make_server: Callable[..., Server]):
    server = make_server(listed(extension, token=None))
    server.api("POST", "/api/config/api-keys", {"provider": "gemini", "key_name": "mine",
                                                "api_key": "AIza-offline-00004321"})
    server.api("POST", f"/api/config/models/{MODEL}/select")
    server.api("PUT", f"/api/config/models/{MODEL}/parameters", {"max_tokens": 1024})
    page = open_settings(extension)
    connect(page, server, token=server.token)
    expect(key_card(page, "AIza***4321")).to_be_visible()
    expect(page.locator(".model-count")).to_contain_text("models")  # the catalogue is drawn
    synced_at = page.locator(".last-sync time").get_attribute("datetime")

    extension.browsing.expect_unreachable()
    server.stop()
    sync_now(page)

    def shows_the_cache_read_only() -> None:
        expect(page.locator("#connection-badge")).to_have_text("Offline · read-only")
        banner = page.locator(".banner-readonly")
        expect(banner).to_contain_text(f"Read-only. Offline: cannot reach {server.url}. "
                                       "Showing the settings synced at ")
        expect(banner).to_contain_text("changes are disabled until the backend answers again")
        expect(page.locator(".last-sync time")).to_have_attribute("datetime", synced_at)
        card = key_card(page, "AIza***4321")
        expect(card).to_contain_text("mine")
        expect(card.locator("dd").nth(1)).to_have_text("unknown")  # last use: not cached
        expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")
        expect(page.get_by_label("Max tokens value")).to_have_value("1024")
        expect(page.get_by_text("only the default model is shown")).to_be_visible()
        writes = page.locator("[data-write]")
        assert writes.count() > 5
        for index in range(writes.count()):
            expect(writes.nth(index)).to_be_disabled()

    shows_the_cache_read_only()
    extension.browsing.screenshot("extension-offline")
    # Opened while the backend is away: the same cached view.
    page.reload()
    shows_the_cache_read_only()

    server.restart()  # same port, same data folder
    sync_now(page)
    expect(page.locator("#connection-badge")).to_have_text("Online")
    expect(page.locator(".banner-readonly")).to_be_hidden()
    card = key_card(page, "AIza***4321")
    card.get_by_role("switch", name="Active").click()
    expect(key_card(page, "AIza***4321").get_by_role("status")).to_have_text("Inactive.")
    assert server.api("GET", "/api/config/api-keys")[1][0]["is_active"] is False
    expect(page.locator(".synced-keys")).to_have_text("Google (Gemini) AIza***4321 (inactive)")
    extension.browsing.screenshot("extension-back-online")


def kept(extension: Extension) -> dict:
    """chrome.storage.local, read by the service worker (no page of the extension open)."""
    return extension.worker.evaluate("() => chrome.storage.local.get(null)")


def alarm_now(extension: Extension) -> None:
    """What the 5-minute timer does, now: the service worker's alarm fires a sync."""
    extension.worker.evaluate(
        "() => chrome.alarms.create('configapp-sync', { when: Date.now() + 50 })")


def test_the_token_outlives_a_browser_restart_and_a_refusal_says_sign_in_again(
        extension: Extension, make_server: Callable[..., Server], playwright,
        extension_dir, tmp_path):
    server = make_server(listed(extension))
    server.api("POST", f"/api/config/models/{MODEL}/select")
    page = open_settings(extension)
    connect(page, server)  # the token, given once
    expect(page.locator(".params h3")).to_have_text("claude-sonnet-4-5")
    syncs = count(SYNC_200, server) + count(SYNC_304, server)

    # The browser closes and starts again on the same profile.
    extension.context.close()
    again = load_extension(playwright, extension_dir, tmp_path / "profile")
    try:
        assert kept(again)["configapp.apiToken"] == TOKEN
        alarm_now(again)  # the background sync, page closed: it still has the token
        wait_for(lambda: count(SYNC_200, server) + count(SYNC_304, server) > syncs,
                 again.page)
        assert "configapp.signInNeeded" not in kept(again)
        page = open_settings(again)
        expect(page.locator("#connection-badge")).to_have_text("Online")
        expect(page.get_by_role("dialog", name="API token")).to_be_hidden()

        # The token is changed on the server: the background's 401 is not silent.
        page.goto("about:blank")  # (no page's request is cut by the restart)
        server.env["CONFIGAPP_API_TOKEN"] = "e2e-rotated-token"
        server.restart()
        again.browsing.expect_status(401)
        alarm_now(again)
        wait_for(lambda: "configapp.signInNeeded" in kept(again), again.page)
        badge = again.worker.evaluate("() => chrome.action.getBadgeText({})")
        assert badge == "!"
        page = open_settings(again)
        dialog = page.get_by_role("dialog", name="API token")
        expect(dialog).to_contain_text("refused that token")
        page.keyboard.press("Escape")
        expect(page.locator(".banner-readonly")).to_contain_text("Sign in again")
        again.browsing.screenshot("extension-sign-in-again")
        sync_now(page)
        dialog.get_by_label("Token").fill(f"{server.url}/login#token=e2e-rotated-token")
        dialog.get_by_role("button", name="Use token").click()
        expect(page.locator("#connection-badge")).to_have_text("Online")
        wait_for(lambda: "configapp.signInNeeded" not in kept(again), page)
        assert kept(again)["configapp.apiToken"] == "e2e-rotated-token"
        assert again.worker.evaluate("() => chrome.action.getBadgeText({})") == ""
        assert again.browsing.unexpected() == []
    finally:
        again.context.close()


def test_writes_an_unlisted_extension_would_be_refused_are_not_offered_and_disconnect_forgets(
        extension: Extension, make_server: Callable[..., Server]):
    server = make_server()  # no CONFIGAPP_EXTENSION_ORIGINS
    extension.browsing.expect_status(403)
    page = open_settings(extension)
    connect(page, server, token=server.token)
    warning = page.locator("#backend .status").filter(has_text="will refuse changes")
    expect(warning).to_contain_text(f"add {extension.origin} to CONFIGAPP_EXTENSION_ORIGINS")
    # Known to be refused: the write controls are off, and the page says why.
    expect(page.get_by_role("button", name="Add key")).to_be_disabled()
    expect(page.locator(".banner-readonly")).to_contain_text(
        "refuses changes from this extension")
    assert server.api("GET", "/api/config/api-keys") == (200, [])
    extension.browsing.screenshot("extension-origin-not-listed")

    # Disconnect: the address, the token and the synced copy are forgotten.
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#backend .status").filter(has_text="Disconnected")).to_be_visible()
    expect(page.locator("#settings-root")).to_contain_text("once the backend is connected")
    stored = extension.worker.evaluate("chrome.storage.local.get(null)")
    assert not {"configapp.backendUrl", "configapp.apiToken", "configapp.cache"} & set(stored)
    page.reload()
    expect(page.locator("#settings-root")).to_contain_text("once the backend is connected")


def test_an_address_where_no_configapp_answers_is_named(extension: Extension,
                                                       stub: ProviderStub):
    page = open_settings(extension)
    extension.browsing.expect_unreachable()
    extension.browsing.expect_status(404)
    nobody = closed_port_url()
    page.get_by_label("Backend URL").fill(nobody)
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#backend .status").first).to_have_text(
        f"Cannot reach {nobody}. Is configapp running there?")

    page.get_by_label("Backend URL").fill(stub.url.removeprefix("http://") + "/")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#backend .status").first).to_have_text(
        f"{stub.url} answers (HTTP 404), but not as a configapp backend: check the address "
        "and port.")
    assert extension.storage()["local"] == {}  # nothing saved for an address that failed


def test_the_source_folder_loaded_before_a_build_says_what_to_run(playwright, tmp_path):
    """extension/ as it is in git (no vendor/): the page says to run `make extension`."""
    unbuilt = tmp_path / "unbuilt"
    copy_sources(EXTENSION, unbuilt)
    assert not (unbuilt / "vendor").exists()
    loaded = load_extension(playwright, unbuilt, tmp_path / "profile")
    try:
        page = loaded.page
        page.goto(loaded.url("settings.html"))
        note = page.get_by_role("alert")
        expect(note).to_contain_text("This extension is not built yet")
        expect(note).to_contain_text("make extension")
        loaded.browsing.screenshot("extension-unbuilt")
    finally:
        loaded.context.close()


def test_the_built_page_hides_the_build_note(extension: Extension):
    page = open_settings(extension)
    expect(page.get_by_label("Backend URL")).to_be_visible()
    expect(page.get_by_text("This extension is not built yet")).to_be_hidden()



OFFER_URL = """async ({ typing }) => {
    const { createBackendPanel } = await import("./js/backend-panel.js");
    const panel = createBackendPanel({ initialUrl: "http://127.0.0.1:8000", onConnect() {},
                                       onSyncNow() {}, onDisconnect() {} });
    document.body.append(panel.node);
    const input = panel.node.querySelector("input[name=backend_url]");
    if (typing) {
        input.focus();
        input.select();
    }
    panel.offerUrl("http://127.0.0.1:5000");
    const value = input.value;
    panel.node.remove();
    return value;
}"""


def test_the_saved_address_does_not_overwrite_one_being_typed(extension: Extension):
    """The saved connection loads after the form shows: it fills the field only if the user
    has not begun typing (a focused field once got the saved address joined to the text)."""
    page = open_settings(extension)
    expect(page.get_by_label("Backend URL")).to_have_value("http://127.0.0.1:8000")
    assert page.evaluate(OFFER_URL, {"typing": False}) == "http://127.0.0.1:5000"
    assert page.evaluate(OFFER_URL, {"typing": True}) == "http://127.0.0.1:8000"

class PortSquatter(BaseHTTPRequestHandler):
    """Another local program on configapp's port while configapp is down: it answers
    /healthz and /identity as configapp would look to a naive client, and keeps every
    Authorization header it is sent."""

    seen: list[tuple[str, str]] = []

    def answer(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        body = {"/healthz": b'{"status": "ok"}'}.get(self.path.split("?")[0],
                                                      b'{"proof": "bm90LWEtcHJvb2Y"}')
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_OPTIONS = answer

    def log_message(self, *args) -> None:
        pass


def test_the_token_goes_only_to_the_configapp_the_extension_signed_in_to(
        extension: Extension, make_server: Callable[..., Server]):
    """Issue 25: while configapp is down, a program on its port gets the extension's
    syncs. Before the token is sent, the backend must answer a challenge with the identity
    key the extension learnt with the token: the squatter cannot, and gets no token."""
    server = make_server(listed(extension))
    page = open_settings(extension)
    connect(page, server)
    assert kept(extension)["configapp.serverIdentity"]["backendUrl"] == server.url
    page.goto("about:blank")
    server.stop()
    squatter = ThreadingHTTPServer(("127.0.0.1", urlsplit(server.url).port), PortSquatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        alarm_now(extension)  # the background sync
        wait_for(lambda: any(path.startswith(("/identity?", "/api/"))
                             for path, _ in PortSquatter.seen), extension.page)
        assert [path for path, sent in PortSquatter.seen if sent] == []  # no token
        page = open_settings(extension)
        expect(page.locator(".banner-readonly")).to_contain_text(
            "did not prove it is the configapp this extension signed in to")
        assert kept(extension).get("configapp.signInNeeded") is None
    finally:
        squatter.shutdown()
        squatter.server_close()
    assert [path for path, sent in PortSquatter.seen if sent] == []  # no token, ever
    server.restart()
    sync_now(page)
    expect(page.locator("#connection-badge")).to_have_text("Online")
