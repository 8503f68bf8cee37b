"""One time format for what the bridge prints for people (CLI output, ``doctor``). Pure.

Local time in the bridge's zone (``timezone``) with the zone's abbreviation,
``2026-12-02 21:05 +07`` — what staff compare with a clock. A naive time from the database is
UTC (the bridge stores UTC). Machine output (``--json``) keeps ISO 8601 UTC.
"""

from __future__ import annotations

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
