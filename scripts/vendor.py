"""Fetch, verify and copy the front-end libraries listed in vendor.json (`make vendor`).

The Playground's pages load these libraries from configapp/playground/vendor/ (axe-core,
used only by the tests, goes to tests/e2e/vendor/): plain files in git, so `make run` never
needs Node. vendor.json pins each npm package's exact version and the registry's integrity
hash of its tarball, and records the SHA-384 of every file copied out of it.

    python3 scripts/vendor.py            fetch each pinned tarball with `npm pack`, check
                                         its integrity, copy the files, check their hashes
    python3 scripts/vendor.py --update   the same after a version bump in vendor.json:
                                         record the new integrity and file hashes
    python3 scripts/vendor.py --check    no network: the files on disk against vendor.json

Only the standard library (and npm for a fetch).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "vendor.json"


def sri(data: bytes, algorithm: str = "sha384") -> str:
    """A Subresource-Integrity style hash: `sha384-<base64>`."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def load_manifest(path: Path = MANIFEST) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def check(manifest: dict, root: Path = ROOT) -> list[str]:
    """What differs between the vendored files and the manifest (empty: all is well)."""
    problems = []
    for name, package in manifest["packages"].items():
        for source, entry in package["files"].items():
            target = root / entry["to"]
            if not target.is_file():
                problems.append(f"{name}: {entry['to']} is missing")
            elif sri(target.read_bytes()) != entry["sha384"]:
                problems.append(f"{name}: {entry['to']} does not match {source} of "
                                f"{name}@{package['version']}")
    return problems


def fetch(name: str, version: str, folder: Path) -> Path:
    """The package's tarball from the registry, by npm (which checks the registry's hash)."""
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--silent"],
                         cwd=folder, check=True, capture_output=True, text=True).stdout
    return folder / json.loads(out)[0]["filename"]


def refresh(manifest: dict, *, update: bool, root: Path = ROOT) -> list[str]:
    """Fetch every package, check its tarball's integrity, copy its files; with `update`,
    record the hashes found instead of comparing them."""
    problems = []
    with tempfile.TemporaryDirectory() as temp:
        for name, package in manifest["packages"].items():
            tarball = fetch(name, package["version"], Path(temp))
            integrity = sri(tarball.read_bytes(), "sha512")
            if update:
                package["integrity"] = integrity
            elif integrity != package["integrity"]:
                problems.append(f"{name}@{package['version']}: the tarball's integrity is "
                                f"{integrity}, vendor.json records {package['integrity']}")
                continue
            with tarfile.open(tarball) as archive:
                for source, entry in package["files"].items():
                    member = archive.extractfile(f"package/{source}")
                    if member is None:
                        raise FileNotFoundError(f"{source} is not in {name}@{package['version']}")
                    data = member.read()
                    if update:
                        entry["sha384"] = sri(data)
                    elif sri(data) != entry["sha384"]:
                        problems.append(f"{name}: {source} does not match vendor.json")
                        continue
                    target = root / entry["to"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="verify the files on disk only")
    mode.add_argument("--update", action="store_true",
                      help="record the hashes of the versions now in vendor.json")
    args = parser.parse_args(argv)
    manifest = load_manifest()
    if args.check:
        problems = check(manifest)
    else:
        problems = refresh(manifest, update=args.update)
        if args.update:
            MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        problems += check(manifest)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        count = sum(len(p["files"]) for p in manifest["packages"].values())
        print(f"{count} vendored files match vendor.json")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
