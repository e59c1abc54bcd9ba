"""Settings' "Usage and budgets" in Chromium against gunicorn: the month per provider and
per model, the chart drawn from the API's numbers, the 80% warning, and the budget form."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.harness import Browsing, Server
from tests.provider_stub.fixtures import KEYS, MODELS

pytestmark = pytest.mark.e2e

ROOM = 640 - 210 - 90  # the chart's width for bars (bar-chart.js)


def chat(server: Server, model: str) -> int:
    """A chat, waiting long enough for a worker's first import of litellm."""
    request = urllib.request.Request(server.url + "/api/chat", method="POST", data=json.dumps(
        {"model": model, "messages": [{"role": "user", "content": "Say hello"}]}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(request, timeout=90) as response:
        return response.status


def test_settings_shows_the_month_with_a_chart_and_warns_at_80_percent(
        server: Server, browsing: Browsing, stub):
    for flavour in ("openai", "anthropic"):
        assert server.api("POST", "/api/config/api-keys", {
            "provider": flavour, "api_key": KEYS[flavour],
            "api_base": stub.base(flavour)})[0] == 201
    for flavour in ("openai", "openai", "anthropic"):
        assert chat(server, MODELS[flavour]) == 200
    _, month = server.api("GET", "/api/config/usage?group_by=provider")
    costs = {group["group"]: group["cost"] for group in month["groups"]}
    openai_cost = costs["openai"]
    server.api("PUT", "/api/config/budgets/provider/openai",
               {"monthly_limit": openai_cost / 0.9})

    page = browsing.page
    page.goto(server.url + "/settings#settings-usage")
    section = page.locator("#settings-usage")
    expect(section.locator(".usage-summary")).to_contain_text("over 3 requests")
    expect(section.locator(".budget-warnings")).to_contain_text("Budget at 80%.")
    expect(section.locator(".budget-warnings")).to_contain_text("openai budget")
    chart = section.locator("#usage-by-provider svg.bar-chart")
    expect(chart).to_have_attribute("role", "img")
    labels = chart.locator(".bar-label").all_text_contents()
    assert labels == ["anthropic", "openai"]
    widths = [float(w) for w in chart.locator("rect.bar").evaluate_all(
        "bars => bars.map(bar => bar.getAttribute('width'))")]
    largest = max(costs.values())
    assert widths == pytest.approx([ROOM * costs["anthropic"] / largest,
                                    max(2, ROOM * costs["openai"] / largest)], abs=0.06)
    models = section.locator("#usage-by-model .bar-label").all_text_contents()
    assert sorted(models) == sorted({MODELS["openai"], MODELS["anthropic"]})
    expect(section.locator("#usage-by-model table")).to_contain_text("2")

    page.get_by_label("Budget for").select_option(label="Google (Gemini)")
    page.get_by_label("Monthly limit ($)").fill("12.5")
    page.get_by_role("button", name="Set budget").click()
    expect(section.locator(".budget-list")).to_contain_text("the gemini budget ($12.5")
    _, budgets = server.api("GET", "/api/config/budgets")
    assert [(b["target"], b["monthly_limit"]) for b in budgets] == [
        ("gemini", 12.5), ("openai", pytest.approx(openai_cost / 0.9))]
    section.locator(".budget-list li").filter(has_text="gemini").get_by_role(
        "button", name="Remove").click()
    expect(section.locator(".budget-list")).not_to_contain_text("gemini")
    browsing.screenshot("settings-usage")

    page.goto(server.url + "/")  # the chat page warns too
    expect(page.locator("#budget-notice")).to_contain_text("Budget at 80%.")
    expect(page.locator("#budget-notice a")).to_have_attribute(
        "href", server.url + "/settings#settings-usage")
    browsing.assert_clean()  # no console error, no CSP violation
