"""`flask config models hide|show|visibility|alias|purpose|warnings`, through Flask's CLI
runner, against the same rows the API reads."""

import pytest

from tests.provider_stub.fixtures import quick_settings


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["config", "models", *args])


def test_hide_show_and_visibility(app, client):
    total = client.get("/api/config/curation?provider=openai").get_json()["providers"][0][
        "total"]
    assert cli(app, "visibility").output == "Every model is shown.\n"
    result = cli(app, "hide", "openai/gpt-4o", "anthropic/claude-sonnet-4-5")
    assert result.exit_code == 0, result.output
    assert "anthropic:" in result.output
    assert f"openai: {total - 1} of {total} models shown." in result.output
    ids = {m["id"] for m in client.get("/api/config/models?q=gpt-4o").get_json()["models"]}
    assert "openai/gpt-4o" not in ids
    assert "openai/gpt-4o" not in cli(app, "list", "-q", "gpt-4o").output.split()
    assert "openai/gpt-4o" in cli(app, "list", "-q", "gpt-4o", "--include-hidden").output
    table = cli(app, "visibility").output
    assert f"{total - 1} of {total}" in table and "all but hidden" in table

    result = cli(app, "hide", "--all-but", "openai/gpt-4o-mini", "--all-but", "openai/o3")
    assert f"openai: 2 of {total} models shown (only the chosen ones)." in result.output
    assert cli(app, "show", "openai/gpt-4o").exit_code == 0
    row = next(line for line in cli(app, "visibility").output.splitlines()
               if line.startswith("openai"))
    assert row.split() == ["openai", "3", "of", str(total), "only", "chosen"]
    assert f"openai: {total} of {total}" in cli(app, "show", "--all", "openai").output


def test_a_bad_hide_is_one_error_line_and_changes_nothing(app, client):
    etag = client.get("/api/config/sync").headers["ETag"]
    result = cli(app, "hide", "openai/gpt-4o", "openai/no-such-model")
    assert result.exit_code == 1
    assert result.output == "Error: Unknown model 'openai/no-such-model'.\n"
    mixed = cli(app, "hide", "--all-but", "openai/gpt-4o", "--all-but", "gemini/gemini-2.5-pro")
    assert mixed.exit_code == 2 and "one provider" in mixed.output
    assert cli(app, "hide").exit_code == 2
    assert client.get("/api/config/sync").headers["ETag"] == etag


def test_aliases_and_purposes(app, client):
    result = cli(app, "alias", "set", "fast", "openai/gpt-4o-mini", "--param",
                 "temperature=0.2", "--param", "max_tokens=50")
    assert result.output == "Alias fast -> openai/gpt-4o-mini.\n", result.output
    alias = client.get("/api/config/aliases").get_json()[0]
    assert alias["parameters"] == {"temperature": 0.2, "max_tokens": 50}
    assert "temperature=0.2" in cli(app, "alias", "list").output

    assert cli(app, "purpose", "set", "title", "fast").output == (
        "Purpose title: openai/gpt-4o-mini (alias fast).\n")
    assert cli(app, "select", "fast").output == "Default model: openai/gpt-4o-mini (alias fast).\n"
    shown = cli(app, "show").output
    assert "Default model: openai/gpt-4o-mini (openai, through the alias fast)" in shown
    assert "temperature=0.2" in shown
    listing = cli(app, "purpose", "list").output
    assert "title" in listing and "extension" in listing and "(none)" in listing
    assert "Warning: The purpose 'chat' uses openai/gpt-4o-mini, but openai has no API key" \
        in listing

    in_use = cli(app, "alias", "delete", "fast")
    assert in_use.exit_code == 1 and "in use by purpose 'chat', purpose 'title'" in in_use.output
    assert cli(app, "purpose", "clear", "title").exit_code == 0
    assert cli(app, "select", "openai/gpt-4o").exit_code == 0
    assert cli(app, "alias", "delete", "fast").output == "Deleted alias fast.\n"
    assert cli(app, "alias", "list").output == "No aliases.\n"


@pytest.mark.parametrize(("args", "message"), [
    (("alias", "set", "openai/mine", "openai/gpt-4o"), "would shadow a model id"),
    (("alias", "set", "Fast", "openai/gpt-4o"), "is not an alias name"),
    (("alias", "set", "fast", "openai/gpt-4o", "--param", "temperature=hot"),
     "expected name=number"),
    (("alias", "set", "fast", "openai/gpt-4o", "--param", "temperature=9.0"),
     "outside the model's limits"),
    (("purpose", "set", "Title Model", "openai/gpt-4o"), "is not a purpose name"),
    (("purpose", "set", "title", "openai/nope"), "Unknown model 'openai/nope'"),
    (("purpose", "clear", "nothing-here"), "No purpose named 'nothing-here'"),
    (("alias", "set", "fast", "openai/gpt-4o", "--fallback", "fast"), "The fallbacks loop"),
    (("purpose", "set", "title", "openai/gpt-4o", "--fallback", "openai/gpt-4o"),
     "already tried"),
    (("alias", "set", "fast", "openai/gpt-4o", "--fallback", "openai/gpt-4.1",
      "--no-fallbacks"), "not both"),
])
def test_bad_alias_and_purpose_commands_say_why(app, client, args, message):
    etag = client.get("/api/config/sync").headers["ETag"]
    result = cli(app, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert client.get("/api/config/sync").headers["ETag"] == etag


def test_fallbacks_are_set_listed_and_cleared(app, client):
    assert cli(app, "alias", "set", "fast", "openai/gpt-4o-mini", "--fallback",
               "anthropic/claude-haiku-4-5", "--fallback", "openai/gpt-4o").output == (
        "Alias fast -> openai/gpt-4o-mini, then anthropic/claude-haiku-4-5, openai/gpt-4o.\n")
    assert "anthropic/claude-haiku-4-5, openai/gpt-4o" in cli(app, "alias", "list").output
    cli(app, "alias", "set", "fast", "openai/gpt-4o-mini")  # left out: kept
    assert client.get("/api/config/aliases").get_json()[0]["fallbacks"] == [
        "anthropic/claude-haiku-4-5", "openai/gpt-4o"]
    assert cli(app, "purpose", "set", "title", "openai/gpt-4o", "--fallback", "fast").output == (
        "Purpose title: openai/gpt-4o, then fast.\n")
    assert "title" in cli(app, "purpose", "list").output
    cli(app, "alias", "set", "fast", "openai/gpt-4o-mini", "--no-fallbacks")
    assert client.get("/api/config/aliases").get_json()[0]["fallbacks"] == []


def test_warnings_exit_1_when_there_are_some(app):
    assert cli(app, "warnings").output == "No warnings.\n"
    cli(app, "purpose", "set", "title", "openai/gpt-4o-2024-08-06")
    result = cli(app, "warnings")
    assert result.exit_code == 1
    assert "deprecates on 2027-01-14" in result.output
    assert "has no API key" in result.output
