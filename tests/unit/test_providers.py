"""The support table: code, docs and the Settings page's labels say the same."""

import re
from pathlib import Path

from configapp.providers.support import SUPPORTED, unsupported_reason

ROOT = Path(__file__).resolve().parents[2]


def test_docs_list_exactly_the_offered_providers():
    text = (ROOT / "docs" / "providers.md").read_text()
    section = text.split("## Supported providers", 1)[1].split("\n## ", 1)[0]
    table = next(block for block in section.split("\n\n") if block.startswith("| provider |"))
    rows = re.findall(r"^\| (\w+) \| ", table, re.MULTILINE)
    assert rows == ["provider", *SUPPORTED]
    for row in SUPPORTED.values():
        assert f"| {row.name} | {row.label} | {row.wire} |" in table


def test_the_settings_page_labels_every_offered_provider_as_the_table_does():
    script = (ROOT / "configapp" / "playground" / "js" / "providers.js").read_text()
    labels = dict(re.findall(r'^  (\w+): "([^"]+)",$', script, re.MULTILINE))
    assert labels == {row.name: row.label for row in SUPPORTED.values()}


def test_a_provider_not_offered_is_refused_with_its_reason():
    assert "sends the key to Replicate's public host" in unsupported_reason("replicate")
    assert "not verified" in unsupported_reason("made_up")
