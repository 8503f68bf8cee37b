"""Built-in audit handler: one line in ``audit_log`` for every processed event.

It gives admins a trail of what WHMCS reported, independent of the other handlers' outcomes.
It never copies message bodies (they may hold secrets); only identifiers and the hook name.
"""

from __future__ import annotations

from typing import Any

from whmcs_bridge.digits import as_id
from whmcs_bridge.hooks.context import Event, HandlerContext
from whmcs_bridge.hooks.names import KNOWN_HOOKS
from whmcs_bridge.hooks.registry import on
from whmcs_bridge.store.tables import audit_log

_ID_KEYS = ("ticketid", "ticketId", "masterTicketId", "originalTicketId")
_CLIENT_KEYS = ("userid", "client_id", "clientId", "userId")


def _first_int(data: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` holding an id; keys the hook schema does not model arrive
    unchecked, so a value no id column can hold is skipped."""
    for key in keys:
        if (found := as_id(data.get(key))) is not None:
            return found
    return None


def _client_id(data: dict[str, Any]) -> int | None:
    """Module hooks (AfterModuleChangePackage, …) carry the client inside ``params``."""
    found = _first_int(data, _CLIENT_KEYS)
    params = data.get("params")
    if found is None and isinstance(params, dict):
        found = _first_int(params, _CLIENT_KEYS)
    return found


def _service_id(data: dict[str, Any]) -> int | None:
    """The service a module or service hook is about (AfterModuleChangePassword names only
    its ``serviceid``, the other module hooks carry it inside ``params``)."""
    found = _first_int(data, ("serviceid",))
    params = data.get("params")
    if found is None and isinstance(params, dict):
        found = _first_int(params, ("serviceid",))
    return found


def summarize(event: Event) -> str:
    """A short, secret-free line describing the event."""
    parts = [event.type]
    ticket = _first_int(event.data, _ID_KEYS)
    if ticket is not None:
        parts.append(f"ticket={ticket}")
    client = _client_id(event.data)
    if client is not None:
        parts.append(f"client={client}")
    service = _service_id(event.data)
    if service is not None:
        parts.append(f"service={service}")
    for key in ("status", "priority", "deptid"):
        if key in event.data and isinstance(event.data[key], (str, int)):
            parts.append(f"{key}={event.data[key]}")
    return " ".join(parts)


def record(event: Event, ctx: HandlerContext) -> None:
    ctx.conn.execute(
        audit_log.insert().values(
            event_id=event.id,
            type=event.type,
            ticket_id=_first_int(event.data, _ID_KEYS),
            client_id=_client_id(event.data),
            summary=summarize(event),
            recorded_at=ctx.now,
        )
    )


# Register the audit recorder for every known hook, first in line.
for _hook in sorted(KNOWN_HOOKS):
    record = on(_hook, priority=0, name="audit.record")(record)
