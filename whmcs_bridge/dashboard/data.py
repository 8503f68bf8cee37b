"""What the dashboard shows, computed from enriched tickets (the staff API's shape).

The pure functions here take enriched ticket dicts (see the staff API contract: ``sla`` and
``verification`` sub-objects) and a compliance summary; :mod:`whmcs_bridge.dashboard.source`
reads those from the tickets room. Keeping the shaping pure makes the ordering rules testable
without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any

from whmcs_bridge.admin_links import admin_ticket_url
from whmcs_bridge.sla.settings import CHANNELS

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
    department_id: int | None = None
    #: in one of ``channels.billing_department_ids`` (the billing hotline's tickets)
    billing: bool = False


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


def to_row(ticket: Mapping[str, Any], admin_url: str | None,
           billing_department_ids: Collection[int] = ()) -> TicketRow:
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
        department_id=_int_or_none(ticket.get("department_id")),
        billing=_int_or_none(ticket.get("department_id")) in set(billing_department_ids),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


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
          compliance: Iterable[Compliance] = (),
          billing_department_ids: Collection[int] = ()) -> DashboardData:
    """Enriched open tickets + compliance -> what the page shows."""
    billing = frozenset(billing_department_ids)
    rows = sorted((to_row(t, admin_url, billing) for t in tickets), key=time_to_breach_key)
    counts = Counter(r.sla_state for r in rows)
    return DashboardData(
        now=now,
        open_tickets=rows,
        breaches=[r for r in rows if r.sla_state == "breached"],
        verifications=[r for r in rows if r.verification_state in OPEN_VERIFICATION],
        state_counts={s: counts.get(s, 0) for s in SLA_ORDER},
        compliance=list(compliance),
    )


# --------------------------------------------------------------------------- filters, paging

#: rows on one page of the open-tickets table
PER_PAGE = 50
#: the longest search text looked at (a longer one is cut, said on the page)
MAX_QUERY = 100


@dataclass(frozen=True)
class Filters:
    """What the open-tickets table is narrowed to (``GET /dashboard``'s query string)."""

    department: int | None = None
    level: str | None = None
    sla: str | None = None
    channel: str | None = None
    q: str = ""
    page: int = 1

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query-string parameters of these filters with ``changes`` (a link's target);
        empty filters and page 1 are left out, so links stay short. (Values are strings;
        typed Any because they go to ``url_for(**values)``, whose keywords are not all str.)"""
        f = replace(self, **changes)
        out = {"department": "" if f.department is None else str(f.department),
               "level": f.level or "", "sla": f.sla or "", "channel": f.channel or "",
               "q": f.q, "page": "" if f.page == 1 else str(f.page)}
        return {k: v for k, v in out.items() if v}

    @property
    def active(self) -> bool:
        return (self.department, self.level, self.sla, self.channel, self.q) != (
            None, None, None, None, "")


@dataclass(frozen=True)
class Problem:
    """A query-string value that was ignored: the parameter and what it held."""

    field: str
    value: str


#: characters of an ignored value echoed back on the page
SHOWN_VALUE = 40


def _shown(raw: str) -> str:
    """An ignored value as the page names it: printable characters only, cut short (the
    query string is the visitor's, and may be long or hold control characters)."""
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in raw)
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE] + "…"


def _positive_int(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if value >= 1 else None


def parse_filters(args: Mapping[str, str]) -> tuple[Filters, list[Problem]]:
    """Validate the query string. A value outside its field's choices is ignored (the filter
    is off) and reported, so a stale or hand-edited link still shows the page and says what
    it did not apply; nothing here raises on user input."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    choices = {"level": LEVELS, "sla": SLA_ORDER, "channel": CHANNELS}
    for name, allowed in choices.items():
        raw = (args.get(name) or "").strip()
        if raw and raw in allowed:
            values[name] = raw
        elif raw:
            problems.append(Problem(name, _shown(raw)))
    for name in ("department", "page"):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        number = _positive_int(raw)
        if number is None:
            problems.append(Problem(name, _shown(raw)))
        else:
            values[name] = number
    q = " ".join((args.get("q") or "").split())
    if len(q) > MAX_QUERY:
        problems.append(Problem("q", _shown(q)))
        q = q[:MAX_QUERY]
    return Filters(q=q, **values), problems


def matches_search(row: TicketRow, q: str) -> bool:
    """Ticket number (``ABC-123``, ``#ABC-123``, the WHMCS id ``42``) or words of the
    subject, case-insensitive; every word must appear."""
    text = q.strip().casefold()
    if not text:
        return True
    number = text.lstrip("#")
    if number in (row.tid.casefold(), str(row.id)):
        return True
    haystack = f"{row.tid} {row.subject}".casefold()
    return all(word in haystack for word in text.split())


def apply_filters(rows: Iterable[TicketRow], f: Filters) -> list[TicketRow]:
    """The rows that pass every active filter, in their order (most urgent first)."""
    return [r for r in rows
            if (f.department is None or r.department_id == f.department)
            and (f.level is None or r.level == f.level)
            and (f.sla is None or r.sla_state == f.sla)
            and (f.channel is None or r.channel == f.channel)
            and matches_search(r, f.q)]


@dataclass(frozen=True)
class Page:
    rows: list[TicketRow]
    number: int  # 1-based, clamped to the pages there are
    pages: int  # at least 1, even when empty
    total: int
    first: int  # 1-based position of the first row shown (0 when empty)

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def paginate(rows: list[TicketRow], number: int, per_page: int = PER_PAGE) -> Page:
    """One page of ``rows``; a page past the end shows the last one (a link kept while
    tickets closed must not show an empty table)."""
    pages = max(1, -(-len(rows) // per_page))
    number = min(max(1, number), pages)
    start = (number - 1) * per_page
    chunk = rows[start:start + per_page]
    return Page(chunk, number, pages, len(rows), start + 1 if chunk else 0)


def departments(rows: Iterable[TicketRow]) -> list[int]:
    """The departments of the open tickets (the department filter's choices)."""
    return sorted({r.department_id for r in rows if r.department_id is not None})


def local_time(iso: str | None, tz: tzinfo) -> str | None:
    """An ISO 8601 instant as the dashboard writes times: local, with the zone's abbreviation
    (``14:05 02/12/2026 +07``)."""
    if not iso:
        return None
    local = datetime.fromisoformat(iso).astimezone(tz)
    return f"{local:%H:%M %d/%m/%Y} {local.tzname()}"
