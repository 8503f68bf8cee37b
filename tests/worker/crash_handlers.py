"""Test handlers for the process-level tests, loaded through ``[handlers].modules``.

Each handler writes one row into ``test_worker_effects`` *in its own transaction* (so the row
is exactly-once together with the handler's outcome) and then sleeps a little, so a SIGKILL
usually lands while a transaction is open. When ``TEST_HANDLER_LOG_DIR`` is set, each handler
also appends ``event handler pid`` to a per-process file *before* touching the database: a
record outside any transaction, which shows whether two workers ever started the same work.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table

from whmcs_bridge.hooks.registry import on

HOOK = "InvoicePaid"

metadata = MetaData()
effects = Table(
    "test_worker_effects",
    metadata,
    Column("event_id", String(255), nullable=False),  # deliberately no unique constraint:
    Column("handler", String(100), nullable=False),   # duplicates must be visible, not refused
    Column("worker_pid", Integer, nullable=False),
)


def _record(name: str, event: Any, ctx: Any) -> None:
    log_dir = os.environ.get("TEST_HANDLER_LOG_DIR")
    if log_dir:
        with open(os.path.join(log_dir, f"{os.getpid()}.log"), "a") as fh:
            fh.write(f"{event.id} {name} {os.getpid()}\n")
    ctx.conn.execute(effects.insert().values(event_id=event.id, handler=name,
                                             worker_pid=os.getpid()))
    _maybe_block()
    time.sleep(float(os.environ.get("TEST_HANDLER_SLEEP", "0")))


_handled = 0


def _maybe_block() -> None:
    """With ``TEST_BLOCK_AFTER=N`` and ``TEST_BLOCK_MARKER=path``: after N handler runs, the
    first process to get there creates the marker and blocks inside its open transaction until
    it is killed, so the crash test's SIGKILL lands mid-batch for certain. Processes that find
    the marker already there (the restarted worker) never block."""
    global _handled
    after, marker = os.environ.get("TEST_BLOCK_AFTER"), os.environ.get("TEST_BLOCK_MARKER")
    if not after or not marker:
        return
    _handled += 1
    if _handled < int(after):
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    time.sleep(600)  # the test kills us here


@on(HOOK, priority=100, name="test.first")
def first(event: Any, ctx: Any) -> None:
    _record("test.first", event, ctx)


def second(event: Any, ctx: Any) -> None:
    _record("test.second", event, ctx)


# The concurrency test runs with one test handler (less work per event on a busy machine).
if os.environ.get("TEST_HANDLER_SECOND", "1") == "1":
    second = on(HOOK, priority=110, name="test.second")(second)
