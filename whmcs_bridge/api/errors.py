"""The client's error tree: every failure of a WHMCS call is a :class:`WhmcsError`, a
:class:`~whmcs_bridge.errors.BridgeError` answered ``502 whmcs_unavailable`` when it ends a
request of the bridge's own HTTP API.

Callers branch on the class (``except NotFoundError``) or on :attr:`WhmcsError.retryable`;
nothing from ``requests``, ``json`` or ``marshmallow`` escapes a client method. Messages carry
the action, the HTTP status and WHMCS's own text, and never a credential or a password: the
client scrubs every message through :func:`mask_secrets` before raising.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from whmcs_bridge.errors import BridgeError


class WhmcsError(BridgeError):
    """A WHMCS API call did not succeed.

    ``action`` is the API action (``GetTickets``), ``whmcs_status`` the HTTP status of WHMCS's
    answer when one arrived (``None`` for transport failures) and ``message`` WHMCS's text (or
    ours when WHMCS gave none). ``http_status`` is, as everywhere in the tree, what the
    bridge answers its own caller: 502, whatever WHMCS said.
    """

    code = "whmcs_unavailable"
    http_status = 502

    #: Whether trying the same call later may succeed (transport trouble, 429, 5xx).
    retryable: bool = False
    #: Whether WHMCS refused *who is calling* (credential, access key, IP, admin account).
    #: Such a refusal counts as a failed login: WHMCS bans the caller's IP after three in
    #: 30 minutes, so a client that has seen one makes no further call (see ``tripped``).
    auth_failure: bool = False

    def __init__(self, action: str, whmcs_status: int | None, message: str) -> None:
        self.action = action
        self.whmcs_status = whmcs_status
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        status = f" (HTTP {self.whmcs_status})" if self.whmcs_status is not None else ""
        return f"WHMCS {self.action}{status}: {self.message}"

    def public_message(self) -> str:
        # WHMCS's text may describe its setup (IPs, roles): it stays in the log
        return f"WHMCS could not complete {self.action}; try again"

    def __reduce__(self):  # keep errors picklable for worker queues / multiprocessing
        return (type(self), (self.action, self.whmcs_status, self.message))


class AuthenticationError(WhmcsError):
    """WHMCS refused the API credentials (``Authentication Failed``, ``Invalid or missing
    credentials``). The base of every auth failure: ``except AuthenticationError`` stops."""

    auth_failure = True


class InvalidAccessKeyError(AuthenticationError):
    """The ``accesskey`` sent does not match ``$api_access_key`` (``Invalid Access Key``)."""


class IpBannedError(AuthenticationError):
    """WHMCS banned the caller's IP after repeated failed logins (``IP Banned``): an admin
    must lift the ban under Configuration > System Settings > Banned IPs (or wait for it to
    expire: "Failed Admin Login Ban Time", 15 minutes by default)."""


class AccountDisabledError(AuthenticationError):
    """The admin behind the credential is disabled (``Administrator Account Disabled``)."""


class ClientTrippedError(AuthenticationError):
    """The client saw an auth failure earlier and refuses to call WHMCS again: one more bad
    login could get the bridge's IP banned. Fix the credential, then restart."""

    #: The refusal that tripped the client (not kept across pickling).
    first: AuthenticationError | None = None


class IpNotAllowedError(AuthenticationError):
    """WHMCS refused the caller's IP (``Invalid IP <ip>``, HTTP 403).

    ``ip`` is the address WHMCS saw; the message tells the admin where to allow it or to
    configure an API access key instead.
    """

    def __init__(self, action: str, whmcs_status: int | None, message: str) -> None:
        found = re.search(r"Invalid IP\s+(\S+)", message)
        self.ip = found.group(1) if found else None
        self.whmcs_message = message
        if self.ip:
            hint = (f"{message}: WHMCS does not accept API calls from {self.ip}. Allow {self.ip} "
                    "under Setup > General Settings > Security > API IP Access Restriction, "
                    "or set whmcs.access_key to the $api_access_key of configuration.php")
        else:
            hint = (f"{message}: allow the bridge's IP in WHMCS's API IP Access Restriction, "
                    "or set whmcs.access_key")
        super().__init__(action, whmcs_status, hint)

    def __reduce__(self):
        return (type(self), (self.action, self.whmcs_status, self.whmcs_message))


class PermissionDeniedError(WhmcsError):
    """The credential's API role does not allow this action (``Invalid Permissions: …``)."""


