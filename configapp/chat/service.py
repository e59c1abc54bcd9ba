"""ChatService: plans each chat from the settings (model, parameters, key, curation and
budgets), then calls the gateway. What the settings say is kept per settings revision
(chat/plan_cache.py): a chat reads the revision once, and any change, on any instance,
moves it, so a change made in Settings applies to the next message."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from configapp.chat.fallbacks import (
    BUDGET_SPENT,
    MAX_ATTEMPTS,
    UNAVAILABLE,
    Candidate,
    FellBack,
    fallback_reason,
)
from configapp.chat.plan_cache import Generation, PlanCache
from configapp.chat.pricing import reply_cost
from configapp.chat.usage import (
    Budget,
    BudgetExceededError,
    UsageEntry,
    UsageService,
    new_receipt,
)
from configapp.domain import ConfigurationError, ModelInfo, ResolvedKey, check_parameters
from configapp.keys.service import ActiveKey, ConfigurationService
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
T = TypeVar("T")


@dataclass(frozen=True)
class Route:
    """What the settings say a chat asking for (model, purpose) uses, before the request's
    overrides: the model, its stored parameters with its aliases', and its fallbacks with
    theirs. Kept per settings revision; never changed once built (shared by threads)."""

    model: ModelInfo
    stored: dict[str, Any]
    fallbacks: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class KeyState:
    """What the settings say of a provider's calls: its active stored key (None: the
    environment's, if any) and the budgets they count against. Kept per settings
    revision; the spending against the budgets is read at every chat."""

    active: ActiveKey | None
    budgets: tuple[Budget, ...] = ()


@dataclass(frozen=True)
class ChatPlan:
    """Everything one chat request will use, decided before the provider is called."""

    model: ModelInfo
    messages: tuple[ChatMessage, ...]
    parameters: dict[str, Any]
    key: ResolvedKey = field(repr=False)
    purpose: str | None = None
    client_id: int | None = None  # the client token that asked (access/clients.py)
    # OpenAI's other parameters (tools, response_format, seed...) that the model takes,
    # sent as they came; `dropped`: those asked for that it does not take (not sent).
    extras: dict[str, Any] = field(default_factory=dict, repr=False)
    dropped: tuple[str, ...] = ()
    # The alias's or purpose's fallbacks (chat/fallbacks.py); once answered, the models
    # that did not answer before the one that did.
    fallbacks: tuple[Candidate, ...] = ()
    fallback_from: tuple[FellBack, ...] = ()

    @property
    def sent_parameters(self) -> dict[str, Any]:
        return {**self.parameters, **self.extras} if self.extras else self.parameters


def _with_overrides(candidate: Candidate, overrides: dict[str, Any] | None) -> Candidate:
    """A fallback's parameters with the request's overrides, within its model's bounds."""
    if candidate.model is None:
        return candidate
    try:
        parameters = check_parameters(candidate.model,
                                      {**candidate.parameters, **(overrides or {})})
    except ConfigurationError as error:
        return Candidate(candidate.name, None, problem=str(error)[:200])
    return replace(candidate, parameters=parameters)


class AnsweringStream(ProviderStream):
    """A stream and the plan of the model answering it (a fallback's, if it fell back)."""

    def __init__(self, pieces: Iterator[StreamChunk], abort: Callable[[], None],
                 plan: ChatPlan, receipt: str) -> None:
        super().__init__(pieces, abort)
        self.plan = plan
        self.receipt = receipt  # its ledger row's name, for the client to read it back by


