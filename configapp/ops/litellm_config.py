"""The LiteLLM Proxy's `config.yaml`, both ways: read into keys and aliases, and written
from configapp's aliases, purposes and default model with the keys in a separate env file.

What is read: `model_list` (each `model_name` and its `litellm_params`: `model`, `api_key`,
`api_base`, `custom_llm_provider` and the chat parameters configapp keeps),
`os.environ/NAME` references, and `router_settings.model_group_alias`. Everything else is
listed as ignored, with why. The format is LiteLLM's documented proxy config
(docs.litellm.ai, "Proxy Config.yaml").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from configapp.catalog.curation import ModelCuration
from configapp.domain import (
    ConfigurationError,
    ModelInfo,
    normalise_provider,
    parameter_bounds,
)
from configapp.keys.service import ConfigurationService
from configapp.ops.moving_in import AliasToMove, KeyToMove, MovingPlan, resolve_reference
from configapp.providers.support import AZURE_API_VERSION, SUPPORTED, unsupported_reason

MAX_CONFIG_BYTES = 5 * 1024 * 1024
# The chat parameters configapp keeps (domain.parameter_bounds: the same for every model).
KEPT_PARAMETERS = frozenset(parameter_bounds(ModelInfo("any/model", "any", "model")))
ROUTE_FIELDS = frozenset({"model", "api_key", "api_base", "custom_llm_provider"})
IGNORED_SECTIONS = {
    "litellm_settings": "litellm's own switches (callbacks, caching, drop_params, ...): "
                        "configapp sets litellm up itself",
    "general_settings": "the proxy's server settings (master_key, database_url, ...): "
                        "configapp has its own API token, client tokens and database",
    "environment_variables": "set variables in configapp's environment instead; keys are "
                             "imported from api_key",
    "callback_settings": "configapp sends no callbacks",
    "guardrails": "configapp has no guardrails",
    "credential_list": "reusable credentials are not imported: give each entry its api_key",
    "mcp_servers": "configapp has no MCP gateway",
}


class LiteLLMConfigError(ConfigurationError):
    """The file is not a LiteLLM Proxy config configapp can read."""


def load_config(text: str) -> dict[str, Any]:
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise LiteLLMConfigError("The config is larger than 5 MB; a LiteLLM config is a few KB.")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise LiteLLMConfigError(f"The config is not valid YAML{where}.") from None
    if not isinstance(document, dict):
        raise LiteLLMConfigError("The config must be a YAML mapping with a model_list.")
    return document


@dataclass(frozen=True)
class Route:
    """A `model_list` entry's model as configapp names it (`provider/model`)."""

    provider: str
    model_id: str


def route_of(model: Any, custom_provider: Any, config: ConfigurationService) -> Route:
    """The configapp model id for litellm's `model` (and `custom_llm_provider`)."""
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError("litellm_params.model must be a model name")
    model = model.strip()
    if isinstance(custom_provider, str) and custom_provider.strip():
        provider = normalise_provider(custom_provider)
        name = model.removeprefix(f"{provider}/")
    elif "/" in model:
        prefix, name = model.split("/", 1)
        provider = normalise_provider(prefix)
    else:  # litellm infers the provider of a bare name from its model map: so do we
        owners = sorted(m.provider for m in config.catalog_source.catalog().models
                        if m.id == f"{m.provider}/{model}")
        if not owners:
            raise ConfigurationError(f"'{model[:100]}' names no provider: write it as "
                                     "provider/model")
        provider, name = ("openai" if "openai" in owners else owners[0]), model
    if provider not in SUPPORTED:
        raise ConfigurationError(unsupported_reason(provider))
    return Route(provider, f"{provider}/{name}")


def read_litellm_config(document: dict[str, Any], environ: dict[str, str],
                        config: ConfigurationService) -> MovingPlan:
    """The keys and aliases a LiteLLM config asks for, and a line for everything else."""
    plan = MovingPlan()
    for section in sorted(set(document) - {"model_list", "router_settings"}):
        plan.note("ignored", section, IGNORED_SECTIONS.get(
            section, "not a part of the LiteLLM config configapp reads"))
    entries = document.get("model_list") or []
    if not isinstance(entries, list):
        raise LiteLLMConfigError("model_list must be a list of entries.")
    became: dict[str, str] = {}  # model_name -> the alias or model id it became
    seen_keys: dict[tuple[str, str | None], tuple[str, str]] = {}
    for index, entry in enumerate(entries):
        _read_entry(index, entry, environ, config, plan, became, seen_keys)
    _read_router_settings(document.get("router_settings"), plan, became)
    return plan


