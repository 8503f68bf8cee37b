"""Who gets a notification, through which channel: pure functions over settings.

A notification turns into one delivery per (channel, recipient):

* ``customer`` audience: one ``customer`` delivery to ``client:<id>`` (or ``ticket:<id>`` for
  a guest ticket without a client); the address and language on file are looked up at
  delivery time.
* ``staff`` audience: every route whose notifications/levels/departments match adds its
  channels; smtp fans out to the route's recipients or to the staff whose departments match;
  chat channels have one recipient each (the channel itself). Without configured routes every
  configured staff channel gets every staff notification; with no staff channel configured
  and WHMCS set up, WHMCS's admin mail (``whmcs_admin``) does, one recipient per department.
* ``admins`` audience (dead letters): like staff, but smtp goes to staff flagged ``admin``
  (all staff when nobody is flagged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from whmcs_bridge.digits import as_id
from whmcs_bridge.notify.catalog import ADMINS, CUSTOMER, KINDS, STAFF, kind
from whmcs_bridge.notify.settings import (
    NotificationConfig,
    RouteConfig,
    StaffConfig,
    configured_channels,
)

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

#: staff mail through WHMCS (``SendAdminEmail``), see ``channels/whmcs_admin.py``
WHMCS_ADMIN = "whmcs_admin"


@dataclass(frozen=True, order=True)
class Target:
    channel: str
    recipient: str
    language: str | None  # None: the customer's, resolved at delivery time


def recipient_for(payload: Mapping[str, Any]) -> str:
    """A ``whmcs_admin`` recipient: ``dept:<id>`` for a notification about a department's
    ticket (WHMCS mails that department's admins), else ``system``."""
    dept = as_id(payload.get("department_id"))
    return f"dept:{dept}" if dept else "system"


def _matches(route: RouteConfig, notification: str, payload: Mapping[str, Any]) -> bool:
    names = route.notifications
    if "*" not in names and notification not in names:
        return False
    if route.levels and payload.get("level") not in route.levels:
        return False
    return not (route.departments
                and payload.get("department_id") not in route.departments)


def _staff_for(section: NotificationConfig, payload: Mapping[str, Any],
               admins_only: bool) -> list[StaffConfig]:
    staff = list(section.staff)
    if admins_only:
        flagged = [s for s in staff if s.admin]
        return flagged or staff
    dept = payload.get("department_id")
    return [s for s in staff if not s.departments or dept in s.departments]


def _default_routes(section: NotificationConfig, whmcs: bool) -> list[RouteConfig]:
    channels = configured_channels(section)
    if "smtp" in channels and not section.staff:
        channels.remove("smtp")
    if not channels and whmcs:
        channels = [WHMCS_ADMIN]
    return [RouteConfig(notifications=["*"], levels=[], departments=[], channels=channels,
                        recipients=[])] if channels else []


def _chat_language(section: NotificationConfig, channel: str) -> str:
    """The language of a chat channel's messages (each channel section has one)."""
    sub: Any = getattr(section, channel)  # a route's channel names a section (validated)
    language: str = sub.language
    return language


def resolve(section: NotificationConfig, notification: str,
            payload: Mapping[str, Any], *, whmcs: bool = False) -> list[Target]:
    """The deliveries for one notification, deduplicated and in a stable order. ``whmcs``:
    the WHMCS API is configured (staff mail through WHMCS is the default channel)."""
    spec = kind(notification)
    targets: set[Target] = set()
    if CUSTOMER in spec.audiences:
        if payload.get("client_id"):
            targets.add(Target("customer", f"client:{int(payload['client_id'])}", None))
        elif payload.get("ticket_id"):  # a guest (e-mail) ticket: its requestor
            targets.add(Target("customer", f"ticket:{int(payload['ticket_id'])}", None))
    if spec.audiences & {STAFF, ADMINS}:
        admins_only = ADMINS in spec.audiences
        language_of = {s.email.lower(): s.language for s in section.staff}
        routes = section.routes or _default_routes(section, whmcs)
        for route in routes:
            if not _matches(route, notification, payload):
                continue
            for channel in route.channels:
                if channel == WHMCS_ADMIN:
                    targets.add(Target(channel, recipient_for(payload),
                                       section.default_language))
                elif channel != "smtp":
                    targets.add(Target(channel, channel, _chat_language(section, channel)))
                    continue
                if route.recipients:
                    people = [(r, language_of.get(r.lower(), section.default_language))
                              for r in route.recipients]
                else:
                    people = [(s.email, s.language)
                              for s in _staff_for(section, payload, admins_only)]
                for email, language in people:
                    targets.add(Target("smtp", email.lower(), language))
    return sorted(targets)


def staff_member(section: NotificationConfig, email: str) -> StaffConfig | None:
    """The staff entry for an address (for its time zone and name), if any."""
    return next((s for s in section.staff if s.email.lower() == email.lower()), None)


def whmcs_configured(settings: Settings) -> bool:
    """Whether the WHMCS API is set up, so WHMCS can carry staff mail."""
    return bool(settings.whmcs.url)


def unrouted(section: NotificationConfig, *, whmcs: bool) -> list[str]:
    """Staff and admin notification kinds that no route delivers anywhere (level and
    department filters aside: a kind routed for some departments has somewhere to go)."""
    loose = replace(section, routes=[replace(r, levels=[], departments=[])
                                     for r in section.routes])
    return [name for name, spec in KINDS.items() if spec.audiences & {STAFF, ADMINS}
            and not resolve(loose, name, {"department_id": None}, whmcs=whmcs)]
