"""Moving in from a LiteLLM Proxy config.yaml and Open WebUI's connections, and out to a
LiteLLM config: through the CLI, checked against the rows the API reads and a chat that
reaches the provider stand-in. The fixtures follow LiteLLM's documented config format."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from configapp.components import components
from tests.provider_stub.fixtures import KEYS, add_key, quick_settings

ENV_KEY = "sk-moving-from-env-0001"
LITERAL_KEY = "sk-ant-moving-literal-0042"

LITELLM_CONFIG = """\
model_list:
  - model_name: fast
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/MOVING_OPENAI_KEY
      api_base: {openai}
      temperature: 0.2
      max_tokens: 200
      rpm: 60
    model_info:
      description: the quick one
  - model_name: fast
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-another-deployment-9999
  - model_name: gpt-4o
    litellm_params:
      model: gpt-4o
      api_key: os.environ/MOVING_OPENAI_KEY
      api_base: {openai}
  - model_name: writer
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: {literal}
      api_base: {anthropic}
  - model_name: local
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/MOVING_UNSET_KEY
  - model_name: cloud
    litellm_params:
      model: bedrock/anthropic.claude-3-sonnet
  - model_name: openai/gpt-4.1
    litellm_params:
      model: openai/gpt-4o-mini
router_settings:
  model_group_alias:
    quick: fast
    gone: nowhere
  routing_strategy: simple-shuffle
litellm_settings:
  drop_params: true
general_settings:
  master_key: sk-proxy-master-1234
"""


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.fixture
def litellm_config(tmp_path: Path, stub) -> Path:
    path = tmp_path / "litellm.yaml"
    path.write_text(LITELLM_CONFIG.format(openai=stub.base("openai"), literal=LITERAL_KEY,
                                          anthropic=stub.base("anthropic")))
    return path


def config_cli(app, *args: str, env: dict[str, str] | None = None):
    return app.test_cli_runner().invoke(args=["config", *args],
                                        env={"MOVING_OPENAI_KEY": ENV_KEY, **(env or {})})


def lines_of(output: str) -> dict[str, list[str]]:
    """The report's lines by where they are about: {"model_list[0] fast": [...]}."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        outcome, _, rest = line.partition(" ")
        if outcome == "would":
            rest = rest.removeprefix("add")
            outcome = "would add"
        where, _, detail = rest.strip().partition(": ")
        found.setdefault(where, []).append(f"{outcome} {detail}")
    return found


def etag(client) -> str:
    return client.get("/api/config/sync").headers["ETag"]


