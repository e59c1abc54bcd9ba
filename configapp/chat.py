"""ChatService: asks the ConfigurationService for model, parameters and key at every
request, then calls the gateway, so a change made in Settings applies to the next message."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from configapp.domain import ConfigurationError, ModelInfo, check_parameters
from configapp.llm import CHAT_ROLES, ChatMessage, ChatReply, ProviderError, StreamChunk
from configapp.ports import ProviderGatewayPort
from configapp.service import ConfigurationService, ResolvedKey

if TYPE_CHECKING:
    from configapp.curation import ModelCuration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatPlan:
    """Everything one chat request will use, decided before the provider is called."""

    model: ModelInfo
    messages: tuple[ChatMessage, ...]
    parameters: dict[str, Any]
    key: ResolvedKey = field(repr=False)


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
                 curation: ModelCuration | None = None) -> None:
        self.config = config
        self.gateway = gateway
        self.curation = curation  # aliases, purposes, hidden models (None: plain model ids)

    def plan(self, messages: list[ChatMessage], model_id: str | None = None,
             overrides: dict[str, Any] | None = None, purpose: str | None = None) -> ChatPlan:
        """The model (named, an alias, a purpose's, else the selected one), its stored
        parameters (and an alias's) with the request's overrides (within the model's bounds),
        and the key by the priority rule. The key is resolved last, so a refused request
        does not count as a use of it."""
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
        key = self.config.resolve_key(model.provider)
        return ChatPlan(model, tuple(messages), parameters, key)

    def complete(self, plan: ChatPlan) -> ChatResult:
        started = time.perf_counter()
        try:
            reply = self.gateway.complete(plan.model.id, list(plan.messages), plan.parameters,
                                          plan.key)
        except ProviderError as error:
            self._log_failure(plan, error, started)
            raise
        latency = elapsed_ms(started)
        log.info("chat model=%s key_source=%s latency_ms=%s", plan.model.id, plan.key.source,
                 latency)
        return ChatResult(plan, reply, latency)

    def stream(self, plan: ChatPlan) -> Iterator[StreamChunk]:
        """The provider's stream, opened now: a refusal raises here, not mid-stream."""
        started = time.perf_counter()
        try:
            return self.gateway.stream(plan.model.id, list(plan.messages), plan.parameters,
                                       plan.key)
        except ProviderError as error:
            self._log_failure(plan, error, started)
            raise

    @staticmethod
    def _log_failure(plan: ChatPlan, error: ProviderError, started: float) -> None:
        log.warning("chat failed model=%s kind=%s status=%s after_ms=%s", plan.model.id,
                    error.kind, error.status_code, elapsed_ms(started))
