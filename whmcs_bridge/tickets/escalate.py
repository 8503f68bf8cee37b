"""Evaluating stored tickets and carrying out due escalations (the I/O side of the engine).

Each escalation action runs in its own transaction together with the row that records it
(unique per ticket, cycle, trigger and action), so a sweep run ten times does each action
once. An action that changes WHMCS (a note, a priority raise, a department move, a flag) is
queued in the WHMCS write outbox in that transaction (:mod:`whmcs_bridge.tickets.replies`),
never called while it is open; the sender delivers it after commit within the write budget
(``whmcs.write_rate_per_second``), so a backlog of breached tickets never reaches WHMCS as
thousands of calls at once, and a WHMCS failure is retried by the sender, not by the sweep.
The bridge does not fight WHMCS: a priority already raised, a department already moved or a
flag already set by someone else is recorded as ``skipped`` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from whmcs_bridge.context import HandlerContext, Services
from whmcs_bridge.sla import engine as E
from whmcs_bridge.sla.escalation import cycle_key, due_actions, raised
from whmcs_bridge.tickets import replies, store
from whmcs_bridge.tickets.tables import ticket_history
from whmcs_bridge.writes.tables import ESCALATION

log = logging.getLogger(__name__)


def evaluate_loaded(rec: store.TicketRecord, history: list[tuple], policy: E.Policy,
                    now_ts: float) -> E.Evaluation:
    """Evaluate a ticket whose history is already loaded (bulk callers: sweep, report,
    dashboard). Staff-opened tickets owe no first reply."""
    return E.evaluate(history, now_ts, policy.for_ticket(rec.department_id, rec.channel),
                      first_reply=rec.channel != "staff")


def evaluate_record(conn: Connection, rec: store.TicketRecord, policy: E.Policy,
                    now: datetime) -> E.Evaluation:
    return evaluate_loaded(rec, store.history(conn, rec), policy, now.timestamp())


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def sla_payload(rec: store.TicketRecord, cyc: E.Cycle) -> dict[str, Any]:
    return {"ticket_id": rec.id, "tid": rec.tid, "subject": rec.subject, "level": cyc.level,
            "due_at": iso(cyc.due_at), "department_id": rec.department_id,
            "client_id": rec.client_id, "kind": cyc.kind}


NOTE_TEXT = {
    "en": {"at_risk": "SLA at risk", "breached": "SLA breached",
           "body": "{what}: {kind} for this {level} ticket is due {due} ({zone})."},
    "vi": {"at_risk": "Sắp trễ SLA", "breached": "Đã trễ SLA",
           "body": "{what}: hạn {kind} cho yêu cầu mức {level} là {due} ({zone})."},
}
KIND_TEXT = {"en": {"first_reply": "the first reply", "next_reply": "the next reply"},
             "vi": {"first_reply": "phản hồi đầu tiên", "next_reply": "phản hồi tiếp theo"}}


def note_text(settings: Any, trigger: str, cyc: E.Cycle) -> str:
    lang = settings.escalation.note_language
    t = NOTE_TEXT[lang]
    due = datetime.fromtimestamp(cyc.due_at or 0, settings.tz).strftime("%Y-%m-%d %H:%M")
    return "[whmcs-bridge] " + t["body"].format(what=t[trigger], kind=KIND_TEXT[lang][cyc.kind],
                                               level=cyc.level, due=due, zone=settings.timezone)


def _changed_outside(conn: Connection, ticket_id: int, kind: str, since: float) -> bool:
    rows = conn.execute(select(ticket_history.c.at).where(
        ticket_history.c.ticket_id == ticket_id, ticket_history.c.kind == kind,
        ticket_history.c.actor == "whmcs")).scalars()
    return any(at.timestamp() >= since for at in rows)


def perform(ctx: HandlerContext, rec: store.TicketRecord, cyc: E.Cycle, trigger: str,
            action: str, key: str) -> tuple[str, str | None]:
    """Carry out one action; ``(outcome, detail)`` with outcome ``done`` or ``skipped``."""
    esc = ctx.settings.escalation
    conn = ctx.conn
    if action == "note":
        replies.post_note(ctx, rec.id, note_text(ctx.settings, trigger, cyc),
                          dedupe_key=f"sla:{rec.id}:{key}:{trigger}:note", rank=ESCALATION)
        return "done", None
    if action == "notify":
        ctx.notify(f"sla_{trigger}", sla_payload(rec, cyc),
                   dedupe_key=f"sla_{trigger}:{rec.id}:{key}")
        return "done", None
    if action == "raise_priority":
        new = raised(rec.priority)
        if new is None:
            return "skipped", f"priority already {rec.priority}"
        if _changed_outside(conn, rec.id, "priority", cyc.started_at):
            return "skipped", f"priority changed outside the bridge in this cycle ({rec.priority})"
        replies.update_ticket(ctx, rec.id, key=f"sla:{rec.id}:{key}:{trigger}:{action}",
                              rank=ESCALATION, priority=new)
        store.upsert_ticket(conn, rec.id, now=ctx.now, actor="bridge", source="bridge",
                            priority=new)
        return "done", f"priority {rec.priority} → {new}"
    if action == "move_department":
        target = esc.move_department_id
        if target is None:
            return "skipped", "escalation.move_department_id is not set"
        if rec.department_id == target:
            return "skipped", f"already in department {target}"
        if _changed_outside(conn, rec.id, "department", cyc.started_at):
            return "skipped", "department changed outside the bridge in this cycle"
        replies.update_ticket(ctx, rec.id, key=f"sla:{rec.id}:{key}:{trigger}:{action}",
                              rank=ESCALATION, deptid=target)
        store.upsert_ticket(conn, rec.id, now=ctx.now, actor="bridge", source="bridge",
                            department_id=target)
        return "done", f"department {rec.department_id} → {target}"
    if action == "flag_admin":
        admin = esc.flag_admin_id
        if admin is None:
            return "skipped", "escalation.flag_admin_id is not set"
        if rec.flag_admin_id:
            return "skipped", f"already flagged to admin {rec.flag_admin_id}"
        replies.update_ticket(ctx, rec.id, key=f"sla:{rec.id}:{key}:{trigger}:{action}",
                              rank=ESCALATION, flag=admin)
        store.upsert_ticket(conn, rec.id, now=ctx.now, actor="bridge", source="bridge",
                            flag_admin_id=admin)
        return "done", f"flagged to admin {admin}"
    raise ValueError(f"unknown escalation action {action!r}")


@dataclass
class SweepResult:
    evaluated: int = 0
    states: dict[str, int] = field(default_factory=dict)
    actions: list[tuple[int, str, str, str]] = field(default_factory=list)  # id, trig, act, out
    failed: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, "states": self.states,
                "actions": [{"ticket_id": t, "trigger": g, "action": a, "outcome": o}
                            for t, g, a, o in self.actions],
                "failed": [{"ticket_id": t, "error": e} for t, e in self.failed]}


def escalate_ticket(engine: Engine, settings: Any, services: Services, now: datetime,
                    ticket_id: int, policy: E.Policy, result: SweepResult) -> None:
    """Run the due actions of one ticket, one transaction per action."""
    with engine.connect() as conn:
        rec = store.get_ticket(conn, ticket_id)
        if rec is None:
            return
        ev = evaluate_record(conn, rec, policy, now)
        cyc = ev.open_cycle
        if cyc is None:
            return
        key = cycle_key(cyc)
        due = due_actions(cyc.state, cyc.level, settings.escalation,
                          store.escalations_done(conn, rec.id, key))
    performed: list[str] = []
    trigger = None
    for trigger, action in due:
        with engine.begin() as conn:
            ctx = HandlerContext(settings=settings, conn=conn, now=now, services=services)
            rec = store.get_ticket(conn, ticket_id) or rec
            if not store.record_escalation(conn, rec.id, key, trigger, action,
                                           outcome="pending", at=now):
                continue  # another sweep got there first
            outcome, detail = perform(ctx, rec, cyc, trigger, action, key)
            store.record_escalation_outcome(conn, rec.id, key, trigger, action, outcome, detail)
        result.actions.append((rec.id, trigger, action, outcome))
        if outcome == "done" and action != "notify":
            performed.append(action)
    if performed and trigger is not None:
        with engine.begin() as conn:
            ctx = HandlerContext(settings=settings, conn=conn, now=now, services=services)
            ctx.notify("escalation_done", {"ticket_id": rec.id, "tid": rec.tid,
                                           "level": cyc.level, "actions": performed,
                                           "kind": cyc.kind},
                       dedupe_key=f"escalation_done:{rec.id}:{key}:{trigger}")


def sweep(engine: Engine, settings: Any, services: Services, now: datetime | None = None, *,
          policy: E.Policy | None = None, batch: int = 500,
          progress: Callable[[int], None] | None = None) -> SweepResult:
    """Re-evaluate every open ticket, cache its state, and run the escalations due."""
    now = now or datetime.now(UTC)
    policy = policy or E.Policy.from_settings(settings)
    result = SweepResult()
    now_ts = now.timestamp()
    with engine.connect() as conn:
        ids = list(store.open_ticket_ids(conn, settings.sla.closed_statuses))
    to_escalate: list[int] = []
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        with engine.begin() as conn:
            recs = store.get_tickets(conn, chunk)
            hists = store.histories(conn, recs)
            done = store.escalations_done_many(conn, [r.id for r in recs])
            saved = []
            for rec in recs:
                ev = evaluate_loaded(rec, hists[rec.id], policy, now_ts)
                cur = ev.open_cycle
                state = ev.state
                due = cur.due_at if cur is not None else None
                saved.append({"b_id": rec.id, "sla_state": state,
                              "sla_due_at": datetime.fromtimestamp(due, UTC)
                              if due is not None else None})
                result.evaluated += 1
                result.states[state] = result.states.get(state, 0) + 1
                if cur is not None and cur.state in (E.AT_RISK, E.BREACHED) and due_actions(
                        cur.state, cur.level, settings.escalation,
                        done.get((rec.id, cycle_key(cur)), ())):
                    to_escalate.append(rec.id)
            store.save_evaluations(conn, saved)
        if progress:
            progress(len(chunk))
    for tid in to_escalate:
        try:
            escalate_ticket(engine, settings, services, now, tid, policy, result)
        except Exception as exc:  # one ticket's WHMCS trouble must not stop the sweep
            log.warning("escalation of ticket %s failed: %s", tid, exc)
            result.failed.append((tid, f"{type(exc).__name__}: {exc}"))
    return result

