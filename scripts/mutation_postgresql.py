"""`make mutation`'s second pass: the storage and service modules' mutants against the
PostgreSQL-parametrised tests (docs/testing.md, "Mutation testing").

Why a pass of its own: mutmut reads its settings from ./pyproject.toml and keeps its
mutants and results in ./mutants, and a change of its pytest arguments invalidates the
results kept there. So the PostgreSQL pass runs from a folder of its own,
mutants-postgresql/ (git-ignored): links to the sources and tests, and a pyproject.toml
that is the project's with `[tool.mutmut]` changed in two places only: `only_mutate` (the
modules below) and the `-k` filter (`postgresql and ...` instead of `not postgresql and
...`). Run it under scripts/with-postgres, which sets CONFIGAPP_TEST_DATABASE_URL.

    python3 scripts/mutation_postgresql.py run [mutant-name-globs...]
    python3 scripts/mutation_postgresql.py results | show NAME | ... (any mutmut command)

MUTATION_POSTGRESQL_TESTS (test paths, space-separated) narrows the test selection, e.g.
to tests/integration/test_storage_rules.py, for a quicker run.

Only the standard library: tomllib reads, and the changed section is written by hand.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants-postgresql"
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
# The modules whose rules depend on the database's dialect: the SQL they render, and the
# service that reads through them.
MODULES = [
    "configapp/keys/sql_storage.py",
    "configapp/keys/service.py",
    "configapp/catalog/sql_curation.py",
    "configapp/chat/sql_usage.py",
    "configapp/access/sql_auth.py",
]
SQLITE_FILTER = "not postgresql and "


def postgresql_section(config: dict) -> str:
    """The `[tool.mutmut]` section of the PostgreSQL pass, as TOML text."""
    config = dict(config, only_mutate=MODULES)
    args = list(config["pytest_add_cli_args"])
    where = args.index("-k") + 1
    if not args[where].startswith(SQLITE_FILTER):
        sys.exit(f"mutation_postgresql: expected the -k filter to start with "
                 f"{SQLITE_FILTER!r}, found {args[where]!r}")
    args[where] = "postgresql and " + args[where].removeprefix(SQLITE_FILTER)
    config["pytest_add_cli_args"] = args
    narrowed = os.environ.get("MUTATION_POSTGRESQL_TESTS", "").split()
    if narrowed:
        config["pytest_add_cli_args_test_selection"] = narrowed
    # JSON's strings, lists and booleans are valid TOML values.
    lines = ["# Written by scripts/mutation_postgresql.py from the project's pyproject.toml.",
             "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


def prepare() -> None:
    """mutants-postgresql/: the links mutmut copies into its mutants/, and the pyproject."""
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    config = tomllib.loads(text)["tool"]["mutmut"]
    # The project's file without its [tool.mutmut] section (up to the next table or the end).
    rest = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    WORK.mkdir(exist_ok=True)
    (WORK / "pyproject.toml").write_text(rest.rstrip("\n") + "\n\n" + postgresql_section(config),
                                         "utf-8")
    for name in [*config["source_paths"], *config.get("also_copy", []), "tests"]:
        link = WORK / name
        if not link.is_symlink() and (ROOT / name).exists():
            link.symlink_to(ROOT / name)


def ours(patterns: list[str]) -> list[str] | None:
    """The mutant-name globs that can match the pass's modules; None if some were given
    and none can (`make mutation MUTATION_MODULES="configapp.domain*"` skips the pass)."""
    if not patterns:
        return []
    names = [m.removesuffix(".py").replace("/", ".") for m in MODULES]
    kept = []
    for pattern in patterns:
        fixed = re.split(r"[*?\[]", pattern, maxsplit=1)[0]  # the part before a wildcard
        if any(n.startswith(fixed) or fixed.startswith(n + ".") for n in names):
            kept.append(pattern)
    return kept or None


def split_options(args: list[str]) -> tuple[list[str], list[str]]:
    """`run`'s options (`--max-children 2`) apart from its mutant-name globs."""
    options: list[str] = []
    patterns: list[str] = []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg.startswith("-"):
            options.append(arg)
            if "=" not in arg and args:
                options.append(args.pop(0))
        else:
            patterns.append(arg)
    return options, patterns


def main(argv: list[str]) -> None:
    command, *rest = argv or ["run"]
    if command == "run":
        if not os.environ.get("CONFIGAPP_TEST_DATABASE_URL"):
            sys.exit("mutation_postgresql: run it under scripts/with-postgres")
        options, patterns = split_options(rest)
        kept = ours(patterns)
        if kept is None:
            print("mutation_postgresql: no mutant of the PostgreSQL pass's modules asked for;"
                  " skipped")
            return
        rest = options + kept
    elif not (WORK / "mutants").is_dir():
        print("mutation_postgresql: no PostgreSQL pass has run yet")
        return
    prepare()
    os.chdir(WORK)
    os.execv(MUTMUT, [str(MUTMUT), command, *rest])  # noqa: S606 (mutmut, no shell)


if __name__ == "__main__":
    main(sys.argv[1:])
