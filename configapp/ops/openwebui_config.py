"""Open WebUI's provider connections, read from its environment (or its `.env` file).

What Open WebUI reads, from its backend/open_webui/config.py: `OPENAI_API_BASE_URLS` and
`OPENAI_API_KEYS`, lists split on `;` and paired by position (falling back to
`OPENAI_API_BASE_URL` and `OPENAI_API_KEY`; an empty URL means https://api.openai.com/v1),
`ENABLE_OPENAI_API`, `GEMINI_API_KEY` with `GEMINI_API_BASE_URL`, and the Ollama servers
in `OLLAMA_BASE_URLS` (or `OLLAMA_BASE_URL`). Connections changed later in its admin
pages live in its own database, which is not read. Open WebUI has no aliases: only keys.
"""

from __future__ import annotations

from configapp.ops.moving_in import KeyToMove, MovingPlan
from configapp.providers.support import SUPPORTED

OPENAI_PUBLIC = "https://api.openai.com/v1"


def _listed(environ: dict[str, str], many: str, one: str) -> list[str]:
    value = environ.get(many) or environ.get(one) or ""
    return [part.strip() for part in value.split(";")] if value else []


def provider_at(base_url: str) -> tuple[str, str | None]:
    """(provider, base URL to store): a provider's own public address, else an
    OpenAI-compatible server reached as `openai` at that base URL."""
    base = base_url.rstrip("/")
    for support in SUPPORTED.values():
        if support.wire == "openai" and (support.public_base or "").rstrip("/") == base:
            return support.name, None
    return "openai", base


def read_openwebui(environ: dict[str, str]) -> MovingPlan:
    plan = MovingPlan()
    if environ.get("ENABLE_OPENAI_API", "true").strip().lower() != "true":
        plan.note("ignored", "ENABLE_OPENAI_API", "Open WebUI's OpenAI connections are off")
    else:
        bases = [url or OPENAI_PUBLIC for url in
                 _listed(environ, "OPENAI_API_BASE_URLS", "OPENAI_API_BASE_URL")]
        keys = _listed(environ, "OPENAI_API_KEYS", "OPENAI_API_KEY")
        if keys and not bases:
            bases = [OPENAI_PUBLIC]
        for index, base in enumerate(bases):
            where = f"OPENAI_API_BASE_URLS[{index}] {base}"
            key = keys[index] if index < len(keys) else ""
            if not key:
                plan.note("skipped", where, "no key at this position in OPENAI_API_KEYS "
                          "(configapp stores a key for every connection)")
                continue
            provider, api_base = provider_at(base)
            plan.keys.append(KeyToMove(provider, key, api_base, where))
    if environ.get("GEMINI_API_KEY"):
        base = (environ.get("GEMINI_API_BASE_URL") or "").strip().rstrip("/")
        public = (SUPPORTED["gemini"].public_base or "").rstrip("/")
        plan.keys.append(KeyToMove("gemini", environ["GEMINI_API_KEY"],
                                   base if base and base != public else None, "GEMINI_API_KEY"))
    for url in _listed(environ, "OLLAMA_BASE_URLS", "OLLAMA_BASE_URL"):
        if url:
            plan.note("skipped", f"OLLAMA_BASE_URLS {url}",
                      "configapp reaches Ollama as an OpenAI-compatible server: add a key "
                      f"for provider openai with the base URL {url.rstrip('/')}/v1 (Ollama "
                      "accepts any key)")
    if not plan.keys and not plan.lines:
        plan.note("skipped", "environment", "no Open WebUI connection settings found "
                  "(OPENAI_API_BASE_URLS, OPENAI_API_KEYS, GEMINI_API_KEY, OLLAMA_BASE_URLS)")
    return plan
