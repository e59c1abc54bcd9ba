"""The Playground's pages mounted in a host app under /llm (tests/host_app), in Chromium:
their files, their API calls and their links follow the prefix, behind the host's login."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.harness import (
    ROOT,
    Browsing,
    Server,
    free_port,
    server_environment,
    wait_until_ready,
)
from tests.host_app import PREFIX

pytestmark = pytest.mark.e2e


@pytest.fixture
def host_server(tmp_path: Path, stopping_servers: list[Server]) -> Iterator[Server]:
    """The host app under gunicorn (the checkout's settings), on SQLite; `url` is the
    mount, http://127.0.0.1:<port>/llm."""
    port = free_port()
    env = server_environment(tmp_path / "data", port, {
        "HOST_DATABASE_URL": f"sqlite:///{tmp_path / 'host.db'}"})
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--no-control-socket", "tests.host_app.wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}{PREFIX}", tmp_path / "data", log_path, process)
    wait_until_ready(server)
    yield server
    server.stop(wait=False)
    stopping_servers.append(server)


def test_the_pages_work_under_the_hosts_prefix_after_the_hosts_login(
        host_server: Server, new_browsing) -> None:
    browsing: Browsing = new_browsing(token=None)
    page = browsing.page
    host_root = host_server.url.removesuffix(PREFIX)
    signed_in = page.request.post(host_root + "/login", data={"user": "admin"})
    assert signed_in.ok

    page.goto(host_server.url + "/settings")
    expect(page.locator(".model-count")).to_contain_text("models")
    expect(page.locator(".key-list")).to_contain_text("No keys stored yet")
    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("API key", exact=True).fill("sk-embedded-" + "e" * 20 + "Zq9W")
    page.get_by_role("button", name="Add key").click()
    expect(page.locator(".key-card").filter(has_text="sk-***Zq9W")).to_contain_text("OpenAI")

    page.get_by_role("link", name="Chat", exact=True).click()
    expect(page).to_have_url(host_server.url + "/")
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page).to_have_url(host_server.url + "/settings")
    expect(page.locator(".key-card").filter(has_text="sk-***Zq9W")).to_be_visible()
