"""Delivery channels. :func:`build` makes the configured ones from settings.

Every channel has a ``name`` and ``send(Outgoing)`` that raises
:class:`~whmcs_bridge.notify.channels.base.DeliveryError`; the customer channel also has
``send_to(Outgoing, Customer)`` because its address is looked up at delivery time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from whmcs_bridge.notify.channels.base import Channel, DeliveryError, Outgoing
from whmcs_bridge.notify.channels.http import make_session
from whmcs_bridge.notify.channels.slack import SlackChannel
from whmcs_bridge.notify.channels.smtp import SmtpChannel
from whmcs_bridge.notify.channels.teams import TeamsChannel
from whmcs_bridge.notify.channels.telegram import TelegramChannel
from whmcs_bridge.notify.channels.webhook import WebhookChannel
from whmcs_bridge.notify.channels.whmcs import CustomerMailChannel
from whmcs_bridge.notify.channels.whmcs_admin import WhmcsAdminMailChannel
from whmcs_bridge.notify.channels.whmcs_notification import WhmcsNotificationChannel
from whmcs_bridge.notify.settings import NotificationConfig, configured_channels


def build(section: NotificationConfig, whmcs: Callable[[], Any],
          session: requests.Session | None = None) -> dict[str, Any]:
    """The configured channels by name (``customer`` and ``whmcs_admin`` are always there).
    ``whmcs`` is called only when a WHMCS-backed channel actually sends, so no client is
    built needlessly."""
    session = session or make_session()
    names = configured_channels(section)
    out: dict[str, Any] = {}
    if "smtp" in names:
        out["smtp"] = SmtpChannel(section.smtp)
    if "whmcs_notification" in names:
        out["whmcs_notification"] = WhmcsNotificationChannel(section.whmcs_notification, whmcs)
    if "slack" in names:
        out["slack"] = SlackChannel(section.slack, session)
    if "teams" in names:
        out["teams"] = TeamsChannel(section.teams, session)
    if "telegram" in names:
        out["telegram"] = TelegramChannel(section.telegram, session)
    if "webhook" in names:
        out["webhook"] = WebhookChannel(section.webhook, session)
    out["customer"] = CustomerMailChannel(section.whmcs, whmcs, out.get("smtp"))
    # needs no keys of its own: WHMCS mails its admins (the zero-configuration staff channel)
    out["whmcs_admin"] = WhmcsAdminMailChannel(whmcs)
    return out


__all__ = ["Channel", "DeliveryError", "Outgoing", "build"]
