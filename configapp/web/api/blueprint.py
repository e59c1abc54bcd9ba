"""ApiBlueprint: flask-smorest's Blueprint, whose JSON bodies are read by JsonBodyParser."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import flask
import marshmallow as ma
from flask.blueprints import BlueprintSetupState
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, abort

INVALID_JSON = {"json": ["Invalid JSON body."]}
TOO_LARGE = "The body is larger than the limit (1 MiB)"
LONE_SURROGATE = {"json": ["Invalid JSON body: a \\u escape in it is half of a character "
                           "(a lone surrogate)."]}
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
FastView = Callable[[], "flask.Response | None"]


def is_text(data: Any) -> bool:
    """Whether every string in `data` is real text (UTF-8 can encode it)."""
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


class JsonBodyParser(FlaskParser):
    """webargs' parser, with every body Python cannot read as JSON text answered 400.

    webargs turns syntax errors into a 400 but lets a ValueError through: a number of
    more than 4300 digits (Python's limit on int parsing) became a 500. And JSON's
    grammar allows `"\\ud800"`, half of a UTF-16 pair, which no database, log or provider
    can encode: it became a 500 when stored and a 502 in a chat.
    """

    def load_json(self, req: flask.Request, schema: ma.Schema) -> Any:
        try:
            data = super().load_json(req, schema)
        except ValueError as error:
            abort(400, exc=error, messages=INVALID_JSON)
        # Only a \uD800-\uDFFF escape can make one: the body itself is strict UTF-8.
        if SURROGATE_ESCAPE.search(req.get_data(cache=True)) and not is_text(data):
            abort(400, messages=LONE_SURROGATE)
        return data


class ApiBlueprint(Blueprint):
    """The API's blueprints: flask-smorest's, with JsonBodyParser."""

    ARGUMENTS_PARSER = JsonBodyParser()


def fast_path(blueprint: Blueprint, endpoint: str) -> Callable[[FastView], FastView]:
    """Serve the common case of a hot route with a plain Flask view, ahead of
    flask-smorest's wrappers (argument parsing, the response schema, MethodView's dispatch:
    30 to 40 us a request in process). The plain view answers what it recognises and
    returns None for everything else, which the documented view then answers. The OpenAPI
    document is made from the documented view, so it describes both exactly."""

    def decorate(fast: FastView) -> FastView:
        def install(state: BlueprintSetupState) -> None:
            name = f"{state.name_prefix}.{state.name}.{endpoint}".lstrip(".")
            documented = state.app.view_functions[name]

            @functools.wraps(documented)
            def view(**kwargs: Any) -> Any:
                answer = fast()
                return documented(**kwargs) if answer is None else answer

            state.app.view_functions[name] = view

        blueprint.record(install)
        return fast

    return decorate
