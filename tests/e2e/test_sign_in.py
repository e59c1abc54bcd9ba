"""Signing in to the Playground in Chromium (issue 12): a first visit says how, the login
link the start printed signs the browser in for every tab, and Sign out ends it. The
token is never in the page's storage, its cookies, its address bar or its tab's history.
The session cookie reaches a page on another port (cookies ignore ports) and opens nothing
there: the session's secret stays in configapp's origin (issue 25)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import Browsing, Server
from tests.e2e.test_playground_providers import FIRST_ANSWER_MS, add_key_in_settings, send
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import MODELS

pytestmark = pytest.mark.e2e


def token_is_nowhere_in(browsing: Browsing, page: Page, token: str) -> None:
    kept = page.evaluate("""() => JSON.stringify([Object.entries(localStorage),
        Object.entries(sessionStorage), document.documentElement.outerHTML, location.href])""")
    assert token not in kept
    assert all(token not in cookie["value"] for cookie in browsing.context.cookies())
    entries = browsing.context.new_cdp_session(page).send("Page.getNavigationHistory")
    assert all("token=" not in entry["url"] for entry in entries["entries"]), entries


class Squatter(BaseHTTPRequestHandler):
    """Another local program's web page, on another port of 127.0.0.1: it keeps the
    cookies the browser sends it."""

    received: list[str] = []

    def do_GET(self) -> None:
        self.received.append(self.headers.get("Cookie", ""))
        body = b"<!doctype html><title>another port</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def replay_on_another_port(browsing: Browsing, server: Server) -> None:
    """What a page on another port receives, replayed (like curl): refused."""
    squatter = ThreadingHTTPServer(("127.0.0.1", 0), Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        tab = browsing.context.new_page()
        tab.goto(f"http://127.0.0.1:{squatter.server_port}/")
        assert tab.evaluate("() => localStorage.length") == 0  # not configapp's storage
        tab.close()
    finally:
        squatter.shutdown()
        squatter.server_close()
    (cookies,) = Squatter.received[-1:]
    assert "configapp_session_" in cookies  # the browser did hand it over
    request = urllib.request.Request(server.url + "/api/config/api-keys",
                                     headers={"Cookie": cookies})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_a_first_visit_says_how_to_sign_in_and_the_login_link_signs_in_every_tab(
        make_server, new_browsing, stub: ProviderStub):
    server: Server = make_server({"CONFIGAPP_AUTH": "on", "CONFIGAPP_PROVIDER_TIMEOUT": "5"})
    assert server.login_link is not None
    browsing = new_browsing(token=None)  # a browser with no credentials
    page = browsing.page

    page.goto(server.url + "/settings")
    expect(page).to_have_url(f"{server.url}/login?next=/settings")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("main")).to_contain_text("flask --app wsgi config token")
    expect(page.locator("main")).to_contain_text("login link")
    browsing.screenshot("sign-in")

    # A wrong token pasted: refused, with what to do.
    browsing.expect_status(401)
    page.get_by_label("Login link or API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-status")).to_contain_text("config token")

    page.goto(server.login_link)
    expect(page).to_have_url(server.url + "/")  # the token left the address bar
    expect(page.locator(".model-bar")).to_be_visible()
    (cookie,) = browsing.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    token_is_nowhere_in(browsing, page, server.token)
    replay_on_another_port(browsing, server)

    # Another tab: Settings and Chat work without asking.
    tab = browsing.context.new_page()
    tab.on("console", browsing.on_console)
    add_key_in_settings(tab, server, stub)
    assert server.api("POST", f"/api/config/models/{MODELS['openai']}/select")[0] == 200
    tab.goto(server.url + "/")
    expect(tab.locator(".model-bar")).to_contain_text("gpt-4o-mini")
    send(tab, "Hi there")
    expect(tab.locator(".message-assistant").last.locator(".bubble-text")).to_have_text(
        "Hello from the openai stand-in. You said: Hi there", timeout=3 * FIRST_ANSWER_MS)
    expect(tab.get_by_role("dialog", name="API token")).to_be_hidden()
    token_is_nowhere_in(browsing, tab, server.token)

    # Sign out: the sign-in page, and the pages send the browser back there.
    tab.get_by_role("button", name="Sign out").click()
    expect(tab).to_have_url(server.url + "/login?signed_out=1")
    expect(tab.get_by_role("status").filter(has_text="signed out")).to_have_text(
        "You are signed out.")
    # The login link's example is this server's own address, not a fixed port.
    expect(tab.locator("#login-example")).to_have_text(server.url + "/login#token=…")
    assert browsing.context.cookies() == []
    tab.goto(server.url + "/settings")
    expect(tab).to_have_url(f"{server.url}/login?next=/settings")
    expect(tab.get_by_role("status").filter(has_text="signed out")).to_be_visible()
    page.reload()
    expect(page).to_have_url(f"{server.url}/login?next=/")


def test_a_session_that_ends_while_a_page_is_open_asks_to_sign_in_again(
        make_server, new_browsing):
    server: Server = make_server({"CONFIGAPP_AUTH": "on"})
    browsing = new_browsing(token=None)
    page = browsing.page
    page.goto(server.login_link)
    expect(page.locator(".model-bar")).to_be_visible()
    page.goto(server.url + "/settings")
    expect(page.locator(".model-count")).to_contain_text("models")
    # Every load of the page answered first: one still in flight when the cookie goes
    # would open the token dialog before the click it is meant to answer.
    page.wait_for_load_state("networkidle")

    browsing.context.clear_cookies()  # signed out elsewhere, or expired
    browsing.expect_status(401)
    page.get_by_label("Search models").fill("gpt-4o-mini")
    page.locator('.model-list input[type=radio][value="openai/gpt-4o-mini"]').check()
    page.get_by_role("button", name="Save as default model").click()
    page.get_by_role("button", name="Make it the default anyway").click()  # no key stored
    dialog = page.get_by_role("dialog", name="API token")
    expect(dialog).to_contain_text("Your session has ended")
    dialog.get_by_label("Token").fill(server.login_link)  # a pasted link is taken too
    dialog.get_by_role("button", name="Use token").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "is the default model")
    token_is_nowhere_in(browsing, page, server.token)
