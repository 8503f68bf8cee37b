"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat …): ``{"text": …}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from whmcs_bridge.notify.channels.base import Outgoing, required
from whmcs_bridge.notify.channels.http import post

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import SlackConfig


def escape(text: str) -> str:
    """Slack's three control characters (its mrkdwn would otherwise read ``<...>`` as links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(message: Outgoing) -> dict[str, Any]:
    r = message.rendered
    return {"text": f"*{escape(r.subject)}*\n{escape(r.text)}"}


class SlackChannel:
    name = "slack"

    def __init__(self, cfg: SlackConfig, session: requests.Session) -> None:
        self.cfg, self.session = cfg, session

    def send(self, message: Outgoing) -> None:
        url = required(self.cfg.url, "notifications.slack.url")
        post(self.session, url.reveal(), channel=self.name, json=payload(message))
