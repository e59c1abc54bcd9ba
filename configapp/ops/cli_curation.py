"""`flask config models hide|show|visibility|alias|purpose|warnings`: the curation API's
twin for the shell. Each command calls the same ModelCuration method as its route."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext

from configapp.components import components
from configapp.domain import VisibilityChange
from configapp.ops.cli import models_commands, table
from configapp.ops.cli import show_model as show_default_model


def _by_provider(model_ids: Sequence[str]) -> dict[str, list[str]]:
    """Models grouped by their provider (unknown ones end the command with their name)."""
    config = components().config
    groups: dict[str, list[str]] = {}
    for model_id in model_ids:
        groups.setdefault(config.get_model(model_id).provider, []).append(model_id)
    return groups


def _echo_counts(entry: dict[str, Any]) -> None:
    mode = " (only the chosen ones)" if entry["only_chosen"] else ""
    click.echo(f"{entry['provider']}: {entry['shown']} of {entry['total']} models shown{mode}.")


@click.command("hide")
@with_appcontext
@click.argument("models", nargs=-1)
@click.option("--all-but", "keep", multiple=True, metavar="MODEL",
              help="Hide all of this model's provider's models but the ones given this way "
                   "(repeat it).")
def hide_models(models: tuple[str, ...], keep: tuple[str, ...]) -> None:
    """Hide models from the lists and from chat (PATCH /api/config/curation/{provider}).

    `hide openai/gpt-4o openai/gpt-4` hides those two; `hide --all-but openai/gpt-4o-mini
    --all-but openai/gpt-4o` hides every other openai model.
    """
    if not models and not keep:
        raise click.UsageError("Name the models to hide, or the ones to keep with --all-but.")
    curation = components().curation
    kept = _by_provider(keep)
    if len(kept) > 1:
        raise click.UsageError("--all-but takes models of one provider.")
    hidden = _by_provider(models)
    for provider in sorted(set(kept) | set(hidden)):
        _echo_counts(curation.change_visibility(VisibilityChange(
            provider, hide=tuple(hidden.get(provider, ())),
            only=tuple(kept[provider]) if provider in kept else None)))


@click.command("show")
@with_appcontext
@click.argument("models", nargs=-1)
@click.option("--all", "all_of", metavar="PROVIDER",
              help="Show every model of this provider again (forget its choices).")
def show_models(models: tuple[str, ...], all_of: str | None) -> None:
    """Show hidden models again (PATCH /api/config/curation/{provider}); with no argument,
    the default model, its parameters and their bounds (GET /api/config/models/selected)."""
    if not models and not all_of:
        show_default_model.callback()
        return
    curation = components().curation
    if all_of:
        _echo_counts(curation.change_visibility(VisibilityChange(all_of, show_all=True)))
    for provider, ids in sorted(_by_provider(models).items()):
        _echo_counts(curation.change_visibility(VisibilityChange(provider, show=tuple(ids))))


@click.command("visibility")
@with_appcontext
@click.option("--provider", help="Only this provider.")
@click.option("--all", "everyone", is_flag=True,
              help="Every provider, not only those with hidden models.")
def visibility(provider: str | None, everyone: bool) -> None:
    """How many of each provider's models are shown (GET /api/config/curation)."""
    entries = components().curation.counts(provider)
    if not (everyone or provider):
        entries = [e for e in entries if e["shown"] != e["total"] or e["only_chosen"]]
        if not entries:
            click.echo("Every model is shown.")
            return
    click.echo(table(["PROVIDER", "SHOWN", "MODE"], [
        [e["provider"], f"{e['shown']} of {e['total']}",
         "only chosen" if e["only_chosen"] else "all but hidden"] for e in entries]))


# ---- aliases ---------------------------------------------------------------------------

@click.group("alias", cls=AppGroup)
def alias_commands() -> None:
    """Aliases: a short name (fast, work/claude) for a model with its own parameters."""


