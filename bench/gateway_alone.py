"""The floor under configapp's chat: Flask and the gateway configapp calls litellm through
(LiteLLMGateway, with its switches and its guarded HTTP client), served by the same gunicorn
settings, with none of configapp's own work: no sign-in, plan, key decryption, budgets,
ledger or logging. bench_side_by_side loads it beside configapp and the LiteLLM Proxy, so
that a ratio to the proxy reads against the best configapp could reach with this litellm.

The stand-in's base URL and the key come from BENCH_STAND_IN and BENCH_KEY.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from flask import Flask, request

from configapp.domain import ResolvedKey
from configapp.providers.litellm_gateway import LiteLLMGateway
from configapp.providers.llm import ChatMessage

app = Flask(__name__)
gateway = LiteLLMGateway()
KEY = ResolvedKey("openai", os.environ.get("BENCH_KEY", ""), os.environ.get("BENCH_STAND_IN"),
                  "environment")


@app.post("/v1/chat/completions")
def chat() -> dict[str, Any]:
    body = request.get_json()
    messages = [ChatMessage(m["role"], m["content"]) for m in body["messages"]]
    reply = gateway.complete(body["model"], messages, {}, KEY)
    return {"model": body["model"], "finish_reason": reply.finish_reason,
            "usage": asdict(reply.usage) if reply.usage else None,
            "message": {"role": "assistant", "content": reply.content}}
