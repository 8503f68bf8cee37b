"""Pure decisions of the WHMCS write sender: the write budget, what an error means, and
whether a reply or note whose outcome is unknown is already in the ticket.

Retry delays are the one rule every retrying queue uses (:func:`whmcs_bridge.retry.
backoff_seconds`): one backoff rule for everything the bridge sends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from whmcs_bridge.api.errors import InvalidResponseError, TransportError, WhmcsError
from whmcs_bridge.writes.tables import NOTE, REPLY

#: The budget counts writes sent or being sent in this window.
BUDGET_WINDOW = timedelta(seconds=1)


def message_hash(message: str) -> str:
    """Hash of a message's text (line endings and outer space normalised) — how the bridge
    recognises its own replies without keeping their text."""
    norm = "\n".join(line.rstrip() for line in (message or "").replace("\r\n", "\n")
                     .strip().split("\n"))
    return hashlib.sha256(norm.encode()).hexdigest()


def budget(rate_per_second: int, used_in_window: int) -> int:
    """How many writes a sender may claim now: at most ``rate_per_second`` in any
    :data:`BUDGET_WINDOW`, counting those sent and those other senders are sending."""
    return max(0, rate_per_second - used_in_window)


@dataclass(frozen=True)
class Verdict:
    """What a failed attempt means: ``permanent`` (dead-letter now, no retry can help) and
    ``unknown`` (WHMCS may have applied it: look before re-sending)."""

    permanent: bool
    unknown: bool


def judge(exc: BaseException) -> Verdict:
    """A WHMCS answer that refuses the write (validation, not found, permission) is permanent
    and certain; an auth failure is certain but not the write's fault (the sender hands the
    write back uncounted, so fixing the credential sends it); no answer, a 5xx or an
    unreadable answer may hide a write that happened; anything else (a bug) is retried and
    treated as unknown."""
    if isinstance(exc, (TransportError, InvalidResponseError)):
        return Verdict(permanent=False, unknown=True)
    if isinstance(exc, WhmcsError):
        if exc.auth_failure:
            return Verdict(permanent=False, unknown=False)
        return Verdict(permanent=not exc.retryable, unknown=False)
    return Verdict(permanent=False, unknown=True)


def found_in_ticket(ticket: Any, action: str, message: str, already_sent: int) -> bool:
    """True when ``ticket`` (a GetTicket result) holds more staff replies (or notes) with this
    text than the bridge has recorded as sent: the attempt whose outcome was unknown posted it.
    Counting, not just matching, keeps a second identical message (two leak warnings on one
    ticket) from being taken for the first."""
    wanted = message_hash(message)
    if action == REPLY:
        seen = sum(1 for r in ticket.replies
                   if r.replyid and r.is_staff and message_hash(r.message) == wanted)
    elif action == NOTE:
        seen = sum(1 for n in ticket.notes if message_hash(n.message) == wanted)
    else:
        raise ValueError(f"{action!r} is idempotent: nothing to look for")
    return seen > already_sent
