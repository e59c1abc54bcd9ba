"""ModelCuration: which models are shown, aliases, a default per purpose, and the warnings
when one of them points at a model that is going away.

The rules live here; the storage (configapp/catalog/sql_curation.py) runs each change in
one transaction that also moves the sync revision, and runs the checks that depend on
other rows (alias loops, an alias still in use) inside that transaction.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from configapp.domain import (
    Alias,
    ConfigurationError,
    ModelConfig,
    ModelInfo,
    ModelNotFoundError,
    Visibility,
    VisibilityChange,
    check_parameters,
    normalise_provider,
)
from configapp.keys.service import ConfigurationService
from configapp.log_lines import log_text
from configapp.ports import CurationStoragePort

audit = logging.getLogger("configapp.audit")

CHAT = "chat"
BUILTIN_PURPOSES = (CHAT, "title", "extension")
PURPOSE_PATTERN = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_PURPOSE_LENGTH = 40
ALIAS_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*$")
MAX_ALIAS_LENGTH = 64
MAX_ALIAS_DEPTH = 8
MAX_FALLBACKS = 4  # stored; at most chat/fallbacks.MAX_ATTEMPTS of them are ever called
MAX_BATCH = 2000


class ModelHiddenError(ConfigurationError):
    """The model is hidden by the curation: refused before any provider call (422)."""


class ModelUnavailableError(ConfigurationError):
    """A purpose with no model, or a change that would leave one pointing nowhere (409)."""


class AliasError(ConfigurationError):
    """An alias that would shadow a model, loop, or point at nothing (422)."""


class ProviderNotFoundError(ModelNotFoundError):
    """A provider no model or key is known for (404)."""


class CurationInputError(ConfigurationError):
    """Some models of a visibility change are unknown (422, by field)."""

    def __init__(self, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class Resolved:
    """What a model id, an alias or a purpose comes to: a model, and the parameters the
    aliases on the way add (the first alias named wins over those it points at)."""

    model: ModelInfo
    parameters: dict[str, Any]
    via: tuple[str, ...] = ()
    # What to try, in order, when `model` is unavailable: the purpose's, else the first
    # alias on the way that has some (never those of a fallback: no chains of fallbacks).
    fallbacks: tuple[str, ...] = ()

    @property
    def alias(self) -> str | None:
        return self.via[0] if self.via else None


def check_purpose_name(name: str) -> str:
    if len(name) > MAX_PURPOSE_LENGTH or not PURPOSE_PATTERN.match(name):
        raise ConfigurationError(
            f"'{name[:60]}' is not a purpose name: use lower-case letters and digits, "
            f"words joined by - or _, at most {MAX_PURPOSE_LENGTH} characters (e.g. title).")
    return name


def follow(name: str, aliases: dict[str, Alias]) -> tuple[str, dict[str, Any], tuple[str, ...]]:
    """(model id, parameters, aliases followed) for a name; AliasError on a loop."""
    parameters: dict[str, Any] = {}
    via: list[str] = []
    current = name
    while current in aliases:
        if current in via:
            raise AliasError(f"The aliases loop: {' -> '.join([*via, current])}.")
        if len(via) >= MAX_ALIAS_DEPTH:
            raise AliasError(f"An alias may point through at most {MAX_ALIAS_DEPTH} others.")
        via.append(current)
        alias = aliases[current]
        parameters = {**alias.parameters, **parameters}
        current = alias.target
    return current, parameters, tuple(via)


def fallback_loop(name: str, aliases: dict[str, Alias]) -> list[str] | None:
    """A path from the alias `name` back to itself through targets and fallbacks, if any:
    a loop an alias's fallbacks would make (fast -> [slow], slow -> [fast])."""
    def walk(current: str, path: list[str]) -> list[str] | None:
        alias = aliases.get(current)
        if alias is None:
            return None
        for step in (alias.target, *alias.fallbacks):
            if step == name:
                return [*path, step]
            if step not in path and len(path) <= 2 * MAX_ALIAS_DEPTH:
                found = walk(step, [*path, step])
                if found:
                    return found
        return None

    return walk(name, [name])


