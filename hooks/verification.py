"""Verification handlers (priority 30, after the ticket store is current at 10/20).

* New tickets and customer replies: credentials typed into the text are fingerprinted as
  leaked, optionally redacted in WHMCS, and the customer is asked to change them; then the
  text is classified and, for an account-change request from a channel that needs proof, the
  refusal flow starts (reply with the accepted proofs, awaiting status, SLA paused, staff
  notified, signed link sent to the address on file).
* Piped mail: credentials are fingerprinted as leaked before the ticket even exists.
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
from whmcs_bridge.verification import REFUSED, service, store
from whmcs_bridge.verification.classify import Classifier, parse_custom_fields
from whmcs_bridge.verification.redact import Redaction, redact

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


def _combined(subject: Redaction, message: Redaction) -> Redaction:
    return Redaction(message.text, subject.findings + message.findings)


TEXT_FIELDS = ("subject", "message", "body")


def scrub_stored_event(ctx: HandlerContext, event_id: str) -> bool:
    """Rewrite the inbox copy of the event with its credentials redacted, so a secret typed
    into a ticket does not stay in the database once the event is processed."""
    row = ctx.conn.execute(select(events.c.payload).where(events.c.id == event_id)).first()
    if row is None or not isinstance(row.payload, dict):
        return False
    payload = dict(row.payload)
    data = payload.get("data")
    if not isinstance(data, dict):
        return False
    data = dict(data)
    changed = False
    for key in TEXT_FIELDS:
        if isinstance(data.get(key), str):
            cleaned = redact(data[key])
            if cleaned:
                data[key] = cleaned.text
                changed = True
    if changed:
        payload["data"] = data
        ctx.conn.execute(update(events).where(events.c.id == event_id).values(payload=payload))
    return changed


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
    subject, message = redact(d.get("subject")), redact(d.get("message"))
    if subject or message:
        service.handle_leak(ctx, effects, _combined(subject, message), ticket=ticket,
                            reply_id=d.get("replyid") or None, event_id=event.id)
        scrub_stored_event(ctx, event.id)
    result = Classifier.from_settings(cfg).classify(
        subject.text, message.text, department_id=d.get("deptid"),
        custom_fields=parse_custom_fields(d.get("customfields")))
    if result.is_change:
        service.open_request(ctx, effects, ticket, result.kinds, result.reasons)


@on("TicketPiping", priority=30, name="verification.piping")
def on_piping(event: Event, ctx: HandlerContext) -> None:
    found = redact(f"{event.data.get('subject') or ''}\n{event.data.get('body') or ''}")
    if found:
        service.record_leaks(ctx, found, ticket_id=None, client_id=None)
        scrub_stored_event(ctx, event.id)


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
