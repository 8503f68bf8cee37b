"""Fixtures for the notifications room: settings, a real SMTP server (aiosmtpd), a real HTTP
server for chat webhooks, fixture payloads per notification built from the contract keys."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from whmcs_bridge.config import load_settings
from whmcs_bridge.notify.catalog import KINDS
from whmcs_bridge.settings import Settings

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
HOOK_SECRET = "whsec_" + base64.b64encode(b"n" * 32).decode()

#: A realistic value for every contract key (docs/CONTRACTS.md, "Notifications").
SAMPLE_VALUES: dict[str, Any] = {
    "ticket_id": 1234, "tid": "ABC-123456", "subject": "Website down <b>& slow</b>",
    "level": "urgent", "department_id": 1, "client_id": 7, "due_at": "2026-11-25T08:30:00+00:00",
    "kind": "first_reply", "actions": ["reassigned", "priority_raised"],
    "change": "package_change", "language": "vi", "url": "https://bridge.test/v/abc?x=1&y=2",
    "expires_at": "2026-11-25T09:00:00+00:00", "method": "card_last4", "actor": "admin.lan",
    "preference": "phone", "event_id": "evt_1", "event_type": "TicketOpen", "attempts": 8,
    "last_error": "WHMCS GetTicket (HTTP 503): down",
    "count": 1279, "go_live_at": "2026-11-25T08:00:00+00:00",
    "list_url": "https://bridge.test/dashboard#breaches",
}


def sample_payload(notification: str, **overrides: Any) -> dict[str, Any]:
    """Exactly the contract keys of ``notification``."""
    payload = {k: SAMPLE_VALUES[k] for k in KINDS[notification].keys}
    payload.update(overrides)
    return payload


def notify_settings(db_url: str = "sqlite://", **notifications: Any) -> Settings:
    data = {"database": {"url": db_url}, "notifications": notifications,
            "whmcs": {"admin_url": "https://whmcs.test/admin/"}}
    return load_settings(data=data, environ={})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """aiosmtpd handler: records messages; can refuse the next N with a 4xx (or 5xx)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.refuse_next = 0
        self.refuse_reply = "451 4.3.0 Try again later"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return self.refuse_reply
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


class HookServer:
    """A local HTTP server recording POSTs; answers with ``statuses`` in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.always: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": body})
                status = outer.always or (outer.statuses.pop(0) if outer.statuses else 200)
                reply = json.dumps({"ok": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def json(self, i: int) -> Any:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    server = HookServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture(autouse=True)
def _no_http_in_transaction(no_http_in_transaction: Any) -> Any:
    """Every test here fails if WHMCS (or any HTTP) is called inside a write transaction."""
    return no_http_in_transaction
