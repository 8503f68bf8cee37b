"""What a handler receives: the event and a context with the transaction and services.

It lives in the library, not in :mod:`hooks`, because the library builds these contexts too
(the worker, SLA escalation, the staff API, the CLI): data flows from the library into the
handlers, never back. Handlers import it as :mod:`whmcs_bridge.hooks.context`, their name for it.

A handler runs inside one database transaction together with the record of its own outcome,
so whatever it writes (ticket state, an outbox notification) commits if and only if the
handler is recorded as succeeded. No call to WHMCS is made while it is open (on SQLite it
holds the write lock every arriving webhook queues for, as long as WHMCS takes to answer):
writes to WHMCS are queued in the WHMCS write outbox in the transaction
(:mod:`whmcs_bridge.tickets.replies`) and sent after it commits; what a handler must read from
WHMCS its ``prepare`` step reads before the transaction opens (:class:`PrepareContext`), and
the handler finds it in ``ctx.prepared``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Engine

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.deliver import Deliverer
from whmcs_bridge.settings import Settings


@dataclass(frozen=True)
class Event:
    """One WHMCS hook event as stored in the inbox; ``data`` is the validated, coerced $vars.

    ``redactions``: what the receiver masked out of ``data`` before storing it (field, kind,
    ``fingerprint_kind``, keyed ``fingerprint``; never a value), see
    :mod:`whmcs_bridge.verification.intake`. Empty for clean text and for older events.
    """

    id: str
    type: str
    data: dict[str, Any]
    timestamp: datetime | None
    received_at: datetime
    redactions: tuple[dict[str, Any], ...] = ()


class Services:
    """The clients one process shares, built once by the composition root
    (:func:`whmcs_bridge.runtime.build_runtime`) and handed down to every context.

    Each is made on first use: a process that never calls WHMCS (a receiver without
    ``whmcs.url``) never needs its settings. ``whmcs`` given here (tests, the demo) is used as is.
    """

    def __init__(self, settings: Settings, *, whmcs: WhmcsClient | None = None) -> None:
        self.settings = settings
        self._whmcs = whmcs
        self._deliverer: Deliverer | None = None

    @cached_property
    def whmcs(self) -> WhmcsClient:
        """The WHMCS API client built from ``[whmcs]`` (one HTTP session per process)."""
        if self._whmcs is not None:
            return self._whmcs
        return WhmcsClient.from_settings(self.settings)

    def deliverer(self, engine: Engine) -> Deliverer:
        """The notification deliverer (and its HTTP session) for ``engine``, made once."""
        if self._deliverer is None or self._deliverer.engine is not engine:
            self._deliverer = Deliverer(engine, self.settings, whmcs=lambda: self.whmcs)
        return self._deliverer


@dataclass
class HandlerContext:
    settings: Settings
    conn: Connection
    now: datetime
    services: Services
    event: Event | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def whmcs(self) -> WhmcsClient:
        return self.services.whmcs

    @property
    def prepared(self) -> Any:
        """What the handler's ``prepare`` step read from WHMCS (None without one)."""
        return self.extra.get("prepared")

    def notify(self, notification: str, payload: dict[str, Any], *, dedupe_key: str,
               **options: Any) -> Any:
        """Queue a notification in the outbox, in this handler's transaction."""
        return outbox.enqueue(self.conn, notification=notification, payload=payload,
                              dedupe_key=dedupe_key, now=self.now, settings=self.settings,
                              **options)


@dataclass(frozen=True)
class PrepareContext:
    """What a handler's ``prepare`` step receives: no database connection, so it cannot hold
    one while it asks WHMCS. Its return value reaches the handler as ``ctx.prepared``."""

    settings: Settings
    now: datetime
    services: Services

    @property
    def whmcs(self) -> WhmcsClient:
        return self.services.whmcs


@dataclass
class JobContext:
    """What a periodic job receives. Jobs manage their own transactions on ``engine``
    (a sweep over many tickets commits as it goes rather than in one huge transaction)."""

    settings: Settings
    engine: Engine
    now: datetime
    services: Services

    @property
    def whmcs(self) -> WhmcsClient:
        return self.services.whmcs

    def notify(self, conn: Connection, notification: str, payload: dict[str, Any], *,
               dedupe_key: str, **options: Any) -> Any:
        return outbox.enqueue(conn, notification=notification, payload=payload,
                              dedupe_key=dedupe_key, now=self.now, settings=self.settings,
                              **options)
