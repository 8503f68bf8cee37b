from __future__ import annotations

from pathlib import Path

from whmcs_bridge.settings import SECTIONS, _section_schema
from whmcs_bridge.settings_reference import table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_carries_the_current_settings_table() -> None:
    assert table() in README.read_text(), (
        "README.md's settings reference is out of date: paste the output of "
        "`python -m whmcs_bridge.settings_reference` between the markers")


def test_table_lists_every_key_of_every_section() -> None:
    text = table()
    for section, path in SECTIONS.items():
        for name in _section_schema(path)().fields:
            assert f"| `{section}.{name}` |" in text
