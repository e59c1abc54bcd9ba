"""reply_cost: the catalogue's prices per million tokens, or None when anything is unknown."""

import pytest

from configapp.chat.pricing import reply_cost
from configapp.domain import ModelInfo

PRICED = ModelInfo("openai/gpt-4o-mini", "openai", "gpt-4o-mini",
                   input_price_per_million=0.15, output_price_per_million=0.60)


def test_a_reply_costs_its_prompt_and_completion_tokens_at_the_model_prices():
    assert reply_cost(PRICED, 1000, 500) == pytest.approx(0.00045)
    assert reply_cost(PRICED, 1_000_000, 0) == pytest.approx(0.15)


def test_a_free_model_costs_zero():
    free = ModelInfo("ollama/llama3", "ollama", "llama3", input_price_per_million=0.0,
                     output_price_per_million=0.0)
    assert reply_cost(free, 10, 10) == 0.0


@pytest.mark.parametrize(("model", "prompt", "completion"), [
    (ModelInfo("x/y", "x", "y"), 10, 10),
    (ModelInfo("x/y", "x", "y", input_price_per_million=1.0), 10, 10),
    (PRICED, None, 10),
    (PRICED, 10, None),
])
def test_an_unknown_price_or_count_gives_no_cost_rather_than_a_wrong_one(model, prompt,
                                                                          completion):
    assert reply_cost(model, prompt, completion) is None
