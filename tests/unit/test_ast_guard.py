"""ast.parse on several threads: CPython 3.11.0-3.11.7 fail at random without the guard."""

import subprocess
import sys
import textwrap

import pytest

from configapp.serving import ast_guard

# Three threads parse while garbage collections run Python finalizers in the middle of their
# parses: on an affected Python this fails within a second without the guard.
RACE = textwrap.dedent("""
    import ast, sys, threading
    sys.setswitchinterval(1e-6)
    if sys.argv[1] == "guarded":
        from configapp.serving.ast_guard import guard_ast_parse
        guard_ast_parse()
    source = "\\n".join(f"def f{i}(a, b=[1, (2, 3)]):\\n    return {{'k': [a, b]}}"
                       for i in range(50))
    failures = []
    class Cycle:
        def __init__(self): self.me = self
        def __del__(self): sum(range(200))
    def parse(times):
        for _ in range(times):
            try:
                ast.parse(source)
            except SystemError as error:
                failures.append(error)
                return
            for _ in range(20): Cycle()
    threads = [threading.Thread(target=parse, args=(400,)) for _ in range(3)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    print(len(failures))
""")


def parse_failures(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", RACE, mode], capture_output=True,
                            text=True, timeout=120, check=True)
    return int(result.stdout)


def test_with_the_guard_parses_on_threads_never_fail_where_without_it_they_do():
    assert parse_failures("guarded") == 0
    # The race is real on this Python, or it is one that needs no guard.
    assert (parse_failures("bare") > 0) is ast_guard.AFFECTED


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_app_installs_the_guard_once(app):
    import ast
    assert getattr(ast.parse, "configapp_guarded", False) is ast_guard.AFFECTED
    wrapped = ast.parse
    ast_guard.guard_ast_parse()
    assert ast.parse is wrapped
    assert ast.parse("x = 1").body[0].targets[0].id == "x"
