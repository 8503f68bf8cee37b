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
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.escalate import evaluate_record
from whmcs_bridge.tickets.tables import tickets

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


def compliance(conn: Connection, settings: Any, *, since: datetime, until: datetime,
               by: str = "priority", now: datetime) -> list[Group]:
    if by not in GROUPINGS:
        raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")
    policy = E.Policy.from_settings(settings)
    groups: dict[str, Group] = {}
    ids = conn.execute(select(tickets.c.id).where(
        tickets.c.deleted.is_(False), tickets.c.opened_at >= since, tickets.c.opened_at < until,
    ).order_by(tickets.c.id)).scalars().all()
    for tid in ids:
        rec = store.get_ticket(conn, tid)
        if rec is None:
            continue
        ev = evaluate_record(conn, rec, policy, now)
        cyc = ev.first
        if not ev.applicable or cyc is None:
            continue
        g = groups.setdefault(_key(rec, cyc, by), Group(_key(rec, cyc, by)))
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
    order = {"urgent": 0, "normal": 1, "low": 2}
    return [g.finish() for g in sorted(groups.values(),
                                       key=lambda g: (order.get(g.key, 9), g.key))]


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
