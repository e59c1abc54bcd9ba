"""The end-to-end harness: the app under gunicorn on a free port, and watched pages.

`start_server` runs the real app in a subprocess with its own data folder and a clean
environment; `Browsing` is a browser context whose console errors, page errors and CSP
violations are collected; `load_extension` is Chromium with the unpacked extension
loaded. The fixtures in conftest.py build on these; tests import the types from here.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Worker,
)

from configapp.domain import PROVIDER_ENV_VARS
from configapp.providers.offline import OFFLINE_ENV
from configapp.settings import Settings
from tests import served_answers
from tests.conftest import TEST_API_TOKEN
from tests.head_templates import copy_sqlite_at_head
from tests.network_guard import served_environment
from tests.secret_watch import WATCH

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "test-results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
START_TIMEOUT_S = 30
# Beside the log: a `+` for each request the app got, a `-` for each it finished.
REQUESTS_FILE = "served-requests.count"
# The line a first start prints (configapp/__init__.py: announce_token).
LOGIN_LINK = re.compile(r"http://[^\s/]+/login#token=([A-Za-z0-9_-]+)")
NETWORK_ERROR = re.compile(r"Failed to load resource: the server responded with a status of "
                           r"(\d+)")
# Reports CSP violations from every page of a context, across navigations.
UNREACHABLE = re.compile(r"Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET)")
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


def free_port() -> int:
    """A port nobody listens on, below the kernel's ephemeral range: a server is restarted
    on its port (the backend coming back), and an outgoing connection (of another pytest
    worker) could take a port of that range in between."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = PORTS.randint(max(1024, low - 12000), low - 1)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port below {low}")


PORTS = random.Random()  # its own: hypothesis seeds the global one


@dataclass
class Server:
    """A running gunicorn on `wsgi:app` (behind the recorder), its address, its data."""

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen
    token: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    login_link: str | None = None  # printed by a first start that made the token

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requests_in_flight(self) -> int:
        """Requests the app got and has not finished (tests/served_answers.py counts them)."""
        try:
            marks = self.log_path.with_name(REQUESTS_FILE).read_bytes()
        except FileNotFoundError:
            return 0
        return marks.count(b"+") - marks.count(b"-")

    def api(self, method: str, path: str, body: Any = None,
            token: str | None = None) -> tuple[int, Any]:
        """Call the API directly (as a second client would): (status, parsed JSON or None)."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        token = token or self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def stop(self, wait: bool = True) -> None:
        """Quick shutdown (SIGINT: nothing here needs a graceful one); gunicorn takes about
        a second to exit, so a test's teardown may leave the waiting to `reap`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        if wait:
            self.reap()

    def reap(self) -> None:
        """Wait for the exit; past 10 s, kill the master and its workers (a worker left
        behind would keep the port, and a restart could not bind it)."""
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same data folder and settings
        (the log goes on in the same file): the backend coming back."""
        self.stop()
        self.process = spawn_gunicorn(self.env, self.log_path, append=True)
        wait_until_ready(self)
        watch_token(self.env.get("CONFIGAPP_API_TOKEN"))


def server_environment(data_dir: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment without configapp's settings or any provider key, so that
    the machine running the tests cannot leak into them; then this test's settings. Unless
    the test sets CONFIGAPP_API_TOKEN or CONFIGAPP_AUTH itself, the server's token is the
    suite's TEST_API_TOKEN, which `Server.api` and the browsing contexts send. The offline
    switches are left out (the server must set them itself), and its proxies are the network
    guard's recorder, which must see nothing."""
    provider_vars = {name for names in PROVIDER_ENV_VARS.values() for name in names}
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CONFIGAPP_") and name != "ENCRYPTION_KEY"
           and name not in provider_vars and name not in OFFLINE_ENV}
    env.update({
        "CONFIGAPP_DATA_DIR": str(data_dir),
        "CONFIGAPP_BIND": f"127.0.0.1:{port}",
        "CONFIGAPP_WORKERS": "2",
        "CONFIGAPP_ENV_FILE": str(data_dir.parent / "absent.env"),
        "CONFIGAPP_CONFIG_FILE": str(data_dir.parent / "absent.yaml"),
        "PYTHONUNBUFFERED": "1",
        # A library in the server that reaches out goes to the recorder (tests/network_guard.py).
        **served_environment(),
    })
    if "CONFIGAPP_API_TOKEN" not in extra and "CONFIGAPP_AUTH" not in extra:
        env["CONFIGAPP_API_TOKEN"] = TEST_API_TOKEN
    env.update(extra)
    return env


def wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    server.stop()
    pytest.fail(f"gunicorn did not answer within {START_TIMEOUT_S} s:\n{server.log()}")


