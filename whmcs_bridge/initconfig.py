"""``whmcs-bridge init``: the secrets, the WHMCS checks and the config file, without the CLI.

* :func:`generate` makes the three secrets an install needs: the Standard Webhooks secret the
  addon module signs with, a staff API token (the module's ticket panel), ``server.secret_key``.
* :func:`check_whmcs` asks WHMCS whether the credential works, whether its API role allows every
  action the bridge calls (:data:`PROBES`), and whether ``admin_username`` is an admin there.
  Write actions are probed **without their required parameters**: WHMCS checks the API role
  before the action runs, so a role that allows it answers with a validation error ("Ticket ID
  Not Found") and nothing is written, while a role that does not answers "Invalid
  Permissions".
* :func:`render_toml` and :func:`write_private` write the file readable by its owner only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whmcs_bridge.api import errors

#: Every API action the bridge calls, with parameters that make WHMCS check the role but do
#: nothing (reads fetch at most one row; writes lack the id they need). README's API-role list
#: and ``tests/core/test_init.py`` keep to this.
PROBES: dict[str, dict[str, Any]] = {
    "GetAdminDetails": {},
    "GetTickets": {"limitnum": 1},
    "GetTicket": {"ticketid": 0},
    "GetSupportDepartments": {},
    "GetSupportStatuses": {},
    "GetClientsDetails": {"clientid": 0},
    "GetClientsProducts": {"clientid": 0, "limitnum": 1},
    "GetContacts": {"email": "whmcs-bridge-init-probe@invalid", "limitnum": 1},
    "GetUsers": {"search": "whmcs-bridge-init-probe@invalid", "limitnum": 1},
    "GetClientsDomains": {"domain": "whmcs-bridge-init-probe.invalid", "limitnum": 1},
    "GetPayMethods": {"clientid": 0},
    "GetInvoices": {"userid": 0, "limitnum": 1},
    "GetTransactions": {"transid": "whmcs-bridge-init-probe"},
    "ValidateLogin": {},
    "OpenTicket": {},
    "AddTicketReply": {},
    "AddTicketNote": {},
    "UpdateTicket": {},
    "UpdateTicketReply": {},
    "SendEmail": {},
    "SendAdminEmail": {},
    "TriggerNotificationEvent": {},
}


@dataclass(frozen=True)
class Generated:
    webhook_secret: str
    api_token: str
    secret_key: str


def generate() -> Generated:
    return Generated(webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                     api_token=secrets.token_urlsafe(32),
                     secret_key=secrets.token_urlsafe(48))


@dataclass
class WhmcsCheck:
    ok: bool = True
    admin: str = ""
    version: str = ""
    missing_actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _denied(exc: Exception) -> bool:
    return isinstance(exc, errors.PermissionDeniedError | errors.UnknownActionError)


def check_whmcs(client: Any, admin_username: str | None) -> WhmcsCheck:
    """Credential, API role and ``admin_username`` (raises nothing: problems are reported)."""
    out = WhmcsCheck()
    try:
        details = client.get_admin_details()
    except errors.WhmcsError as exc:
        out.ok = False
        out.problems.append(f"the API credential does not work: {exc}")
        return out
    out.admin = f"#{details.adminid} {details.name}".strip()
    out.version = details.whmcs_version
    for action, params in PROBES.items():
        if action == "GetAdminDetails":
            continue
        try:
            client.call(action, **params)
        except errors.AuthenticationError as exc:
            out.ok = False
            out.problems.append(f"{action}: {exc}")
            return out
        except errors.WhmcsError as exc:
            if _denied(exc):
                out.missing_actions.append(action)
    if out.missing_actions:
        out.ok = False
        out.problems.append("the credential's API role does not allow: "
                            + ", ".join(out.missing_actions))
    if admin_username:
        _check_admin_username(client, admin_username, out)
    return out


def _check_admin_username(client: Any, username: str, out: WhmcsCheck) -> None:
    try:
        payload = client.call("GetAdminUsers")
    except errors.WhmcsError as exc:
        out.notes.append(f"admin_username {username!r} not checked (GetAdminUsers: {exc})")
        return
    users = payload.get("admin_users") or []
    if isinstance(users, Mapping):  # one wrapped user, or an id-keyed object
        users = list(users.values()) if all(isinstance(v, Mapping) for v in users.values()) \
            else [users]
    names = {str(u.get("username", "")).lower() for u in users if isinstance(u, Mapping)}
    if username.lower() not in names:
        out.ok = False
        out.problems.append(f"admin_username {username!r} is not an admin user in WHMCS "
                            "(replies are posted as this admin)")


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def render_toml(sections: Mapping[str, Mapping[str, Any]], header: str = "") -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, values in sections.items():
        present = {k: v for k, v in values.items() if v not in (None, "", [])}
        if not present:
            continue
        lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in present.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_private(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` readable and writable by its owner only (0600), its folder 0700 when
    created. Refuses to overwrite unless ``force`` (raises FileExistsError)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file overwritten with --force keeps no wider mode
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
