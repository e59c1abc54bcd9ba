"""Schemathesis over /api/openapi.json: no 5xx, every answer as documented, no key leaks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from configapp import create_app
from configapp.settings import Settings
from tests.conftest import CANARY_KEY

EXAMPLES = int(os.environ.get("CONFIGAPP_FUZZ_EXAMPLES", "200"))


def fuzz_app():
    """The app on its own SQLite file, with a canary key added first.

    Built at import: schemathesis's lazy fixture loader does not run on pytest 9.
    """
    root = Path(tempfile.mkdtemp(prefix="configapp-fuzz-"))
    app = create_app(Settings(data_dir=root / "data", env_file=root / ".env",
                              config_file=root / "none.yaml"))
    response = app.test_client().post("/api/config/api-keys", json={
        "provider": "openai", "api_key": CANARY_KEY})
    assert response.status_code == 201
    return app


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app())


@schemathesis.check
def no_canary_key(ctx, response, case) -> None:
    """The canary key (added at the start) is in no answer."""
    if CANARY_KEY in response.text or CANARY_KEY[:-4] in response.text:
        raise AssertionError("the plaintext canary key is in a response")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_holds_its_contract_under_fuzzing(case):
    case.call_and_validate(additional_checks=[no_canary_key])
