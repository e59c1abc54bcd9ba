"""Nothing leaves the machine unasked: the switches that keep the libraries configapp uses
from fetching anything at run time (docs/architecture.md, "Outbound destinations").

The only requests configapp makes are to a stored key's provider (its saved base URL, or the
provider's documented one): chat, key test, models listing. These switches turn off what
litellm and the Hugging Face libraries would otherwise fetch on their own: litellm's cost
map, Anthropic beta-header table, blog feed and presets from GitHub, tokenizers and
telemetry from the Hugging Face hub. Each has a bundled copy that is used instead.

`stay_offline()` is called by every entry point (ConfigApp.init_app, which `create_app`,
`flask`, the `configapp` command and gunicorn's app all go through; gunicorn's settings and
the `configapp` command before that; and the gateway before it imports litellm). It
overrides the environment rather than deferring to it: the promise is the server's, not a
setting, and a stray LITELLM_LOCAL_MODEL_COST_MAP=False in a shell must not break it.
"""

from __future__ import annotations

import os

# Each library's own switch for "use the bundled copy, fetch nothing".
OFFLINE_ENV = {
    # litellm: its bundled copies instead of GitHub's (read at import or at first use).
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    # litellm: no loading of .env into the environment (it would bring back deleted keys).
    "LITELLM_MODE": "PRODUCTION",
    # Hugging Face hub and transformers: the local cache only, and no telemetry.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def stay_offline() -> None:
    """Set the libraries' offline switches in this process (and so in its children)."""
    os.environ.update(OFFLINE_ENV)
