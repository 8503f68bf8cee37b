"""What every channel shares: the outgoing message and the one error a channel raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.notify.render import Rendered

T = TypeVar("T")


class DeliveryError(BridgeError):
    """A send failed. ``permanent`` failures (a 4xx answer, an address the server refuses for
    good) go straight to the dead letters; others are retried with backoff. The message never
    contains a secret (webhook URLs and bot tokens are credentials)."""

    code = "delivery_failed"
    http_status = 502  # a channel (the server on its other side) failed

    def __init__(self, message: str, *, permanent: bool = False,
                 auth_failure: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        #: WHMCS refused the bridge's API credential: not this message's fault, so it is
        #: neither retried nor dead-lettered; the delivery run stops (and so does the worker).
        self.auth_failure = auth_failure

    @classmethod
    def from_whmcs(cls, prefix: str, exc: Exception) -> DeliveryError:
        """A failed WHMCS API call as a delivery error: permanent unless WHMCS may answer
        differently later, and never when it refused the credential (fixing that sends it)."""
        refused = bool(getattr(exc, "auth_failure", False))
        return cls(f"{prefix}: {exc}", auth_failure=refused,
                   permanent=not refused and not getattr(exc, "retryable", True))


@dataclass
class Outgoing:
    """One message on its way: a single notification or a digest of several."""

    notification: str
    rendered: Rendered
    recipient: str  # an e-mail address for mail channels, the channel name for chat
    msg_id: str  # stable across retries, so receivers can deduplicate
    payloads: list[dict[str, Any]] = field(default_factory=list)
    ticket_id: int | None = None
    client_id: int | None = None
    ticket_url: str | None = None

    @property
    def is_digest(self) -> bool:
        return len(self.payloads) > 1


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> None:
        """Deliver or raise :class:`DeliveryError`."""


def required(value: T | None, key: str) -> T:
    """A setting a channel needs to send (``build`` makes a channel only once its keys are
    set, so None here is a channel built by hand without them): a permanent failure."""
    if value is None:
        raise DeliveryError(f"{key} is not set", permanent=True)
    return value
