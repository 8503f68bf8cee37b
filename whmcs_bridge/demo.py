"""The demo's pieces: its settings and the traffic it plays against the WHMCS simulator.

The scenario is data (:data:`SCENARIO`): each entry opens one ticket through the simulator's
API (which fires the signed hook events at the bridge, as the PHP module would) and then
does what a customer or staff member would do next. Together they leave tickets in every
SLA state (on track, at risk, breached, met, paused, no SLA), on every channel, plus a
billing ticket and an e-mailed account-change request waiting for verification.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

#: WHMCS departments of the simulator (whmcs_bridge.sim.data.DEPARTMENTS)
TECHNICAL, BILLING, SALES, ABUSE = 1, 2, 3, 4
DEMO_TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class DemoSecrets:
    """Generated per run; shown to the person running the demo, gone when it ends."""

    webhook_secret: str
    staff_token: str
    secret_key: str

    @classmethod
    def generate(cls) -> DemoSecrets:
        return cls(webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                   staff_token="demo-" + secrets.token_urlsafe(24),
                   secret_key=secrets.token_urlsafe(32))


def toml_value(value: Any) -> str:
    """A TOML literal for the few types the demo config uses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def demo_settings(*, folder: Path, port: int, sim_url: str, sim_identifier: str,
                  sim_secret: str, keys: DemoSecrets) -> dict[str, dict[str, Any] | str]:
    """The bridge's settings for the demo (validated by ``load_settings`` like any file)."""
    base = f"http://127.0.0.1:{port}"
    return {
        "timezone": DEMO_TIMEZONE,
        "database": {"url": f"sqlite:///{folder / 'bridge.db'}"},
        "webhooks": {"secrets": [keys.webhook_secret]},
        "api": {"tokens": [keys.staff_token]},
        "whmcs": {"url": sim_url, "identifier": sim_identifier, "secret": sim_secret,
                  "timezone": DEMO_TIMEZONE, "admin_url": sim_url + "/admin/",
                  "admin_username": "simadmin"},
        "server": {"host": "127.0.0.1", "port": port, "workers": 2, "public_url": base,
                   "secret_key": keys.secret_key},
        "worker": {"poll_interval_seconds": 0.2},
        "channels": {"technical_department_id": TECHNICAL,
                     "billing_department_ids": [BILLING]},
        "log": {"level": "WARNING", "format": "text"},
    }


def to_toml(settings: dict[str, Any]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in settings.items() if not isinstance(v, dict)]
    for section, values in settings.items():
        if isinstance(values, dict):
            lines.append(f"\n[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the traffic
@dataclass(frozen=True)
class Step:
    """One ticket of the scenario and what happens to it after it opens."""

    subject: str
    message: str
    priority: str
    department: int = TECHNICAL
    age_minutes: float = 2
    opened_as: str = "client"  # client | guest | admin
    client: int = 1
    staff_reply_after_minutes: float | None = None
    status: str | None = None
    expect: str = ""  # the SLA state this step is meant to produce (documentation + test)
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIO: tuple[Step, ...] = (
    Step("Website is down", "All my sites return 502 since this morning.", "High",
         age_minutes=4, client=1, expect="on_track"),
    Step("Cannot send email", "Outgoing mail bounces with 550.", "Medium",
         age_minutes=53, client=2, expect="at_risk"),
    Step("Server is very slow", "The VPS load average is above 30.", "High",
         age_minutes=95, client=3, expect="breached"),
    Step("DNS not resolving", "example.vn does not resolve after the transfer.", "Medium",
         age_minutes=40, client=4, staff_reply_after_minutes=12, expect="met"),
    Step("SSL certificate error", "The certificate expired yesterday.", "Low",
         age_minutes=30, client=5, status="On Hold", expect="paused"),
    Step("[chat] Do you offer VPS in Hanoi?", "Chat transcript: asking about VPS plans.",
         "Medium", department=SALES, age_minutes=10, client=6, expect="not_applicable"),
    Step("Question about my invoice", "Why was I charged twice this month?", "Medium",
         department=BILLING, age_minutes=6, client=7, expect="billing"),
    Step("Please change the email address on my account",
         "Hello, please change the e-mail address of my account to new-owner@example.vn "
         "and reset my password. Thanks.", "Medium",
         age_minutes=8, opened_as="guest", client=8, expect="verification"),
    Step("Phishing page report", "A phishing page is hosted on one of your IPs.", "Low",
         department=ABUSE, age_minutes=15, opened_as="guest", client=9, expect="on_track"),
    Step("Please install WordPress", "Opened by staff on the customer's behalf.", "Low",
         age_minutes=12, opened_as="admin", client=10, expect="not_applicable"),
)


def whmcs_time(moment: datetime, tz: str) -> str:
    """WHMCS's ``Y-m-d H:i:s`` in its own zone (the simulator reads ``created`` that way)."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def play(call: Callable[..., dict[str, Any]], client_detail: Callable[[int], dict[str, Any]],
         now: datetime, tz: str = DEMO_TIMEZONE) -> list[tuple[Step, int]]:
    """Run :data:`SCENARIO` through ``call(action, **params)``; return ``(step, ticket id)``."""
    opened: list[tuple[Step, int]] = []
    for step in SCENARIO:
        created = now - timedelta(minutes=step.age_minutes)
        params: dict[str, Any] = {"deptid": step.department, "subject": step.subject,
                                  "message": step.message, "priority": step.priority,
                                  "created": whmcs_time(created, tz), **step.extra}
        if step.opened_as == "guest":
            person = client_detail(step.client)
            params.update(name=person["name"], email=person["email"])
        else:
            params["clientid"] = step.client
        if step.opened_as == "admin":
            params["admin"] = True
        ticket_id = int(call("OpenTicket", **params)["id"])
        if step.staff_reply_after_minutes is not None:
            call("AddTicketReply", ticketid=ticket_id, adminusername="simadmin",
                 message="We have fixed the DNS zone; please check again.",
                 created=whmcs_time(created + timedelta(minutes=step.staff_reply_after_minutes),
                                    tz))
        if step.status:
            call("UpdateTicket", ticketid=ticket_id, status=step.status)
        opened.append((step, ticket_id))
    return opened


def summary(made: list[tuple[str, int]]) -> str:
    """The demo's last line: every sample ticket it made (the scenario's and the logged call),
    each with what it shows."""
    return (f"{len(made)} sample tickets, scenario: "
            + ", ".join(f"#{ticket_id} {label}" for label, ticket_id in made))
