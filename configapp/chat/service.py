"""ChatService: asks the ConfigurationService for model, parameters and key at every
request, then calls the gateway, so a change made in Settings applies to the next message."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from configapp.chat.pricing import reply_cost
from configapp.chat.usage import UsageEntry, UsageService
from configapp.domain import ConfigurationError, ModelInfo, ResolvedKey, check_parameters
from configapp.keys.service import ConfigurationService
from configapp.log_lines import log_text
from configapp.ports import ProviderGatewayPort
from configapp.providers.llm import (
    CHAT_ROLES,
    ChatMessage,
    ChatReply,
    ProviderError,
    ProviderStream,
    StreamChunk,
    Usage,
)

if TYPE_CHECKING:
    from configapp.catalog.curation import ModelCuration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatPlan:
    """Everything one chat request will use, decided before the provider is called."""

    model: ModelInfo
    messages: tuple[ChatMessage, ...]
    parameters: dict[str, Any]
    key: ResolvedKey = field(repr=False)
    purpose: str | None = None


@dataclass(frozen=True)
class ChatResult:
    plan: ChatPlan
    reply: ChatReply
    latency_ms: float


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


class ChatService:
    """The plan's OrchestratorService: the chat rules, no HTTP and no litellm."""

    def __init__(self, config: ConfigurationService, gateway: ProviderGatewayPort,
                 *, curation: ModelCuration | None = None,
                 usage: UsageService | None = None) -> None:
        self.config = config
        self.gateway = gateway
        self.curation = curation  # aliases, purposes, hidden models (None: plain model ids)
        self.usage = usage

    def plan(self, messages: list[ChatMessage], model_id: str | None = None,
             overrides: dict[str, Any] | None = None, purpose: str | None = None) -> ChatPlan:
        """The model (named, an alias, a purpose's, else the selected one), its stored
        parameters (and an alias's) with the request's overrides (within the model's bounds),
        and the key by the priority rule. The key is resolved last, so a refused request
        does not count as a use of it."""
        with self.config.storage.reads_together():
            return self._plan(messages, model_id, overrides, purpose)

    def _plan(self, messages: list[ChatMessage], model_id: str | None,
              overrides: dict[str, Any] | None, purpose: str | None) -> ChatPlan:
        if not messages:
            raise ConfigurationError("Send at least one message.")
        unknown = sorted({m.role for m in messages} - set(CHAT_ROLES))
        if unknown:
            raise ConfigurationError(f"Unknown role {unknown[0][:20]!r}; use one of "
                                     f"{', '.join(CHAT_ROLES)}.")
        if self.curation is not None:
            target = self.curation.chat_target(model_id, purpose)
            model, stored = target.model, self.curation.parameters_of(target)
        elif purpose:
            raise ConfigurationError("Purposes need the model curation.")
        elif model_id:
            model = self.config.get_model(model_id)
            stored = self.config.stored_parameters(model.id)
        else:
            model, selected = self.config.selected_model()
            stored = selected.parameters
        parameters = check_parameters(model, {**stored, **(overrides or {})})
        if self.usage is not None:  # before the key is resolved: a refusal is not a use
            active = self.config.storage.active_api_key(model.provider)
            self.usage.check(model.provider, active.id if active else None)
        key = self.config.resolve_key(model.provider)
        # The ledger's purpose: the one asked for, or `chat` when the default model answers.
        return ChatPlan(model, tuple(messages), parameters, key,
                        purpose or (None if model_id else "chat"))

    def complete(self, plan: ChatPlan) -> ChatResult:
        started = time.perf_counter()
        try:
            reply = self.gateway.complete(plan.model.id, list(plan.messages), plan.parameters,
                                          plan.key)
        except ProviderError as error:
            self._log_failure(plan, error, started)
            raise
        latency = elapsed_ms(started)
        log.info("chat model=%s key_source=%s latency_ms=%s", log_text(plan.model.id),
                 plan.key.source,
                 latency)
        self._record(plan, "finished", reply.usage, reply.content)
        return ChatResult(plan, reply, latency)

    def stream(self, plan: ChatPlan) -> ProviderStream:
        """The provider's stream, opened now: a refusal raises here, not mid-stream. Its
        use is recorded when it ends, however it ends (close it to record a stop)."""
        started = time.perf_counter()
        try:
            chunks = self.gateway.stream(plan.model.id, list(plan.messages), plan.parameters,
                                         plan.key)
        except ProviderError as error:
            self._log_failure(plan, error, started)
            raise
        return ProviderStream(self._recorded(plan, chunks), abort=chunks.abort)

    def _recorded(self, plan: ChatPlan, chunks: Iterator[StreamChunk]) -> Iterator[StreamChunk]:
        """The chunks, passed on; at the end the ledger gets what was handed to the client:
        `finished`, `cut` (the stream ended before the provider said it finished), `failed`
        (the provider broke off, or the answer grew too large) or `stopped` (the client went
        away)."""
        delivered: list[str] = []
        usage: Usage | None = None
        outcome = "stopped"
        try:
            for chunk in chunks:
                usage = chunk.usage or usage
                if chunk.content:
                    delivered.append(chunk.content)
                yield chunk
            outcome = "finished"
        except ProviderError as error:
            outcome = "cut" if error.kind == "provider_stream_cut" else "failed"
            raise
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()
            if delivered or usage is not None:
                self._record(plan, outcome, usage if outcome == "finished" else None,
                             "".join(delivered), usage)

    def _record(self, plan: ChatPlan, outcome: str, usage: Usage | None, text: str,
                partial: Usage | None = None) -> None:
        """One ledger row. Counts the provider did not send are counted here (litellm's
        token_counter with a tokenizer it ships, else about four characters a token; never a
        download): a stopped stream's reply is counted from the text delivered, its prompt
        from the messages. Counts it sent but that could not be believed (usage.unknown)
        stay unknown: no tokens, no cost."""
        if self.usage is None:
            return
        if usage is not None and usage.unknown:
            prompt, completion, counted = None, None, False
        else:
            prompt, completion, counted = self._counts(plan, usage, text, partial)
        self.usage.record(UsageEntry(
            model=plan.model.id, provider=plan.model.provider, key_id=plan.key.key_id,
            key_source=plan.key.source, purpose=plan.purpose, outcome=outcome,
            prompt_tokens=prompt, completion_tokens=completion, tokens_counted=counted,
            cost=reply_cost(plan.model, prompt, completion), created_at=datetime.now(UTC)))

    def _counts(self, plan: ChatPlan, usage: Usage | None, text: str,
                partial: Usage | None) -> tuple[int | None, int | None, bool]:
        """(prompt, completion, whether counted here): the provider's, else counted."""
        prompt = usage.prompt_tokens if usage else None
        completion = usage.completion_tokens if usage else None
        if prompt is None and partial is not None:
            prompt = partial.prompt_tokens
        counted = prompt is None or completion is None
        if counted:
            try:
                counted_prompt, counted_completion = self.gateway.count_tokens(
                    plan.model.id, list(plan.messages), text)
            except Exception as error:  # counting is best effort, never the chat's failure
                log.warning("tokens not counted model=%s error=%s", log_text(plan.model.id),
                            type(error).__name__)
                counted_prompt = counted_completion = None
            prompt = counted_prompt if prompt is None else prompt
            completion = counted_completion if completion is None else completion
        return prompt, completion, counted

    @staticmethod
    def _log_failure(plan: ChatPlan, error: ProviderError, started: float) -> None:
        log.warning("chat failed model=%s kind=%s status=%s after_ms=%s", log_text(plan.model.id),
                    error.kind, error.status_code, elapsed_ms(started))
