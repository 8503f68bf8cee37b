"""What the dashboard shows, computed from enriched tickets (the staff API's shape).

The pure functions here take enriched ticket dicts (see the staff API contract: ``sla`` and
``verification`` sub-objects) and a compliance summary; :mod:`whmcs_bridge.dashboard.source`
reads those from the tickets room. Keeping the shaping pure makes the ordering rules testable
without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whmcs_bridge.admin_links import admin_ticket_url

SLA_ORDER = ("breached", "at_risk", "on_track", "paused", "met", "not_applicable")
LEVELS = ("urgent", "normal", "low")
WINDOWS = (7, 30)
#: verification states that need someone's attention
OPEN_VERIFICATION = ("required", "locked", "refused")


@dataclass(frozen=True)
class TicketRow:
    id: int
    tid: str
    subject: str
    level: str | None
    status: str | None
    channel: str | None
    sla_state: str
    due_at: str | None  # ISO 8601 with offset; the page counts down to it
    remaining_seconds: int | None
    verification_state: str
    admin_link: str | None
    #: ``unmatched`` or ``ambiguous`` when the request's owner needs staff (else None)
    owner_warning: str | None = None


@dataclass(frozen=True)
class Compliance:
    """Replies in time vs late, per level and window (days)."""

    level: str
    days: int
    met: int
    breached: int

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.met / self.total


@dataclass
class DashboardData:
    now: datetime
    open_tickets: list[TicketRow]
    breaches: list[TicketRow]
    verifications: list[TicketRow]
    state_counts: dict[str, int]
    compliance: list[Compliance] = field(default_factory=list)

    def compliance_percentages(self) -> dict[str, dict[int, float | None]]:
        out: dict[str, dict[int, float | None]] = {lv: {} for lv in LEVELS}
        for c in self.compliance:
            out.setdefault(c.level, {})[c.days] = c.percent
        return out


def _due(sla: Mapping[str, Any]) -> str | None:
    return sla.get("next_response_due_at") or sla.get("first_response_due_at")


def to_row(ticket: Mapping[str, Any], admin_url: str | None) -> TicketRow:
    sla = ticket.get("sla") or {}
    verification = ticket.get("verification") or {}
    remaining = sla.get("remaining_seconds")
    return TicketRow(
        id=int(ticket["id"]),
        tid=str(ticket.get("tid") or ticket["id"]),
        subject=str(ticket.get("subject") or ""),
        level=ticket.get("level"),
        status=ticket.get("status"),
        channel=ticket.get("channel"),
        sla_state=str(sla.get("state") or "not_applicable"),
        due_at=_due(sla),
        remaining_seconds=None if remaining is None else int(remaining),
        verification_state=str(verification.get("state") or "not_required"),
        admin_link=admin_ticket_url(admin_url, int(ticket["id"])),
        owner_warning=_owner_warning(verification),
    )


def _owner_warning(verification: Mapping[str, Any]) -> str | None:
    """The owner state staff must act on (nobody's gates held, or several clients')."""
    owner = verification.get("owner") or {}
    state = owner.get("state") if owner.get("warning") else None
    return str(state) if state else None


def time_to_breach_key(row: TicketRow) -> tuple[int, float, int]:
    """Most urgent first: overdue (most overdue first), then by time left; tickets whose clock
    is paused or that carry no running promise come last."""
    group = {"breached": 0, "at_risk": 0, "on_track": 0, "paused": 1, "met": 2,
             "not_applicable": 3}.get(row.sla_state, 3)
    remaining = row.remaining_seconds
    if group == 0 and remaining is None:
        remaining = 0
    return (group, float("inf") if remaining is None else remaining, row.id)


def shape(tickets: Iterable[Mapping[str, Any]], *, now: datetime, admin_url: str | None,
          compliance: Iterable[Compliance] = ()) -> DashboardData:
    """Enriched open tickets + compliance -> what the page shows."""
    rows = sorted((to_row(t, admin_url) for t in tickets), key=time_to_breach_key)
    counts = Counter(r.sla_state for r in rows)
    return DashboardData(
        now=now,
        open_tickets=rows,
        breaches=[r for r in rows if r.sla_state == "breached"],
        verifications=[r for r in rows if r.verification_state in OPEN_VERIFICATION],
        state_counts={s: counts.get(s, 0) for s in SLA_ORDER},
        compliance=list(compliance),
    )
