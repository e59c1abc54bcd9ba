"""flask-smorest's Api with its OpenAPI document written when first read, not at start.

Making the document (apispec describing every status's error answer, then resolving and
deep-copying every blueprint's schemas) took about 0.1 s of each app's 0.12 s start on a
quiet machine: paid by every test that builds an app and by every server start, though
only /api/openapi.json, /api/docs and `flask openapi print` read it. The routes, error
handlers and commands are registered at once as before; the document is the same, made by
the same flask-smorest calls, on its first read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask_smorest import Api, Blueprint
from flask_smorest.spec import openapi_cli

# Run on the document once the blueprints are in it (the document's own additions).
DocumentStep = Callable[[APISpec], None]


class LazyDocApi(Api):
    """An Api whose blueprints are documented on the first read of `spec`.

    `_init_spec` and `register_blueprint` do what flask-smorest 0.47's do, with the making
    of the document left for later; `then(step)` adds a step run on the document after
    the blueprints.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._spec: APISpec | None = None
        self._spec_options: dict[str, Any] = {}
        self._undocumented: list[tuple[Blueprint, str, list | None]] = []
        self._steps: list[DocumentStep] = []
        self._documented = True
        # A server's threads may read it at once: the first makes it, the others wait;
        # flask-smorest's own calls read `spec` while it is being made (in that thread).
        self._documenting = threading.RLock()
        self._making = False
        super().__init__(*args, **kwargs)

    @property
    def spec(self) -> APISpec | None:  # type: ignore[override]
        if not self._documented:
            with self._documenting:
                if not self._documented and not self._making:
                    self._making = True
                    try:
                        self._document()
                    finally:
                        self._making = False
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def _init_spec(self, **options: Any) -> None:
        self._spec_options = options
        self._app.cli.add_command(openapi_cli)  # `flask openapi print`, which reads it
        self._documented = False

    def register_blueprint(self, blp: Blueprint, *, parameters: list | None = None,
                           **options: Any) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))
        self._documented = False

    def then(self, step: DocumentStep) -> None:
        self._steps.append(step)
        self._documented = False

    def _document(self) -> None:
        """flask-smorest's making of the spec, its documenting of each blueprint in the
        order registered, then the steps."""
        super()._init_spec(**self._spec_options)
        spec = self._spec
        assert spec is not None, "flask-smorest's _init_spec makes it"
        for blp, name, parameters in self._undocumented:
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})
        for step in self._steps:
            step(spec)
        self._undocumented.clear()
        self._steps.clear()
        self._documented = True
