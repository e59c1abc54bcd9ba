"""The package's map holds: each capability imports only what docs/architecture.md allows.

Every import counts, at module level, inside functions and under TYPE_CHECKING alike: a lazy
import across a forbidden arrow is still the arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "configapp"
DATA_FOLDERS = {"migrations", "playground", "data", "templates", "__pycache__"}

# The kernel: values, ports, settings, rows and schema that every capability shares.
KERNEL = {"domain", "ports", "settings", "records", "schema", "database", "log_lines"}
# The composition root: builds everything, so it may import anything.
ROOT = {"__init__", "composition", "components", "startup", "wsgi"}
ALLOWED: dict[str, set[str]] = {
    "kernel": KERNEL,
    "providers": KERNEL,
    "keys": KERNEL | {"providers"},
    "access": KERNEL | {"keys"},
    "catalog": KERNEL | {"providers", "keys"},
    "chat": KERNEL | {"providers", "keys", "catalog"},
    "web": KERNEL | {"providers", "keys", "access", "catalog", "chat", "components"},
    "ops": KERNEL | {"providers", "keys", "access", "catalog", "chat", "components"},
    "serving": KERNEL | {"providers", "__init__"},
}
# ports.py names the values a provider call takes and gives (providers/llm.py).
EXCEPTIONS = {("ports", "providers.llm")}
MAX_TOP_MODULES = 12


def unit_of(module: str) -> str:
    """`configapp.chat.service` -> `chat`, `configapp.domain` -> `domain`,
    `configapp` (a name from its __init__) -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def group_of(unit: str) -> str:
    if unit in KERNEL:
        return "kernel"
    return unit


def is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()


def imported_modules(tree: ast.AST, here: str) -> list[tuple[str, int]]:
    """Every configapp module a source imports, with its line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = here.split(".")[: -node.level]
                base = ".".join([*package, *([base] if base else [])])
            if base == "configapp":  # a module of the package, or a name its __init__ gives
                found += [(f"configapp.{alias.name}" if is_module(alias.name) else "configapp",
                           node.lineno) for alias in node.names]
            elif base.startswith("configapp."):
                found.append((base, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names
                      if alias.name.startswith("configapp.")]
    return found


def forbidden_imports(module: str, source: str) -> list[str]:
    """The imports of `module` that cross an arrow the map does not allow."""
    source_unit = unit_of(module)
    if source_unit in ROOT:
        return []
    allowed = ALLOWED[group_of(source_unit)]
    problems = []
    for target, line in imported_modules(ast.parse(source), module):
        target_unit = unit_of(target)
        if target_unit == source_unit or target_unit in allowed:
            continue
        if (source_unit, target.removeprefix("configapp.")) in EXCEPTIONS:
            continue
        problems.append(f"{module}:{line} imports {target} ({source_unit} -> {target_unit})")
    return problems


def package_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if DATA_FOLDERS & set(relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        modules.append((".".join(parts), path))
    return modules


def test_every_import_follows_an_allowed_arrow():
    problems = [problem for module, path in package_modules()
                for problem in forbidden_imports(module, path.read_text())]
    assert problems == []


def test_every_sub_package_is_on_the_map():
    packages = {path.name for path in PACKAGE.iterdir()
                if path.is_dir() and path.name not in DATA_FOLDERS}
    assert packages == set(ALLOWED) - {"kernel"}


def test_at_most_twelve_modules_stay_at_the_top():
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top <= KERNEL | ROOT and len(top) <= MAX_TOP_MODULES


@pytest.mark.parametrize(("module", "source"), [
    ("configapp.providers.llm", "from configapp.keys.service import ConfigurationService"),
    ("configapp.keys.service", "def f():\n    from configapp.chat import usage\n"),
    ("configapp.catalog.curation", "import configapp.web.security"),
    ("configapp.domain", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    from configapp.keys.service import ConfigurationService\n"),
    ("configapp.chat.service", "from ..web import pages"),
    ("configapp.serving.worker", "from configapp import components"),
])
def test_a_planted_import_across_a_forbidden_arrow_is_found(module, source):
    assert len(forbidden_imports(module, source)) == 1


def test_allowed_arrows_are_not_flagged():
    assert forbidden_imports("configapp.chat.service",
                             "from configapp.catalog.curation import ModelCuration\n"
                             "from configapp.domain import ModelInfo\n"
                             "from . import usage") == []
