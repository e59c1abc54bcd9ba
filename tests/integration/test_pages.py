"""The Playground's pages and files: served with the strict CSP, and written to keep it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from configapp.web.pages import PLAYGROUND_DIR

JS_DIR = PLAYGROUND_DIR / "js"
PAGE_ENTRY_POINTS = {"chat-page.js", "settings-page.js", "playground-client.js",
                     "token-dialog.js"}


@pytest.fixture
def backend() -> str:
    """Serving files does not depend on the database: SQLite is enough."""
    return "sqlite"


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would refuse: inline scripts, style, event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        self.problems += [f"{name} handler on <{tag}>" for name in names if name.startswith("on")]
        self.problems += [f"javascript: URL on <{tag}>" for _, value in attrs
                          if value and value.strip().lower().startswith("javascript:")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline <script> content")


def code_of(path: Path) -> str:
    """A module's source without its comments (whole-line and block comments)."""
    source = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)
    return "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith("//"))


def imports_of(path: Path) -> set[str]:
    return set(re.findall(r'from\s+"\./([\w-]+\.js)"', path.read_text()))


def import_closure(entry: str) -> set[str]:
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += imports_of(JS_DIR / name)
    return seen


@pytest.mark.parametrize(("path", "marker"), [("/", b"chat-page.js"),
                                              ("/settings", b"settings-page.js")])
def test_pages_are_served_with_a_strict_content_security_policy(client, path, marker):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert marker in response.data
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["Cache-Control"] == "no-cache"


def test_modules_and_styles_are_served_with_their_types(client):
    script = client.get("/assets/js/settings-ui.js")
    assert script.status_code == 200
    assert script.mimetype in ("text/javascript", "application/javascript")
    assert client.get("/assets/css/app.css").mimetype == "text/css"
    assert client.get("/assets/img/favicon.svg").mimetype == "image/svg+xml"
    etag = script.headers["ETag"]
    assert client.get("/assets/js/settings-ui.js",
                      headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("path", ["/assets/index.html", "/assets/js/missing.js",
                                  "/assets/../configapp/settings.py",
                                  "/assets/js/../../configapp/settings.py"])
def test_only_the_asset_folders_are_served(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("page", sorted(PLAYGROUND_DIR.glob("*.html")), ids=lambda p: p.name)
def test_pages_hold_no_inline_script_or_style(page):
    finder = InlineCodeFinder()
    finder.feed(page.read_text())
    assert finder.problems == []


@pytest.mark.parametrize("module", sorted(JS_DIR.glob("*.js")), ids=lambda p: p.name)
def test_modules_never_write_html_or_evaluate_strings(module):
    source = code_of(module)
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                      "eval(", "new Function", ".style."):
        assert forbidden not in source, f"{module.name} uses {forbidden}"


def test_the_settings_ui_knows_nothing_of_the_page_it_runs_in():
    """The extension ships a copy of settings-ui.js and its imports: they must take the
    backend's address, the token and the client from their caller."""
    closure = import_closure("settings-ui.js")
    assert closure.isdisjoint(PAGE_ENTRY_POINTS | {"api-client.js"})
    for name in closure:
        source = code_of(JS_DIR / name)
        for page_bound in ("location", "sessionStorage", "localStorage", "fetch(", "window.",
                           "chrome.", "getElementById", "/api/", "127.0.0.1"):
            assert page_bound not in source, f"{name} mentions {page_bound}"
