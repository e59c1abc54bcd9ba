"""Schemathesis over /api/openapi.json: no 5xx, every answer as documented, no key leaks.

On SQLite, and on PostgreSQL when CONFIGAPP_TEST_DATABASE_URL is set (scripts/with-postgres).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, settings

from configapp import create_app
from configapp.access.auth import FailureLimiter
from configapp.settings import SecuritySettings, Settings
from tests.conftest import (
    CANARY_KEY,
    FUZZ_DATABASE_PREFIX,
    POSTGRES_URL,
    TEST_API_TOKEN,
    fresh_postgres_database,
    upgrade_postgres,
)
from tests.provider_stub import ProviderStub

# Per operation: 100 in `make test` (200 until issue 32: the four fuzz runs took about a
# fifth of the suite), 1,000 in `make reliability`.
EXAMPLES = int(os.environ.get("CONFIGAPP_FUZZ_EXAMPLES", "100"))
# The fuzzer signs in (the contract under test is the API's; its lock has its own tests).
AUTHORIZATION = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


def fuzz_app(stub: ProviderStub, backend: str):
    """The app on its own SQLite file or PostgreSQL database, with a canary key (added
    first) for each provider format, saved with the stand-in's base URL so that chat and
    key tests reach it.

    Built at import: schemathesis's lazy fixture loader does not run on pytest 9.
    """
    root = Path(tempfile.mkdtemp(prefix="configapp-fuzz-"))
    built = Settings(data_dir=root / "data", env_file=root / ".env",
                     config_file=root / "none.yaml", provider_timeout=2.0,
                     provider_check_timeout=2.0,
                     security=SecuritySettings(api_token=TEST_API_TOKEN))
    if backend == "postgresql":
        assert POSTGRES_URL
        database = fresh_postgres_database(POSTGRES_URL, FUZZ_DATABASE_PREFIX)
        built = replace(built, database_url=database,
                        encryption_keys=(Fernet.generate_key().decode(),))
        upgrade_postgres(built)
    app = create_app(built)
    # Schemathesis sends every operation a wrong token and wants its 401: the wrong-token
    # bound (tested in test_auth.py) would turn the later ones into 429s.
    app.extensions["configapp"].gate.limiter = FailureLimiter(allowed=100_000,
                                                              allowed_in_all=100_000)
    client = app.test_client()
    for provider in ("openai", "anthropic", "gemini"):
        response = client.post("/api/config/api-keys", json={
            "provider": provider, "api_key": CANARY_KEY, "api_base": stub.base(provider)})
        assert response.status_code == 201
    return app


# Provider calls go to the stand-in only while every stored key is one saved with its base
# URL: the operations that call providers are fuzzed on an app whose keys the fuzzer cannot
# change, and everything else on another app.
PROVIDER_CALLS = r"^/api/chat$|/test$"
# A model's own limits (max_tokens up to its max output, temperature up to 1 for
# Anthropic) depend on the model named in the path or the body; a document cannot state
# them, and the 422 that enforces them is documented. Schema-valid parameters may meet it.
# A body over the 1 MiB limit is refused with a 413 (documented), which schemathesis's
# negative-data check does not count among refusals by default. Aliases and purposes: a
# name that shadows a provider, an alias loop, a hidden model or a model of another
# provider depend on the stored state, and are answered with the documented 422.
# The usage range's `since` after its `until`, or a date past what Python can represent
# once moved to UTC, is a documented 422 that the document's types cannot express. A key's
# base URL that names an address nothing answers from (`http://0`, link-local, cloud
# metadata) is refused with the documented 422: no pattern can state where a name resolves.
# A client's models must be known model ids or aliases, and its name free: the documented
# 422 and 409 depend on the catalogue and the stored clients. Counting a stopped reply names
# a model or a purpose the same way a chat does (the documented 404 and 422). A key's edit is
# checked like an add: a provider that needs a base URL (hosted_vllm) refuses an empty one
# with the documented 422, which depends on the stored key's provider.
CONFIG = schemathesis.Config.from_dict({
    "checks": {"negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
        "5xx"]}},
    "operations": [{
        "include-path-regex": (r"^/api/chat$|^/api/chat/count$|/parameters$|/aliases/"
                               r"|/purposes/|/curation/"
                               r"|^/api/config/usage$|^/api/config/api-keys(/[^/]+)?$"
                               r"|^/api/config/clients"),
        "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "422", "429",
                                  "5xx"]}},
    }]})
# Everything but the provider calls, written as an exclusion: schemathesis 4.32 ignores
# `include(path_regex=...)` when its config has an `operations` block, which fuzzed every
# operation on the provider app, its keys included (and so chat went to the public URL).
OTHER_CALLS = r"^(?!/api/chat$|.*/test$)"
STUB = ProviderStub().start()


def schemas(backend: str) -> tuple[Any, Any]:
    """(everything but the provider calls, the provider calls), each on an app of its own."""
    return (schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app(STUB, backend),
                                           config=CONFIG).exclude(path_regex=PROVIDER_CALLS),
            schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app(STUB, backend),
                                           config=CONFIG).exclude(path_regex=OTHER_CALLS))


schema, provider_schema = schemas("sqlite")


@schemathesis.check
def no_canary_key(ctx, response, case) -> None:
    """The canary key (added at the start) is in no answer."""
    if CANARY_KEY in response.text or CANARY_KEY[:-4] in response.text:
        raise AssertionError("the plaintext canary key is in a response")


def labels(fuzzed) -> set[str]:
    return {result.ok().label for result in fuzzed.get_all_operations()}


def test_provider_calls_are_fuzzed_apart_from_everything_else():
    assert labels(provider_schema) == {"POST /api/chat", "POST /api/config/api-keys/{key_id}/test"}
    assert not labels(schema) & labels(provider_schema)
    # 10, 8 of curation (aliases, purposes, shown models), 4 of usage and budgets, 4 of
    # clients, counting a stopped reply and reading a stream's receipt
    assert len(labels(schema)) == 28


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_the_api_holds_its_contract_under_fuzzing(case):
    case.call_and_validate(headers=AUTHORIZATION, additional_checks=[no_canary_key])


@provider_schema.parametrize()
@FUZZ
def test_provider_calls_hold_their_contract_under_fuzzing(case):
    case.call_and_validate(headers=AUTHORIZATION, additional_checks=[no_canary_key])
