"""Shared helpers for the worker tests: a settable clock and writing events to the inbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from whmcs_bridge.store.ingest import NewEvent, store_batch
from whmcs_bridge.store.tables import events, handler_outcomes

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def envelope(hook: str, **data: Any) -> dict[str, Any]:
    return {"type": hook, "timestamp": "2026-11-25T10:00:00+07:00", "data": data}


def add_events(engine: Engine, ids: Iterable[str], *, hook: str = "InvoicePaid",
               received_at: datetime = T0, data: dict[str, Any] | None = None) -> list[str]:
    """Store events as the receiver does (pending, due at ``received_at``)."""
    ids = list(ids)
    batch = [NewEvent(id=i, type=hook, payload=envelope(hook, **(data or {"invoiceid": "7"})),
                      received_at=received_at - timedelta(seconds=1) + timedelta(microseconds=n),
                      source="whmcs-bridge-addon/1.0.0 WHMCS/8.10.1")
             for n, i in enumerate(ids)]
    for start in range(0, len(batch), 200):
        results = store_batch(engine, batch[start:start + 200])
        assert all(r is True for r in results), results
    return ids


def event_row(engine: Engine, event_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(events).where(events.c.id == event_id)).one()


def outcomes(engine: Engine, event_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(handler_outcomes)
                            .where(handler_outcomes.c.event_id == event_id)).all()
    return {r.handler: r for r in rows}