def _read_entry(index: int, entry: Any, environ: dict[str, str], config: ConfigurationService,
                plan: MovingPlan, became: dict[str, str],
                seen_keys: dict[tuple[str, str | None], tuple[str, str]]) -> None:
    where = f"model_list[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("litellm_params"), dict):
        plan.note("skipped", where, "an entry needs model_name and litellm_params")
        return
    name = entry.get("model_name")
    if not isinstance(name, str) or not name.strip():
        plan.note("skipped", where, "an entry needs a model_name")
        return
    name = name.strip()
    where = f"{where} {name}"
    for extra in sorted(set(entry) - {"model_name", "litellm_params"}):
        plan.note("ignored", where, f"{extra}: configapp reads model facts from its catalogue"
                  if extra == "model_info" else f"{extra}: not a field configapp reads")
    params: dict[str, Any] = {}
    for field_name, raw in entry["litellm_params"].items():
        value, unset = resolve_reference(raw, environ)
        if unset:  # an entry without its key or address would chat with something else
            plan.note("skipped", where, f"{field_name}: {unset}")
            return
        params[field_name] = value
    try:
        route = route_of(params.get("model"), params.get("custom_llm_provider"), config)
    except ConfigurationError as error:
        plan.note("skipped", where, f"model {str(params.get('model'))[:100]}: {error}")
        return
    if name in became:
        plan.note("skipped", where, f"another deployment of '{name}': configapp sends a name "
                  "to one model (load balancing is not imported); the first one is kept")
        return
    _read_key(where, route, params, plan, seen_keys)
    parameters = {k: v for k, v in params.items() if k in KEPT_PARAMETERS}
    for field_name in sorted(set(params) - ROUTE_FIELDS - KEPT_PARAMETERS):
        plan.note("ignored", where, f"{field_name}: " + (
            f"configapp calls Azure with API version {AZURE_API_VERSION}"
            if field_name == "api_version" else
            "not a setting configapp keeps (it keeps "
            f"{', '.join(sorted(KEPT_PARAMETERS))})"))
    if name in (route.model_id, route.model_id.split("/", 1)[1]):
        became[name] = route.model_id
        kept = f"; its parameters ({', '.join(sorted(parameters))}) are not imported: set " \
               "them on the model in Settings (Models)" if parameters else ""
        plan.note("mapped", where, f"'{name}' is the model {route.model_id} itself: no alias "
                  f"needed{kept}")
        return
    became[name] = name
    plan.aliases.append(AliasToMove(name, route.model_id, parameters, where))


def _read_key(where: str, route: Route, params: dict[str, Any], plan: MovingPlan,
              seen_keys: dict[tuple[str, str | None], tuple[str, str]]) -> None:
    api_key, api_base = params.get("api_key"), params.get("api_base")
    if api_base is not None and not isinstance(api_base, str):
        plan.note("skipped", where, "api_base: must be a URL")
        return
    if api_key is None:
        plan.note("mapped", where, f"no api_key: chats use configapp's key for {route.provider}")
        return
    if not isinstance(api_key, str):
        plan.note("skipped", where, "api_key: must be text")
        return
    base = api_base.strip().rstrip("/") if api_base else None
    if base == (SUPPORTED[route.provider].public_base or "").rstrip("/"):
        base = None  # the provider's own public address: what a key without a base uses
    seen = seen_keys.get((route.provider, base))
    if seen is not None:
        if seen[0] != api_key:
            plan.note("skipped", where, f"api_key: a second key for {route.provider} at "
                      f"{base or 'its public address'}: configapp keeps one per provider and "
                      f"base URL, the one of {seen[1]}")
        return
    seen_keys[(route.provider, base)] = (api_key, where)
    plan.keys.append(KeyToMove(route.provider, api_key.strip(), base, where))


