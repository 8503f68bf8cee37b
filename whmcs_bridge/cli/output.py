"""How CLI commands print times and tables (text output; ``--json`` keeps ISO 8601 UTC). Pure.

One time format everywhere: local time in the bridge's zone (``timezone``) with the zone's
abbreviation, ``2026-12-02 21:05 +07`` — what staff compare with a clock. A naive time from
the database is UTC (the bridge stores UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

FORMAT = "%Y-%m-%d %H:%M %Z"


def local_time(value: datetime | str | None, zone: ZoneInfo, *, empty: str = "-") -> str:
    """``value`` (a datetime or an ISO 8601 string) in ``zone``; ``empty`` for none."""
    if value is None or value == "":
        return empty
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).strftime(FORMAT)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Lines of a plain-text table: a header row, then the rows, columns padded to the widest
    cell (the last column is not padded: it holds free text such as an error)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return ["  ".join(c.ljust(widths[i]) if i < len(headers) - 1 else c
                      for i, c in enumerate(r)).rstrip() for r in cells]
