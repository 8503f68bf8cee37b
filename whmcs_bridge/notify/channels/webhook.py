"""A generic JSON webhook signed with the Standard Webhooks scheme.

Body: ``{"type": "notification.<name>" | "notification.digest", "timestamp": …, "data":
{"notification", "subject", "text", "language", "items": [payload, …]}}``, headers
``webhook-id`` (stable per delivery, so the receiver can drop a retry it already has),
``webhook-timestamp`` and ``webhook-signature`` from :mod:`whmcs_bridge.signing`, which the
public ``standardwebhooks`` package verifies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import requests

from whmcs_bridge.notify.channels.base import Outgoing, required
from whmcs_bridge.notify.channels.http import post
from whmcs_bridge.signing import signed_headers

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import WebhookChannelConfig


def body(message: Outgoing, now: datetime | None = None) -> bytes:
    r = message.rendered
    event = {
        "type": "notification.digest" if message.is_digest
        else f"notification.{message.notification}",
        "timestamp": (now or datetime.now(UTC)).isoformat(),
        "data": {"notification": message.notification, "subject": r.subject, "text": r.text,
                 "language": r.language, "items": message.payloads},
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookChannel:
    name = "webhook"

    def __init__(self, cfg: WebhookChannelConfig, session: requests.Session) -> None:
        self.cfg, self.session = cfg, session

    def send(self, message: Outgoing) -> None:
        data = body(message)
        secret = required(self.cfg.secret, "notifications.webhook.secret")
        url = required(self.cfg.url, "notifications.webhook.url")
        headers = signed_headers(secret.reveal(), message.msg_id, data)
        headers["Content-Type"] = "application/json"
        post(self.session, url, channel=self.name, data=data, headers=headers)
