"""Crash safety: a real ``whmcs-bridge serve`` keeps every accepted event exactly-once per
handler when its worker process is SIGKILLed mid-run (on SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from tests.worker.crash_handlers import HOOK, effects, metadata
from tests.worker.procs import (
    CLI,
    LogReader,
    bridge_env,
    free_port,
    read,
    unfinished,
    wait_for,
)
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.tables import events, handler_outcomes

pytestmark = pytest.mark.slow

HANDLERS = {"audit.record", "test.first", "test.second"}
EVENTS_BEFORE_KILL = 150
EVENTS_AFTER_KILL = 100


def post_events(base: str, count: int) -> list[str]:
    """POST signed events concurrently; return the ids the server accepted (202).

    The session is closed on return: an idle kept-alive connection holds a slot of the
    gevent worker's pool, and a graceful stop waits for it until the server's keepalive
    (5 s) ends it."""
    session = requests.Session()

    def one(n: int) -> str | None:
        event_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"type": HOOK, "timestamp": "2026-11-25T10:00:00+07:00",
                           "data": {"invoiceid": str(n)}}).encode()
        headers = signed_headers(TEST_SECRET, event_id, body)
        headers.update({"Content-Type": "application/json",
                        "User-Agent": "whmcs-bridge-addon/1.0.0 WHMCS/8.10.1"})
        response = session.post(f"{base}/webhooks/whmcs", data=body, headers=headers, timeout=30)
        assert response.status_code == 202, (response.status_code, response.text)
        return event_id

    with session, ThreadPoolExecutor(8) as pool:
        return [i for i in pool.map(one, range(count)) if i]


def test_worker_killed_mid_run_processes_every_event_once(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    metadata.create_all(engine)
    port = free_port()
    env = bridge_env(db_url, tmp_path,
                     WHMCS_BRIDGE_WORKER__LEASE_SECONDS="2",
                     WHMCS_BRIDGE_WORKER__POLL_INTERVAL_SECONDS="0.05",
                     WHMCS_BRIDGE_WORKER__BATCH_SIZE="20",
                     TEST_HANDLER_SLEEP="0.01",
                     TEST_BLOCK_AFTER="40",
                     TEST_BLOCK_MARKER=str(tmp_path / "blocked"))
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "1"],
                            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # teardown can end serve's children too
    logs = LogReader(proc)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=1).status_code == 200
            except requests.RequestException:  # not listening yet, or the worker booting
                return False

        wait_for(up, 30, f"serve to answer /healthz; log:\n{logs.tail()}")
        first_pid = wait_for(lambda: logs.messages("worker process started"), 10,
                             "the worker process")[0]["pid"]

        accepted = post_events(base, EVENTS_BEFORE_KILL)
        # The first worker blocks inside a handler transaction after 40 handler runs and says
        # so with a marker file: the kill below lands mid-batch, with events claimed.
        marker = tmp_path / "blocked"
        wait_for(marker.exists, 30, f"the worker to block mid-batch; log:\n{logs.tail()}")
        assert int(marker.read_text()) == first_pid
        held = {r.id for r in read(engine, select(events.c.id)
                                   .where(events.c.status == "processing"))}
        os.kill(first_pid, signal.SIGKILL)  # mid-batch: a handler transaction is open
        accepted += post_events(base, EVENTS_AFTER_KILL)  # the receiver keeps accepting

        restarted = wait_for(lambda: [m for m in logs.messages("worker process started")
                                      if m["pid"] != first_pid], 15, "the worker restart")
        wait_for(lambda: unfinished(engine) == 0, 45,
                 f"the inbox to drain; log:\n{logs.tail()}", interval=0.25)

        rows = read(engine, select(events.c.id, events.c.status, events.c.attempts))
        assert {r.id for r in rows} == set(accepted)
        assert all(r.status == "done" for r in rows)
        # The kill hit claimed events: exactly those were re-claimed after the lease expired.
        assert held, "nothing was claimed when the worker was killed"
        attempts = {r.id: r.attempts for r in rows}
        assert all(attempts[i] >= 2 for i in held), (held, logs.tail())

        outcome_rows = read(engine, select(handler_outcomes.c.event_id,
                                           handler_outcomes.c.handler,
                                           handler_outcomes.c.status))
        assert Counter((r.event_id, r.handler) for r in outcome_rows) == Counter(
            {(e, h): 1 for e in accepted for h in HANDLERS})
        assert {r.status for r in outcome_rows} == {"succeeded"}

        effect_rows = read(engine, select(effects.c.event_id, effects.c.handler,
                                          effects.c.worker_pid))
        assert Counter((r.event_id, r.handler) for r in effect_rows) == Counter(
            {(e, h): 1 for e in accepted for h in ("test.first", "test.second")})
        pids = {r.worker_pid for r in effect_rows}
        assert first_pid in pids and restarted[0]["pid"] in pids

        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not exit within 30 s of SIGTERM:\n{logs.tail()}")
        assert code == 0, logs.tail()
        assert logs.messages("worker stopped")  # the restarted worker shut down gracefully
        # serve let gevent patch before anything imported ssl (the web workers are gevent's)
        assert any("Using worker: whmcs_bridge.http_worker.BridgeGeventWorker" in line
                   for line in logs.raw)
        assert not any("MonkeyPatchWarning" in line for line in logs.raw), logs.tail()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # serve, gunicorn and the worker child
        proc.wait(10)
        engine.dispose()
