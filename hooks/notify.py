"""Notification handlers: the delivery job and contact-preference detection.

* ``notify.deliver`` (periodic, every few seconds) sends what the outbox holds.
* ``notify.contact_preference`` (priority 60, after tickets/SLA/verification) reads a new
  ticket or customer reply for "please call me" / "gọi điện cho tôi" / "liên hệ qua Zalo" (or
  a configured custom field), stores ``contact_preference`` on the ticket so the enriched
  ticket shows it, and tells staff once per ticket and preference.
"""

from __future__ import annotations

import logging
from typing import Any

from whmcs_bridge.hooks.context import Event, HandlerContext, JobContext, PrepareContext
from whmcs_bridge.hooks.registry import on, periodic
from whmcs_bridge.notify import preferences
from whmcs_bridge.tickets import store

log = logging.getLogger(__name__)

DELIVER_EVERY_SECONDS = 5


@periodic("notify.deliver", every_seconds=DELIVER_EVERY_SECONDS)
def deliver(ctx: JobContext) -> None:
    report = ctx.services.deliverer(ctx.engine).run_once(ctx.now)
    if report.claimed:
        log.info("notifications delivered", extra={
            "claimed": report.claimed, "sent": report.sent, "messages": report.messages,
            "failed": report.failed, "dead": report.dead, "held": report.held})


def _text_preference(data: dict[str, Any]) -> str | None:
    return preferences.detect(f"{data.get('subject') or ''}\n{data.get('message') or ''}")


def client_field(event: Event, ctx: PrepareContext) -> Any:
    """Before the transaction: the client's custom field value (GetClientsDetails), when the
    preference custom field is configured and neither the text nor the event carries it."""
    cfg = ctx.settings.notifications.preferences
    data = event.data
    field_id, client_id = cfg.custom_field, int(data.get("userid") or 0)
    if not cfg.enabled or not field_id or not client_id or _text_preference(data) \
            or preferences.field_value(data.get("customfields"), field_id) is not None:
        return None
    client = ctx.whmcs.get_client(client_id)
    return preferences.field_value(client.extra.get("customfields"), field_id)


def _field_preference(ctx: HandlerContext, data: dict[str, Any], field_id: int) -> str | None:
    value = preferences.field_value(data.get("customfields"), field_id)
    return preferences.from_field(value if value is not None else ctx.prepared)


@on("TicketOpen", priority=60, name="notify.contact_preference", prepare=client_field)
@on("TicketUserReply", priority=60, name="notify.contact_preference", prepare=client_field)
def contact_preference(event: Event, ctx: HandlerContext) -> None:
    cfg = ctx.settings.notifications.preferences
    if not cfg.enabled:
        return

    data = event.data
    ticket_id = int(data["ticketid"])
    record = store.get_ticket(ctx.conn, ticket_id)
    client_id = int(data.get("userid") or 0) or (record.client_id if record else None)
    value = _text_preference(data)
    if value is None and cfg.custom_field:
        value = _field_preference(ctx, data, cfg.custom_field)
    if value is None or (record is not None and record.contact_preference == value):
        return
    store.set_contact_preference(ctx.conn, ticket_id, value)
    if value == "email":  # the default way: nothing for staff to do
        return
    tid = data.get("ticketmask") or (record.tid if record else None) or str(ticket_id)
    ctx.notify("contact_preference",
               {"ticket_id": ticket_id, "tid": tid, "client_id": client_id,
                "preference": value},
               dedupe_key=f"contact_preference:{ticket_id}:{value}")
