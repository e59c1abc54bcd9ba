"""Provider messages: the key scrubbed, litellm's wrapping removed, failures classified."""

import base64
import html
import json
import time
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configapp.domain import ConfigurationError, ResolvedKey, mask_key
from configapp.keys.service import ConfigurationService
from configapp.providers.apis import entry_model, list_key, next_query, provider_api
from configapp.providers.listing_reader import NotAListingError, read_listing
from configapp.providers.litellm_gateway import LiteLLMGateway
from configapp.providers.llm import (
    Usage,
    describe_failure,
    error_detail,
    host_of,
    kind_for_status,
    reported_usage,
    scrub,
    shown_detail,
)
from configapp.settings import Settings, base_urls
from tests.fakes import FakeCatalog, FakeEncryption, FakeStorage

KEY = "sk-proj-abcdef123456"


def test_scrub_masks_the_key_in_every_form():
    text = f"bad key {KEY}; url ?key=sk-proj-abcdef123456&x; json \"{KEY}\""
    cleaned = scrub(text, KEY)
    assert KEY not in cleaned and cleaned.count(mask_key(KEY)) == 3
    assert scrub("nothing", None, "") == "nothing"


@pytest.mark.parametrize(("raw", "detail"), [
    ("litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect key.",
     "Incorrect key."),
    ('litellm.BadRequestError: GeminiException BadRequestError - {"error": {"code": 400, '
     '"message": "API key not valid."}}', "API key not valid."),
    ("litellm.RateLimitError: AnthropicException - b'{\"type\": \"error\", \"error\": "
     "{\"type\": \"rate_limit_error\", \"message\": \"Slow down\"}}'", "Slow down"),
    ("litellm.InternalServerError: AnthropicException - Overloaded. Handle with "
     "`litellm.InternalServerError`.", "Overloaded"),
    ("litellm.MidStreamFallbackError: litellm.APIConnectionError: Vertex_ai_betaException - "
     "timed out Original exception: APIConnectionError: ...", "timed out"),
    ("plain words", "plain words"),
])
def test_error_detail_keeps_the_providers_words(raw, detail):
    assert error_detail(raw) == detail


def test_what_is_shown_is_scrubbed_before_it_is_cut():
    body = json.dumps({"error": {"message": "x" * 495 + KEY}})
    detail = shown_detail(body, KEY)
    assert detail.startswith("xxx") and "abcdef" not in detail and len(detail) <= 501


@pytest.mark.parametrize(("status", "body", "kind"), [
    (401, None, "invalid_key"), (403, None, "forbidden"), (429, None, "rate_limited"),
    (307, None, "bad_base_url"), (404, None, "bad_base_url"), (500, None, "provider_error"),
    (400, {"error": {"details": [{"reason": "API_KEY_INVALID"}]}}, "invalid_key"),
    (400, {"error": {"message": "context too long"}}, "provider_error"),
])
def test_statuses_are_classified(status, body, kind):
    assert kind_for_status(status, body) == kind


def test_host_of_shows_no_path_query_or_credentials():
    assert host_of("https://user:pw@gw.example:8443/v1?token=x") == "https://gw.example:8443"
    assert host_of(None) == "its public address"


def test_keys_without_a_base_url_go_to_the_providers_public_one():
    gateway = LiteLLMGateway()
    bases = {p: gateway._base(ResolvedKey(p, "k" * 10, None, "database"))
             for p in ("openai", "anthropic", "gemini")}
    assert bases == {"openai": "https://api.openai.com/v1",
                     "anthropic": "https://api.anthropic.com",
                     "gemini": "https://generativelanguage.googleapis.com/v1beta"}
    saved = ResolvedKey("openai", "k" * 10, "http://127.0.0.1:1/v1", "database")
    assert gateway._base(saved) == "http://127.0.0.1:1/v1"
    assert gateway.supports_listing("hosted_vllm", None) is False
    assert gateway.supports_listing("hosted_vllm", "http://127.0.0.1:1/v1") is True