def _read_router_settings(settings: Any, plan: MovingPlan, became: dict[str, str]) -> None:
    if settings is None:
        return
    if not isinstance(settings, dict):
        plan.note("skipped", "router_settings", "must be a mapping")
        return
    for name in sorted(set(settings) - {"model_group_alias"}):
        plan.note("ignored", f"router_settings.{name}",
                  "configapp sends each name to one model: no routing strategy, retries or "
                  "load balancing to import")
    groups = settings.get("model_group_alias") or {}
    if not isinstance(groups, dict):
        plan.note("skipped", "router_settings.model_group_alias", "must be a mapping")
        return
    for alias, target in groups.items():
        where = f"router_settings.model_group_alias {alias}"
        if isinstance(target, dict):  # {model: name, hidden: true}: the newer form
            target = target.get("model")
        if not isinstance(target, str) or not isinstance(alias, str):
            plan.note("skipped", where, "an alias names a model_name")
            continue
        if target not in became:
            plan.note("skipped", where, f"'{target[:100]}' is not a model_name that was "
                      "imported")
            continue
        plan.aliases.append(AliasToMove(alias, became[target], {}, where))


# ---- moving out ------------------------------------------------------------------------

def key_variable(provider: str) -> str:
    return f"CONFIGAPP_{re.sub(r'[^A-Z0-9]', '_', provider.upper())}_KEY"


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]
    environment: dict[str, str]
    lines: tuple[str, ...]


def export_litellm(config: ConfigurationService, curation: ModelCuration) -> Export:
    """The aliases, the purposes' models and the default as a LiteLLM config, the keys as
    `os.environ/CONFIGAPP_<PROVIDER>_KEY` references, and their values for the env file."""
    aliases = curation.aliases()
    entries: dict[str, dict[str, Any]] = {}
    groups: dict[str, str] = {}
    lines: list[str] = []
    for name, alias in sorted(aliases.items()):
        if alias.target in aliases and not alias.parameters:
            groups[name] = alias.target
            continue
        resolved = curation.resolve(name, aliases)
        entries[name] = _entry(resolved.model.id, resolved.model.provider,
                               curation.parameters_of(resolved))
    for purpose in curation.purposes():
        model = purpose["model"]
        if purpose["target"] is None or purpose["alias"] or model is None:
            continue
        entries.setdefault(model["id"], _entry(model["id"], model["provider"],
                                               config.stored_parameters(model["id"])))
        lines.append(f"purpose {purpose['name']}: model_name {model['id']}")
    environment: dict[str, str] = {}
    for provider in sorted({entry["provider"] for entry in entries.values()}):
        key = _key_of(config, provider)
        variable = key_variable(provider)
        if key is None:
            lines.append(f"{provider}: no key in configapp; set {variable} before starting "
                         "the proxy")
            continue
        environment[variable], base = key
        for entry in entries.values():
            if entry["provider"] == provider and base:
                entry["litellm_params"]["api_base"] = base
        lines.append(f"{provider}: key in {variable}" + (f", api_base {base}" if base else ""))
    model_list = [{"model_name": name, "litellm_params": entry["litellm_params"]}
                  for name, entry in entries.items()]
    document: dict[str, Any] = {"model_list": model_list}
    if groups:
        document["router_settings"] = {"model_group_alias": groups}
    lines[:0] = [f"model_name {name}: {entry['litellm_params']['model']}"
                 for name, entry in entries.items()]
    lines += [f"model_group_alias {name}: {target}" for name, target in groups.items()]
    return Export(document, environment, tuple(lines))


def _entry(model_id: str, provider: str, parameters: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"model": model_id,
                              "api_key": f"os.environ/{key_variable(provider)}"}
    if provider == "azure":
        params["api_version"] = AZURE_API_VERSION
    params.update(sorted(parameters.items()))
    return {"provider": provider, "litellm_params": params}


def _key_of(config: ConfigurationService, provider: str) -> tuple[str, str | None] | None:
    """(secret, base URL) of the key configapp would use, read without marking it used."""
    record = config.storage.active_api_key(provider)
    if record is not None:
        return config.reveal(record), record.api_base
    env = config.environment_key(provider)
    if env is not None:
        return env[1], config.env_key_base_urls.get(provider)
    return None
