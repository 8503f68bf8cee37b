"""Customer mail through WHMCS itself, with SMTP as the fallback.

``SendEmail`` with a custom message of type ``support`` bound to the ticket id (``general``
bound to the client id when there is no ticket) makes WHMCS send it with its own mail template
and keep it in the client's e-mail history — the record staff look at. When WHMCS refuses or
cannot be reached and ``smtp_fallback`` is on, the same message goes over SMTP to the address
on file. WHMCS runs custom messages through Smarty, so braces are neutralised first: a ticket
subject like ``{$client_password}`` must never be evaluated as a template tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from whmcs_bridge.api.errors import WhmcsError
from whmcs_bridge.notify.channels.base import DeliveryError, Outgoing
from whmcs_bridge.notify.recipients import Customer

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import WhmcsMailConfig


def smarty_safe(html: str) -> str:
    """HTML with ``{``/``}`` as character references: shown the same, never a Smarty tag."""
    return html.replace("{", "&#123;").replace("}", "&#125;")


def smarty_safe_subject(subject: str) -> str:
    return subject.replace("{", "(").replace("}", ")")


class CustomerMailChannel:
    name = "customer"

    def __init__(self, cfg: WhmcsMailConfig, whmcs: Callable[[], Any],
                 smtp: Any | None) -> None:
        self.cfg, self._whmcs, self.smtp = cfg, whmcs, smtp

    def send_to(self, message: Outgoing, customer: Customer) -> str:
        """Deliver to ``customer``; return how (``whmcs`` or ``smtp``)."""
        error: DeliveryError | None = None
        if self.cfg.customer_mail:
            try:
                self._send_whmcs(message, customer)
                return "whmcs"
            except WhmcsError as exc:
                error = DeliveryError.from_whmcs("customer", exc)
        if self.smtp is None or not (self.cfg.smtp_fallback or not self.cfg.customer_mail):
            raise error or DeliveryError("customer: no mail channel configured", permanent=True)
        if not customer.email:
            raise DeliveryError(f"customer: client {customer.client_id} has no e-mail address",
                                permanent=True)
        self.smtp.send(replace(message, recipient=customer.email))
        return "smtp"

    def _send_whmcs(self, message: Outgoing, customer: Customer) -> None:
        r = message.rendered
        if message.ticket_id:
            kind, related = "support", message.ticket_id
        elif customer.client_id:
            kind, related = "general", customer.client_id
        else:
            raise DeliveryError("customer: neither a ticket nor a client to bind the mail to",
                                permanent=True)
        self._whmcs().send_email(related_id=related, customtype=kind,
                                 customsubject=smarty_safe_subject(r.subject),
                                 custommessage=smarty_safe(r.fragment))