def _up_to_text(chunks: Iterator[StreamChunk]) -> list[StreamChunk]:
    """The stream's pieces up to its first piece of the answer, text or a tool call (all of
    them if it has none): until that is handed to the client, a failure may still fall
    back."""
    held: list[StreamChunk] = []
    for chunk in chunks:
        held.append(chunk)
        if chunk.content or chunk.tool_calls:
            break
    return held


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
                 usage: UsageService | None = None, cache: PlanCache | None = None) -> None:
        self.config = config
        self.gateway = gateway
        self.curation = curation  # aliases, purposes, hidden models (None: plain model ids)
        self.usage = usage
        self.cache = cache  # None: the settings are read at every chat (no revision read)

    def plan(self, messages: list[ChatMessage], model_id: str | None = None,
             overrides: dict[str, Any] | None = None, purpose: str | None = None,
             client_id: int | None = None, *,
             extras: dict[str, Any] | None = None) -> ChatPlan:
        """The model (named, an alias, a purpose's, else the selected one), its stored
        parameters (and an alias's) with the request's overrides (within the model's bounds),
        and the key by the priority rule. The key is resolved last, so a refused request
        does not count as a use of it. `extras`: OpenAI's other parameters, kept if the
        model takes them (litellm's rule), else dropped and named in the plan (as are
        overrides it does not take: litellm drops those at the call)."""
        generation = self._generation()  # before any read of the settings
        with self.config.storage.reads_together():
            plan = self._plan(messages, model_id, overrides, purpose, generation)
        if client_id is not None:
            plan = replace(plan, client_id=client_id)
        if extras is None or not (extras or overrides):  # nothing to check (/api/chat)
            return plan
        return self._with_extras(plan, extras, overrides or {})

    def _with_extras(self, plan: ChatPlan, extras: dict[str, Any],
                     overrides: dict[str, Any]) -> ChatPlan:
        takes = self.gateway.supported_parameters(plan.model.id, plan.model.provider)
        if takes is None:
            return replace(plan, extras=extras)
        dropped = tuple(sorted(name for name in {*extras, *overrides} if name not in takes))
        return replace(plan, extras={k: v for k, v in extras.items() if k in takes},
                       dropped=dropped)

    def _generation(self) -> Generation | None:
        """The settings revision (one statement) and the catalogue, read now."""
        if self.cache is None:
            return None
        return Generation(self.config.storage.revision(), self.config.catalog_source.catalog())

    def _cached(self, generation: Generation | None, key: tuple[Any, ...],
                build: Callable[[], T]) -> T:
        if generation is None or self.cache is None:
            return build()
        return self.cache.entry(generation, key, build)

    def _plan(self, messages: list[ChatMessage], model_id: str | None,
              overrides: dict[str, Any] | None, purpose: str | None,
              generation: Generation | None) -> ChatPlan:
        if not messages:
            raise ConfigurationError("Send at least one message.")
        # A tool's answer (role `tool`) is a message only with the call it answers.
        unknown = sorted({m.role for m in messages if not (
            m.role == "tool" and m.tool_call_id)} - set(CHAT_ROLES))
        if unknown:
            raise ConfigurationError(f"Unknown role {unknown[0][:20]!r}; use one of "
                                     f"{', '.join(CHAT_ROLES)}.")
        route = self._route(generation, model_id, purpose)
        fallbacks = tuple(_with_overrides(candidate, overrides)
                          for candidate in route.fallbacks)
        parameters = check_parameters(route.model, {**route.stored, **(overrides or {})})
        key = self._key(generation, route.model.provider)
        # The ledger's purpose: the one asked for, or `chat` when the default model answers.
        return ChatPlan(route.model, tuple(messages), parameters, key,
                        purpose or (None if model_id else "chat"), fallbacks=fallbacks)

    def _route(self, generation: Generation | None, model_id: str | None,
               purpose: str | None) -> Route:
        return self._cached(generation, ("route", model_id, purpose),
                            lambda: self._read_route(model_id, purpose))

    def _read_route(self, model_id: str | None, purpose: str | None) -> Route:
        """The named model or alias, the purpose's model, or the chat purpose's; a hidden
        model is refused before any key is read."""
        if self.curation is not None:
            target = self.curation.chat_target(model_id, purpose)
            return Route(target.model, self.curation.parameters_of(target),
                         tuple(self._candidate(name) for name in target.fallbacks))
        if purpose:
            raise ConfigurationError("Purposes need the model curation.")
        if model_id:
            model = self.config.get_model(model_id)
            return Route(model, self.config.stored_parameters(model.id))
        model, selected = self.config.selected_model()
        return Route(model, selected.parameters)

    def _candidate(self, name: str) -> Candidate:
        """A fallback with its stored parameters (the request's overrides are checked
        against its bounds per chat); what is wrong with it is told only if it is reached."""
        assert self.curation is not None
        try:
            resolved = self.curation.resolve(name)
            self.curation.refuse_hidden(resolved.model)
            parameters = self.curation.parameters_of(resolved)
        except ConfigurationError as error:
            return Candidate(name, None, problem=str(error)[:200])
        return Candidate(name, resolved.model, parameters)

    def _key(self, generation: Generation | None, provider: str) -> ResolvedKey:
        """The provider's key, used now, once its budgets allowed the chat (checked before
        the key is opened: a refusal is not a use). BudgetExceededError, or a
        ConfigurationError when it has no key."""
        state = self._cached(generation, ("key", provider), lambda: self._key_state(provider))
        if self.usage is not None:
            key_id = state.active.record.id if state.active else None
            self.usage.check(provider, key_id, state.budgets)
        return self.config.use_key(provider, state.active)

    def _key_state(self, provider: str) -> KeyState:
        active = self.config.active_key(provider)
        if self.usage is None:
            return KeyState(active)
        return KeyState(active, self.usage.budgets_for(
            provider, active.record.id if active else None))

    def _attempts(self, plan: ChatPlan, notes: list[FellBack]) -> Iterator[ChatPlan]:
        """The plan, then each fallback's ready to call, at most MAX_ATTEMPTS in all. A
        fallback whose budget is spent (or that has no key, or no usable model) is skipped
        and noted."""
        yield plan
        tried = 1
        for candidate in plan.fallbacks:
            if tried >= MAX_ATTEMPTS:
                return
            ready = self._fallback_plan(plan, candidate)
            if isinstance(ready, str):
                notes.append(FellBack(candidate.model.id if candidate.model else candidate.name,
                                      ready))
                continue
            tried += 1
            yield ready

    def _fallback_plan(self, plan: ChatPlan, candidate: Candidate) -> ChatPlan | str:
        """The plan for a fallback with its own provider's key, or why it is skipped."""
        if candidate.model is None:
            return candidate.problem or "unusable"
        try:  # the revision read again: a change made while the model before was tried counts
            key = self._key(self._generation(), candidate.model.provider)
        except BudgetExceededError:
            return BUDGET_SPENT
        except ConfigurationError:
            return "no key"
        return replace(plan, model=candidate.model, parameters=candidate.parameters, key=key)

    def _failed_attempt(self, attempt: ChatPlan, error: ProviderError, started: float,
                        notes: list[FellBack]) -> None:
        """Log and record an attempt that failed before its first byte; raise the error
        unless the rule lets the next model be tried."""
        self._log_failure(attempt, error, started)
        self._record_unavailable(attempt)
        reason = fallback_reason(error)
        if reason is None or not attempt.fallbacks:
            raise error
        notes.append(FellBack(attempt.model.id, reason))

    def complete(self, plan: ChatPlan) -> ChatResult:
        notes: list[FellBack] = []
        failure: ProviderError | None = None
        for attempt in self._attempts(plan, notes):
            started = time.perf_counter()
            try:
                reply = self.gateway.complete(attempt.model.id, list(attempt.messages),
                                              attempt.sent_parameters, attempt.key)
            except ProviderError as error:
                self._failed_attempt(attempt, error, started, notes)
                failure = error
                continue
            latency = elapsed_ms(started)
            log.info("chat model=%s key_source=%s latency_ms=%s", log_text(attempt.model.id),
                     attempt.key.source, latency)
            answered = replace(attempt, fallback_from=tuple(notes))
            self._record(answered, "finished", reply.usage, reply.content)
            return ChatResult(answered, reply, latency)
        assert failure is not None
        raise failure

    def stream(self, plan: ChatPlan) -> AnsweringStream:
        """The provider's stream, opened now and read up to its first piece of text: a
        refusal raises here, not mid-stream, and a failure before that text may fall back.
        Its use is recorded when it ends, however it ends (close it to record a stop);
        `.plan` is the plan of the model answering."""
        notes: list[FellBack] = []
        failure: ProviderError | None = None
        for attempt in self._attempts(plan, notes):
            started = time.perf_counter()
            try:
                chunks = self.gateway.stream(attempt.model.id, list(attempt.messages),
                                             attempt.sent_parameters, attempt.key)
            except ProviderError as error:
                self._failed_attempt(attempt, error, started, notes)
                failure = error
                continue
            answered = replace(attempt, fallback_from=tuple(notes))
            try:
                held = _up_to_text(chunks)
            except ProviderError as error:
                chunks.close()
                self._failed_attempt(attempt, error, started, notes)
                failure = error
                continue
            pieces = itertools.chain(held, chunks)
            receipt = new_receipt()
            return AnsweringStream(self._recorded(answered, pieces, chunks, receipt),
                                   chunks.abort, answered, receipt)
        assert failure is not None
        raise failure

    def _recorded(self, plan: ChatPlan, chunks: Iterator[StreamChunk],
                  source: Iterator[StreamChunk], receipt: str) -> Iterator[StreamChunk]:
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
            close = getattr(source, "close", None)
            if callable(close):
                close()
            if delivered or usage is not None:
                self._record(plan, outcome, usage if outcome == "finished" else None,
                             "".join(delivered), usage, receipt)

    def _record(self, plan: ChatPlan, outcome: str, usage: Usage | None, text: str,
                partial: Usage | None = None, receipt: str | None = None) -> None:
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
            cost=reply_cost(plan.model, prompt, completion), created_at=datetime.now(UTC),
            client_id=plan.client_id, receipt=receipt))

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

    def count_reply(self, messages: list[ChatMessage], text: str, model_id: str | None = None,
                    purpose: str | None = None) -> tuple[ModelInfo, int, int, float | None]:
        """(model, prompt tokens, reply tokens, cost) of a reply the provider sent no usage
        for, counted as the ledger counts a stopped one, so that the page shows the ledger's
        figures. No key is read and no provider is called."""
        model = self._route(self._generation(), model_id, purpose).model
        prompt, completion = self.gateway.count_tokens(model.id, messages, text)
        return model, prompt, completion, reply_cost(model, prompt, completion)

    def _record_unavailable(self, plan: ChatPlan) -> None:
        """A ledger row for an attempt that failed before its first byte: no tokens, and
        nothing spent, so the Usage card can count each model's failures."""
        if self.usage is None:
            return
        self.usage.record(UsageEntry(
            model=plan.model.id, provider=plan.model.provider, key_id=plan.key.key_id,
            key_source=plan.key.source, purpose=plan.purpose, outcome=UNAVAILABLE,
            client_id=plan.client_id,
            prompt_tokens=None, completion_tokens=None, tokens_counted=False, cost=0.0,
            created_at=datetime.now(UTC)))

    @staticmethod
    def _log_failure(plan: ChatPlan, error: ProviderError, started: float) -> None:
        log.warning("chat failed model=%s kind=%s status=%s after_ms=%s", log_text(plan.model.id),
                    error.kind, error.status_code, elapsed_ms(started))
