"""Simulator configuration: data size, seed, credentials, quirks and faults.

Everything here is a *test double* setting; nothing reads WHMCS. The defaults document the
simulator's fixed credentials (also printed by ``whmcs-bridge sim --help``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: WSGI environ key: ``time.monotonic()`` when the server read the request line (the API's
#: latency counts from it; without it, from when the app sees the request).
ARRIVED_KEY = "whmcs_sim.arrived"
#: WSGI environ key: a list a server that waits out the latency itself puts there; the app
#: appends the answer's due time instead of sleeping, and the server sleeps until it with
#: the answer's bytes ready, so only the write is left after the wait.
ANSWER_AT_KEY = "whmcs_sim.answer_at"
#: Where WHMCS serves its API (and so does the simulator).
API_PATH = "/includes/api.php"

BANNER = "WHMCS API simulator — a test double, not WHMCS"

#: Documented, deterministic credentials of the simulator.
DEFAULT_IDENTIFIER = "sim-identifier"
DEFAULT_SECRET = "sim-secret"
READONLY_IDENTIFIER = "sim-readonly"
READONLY_SECRET = "sim-readonly-secret"
DEFAULT_ACCESS_KEY = "sim-access-key"
ADMIN_USERNAME = "simadmin"
ADMIN_PASSWORD = "sim-admin-password"  # legacy username + md5(password) auth

#: Shapes for an empty list, as WHMCS might send them (the client must accept all).
EMPTY_SHAPES = ("omit", "empty_string", "empty_list", "empty_object", "wrapper_only",
                "wrapper_empty_list")


@dataclass(frozen=True)
class ApiCredential:
    """One API credential; ``allowed_actions`` None means an all-actions role."""

    identifier: str
    secret: str
    admin_username: str
    allowed_actions: frozenset[str] | None = None
    #: The admin behind it is disabled: WHMCS answers ``Administrator Account Disabled``.
    disabled: bool = False


def default_credentials() -> tuple[ApiCredential, ...]:
    return (
        ApiCredential(DEFAULT_IDENTIFIER, DEFAULT_SECRET, ADMIN_USERNAME),
        ApiCredential(READONLY_IDENTIFIER, READONLY_SECRET, "simreader", frozenset({
            "GetTickets", "GetTicket", "GetSupportDepartments", "GetSupportStatuses",
            "GetClientsDetails", "GetAdminDetails"})),
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimConfig:
    """How the simulator behaves. Mutable on purpose: tests flip quirks on a running sim."""

    seed: int = 1
    clients: int = 20
    tickets: int = 200
    #: The WHMCS server zone: dates go out naive ``Y-m-d H:i:s`` in this zone.
    timezone: str = "UTC"
    latency_ms: float = 0.0
    #: Fraction (0–1) of requests answered with a random fault from ``random_faults``.
    error_rate: float = 0.0
    random_faults: tuple[str, ...] = ("500", "503", "html", "empty")
    #: Seconds a "timeout" fault holds the request before answering.
    timeout_fault_seconds: float = 3.0
    #: None allows every IP; otherwise only these (an ``accesskey`` bypasses the check).
    allowed_ips: tuple[str, ...] | None = None
    access_key: str | None = DEFAULT_ACCESS_KEY
    credentials: tuple[ApiCredential, ...] = field(default_factory=default_credentials)
    legacy_admin_password: str | None = ADMIN_PASSWORD
    auth_failure_status: int = 403
    #: WHMCS bans the caller's IP after this many failed logins (a wrong identifier, secret
    #: or access key) within ``ban_window_minutes`` (reference section 0); None never bans.
    ban_after_failures: int | None = 3
    ban_window_minutes: float = 30.0
    #: How long a ban lasts (WHMCS's "Failed Admin Login Ban Time", 15 minutes by default).
    ban_minutes: float = 15.0
    permission_status: int = 403
    unknown_action_status: int = 200
    #: How an empty list is sent (see :data:`EMPTY_SHAPES`).
    empty_list_shape: str = "omit"
    #: Send a one-item list as the bare object (a quirk seen in XML-to-JSON paths).
    single_item_as_object: bool = False
    #: Departments the API admin is assigned to (GetTickets filters on them by default).
    admin_departments: tuple[int, ...] = (1, 2)
    whmcs_version: str = "8.13.1-release.1"
    #: Where to post signed hook events (the bridge's base URL), and the whsec_ secret.
    bridge_url: str | None = None
    webhook_secret: str | None = None
    #: Base time of the seeded data; default: when the state is built.
    anchor: datetime | None = None
    clock: Callable[[], datetime] = _now

    def validate(self) -> None:
        if self.tickets < 0 or self.clients < 1:
            raise ValueError("--clients must be at least 1 and --tickets at least 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("--error-rate must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError("--latency-ms must not be negative")
        if self.empty_list_shape not in EMPTY_SHAPES:
            raise ValueError(f"empty_list_shape must be one of {', '.join(EMPTY_SHAPES)}")
        if (self.bridge_url is None) != (self.webhook_secret is None):
            raise ValueError("--bridge-url and --webhook-secret go together")
