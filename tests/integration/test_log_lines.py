"""No text from a request reaches a log line unescaped: a line break, an ANSI escape or any
other unprintable character in it is written as a backslash escape (configapp/log_lines.py),
so that nobody, signed in or not, can write a log line of their choosing."""

from __future__ import annotations

import logging

import pytest
from flask import request

FORGED = "\nINFO configapp.audit key deleted id=1 provider=openai"


def one_line_each(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The rendered messages of configapp's records, each checked to be one printable line."""
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("configapp")]
    for message in messages:
        assert message.isprintable(), repr(message)
    return messages


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_path_of_a_wrong_token_is_logged_escaped(client, caplog):
    caplog.set_level(logging.WARNING, logger="configapp.access.auth")
    response = client.signed_out().get(
        "/api/config/api-keys%0AINFO%20configapp.audit%20key%20deleted%1B[31m",
        headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 401
    [message] = [m for m in one_line_each(caplog) if "wrong API token" in m]
    assert "/api/config/api-keys\\nINFO configapp.audit key deleted\\x1b[31m" in message


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_client_address_from_the_environment_is_logged_escaped(client, caplog):
    """The address a proxy in front may have written from a header (X-Forwarded-For)."""
    caplog.set_level(logging.WARNING, logger="configapp.access.auth")
    client.signed_out().get("/api/config/api-keys",
                            headers={"Authorization": "Bearer not-the-token"},
                            environ_overrides={"REMOTE_ADDR": "10.0.0.1" + FORGED})
    [message] = [m for m in one_line_each(caplog) if "wrong API token" in m]
    assert "from 10.0.0.1\\nINFO configapp.audit key deleted" in message


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_path_of_a_request_that_failed_is_logged_escaped(app, caplog):
    """Flask's own "Exception on <path>" line (configapp.StandaloneFlask)."""
    app.testing = False  # a test app would raise the error instead of logging it

    @app.before_request
    def boom() -> None:
        if request.path.startswith("/boom/"):
            raise RuntimeError("boom")

    caplog.set_level(logging.ERROR)
    assert app.test_client().get("/boom/x%0AINFO%20forged%E2%80%A8").status_code == 500
    [message] = [m for m in one_line_each(caplog) if m.startswith("Exception on")]
    assert message == "Exception on /boom/x\\nINFO forged\\u2028 [GET]"
