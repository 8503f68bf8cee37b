"""The shared queue operations assume each outbox uses the same status words."""

from __future__ import annotations

from whmcs_bridge.notify import tables as notify_tables
from whmcs_bridge.store import queues
from whmcs_bridge.writes import tables as write_tables


def test_both_outboxes_use_the_status_words_the_shared_replay_sets() -> None:
    for t in (notify_tables, write_tables):
        assert (t.PENDING, t.FAILED, t.DEAD) == (queues.PENDING, queues.FAILED, queues.DEAD)
