"""End-to-end fixtures, shared by every browser test (the Playground's, the extension's).

`server` is the real app under gunicorn with default settings, and `shared_server(env)` one
with the environment a test gives it: both are shared with the other tests of the session
that ask for the same environment, and put back after each test as they were just after
their start (tests/e2e/shared_servers.py: every table's rows, the sync revision moved on;
a server stopped, restarted or re-configured by its test is replaced). `make_server(env)`
starts a fresh one of the test's own, for what a shared one cannot show: a first start (the
login link, a fresh data folder), a backend that stops or restarts, the whole log.
`playwright` and `browser` are one Playwright and one headless Debian Chromium for the whole
session; `browsing` is a fresh browser context whose console errors, page errors and CSP
violations fail the test. `extension` is another Chromium, with the unpacked extension
(built by `make extension`'s own code) loaded into a fresh profile, watched the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from scripts.build_extension import build as build_extension
from tests.conftest import TEST_API_TOKEN
from tests.e2e.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Browsing,
    Extension,
    Server,
    load_extension,
    open_browsing,
)


@pytest.fixture
def server(shared_server: Callable[..., Server]) -> Server:
    """The app with default settings, SQLite and a generated key in a temporary folder:
    shared with the other tests that take it, its data put back after each."""
    return shared_server()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_browsing(browser: Browser) -> Iterator[Callable[..., Browsing]]:
    """new_browsing() -> a fresh context (a new browser session) and page, sending the
    suite's API token; new_browsing(token=None) -> one with no credentials. After the test,
    any problem any of them reported fails it."""
    opened: list[Browsing] = []

    def open_one(token: str | None = TEST_API_TOKEN) -> Browsing:
        opened.append(open_browsing(browser, token))
        return opened[-1]

    yield open_one
    problems = [problem for browsing in opened for problem in browsing.unexpected()]
    for browsing in opened:
        browsing.context.close()
    assert problems == [], "the pages reported problems"


@pytest.fixture
def browsing(new_browsing: Callable[..., Browsing]) -> Browsing:
    """A fresh context and page, watched for console errors and CSP violations."""
    return new_browsing()


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked extension, built as `make extension` builds it, in a folder of its own
    (so that no manual build step is needed, and extension/vendor/ is left alone)."""
    return build_extension(tmp_path_factory.mktemp("extension") / "configapp-extension")


@pytest.fixture
def extension(playwright: Playwright, extension_dir: Path,
              tmp_path: Path) -> Iterator[Extension]:
    """Chromium with the extension in a fresh profile; any problem its pages report fails
    the test."""
    loaded = load_extension(playwright, extension_dir, tmp_path / "profile")
    yield loaded
    problems = loaded.browsing.unexpected()
    loaded.context.close()
    assert problems == [], "the extension's pages reported problems"
