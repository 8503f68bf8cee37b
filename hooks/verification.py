"""Verification handlers (priority 30, after the ticket store is current at 10/20).

* New tickets and customer replies: credentials typed into the text (already masked by the
  receiver, which left their fingerprints in ``event.redactions``) are recorded as leaked, the
  WHMCS copy is optionally redacted, and the customer is asked to change them; then the
  text is classified and, for an account-change request from a channel that needs proof, the
  refusal flow starts (reply with the accepted proofs, awaiting status, SLA paused, staff
  notified, signed link sent to the address on file).
* Owners: a request whose ticket names no client (guest mail), or whose text names domains,
  is marked ``pending``; ``verification.resolve_owners`` looks the sender address and domains
  up in WHMCS with no transaction open, then writes every candidate owner, whose gates the
  request blocks (:mod:`whmcs_bridge.verification.owners`). A ticket's client, once known,
  is followed on every message event (and by the sync).
* Piped mail: credentials are recorded as leaked before the ticket even exists. A
  ``TicketPiping`` that arrives after the ``TicketOpen`` of its ticket (a spooled re-send, a
  slow delivery) reclassifies that ticket as e-mail, and a change request it holds needs proof.
* Closed or deleted tickets stop blocking the gates.
* ``verification.refusal_sweep``: requests still unproven after the timeout are refused.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from whmcs_bridge.api.errors import WhmcsError
from whmcs_bridge.hooks.context import Event, HandlerContext, JobContext
from whmcs_bridge.hooks.registry import on, periodic
from whmcs_bridge.hooks.tickets import PIPE_WINDOW, event_time, subject_hash
from whmcs_bridge.store.tables import events
from whmcs_bridge.tickets import store as tstore
from whmcs_bridge.tickets.store import get_ticket
from whmcs_bridge.tickets.tables import tickets as T
from whmcs_bridge.verification import (
    NOT_REQUIRED,
    REFUSED,
    REQUIRED,
    intake,
    messages,
    owners,
    service,
    store,
)
from whmcs_bridge.verification.classify import Classifier, parse_custom_fields

log = logging.getLogger("whmcs_bridge.verification")


def _ticket(ctx: HandlerContext, event: Event, ticket_id: int) -> Any:
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
    store.follow_ticket_client(ctx.conn, ticket.id, ticket.client_id or d.get("userid"),
                               ctx.now)
    if result.is_change:
        req = service.open_request(ctx, effects, ticket, result.kinds, result.reasons)
        track_owner(ctx, req)


def track_owner(ctx: HandlerContext, req: Any) -> None:
    """A new request that needs proof: its ticket's client is a candidate at once (no WHMCS
    call); the sender and domain lookup is left ``pending`` for
    :func:`resolve_owners`, which runs outside any transaction."""
    if req is None or req.state != REQUIRED or req.owner is not None:
        return
    if req.client_id:
        store.set_owners(ctx.conn, req.ticket_id, {req.client_id: frozenset({"ticket"})},
                         ctx.now)
    store.update_request(ctx.conn, req.ticket_id, ctx.now, owner=owners.PENDING)


@on("TicketPiping", priority=30, name="verification.piping")
def on_piping(event: Event, ctx: HandlerContext) -> None:
    _, leaks = _clean(ctx, event)
    if leaks:
        service.record_leaks(ctx, leaks, ticket_id=None, client_id=None)
    if ctx.settings.verification.enabled:
        for ticket_id in _opened_before_piping(ctx, event):
            _reclassify_as_email(ctx, ticket_id)


def _opened_before_piping(ctx: HandlerContext, event: Event) -> list[int]:
    """Tickets classified ``client_area`` whose subject is the piped mail's and that were
    opened within :data:`.tickets.PIPE_WINDOW` of it: the piping event came late."""
    at = event_time(event)
    wanted = subject_hash(event.data.get("subject"))
    rows = ctx.conn.execute(select(T.c.id, T.c.subject).where(
        T.c.channel == "client_area", T.c.deleted.is_(False),
        T.c.opened_at >= at - PIPE_WINDOW, T.c.opened_at <= at + PIPE_WINDOW))
    return [r.id for r in rows if subject_hash(r.subject) == wanted]


def _reclassify_as_email(ctx: HandlerContext, ticket_id: int) -> None:
    """The ticket came by mail, whatever its sender matched: e-mail channel, and a change
    request recorded as ``not_required`` is opened again so that it needs proof."""
    tstore.upsert_ticket(ctx.conn, ticket_id, now=ctx.now, piped=True, channel="email")
    req = store.get_request(ctx.conn, ticket_id)
    if req is None or req.state != NOT_REQUIRED:
        return
    log.warning("ticket %s: TicketPiping arrived after TicketOpen; reclassified as e-mail, "
                "ownership proof now required", ticket_id)
    store.delete_request(ctx.conn, ticket_id)
    ticket = tstore.get_ticket(ctx.conn, ticket_id)
    req = service.open_request(ctx, service.BridgeEffects(ctx), ticket,
                               store.split_changes(req.changes),
                               tuple((req.reasons or "").split(",")) if req.reasons else ())
    track_owner(ctx, req)


@periodic("verification.resolve_owners", every_seconds=5)
def resolve_owners(job: JobContext) -> int:
    """Complete every ``pending`` owner lookup: read the request, close the transaction, ask
    WHMCS (the ticket's sender and client, then clients by e-mail and by domain), write the
    result in a new transaction. A WHMCS error leaves the request pending for the next run."""
    with job.engine.connect() as conn:
        pending = [r.ticket_id for r in store.pending_owner_requests(conn)]
        conn.rollback()
    done = 0
    for ticket_id in pending:
        try:
            wt = job.whmcs.get_ticket(ticket_id)
            opening = wt.opening.message if wt.opening else ""
            by_email, by_domain = owners.lookup(
                job.whmcs, sender=wt.requestor_email or wt.email, texts=(wt.subject, opening))
        except WhmcsError as exc:
            log.warning("verification: owner lookup for ticket %s failed (%s); retried later",
                        ticket_id, type(exc).__name__)
            continue
        found = owners.match(ticket_client=wt.userid or None, email_clients=by_email,
                             domain_clients=by_domain)
        with job.engine.begin() as conn:
            ctx = HandlerContext(settings=job.settings, conn=conn, now=job.now,
                                 services=job.services)
            done += apply_owners(ctx, service.BridgeEffects(ctx), ticket_id, found)
    return done


def apply_owners(ctx: HandlerContext, effects: Any, ticket_id: int,
                 found: owners.Resolution) -> int:
    """Write a lookup's result (with what the store knew meanwhile) and tell staff."""
    req = store.get_request(ctx.conn, ticket_id)
    if req is None or req.owner != owners.PENDING:
        return 0  # done meanwhile
    merged = dict(store.owners_of(ctx.conn, ticket_id))
    for cid, sources in found.candidates.items():
        merged[cid] = merged.get(cid, frozenset()) | sources
    result = owners.Resolution(merged)
    client_id = req.client_id or result.client_id
    store.set_owners(ctx.conn, ticket_id, merged, ctx.now)
    store.update_request(ctx.conn, ticket_id, ctx.now, owner=result.state, client_id=client_id)
    tid = req.tid or f"#{ticket_id}"
    if result.state in (owners.AMBIGUOUS, owners.UNMATCHED, owners.MATCHED):
        effects.note(ticket_id, messages.owner_note(tid, result.state, merged),
                     dedupe_key=f"verification:owner:{ticket_id}:{result.state}")
    if client_id and not req.client_id and ctx.settings.verification.auto_send_link:
        # the link goes to the matched client's address on file, never to the sender
        service.auto_send_link(ctx, effects, ticket_id)
    return 1


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
        ctx = HandlerContext(settings=job.settings, conn=conn, now=job.now,
                             services=job.services)
        due = [r.ticket_id for r in service.overdue(ctx)]
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
