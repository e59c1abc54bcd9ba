"""Each provider's HTTP API as configapp uses it: public base URL, models endpoint, auth.

A base URL here means what LiteLLM takes as `api_base` for that provider, so that the key
test and the chat go to the same place: OpenAI and OpenAI-compatible servers end in `/v1`
(`https://api.openai.com/v1`, `http://localhost:11434/v1`), Anthropic has no version
(`https://api.anthropic.com`), Gemini ends in `/v1beta`.

The models endpoint is called with httpx directly (LiteLLM's helpers turn every error into
an empty list): never following a redirect, within one deadline for the whole listing, and
read as it arrives, at most MAX_LISTED_MODELS entries and MAX_LISTING_BYTES bytes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from configapp.log_lines import log_text
from configapp.providers.listing_reader import ListingPage, NotAListingError, read_listing
from configapp.providers.llm import (
    ProviderError,
    ProviderTimeoutError,
    ReachableModel,
    ReachableModels,
    describe_failure,
    host_of,
    kind_for_status,
    provider_name,
    shown_detail,
)
from configapp.providers.outbound_http import refused_by_rules, total_deadline
from configapp.providers.support import AZURE_API_VERSION, SUPPORTED

log = logging.getLogger(__name__)

# The bounds of one listing, all its pages together: past one, the models read so far are
# the listing, with a warning (docs/reliability.md, "Bounds").
MAX_LISTED_MODELS = 10_000
MAX_LISTING_BYTES = 8 * 1024 * 1024
MAX_PAGES = 20
ANTHROPIC_VERSION = "2023-06-01"
# Entries of an OpenAI-style listing that are not chat models (embeddings, speech, images).
NOT_CHAT = re.compile(r"embed|tts|whisper|dall-e|moderation|transcribe|image|audio|"
                      r"realtime|rerank|davinci|babbage", re.IGNORECASE)


@dataclass(frozen=True)
class ProviderApi:
    """How to reach one provider: its wire format and its public base URL, if it has one."""

    dialect: str
    public_base: str | None

    def base_for(self, api_base: str | None) -> str | None:
        return api_base or self.public_base


PROVIDER_APIS: dict[str, ProviderApi] = {
    name: ProviderApi(row.wire, row.public_base) for name, row in SUPPORTED.items()}
BASE_URL_HINTS = {
    "openai": "OpenAI-compatible base URLs usually end in /v1",
    "anthropic": "Anthropic's base URL has no /v1 (https://api.anthropic.com)",
    "gemini": "Gemini's base URL ends in /v1beta",
    "azure": "Azure's base URL is the resource's endpoint (https://NAME.openai.azure.com)",
}


def provider_api(provider: str) -> ProviderApi | None:
    return PROVIDER_APIS.get(provider)


def auth_headers(dialect: str, api_key: str) -> dict[str, str]:
    if dialect == "anthropic":
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
    if dialect == "gemini":
        return {"x-goog-api-key": api_key}
    if dialect == "azure":
        return {"api-key": api_key}
    return {"Authorization": f"Bearer {api_key}"}


def models_url(dialect: str, base: str) -> str:
    if dialect == "anthropic":
        return f"{base}/v1/models"
    if dialect == "azure":
        return f"{base}/openai/models"
    return f"{base}/models"


def first_query(dialect: str) -> dict[str, str]:
    if dialect == "anthropic":
        return {"limit": "1000"}
    if dialect == "azure":
        return {"api-version": AZURE_API_VERSION}
    return {}


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def list_key(dialect: str) -> str:
    """The field of a listing page that holds its entries (Together answers a bare list)."""
    return "models" if dialect == "gemini" else "data"


def entry_model(dialect: str) -> Callable[[Any], ReachableModel | None]:
    """What one entry of a page is: a chat model, or None (not one that can chat). Raises
    KeyError, TypeError or AttributeError for an entry that is not a model."""
    def gemini(entry: Any) -> ReachableModel | None:
        if "generateContent" not in entry.get("supportedGenerationMethods",
                                               ["generateContent"]):
            return None
        return ReachableModel(str(entry["name"]).removeprefix("models/"),
                              entry.get("displayName"), _as_int(entry.get("inputTokenLimit")),
                              _as_int(entry.get("outputTokenLimit")))

    def anthropic(entry: Any) -> ReachableModel:
        return ReachableModel(str(entry["id"]), entry.get("display_name"))

    def azure(entry: Any) -> ReachableModel | None:  # the resource's models that can chat
        if not (entry.get("capabilities") or {}).get("chat_completion", True):
            return None
        return ReachableModel(str(entry["id"]))

    def openai(entry: Any) -> ReachableModel:
        return ReachableModel(str(entry["id"]))

    return {"gemini": gemini, "anthropic": anthropic, "azure": azure}.get(dialect, openai)


def next_query(dialect: str, fields: dict[str, Any]) -> dict[str, str] | None:
    """The query that asks for the page after the one with these top-level fields."""
    if dialect == "gemini":
        token = fields.get("nextPageToken")
        return {"pageToken": str(token)} if token else None
    if dialect == "anthropic" and fields.get("has_more") and fields.get("last_id"):
        return {"after_id": str(fields["last_id"]), "limit": "1000"}
    return None


class ModelsEndpointClient:
    """Lists what a key can reach from the provider's models endpoint."""

    def __init__(self, http: httpx.Client, timeout: float) -> None:
        self.http = http
        self.timeout = timeout  # for the whole listing, every page, not for each read

    def list_models(self, provider: str, api_key: str, api_base: str | None
                    ) -> ReachableModels:
        """Every chat model the key can reach (the first MAX_LISTED_MODELS, with a warning
        past a bound); ProviderError (scrubbed) when refused or not a listing."""
        api = provider_api(provider)
        base = api.base_for(api_base) if api else None
        if api is None or base is None:
            raise ProviderError("provider_error",
                                f"Listing models is not available for {provider}.")
        models: list[ReachableModel] = []
        query: dict[str, str] | None = first_query(api.dialect)
        pages = entries = size = 0
        cut: str | None = None
        with total_deadline(self.timeout):
            while query is not None:
                if pages >= MAX_PAGES or entries >= MAX_LISTED_MODELS:
                    cut = "pages" if pages >= MAX_PAGES else "entries"
                    break
                page = self._get(provider, api.dialect, base, api_key, query,
                                 MAX_LISTED_MODELS - entries, MAX_LISTING_BYTES - size)
                models.extend(page.kept)
                entries, size = entries + page.entries_read, size + page.bytes_read
                pages += 1
                if page.cut is not None:
                    cut = page.cut
                    break
                query = next_query(api.dialect, page.fields)
        # An id with control characters (a line break) is no model id: it could only forge
        # log lines or break pages.
        models = [m for m in models if m.model_id.isprintable() and 0 < len(m.model_id) <= 200]
        if api.dialect in ("openai", "azure"):
            models = [m for m in models if not NOT_CHAT.search(m.model_id)]
        warning = None
        if cut is not None:
            warning = self._cut_warning(provider, cut, entries)
            log.warning("models list cut provider=%s bound=%s entries=%s bytes=%s",
                        log_text(provider), cut, entries, size)
        return ReachableModels(models, warning)

    @staticmethod
    def _cut_warning(provider: str, bound: str, entries: int) -> str:
        name = provider_name(provider)
        if bound == "pages":
            return (f"{name}'s models list has more than {MAX_PAGES} pages: only the first "
                    f"{MAX_PAGES} were read.")
        if bound == "bytes":
            return (f"{name}'s models list is larger than {MAX_LISTING_BYTES // 2**20} MB: "
                    f"only the {entries:,} models in its first {MAX_LISTING_BYTES // 2**20} MB "
                    "were read.")
        return (f"{name} lists more than {MAX_LISTED_MODELS:,} models: only the first "
                f"{MAX_LISTED_MODELS:,} were read.")

    def _not_a_listing(self, provider: str, dialect: str, base: str) -> ProviderError:
        return ProviderError("bad_base_url", describe_failure(
            provider, "bad_base_url", None,
            f"the answer at {host_of(base)} is not a models list ({BASE_URL_HINTS[dialect]})."))

    def _get(self, provider: str, dialect: str, base: str, api_key: str,
             query: dict[str, str], max_entries: int, max_bytes: int
             ) -> ListingPage[ReachableModel]:
        """One page, read as it arrives (a 2xx), or the ProviderError its answer means."""
        url = models_url(dialect, base)
        name = provider_name(provider)
        try:
            with self.http.stream("GET", url, params=query, headers=auth_headers(dialect, api_key),
                                  timeout=self.timeout, follow_redirects=False) as response:
                status = response.status_code
                if 200 <= status < 300:
                    return self._page(provider, dialect, base, response, max_entries,
                                      max_bytes)
                raw = response.read()  # bounded: outbound_http.bound_error_body
                location = response.headers.get("location")
        except httpx.TimeoutException as error:
            raise ProviderTimeoutError(
                f"{name} did not answer within {self.timeout:g} s at {host_of(base)} (the "
                "time allowed for its whole models list).") from error
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise ProviderError("bad_base_url", f"The base URL of this {name} key is not "
                                                "a usable http(s) URL.") from error
        except httpx.TransportError as error:
            refused = refused_by_rules(error)
            if refused is not None:
                raise ProviderError("bad_base_url", f"{name}: the base URL "
                                    f"{host_of(base)} is {refused}.") from error
            raise ProviderError("unreachable", f"{name} could not be reached at "
                                f"{host_of(base)} ({type(error).__name__}).") from error
        except httpx.HTTPError as error:
            raise ProviderError("provider_error", f"{name}'s answer could not be read "
                                                  f"({type(error).__name__}).") from error
        raise self._refusal(provider, dialect, base, api_key, status, raw, location)

    def _page(self, provider: str, dialect: str, base: str, response: httpx.Response,
              max_entries: int, max_bytes: int) -> ListingPage[ReachableModel]:
        """A 2xx answer's models; one that is no models list (not JSON, nested too deeply,
        malformed entries) is this provider's failure, never the caller's."""
        try:
            page = read_listing(response.iter_bytes(), list_key(dialect),
                                entry_model(dialect), max_entries, max_bytes)
        except (NotAListingError, KeyError, TypeError, AttributeError) as error:
            log.warning("not a models list provider=%s reason=%s", log_text(provider),
                        log_text(error, 80))
            raise self._not_a_listing(provider, dialect, base) from error
        if not page.listed and dialect != "gemini" and page.cut is None:
            raise self._not_a_listing(provider, dialect, base)  # Gemini omits an empty list
        return page

    def _refusal(self, provider: str, dialect: str, base: str, api_key: str, status: int,
                 raw: bytes, location: str | None) -> ProviderError:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        kind = kind_for_status(status, body)
        if 300 <= status < 400:
            detail = (f"it redirects to {host_of(location)}; redirects are not followed with "
                      "a key, save the key with the final base URL.")
        elif status in (404, 405):
            detail = (f"nothing at {host_of(base)} answers the models list "
                      f"({BASE_URL_HINTS[dialect]}).")
        else:
            detail = shown_detail(raw, api_key)
        return ProviderError(kind, describe_failure(provider, kind, status, detail), status)
