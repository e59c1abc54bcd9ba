"""ApiBlueprint: flask-smorest's Blueprint, whose JSON bodies are read by JsonBodyParser."""

from __future__ import annotations

import json
import re
from typing import Any

import flask
import marshmallow as ma
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, abort

INVALID_JSON = {"json": ["Invalid JSON body."]}
LONE_SURROGATE = {"json": ["Invalid JSON body: a \\u escape in it is half of a character "
                           "(a lone surrogate)."]}
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


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
