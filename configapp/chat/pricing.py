"""What a reply cost, from the catalogue's prices: shown per reply in Chat (and summed by
the usage ledger). None when a price or a token count is unknown: a guess would mislead."""

from __future__ import annotations

from configapp.domain import ModelInfo

PER_MILLION = 1_000_000


def reply_cost(model: ModelInfo, prompt_tokens: int | None,
               completion_tokens: int | None) -> float | None:
    """US dollars for one reply: prompt and completion tokens at the model's prices per
    million tokens; None if the catalogue lacks a price or the provider a count."""
    prices = (model.input_price_per_million, model.output_price_per_million)
    if None in prices or prompt_tokens is None or completion_tokens is None:
        return None
    input_price, output_price = prices
    if min(input_price, output_price, prompt_tokens, completion_tokens) < 0:
        return None  # never a negative cost: spending only goes up
    return round((prompt_tokens * input_price + completion_tokens * output_price)
                 / PER_MILLION, 12)
