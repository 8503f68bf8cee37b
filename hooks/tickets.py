"""Ticket handlers: keep the store's picture of each ticket current from WHMCS events
(priority 10), and send billing tickets to the hotline (priority 20).

Events only ever move the store forward with what they carry; anything they cannot tell
(a ticket first seen through a reply, a merge or split) is marked for the next sync, which
repairs whatever a lost event missed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from whmcs_bridge.hooks.context import Event, HandlerContext, PrepareContext
from whmcs_bridge.hooks.registry import on
from whmcs_bridge.i18n import customer_language
from whmcs_bridge.sla import engine as E
from whmcs_bridge.sla.channels import classify, is_billing
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.ingest import observe_external, reply_kind
from whmcs_bridge.tickets.replies import post_bridge_reply
from whmcs_bridge.tickets.tables import piped_mail, ticket_messages, tickets
from whmcs_bridge.tickets.texts import billing_reply

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

PIPE_WINDOW = timedelta(minutes=15)


def event_time(event: Event) -> datetime:
    return event.timestamp or event.received_at


def subject_hash(subject: str | None) -> str:
    return hashlib.sha256((subject or "").strip().lower().encode()).hexdigest()


def _ensure(ctx: HandlerContext, ticket_id: int, data: dict[str, Any]) -> None:
    """Make sure a row exists; a ticket first seen here is left for the sync to complete."""
    exists = ctx.conn.execute(select(tickets.c.id).where(tickets.c.id == ticket_id)).first()
    if exists is None:  # a deleted row counts as existing: it is not recreated
        channel = classify(department_id=data.get("deptid"), client_id=data.get("userid"),
                           subject=data.get("subject"), channels=ctx.settings.channels)
        store.upsert_ticket(ctx.conn, ticket_id, now=ctx.now,
                            subject=data.get("subject"), priority=data.get("priority"),
                            department_id=data.get("deptid"), channel=channel,
                            client_id=data.get("userid") or None, sync_pending=True)


@on("TicketOpen", priority=10, name="tickets.opened")
@on("TicketOpenAdmin", priority=10, name="tickets.opened")
def opened(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    tid = d["ticketid"]
    at = event_time(event)
    existing = store.get_ticket(ctx.conn, tid)
    by_admin = event.type == "TicketOpenAdmin"
    since = at - PIPE_WINDOW
    piped = ctx.conn.execute(select(piped_mail.c.id).where(
        piped_mail.c.subject_hash == subject_hash(d.get("subject")),
        piped_mail.c.at >= since)).first() is not None and not by_admin
    logged_call = existing.logged_call if existing else False
    channel = classify(department_id=d.get("deptid"), client_id=d.get("userid"),
                       opened_by_admin=by_admin, subject=d.get("subject"),
                       first_message=d.get("message"), piped=piped, logged_call=logged_call,
                       channels=ctx.settings.channels)
    store.upsert_ticket(
        ctx.conn, tid, now=ctx.now, at=at, tid=d.get("ticketmask"), subject=d.get("subject"),
        priority=d.get("priority") or "Medium", department_id=d.get("deptid"),
        client_id=d.get("userid") or None, opened_by_admin=by_admin, piped=piped,
        channel=channel, opened_at=existing.opened_at if existing and existing.opened_at
        else at, last_reply_at=at, status=None if existing else "Open")
    store.add_message(ctx.conn, tid, "open", E.STAFF if by_admin else E.CUSTOMER, at)


@on("TicketUserReply", priority=10, name="tickets.user_reply")
def user_reply(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    at = event_time(event)
    _ensure(ctx, d["ticketid"], d)
    changes = store.upsert_ticket(ctx.conn, d["ticketid"], now=ctx.now, at=at,
                                  status=d.get("status"), last_reply_at=at)
    observe_external(ctx.conn, d["ticketid"], changes, at=at)
    key = f"reply:{d['replyid']}" if d.get("replyid") else f"event:{event.id}"
    store.add_message(ctx.conn, d["ticketid"], key, E.CUSTOMER, at)


@on("TicketAdminReply", priority=10, name="tickets.admin_reply")
def admin_reply(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    at = event_time(event)
    _ensure(ctx, d["ticketid"], d)
    store.upsert_ticket(ctx.conn, d["ticketid"], now=ctx.now, at=at, status=d.get("status"),
                        last_reply_at=at)
    kind = reply_kind(admin=d.get("admin") or "staff", message=d.get("message") or "",
                      bridge_hashes=store.bridge_hashes(ctx.conn, d["ticketid"]),
                      automatic_admins=list(ctx.settings.sla.automatic_reply_admins))
    key = f"reply:{d['replyid']}" if d.get("replyid") else f"event:{event.id}"
    store.add_message(ctx.conn, d["ticketid"], key, kind, at, author=d.get("admin"))


@on("TicketAddNote", priority=10, name="tickets.note")
def note(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    _ensure(ctx, d["ticketid"], d)
    store.add_message(ctx.conn, d["ticketid"], f"event:{event.id}", E.NOTE, event_time(event))


@on("TicketStatusChange", priority=10, name="tickets.status")
@on("TicketClose", priority=10, name="tickets.status")
def status_changed(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    _ensure(ctx, d["ticketid"], d)
    status = d.get("status") or "Closed"
    store.upsert_ticket(ctx.conn, d["ticketid"], now=ctx.now, at=event_time(event),
                        status=status)


@on("TicketPriorityChange", priority=10, name="tickets.priority")
@on("TicketDepartmentChange", priority=10, name="tickets.department")
def field_changed(event: Event, ctx: HandlerContext) -> None:
    """A change reported by WHMCS that equals the stored value was the bridge's own (it
    stores before it calls); anything else is recorded as made outside the bridge."""
    d = event.data
    at = event_time(event)
    _ensure(ctx, d["ticketid"], d)
    values = ({"priority": d["priority"]} if event.type == "TicketPriorityChange"
              else {"department_id": d["deptid"]})
    changes = store.upsert_ticket(ctx.conn, d["ticketid"], now=ctx.now, at=at, **values)
    observe_external(ctx.conn, d["ticketid"], changes, at=at)


@on("TicketSubjectChange", priority=10, name="tickets.subject")
def subject_changed(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    _ensure(ctx, d["ticketid"], d)
    store.upsert_ticket(ctx.conn, d["ticketid"], now=ctx.now, subject=d["subject"])


@on("TicketFlagged", priority=10, name="tickets.flagged")
def flagged(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    _ensure(ctx, d["ticketid"], d)
    ctx.conn.execute(update(tickets).where(tickets.c.id == d["ticketid"])
                     .values(flag_admin_id=d.get("adminid") or None, updated_at=ctx.now))


@on("TicketDelete", priority=10, name="tickets.deleted")
def deleted(event: Event, ctx: HandlerContext) -> None:
    ctx.conn.execute(update(tickets).where(tickets.c.id == event.data["ticketId"])
                     .values(deleted=True, updated_at=ctx.now))


@on("TicketDeleteReply", priority=10, name="tickets.reply_deleted")
def reply_deleted(event: Event, ctx: HandlerContext) -> None:
    d = event.data
    ctx.conn.execute(delete(ticket_messages).where(
        ticket_messages.c.ticket_id == d["ticketId"],
        ticket_messages.c.source_key == f"reply:{d['replyId']}"))


@on("TicketMerge", priority=10, name="tickets.merged")
@on("TicketSplit", priority=10, name="tickets.split")
def restructured(event: Event, ctx: HandlerContext) -> None:
    """Merges and splits move replies between tickets: let the sync re-read them. (The
    schema loads TicketSplit's ``newTicketId`` spelling as ``newTicketID``.)"""
    d = event.data
    ids = list(d.get("mergedTicketIds") or []) + [
        d.get(k) for k in ("masterTicketId", "originalTicketId", "newTicketID") if d.get(k)]
    for tid in ids:
        _ensure(ctx, tid, {})
        ctx.conn.execute(update(tickets).where(tickets.c.id == tid)
                         .values(sync_pending=True, updated_at=ctx.now))


@on("TicketPiping", priority=10, name="tickets.piping")
def piping(event: Event, ctx: HandlerContext) -> None:
    """Remember piped mail (by subject hash, never the text) so the ticket it opens is
    classified as e-mail even when the sender is a known client."""
    ctx.conn.execute(insert(piped_mail).values(
        subject_hash=subject_hash(event.data.get("subject")), at=event_time(event)))


def _wants_billing_reply(event: Event, settings: Settings) -> bool:
    channels = settings.channels
    return bool(channels.billing_auto_reply) and is_billing(event.data.get("deptid"), channels)


def client_language(event: Event, ctx: PrepareContext) -> str | None:
    """Before the transaction: the client's WHMCS language (GetClientsDetails), for a billing
    ticket of a known client; None otherwise."""
    userid = event.data.get("userid")
    if not userid or not _wants_billing_reply(event, ctx.settings):
        return None
    return ctx.whmcs.get_client(userid).language


@on("TicketOpen", priority=20, name="tickets.billing_redirect", prepare=client_language)
def billing_redirect(event: Event, ctx: HandlerContext) -> None:
    """Billing tickets get an automatic reply pointing to the hotline (vi/en by the client's
    language, read before the transaction by :func:`client_language`). Posted as the bridge,
    so it never counts as the SLA's first reply; queued, so it leaves after commit."""
    channels = ctx.settings.channels
    d = event.data
    if not _wants_billing_reply(event, ctx.settings):
        return
    rec = store.get_ticket(ctx.conn, d["ticketid"])
    language = rec.language if rec and rec.language else None
    if language is None:
        language = customer_language(ctx.prepared, channels.default_language)
        ctx.conn.execute(update(tickets).where(tickets.c.id == d["ticketid"])
                         .values(language=language))
    posted = post_bridge_reply(ctx, d["ticketid"], billing_reply(language,
                                                                 channels.hotline_numbers),
                               dedupe_key=f"billing:{d['ticketid']}")
    if posted:
        ctx.notify("billing_redirected", {"ticket_id": d["ticketid"],
                                          "tid": rec.tid if rec else d.get("ticketmask"),
                                          "client_id": d.get("userid") or None,
                                          "language": language},
                   dedupe_key=f"billing_redirected:{d['ticketid']}")
