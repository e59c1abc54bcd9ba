"""The import's reading rules: which variables, which base URL, which model; no database."""

from __future__ import annotations

import pytest

from configapp.domain import LegacyImportError, ModelInfo
from configapp.keys.env_import import LegacyImport, legacy_keys, read_default_model, read_env_file
from configapp.keys.service import ConfigurationService
from tests.fakes import FakeCatalog, FakeEncryption, FakeStorage


def test_a_missing_env_file_is_none_and_comments_quotes_and_blanks_are_understood(tmp_path):
    assert read_env_file(tmp_path / "absent") is None
    env = tmp_path / ".env"
    env.write_text("# old\nexport OPENAI_API_KEY='sk-a-1234567890'\nEMPTY=\n\nX=\"y\" # c\n"
                   "SPACES='   '\n")
    assert read_env_file(env) == {"OPENAI_API_KEY": "sk-a-1234567890", "X": "y"}


def test_a_malformed_env_file_names_the_line_but_not_its_content(tmp_path):
    env = tmp_path / ".env"
    env.write_text("GOOD=1\nSECRET='sk-secret-never-shown\n")
    with pytest.raises(LegacyImportError, match=r"line\(s\) 2 cannot be parsed") as error:
        read_env_file(env)
    assert "sk-secret" not in str(error.value)


def test_a_file_broken_on_many_lines_names_the_first_five(tmp_path):
    env = tmp_path / ".env"
    env.write_text("".join("=no-name\n" if n % 2 else "GOOD=1\n" for n in range(16)))
    with pytest.raises(LegacyImportError) as error:
        read_env_file(env)
    assert str(error.value) == f"{env} is malformed: line(s) 2, 4, 6, 8, 10 cannot be parsed."


def test_one_key_per_provider_in_priority_order_with_its_base_url():
    keys = legacy_keys({"GOOGLE_API_KEY": "g-old", "GEMINI_API_KEY": "g-new",
                        "OPENAI_API_KEY": "sk-o", "OPENAI_BASE_URL": "https://proxy/v1",
                        "ANTHROPIC_API_BASE": "https://ignored-without-a-key"})
    assert [(k.provider, k.variable, k.api_key, k.api_base) for k in keys] == [
        ("openai", "OPENAI_API_KEY", "sk-o", "https://proxy/v1"),
        ("gemini", "GEMINI_API_KEY", "g-new", None),
    ]
    assert "sk-o" not in repr(keys[0])


@pytest.mark.parametrize(("text", "expected"), [
    ("llm:\n  default_model: openai/gpt-4o-mini\n", ("openai/gpt-4o-mini", None)),
    ("llm:\n  default_model: gpt-4o-mini\n  provider: openai\n", ("gpt-4o-mini", "openai")),
    ("llm:\n  temperature: 0.2\n", None),
    ("other: 1\n", None),
    ("", None),
])
def test_the_default_model_and_its_provider_are_read(tmp_path, text, expected):
    config = tmp_path / "default.yaml"
    config.write_text(text)
    assert read_default_model(config) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("llm: [\n  secret: sk-in-the-yaml\n", "is not valid YAML at line 3, column 1: "),
    ("llm:\n  default_model: 'sk-in-the-yaml' y\n", "is not valid YAML at line 2, column 35: "
     "expected <block end>, but found '<scalar>'."),
    ("- a list\n", "default.yaml is malformed: the file must be a mapping"),
    ("llm: just-a-string\n", "default.yaml is malformed: llm must be a mapping"),
    ("llm:\n  default_model: 42\n", "default_model must be a model name"),
    ("llm:\n  default_model: x\n  provider: [1]\n", "llm.provider must be a provider name"),
])
def test_a_malformed_yaml_is_refused_without_quoting_it(tmp_path, text, message):
    config = tmp_path / "default.yaml"
    config.write_text(text)
    with pytest.raises(LegacyImportError, match=message) as error:
        read_default_model(config)
    assert "sk-in-the-yaml" not in str(error.value)


def test_a_file_that_is_not_utf8_is_refused_with_the_reason(tmp_path):
    for name, read in ((".env", read_env_file), ("default.yaml", read_default_model)):
        path = tmp_path / name
        path.write_bytes(b"llm:\n  default_model: caf\xe9\n")
        with pytest.raises(LegacyImportError) as refused:
            read(path)
        assert str(refused.value) == f"{path} cannot be read (UnicodeDecodeError)."


@pytest.fixture
def legacy(tmp_path):
    catalog = FakeCatalog(
        ModelInfo("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
        ModelInfo("azure/gpt-4o-mini", "azure", "gpt-4o-mini"),
        ModelInfo("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        ModelInfo("vertex_ai/gemini-2.5-flash", "vertex_ai", "gemini-2.5-flash"),
        ModelInfo("together_ai/shared", "together_ai", "shared"),
        ModelInfo("groq/shared", "groq", "shared"),
        ModelInfo("openrouter/openai/gpt-4o", "openrouter", "openai/gpt-4o"),
    )
    service = ConfigurationService(FakeStorage(), FakeEncryption(), catalog)
    return LegacyImport(service, FakeStorage(), tmp_path / ".env", tmp_path / "default.yaml")


@pytest.mark.parametrize(("name", "provider", "expected"), [
    ("openai/gpt-4o-mini", None, "openai/gpt-4o-mini"),
    ("gpt-4o-mini", "openai", "openai/gpt-4o-mini"),
    ("gemini-2.5-flash", "google", "gemini/gemini-2.5-flash"),
    ("gpt-4o-mini", None, "openai/gpt-4o-mini"),  # azure is not one of the .env providers
    ("gemini-2.5-flash", None, "gemini/gemini-2.5-flash"),  # nor is vertex_ai
    ("openai/gpt-4o-mini", "openai", "openai/gpt-4o-mini"),
    # LiteLLM's reading: the model "openai/gpt-4o" of the provider openrouter.
    ("openai/gpt-4o", "openrouter", "openrouter/openai/gpt-4o"),
])
def test_a_bare_model_name_resolves_to_one_catalogue_entry(legacy, name, provider, expected):
    assert legacy.resolve_model(name, provider).id == expected


@pytest.mark.parametrize(("name", "provider"), [
    ("gpt-5-imaginary", None), ("gpt-4o-mini", "anthropic"), ("shared", None),
    ("openai/unknown", None),
    # A name with a slash is provider/model, never a display name to look up.
    ("openai/gpt-4o", None),
    # With llm.provider, that provider's model or nothing: never another provider's.
    ("openai/gpt-4o-mini", "openrouter"),
])
def test_an_unknown_or_ambiguous_model_is_refused(legacy, name, provider):
    # "shared" is a bare name that two of the usual providers have: ambiguous.
    with pytest.raises(LegacyImportError, match="is not in the model catalogue"):
        legacy.resolve_model(name, provider)


def test_an_unknown_model_is_named_in_the_refusal_but_cut_at_200_characters(legacy):
    name = "m" * 300
    with pytest.raises(LegacyImportError) as refused:
        legacy.resolve_model(name, None)
    assert f"'{'m' * 200}' in {legacy.config_file} is not in the model catalogue" in str(
        refused.value)
    assert "listed by `flask --app wsgi config models list`." in str(refused.value)
