"""The settings reference table in README.md, generated from the validated schemas.

``python -m whmcs_bridge.settings_reference`` prints it; a test checks README.md contains the
current table, so a key added to a schema cannot go undocumented.

A key's meaning is, first found: the ``#:`` comment above its field in the schema, the field's
``metadata["description"]``, then :data:`MEANINGS` below (keys whose schema carries neither).
A test requires a meaning for every key, so a new key needs one of the three.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import textwrap
from functools import cache
from typing import Any

from marshmallow import Schema, fields, missing

from whmcs_bridge.config import SECTIONS
from whmcs_bridge.settings import DEFAULT_TIMEZONE, ENV_ALIASES, SecretField

BEGIN = "<!-- settings-reference:begin (generated: python -m whmcs_bridge.settings_reference) -->"
END = "<!-- settings-reference:end -->"


#: Defaults computed at load time rather than declared on the field.
DERIVED = {
    "database.url": "SQLite `~/.local/share/whmcs-bridge/bridge.db` (or `$WHMCS_BRIDGE_DATA_DIR`)",
    "whmcs.timezone": "= `timezone`",
    "server.workers": "`0` (one per core)",
}


#: Meanings of keys whose schema field has no ``#:`` comment or description.
MEANINGS = {
    "timezone": "the bridge's time zone: SLA calendars, dashboard and CLI times",
    "database.url": "SQLAlchemy URL of the bridge's database (SQLite file or PostgreSQL)",
    "database.pool_size": "connections kept open per process (PostgreSQL)",
    "database.echo": "log every SQL statement (debugging only)",
    "webhooks.secrets": "secrets the WHMCS module signs events with (`whsec_...`); "
                        "several while rotating",
    "webhooks.tolerance_seconds": "how far an event's signed timestamp may be from the clock",
    "webhooks.max_body_bytes": "largest event body accepted (larger: 413)",
    "api.tokens": "bearer tokens for the staff API, the ticket panel and the dashboard sign-in",
    "whmcs.url": "WHMCS base URL; the API is `<url>/includes/api.php`",
    "whmcs.identifier": "WHMCS API credential identifier",
    "whmcs.secret": "WHMCS API credential secret",
    "whmcs.access_key": "WHMCS API access key (`$api_access_key`), when its IP allow-list "
                        "is not used",
    "whmcs.timeout": "seconds one WHMCS API call may take",
    "whmcs.verify_tls": "check WHMCS's TLS certificate (keep `true` in production)",
    "whmcs.timezone": "the zone WHMCS writes its dates in (they carry no offset)",
    "whmcs.admin_url": "WHMCS admin area URL, for ticket links in notifications and the "
                       "dashboard",
    "server.host": "address `serve` binds to",
    "server.port": "port `serve` listens on",
    "server.workers": "HTTP worker processes",
    "server.public_url": "the bridge's address as customers reach it (verification links)",
    "worker.max_attempts": "tries of one event's handlers before it is dead-lettered",
    "worker.backoff_base_seconds": "first retry delay of a failed event (doubles each try)",
    "worker.backoff_max_seconds": "longest retry delay of a failed event",
    "worker.lease_seconds": "how long a worker holds an event before another may take it",
    "worker.poll_interval_seconds": "how often an idle worker looks for new events",
    "worker.batch_size": "events a worker claims at once",
    "log.level": "least severe log level written",
    "log.format": "`json`, `text`, or `auto` (text on a terminal, JSON otherwise)",
    "notifications.default_language": "language of staff notifications when none is set "
                                      "for the recipient",
    "notifications.coalesce_seconds": "bursts to a chat channel inside this window become "
                                      "one digest (`0`: never)",
    "notifications.max_attempts": "tries of one notification before it is dead",
    "notifications.backoff_base_seconds": "first retry delay of a failed notification",
    "notifications.backoff_max_seconds": "longest retry delay of a failed notification",
    "notifications.lease_seconds": "how long a sender holds a notification before another "
                                   "may take it",
    "notifications.batch_size": "notifications sent per outbox pass",
    "notifications.smtp": "SMTP server for staff mail (and customer mail when WHMCS "
                          "cannot send)",
    "notifications.whmcs": "customer mail through WHMCS `SendEmail`, and its SMTP fallback",
    "notifications.whmcs_notification": "WHMCS `TriggerNotificationEvent` as a staff channel "
                                        "(its identifier)",
    "notifications.slack": "Slack incoming-webhook channel",
    "notifications.teams": "Microsoft Teams incoming-webhook channel",
    "notifications.telegram": "Telegram bot channel",
    "notifications.webhook": "generic signed HTTP webhook channel",
    "notifications.staff": "staff recipients: name, e-mail, chat ids, departments, language",
    "notifications.routes": "which notification kinds go to which channels and recipients",
    "notifications.preferences": "honour a customer's preferred contact method",
    "ingest.max_batch": "most events one shared commit holds",
    "sla.enabled": "evaluate SLA targets at all",
    "sla.levels": "WHMCS priority -> SLA level (`urgent`, `normal`, `low`)",
    "sla.first_reply_minutes": "first-reply target per level, in calendar minutes",
    "sla.next_reply_minutes": "target per level for answering each later customer message",
    "sla.at_risk_percent": "share of the target used before a ticket counts as at risk",
    "sla.calendars": "named business-hours calendars (days, hours, holidays)",
    "sla.pause_statuses": "WHMCS statuses that stop the SLA clock",
    "sla.closed_statuses": "WHMCS statuses that end the open cycle",
    "sla.departments": "per-department overrides (targets, calendar, `applicable`)",
    "sla.channels": "per-channel overrides (chat: no SLA by default)",
    "channels.technical_department_id": "department `tickets log-call` opens tickets in",
    "channels.billing_department_ids": "billing departments: their new tickets get the "
                                       "hotline reply",
    "channels.chat_department_ids": "departments whose tickets came from chat",
    "channels.billing_auto_reply": "reply with the hotline numbers on a new billing ticket",
    "channels.hotline_numbers": "billing hotline numbers quoted in that reply",
    "escalation.enabled": "take escalation actions at all",
    "escalation.levels": "per level: actions when at risk and when breached",
    "escalation.note_language": "language of the bridge's internal SLA notes",
    "verification.enabled": "require proof of ownership before account changes",
    "verification.patterns": "per change kind: patterns recognising a request for it",
    "verification.exclude": "patterns that mark a message as a question, not a request",
    "verification.intent": "patterns that mark a message as asking for the change",
    "verification.lockout_failures": "failed guessable proofs that lock a client out",
    "verification.lockout_window_hours": "window those failures are counted in",
    "verification.link_ttl_minutes": "how long a verification link stays valid",
    "verification.auto_send_link": "e-mail the link as soon as proof is required",
    "verification.refusal_timeout_hours": "unverified requests are refused after this long",
    "verification.awaiting_status": "WHMCS status while proof is awaited",
    "verification.refused_status": "WHMCS status when a request is refused",
    "verification.verified_status": "WHMCS status once verified",
    "verification.default_language": "language of the verification replies when the "
                                     "client's is unknown",
    "handlers.modules": "extra handler modules to import (their `@on` functions register)",
}


@cache
def _comments(schema: type[Schema]) -> dict[str, str]:
    """``{field name: its #: comment}`` for a schema class and its bases."""
    out: dict[str, str] = {}
    for klass in reversed(schema.__mro__):
        if not klass.__module__.startswith("whmcs_bridge"):
            continue
        lines = textwrap.dedent(inspect.getsource(klass)).splitlines()
        node = ast.parse("\n".join(lines)).body[0]
        assert isinstance(node, ast.ClassDef)
        for stmt in node.body:
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else None
            if not isinstance(target, ast.Name):
                continue
            above: list[str] = []
            i = stmt.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#:"):
                above.insert(0, lines[i].strip()[2:].strip())
                i -= 1
            if above:
                out[target.id] = " ".join(above)
    return out


def meaning(dotted: str, schema: type[Schema] | None = None,
            field: fields.Field | None = None) -> str:
    name = dotted.partition(".")[2]
    text = ((_comments(schema).get(name) if schema is not None else None)
            or (field.metadata.get("description") if field is not None else None)
            or MEANINGS.get(dotted, ""))
    # reST roles and double backticks (the comments' markup) as Markdown; pipes escaped
    text = re.sub(r":\w+:`", "`", text).replace("``", "`")
    return text.replace("|", "\\|")


def _default(field: fields.Field) -> str:
    if isinstance(field, SecretField):
        return "secret, none"
    value: Any = field.load_default
    if value is missing or value is None:
        return "none"
    if callable(value):
        value = value()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a nested table
        value = dataclasses.asdict(value)
    if isinstance(value, (list, dict)) and len(json.dumps(value, default=str)) > 60:
        return "see section"
    return f"`{json.dumps(value, ensure_ascii=False, default=str)}`"


def _env(dotted: str) -> str:
    alias = next((name for name, key in ENV_ALIASES.items() if key == dotted), None)
    section, _, key = dotted.partition(".")
    generic = f"WHMCS_BRIDGE_{section.upper()}__{key.upper()}"
    return f"`{alias}` or `{generic}`" if alias else f"`{generic}`"


def table() -> str:
    rows = [BEGIN, "", "| key | meaning | environment | default |", "|---|---|---|---|",
            f"| `timezone` | {meaning('timezone')} | `WHMCS_BRIDGE_TIMEZONE` | "
            f"`{json.dumps(DEFAULT_TIMEZONE)}` |"]
    for section, schema in SECTIONS.items():
        for name, field in schema().fields.items():
            dotted = f"{section}.{name}"
            default = DERIVED.get(dotted) or _default(field)
            rows.append(f"| `{dotted}` | {meaning(dotted, schema, field)} | {_env(dotted)} "
                        f"| {default} |")
    rows += ["", END]
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
