"""LiteLLMGateway: the ProviderGatewayPort on LiteLLM (chat) and httpx (models endpoints).

litellm is imported on first use, never at start (the import costs seconds and hundreds of
MB), with LITELLM_LOCAL_MODEL_COST_MAP (no download of the cost map) and
LITELLM_MODE=PRODUCTION (no loading of .env into the environment, which would bring back
deleted keys) set first. Every call passes the key and the base URL explicitly, and goes
through an httpx client that never follows a redirect, so a stored key reaches only the
host it was saved for.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from configapp.adapters.provider_apis import ModelsEndpointClient, provider_api
from configapp.llm import (
    ChatMessage,
    ChatReply,
    ProviderError,
    ProviderTimeoutError,
    ReachableModel,
    StreamChunk,
    Usage,
    describe_failure,
    host_of,
    kind_for_status,
    provider_name,
    safe_detail,
)

if TYPE_CHECKING:
    from types import ModuleType

    from configapp.service import ResolvedKey

log = logging.getLogger(__name__)

LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MODE": "PRODUCTION"}
LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _usage(value: Any) -> Usage | None:
    if value is None:
        return None
    return Usage(getattr(value, "prompt_tokens", None), getattr(value, "completion_tokens", None),
                 getattr(value, "total_tokens", None))


class LiteLLMGateway:
    """Chat through litellm.completion; key tests and discovery through models endpoints."""

    def __init__(self, chat_timeout: float = 60.0, check_timeout: float = 10.0) -> None:
        self.chat_timeout = chat_timeout
        self.check_timeout = check_timeout
        self._http = httpx.Client(follow_redirects=False, timeout=chat_timeout)
        self._models = ModelsEndpointClient(self._http, check_timeout)
        self._module: ModuleType | None = None
        self._handler: Any = None
        self._lock = threading.Lock()

    # ---- litellm, imported once, lazily -------------------------------------------------

    def litellm(self) -> ModuleType:
        """The litellm module, imported safely on first use."""
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = self._import()
        return self._module

    def _import(self) -> ModuleType:
        # litellm reads these at import time; they are its settings, not ours.
        os.environ.update(LITELLM_ENV)
        import litellm
        from litellm.llms.custom_httpx.http_handler import HTTPHandler

        litellm.suppress_debug_info = True
        # The OpenAI SDK clients litellm builds itself also get the no-redirect client.
        litellm.client_session = self._http
        for name in LITELLM_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._handler = HTTPHandler(client=self._http)
        return litellm

    def warm_up(self) -> threading.Thread:
        """Import litellm in the background, so that the first chat does not wait for it."""
        thread = threading.Thread(target=self.litellm, name="litellm-import", daemon=True)
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
        response = self._call(model_id, messages, parameters, key, stream=False)
        try:
            choice = response.choices[0]
            content = choice.message.content or ""
            finish = choice.finish_reason
        except (AttributeError, IndexError) as error:
            raise ProviderError("provider_error", f"{provider_name(key.provider)} sent an "
                                                  "answer with no message in it.") from error
        return ChatReply(content, finish, _usage(getattr(response, "usage", None)))

    def stream(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
               key: ResolvedKey) -> Iterator[StreamChunk]:
        """Opens the stream and reads its first piece now, so that a refusal is raised here,
        before any byte is sent (some of litellm's streams only connect when first read)."""
        response = self._call(model_id, messages, parameters, key, stream=True)
        pieces = self._pieces(response, key)
        first = next(pieces)
        return itertools.chain((first,), pieces)

    def _pieces(self, response: Any, key: ResolvedKey) -> Iterator[StreamChunk]:
        """The stream's pieces. Until the provider has said something (text or usage), the
        pieces are held back: litellm makes up a "stop" for a stream it could not read."""
        said_anything = False
        held: list[StreamChunk] = []
        try:
            for chunk in response:
                usage = _usage(getattr(chunk, "usage", None))
                for choice in chunk.choices or [None]:
                    content = (choice.delta.content or "") if choice is not None else ""
                    finish = choice.finish_reason if choice is not None else None
                    if not (content or finish or usage):
                        continue
                    held.append(StreamChunk(content, finish, usage))
                    said_anything = said_anything or bool(content) or usage is not None
                    if said_anything:
                        yield from held
                        held.clear()
        except Exception as error:
            raise self._failure(error, key) from None
        finally:
            close = getattr(response, "close", None)
            if callable(close):
                close()
        if not said_anything:
            raise ProviderError("provider_error", describe_failure(
                key.provider, "provider_error", None,
                f"the stream from {host_of(self._base(key))} carried no answer "
                "(is the base URL a chat API?)."))

    def _base(self, key: ResolvedKey) -> str | None:
        api = provider_api(key.provider)
        return api.base_for(key.api_base) if api else key.api_base

    def _call(self, model_id: str, messages: list[ChatMessage], parameters: dict[str, Any],
              key: ResolvedKey, stream: bool) -> Any:
        litellm = self.litellm()
        base = self._base(key)
        kwargs: dict[str, Any] = {
            "model": model_id,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "api_key": key.api_key,
            "api_base": base,
            "timeout": self.chat_timeout,
            "max_retries": 0,
            "num_retries": 0,
            "drop_params": True,
            "client": self._client_for(key, base),
            **parameters,
        }
        if stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        try:
            return litellm.completion(**kwargs)
        except Exception as error:
            raise self._failure(error, key) from None

    def _client_for(self, key: ResolvedKey, base: str | None) -> Any:
        if key.provider != "openai":
            return self._handler
        import openai

        return openai.OpenAI(api_key=key.api_key, base_url=base, http_client=self._http,
                             max_retries=0, timeout=self.chat_timeout)

    # ---- failures -----------------------------------------------------------------------

    def _failure(self, error: Exception, key: ResolvedKey) -> ProviderError:
        """A ProviderError that says what went wrong, in the provider's words, keyless."""
        chain = _chain(error)
        where = host_of(self._base(key))
        name = provider_name(key.provider)
        timeouts = (httpx.TimeoutException, TimeoutError, self.litellm().Timeout)
        if any(isinstance(e, timeouts) for e in chain):
            return ProviderTimeoutError(
                f"{name} did not answer within {self.chat_timeout:g} s at {where}.")
        if any(isinstance(e, httpx.ConnectError | ConnectionError | socket.gaierror)
               for e in chain):
            return ProviderError("unreachable", f"{name} could not be reached at {where}.")
        # Only a status the provider really sent: litellm makes up a 500 for a garbled answer.
        status = next((e.response.status_code for e in chain
                       if isinstance(e, httpx.HTTPStatusError)), None)
        detail = safe_detail(str(error), key.api_key)
        if status is not None and 300 <= status < 400:
            detail = "it answered with a redirect, which is not followed with a key."
        kind = kind_for_status(status, detail) if status is not None else "provider_error"
        log.warning("provider call failed provider=%s kind=%s status=%s error=%s",
                    key.provider, kind, status, type(error).__name__)
        return ProviderError(kind, describe_failure(key.provider, kind, status, detail), status)
