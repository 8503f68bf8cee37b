"""Verification handlers (priority 30, after the ticket store is current at 10/20).

* New tickets and customer replies: credentials typed into the text (already masked by the
  receiver, which left their fingerprints in ``event.redactions``) are recorded as leaked, the
  WHMCS copy is optionally redacted, and the customer is asked to change them; then the
  text is classified and, for an account-change request from a channel that needs proof, the
  refusal flow starts (reply with the accepted proofs, awaiting status, SLA paused, staff
  notified, signed link sent to the address on file).
* Piped mail: credentials are recorded as leaked before the ticket even exists.
* Closed or deleted tickets stop blocking the gates.
* ``verification.refusal_sweep``: requests still unproven after the timeout are refused.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from hooks.context import Event, HandlerContext, JobContext
from hooks.registry import on, periodic
from whmcs_bridge.store.tables import events
from whmcs_bridge.verification import REFUSED, intake, service, store
from whmcs_bridge.verification.classify import Classifier, parse_custom_fields

log = logging.getLogger("whmcs_bridge.verification")


def _ticket(ctx: HandlerContext, event: Event, ticket_id: int) -> Any:
    from whmcs_bridge.tickets.store import get_ticket

    ticket = get_ticket(ctx.conn, ticket_id)
    if ticket is not None:
        return ticket
    # the tickets room (priority 10) normally has it; fall back to what the event says
    d = event.data
    return SimpleNamespace(id=ticket_id, tid=d.get("ticketmask"), client_id=d.get("userid"),
                           channel="staff" if event.type == "TicketOpenAdmin" else None,
                           language=None)


def scrub_stored_event(ctx: HandlerContext, event_id: str) -> bool:
    """Bring an inbox row stored *before* intake redaction up to today's rule: its text
    redacted and its ``redactions`` recorded, in the handler's transaction.

    New rows never need it (the receiver stores them redacted, see
    :mod:`whmcs_bridge.verification.intake`); this is only the fallback for older rows, so a
    secret typed before the upgrade does not stay in the database once its event is handled.
    """
    row = ctx.conn.execute(select(events.c.payload).where(events.c.id == event_id)).first()
    if row is None or not isinstance(row.payload, dict):
        return False
    payload = intake.scrub_envelope(ctx.settings, row.payload)
    if payload == row.payload:
        return False
    ctx.conn.execute(update(events).where(events.c.id == event_id).values(payload=payload))
    return True


def _clean(ctx: HandlerContext, event: Event) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The event's text as the bridge stores it (redacted) and every leak in it.

    The receiver redacted the text and recorded the leaks (``event.redactions``); text that
    still holds a secret (an event stored before that) is redacted here with the same
    functions, and its inbox row scrubbed.
    """
    data, found_now = intake.scrub_data(ctx.settings, event.data)
    if found_now:
        scrub_stored_event(ctx, event.id)
    return data, [*event.redactions, *found_now]


@on("TicketOpen", priority=30, name="verification.message")
@on("TicketOpenAdmin", priority=30, name="verification.message")
@on("TicketUserReply", priority=30, name="verification.message")
def on_message(event: Event, ctx: HandlerContext) -> None:
    cfg = ctx.settings.verification
    if not cfg.enabled:
        return
    d = event.data
    ticket = _ticket(ctx, event, int(d["ticketid"]))
    effects = service.BridgeEffects(ctx)
    data, leaks = _clean(ctx, event)
    if leaks:
        service.handle_leak(ctx, effects, leaks, data.get("message") or "", ticket=ticket,
                            reply_id=d.get("replyid") or None, event_id=event.id)
    result = Classifier.from_settings(cfg).classify(
        data.get("subject") or "", data.get("message") or "", department_id=d.get("deptid"),
        custom_fields=parse_custom_fields(data.get("customfields")))
    if result.is_change:
        service.open_request(ctx, effects, ticket, result.kinds, result.reasons)


@on("TicketPiping", priority=30, name="verification.piping")
def on_piping(event: Event, ctx: HandlerContext) -> None:
    _, leaks = _clean(ctx, event)
    if leaks:
        service.record_leaks(ctx, leaks, ticket_id=None, client_id=None)


@on("TicketClose", priority=30, name="verification.closed")
@on("TicketDelete", priority=30, name="verification.closed")
def on_closed(event: Event, ctx: HandlerContext) -> None:
    ticket_id = event.data.get("ticketid") or event.data.get("ticketId")
    if ticket_id and store.get_request(ctx.conn, int(ticket_id)) is not None:
        store.update_request(ctx.conn, int(ticket_id), ctx.now, closed_at=ctx.now)


@periodic("verification.refusal_sweep", every_seconds=300)
def refusal_sweep(job: JobContext) -> int:
    """Refuse every request still unproven at its deadline; one transaction per ticket."""
    with job.engine.begin() as conn:
        due = [r.ticket_id for r in service.overdue(SimpleNamespace(conn=conn, now=job.now))]
    refused = 0
    for ticket_id in due:
        with job.engine.begin() as conn:
            ctx = HandlerContext(settings=job.settings, conn=conn, now=job.now,
                                 services=job.services)
            req = store.get_request(conn, ticket_id)
            if req is None or req.state == REFUSED or req.deadline_at is None \
                    or req.deadline_at > job.now:
                continue
            service.refuse(ctx, service.BridgeEffects(ctx), req)
            refused += 1
    if refused:
        log.info("verification: refused %d ticket(s) without proof after the timeout", refused)
    return refused