class UnknownActionError(WhmcsError):
    """WHMCS does not know the action (``Command Not Found``, ``Invalid API Action``): old
    WHMCS or a typo."""


class NotFoundError(WhmcsError):
    """The object asked for does not exist (``Ticket ID Not Found``, ``Client Not Found`` …)."""


class WhmcsValidationError(WhmcsError):
    """WHMCS rejected the request's parameters (``Message is required``, bad status …).

    Named so it does not clash with :class:`marshmallow.ValidationError`.
    """


class TransportError(WhmcsError):
    """No usable HTTP response arrived (timeout, refused connection, TLS failure)."""

    retryable = True


class WhmcsTimeoutError(TransportError):
    """WHMCS did not answer within the configured timeout."""


class WhmcsConnectionError(TransportError):
    """The connection to WHMCS could not be made or broke (DNS, refused, reset, TLS)."""


class InvalidResponseError(WhmcsError):
    """WHMCS answered with something that is not a WHMCS API answer (HTML, empty, non-JSON,
    a shape the client cannot read)."""


class ServerError(InvalidResponseError):
    """WHMCS (or a proxy in front of it) answered 429 or 5xx without an API error body."""

    retryable = True


#: ``message`` prefixes (lower case) WHMCS answers before it runs the action, and their class.
#: Texts: reference section 0 and 1.4 (DD ``api/authentication.md``, I-AUTH, I-IP, I-PERM).
_PREFIXES: tuple[tuple[str, type[WhmcsError]], ...] = (
    ("invalid ip", IpNotAllowedError),
    ("ip banned", IpBannedError),
    ("invalid access key", InvalidAccessKeyError),
    ("authentication failed", AuthenticationError),
    ("invalid or missing credentials", AuthenticationError),
    ("administrator account disabled", AccountDisabledError),
    ("invalid permissions", PermissionDeniedError),
    ("command not found", UnknownActionError),
    ("invalid api action", UnknownActionError),
)


def classify(message: str) -> type[WhmcsError]:
    """The error class for a WHMCS ``result: error`` message (pure; texts from the reference)."""
    lowered = message.strip().lower()
    for prefix, cls in _PREFIXES:
        if lowered.startswith(prefix):
            return cls
    if "not found" in lowered:
        return NotFoundError
    return WhmcsValidationError


#: What to fix, per refusal (the most specific class first; the base class last).
_FIXES: tuple[tuple[type[WhmcsError], str], ...] = (
    (IpBannedError, "WHMCS has banned this host's IP after failed logins: fix the credential, "
                    "then lift the ban under Configuration > System Settings > Banned IPs (or "
                    "wait for it to expire)"),
    (InvalidAccessKeyError, "whmcs.access_key does not match $api_access_key in WHMCS's "
                            "configuration.php"),
    (AccountDisabledError, "the WHMCS admin behind the API credential is disabled: enable it "
                           "or create a credential for an active admin"),
    (AuthenticationError, "check whmcs.identifier and whmcs.secret (an API credential of an "
                          "admin whose role has API Access)"),
)


def refusal_line(exc: AuthenticationError) -> str:
    """One line for the admin: what WHMCS refused, what to fix, and why nothing retries.

    ``sync``, ``doctor`` and the worker all say it the same way (pure)."""
    first = exc.first if isinstance(exc, ClientTrippedError) and exc.first else exc
    if isinstance(first, IpNotAllowedError):  # its message already says where to allow it
        return (f"WHMCS refused the bridge's API call ({first.action}): {first.message}. "
                "Nothing retries it until the bridge is restarted")
    fix = next(text for cls, text in _FIXES if isinstance(first, cls))
    return (f"WHMCS refused the bridge's API credential ({first.action}: {first.message}); "
            f"{fix}. Nothing retries it until the bridge is restarted: WHMCS bans an IP "
            "after 3 failed logins in 30 minutes")


def mask_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each (non-trivial) known secret value in ``text`` by
    ``********`` (the client's own credentials echoed in a WHMCS message). The other scrubbers
    are other rules: :func:`whmcs_bridge.logs.scrub` masks secret-shaped patterns in any log
    line, :func:`whmcs_bridge.event_schemas.drop_secret_keys` drops password-like keys from
    hook data, :mod:`whmcs_bridge.verification.intake` masks credentials typed into tickets."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "********")
    return text
