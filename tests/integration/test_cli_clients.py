"""`flask config clients ...`, through Flask's CLI runner, against the rows the API reads."""

import pytest

from tests.provider_stub.fixtures import quick_settings


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["config", "clients", *args])


def test_create_list_update_and_delete_a_client(app, client):
    assert cli(app, "list").output == "No clients.\n"
    made = cli(app, "create", "open-webui", "--model", "openai/gpt-4o-mini",
               "--monthly-limit", "5")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("cfgc_") and "shown only now" in made.stderr
    (shown,) = client.get("/api/config/clients").get_json()
    assert (shown["name"], shown["models"], shown["monthly_limit"]) == (
        "open-webui", ["openai/gpt-4o-mini"], 5.0)
    listed = cli(app, "list").output
    assert "open-webui" in listed and "$5.00" in listed and token not in listed

    changed = cli(app, "update", str(shown["id"]), "--name", "webui", "--all-models",
                  "--no-limit")
    assert changed.exit_code == 0, changed.output
    assert "webui (models: all, monthly limit: none)" in changed.output
    assert cli(app, "update", str(shown["id"])).exit_code == 2  # nothing to change

    assert cli(app, "delete", str(shown["id"]), "--yes").exit_code == 0
    assert client.get("/api/config/clients").get_json() == []
    gone = cli(app, "delete", str(shown["id"]), "--yes")
    assert gone.exit_code == 1 and f"No client with id {shown['id']}" in gone.output


def test_bad_input_ends_in_one_line_and_makes_nothing(app, client):
    for args in (["create", "ide", "--model", "openai/no-such-model"],
                 ["create", "ide", "--monthly-limit", "-1"]):
        refused = cli(app, *args)
        assert refused.exit_code == 1 and refused.output.startswith("Error: ")
        assert "Traceback" not in refused.output
    assert client.get("/api/config/clients").get_json() == []
