"""Running real ``whmcs-bridge`` processes in tests: environment, logs, waiting."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from tests.conftest import TEST_SECRET
from whmcs_bridge.store.tables import events

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from whmcs_bridge.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bridge_env(db_url: str, tmp: Path, **overrides: str) -> dict[str, str]:
    """A clean environment: no inherited WHMCS_BRIDGE_* settings, the test handlers loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHMCS_BRIDGE_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "WHMCS_BRIDGE_DATA_DIR": str(tmp),
        "WHMCS_BRIDGE_DATABASE_URL": db_url,
        "WHMCS_BRIDGE_WEBHOOK_SECRET": TEST_SECRET,
        "WHMCS_BRIDGE_HANDLERS__MODULES": '["tests.worker.crash_handlers"]',
        "WHMCS_BRIDGE_LOG__FORMAT": "json",
        "WHMCS_BRIDGE_LOG__LEVEL": "INFO",
    })
    env.update(overrides)
    return env


class LogReader:
    """Reads a process's JSON log lines (stderr) in a thread; keeps them for assertions."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.raw.append(line)
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(line))

    def messages(self, msg: str) -> list[dict[str, Any]]:
        return [rec for rec in list(self.lines) if rec.get("msg") == msg]

    def tail(self, n: int = 30) -> str:
        return "".join(self.raw[-n:])


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read(engine: Engine, stmt: Any) -> list[Any]:
    """A read that never takes SQLite's write lock (the server is writing meanwhile)."""
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        return conn.execute(stmt).all()


def unfinished(engine: Engine) -> int:
    return read(engine, select(func.count()).select_from(events)
                .where(events.c.status != "done"))[0][0]


@contextlib.contextmanager
def running_serve(db_url: str, tmp: Path, *args: str,
                  **env: str) -> Iterator[tuple[str, LogReader]]:
    """A real ``whmcs-bridge serve`` on a free loopback port (extra CLI ``args``, settings as
    ``WHMCS_BRIDGE_*`` in ``env``): yields its base URL and log, and kills its whole process
    group afterwards."""
    port = free_port()
    proc = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
                            env=bridge_env(db_url, tmp, **env), cwd=tmp,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    logs = LogReader(proc)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            import requests

            try:
                return requests.get(f"{base}/healthz", timeout=1).status_code == 200
            except requests.RequestException:  # not listening yet, or still starting
                return proc.poll() is not None  # exited: stop waiting, fail below
        wait_for(up, 60, f"serve to answer /healthz; log:\n{logs.tail()}")
        assert proc.poll() is None, f"serve exited: {logs.tail()}"
        yield base, logs
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
