"""LiteLLMGateway: the ProviderGatewayPort on LiteLLM (chat) and httpx (models endpoints).

litellm is imported on first use, never at start (the import costs seconds and hundreds of
MB), with the offline switches set first (configapp/providers/offline.py: no cost map, tokenizer or
anything else fetched; no loading of .env into the environment, which would bring back
deleted keys), and with its Hugging Face tokenizer downloads turned off. Every call passes
the key and the base URL explicitly, and goes through an httpx client that never follows a
redirect, so a stored key reaches only the host it was saved for.

CONFIGAPP_PROVIDER_TIMEOUT is httpx's read timeout: the longest silence allowed between two
bytes from the provider, never a limit on a whole answer, so a long stream is not cut. A
stream's provider connection is remembered when it opens, so that `abort()` can shut it down
from another thread (the client went away) and the provider sees the request end at once.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
from cachetools import TTLCache

from configapp.log_lines import log_text
from configapp.providers import token_counting
from configapp.providers.apis import ModelsEndpointClient, provider_api
from configapp.providers.litellm_quiet import quiet_service_logging
from configapp.providers.llm import (
    MAX_ANSWER_CHARS,
    ChatMessage,
    ChatReply,
    ProviderError,
    ProviderStream,
    ProviderTimeoutError,
    ReachableModel,
    StreamChunk,
    Usage,
    describe_failure,
    host_of,
    kind_for_status,
    provider_name,
    reported_usage,
    shown_detail,
)
from configapp.providers.offline import stay_offline
from configapp.providers.outbound_http import outbound_client, refused_by_rules
from configapp.providers.support import AZURE_API_VERSION, support, unsupported_reason
from configapp.providers.wire_watch import AnswerTooLargeError, WireWatch, watch

if TYPE_CHECKING:
    from types import ModuleType

    from configapp.domain import ResolvedKey

log = logging.getLogger(__name__)

LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _usage(value: Any, provider: str) -> Usage | None:
    """The provider's counts; unknown (all None, with a warning) when not believable."""
    if value is None:
        return None
    counts = tuple(getattr(value, name, None)
                   for name in ("prompt_tokens", "completion_tokens", "total_tokens"))
    usage = reported_usage(*counts)
    if usage.unknown:
        log.warning("usage not believed provider=%s counts=%s: recorded as unknown",
                    log_text(provider), log_text(counts, 120))
    return usage


def _cut_json(body: bytes) -> bool:
    """Whether a plain answer's body is JSON that stops part-way (it ends in a string, or
    the parser ran off its end)."""
    text = body.strip()
    if not text.startswith(b"{"):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return error.msg.startswith("Unterminated string") or error.pos >= len(text) - 1
    except (ValueError, RecursionError):
        return False
    return False


class Upstream:
    """The provider connections one chat opened, a way to end them from any thread, and
    what their answers said on the wire."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []
        self.watches: list[tuple[httpx.Response, WireWatch]] = []
        self.aborted = False
        self._lock = threading.Lock()

    def opened(self, response: httpx.Response) -> None:
        self.responses.append(response)
        self.watches.append((response, watch(response)))

    @property
    def cut(self) -> bool:
        """The stream read last is one the provider did not say it finished."""
        streams = [seen for _, seen in self.watches if seen.event_stream]
        return bool(streams) and streams[-1].cut

    def cut_body(self) -> bytes | None:
        """The body of the plain answer read last, when it is JSON that stops part-way."""
        if not self.watches:
            return None
        response, seen = self.watches[-1]
        if seen.event_stream or not response.is_closed:
            return None
        try:
            body = response.content
        except httpx.ResponseNotRead:
            return None
        return body if _cut_json(body) else None

    def abort(self) -> None:
        """Shut the connections down: a FIN to the provider, and a read blocked on them
        returns at once. shutdown() goes through a duplicate of the descriptor: it ends the
        connection for every holder without touching the socket object that another thread
        may be reading through."""
        with self._lock:
            self.aborted = True
            for response in self.responses:
                network = response.extensions.get("network_stream")
                sock = network.get_extra_info("socket") if network is not None else None
                if sock is None:
                    continue
                with contextlib.suppress(OSError, ValueError), \
                        socket.socket(fileno=os.dup(sock.fileno())) as duplicate:
                    duplicate.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """The stream is over: its connections may go back to the pool, for others to use,
        so they are not this stream's to cut any more."""
        with self._lock:
            self.responses = []


