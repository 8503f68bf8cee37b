"""Pure delivery decisions: coalescing windows, rate-limit budgets (the retry delay is
:mod:`whmcs_bridge.retry`'s)."""

from __future__ import annotations

from datetime import datetime, timedelta

RATE_WINDOW = timedelta(seconds=60)


def hold_until(last_sent: datetime | None, now: datetime, window_seconds: float) -> datetime | None:
    """When a chat message of a kind went out inside the window, later ones wait for the window
    to close and leave together as one digest; otherwise they go now (None)."""
    if last_sent is None or window_seconds <= 0:
        return None
    until = last_sent + timedelta(seconds=window_seconds)
    return until if until > now else None


def rate_budget(limit_per_minute: int | None, sent_last_minute: int) -> int | None:
    """How many more messages a channel may send now (None: unlimited)."""
    if limit_per_minute is None:
        return None
    return max(0, limit_per_minute - sent_last_minute)
