"""SLA handlers: tell staff about new urgent tickets (priority 40), re-evaluate a ticket as
soon as an event changes it (priority 90, after every handler that writes it), and run the
periodic sweep that re-evaluates the open tickets that are due and carries out due escalations
(``sla.sweep``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.hooks.context import Event, HandlerContext, JobContext
from whmcs_bridge.hooks.registry import on, periodic
from whmcs_bridge.sla.engine import Policy
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.escalate import evaluate_record, iso, reevaluate, sweep


@on("TicketOpen", priority=40, name="sla.urgent_opened")
@on("TicketOpenAdmin", priority=40, name="sla.urgent_opened")
def urgent_opened(event: Event, ctx: HandlerContext) -> None:
    rec = store.get_ticket(ctx.conn, event.data["ticketid"])
    if rec is None or ctx.settings.sla.levels.get(rec.priority) != "urgent":
        return
    ev = evaluate_record(ctx.conn, rec, Policy.from_settings(ctx.settings), ctx.now)
    if not ev.applicable:
        return
    cyc = ev.open_cycle
    ctx.notify("urgent_ticket_opened", {
        "ticket_id": rec.id, "tid": rec.tid, "subject": rec.subject, "level": "urgent",
        "department_id": rec.department_id, "client_id": rec.client_id,
        "due_at": iso(cyc.due_at) if cyc else None,
    }, dedupe_key=f"urgent_ticket_opened:{rec.id}")


#: keys of the ticket ids an event names (WHMCS spells them differently per hook)
_TICKET_KEYS = ("ticketid", "ticketId", "masterTicketId", "originalTicketId", "newTicketID")


def _ticket_ids(data: dict[str, Any]) -> list[int]:
    ids = [data[k] for k in _TICKET_KEYS if data.get(k)]
    ids += list(data.get("mergedTicketIds") or [])
    out: list[int] = []
    for v in ids:
        try:
            tid = int(v)
        except (TypeError, ValueError):
            continue  # the schema checks the event; an odd id here is not this handler's
        if tid not in out:
            out.append(tid)
    return out


@on("TicketOpen", priority=90, name="sla.reevaluate")
@on("TicketOpenAdmin", priority=90, name="sla.reevaluate")
@on("TicketUserReply", priority=90, name="sla.reevaluate")
@on("TicketAdminReply", priority=90, name="sla.reevaluate")
@on("TicketAddNote", priority=90, name="sla.reevaluate")
@on("TicketStatusChange", priority=90, name="sla.reevaluate")
@on("TicketClose", priority=90, name="sla.reevaluate")
@on("TicketPriorityChange", priority=90, name="sla.reevaluate")
@on("TicketDepartmentChange", priority=90, name="sla.reevaluate")
@on("TicketDeleteReply", priority=90, name="sla.reevaluate")
@on("TicketMerge", priority=90, name="sla.reevaluate")
@on("TicketSplit", priority=90, name="sla.reevaluate")
def reevaluate_ticket(event: Event, ctx: HandlerContext) -> None:
    """The event's ticket gets its state and next transition now, so the sweep reads it only
    when that time comes (or at once when an escalation is due)."""
    policy = Policy.from_settings(ctx.settings)
    for tid in _ticket_ids(event.data):
        reevaluate(ctx.conn, ctx.settings, tid, ctx.now, policy)


_last_sweep: dict[str, datetime] = {}


@periodic("sla.sweep", every_seconds=60)
def sla_sweep(ctx: JobContext) -> dict[str, Any]:
    """Every minute, or every ``sla.sweep_seconds`` when that is longer."""
    last = _last_sweep.get("at")
    if last is not None and (ctx.now - last).total_seconds() < ctx.settings.sla.sweep_seconds - 1:
        return {"skipped": True}
    _last_sweep["at"] = ctx.now
    return sweep(ctx.engine, ctx.settings, ctx.services, ctx.now).as_dict()