@functools.lru_cache(maxsize=256)
def _bridged_to_responses(model_id: str, provider: str, base: str | None) -> bool:
    """Whether litellm sends this chat to the Responses API (gpt-5-pro, codex models):
    that path takes its HTTP handler, and given an OpenAI client it builds its own
    httpx client, which follows redirects. When unsure, the handler: a wrong client
    fails the call, it never sends the key elsewhere."""
    from litellm.responses.bridge_check import responses_api_bridge_check

    try:
        info, _ = responses_api_bridge_check(model=model_id.split("/", 1)[-1],
                                             custom_llm_provider=provider, api_base=base)
    except Exception:
        return True
    return info.get("mode") == "responses"


@functools.lru_cache(maxsize=256)
def _supported_parameters(model_id: str, provider: str) -> frozenset[str] | None:
    """litellm's list for the model: the same for the process's life (its version's)."""
    from litellm import get_supported_openai_params

    try:
        names = get_supported_openai_params(model=model_id.split("/", 1)[-1],
                                            custom_llm_provider=provider)
    except Exception:
        return None
    return frozenset(names) if names is not None else None


# Seconds between a worker's start and litellm's import in its background.
WARM_UP_DELAY = 2.0
# How long an SDK client (which holds its key) is reused: a replaced key's is gone by then.
SDK_CLIENT_SECONDS = 300.0
SDK_CLIENTS = 64


