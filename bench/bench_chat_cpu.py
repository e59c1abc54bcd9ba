"""Issue 30's breakdown: where a chat's CPU goes, in process (bench/hotpaths.py,
`chat_breakdown`): the plan, the usage ledger's write, the gateway (litellm and the
provider's HTTP), the request's HTTP handling (Flask, guards, JSON, the view) and other
threads (litellm's logging pool), beside a direct litellm.completion's CPU.

CPU time, not wall time: it barely moves when other work shares the machine. Run alone with
`python -m bench chat_cpu`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench.bench_chat import stand_in
from bench.hotpaths import chat_breakdown

CHATS = 60 if os.environ.get("BENCH_QUICK") else 300
LABELS = {"plan": "ChatService.plan: model, parameters, key, budgets",
          "ledger": "the usage ledger's record call",
          "gateway": "the gateway's complete: litellm, the provider's HTTP",
          "http": "the rest of the request thread: Flask, guards, JSON, the view",
          "other threads": "other threads meanwhile: litellm's logging pool, and any "
                           "background writer"}


def run() -> list[dict[str, Any]]:
    with stand_in() as base:
        parts = chat_breakdown(base, CHATS)
    whole, direct = parts["whole"], parts["direct litellm.completion"]
    note = (f"CPU per non-streaming /api/chat in process (WSGI, no server), {CHATS} chats, "
            "best of 3 batches")
    rows = [{"name": "chat CPU in process: whole", "value": whole, "unit": "ms",
             "baseline": direct, "ratio": whole / direct,
             "note": f"{note}; baseline: a direct litellm.completion to the same stand-in "
                     "(all its threads)"}]
    for part, label in LABELS.items():
        rows.append({"name": f"chat CPU in process: {part}", "value": parts[part],
                     "unit": "ms", "note": f"{label}; {parts[part] / whole:.0%} of the whole"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
