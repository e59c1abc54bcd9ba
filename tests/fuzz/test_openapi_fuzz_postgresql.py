"""The same fuzzing as tests/fuzz/test_openapi_fuzz.py, on PostgreSQL (scripts/with-postgres).

A module of its own: built next to the SQLite apps in one module, schemathesis's coverage
phase fails at collection on Python 3.11 ("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import pytest

from tests.conftest import POSTGRES_URL
from tests.fuzz.test_openapi_fuzz import AUTHORIZATION, FUZZ, no_canary_key, schemas

if POSTGRES_URL:
    pg_schema, pg_provider_schema = schemas("postgresql")

    @pg_schema.parametrize()
    @FUZZ
    def test_the_api_holds_its_contract_under_fuzzing_on_postgresql(case):
        case.call_and_validate(headers=AUTHORIZATION, additional_checks=[no_canary_key])

    @pg_provider_schema.parametrize()
    @FUZZ
    def test_provider_calls_hold_their_contract_under_fuzzing_on_postgresql(case):
        case.call_and_validate(headers=AUTHORIZATION, additional_checks=[no_canary_key])
else:
    def test_fuzzing_on_postgresql():
        pytest.skip("CONFIGAPP_TEST_DATABASE_URL is not set: run under scripts/with-postgres "
                    "(as `make test` does) to fuzz on PostgreSQL too")
