"""Shared test helpers: settings with verification keys, a handler-like context, sim tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.conftest import make_settings
from whmcs_bridge.hooks.context import HandlerContext, JobContext, Services
from whmcs_bridge.settings import Settings

SERVER_KEY = "server-secret-key-" + "s" * 20
OLD_KEY = "old-server-secret-" + "o" * 20
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def vsettings(db_url: str = "sqlite://", **sections: Any) -> Settings:
    """:func:`tests.conftest.make_settings` plus the server key and admin user verification
    needs; sections given here override those per key."""
    data: dict[str, Any] = {
        "server": {"secret_key": SERVER_KEY, "public_url": "http://bridge.test"},
        "whmcs": {"admin_username": "bridge"},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return make_settings(db_url, **data)


def context(settings: Settings, conn: Any, whmcs: Any, now: datetime = NOW) -> HandlerContext:
    return HandlerContext(settings=settings, conn=conn, now=now,
                          services=Services(settings, whmcs=whmcs))


def job(settings: Settings, engine: Any, whmcs: Any, now: datetime = NOW) -> JobContext:
    """What :func:`~whmcs_bridge.verification.service.submit_proof` takes (it opens its own
    transactions: call it with none open)."""
    return JobContext(settings=settings, engine=engine, now=now,
                      services=Services(settings, whmcs=whmcs))


def send_writes(settings: Settings, engine: Any, whmcs: Any,
                now: datetime = NOW + timedelta(hours=1)) -> Any:
    """One pass of the WHMCS write sender, as the worker runs after the flows' transactions
    committed: the replies and notes they queued reach the simulator."""
    from whmcs_bridge.writes.send import Sender

    return Sender(engine, settings, whmcs=whmcs).run_once(now)


def add_ticket(conn: Any, sim: Any, *, client_id: int, channel: str = "email",
               language: str = "vietnamese", ticket_id: int | None = None) -> Any:
    """A ticket the sim knows (so replies/notes land) and the tickets store knows."""
    from whmcs_bridge.tickets.store import get_ticket, upsert_ticket

    ids = sorted(sim.state.tickets)
    sim_ticket = sim.state.tickets[ticket_id or ids[client_id % len(ids)]]
    upsert_ticket(conn, sim_ticket.id, now=NOW, tid=sim_ticket.tid, subject="x",
                  client_id=client_id, channel=channel, language=language, status="Open",
                  opened_at=NOW)
    return get_ticket(conn, sim_ticket.id)


def notifications(conn: Any, name: str | None = None) -> list[Any]:
    from whmcs_bridge.notify.tables import notifications as t

    q = select(t)
    if name:
        q = q.where(t.c.notification == name)
    return list(conn.execute(q))


def pauses(conn: Any, ticket_id: int) -> list[Any]:
    from whmcs_bridge.tickets.tables import ticket_pauses

    return list(conn.execute(select(ticket_pauses).where(ticket_pauses.c.ticket_id == ticket_id)))


def dump_database(engine: Any) -> str:
    """Every row of every table, as text (what a database dump would contain)."""
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(engine)
    out = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                out.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(out)
