"""The extension's build (`make extension`) and the rules its sources keep: one Settings
UI (the Playground's, copied byte for byte), few permissions, no inline code, one writer
of the cache."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from scripts.build_extension import (
    EXTENSION,
    PLAYGROUND,
    build,
    package,
    relative_imports,
    vendored_files,
)

OWN_SOURCES = sorted(path for path in EXTENSION.rglob("*")
                     if path.is_file() and "vendor" not in path.relative_to(EXTENSION).parts)
OWN_SCRIPTS = [path for path in OWN_SOURCES if path.suffix == ".js"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("build") / "extension")


def test_the_build_copies_the_playgrounds_settings_ui_byte_for_byte(built: Path):
    vendor = built / "vendor"
    copied = sorted(path.relative_to(vendor).as_posix() for path in vendor.rglob("*")
                    if path.is_file())
    assert copied == vendored_files()
    for relative in copied:
        assert (vendor / relative).read_bytes() == (PLAYGROUND / relative).read_bytes(), relative
    # settings-ui.js and what its header says it needs, the token dialog and the CSS.
    assert {"js/settings-ui.js", "js/dom.js", "js/format.js", "js/providers.js",
            "js/model-index.js", "js/keys-section.js", "js/models-section.js",
            "js/api-client.js", "js/token-dialog.js", "css/app.css"} <= set(copied)


def test_every_import_of_the_built_extension_resolves_inside_it(built: Path):
    for script in built.rglob("*.js"):
        for target in relative_imports(script):
            assert target.is_file(), f"{script.relative_to(built)} imports a missing {target}"
            assert target.is_relative_to(built)


def test_the_extension_has_no_settings_ui_of_its_own():
    for script in OWN_SCRIPTS:
        text = script.read_text()
        for name in ("mountSettings", "createKeysSection", "createModelsSection"):
            assert not re.search(rf"function\s+{name}\b", text), (script, name)
    page = (EXTENSION / "js" / "settings-page.js").read_text()
    assert 'import { mountSettings } from "../vendor/js/settings-ui.js";' in page


def test_the_manifest_asks_only_for_what_the_extension_needs(built: Path):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert manifest["permissions"] == ["storage", "alarms"]
    assert manifest["host_permissions"] == ["http://127.0.0.1/*", "http://localhost/*"]
    assert "optional_host_permissions" in manifest  # another backend: granted at run time
    assert (built / manifest["options_ui"]["page"]).is_file()
    assert manifest["options_ui"]["open_in_tab"] is True
    assert (built / manifest["background"]["service_worker"]).is_file()
    policy = manifest["content_security_policy"]["extension_pages"]
    assert "script-src 'self';" in policy and "unsafe" not in policy


@pytest.mark.parametrize("page", [path for path in OWN_SOURCES if path.suffix == ".html"],
                         ids=lambda path: path.name)
def test_pages_load_only_local_files_and_hold_no_inline_code(page: Path):
    html = page.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert "<style" not in html and " style=" not in html, "inline style"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "remote file"
    for script in OWN_SCRIPTS:
        text = script.read_text()
        assert "innerHTML" not in text and "eval(" not in text, script
        assert not re.search(r"""import\s*\(?\s*["']https?:""", text), script


def test_only_the_sync_module_writes_the_cache():
    writers = {path.name for path in OWN_SCRIPTS
               if re.search(r"storage\.local\.(set|remove|clear)\b", path.read_text())}
    assert writers == {"sync.js", "connection.js"}
    # connection.js writes the backend's address; the cache's key is known to sync.js only.
    holders = {path.name for path in OWN_SCRIPTS if "configapp.cache" in path.read_text()}
    assert holders == {"sync.js"}
    sync = (EXTENSION / "js" / "sync.js").read_text()
    # A 200 and a 304 write the cache; a 401 writes the sign-in flag (SIGN_IN_KEY).
    assert len(re.findall(r"storage\.local\.set\(\{ \[CACHE_KEY\]", sync)) == 2
    assert len(re.findall(r"storage\.local\.set\(", sync)) == 3
    # + readCache, and forgetCache (Disconnect), which only removes it.
    assert len(re.findall(r"^export (async )?function", sync, re.MULTILINE)) == 3
    assert len(re.findall(r"storage\.local\.remove\(CACHE_KEY\)", sync)) == 1


def test_the_zip_holds_the_built_extension_with_the_manifest_at_its_root(
        built: Path, tmp_path: Path):
    archive = package(built, tmp_path)
    assert archive.name == "configapp-extension-0.1.0.zip"
    files = sorted(path.relative_to(built).as_posix() for path in built.rglob("*")
                   if path.is_file())
    with zipfile.ZipFile(archive) as bundle:
        assert sorted(bundle.namelist()) == files
        assert "manifest.json" in bundle.namelist()
        assert bundle.read("vendor/js/settings-ui.js") == (
            PLAYGROUND / "js" / "settings-ui.js").read_bytes()


def test_the_same_sources_give_the_same_zip_whenever_and_wherever_built(built: Path,
                                                                       tmp_path: Path):
    """A second build, in another folder with other file times and modes, zips to the
    very same bytes: the zip records neither."""
    first = package(built, tmp_path / "first").read_bytes()
    again = build(tmp_path / "again" / "extension")
    for number, path in enumerate(sorted(again.rglob("*"))):
        if path.is_file():
            os.utime(path, (1_000_000_000 + number, 1_900_000_000 - number))
            path.chmod(0o600 if number % 2 else 0o755)
    second = package(again, tmp_path / "second").read_bytes()
    assert second == first


def test_a_module_the_settings_ui_imports_must_exist_in_the_playground(tmp_path: Path):
    playground = tmp_path / "playground"
    (playground / "js").mkdir(parents=True)
    for name in ("api-client.js", "token-dialog.js", "format.js", "dom.js"):
        (playground / "js" / name).write_text("export const x = 1;\n")
    (playground / "js" / "settings-ui.js").write_text('import { y } from "./gone.js";\n')
    with pytest.raises(FileNotFoundError, match=r"gone\.js"):
        vendored_files(playground)
