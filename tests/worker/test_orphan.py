"""A worker started by ``serve`` does not outlive it, even when serve is SIGKILLed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.worker.procs import CLI, LogReader, bridge_env, free_port, wait_for

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"
    return False


def test_worker_stops_when_serve_is_killed(sqlite_url: str, tmp_path: Path) -> None:
    env = bridge_env(sqlite_url, tmp_path)
    proc = subprocess.Popen([*CLI, "serve", "--port", str(free_port()), "--workers", "1"],
                            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    logs = LogReader(proc)
    try:
        wait_for(lambda: logs.messages("worker started"), 30,
                 f"the worker to start; log:\n{logs.tail()}")
        started = logs.messages("worker process started")[0]["pid"]
        assert _alive(started)
        os.kill(proc.pid, signal.SIGKILL)  # the master only: SIGKILL does not reach children
        wait_for(lambda: not _alive(started), 15, "the orphaned worker to stop")
        # it stopped gracefully, saying why (its stderr is still our pipe)
        wait_for(lambda: logs.messages("worker stopped"), 5, "the worker's last log line")
        assert any("is gone; worker stopping" in r.get("msg", "") for r in logs.lines)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
