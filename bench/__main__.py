"""`python -m bench [--quick] [name ...]`: run the bench_*.py modules, print a table, and
write bench/results/latest.json."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import re
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench

RESULTS = Path(__file__).resolve().parent / "results"
REQUIRED = ("name", "value", "unit")
TARGET = re.compile(r"^\s*(ratio\s+)?(<=|>=|<|>)\s*([\d.]+)")


def discover() -> list[str]:
    """The benchmark modules: every bench/bench_*.py, by name."""
    return sorted(info.name for info in pkgutil.iter_modules(bench.__path__)
                  if info.name.startswith("bench_"))


def target_met(row: dict[str, Any]) -> bool | None:
    """Whether a row meets its target (`< 1 s` on the value, `ratio >= 0.8` on the ratio)."""
    match = TARGET.match(str(row.get("target") or ""))
    if not match:
        return None
    subject = row.get("ratio") if match.group(1) else row.get("value")
    if subject is None:
        return None
    limit = float(match.group(3))
    return {"<": subject < limit, "<=": subject <= limit, ">": subject > limit,
            ">=": subject >= limit}[match.group(2)]


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return "" if value is None else str(value)


def ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    header = ("benchmark", "value", "unit", "baseline", "ratio", "target", "met")
    lines = [header]
    for row in rows:
        met = target_met(row)
        lines.append((row["name"], number(row["value"]), row["unit"],
                      number(row.get("baseline")), ratio(row.get("ratio")),
                      str(row.get("target") or ""), {True: "yes", False: "NO", None: ""}[met]))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.rjust(width) if 0 < column < 5 else cell.ljust(width)
                             for column, (cell, width) in enumerate(zip(line, widths,
                                                                        strict=True)))
                   .rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
        elif rows[index - 1].get("note"):
            out.append(f"    {rows[index - 1]['note']}")
    return "\n".join(out)


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=RESULTS.parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from bench import harness

    try:
        wrk = harness.wrk_version()
    except (RuntimeError, OSError):
        wrk = None
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model, "platform": platform.platform(),
            "python": platform.python_version(), "wrk": wrk,
            "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def run_module(name: str) -> tuple[list[dict[str, Any]], str | None, float]:
    started = time.perf_counter()
    try:
        rows = importlib.import_module(f"bench.{name}").run()
        for row in rows:
            missing = [key for key in REQUIRED if key not in row]
            if missing:
                raise ValueError(f"{name}: a row lacks {', '.join(missing)}: {row}")
        return [{"module": name, **row} for row in rows], None, time.perf_counter() - started
    except Exception:
        return [], traceback.format_exc(), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="modules to run (core or bench_core); "
                                                 "all when none is given")
    parser.add_argument("--quick", action="store_true",
                        help="a short budget, to check that the benchmarks work")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"
    available = discover()
    wanted = [name if name.startswith("bench_") else f"bench_{name}" for name in args.names]
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} "
                     f"(there are {', '.join(available)})")
    report: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "quick": args.quick, "machine": machine(), "modules": {},
                              "results": []}
    for name in wanted or available:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows, error, seconds = run_module(name)
        report["modules"][name] = {"seconds": round(seconds, 1), "error": error}
        report["results"].extend(rows)
        if error:
            print(f"{name} failed:\n{error}", file=sys.stderr)
    info = report["machine"]
    print(f"\n{info['cpus']} CPUs ({info['cpu_model']}), Python {info['python']}, "
          f"{info['wrk']}, commit {info['commit']}{' (dirty)' if info['dirty'] else ''}\n")
    print(table(report["results"]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.json'}")
    return 1 if any(module["error"] for module in report["modules"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
