"""The settings reference table in README.md, generated from the validated schemas.

``python -m whmcs_bridge.settings_reference`` prints it; a test checks README.md contains the
current table, so a key added to a schema cannot go undocumented.
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import fields, missing

from whmcs_bridge.settings import (
    DEFAULT_TIMEZONE,
    ENV_ALIASES,
    SECTIONS,
    SecretField,
    _section_schema,
)

BEGIN = "<!-- settings-reference:begin (generated: python -m whmcs_bridge.settings_reference) -->"
END = "<!-- settings-reference:end -->"


#: Defaults computed at load time rather than declared on the field.
DERIVED = {
    "database.url": "SQLite `~/.local/share/whmcs-bridge/bridge.db` (or `$WHMCS_BRIDGE_DATA_DIR`)",
    "whmcs.timezone": "= `timezone`",
    "server.workers": "`0` (one per core)",
}


def _default(field: fields.Field) -> str:
    if isinstance(field, SecretField):
        return "secret, none"
    value: Any = field.load_default
    if value is missing or value is None:
        return "none"
    if callable(value):
        value = value()
    if isinstance(value, (list, dict)) and len(json.dumps(value, default=str)) > 60:
        return "see section"
    return f"`{json.dumps(value, ensure_ascii=False, default=str)}`"


def _env(dotted: str) -> str:
    alias = next((name for name, key in ENV_ALIASES.items() if key == dotted), None)
    section, _, key = dotted.partition(".")
    generic = f"WHMCS_BRIDGE_{section.upper()}__{key.upper()}"
    return f"`{alias}` or `{generic}`" if alias else f"`{generic}`"


def table() -> str:
    rows = [BEGIN, "", "| key | environment | default |", "|---|---|---|",
            f"| `timezone` | `WHMCS_BRIDGE_TIMEZONE` | `{json.dumps(DEFAULT_TIMEZONE)}` |"]
    for section, path in SECTIONS.items():
        for name, field in _section_schema(path)().fields.items():
            dotted = f"{section}.{name}"
            default = DERIVED.get(dotted) or _default(field)
            rows.append(f"| `{dotted}` | {_env(dotted)} | {default} |")
    rows += ["", END]
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
