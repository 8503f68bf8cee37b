"""WHMCS's own notification rules, fed with ``TriggerNotificationEvent``.

An admin builds a Notification Rule in WHMCS whose condition matches our identifier; WHMCS then
fans the message out to the providers it has (Slack, HipChat, e-mail …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from whmcs_bridge.api.errors import WhmcsError
from whmcs_bridge.notify.channels.base import DeliveryError, Outgoing

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import WhmcsNotificationConfig

DANGER = {"sla_breached", "verification_locked", "dead_letter", "urgent_ticket_opened"}
SUCCESS = {"verification_verified", "account_change_authorised"}


def style(notification: str) -> str:
    if notification in DANGER:
        return "danger"
    return "success" if notification in SUCCESS else "info"


def attributes(message: Outgoing) -> list[dict[str, Any]]:
    if message.is_digest or not message.payloads:
        return [{"label": "Count", "value": str(len(message.payloads))}]
    p = message.payloads[0]
    out = []
    for key, label in (("tid", "Ticket"), ("level", "Level"), ("client_id", "Client")):
        if p.get(key) not in (None, ""):
            out.append({"label": label, "value": str(p[key])})
    return out


class WhmcsNotificationChannel:
    name = "whmcs_notification"

    def __init__(self, cfg: WhmcsNotificationConfig, whmcs: Callable[[], Any]) -> None:
        self.cfg, self._whmcs = cfg, whmcs

    def send(self, message: Outgoing) -> None:
        try:
            self._whmcs().trigger_notification_event(
                self.cfg.identifier, message.rendered.subject, message.rendered.text,
                url=None if message.is_digest else message.ticket_url,
                status=message.notification, status_style=style(message.notification),
                attributes=attributes(message))
        except WhmcsError as exc:
            raise DeliveryError.from_whmcs("whmcs_notification", exc) from None
