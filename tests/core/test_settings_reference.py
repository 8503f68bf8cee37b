from __future__ import annotations

from pathlib import Path

from whmcs_bridge.config import SECTIONS
from whmcs_bridge.settings_reference import table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_carries_the_current_settings_table() -> None:
    assert table() in README.read_text(), (
        "README.md's settings reference is out of date: paste the output of "
        "`python -m whmcs_bridge.settings_reference` between the markers")


def test_table_lists_every_key_of_every_section() -> None:
    text = table()
    for section, path in SECTIONS.items():
        for name in path().fields:
            assert f"| `{section}.{name}` |" in text


def test_every_key_has_a_meaning() -> None:
    """The table's meaning column: from the field's #: comment, its description, or
    settings_reference.MEANINGS; never empty."""
    rows = [line for line in table().splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 4 and cells[1], (
            f"{row}: give the key a meaning (a #: comment above its field, or an entry in "
            "whmcs_bridge.settings_reference.MEANINGS)")


def test_meaning_comes_from_the_schema_comment_first() -> None:
    from whmcs_bridge.settings import ServerSettings
    from whmcs_bridge.settings_reference import meaning

    assert meaning("server.secret_key", ServerSettings,
                   ServerSettings().fields["secret_key"]).startswith("signs dashboard sessions")
