"""SLA compliance report: how the first-reply promise was kept, per group.

For tickets opened in ``[since, until)`` whose first reply carries a promise (chat and
staff-opened tickets do not), grouped by level (``priority``), department or channel:

* ``tickets`` — tickets counted; ``met`` — first reply in time; ``breached`` — first reply
  late, or none and overdue (including closed after the due time); ``pending`` — not yet
  due (open, or paused); ``closed_unanswered`` — closed before the due time with no reply;
* ``met_pct`` — ``met / (met + breached)`` in percent, one decimal (``None`` when nothing is
  decided yet);
* ``median_minutes`` / ``p90_minutes`` — first-reply time on the SLA clock (calendar time minus
  pauses) of answered tickets, late ones included; p90 is the nearest-rank percentile.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.escalate import evaluate_loaded

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

GROUPINGS = ("priority", "department", "channel")


@dataclass
class Group:
    key: str
    tickets: int = 0
    met: int = 0
    breached: int = 0
    pending: int = 0
    closed_unanswered: int = 0
    met_pct: float | None = None
    median_minutes: float | None = None
    p90_minutes: float | None = None
    _times: list[float] = field(default_factory=list, repr=False)

    def finish(self) -> Group:
        decided = self.met + self.breached
        self.met_pct = round(100.0 * self.met / decided, 1) if decided else None
        if self._times:
            times = sorted(self._times)
            self.median_minutes = round(statistics.median(times) / 60.0, 1)
            self.p90_minutes = round(times[math.ceil(0.9 * len(times)) - 1] / 60.0, 1)
        return self

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_times")
        return d


def _key(rec: store.TicketRecord, cyc: E.Cycle, by: str) -> str:
    if by == "priority":
        return cyc.level
    if by == "department":
        return str(rec.department_id) if rec.department_id is not None else "-"
    return rec.channel or "-"


#: tickets whose histories are loaded per round of bulk queries (``IN (...)`` lists stay short)
CHUNK = 500
#: ``(since, until)``: tickets opened at or after ``since`` and before ``until``
Period = tuple[datetime, datetime]


def compliance(conn: Connection, settings: Settings, *, since: datetime, until: datetime,
               by: str = "priority", now: datetime) -> list[Group]:
    """The report for tickets opened in ``[since, until)``, one group per ``by`` key."""
    return compliance_periods(conn, settings, [(since, until)], by=by, now=now)[0]


def compliance_periods(conn: Connection, settings: Settings, periods: Sequence[Period], *,
                       by: str = "priority", now: datetime) -> list[list[Group]]:
    """The report for several periods at once (the dashboard's 7 and 30 days): each ticket of
    their union is loaded and evaluated once, in bulk — one query for the tickets and three
    per :data:`CHUNK` of them for their histories (``1 + 3 * ceil(n / CHUNK)``), not several
    per ticket. The numbers are those of :func:`compliance` run on each period alone."""
    if by not in GROUPINGS:
        raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")
    if not periods:
        return []
    policy = E.Policy.from_settings(settings)
    now_ts = now.timestamp()
    recs = [r for r in store.tickets_opened(conn, min(s for s, _ in periods),
                                            max(u for _, u in periods))
            if r.opened_at is not None  # set on every ticket in the range
            and any(s <= r.opened_at < u for s, u in periods)]  # periods may leave gaps
    per_period: list[dict[str, Group]] = [{} for _ in periods]
    for start in range(0, len(recs), CHUNK):
        part = recs[start:start + CHUNK]
        hists = store.histories(conn, part)
        for rec in part:
            ev = evaluate_loaded(rec, hists[rec.id], policy, now_ts)
            cyc = ev.first
            if not ev.applicable or cyc is None:
                continue
            key = _key(rec, cyc, by)
            opened = rec.opened_at
            assert opened is not None  # filtered above
            for (since, until), groups in zip(periods, per_period, strict=True):
                if since <= opened < until:
                    _count(groups.setdefault(key, Group(key)), cyc)
    return [[g.finish() for g in sorted(groups.values(),
                                        key=lambda g: (E.RANK.get(g.key, 9), g.key))]
            for groups in per_period]


def _count(g: Group, cyc: E.Cycle) -> None:
    g.tickets += 1
    if cyc.met_at is not None:
        g._times.append(cyc.elapsed_seconds or 0.0)
    if cyc.state == E.MET:
        g.met += 1
    elif cyc.state == E.BREACHED:
        g.breached += 1
    elif cyc.state == E.NOT_APPLICABLE:
        g.closed_unanswered += 1
    else:
        g.pending += 1


COLUMNS = ("key", "tickets", "met", "breached", "pending", "closed_unanswered", "met_pct",
           "median_minutes", "p90_minutes")


def to_csv(rows: Iterable[Group]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        d = r.as_dict()
        w.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
    return buf.getvalue()


def to_table(rows: list[Group], by: str) -> str:
    head = (by, "tickets", "met", "breached", "pending", "closed", "met %", "median min",
            "p90 min")
    body = [[r.key, r.tickets, r.met, r.breached, r.pending, r.closed_unanswered,
             "-" if r.met_pct is None else f"{r.met_pct:.1f}",
             "-" if r.median_minutes is None else f"{r.median_minutes:.1f}",
             "-" if r.p90_minutes is None else f"{r.p90_minutes:.1f}"] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(str(v).rjust(w) if i else str(v).ljust(w)
                       for i, (v, w) in enumerate(zip(row, widths, strict=True)))
             for row in [head, *body]]
    return "\n".join(lines) if body else "\n".join([*lines, "(no tickets in the period)"])