def spawn_gunicorn(env: dict[str, str], log_path: Path, append: bool = False,
                   options: tuple[str, ...] = ()) -> subprocess.Popen:
    """gunicorn on the app behind the recording middleware (tests/served_answers.py): the
    secret watch reads every answer it sends, and learns every key it receives. `options`:
    more of gunicorn's command line (an operator's own `-c` config, say)."""
    answers = log_path.with_name("served-answers.log")
    sent_keys = log_path.with_name("served-keys.jsonl")
    WATCH.watch_server(answers, sent_keys)
    env = {served_answers.ANSWERS: str(answers), served_answers.SENT_KEYS: str(sent_keys),
           served_answers.REQUESTS: str(log_path.with_name(REQUESTS_FILE)), **env}
    with log_path.open("ab" if append else "wb") as log:
        return subprocess.Popen(
            # No control socket: gunicorn's default one is shared by every instance of
            # the user ($HOME/.gunicorn/gunicorn.ctl), and tests run several at once.
            [sys.executable, "-m", "gunicorn", "--no-control-socket", *options,
             "tests.served_answers:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group, for `reap`


def start_fresh(folder: Path, env: dict[str, str] | None = None) -> Server:
    """`start_server` on a fresh SQLite data folder whose schema is copied at head rather
    than migrated by the start (tests/head_templates.py); everything else is the first
    start's. A test that gives its own data folder or database gets the app's own start."""
    if not {"CONFIGAPP_DATA_DIR", "CONFIGAPP_DATABASE_URL"} & set(env or {}):
        copy_sqlite_at_head(Settings(data_dir=folder / "data"))
    return start_server(folder, env)


def start_server(folder: Path, env: dict[str, str] | None = None) -> Server:
    """`gunicorn wsgi:app` with its data in `folder`, on a free port, answering /healthz."""
    data_dir = folder / "data"
    port = free_port()
    log_path = folder / "gunicorn.log"
    full_env = server_environment(data_dir, port, env or {})
    server = Server(f"http://127.0.0.1:{port}", data_dir, log_path,
                    spawn_gunicorn(full_env, log_path),
                    full_env.get("CONFIGAPP_API_TOKEN") or None, full_env)
    wait_until_ready(server)
    if server.token is None:
        learn_login_link(server)
    watch_token(full_env.get("CONFIGAPP_API_TOKEN"))
    return server


def watch_token(token: str | None) -> None:
    """The secret watch looks for a server's API token in every log and file."""
    from tests.secret_watch import WATCH

    if token:
        WATCH.add(token, "a server's API token", api_token=True)


def learn_login_link(server: Server) -> None:
    """The token a first start made, from the link it printed: `Server.api` sends it, and
    the secret watch looks for it everywhere but that line."""
    found = LOGIN_LINK.search(server.log())
    if found:
        from tests.secret_watch import WATCH

        server.login_link = found.group(0)
        server.token = found.group(1)
        WATCH.add(server.token, "the API token made at a first start", api_token=True)


@dataclass
class Browsing:
    """A browser context with one page, and what went wrong in it.

    Console errors, uncaught page errors and CSP violations are problems. A console line
    for an HTTP error answer is a problem too, unless the test said it expects that
    status (`expect_status(401)`): Chromium logs every 4xx of a fetch as an error; and so
    is one for a server that cannot be reached, unless the test expects it
    (`expect_unreachable()`).
    """

    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)
    unreachable_expected: bool = False

    def expect_status(self, *statuses: int) -> None:
        self.expected_statuses.update(statuses)

    def expect_unreachable(self) -> None:
        self.unreachable_expected = True

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        network = NETWORK_ERROR.search(message.text)
        if network and int(network.group(1)) in self.expected_statuses:
            return
        if self.unreachable_expected and UNREACHABLE.search(message.text):
            return
        self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def unexpected(self) -> list[str]:
        return list(self.problems)

    def assert_clean(self) -> None:
        assert self.unexpected() == []

    def screenshot(self, name: str) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def open_browsing(browser: Browser, token: str | None = TEST_API_TOKEN) -> Browsing:
    """A new context; every request it makes carries `Authorization: Bearer <token>` (by
    default the suite's token, which servers of the harness have unless a test says
    otherwise), so that pages work without signing in. token=None: a browser with no
    credentials, as a user's is at first."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return watch(browser.new_context(viewport={"width": 1280, "height": 900},
                                     extra_http_headers=headers))


def watch(context: BrowserContext, page: Page | None = None) -> Browsing:
    """A Browsing of `context` (a new page in it unless one is given): its CSP violations,
    console errors and page errors are collected."""
    context.set_default_timeout(10_000)
    context.expose_function("__cspViolation",
                            lambda text: browsing.problems.append(f"CSP violation: {text}"))
    context.add_init_script(CSP_LISTENER)
    browsing = Browsing(context, page or context.new_page())
    browsing.page.on("console", browsing.on_console)
    browsing.page.on("pageerror", lambda error: browsing.problems.append(f"page error: {error}"))
    return browsing


@dataclass
class Extension:
    """The unpacked extension loaded in its own Chromium profile (a persistent context)."""

    id: str
    browsing: Browsing

    @property
    def context(self) -> BrowserContext:
        return self.browsing.context

    @property
    def page(self) -> Page:
        return self.browsing.page

    @property
    def origin(self) -> str:
        return f"chrome-extension://{self.id}"

    def url(self, path: str) -> str:
        return f"{self.origin}/{path}"

    @property
    def worker(self) -> Worker:
        return next(worker for worker in self.context.service_workers
                    if worker.url.startswith(self.origin))

    def storage(self) -> dict[str, Any]:
        """Everything the extension keeps: chrome.storage.local and .session, read through
        one of its pages."""
        return self.page.evaluate("""async () => ({
            local: await chrome.storage.local.get(null),
            session: await chrome.storage.session.get(null),
        })""")


def load_extension(playwright: Playwright, folder: Path, profile: Path) -> Extension:
    """Debian's Chromium, headless, with the unpacked extension in `folder` loaded into a
    fresh profile; its id is the host of its service worker's URL."""
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True,
        viewport={"width": 1280, "height": 900},
        args=[*CHROMIUM_ARGS, f"--disable-extensions-except={folder}",
              f"--load-extension={folder}"])
    worker = (context.service_workers[0] if context.service_workers
              else context.wait_for_event("serviceworker"))
    extension_id = worker.url.split("/")[2]
    page = context.pages[0] if context.pages else context.new_page()
    return Extension(extension_id, watch(context, page))
