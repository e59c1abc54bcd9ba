"""What a reply cost, from the catalogue's per-token prices (LiteLLM's price table)."""

from __future__ import annotations

from configapp.domain import ModelInfo


def reply_cost(model: ModelInfo, prompt_tokens: int | None,
               completion_tokens: int | None) -> float | None:
    """Dollars for the tokens at the model's prices; None when the model is unpriced or no
    token count is known (a missing count of one side counts as zero)."""
    if model.input_price_per_million is None or model.output_price_per_million is None:
        return None
    if prompt_tokens is None and completion_tokens is None:
        return None
    return ((prompt_tokens or 0) * model.input_price_per_million
            + (completion_tokens or 0) * model.output_price_per_million) / 1_000_000
