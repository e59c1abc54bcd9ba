"""What the Chat page tests share: a server with a key for the provider stand-in, sending a
message, and screenshots at a desktop and a phone size."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.harness import Browsing, Server
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import KEYS, MODELS

# A worker imports litellm on its first chat (seconds, more on a loaded machine).
FIRST_ANSWER_MS = 90_000
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def key_and_model(server: Server, stub: ProviderStub, flavour: str = "openai") -> str:
    """An OpenAI key bound to the stand-in, and its model as the default; -> the model id."""
    status, _ = server.api("POST", "/api/config/api-keys", {
        "provider": flavour, "api_key": KEYS[flavour], "api_base": stub.base(flavour)})
    assert status == 201
    assert server.api("POST", f"/api/config/models/{MODELS[flavour]}/select")[0] == 200
    return MODELS[flavour]


def send(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.keyboard.press("Enter")


def screenshots(browsing: Browsing, name: str) -> None:
    """test-results/<name>-desktop.png (1280x800) and <name>-phone.png (390x844)."""
    page = browsing.page
    before = page.viewport_size
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)  # one layout pass
        browsing.screenshot(f"{name}-{size}")
    if before:
        page.set_viewport_size(before)