def test_import_litellm_makes_keys_and_aliases_and_says_what_it_left(
        app, client, stub, litellm_config):
    result = config_cli(app, "import-litellm", str(litellm_config))
    assert result.exit_code == 0, result.output
    assert ENV_KEY not in result.output and LITERAL_KEY not in result.output
    report = lines_of(result.output)
    assert report["model_list[0] fast"] == [
        "ignored model_info: configapp reads model facts from its catalogue",
        "ignored rpm: not a setting configapp keeps (it keeps frequency_penalty, max_tokens, "
        "presence_penalty, temperature, top_p)",
        "imported key openai sk-***0001 at " + stub.base("openai") + " as key 1 (active)",
        "imported alias fast -> openai/gpt-4o-mini (max_tokens 200, temperature 0.2)"]
    assert report["model_list[1] fast"][0].startswith("skipped another deployment of 'fast'")
    assert report["model_list[2] gpt-4o"] == [
        "mapped 'gpt-4o' is the model openai/gpt-4o itself: no alias needed"]
    assert report["model_list[3] writer"][-1] == \
        "imported alias writer -> anthropic/claude-sonnet-4-5"
    assert report["model_list[4] local"] == [
        "skipped api_key: os.environ/MOVING_UNSET_KEY is not set in the environment"]
    assert "Provider 'bedrock' is not offered" in report["model_list[5] cloud"][0]
    assert "would shadow a model id" in report["model_list[6] openai/gpt-4.1"][-1]
    assert report["router_settings.model_group_alias quick"] == [
        "imported alias quick -> fast"]
    assert report["router_settings.model_group_alias gone"][0].startswith("skipped 'nowhere'")
    assert report["router_settings.routing_strategy"][0].startswith("ignored ")
    assert report["general_settings"][0].startswith("ignored the proxy's server settings")
    assert report["litellm_settings"][0].startswith("ignored ")

    aliases = {a["name"]: a for a in client.get("/api/config/aliases").get_json()}
    assert set(aliases) == {"fast", "writer", "quick"}
    assert aliases["fast"]["parameters"] == {"temperature": 0.2, "max_tokens": 200}
    keys = client.get("/api/config/api-keys").get_json()
    assert sorted((k["provider"], k["is_active"]) for k in keys) == [
        ("anthropic", True), ("openai", True)]
    # The alias chats through the imported key, resolved from the environment at import.
    answer = client.post("/api/chat", json={
        "model": "quick", "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200, answer.get_json()
    assert stub.last("chat").key == ENV_KEY
    assert stub.last("chat").body["temperature"] == 0.2


def test_importing_the_same_file_again_changes_nothing_and_says_so(
        app, client, litellm_config):
    assert config_cli(app, "import-litellm", str(litellm_config)).exit_code == 0
    before = etag(client)
    again = config_cli(app, "import-litellm", str(litellm_config))
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1].startswith("Nothing to change:")
    assert not [line for line in again.output.splitlines() if line.startswith("imported")]
    assert lines_of(again.output)["model_list[0] fast"][-1] == (
        "unchanged alias fast -> openai/gpt-4o-mini (max_tokens 200, temperature 0.2) is "
        "already set")
    assert "is already stored (key 1)" in again.output
    assert etag(client) == before


def test_a_dry_run_reports_the_same_and_writes_nothing(app, client, litellm_config):
    before = etag(client)
    result = config_cli(app, "import-litellm", str(litellm_config), "--dry-run")
    assert result.exit_code == 0, result.output
    assert lines_of(result.output)["model_list[0] fast"][-1] == \
        "would add alias fast -> openai/gpt-4o-mini (max_tokens 200, temperature 0.2)"
    assert result.output.splitlines()[-1] == "Dry run: nothing was written."
    assert etag(client) == before
    assert client.get("/api/config/aliases").get_json() == []
    assert client.get("/api/config/api-keys").get_json() == []


def test_a_moved_in_key_never_replaces_the_active_one(app, client, stub, litellm_config):
    add_key(client, stub, "openai", KEYS["openai"])
    result = config_cli(app, "import-litellm", str(litellm_config))
    assert "(inactive: openai already has an active key" in result.output
    active = [k for k in client.get("/api/config/api-keys").get_json()
              if k["provider"] == "openai" and k["is_active"]]
    assert [k["masked_key"] for k in active] == ["sk-***0001"]
    client.post("/api/chat", json={"model": "fast",
                                   "messages": [{"role": "user", "content": "hi"}]})
    assert stub.last("chat").key == KEYS["openai"]


def test_an_import_that_fails_part_way_writes_nothing(app, client, litellm_config):
    """The aliases are written after the keys: a database that refuses an alias must leave
    no key behind (one transaction)."""
    with app.app_context():
        parts = components()
        statements = REFUSING_TRIGGER[parts.settings.is_sqlite]
        for statement in statements:
            parts.storage.session.execute(text(statement))
        parts.storage.session.commit()
    before = etag(client)
    result = config_cli(app, "import-litellm", str(litellm_config))
    assert result.exit_code == 1
    assert result.output.startswith("Error: The import failed in the database (")
    assert result.output.endswith(") and was rolled back: nothing was written.\n")
    assert client.get("/api/config/api-keys").get_json() == []
    assert etag(client) == before


# A database that refuses every new alias: SQLite's and PostgreSQL's forms.
REFUSING_TRIGGER = {
    True: ["CREATE TRIGGER refuse_aliases BEFORE INSERT ON model_aliases "
           "BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    False: ["CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; "
            "END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_aliases BEFORE INSERT ON model_aliases "
            "FOR EACH ROW EXECUTE FUNCTION refuse()"],
}


@pytest.mark.parametrize(("content", "message"), [
    ("model_list: [", "not valid YAML (line 1)"),
    ("- just a list", "must be a YAML mapping"),
    ("model_list: {fast: 1}", "model_list must be a list"),
])
def test_a_file_that_is_not_a_litellm_config_is_one_error_line(app, client, tmp_path,
                                                                content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = config_cli(app, "import-litellm", str(path))
    assert result.exit_code == 1 and message in result.output, result.output
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1


def test_import_openwebui_reads_its_connections(app, client, stub, tmp_path):
    env_file = tmp_path / "openwebui.env"
    env_file.write_text(
        f"OPENAI_API_BASE_URLS={stub.base('openai')};https://api.groq.com/openai/v1;"
        "http://127.0.0.1:9/v1\n"
        f"OPENAI_API_KEYS={ENV_KEY};gsk_moving-groq-0005\n"
        "OLLAMA_BASE_URLS=http://127.0.0.1:11434\n")
    result = config_cli(app, "import-openwebui", "--env-file", str(env_file))
    assert result.exit_code == 0, result.output
    assert ENV_KEY not in result.output and "gsk_moving-groq-0005" not in result.output
    report = lines_of(result.output)
    assert report[f"OPENAI_API_BASE_URLS[0] {stub.base('openai')}"] == [
        f"imported key openai sk-***0001 at {stub.base('openai')} as key 1 (active)"]
    assert report["OPENAI_API_BASE_URLS[1] https://api.groq.com/openai/v1"] == [
        "imported key groq gsk_***0005 as key 2 (active)"]
    assert report["OPENAI_API_BASE_URLS[2] http://127.0.0.1:9/v1"][0].startswith(
        "skipped no key at this position")
    assert "base URL http://127.0.0.1:11434/v1" in report[
        "OLLAMA_BASE_URLS http://127.0.0.1:11434"][0]
    keys = {k["provider"]: k for k in client.get("/api/config/api-keys").get_json()}
    assert keys["groq"]["api_base"] is None
    assert keys["openai"]["api_base"] == stub.base("openai")
    again = config_cli(app, "import-openwebui", "--env-file", str(env_file))
    assert again.output.splitlines()[-1].startswith("Nothing to change:")


def test_export_litellm_writes_a_config_without_keys_and_a_private_env_file(
        app, client, stub, tmp_path):
    add_key(client, stub, "openai", KEYS["openai"])
    for name, body in (("fast", {"model": "openai/gpt-4o-mini",
                                 "parameters": {"temperature": 0.2}}),
                       ("quick", {"model": "fast"}),
                       ("careful", {"model": "fast", "parameters": {"temperature": 0.0}})):
        response = client.put(f"/api/config/aliases/{name}", json=body)
        assert response.status_code in (200, 201), response.get_json()
    assert client.put("/api/config/purposes/title",
                      json={"model": "openai/gpt-4o"}).status_code == 200
    config, env_file = tmp_path / "config.yaml", tmp_path / "keys.env"
    result = config_cli(app, "export-litellm", str(config), "--env-file", str(env_file))
    assert result.exit_code == 0, result.output
    assert KEYS["openai"] not in result.output + config.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    variables = env_file.read_text().splitlines()[1:]
    assert variables[0] == f"CONFIGAPP_OPENAI_KEY={KEYS['openai']}"
    assert variables[1].startswith("LITELLM_MASTER_KEY=sk-") and len(variables) == 2
    document = yaml.safe_load(config.read_text())
    entries = {e["model_name"]: e["litellm_params"] for e in document["model_list"]}
    assert entries["fast"] == {"model": "openai/gpt-4o-mini",
                               "api_key": "os.environ/CONFIGAPP_OPENAI_KEY",
                               "temperature": 0.2, "api_base": stub.base("openai")}
    assert entries["careful"]["temperature"] == 0.0
    assert entries["careful"]["model"] == "openai/gpt-4o-mini"
    assert "openai/gpt-4o" in entries
    assert document["router_settings"] == {"model_group_alias": {"quick": "fast"}}

    env_file.write_text("kept\n")
    refused = config_cli(app, "export-litellm", str(tmp_path / "other.yaml"), "--env-file",
                         str(env_file))
    assert refused.exit_code == 1 and "exists" in refused.output
    assert env_file.read_text() == "kept\n"
    env_file.chmod(0o644)
    forced = config_cli(app, "export-litellm", str(config), "--env-file", str(env_file),
                        "--force")
    assert forced.exit_code == 0, forced.output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert KEYS["openai"] in env_file.read_text()