def parse_page(dialect: str, body: object) -> tuple[list, dict[str, str] | None]:
    raw = json.dumps(body).encode()
    page = read_listing([raw[:7], raw[7:]], list_key(dialect), entry_model(dialect), 100, 10**6)
    return page.kept, next_query(dialect, page.fields)


def test_listing_pages_are_read_in_each_format():
    models, more = parse_page("gemini", {"models": [
        {"name": "models/gemini-x", "supportedGenerationMethods": ["generateContent"]},
        {"name": "models/embed", "supportedGenerationMethods": ["embedContent"]}],
        "nextPageToken": "abc"})
    assert [m.model_id for m in models] == ["gemini-x"] and more == {"pageToken": "abc"}
    models, more = parse_page("anthropic", {"data": [{"id": "claude-x"}], "has_more": True,
                                            "last_id": "claude-x"})
    assert more == {"after_id": "claude-x", "limit": "1000"}
    assert parse_page("openai", {"data": [{"id": "gpt-x"}]})[1] is None
    assert [m.model_id for m in parse_page("openai", [{"id": "t"}])[0]] == ["t"]  # Together
    assert provider_api("cohere_chat") is None


def test_a_listing_is_read_in_pieces_and_stops_at_its_bounds():
    body = json.dumps({"object": "list", "data": [{"id": f"m{i}", "n": [1, {"a": "é"}]}
                                                  for i in range(50)], "last_id": "m49"},
                      indent=1).encode()
    for size in (1, 3, 100, len(body)):
        pieces = [body[i:i + size] for i in range(0, len(body), size)]
        page = read_listing(pieces, "data", lambda e: e["id"], 100, 10**6)
        assert page.kept == [f"m{i}" for i in range(50)] and page.cut is None
        assert page.fields == {"object": "list", "last_id": "m49"}
    page = read_listing([b"\xef\xbb", b"\xbf" + body], "data", lambda e: e["id"], 100, 10**6)
    assert len(page.kept) == 50  # a byte-order mark is no reason to refuse a listing
    page = read_listing([body], "data", lambda e: e["id"], 10, 10**6)
    assert (len(page.kept), page.cut) == (10, "entries")
    page = read_listing([body[:400], body[400:]], "data", lambda e: e["id"], 100, 500)
    assert page.cut == "bytes" and 0 < len(page.kept) < 50 and page.bytes_read == 500


@pytest.mark.parametrize("answer", [
    b'{"data": [{"id": "a"}', b"<html>", b'{"data": [' + b"[" * 20000 + b"]" * 20000 + b"]}",
    b'{"x": ' + b"[" * 30000, b'{"data": [1]} more', b'{"data" [1]}', b""])
def test_what_is_no_models_list_is_refused_whole(answer):
    with pytest.raises(NotAListingError):
        read_listing([answer[i:i + 4096] for i in range(0, len(answer), 4096)], "data",
                     lambda e: e, 100, 10**6)


def test_the_environment_base_urls_setting_is_read_and_checked():
    env = {"CONFIGAPP_ENV_KEY_BASE_URLS": "openai=http://gw.local/v1, google=https://g/v1beta",
           "CONFIGAPP_PROVIDER_TIMEOUT": "30", "CONFIGAPP_PROVIDER_CHECK_TIMEOUT": "5"}
    settings = Settings.from_env(env)
    assert settings.env_key_base_urls == {"openai": "http://gw.local/v1",
                                          "google": "https://g/v1beta"}
    assert (settings.provider_timeout, settings.provider_check_timeout) == (30.0, 5.0)
    service = ConfigurationService(FakeStorage(), FakeEncryption(), FakeCatalog(), {},
                                   settings.env_key_base_urls)
    assert service.env_key_base_urls["gemini"] == "https://g/v1beta"
    with pytest.raises(ValueError, match="provider=url"):
        base_urls("openai")
    with pytest.raises(ConfigurationError, match="CONFIGAPP_ENV_KEY_BASE_URLS"):
        ConfigurationService(FakeStorage(), FakeEncryption(), FakeCatalog(), {},
                             {"openai": "file:///etc/passwd"})


