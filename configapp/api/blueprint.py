"""ApiBlueprint: flask-smorest's Blueprint, whose JSON bodies are read by JsonBodyParser."""

from __future__ import annotations

from typing import Any

import flask
import marshmallow as ma
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, abort

INVALID_JSON = {"json": ["Invalid JSON body."]}


class JsonBodyParser(FlaskParser):
    """webargs' parser, with every body Python cannot read as JSON answered 400.

    webargs turns syntax errors into a 400 but lets a ValueError through: a number of
    more than 4300 digits (Python's limit on int parsing) became a 500.
    """

    def load_json(self, req: flask.Request, schema: ma.Schema) -> Any:
        try:
            return super().load_json(req, schema)
        except ValueError as error:
            abort(400, exc=error, messages=INVALID_JSON)


class ApiBlueprint(Blueprint):
    """The API's blueprints: flask-smorest's, with JsonBodyParser."""

    ARGUMENTS_PARSER = JsonBodyParser()
