"""What every channel shares: the outgoing message and the one error a channel raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from whmcs_bridge.notify.render import Rendered


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures (a 4xx answer, an address the server refuses for
    good) go straight to the dead letters; others are retried with backoff. The message never
    contains a secret (webhook URLs and bot tokens are credentials)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


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
