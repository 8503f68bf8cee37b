"""Telegram Bot API ``sendMessage`` (plain text, so nothing needs Markdown escaping)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from whmcs_bridge.notify.channels.base import Outgoing, required
from whmcs_bridge.notify.channels.http import post

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import TelegramConfig

MAX_TEXT = 4096  # Telegram's limit for one message


def payload(chat_id: str, message: Outgoing) -> dict[str, Any]:
    r = message.rendered
    return {"chat_id": chat_id, "text": f"{r.subject}\n\n{r.text}"[:MAX_TEXT],
            "disable_web_page_preview": True}


class TelegramChannel:
    name = "telegram"

    def __init__(self, cfg: TelegramConfig, session: requests.Session) -> None:
        self.cfg, self.session = cfg, session

    def send(self, message: Outgoing) -> None:
        base = self.cfg.api_url.rstrip("/")
        token = required(self.cfg.bot_token, "notifications.telegram.bot_token")
        chat_id = required(self.cfg.chat_id, "notifications.telegram.chat_id")
        # the token is part of the path: http.post never puts the URL in an error message
        url = f"{base}/bot{token.reveal()}/sendMessage"
        post(self.session, url, channel=self.name, json=payload(chat_id, message))
