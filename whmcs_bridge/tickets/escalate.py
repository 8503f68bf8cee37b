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

Thresholds crossed before go-live (:mod:`whmcs_bridge.tickets.golive`) get no action: the
sweep records them as skipped in bulk, and queues one ``go_live_backlog`` summary for staff
("N tickets were already overdue at go-live"). ``dry_run`` evaluates and reports what a sweep
would do without writing anything (no cached state, no record, no WHMCS call, no notification).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from whmcs_bridge.context import HandlerContext, Services
from whmcs_bridge.notify import outbox
from whmcs_bridge.sla import engine as E
from whmcs_bridge.sla.escalation import (
    BEFORE_GO_LIVE,
    cycle_key,
    due_actions,
    raised,
    split_go_live,
)
from whmcs_bridge.store.base import dialect_insert
from whmcs_bridge.tickets import golive, replies, store
from whmcs_bridge.tickets.tables import sla_schedule, ticket_escalations, ticket_history
from whmcs_bridge.writes.tables import ESCALATION

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings
    from whmcs_bridge.sla.settings import EscalationConfig

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


def state_at_go_live(rec: store.TicketRecord, history: list[tuple], policy: E.Policy,
                     cyc: E.Cycle, go_live: golive.GoLive | None) -> str | None:
    """The state the open cycle ``cyc`` was in at go-live; None when it started after (or no
    go-live is known)."""
    if go_live is None or cyc.started_at >= go_live.ts:
        return None
    then = evaluate_loaded(rec, history, policy, go_live.ts)
    key = cycle_key(cyc)
    return next((c.state for c in then.cycles if cycle_key(c) == key), None)


