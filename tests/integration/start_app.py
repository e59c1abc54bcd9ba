"""Start the app in a process of its own, at a given instant: `python -m
tests.integration.start_app <unix time>`. Prints one JSON line on stdout: how the start
went, and whether litellm got imported. The import's log lines go to stderr."""

from __future__ import annotations

import json
import logging
import sys
import time

from configapp import create_app
from configapp.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(process)d %(name)s: %(message)s")
    settings = Settings.from_env()
    start_at = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    while time.time() < start_at:
        time.sleep(0.0005)
    try:
        create_app(settings)
        outcome = "started"
    except Exception as error:  # the outcome is what the test looks at
        outcome = f"refused: {type(error).__name__}"
    print(json.dumps({"outcome": outcome, "litellm_imported": "litellm" in sys.modules}))


if __name__ == "__main__":
    main()
