"""SLA handlers: tell staff about new urgent tickets (priority 40) and run the periodic sweep
that re-evaluates open tickets and carries out due escalations (``sla.sweep``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hooks.context import Event, HandlerContext, JobContext
from hooks.registry import on, periodic
from whmcs_bridge.sla.engine import Policy
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.escalate import evaluate_record, iso, sweep


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


_last_sweep: dict[str, datetime] = {}


@periodic("sla.sweep", every_seconds=60)
def sla_sweep(ctx: JobContext) -> dict[str, Any]:
    """Every minute, or every ``sla.sweep_seconds`` when that is longer."""
    last = _last_sweep.get("at")
    if last is not None and (ctx.now - last).total_seconds() < ctx.settings.sla.sweep_seconds - 1:
        return {"skipped": True}
    _last_sweep["at"] = ctx.now
    return sweep(ctx.engine, ctx.settings, ctx.services, ctx.now).as_dict()