class ModelCuration:
    """The curation rules, on top of the ConfigurationService's catalogue and keys."""

    def __init__(self, config: ConfigurationService, storage: CurationStoragePort) -> None:
        self.config = config
        self.storage = storage

    # ---- visibility ------------------------------------------------------------------

    def visibility(self) -> Visibility:
        return self.storage.visibility()

    def visible(self, models: Iterable[ModelInfo],
                visibility: Visibility | None = None) -> list[ModelInfo]:
        shown = visibility or self.visibility()
        return [m for m in models if not shown.hides(m.id, m.provider)]

    def refuse_hidden(self, model: ModelInfo, visibility: Visibility | None = None) -> None:
        if (visibility or self.visibility()).hides(model.id, model.provider):
            raise ModelHiddenError(
                f"{model.id} is hidden. Show it again in Settings > Curation > Shown models "
                f"({model.provider}).")

    def counts(self, provider: str | None = None) -> list[dict[str, Any]]:
        """Per provider: how many of its models are shown ("12 of 400"). The models are
        LiteLLM's and those any instance's live listing named (stored), so that every
        worker counts the same."""
        visibility = self.visibility()
        models = self._all_models()
        wanted = normalise_provider(provider) if provider else None
        totals: Counter[str] = Counter()
        shown: Counter[str] = Counter()
        for model_id, model_provider in models.items():
            if wanted is not None and model_provider != wanted:
                continue
            totals[model_provider] += 1
            if not visibility.hides(model_id, model_provider):
                shown[model_provider] += 1
        return [{"provider": name, "total": totals[name], "shown": shown[name],
                 "only_chosen": name in visibility.only_chosen}
                for name in sorted(totals)]

    def _all_models(self) -> dict[str, str]:
        """Model id -> provider: LiteLLM's, this process's listings, and every instance's."""
        models = {model.id: model.provider
                  for model in self.config.catalog_source.catalog().models}
        for model_id, listed_by in self.storage.listed_models().items():
            models.setdefault(model_id, listed_by)
        return models

    def change_visibility(self, change: VisibilityChange) -> dict[str, Any]:
        """Apply one request's hide/show/only choices for a provider, all or nothing."""
        provider = normalise_provider(change.provider)
        if provider not in self.config.known_providers():
            raise ProviderNotFoundError(f"Unknown provider '{change.provider[:64]}'.")
        named = {"hide": change.hide, "show": change.show, "only": change.only or ()}
        if sum(len(ids) for ids in named.values()) > MAX_BATCH:
            raise ConfigurationError(f"At most {MAX_BATCH} models in one request.")
        errors: dict[str, list[str]] = {}
        known = self._all_models()
        for label, ids in named.items():
            for model_id in ids:
                problem = self._not_of(provider, model_id, known)
                if problem:
                    errors.setdefault(label, []).append(problem)
        if errors:
            raise CurationInputError("Some models are unknown or not of "
                                     f"{provider}: nothing was changed.", errors)
        self.storage.change_visibility(VisibilityChange(
            provider, tuple(change.hide), tuple(change.show),
            tuple(change.only) if change.only is not None else None, change.show_all))
        audit.info("model visibility changed provider=%s hide=%s show=%s only=%s all=%s",
                   log_text(provider), len(change.hide), len(change.show),
                   None if change.only is None else len(change.only), change.show_all)
        counted = self.counts(provider)
        return counted[0] if counted else {"provider": provider, "total": 0, "shown": 0,
                                           "only_chosen": False}

    def _not_of(self, provider: str, model_id: str, known: dict[str, str]) -> str | None:
        owner = known.get(model_id)
        if owner is None:
            try:
                owner = self.config.get_model(model_id).provider
            except ModelNotFoundError:
                return f"Unknown model '{model_id[:200]}'."
        if owner != provider:
            return f"{model_id} is a model of {owner}, not of {provider}."
        return None

    # ---- aliases ---------------------------------------------------------------------

    def aliases(self) -> dict[str, Alias]:
        return self.storage.aliases()

    def resolve(self, name: str, aliases: dict[str, Alias] | None = None) -> Resolved:
        """A model id or an alias, as the model it comes to (ModelNotFoundError if none)."""
        aliases = self.aliases() if aliases is None else aliases
        model_id, parameters, via = follow(name, aliases)
        try:
            model = self.config.get_model(model_id)
        except ModelNotFoundError:
            if via:
                raise ModelNotFoundError(f"The alias '{via[-1]}' points at '{model_id[:200]}', "
                                         "which is not a known model.") from None
            raise
        fallbacks = next((aliases[a].fallbacks for a in via if aliases[a].fallbacks), ())
        return Resolved(model, parameters, via, fallbacks)

    def check_target(self, name: str) -> Resolved:
        """A model id or an alias a setting may name: known, and not hidden."""
        resolved = self.resolve(name)
        self.refuse_hidden(resolved.model)
        return resolved

    def is_alias(self, name: str) -> bool:
        return name in self.aliases()

    def set_alias(self, name: str, target: str, parameters: dict[str, Any],
                  fallbacks: Iterable[str] | None = None) -> Alias:
        """Create or change an alias; it may not shadow a model nor make a loop (its
        fallbacks included). Its fallbacks are replaced when given, kept when None."""
        self._check_alias_name(name)
        if fallbacks is None:
            before = self.aliases().get(name)
            fallbacks = before.fallbacks if before else ()
        alias = Alias(name, target, dict(parameters), tuple(fallbacks))

        def check(current: dict[str, Alias]) -> tuple[str, str]:
            after = {**current, name: alias}
            resolved = self.resolve(name, after)  # loops and unknown targets raise here
            self.refuse_hidden(resolved.model)
            check_parameters(resolved.model, alias.parameters)
            check_parameters(resolved.model, resolved.parameters)
            loop = fallback_loop(name, after)
            if loop:
                raise AliasError(f"The fallbacks loop: {' -> '.join(loop)}.")
            self._check_fallbacks(resolved.model, alias.fallbacks, after)
            return resolved.model.id, resolved.model.provider

        stored = self.storage.put_alias(alias, check)
        audit.info("alias set name=%s target=%s", log_text(name), log_text(target))
        return stored

    def _check_fallbacks(self, model: ModelInfo, fallbacks: tuple[str, ...],
                         aliases: dict[str, Alias]) -> None:
        """Each fallback is checked like a target (known, not hidden), and comes to a model
        not tried before it: the target's or an earlier fallback's."""
        if len(fallbacks) > MAX_FALLBACKS:
            raise AliasError(f"At most {MAX_FALLBACKS} fallbacks.")
        tried = [model.id]
        for fallback in fallbacks:
            resolved = self.resolve(fallback, aliases)
            self.refuse_hidden(resolved.model)
            if resolved.model.id in tried:
                raise AliasError(f"The fallback '{fallback[:100]}' comes to "
                                 f"{resolved.model.id}, which is already tried before it.")
            tried.append(resolved.model.id)

    def _check_alias_name(self, name: str) -> None:
        if len(name) > MAX_ALIAS_LENGTH or not ALIAS_PATTERN.match(name):
            raise AliasError(
                f"'{name[:80]}' is not an alias name: lower-case letters, digits, '.', '_' "
                f"and '-', parts joined by '/', at most {MAX_ALIAS_LENGTH} characters "
                "(e.g. fast or work/claude).")
        first = name.split("/", 1)[0]
        catalog = self.config.catalog_source.catalog()
        if (name in catalog.by_id or self.config.storage.get_model_config(name) is not None
                or first in self.config.known_providers() or normalise_provider(first) != first):
            raise AliasError(f"'{name}' would shadow a model id (it names a provider or a "
                             "model): choose another name.")

    def delete_alias(self, name: str) -> None:
        purpose_fallbacks = self.storage.purpose_fallbacks()

        def check(aliases: dict[str, Alias], purposes: dict[str, str]) -> None:
            users = [f"purpose '{p}'" for p, target in sorted(purposes.items())
                     if target == name]
            users += [f"alias '{a.name}'" for a in aliases.values() if a.target == name]
            users += [f"the fallbacks of alias '{a.name}'" for a in aliases.values()
                      if name in a.fallbacks]
            users += [f"the fallbacks of purpose '{p}'" for p, models in
                      sorted(purpose_fallbacks.items()) if name in models]
            if users:
                raise ModelUnavailableError(
                    f"The alias '{name}' is in use by {', '.join(users)}: point "
                    f"{'it' if len(users) == 1 else 'them'} elsewhere first.")

        self.storage.delete_alias(name, check)
        audit.info("alias deleted name=%s", log_text(name))

    # ---- purposes --------------------------------------------------------------------

    def purposes(self) -> list[dict[str, Any]]:
        """Every purpose (the built-in ones even when unset) with what it resolves to."""
        stored = self.storage.purposes()
        fallbacks = self.storage.purpose_fallbacks()
        aliases = self.aliases()
        views = []
        for name in [*BUILTIN_PURPOSES, *sorted(set(stored) - set(BUILTIN_PURPOSES))]:
            target = stored.get(name)
            view: dict[str, Any] = {"name": name, "builtin": name in BUILTIN_PURPOSES,
                                    "target": target, "alias": None, "model": None,
                                    "parameters": {},
                                    "fallbacks": list(fallbacks.get(name, ()))}
            if target is not None:
                try:
                    resolved = self.resolve(target, aliases)
                except ConfigurationError:
                    pass
                else:
                    view.update(alias=resolved.alias, model=asdict(resolved.model),
                                parameters=self.parameters_of(resolved))
            views.append(view)
        return views

    def parameters_of(self, resolved: Resolved) -> dict[str, Any]:
        return {**self.config.stored_parameters(resolved.model.id), **resolved.parameters}

    def set_purpose(self, name: str, target: str,
                    fallbacks: Iterable[str] | None = None) -> Resolved:
        """Point a purpose at a model or an alias; `chat` is the default model. Its
        fallbacks are replaced when given, kept when None."""
        check_purpose_name(name)
        resolved = self.resolve(target)
        self.refuse_hidden(resolved.model)
        is_alias = bool(resolved.via)
        wanted = None if fallbacks is None else tuple(fallbacks)

        def check(aliases: dict[str, Alias]) -> None:
            if is_alias and target not in aliases:
                raise ModelNotFoundError(f"No alias named '{target[:100]}'.")
            if wanted is not None:
                self._check_fallbacks(self.resolve(target, aliases).model, wanted, aliases)

        self.storage.set_purpose(name, target if is_alias else resolved.model.id,
                                 None if is_alias else resolved.model.provider, check, wanted)
        audit.info("purpose set name=%s target=%s", log_text(name), log_text(target))
        return resolved

    def clear_purpose(self, name: str) -> None:
        check_purpose_name(name)
        if name not in self.storage.purposes():
            if name in BUILTIN_PURPOSES:
                return  # already unset: nothing to write
            raise ModelNotFoundError(f"No purpose named '{name}'.")
        self.storage.clear_purpose(name)
        audit.info("purpose cleared name=%s", log_text(name))

    def purpose_target(self, name: str) -> Resolved:
        """The model of a purpose; 409 when it has none (never another model instead)."""
        check_purpose_name(name)
        target = self.storage.purposes().get(name)
        where = "set one in Settings > Curation > Purposes"
        if target is None:
            raise ModelUnavailableError(f"No model is set for the purpose '{name}': {where}.")
        try:
            resolved = self.resolve(target)
            own = self.storage.purpose_fallbacks().get(name)
            return replace(resolved, fallbacks=own) if own else resolved
        except ModelNotFoundError as error:
            raise ModelUnavailableError(f"The purpose '{name}' has no usable model ({error}) "
                                        f"{where}.") from None

    def selected(self) -> tuple[Resolved, ModelConfig]:
        """The chat purpose as GET /models/selected shows it (404 when none is chosen)."""
        target = self.storage.purposes().get(CHAT)
        aliases = self.aliases()
        if target is None or target not in aliases:
            model, config = self.config.selected_model()
            return Resolved(model, {}, (), self.storage.purpose_fallbacks().get(CHAT, ())), config
        resolved = self.resolve(target, aliases)
        own = self.storage.purpose_fallbacks().get(CHAT)
        resolved = replace(resolved, fallbacks=own) if own else resolved
        stored = self.config.storage.get_model_config(resolved.model.id)
        config = ModelConfig(resolved.model.id, resolved.model.provider, True,
                             self.parameters_of(resolved),
                             stored.updated_at if stored else datetime.now(UTC))
        return resolved, config

    def select(self, name: str) -> tuple[Resolved, ModelConfig]:
        """POST /models/{name}/select: a model id or an alias becomes the chat purpose."""
        self.set_purpose(CHAT, name)
        return self.selected()

    def chat_target(self, model_id: str | None, purpose: str | None) -> Resolved:
        """What a chat request will use: the named model or alias, the purpose's model, or
        the chat purpose's; a hidden model is refused before any key is read."""
        if model_id and purpose:
            raise ConfigurationError("Send `model` or `purpose`, not both.")
        if model_id:
            resolved = self.resolve(model_id)
        elif purpose:
            resolved = self.purpose_target(purpose)
        else:
            resolved, _ = self.selected()
        self.refuse_hidden(resolved.model)
        return resolved

    # ---- models going away -----------------------------------------------------------

    def record_listing(self, provider: str, model_ids: Iterable[str]) -> None:
        """A provider's fresh listing: what it no longer lists is marked withdrawn."""
        listed = frozenset(model_ids)
        if not listed:  # an empty answer is more likely a glitch than the end of a provider
            return
        withdrawn = self.storage.record_listing(provider, listed)
        for model_id in withdrawn:
            audit.info("model withdrawn model=%s provider=%s", log_text(model_id),
                       log_text(provider))

    def withdrawn(self) -> dict[str, datetime]:
        return self.storage.withdrawn()

    def warnings(self) -> list[dict[str, Any]]:
        """What to do about each purpose and alias whose model is hidden, withdrawn, has a
        deprecation date, or whose provider has no key. Timeless (no "days left"), so the
        sync revision, which moves with every write, stays an exact ETag."""
        aliases = self.aliases()
        purposes = self.storage.purposes()
        visibility = self.visibility()
        withdrawn = self.withdrawn()
        configured = self.config.configured_providers()
        found: list[dict[str, Any]] = []
        subjects = [("purpose", name, target) for name, target in sorted(purposes.items())]
        subjects += [("alias", alias.name, alias.target) for alias in
                     sorted(aliases.values(), key=lambda a: a.name)]
        for kind, name, target in subjects:
            fix = (f"choose another model for the purpose '{name}' in Settings > Curation > "
                   "Purposes" if kind == "purpose" else
                   f"point the alias '{name}' at another model in Settings > Curation > Aliases")
            label = f"The {kind} '{name}'"

            def warn(problem: str, message: str, action: str, model: str | None,
                     date: str | None = None, kind: str = kind, name: str = name) -> None:
                found.append({"source": kind, "name": name, "kind": problem, "model": model,
                              "date": date, "message": message, "action": action})

            try:
                resolved = self.resolve(target, aliases)
            except ConfigurationError as error:
                warn("unknown_model", f"{label} points at nothing usable: {error}",
                     fix[0].upper() + fix[1:] + ".", target)
                continue
            model = resolved.model
            if visibility.hides(model.id, model.provider):
                warn("hidden", f"{label} uses {model.id}, which is hidden: chat refuses it.",
                     f"Show {model.id} again (Settings > Curation > Shown models, "
                     f"{model.provider}), or {fix}.",
                     model.id)
            if model.id in withdrawn:
                day = withdrawn[model.id].date().isoformat()
                warn("withdrawn", f"{label} uses {model.id}, which {model.provider} stopped "
                     f"listing on {day}.", fix[0].upper() + fix[1:] + ".", model.id, day)
            if model.deprecation_date:
                warn("deprecated", f"{label} uses {model.id}, which {model.provider} "
                     f"deprecates on {model.deprecation_date} (LiteLLM's metadata).",
                     fix[0].upper() + fix[1:] + " before then.", model.id,
                     model.deprecation_date)
            if model.provider not in configured:
                warn("no_key", f"{label} uses {model.id}, but {model.provider} has no API "
                     "key: chat answers 409.",
                     f"Add a key for {model.provider} in Settings > Keys, or {fix}.", model.id)
        return found

    # ---- the extension's snapshot ----------------------------------------------------

    def extend_snapshot(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The sync snapshot with purposes, aliases and warnings; `selected` is the chat
        purpose even when it points at an alias."""
        purposes = self.purposes()
        chat = next(p for p in purposes if p["name"] == CHAT)
        if chat["alias"] is not None and chat["model"] is not None:
            snapshot["selected"] = {"model": chat["model"], "parameters": chat["parameters"],
                                    "alias": chat["alias"]}
        snapshot["purposes"] = {p["name"]: {"target": p["target"], "alias": p["alias"],
                                            "model": p["model"]["id"] if p["model"] else None,
                                            "parameters": p["parameters"]}
                                for p in purposes}
        snapshot["aliases"] = {a.name: {"target": a.target, "parameters": a.parameters}
                               for a in sorted(self.aliases().values(), key=lambda a: a.name)}
        snapshot["warnings"] = [*snapshot.get("warnings", []), *self.warnings()]
        return snapshot