TEXT_OR_BYTES = st.one_of(st.text(max_size=3000), st.binary(max_size=3000))


@settings(max_examples=300, deadline=None)
@given(TEXT_OR_BYTES)
def test_error_detail_and_what_is_shown_never_raise(text):
    assert isinstance(error_detail(text), str)
    assert len(shown_detail(text, KEY)) <= 501


@pytest.mark.parametrize("text", [
    "b'a'" + "+b'a'" * 6000,  # was a RecursionError in ast.literal_eval
    "litellm.APIError: b'" + "\\x" * 5000 + "'",
    "[" * 100_000, '{"error": ' * 30_000, "b'\\N{bad}'",
])
def test_error_detail_survives_hostile_bodies(text):
    assert isinstance(error_detail(text), str)
    assert isinstance(shown_detail(text.encode(), KEY), str)


def test_a_bytes_literal_is_read_without_evaluating_it():
    text = "AnthropicException - b'{\"error\": {\"message\": \"caf\\xc3\\xa9 closed\"}}'"
    assert error_detail(text) == "café closed"


def forms_of(key: str, left: str, right: str) -> list[str]:
    echoed = f"{left}{key}{right}"
    return [key, key.upper(), key.lower(), key.swapcase(), quote(key, safe=""),
            quote(key, safe="/"), quote(key, safe="").lower(), html.escape(key),
            json.dumps(key)[1:-1], base64.b64encode(echoed.encode()).decode(),
            base64.urlsafe_b64encode(echoed.encode()).decode()]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8,
               max_size=60),
       st.text(max_size=3), st.text(max_size=3))
def test_the_scrubber_catches_every_common_echo_of_the_key(key, left, right):
    for form in forms_of(key, left, right):
        cleaned = scrub(f"the key was <{form}> here", key)
        secret = key[len(mask_key(key).partition("***")[0]):]
        assert form not in cleaned or len(secret) < 8, (form, cleaned)


def test_a_failure_names_the_provider_as_people_know_it():
    assert describe_failure("openai", "provider_error", 500, "") == "OpenAI failed (HTTP 500)."
    assert describe_failure("gemini", "invalid_key", 400, "bad") == (
        "Google (Gemini) refused the API key (HTTP 400): bad")
    assert describe_failure("some_new_one", "unreachable", None, "") == (
        "some_new_one could not be reached.")


class ImportTimes(LiteLLMGateway):
    """The gateway, noting when each import of litellm begins (it may already be loaded:
    the import's own length says nothing of the delay before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.imports: list[float] = []

    def _import(self):
        self.imports.append(time.monotonic())
        return super()._import()


def test_the_background_import_of_litellm_waits_its_delay_then_imports_once():
    gateway = ImportTimes()
    asked = time.monotonic()
    thread = gateway.warm_up(delay=0.3)
    assert thread.daemon
    thread.join(timeout=120)
    assert not thread.is_alive()
    (began,) = gateway.imports
    assert began - asked >= 0.3
    assert gateway._module is not None and gateway._handler is not None
    assert gateway.litellm() is gateway._module and len(gateway.imports) == 1


@pytest.mark.parametrize(("counts", "believed"), [
    ((12, 7, 19), True), ((12, None, None), True), ((12.0, 7, 19), True), ((0, 0, 0), True),
    ((10_000_000, 0, 10_000_000), True), ((-1, 7, 6), False), ((12, 10_000_001, 12), False),
    ((12, 7, 10**15), False), ((12, 7.5, 19), False), ((True, 7, 8), False),
    (("12", 7, 19), False)])
def test_reported_usage_is_believed_only_as_whole_counts_within_the_bound(counts, believed):
    usage = reported_usage(*counts)
    assert usage.unknown is not believed
    if believed:
        assert usage == Usage(*(None if c is None else int(c) for c in counts))
        assert all(c is None or type(c) is int for c in (usage.prompt_tokens,
                                                          usage.completion_tokens))