def _parameters(values: tuple[str, ...]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for value in values:
        name, equals, number = value.partition("=")
        try:
            parameters[name.strip()] = float(number) if "." in number else int(number)
        except ValueError:
            raise click.BadParameter(f"{value!r}: expected name=number, e.g. temperature=0.2",
                                     param_hint="--param") from None
        if not equals:
            raise click.BadParameter(f"{value!r}: expected name=number", param_hint="--param")
    return parameters


def fallback_options(command: Any) -> Any:
    """--fallback (repeat it, in order) and --no-fallbacks, the same on aliases and purposes."""
    command = click.option("--no-fallbacks", is_flag=True,
                           help="Forget the fallbacks.")(command)
    return click.option("--fallback", "fallbacks", multiple=True, metavar="MODEL",
                        help="A model id or alias tried when the model is unavailable, in "
                             "order (repeat it; at most 3 attempts in all). Left out: the "
                             "fallbacks are kept.")(command)


def _fallbacks(fallbacks: tuple[str, ...], none: bool) -> tuple[str, ...] | None:
    if none and fallbacks:
        raise click.BadParameter("give --fallback or --no-fallbacks, not both",
                                 param_hint="--no-fallbacks")
    return () if none else (fallbacks or None)


def _then(fallbacks: tuple[str, ...]) -> str:
    return f", then {', '.join(fallbacks)}" if fallbacks else ""


@alias_commands.command("list")
def list_aliases() -> None:
    """Every alias and what it points at (GET /api/config/aliases)."""
    aliases = components().curation.aliases()
    if not aliases:
        click.echo("No aliases.")
        return
    click.echo(table(["ALIAS", "TARGET", "PARAMETERS", "FALLBACKS"], [
        [a.name, a.target, ", ".join(f"{k}={v}" for k, v in sorted(a.parameters.items())),
         ", ".join(a.fallbacks)]
        for a in sorted(aliases.values(), key=lambda a: a.name)]))


@alias_commands.command("set")
@click.argument("name")
@click.argument("model")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the alias, e.g. temperature=0.2 (repeat it).")
@fallback_options
def set_alias(name: str, model: str, params: tuple[str, ...], fallbacks: tuple[str, ...],
              no_fallbacks: bool) -> None:
    """Create or change an alias (PUT /api/config/aliases/{name})."""
    alias = components().curation.set_alias(name, model, _parameters(params),
                                            _fallbacks(fallbacks, no_fallbacks))
    click.echo(f"Alias {alias.name} -> {alias.target}{_then(alias.fallbacks)}.")


@alias_commands.command("delete")
@click.argument("name")
def delete_alias(name: str) -> None:
    """Delete an alias no purpose or alias uses (DELETE /api/config/aliases/{name})."""
    components().curation.delete_alias(name)
    click.echo(f"Deleted alias {name}.")


# ---- purposes --------------------------------------------------------------------------

@click.group("purpose", cls=AppGroup)
def purpose_commands() -> None:
    """A default model per purpose: chat (the default model), title, extension, and more."""


@purpose_commands.command("list")
def list_purposes() -> None:
    """Each purpose and its model, then the warnings (GET /api/config/purposes)."""
    curation = components().curation
    click.echo(table(["PURPOSE", "TARGET", "MODEL", "FALLBACKS"], [
        [p["name"], p["target"] or "(none)", p["model"]["id"] if p["model"] else "",
         ", ".join(p["fallbacks"])]
        for p in curation.purposes()]))
    _echo_warnings(curation.warnings())


@purpose_commands.command("set")
@click.argument("name")
@click.argument("model")
@fallback_options
def set_purpose(name: str, model: str, fallbacks: tuple[str, ...], no_fallbacks: bool) -> None:
    """Point a purpose at a model or an alias (PUT /api/config/purposes/{name})."""
    wanted = _fallbacks(fallbacks, no_fallbacks)
    resolved = components().curation.set_purpose(name, model, wanted)
    via = f" (alias {resolved.alias})" if resolved.alias else ""
    click.echo(f"Purpose {name}: {resolved.model.id}{via}{_then(wanted or ())}.")


@purpose_commands.command("clear")
@click.argument("name")
def clear_purpose(name: str) -> None:
    """Unset a purpose; chat then refuses it with 409 (DELETE /api/config/purposes/{name})."""
    components().curation.clear_purpose(name)
    click.echo(f"Purpose {name} has no model now.")


def _echo_warnings(warnings: list[dict[str, Any]]) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning['message']} {warning['action']}")


@click.command("warnings")
@with_appcontext
def warnings_command() -> None:
    """Purposes and aliases whose model is hidden, withdrawn, deprecated or has no key.

    Exit status 1 when there is any, so a deploy script can stop on it.
    """
    warnings = components().curation.warnings()
    if not warnings:
        click.echo("No warnings.")
        return
    _echo_warnings(warnings)
    raise SystemExit(1)


def add_curation_commands() -> None:
    """Add these to `flask config models` (`show` with models replaces the plain one)."""
    for command in (hide_models, show_models, visibility, alias_commands, purpose_commands,
                    warnings_command):
        models_commands.add_command(command)
