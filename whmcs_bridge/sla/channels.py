"""Which channel a ticket came through, decided from WHMCS data. Pure.

WHMCS has no "source" field (reference 3.5), so the decision uses what it does expose, in this
order (first match wins):

1. ``chat`` — opened in a configured chat department, or the subject/opening message carries
   the configured chat marker (chat integrations open tickets that way);
2. ``phone`` — an admin recorded it as a call (``whmcs-bridge tickets log-call``);
3. ``staff`` — an admin opened it (``TicketOpenAdmin``, or ``admin`` set on the ticket);
4. ``email`` — piped mail (``TicketPiping`` seen) or a guest (``userid`` 0 / requestor Guest);
5. ``client_area`` — a logged-in client or one of its users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from whmcs_bridge.sla.settings import ChannelConfig

CLIENT_AREA, EMAIL, PHONE, CHAT, STAFF = "client_area", "email", "phone", "chat", "staff"


def classify(*, department_id: int | None, client_id: int | None,
             opened_by_admin: bool = False, requestor_type: str | None = None,
             subject: str | None = None, first_message: str | None = None,
             piped: bool = False, logged_call: bool = False,
             channels: ChannelConfig | None = None) -> str:
    marker = (channels.chat_marker if channels else "").lower()
    if (channels is not None and department_id is not None
            and department_id in channels.chat_department_ids):
        return CHAT
    if marker and (marker in (subject or "").lower() or marker in (first_message or "").lower()):
        return CHAT
    if logged_call:
        return PHONE
    if opened_by_admin or (requestor_type or "").lower() == "operator":
        return STAFF
    if piped or not client_id or (requestor_type or "").lower() == "guest":
        return EMAIL
    return CLIENT_AREA


def is_billing(department_id: int | None, channels: ChannelConfig) -> bool:
    return department_id is not None and department_id in channels.billing_department_ids
