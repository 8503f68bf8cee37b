"""Microsoft Teams incoming webhooks (Workflows): a message carrying an Adaptive Card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from whmcs_bridge.notify.channels.base import Outgoing, required
from whmcs_bridge.notify.channels.http import post

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import SlackConfig


def payload(message: Outgoing) -> dict[str, Any]:
    r = message.rendered
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": r.subject, "weight": "Bolder", "size": "Medium",
             "wrap": True},
            {"type": "TextBlock", "text": r.text, "wrap": True},
        ],
    }
    if message.ticket_url and not message.is_digest:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": message.ticket_url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}


class TeamsChannel:
    name = "teams"

    def __init__(self, cfg: SlackConfig, session: requests.Session) -> None:
        self.cfg, self.session = cfg, session

    def send(self, message: Outgoing) -> None:
        url = required(self.cfg.url, "notifications.teams.url")
        post(self.session, url.reveal(), channel=self.name, json=payload(message))