def decide(rec: store.TicketRecord, history: list[tuple], policy: E.Policy, cyc: E.Cycle,
           escalation: EscalationConfig, done: Collection[tuple[str, str]],
           go_live: golive.GoLive | None
           ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(to_do, withheld)`` for the open cycle: the due actions, split by the go-live rule."""
    due = due_actions(cyc.state, cyc.level, escalation, done)
    if not due:
        return [], []
    return split_go_live(due, state_at_go_live(rec, history, policy, cyc, go_live))


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


def note_text(settings: Settings, trigger: str, cyc: E.Cycle) -> str:
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
    #: actions not taken because their threshold was crossed before go-live: id, trig, act
    withheld: list[tuple[int, str, str]] = field(default_factory=list)
    go_live_at: str | None = None
    #: tickets counted in the go-live summary queued by this sweep (None: none queued)
    backlog_summary: int | None = None
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, "states": self.states, "dry_run": self.dry_run,
                "actions": [{"ticket_id": t, "trigger": g, "action": a, "outcome": o}
                            for t, g, a, o in self.actions],
                "failed": [{"ticket_id": t, "error": e} for t, e in self.failed],
                "withheld": [{"ticket_id": t, "trigger": g, "action": a}
                             for t, g, a in self.withheld],
                "go_live_at": self.go_live_at, "backlog_summary": self.backlog_summary}


def escalate_ticket(engine: Engine, settings: Settings, services: Services, now: datetime,
                    ticket_id: int, policy: E.Policy, result: SweepResult) -> None:
    """Run the due actions of one ticket, one transaction per action."""
    with engine.connect() as conn:
        rec = store.get_ticket(conn, ticket_id)
        if rec is None:
            return
        hist = store.history(conn, rec)
        cyc = evaluate_loaded(rec, hist, policy, now.timestamp()).open_cycle
        if cyc is None:
            return
        key = cycle_key(cyc)
        due, withheld = decide(rec, hist, policy, cyc, settings.escalation,
                               store.escalations_done(conn, rec.id, key),
                               golive.effective(conn, settings))
    if withheld:
        with engine.begin() as conn:
            record_withheld(conn, [(rec.id, key, t, a) for t, a in withheld], now)
        result.withheld += [(rec.id, t, a) for t, a in withheld]
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
            # department_id beyond the contract keys: routes by department, and WHMCS's
            # admin mail reaches that department's admins
            ctx.notify("escalation_done", {"ticket_id": rec.id, "tid": rec.tid,
                                           "level": cyc.level, "actions": performed,
                                           "kind": cyc.kind,
                                           "department_id": rec.department_id},
                       dedupe_key=f"escalation_done:{rec.id}:{key}:{trigger}")


def record_withheld(conn: Connection, rows: list[tuple[int, str, str, str]],
                    now: datetime) -> None:
    """Record actions withheld by the go-live rule as skipped, so no sweep tries them again
    (one statement: the first sweep on a busy WHMCS withholds thousands)."""
    if not rows:
        return
    conn.execute(dialect_insert(conn)(ticket_escalations).on_conflict_do_nothing(
        index_elements=["ticket_id", "cycle_key", "trigger", "action"]), [
        {"ticket_id": t, "cycle_key": k, "trigger": g, "action": a, "outcome": "skipped",
         "detail": BEFORE_GO_LIVE, "at": now} for t, k, g, a in rows])


def backlog_ids(conn: Connection) -> list[int]:
    """Tickets whose breach was withheld by the go-live rule (the go-live summary's list)."""
    e = ticket_escalations
    return list(conn.execute(
        select(e.c.ticket_id).where(e.c.trigger == "breached", e.c.detail == BEFORE_GO_LIVE)
        .group_by(e.c.ticket_id).order_by(e.c.ticket_id)).scalars())


def backlog_list_url(settings: Settings) -> str | None:
    base = settings.server.public_url
    return f"{base.rstrip('/')}/dashboard#breaches" if base else None


def queue_backlog_summary(conn: Connection, settings: Settings, now: datetime,
                          go_live: golive.GoLive) -> int | None:
    """One ``go_live_backlog`` notification per go-live time (the dedupe key names it)."""
    count = conn.execute(select(func.count()).select_from(
        select(ticket_escalations.c.ticket_id).where(
            ticket_escalations.c.trigger == "breached",
            ticket_escalations.c.detail == BEFORE_GO_LIVE)
        .group_by(ticket_escalations.c.ticket_id).subquery())).scalar_one()
    if not count:
        return None
    queued = outbox.enqueue(conn, notification="go_live_backlog", payload={
        "count": count, "go_live_at": go_live.at.isoformat(),
        "list_url": backlog_list_url(settings)},
        dedupe_key=f"go_live_backlog:{int(go_live.ts)}", now=now, settings=settings)
    return count if queued is not None else None


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def escalation_pending(ev: E.Evaluation, escalation: EscalationConfig,
                       recorded: Callable[[str], Collection[tuple[str, str]]]) -> bool:
    """Whether the open cycle has escalation actions still to do; ``recorded(cycle key)``
    gives the ``(trigger, action)`` pairs already recorded for a cycle of this ticket."""
    cur = ev.open_cycle
    if cur is None or cur.state not in (E.AT_RISK, E.BREACHED):
        return False
    return bool(due_actions(cur.state, cur.level, escalation, recorded(cycle_key(cur))))


def evaluation_row(rec: store.TicketRecord, history: list[tuple], policy: E.Policy,
                   ev: E.Evaluation, now_ts: float, pending: bool) -> dict[str, Any]:
    """What the store caches of an evaluation, for :func:`store.save_evaluations`: the state,
    the due time, and when to look again — at once (``now``) while escalation actions are
    still to do (a failed WHMCS call is retried by the next sweep), else the engine's next
    transition."""
    cur = ev.open_cycle
    tp = policy.for_ticket(rec.department_id, rec.channel)
    nxt = now_ts if pending else E.next_transition(history, now_ts, tp, ev)
    return {"b_id": rec.id, "sla_state": ev.state,
            "sla_due_at": _utc(cur.due_at if cur is not None else None),
            "sla_next_at": _utc(nxt)}


def reevaluate(conn: Connection, settings: Settings, ticket_id: int, now: datetime,
               policy: E.Policy | None = None) -> E.Evaluation | None:
    """Evaluate one ticket at ``now`` and store its state and next transition — what an
    event does for its own ticket, so the sweep need not look at it before that time.
    Escalations themselves stay the sweep's (one transaction per action)."""
    rec = store.get_ticket(conn, ticket_id)
    if rec is None:
        return None
    policy = policy or E.Policy.from_settings(settings)
    now_ts = now.timestamp()
    hist = store.history(conn, rec)
    ev = evaluate_loaded(rec, hist, policy, now_ts)
    pending = escalation_pending(ev, settings.escalation,
                                 lambda key: store.escalations_done(conn, rec.id, key))
    store.save_evaluations(conn, [evaluation_row(rec, hist, policy, ev, now_ts, pending)])
    return ev


SCHEDULE = "sweep"


def policy_digest(settings: Settings) -> str:
    """Fingerprint of the settings the stored next-transition times depend on."""
    # asdict: the same JSON the sections gave while they were dicts (stored digests hold)
    blob = json.dumps([asdict(settings.sla), asdict(settings.escalation)], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _stored_digest(conn: Connection) -> str | None:
    return conn.execute(select(sla_schedule.c.policy_digest)
                        .where(sla_schedule.c.name == SCHEDULE)).scalar()


def _check_policy(conn: Connection, settings: Settings, now: datetime) -> bool:
    """When the ``[sla]``/``[escalation]`` settings differ from those the stored times were
    computed under, make every open ticket due; True when that happened."""
    digest = policy_digest(settings)
    stored = _stored_digest(conn)
    if stored == digest:
        return False
    store.mark_open_sla_dirty(conn, settings.sla.closed_statuses)
    if stored is None:
        conn.execute(insert(sla_schedule).values(name=SCHEDULE, policy_digest=digest,
                                                 updated_at=now))
    else:
        conn.execute(update(sla_schedule).where(sla_schedule.c.name == SCHEDULE)
                     .values(policy_digest=digest, updated_at=now))
    return True


def sweep(engine: Engine, settings: Settings, services: Services, now: datetime | None = None, *,
          policy: E.Policy | None = None, batch: int = 500,
          progress: Callable[[int], None] | None = None, dry_run: bool = False) -> SweepResult:
    """Re-evaluate the open tickets that are due (their next transition has come, or their
    inputs changed), cache their state and next transition, and run the escalations due
    (``dry_run``: only report what would be done, writing nothing).

    A ticket not due cannot have changed state since it was last evaluated (see
    :func:`whmcs_bridge.sla.engine.next_transition`), so ``evaluated`` and ``states`` count
    only the tickets due this time."""
    now = now or datetime.now(UTC)
    policy = policy or E.Policy.from_settings(settings)
    result = SweepResult(dry_run=dry_run)
    now_ts = now.timestamp()
    closed = settings.sla.closed_statuses
    # The steady state (policy unchanged, go-live known) only reads: no writer lock taken.
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        current = _stored_digest(conn) == policy_digest(settings)
        ids, gone = store.due_ticket_ids(conn, closed, now)
        go_live = (golive.would_be(conn, settings, now) if dry_run
                   else golive.effective(conn, settings))
        if dry_run and not current:  # the first sweep under this policy looks at every one
            ids = list(store.open_ticket_ids(conn, closed))
    if not dry_run and (not current or gone or go_live is None):
        with engine.begin() as conn:
            if not current:
                _check_policy(conn, settings, now)
                ids, gone = store.due_ticket_ids(conn, closed, now)
            store.clear_sla_next(conn, gone, closed)
            go_live = golive.ensure(conn, settings, now)
    result.go_live_at = go_live.at.isoformat() if go_live else None
    to_escalate: list[int] = []
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        with (engine.connect().execution_options(sqlite_readonly=True) if dry_run
              else engine.begin()) as conn:
            recs = store.get_tickets(conn, chunk)
            hists = store.histories(conn, recs)
            done = store.escalations_done_many(conn, [r.id for r in recs])
            saved = []
            withheld: list[tuple[int, str, str, str]] = []
            for rec in recs:
                ev = evaluate_loaded(rec, hists[rec.id], policy, now_ts)
                cur = ev.open_cycle
                todo: list[tuple[str, str]] = []
                if cur is not None and cur.state in (E.AT_RISK, E.BREACHED):
                    key = cycle_key(cur)
                    todo, held = decide(rec, hists[rec.id], policy, cur, settings.escalation,
                                        done.get((rec.id, key), ()), go_live)
                    withheld += [(rec.id, key, t, a) for t, a in held]
                    result.withheld += [(rec.id, t, a) for t, a in held]
                    if todo and dry_run:
                        result.actions += [(rec.id, t, a, "would do") for t, a in todo]
                # actions still to do keep the ticket due, so a failed one is tried again
                saved.append(evaluation_row(rec, hists[rec.id], policy, ev, now_ts,
                                            pending=bool(todo)))
                result.evaluated += 1
                result.states[ev.state] = result.states.get(ev.state, 0) + 1
                if todo and not dry_run:
                    to_escalate.append(rec.id)
            if not dry_run:
                store.save_evaluations(conn, saved)
                record_withheld(conn, withheld, now)
        if progress:
            progress(len(chunk))
    if dry_run:
        return result
    for tid in to_escalate:
        try:
            escalate_ticket(engine, settings, services, now, tid, policy, result)
        except Exception as exc:  # one ticket's WHMCS trouble must not stop the sweep
            log.warning("escalation of ticket %s failed: %s", tid, exc)
            result.failed.append((tid, f"{type(exc).__name__}: {exc}"))
            continue  # still due (sla_next_at = now): the next sweep tries again
        with engine.begin() as conn:
            reevaluate(conn, settings, tid, now, policy)
    if go_live is not None and result.withheld:
        with engine.begin() as conn:
            result.backlog_summary = queue_backlog_summary(conn, settings, now, go_live)
    return result
