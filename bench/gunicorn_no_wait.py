"""Experiment for ``bench/ingest.py --gunicorn-config``: answer without committing or waiting.

Each request is verified, parsed, validated and scrubbed as usual, then answered at once: the
difference to :mod:`gunicorn_no_sqlite` is what a request's wait for the writer costs (the
hand-off, parking and resuming the request). Not durable (the bench reports a MISMATCH):
for measuring only.
"""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    import whmcs_bridge.store.ingest as ingest

    ingest.GroupCommitter.submit = lambda self, event, timeout=None: True
