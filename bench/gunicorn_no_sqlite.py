"""Experiment for ``bench/ingest.py --gunicorn-config``: the commit path without SQLite.

Each worker keeps the receiver exactly as it is (writer thread, hand-off, writer lock) but the
batch statement is replaced by nothing, so the difference to a normal run is what the durable
SQLite insert costs under load. Not durable (the bench then reports a MISMATCH: nothing is
stored): for measuring only, never for serving.
"""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    import whmcs_bridge.store.ingest as ingest

    ingest.store_batch = lambda engine, batch: [True] * len(batch)
