"""Experiment for ``bench/ingest.py --plain-schemas``: the receiver loads every event with
marshmallow's plain ``Schema.load`` (:data:`whmcs_bridge.event_schemas.PLAIN`) instead of its
:class:`~whmcs_bridge.schema_fastpath.FastPath` loader (same results; only the cost differs).
Durable: the bench's database check still holds.
"""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    import whmcs_bridge.webhooks.receiver as receiver
    from whmcs_bridge.event_schemas import PLAIN

    receiver.EVENTS = PLAIN
