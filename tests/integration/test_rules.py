"""The rules whose change once went unnoticed, each checked where it is enforced.

Every test here was seen to fail with its rule changed by hand (see docs/testing.md): the
token binding, the Host allow-list, adding an inactive key, credentials in a base URL from
every way in, where keys go, and the import running once. On a real database (SQLite and
PostgreSQL), real Fernet, real HTTP to the provider stand-in.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text

from configapp import create_app
from configapp.domain import ConfigurationError, LegacyImportError, NewApiKey
from tests.integration.support import ENV_TEXT, OPENAI_KEY, YAML_TEXT, at_head, dispose
from tests.provider_stub.fixtures import KEYS, MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "hello"}]
# A base URL that carries a secret as its user name: `urlsplit` calls it the username.
SECRET_IN_URL = "sk-secret-in-the-url-Z9y8"
URL_WITH_SECRET = f"http://{SECRET_IN_URL}@gw.example/v1"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def execute(settings, statement: str, **values) -> None:
    """Change the database behind the app's back, as a tampering or broken tool would."""
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text(statement), values)
    engine.dispose()


def chat(client, model: str):
    return client.post("/api/chat", json={"messages": HELLO, "model": model})


# ---- the token binding ----------------------------------------------------------------

def test_a_row_whose_base_url_was_changed_sends_its_key_nowhere(client, settings, stub,
                                                                other_stub):
    key = add_key(client, stub, "openai")
    assert chat(client, MODELS["openai"]).status_code == 200
    execute(settings, "UPDATE api_keys SET api_base = :base WHERE id = :id",
            base=other_stub.base("openai"), id=key["id"])
    # An edit behind the app's back does not move the settings revision: the chat's plan
    # cache (chat/plan_cache.py) may still hold the row as it was sealed, and then sends the
    # key where it was sealed for; never to the new base URL.
    chat(client, MODELS["openai"])
    assert other_stub.requests == []
    execute(settings, "UPDATE settings_revision SET counter = counter + 1")  # any change
    refused = chat(client, MODELS["openai"])
    assert refused.status_code == 503, refused.get_json()
    assert "does not belong to its row" in refused.get_json()["message"]
    assert other_stub.requests == []
    assert client.post(f"/api/config/api-keys/{key['id']}/test").status_code == 503
    assert other_stub.requests == []


def test_a_token_copied_to_another_row_of_the_same_provider_and_base_does_not_open(
        client, settings, stub):
    """Only the row id tells the two rows apart: the binding must include it."""
    spare = add_key(client, stub, "openai", key="sk-spare-openai-7777", is_active=False)
    active = add_key(client, stub, "openai")
    execute(settings, "UPDATE api_keys SET encrypted_key = "
                      "(SELECT encrypted_key FROM api_keys WHERE id = :spare) WHERE id = :id",
            spare=spare["id"], id=active["id"])
    refused = chat(client, MODELS["openai"])
    assert refused.status_code == 503, refused.get_json()
    assert stub.keys_seen() == set()


# ---- the Host allow-list -----------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.localhost", "evil.localhost:8000", "xlocalhost",
                                  "a.127.0.0.1", "localhost.", "evil[::1]"])
def test_a_host_that_only_ends_like_an_allowed_one_is_refused(client, host):
    response = client.get("/healthz", headers={"Host": host})
    assert response.status_code == 400
    assert "host" in response.get_json()["message"].lower()
    assert client.get("/healthz", headers={"Host": "localhost:8000"}).status_code == 200


# ---- one active key per provider, on the real storage ----------------------------------------

def test_adding_an_inactive_key_leaves_the_active_one_active(client, stub):
    active = add_key(client, stub, "openai")
    spare = add_key(client, stub, "openai", key="sk-spare-openai-7777", is_active=False)
    states = {k["id"]: k["is_active"] for k in client.get("/api/config/api-keys").get_json()}
    assert states == {active["id"]: True, spare["id"]: False}
    assert chat(client, MODELS["openai"]).status_code == 200
    assert stub.keys_seen() == {KEYS["openai"]}


# ---- credentials in a base URL, from every way in ---------------------------------------

def test_a_base_url_with_a_user_name_is_refused_from_the_cli(app):
    result = app.test_cli_runner().invoke(
        args=["config", "keys", "add", "openai", "--api-base", URL_WITH_SECRET],
        input="sk-cli-key-12345678\n")
    assert result.exit_code != 0
    assert "not in the base URL" in result.output and SECRET_IN_URL not in result.output
    with app.app_context():
        assert app.extensions["configapp"].config.list_api_keys() == []


def test_a_base_url_with_a_user_name_is_refused_from_the_env_import(make_settings):
    settings = at_head(make_settings())
    settings.env_file.write_text(f"OPENAI_API_KEY={OPENAI_KEY}\n"
                                 f"OPENAI_API_BASE={URL_WITH_SECRET}\n")
    with pytest.raises(LegacyImportError) as refused:
        create_app(settings)
    assert "not in the base URL" in str(refused.value)
    assert SECRET_IN_URL not in str(refused.value)


def test_a_base_url_with_a_user_name_is_refused_from_the_environment(make_settings):
    settings = replace(at_head(make_settings()), env_key_base_urls={"openai": URL_WITH_SECRET})
    with pytest.raises(ConfigurationError) as refused:
        create_app(settings)
    assert str(refused.value).startswith("The base URL for openai keys from the environment "
                                         "(CONFIGAPP_ENV_KEY_BASE_URLS): ")
    assert SECRET_IN_URL not in str(refused.value)


# ---- where keys go ---------------------------------------------------------------------------

def test_a_stored_key_without_a_base_url_never_goes_to_the_environment_keys_gateway(
        make_settings, other_stub):
    """CONFIGAPP_ENV_KEY_BASE_URLS is for the environment's keys only."""
    settings = quick_settings(make_settings,
                              provider_env={"OPENAI_API_KEY": "sk-env-openai-5555"},
                              env_key_base_urls={"openai": other_stub.base("openai")})
    app = create_app(settings)
    with app.app_context():
        service = app.extensions["configapp"].config
        assert service.resolve_key("openai").api_base == other_stub.base("openai")
        service.add_api_key(NewApiKey("openai", "sk-stored-openai-4444"))
        resolved = service.resolve_key("openai")
        assert (resolved.source, resolved.api_base) == ("database", None)
    dispose(app)


# ---- the one-time import -------------------------------------------------------------------

def test_after_the_import_a_broken_env_file_no_longer_matters(make_settings):
    """The import ran once; the .env left behind is not read or checked again."""
    settings = at_head(make_settings())
    settings.env_file.write_text(ENV_TEXT)
    settings.config_file.write_text(YAML_TEXT)
    dispose(create_app(settings))
    settings.env_file.write_text("OPENAI_API_KEY=short\nBROKEN='unterminated\n")
    settings.config_file.write_text("llm:\n  default_model: [broken\n")
    app = create_app(settings)
    with app.app_context():
        service = app.extensions["configapp"].config
        assert service.resolve_key("openai").api_key == OPENAI_KEY
    result = app.test_cli_runner().invoke(args=["config", "import-env"])
    assert result.exit_code == 0 and "already ran" in result.output
    dispose(app)
