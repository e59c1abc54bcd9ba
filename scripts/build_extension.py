"""Build the browser extension: copy the Playground's Settings UI into it, then zip it.

`make extension` runs this. The Settings UI lives once, in playground/: the extension gets
byte-for-byte copies of the modules its pages import from the Playground (and everything
those import), of the stylesheet and of the logo, in `extension/vendor/`, which is build
output (git-ignored); then `dist/configapp-extension-<version>.zip`, ready to load or
publish. The end-to-end tests build with the same `build()` into a folder of their own.

Only the standard library: it runs with any python3, before any install.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYGROUND = ROOT / "configapp" / "playground"
EXTENSION = ROOT / "extension"
DIST = ROOT / "dist"
VENDOR = "vendor"
# The Playground modules the extension's own code imports; their imports come along.
ENTRY_MODULES = ("js/settings-ui.js", "js/api-client.js", "js/token-dialog.js", "js/format.js",
                 "js/dom.js")
ASSETS = ("css/app.css", "img/favicon.svg")
# Not part of the extension itself: the docs stay in the repository.
NOT_SHIPPED = frozenset({"README.md"})
# `import ... from "./x.js"`, `export ... from "./x.js"` and `import "./x.js"`.
RELATIVE_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^"';]*?["'](\.{1,2}/[^"']+)["']""",
                             re.MULTILINE)
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so that the same sources give the same zip


def relative_imports(module: Path) -> list[Path]:
    """The files `module` imports by a relative path, resolved."""
    text = module.read_text(encoding="utf-8")
    return [(module.parent / spec).resolve() for spec in RELATIVE_IMPORT.findall(text)]


def vendored_files(playground: Path = PLAYGROUND) -> list[str]:
    """Paths under playground/ that the extension needs: the entry modules, every module
    they import (transitively), and the assets. Sorted, relative, with forward slashes."""
    playground = playground.resolve()
    wanted: set[Path] = set()
    pending = [playground / entry for entry in ENTRY_MODULES]
    while pending:
        module = pending.pop()
        if module in wanted:
            continue
        if not module.is_relative_to(playground) or not module.is_file():
            raise FileNotFoundError(f"{module} is imported by the Settings UI but is not a "
                                    f"file under {playground}")
        wanted.add(module)
        pending.extend(relative_imports(module))
    wanted.update(playground / asset for asset in ASSETS)
    return sorted(path.relative_to(playground).as_posix() for path in wanted)


def copy_sources(source: Path, target: Path) -> None:
    """The extension's own files (not vendor/, not the docs) into an empty target."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=lambda folder, names: [
        name for name in names
        if (Path(folder) == source and name in {VENDOR, *NOT_SHIPPED}) or name.startswith(".")])


def build(target: Path = EXTENSION, *, source: Path = EXTENSION,
          playground: Path = PLAYGROUND) -> Path:
    """An unpacked extension in `target`: extension/ itself (the default, vendor/ is
    rebuilt in place) or a fresh copy of it elsewhere, with vendor/ filled from
    playground/. Returns the folder, ready for --load-extension."""
    target = target.resolve()
    if target != source.resolve():
        copy_sources(source, target)
    vendor = target / VENDOR
    if vendor.exists():
        shutil.rmtree(vendor)
    for relative in vendored_files(playground):
        destination = vendor / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(playground / relative, destination)
    return target


def shipped_files(folder: Path) -> list[Path]:
    """What goes into the zip: every file of the built extension but the docs and dotfiles."""
    return sorted(path for path in folder.rglob("*")
                  if path.is_file() and path.name not in NOT_SHIPPED
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def package(folder: Path = EXTENSION, dist: Path = DIST) -> Path:
    """dist/configapp-extension-<version>.zip, with manifest.json at its root."""
    version = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["version"]
    dist.mkdir(parents=True, exist_ok=True)
    archive = dist / f"configapp-extension-{version}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in shipped_files(folder):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, path.read_bytes())
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=EXTENSION,
                        help="where to build the unpacked extension (default: extension/)")
    parser.add_argument("--dist", type=Path, default=DIST, help="where to put the zip")
    args = parser.parse_args(argv)
    folder = build(args.out)
    archive = package(folder, args.dist)
    print(f"unpacked extension: {folder}\nzip: {archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
