"""The model list's ranking, in Chromium: the default and the models with a key first, then
exact id, prefix and word matches, with fine-tunes and dated snapshots after their base."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.chat_support import key_and_model
from tests.e2e.harness import Browsing, Server
from tests.provider_stub import ProviderStub

pytestmark = pytest.mark.e2e

RANK = """async ({ models, options }) => {
    const { indexModels, filterModels } = await import("/assets/js/model-index.js");
    const make = (id) => ({ id, provider: id.split("/")[0], display_name: id.split("/")[1] });
    const hasKey = (provider) => (options.keyed || []).includes(provider);
    return filterModels(indexModels(models.map(make)), { ...options, hasKey })
        .map((model) => model.id);
}"""
MODELS = ["openai/chat-latest", "openai/computer-use-preview", "openai/ft:gpt-4o-mini:org::x1",
          "openai/gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini", "openai/gpt-4o",
          "anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini-tts", "mistral/gpt-4o-mini-clone"]


def test_models_rank_by_default_key_and_relevance_with_variants_after_their_base(
        server: Server, browsing: Browsing):
    page = browsing.page
    page.goto(server.url + "/settings")

    def rank(**options):
        return page.evaluate(RANK, {"models": MODELS, "options": options})

    assert rank(query="4o mini", keyed=["openai"]) == [
        "openai/gpt-4o-mini", "openai/gpt-4o-mini-tts", "openai/ft:gpt-4o-mini:org::x1",
        "openai/gpt-4o-mini-2024-07-18", "mistral/gpt-4o-mini-clone"]
    assert rank(query="gpt-4o", keyed=["openai", "mistral"])[:2] == [
        "openai/gpt-4o", "openai/gpt-4o-mini"]
    opening = rank(defaultId="anthropic/claude-sonnet-4-5", keyed=["openai"])
    assert opening[:3] == ["anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini", "openai/gpt-4o"]
    assert opening.index("openai/chat-latest") > opening.index("openai/gpt-4o-mini-tts")
    assert opening[-1] == "mistral/gpt-4o-mini-clone"  # no key for Mistral


def test_the_settings_list_opens_on_the_default_model(server: Server, browsing: Browsing,
                                                      stub: ProviderStub):
    key_and_model(server, stub)
    page = browsing.page
    page.goto(server.url + "/settings")
    first = page.locator(".model-row").first
    expect(first.locator(".model-id")).to_have_text("openai/gpt-4o-mini")
    expect(first.locator(".default-tag")).to_have_text("default")
    ids = page.locator(".model-row .model-id").all_inner_texts()
    assert all(i.startswith("openai/") for i in ids[:20])  # the keyed provider's next
    assert ids.index("openai/gpt-4o-mini") < min(
        (ids.index(i) for i in ids if i.startswith("openai/ft:")), default=len(ids))
