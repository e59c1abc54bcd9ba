"""The vendored front-end libraries are exactly the pinned npm files vendor.json records."""

import re
import shutil
from pathlib import Path

from scripts.vendor import ROOT, check, load_manifest

EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+")


def test_every_package_is_pinned_exactly_with_its_tarball_integrity():
    packages = load_manifest()["packages"]
    assert {"marked", "dompurify", "@highlightjs/cdn-assets", "axe-core"} <= set(packages)
    for package in packages.values():
        assert EXACT_VERSION.fullmatch(package["version"])
        assert package["integrity"].startswith("sha512-")
        assert all(entry["sha384"].startswith("sha384-") for entry in package["files"].values())


def test_the_vendored_files_match_the_recorded_hashes():
    assert check(load_manifest()) == []


def test_a_changed_or_missing_vendored_file_is_reported(tmp_path: Path):
    manifest = load_manifest()
    for package in manifest["packages"].values():
        for entry in package["files"].values():
            (tmp_path / entry["to"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / entry["to"], tmp_path / entry["to"])
    assert check(manifest, tmp_path) == []
    marked = tmp_path / "configapp/playground/vendor/marked.esm.js"
    marked.write_bytes(marked.read_bytes() + b"\nfetch('https://evil.example');\n")
    (tmp_path / "configapp/playground/vendor/purify.es.mjs").unlink()
    problems = check(manifest, tmp_path)
    assert len(problems) == 2
    assert any("marked.esm.js does not match" in p for p in problems)
    assert any("purify.es.mjs is missing" in p for p in problems)


def test_make_run_needs_no_node():
    makefile = (ROOT / "Makefile").read_text()
    run = makefile.split("\nrun:")[1].split("\n\n")[0]
    assert "npm" not in run and "node" not in run and "vendor" not in run