class LiteLLMGateway:
    """Chat through litellm.completion; key tests and discovery through models endpoints."""

    def __init__(self, chat_timeout: float = 60.0, check_timeout: float = 10.0,
                 network: httpcore.NetworkBackend | None = None) -> None:
        """`network`: how connections are made (the guarded backend unless given)."""
        self.chat_timeout = chat_timeout
        self.check_timeout = check_timeout
        self._http = outbound_client(chat_timeout, network,
                                     event_hooks={"response": [self._remember]})
        self._opening = threading.local()
        self._models = ModelsEndpointClient(self._http, check_timeout)
        self._module: ModuleType | None = None
        self._handler: Any = None
        self._lock = threading.Lock()
        self._sdk_clients: TTLCache[tuple[str, str, str | None], Any] = TTLCache(
            SDK_CLIENTS, SDK_CLIENT_SECONDS)
        self._sdk_clients_lock = threading.Lock()

    # ---- litellm, imported once, lazily -------------------------------------------------

    def litellm(self) -> ModuleType:
        """The litellm module, imported safely on first use."""
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = self._import()
        return self._module

    def _import(self) -> ModuleType:
        stay_offline()  # litellm reads some at import time
        import litellm
        from litellm.llms.custom_httpx.http_handler import HTTPHandler

        litellm.suppress_debug_info = True
        # Its per-piece success logging: for every piece of a stream, a task on its logging
        # pool that runs its callbacks (configapp registers none) in a new event loop: a
        # tenth or more of a stream's CPU, and a pool thread per piece in flight. What
        # stays (no switch for it): the logging object of each call, its cost calculation
        # (configapp prices from the catalogue, chat/pricing.py), and one success handler
        # per call on that pool (docs/providers.md, "litellm's own bookkeeping").
        litellm.disable_streaming_logging = True
        # Its service logging: an event loop per call for callbacks configapp never sets.
        quiet_service_logging()
        # Its token counting (ours, and its own inside a stream that carried no usage)
        # must never wait for the Hugging Face hub: see token_counting.py.
        litellm.disable_hf_tokenizer_download = True
        # The OpenAI SDK clients litellm builds itself also get the no-redirect client.
        litellm.client_session = self._http
        for name in LITELLM_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._handler = HTTPHandler(client=self._http)
        return litellm

    def warm_up(self, delay: float = WARM_UP_DELAY) -> threading.Thread:
        """Import litellm in the background, `delay` seconds from now, so that the first
        chat does not wait for it. Not at once: the import holds the GIL for seconds of
        CPU, and a worker's first requests (the catalogue, the pages) would share it; a
        chat in those seconds imports litellm itself."""
        thread = threading.Timer(delay, self.litellm)
        thread.name, thread.daemon = "litellm-import", True
        thread.start()
        return thread

    # ---- models endpoints ---------------------------------------------------------------

    def list_models(self, key: ResolvedKey) -> list[ReachableModel]:
        return self._models.list_models(key.provider, key.api_key, key.api_base)

    def supports_listing(self, provider: str, api_base: str | None) -> bool:
        api = provider_api(provider)
        return api is not None and api.base_for(api_base) is not None

    # ---- chat ---------------------------------------------------------------------------

    def complete(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
                 key: ResolvedKey) -> ChatReply:
        upstream = Upstream()
        self._opening.upstream = upstream
        try:
            response = self._call(model_id, messages, parameters, key, stream=False)
        finally:
            self._opening.upstream = None
            upstream.release()
        try:
            choice = response.choices[0]
            content = choice.message.content or ""
            finish = choice.finish_reason
            tool_calls = _dumped(getattr(choice.message, "tool_calls", None))
        except (AttributeError, IndexError) as error:
            raise ProviderError("provider_error", f"{provider_name(key.provider)} sent an "
                                                  "answer with no message in it.") from error
        if len(content) > MAX_ANSWER_CHARS:
            raise self._too_large(key)
        return ChatReply(content, finish, _usage(getattr(response, "usage", None), key.provider),
                         tool_calls)

    def stream(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
               key: ResolvedKey) -> ProviderStream:
        """Opens the stream and reads its first piece now, so that a refusal is raised here,
        before any byte is sent (some of litellm's streams only connect when first read).
        The connections opened meanwhile (in this thread) are the stream's upstream."""
        upstream = Upstream()
        self._opening.upstream = upstream
        try:
            response = self._call(model_id, messages, parameters, key, stream=True)
            pieces = self._pieces(response, key, upstream)
            first = next(pieces)
        finally:
            self._opening.upstream = None
        return ProviderStream(itertools.chain((first,), pieces), upstream.abort)

    def _remember(self, response: httpx.Response) -> None:
        """httpx's response hook: a connection opened by a stream being opened is its own."""
        upstream = getattr(self._opening, "upstream", None)
        if upstream is not None:
            upstream.opened(response)

    def _pieces(self, response: Any, key: ResolvedKey,
                upstream: Upstream) -> Iterator[StreamChunk]:
        """The stream's pieces. Until the provider has said something (text or usage), the
        pieces are held back: litellm makes up a "stop" for a stream it could not read.
        A stream that ends before the provider said it finished (on the wire: litellm makes
        up a "stop" for that too), or whose connection drops before it, ends with
        provider_stream_cut, after the text that came;
        one whose text passes MAX_ANSWER_CHARS with answer_too_large. A stream aborted
        because the client went away ends quietly."""
        said_anything = False
        held: list[StreamChunk] = []
        size = 0
        try:
            for chunk in response:
                usage = _usage(getattr(chunk, "usage", None), key.provider)
                for choice in chunk.choices or [None]:
                    content = (choice.delta.content or "") if choice is not None else ""
                    finish = choice.finish_reason if choice is not None else None
                    calls = _dumped(getattr(choice.delta, "tool_calls", None)) \
                        if choice is not None else ()
                    if not (content or finish or usage or calls):
                        continue
                    size += len(content) + sum(len(json.dumps(call)) for call in calls)
                    if size > MAX_ANSWER_CHARS:
                        raise self._too_large(key)
                    held.append(StreamChunk(content, finish, usage, calls))
                    said_anything = said_anything or bool(content or calls) or (
                        usage is not None)
                    if said_anything:
                        yield from held
                        held.clear()
        except ProviderError:
            raise
        except Exception as error:
            if upstream.aborted:
                return
            if said_anything and self._is_timeout(error):
                raise ProviderTimeoutError(
                    f"{provider_name(key.provider)} sent nothing for {self.chat_timeout:g} s at "
                    f"{host_of(self._base(key))}: the answer stops there.") from None
            if said_anything and upstream.cut and any(
                    isinstance(e, httpx.RemoteProtocolError | httpx.ReadError)
                    for e in _chain(error)):  # the connection dropped before the finish
                raise self._cut_short(key) from None
            raise self._failure(error, key) from None
        finally:
            upstream.release()
            close = getattr(response, "close", None)
            if callable(close):
                close()
        if upstream.aborted:
            return
        if not said_anything:
            raise ProviderError("provider_error", describe_failure(
                key.provider, "provider_error", None,
                f"the stream from {host_of(self._base(key))} carried no answer "
                "(is the base URL a chat API?)."))
        if upstream.cut:
            raise self._cut_short(key)

    def _cut_short(self, key: ResolvedKey) -> ProviderError:
        log.warning("stream cut provider=%s: it ended without a finish reason or [DONE]",
                    log_text(key.provider))
        return ProviderError("provider_stream_cut", (
            f"{provider_name(key.provider)}'s stream from {host_of(self._base(key))} ended "
            "before the provider said the answer was finished (no finish reason, no "
            "end marker): the answer is cut short."))

    def _too_large(self, key: ResolvedKey) -> ProviderError:
        return ProviderError("answer_too_large", (
            f"{provider_name(key.provider)}'s answer passed {MAX_ANSWER_CHARS:,} characters, "
            "the most one answer may hold here: it ends there."))

    def _base(self, key: ResolvedKey) -> str | None:
        api = provider_api(key.provider)
        return api.base_for(key.api_base) if api else key.api_base

    def _call(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
              key: ResolvedKey, stream: bool) -> Any:
        litellm = self.litellm()
        base = self._base(key)
        kwargs: dict[str, Any] = {
            "model": model_id,
            "messages": [m.wire() for m in messages],
            "api_key": key.api_key,
            "api_base": base,
            "timeout": self.chat_timeout,
            "max_retries": 0,
            "num_retries": 0,
            "drop_params": True,
            "client": self._client_for(model_id, key, base),
            **({"api_version": AZURE_API_VERSION} if key.provider == "azure" else {}),
            **parameters,
        }
        if stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        try:
            return litellm.completion(**kwargs)
        except Exception as error:
            raise self._failure(error, key) from None

    def count_tokens(self, model_id: str, messages: list[ChatMessage],
                     text: str) -> tuple[int, int]:
        """By the tokenizer litellm picks for the model when it is installed with the
        packages, else (or if counting fails) about four characters a token: never a
        download (token_counting.py)."""
        wire = [m.wire() for m in messages]
        try:
            return token_counting.count_tokens(self.litellm(), model_id, wire, text)
        except Exception as error:
            log.warning("token_counter failed model=%s error=%s; estimating", log_text(model_id),
                        type(error).__name__)
            return (token_counting.estimate_tokens(" ".join(m.content for m in messages)),
                    token_counting.estimate_tokens(text))

    def supported_parameters(self, model_id: str, provider: str) -> frozenset[str] | None:
        """The OpenAI parameters litellm sends on for this model (its drop_params rule);
        None when it does not know the provider (then it decides at the call)."""
        self.litellm()
        return _supported_parameters(model_id, provider)

    def _client_for(self, model_id: str, key: ResolvedKey, base: str | None) -> Any:
        """What litellm's path for this provider takes as `client` (providers/support.py), built on
        the guarded, never-redirecting httpx client: without one, litellm would build its
        own, which may follow redirects. An SDK client is reused for the same key and base
        URL for a few minutes: building one took about a tenth of a chat's CPU."""
        row = support(key.provider)
        if row is None:
            raise ProviderError("provider_error", unsupported_reason(key.provider))
        if row.client == "http" or _bridged_to_responses(model_id, key.provider, base):
            return self._handler
        wanted = (row.client, key.api_key, base)
        with self._sdk_clients_lock:
            client = self._sdk_clients.get(wanted)
        if client is None:
            client = self._sdk_client(row.client, key.api_key, base)
            with self._sdk_clients_lock:
                self._sdk_clients[wanted] = client
        return client

    def _sdk_client(self, kind: str, api_key: str, base: str | None) -> Any:
        import openai

        if kind == "azure":
            return openai.AzureOpenAI(api_key=api_key, azure_endpoint=base,
                                      api_version=AZURE_API_VERSION, http_client=self._http,
                                      max_retries=0, timeout=self.chat_timeout)
        return openai.OpenAI(api_key=api_key, base_url=base, http_client=self._http,
                             max_retries=0, timeout=self.chat_timeout)

    # ---- failures -----------------------------------------------------------------------

    def _is_timeout(self, error: BaseException) -> bool:
        timeouts = (httpx.TimeoutException, TimeoutError, self.litellm().Timeout)
        return any(isinstance(e, timeouts) for e in _chain(error))

    def _failure(self, error: Exception, key: ResolvedKey) -> ProviderError:
        """A ProviderError that says what went wrong, in the provider's words, keyless. Of
        an answer that is not a provider's JSON error, only its status and size are told."""
        chain = _chain(error)
        where = host_of(self._base(key))
        name = provider_name(key.provider)
        if any(isinstance(e, AnswerTooLargeError) for e in chain):
            return self._too_large(key)
        upstream = getattr(self._opening, "upstream", None)
        cut = upstream.cut_body() if upstream is not None else None
        if cut is not None:
            log.warning("answer cut provider=%s bytes=%s", log_text(key.provider), len(cut))
            return ProviderError("provider_answer_cut", (
                f"{name}'s answer from {where} stops part-way ({len(cut):,} bytes of JSON that "
                "never close): the connection ended before the answer was whole."))
        refused = refused_by_rules(error)
        if refused is not None:
            return ProviderError("bad_base_url", f"{name}: the base URL {where} is "
                                                 f"{refused}.")
        if self._is_timeout(error):
            return ProviderTimeoutError(
                f"{name} did not answer within {self.chat_timeout:g} s at {where}.")
        if any(isinstance(e, httpx.ConnectError | ConnectionError | socket.gaierror)
               for e in chain):
            return ProviderError("unreachable", f"{name} could not be reached at {where}.")
        # Only a status the provider really sent: litellm makes up a 500 for a garbled answer.
        answer = next((r for r in map(_real_response, chain) if r is not None), None)
        status = answer.status_code if answer is not None else None
        if status is not None and 300 <= status < 400:
            detail = "it answered with a redirect, which is not followed with a key."
        else:  # the answer's body, or litellm's text when the body was not kept
            body = _body_of(answer) if answer is not None else b""
            detail = shown_detail(body or str(error), key.api_key)
        kind = kind_for_status(status, detail) if status is not None else "provider_error"
        log.warning("provider call failed provider=%s kind=%s status=%s error=%s",
                    log_text(key.provider), kind, status, type(error).__name__)
        return ProviderError(kind, describe_failure(key.provider, kind, status, detail), status)


def _dumped(calls: Any) -> tuple[dict[str, Any], ...]:
    """litellm's tool calls (pydantic objects) as plain dicts in OpenAI's shape."""
    if not calls:
        return ()
    return tuple(call.model_dump(exclude_none=True) if hasattr(call, "model_dump")
                 else dict(call) for call in calls)


def _real_response(error: BaseException) -> Any:
    """The HTTP answer behind an error, when the provider really sent one: httpx's (the
    HTTP handler's paths) or the OpenAI SDK's (its paths)."""
    if isinstance(error, httpx.HTTPStatusError):
        return error.response
    if type(error).__module__.startswith("openai") and hasattr(error, "status_code"):
        return getattr(error, "response", None)
    return None


def _body_of(response: Any) -> bytes:
    try:
        return bytes(response.content)
    except Exception:  # a stream that was not read: its size is unknown, and nothing shown
        return b""
