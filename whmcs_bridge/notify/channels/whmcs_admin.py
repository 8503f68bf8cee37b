"""Staff mail through WHMCS itself (``SendAdminEmail``): the channel that needs no set-up.

With WHMCS configured and no staff channel set, staff notifications go here, so a fresh
install tells staff about breaches through the admins WHMCS already mails. A notification
about a ticket in a department is sent as a ``support`` notification for that department
(WHMCS mails the admins assigned to it who take support e-mails); anything else as a ``system``
notification. The recipient of a delivery names which (``dept:<id>`` or ``system``), so the
outbox's dedupe, digests and rate limits apply per department (``routing.recipient_for``).
WHMCS runs custom messages through Smarty, so braces are neutralised as for customer mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whmcs_bridge.api.errors import WhmcsError
from whmcs_bridge.digits import as_id
from whmcs_bridge.notify.channels.base import DeliveryError, Outgoing
from whmcs_bridge.notify.channels.whmcs import smarty_safe, smarty_safe_subject
from whmcs_bridge.notify.routing import WHMCS_ADMIN as NAME

SYSTEM = "system"


def _target(recipient: str) -> tuple[str, int | None]:
    prefix, _, number = recipient.partition(":")
    dept = as_id(number) if prefix == "dept" else None
    return ("support", dept) if dept else (SYSTEM, None)


class WhmcsAdminMailChannel:
    name = NAME

    def __init__(self, whmcs: Callable[[], Any]) -> None:
        self._whmcs = whmcs

    def send(self, message: Outgoing) -> None:
        kind, dept = _target(message.recipient)
        r = message.rendered
        try:
            self._whmcs().send_admin_email(customsubject=smarty_safe_subject(r.subject),
                                           custommessage=smarty_safe(r.fragment),
                                           type=kind, deptid=dept)
        except WhmcsError as exc:
            raise DeliveryError(f"{NAME}: {exc}",
                                permanent=not getattr(exc, "retryable", True)) from None
