"""``serve``'s pieces without a server: gunicorn options, the worker supervisor, and the
rule that errors stored or logged by the worker never carry a secret."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from whmcs_bridge import server
from whmcs_bridge.server import WorkerProcess, gunicorn_options
from whmcs_bridge.worker import describe


def test_gunicorn_options_use_receiver_worker_class_and_our_worker_count() -> None:
    opts = gunicorn_options(host="127.0.0.1", port=8080, workers=0, log_level="WARNING")
    assert opts["bind"] == "127.0.0.1:8080"
    assert opts["workers"] == (os.cpu_count() or 1)
    assert opts["worker_class"] == "whmcs_bridge.http_worker.BridgeGeventWorker"
    assert opts["worker_connections"] >= 100
    assert opts["loglevel"] == "warning" and opts["accesslog"] is None
    assert opts["logger_class"] is server.BridgeGunicornLogger
    assert gunicorn_options(host="::1", port=9, workers=3, log_level="INFO")["bind"] == "[::1]:9"
    assert gunicorn_options(host="::1", port=9, workers=3, log_level="INFO")["workers"] == 3


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def wait_exit(wp: WorkerProcess) -> None:
    assert wp.proc is not None
    wp.proc.wait(10)


def test_worker_process_is_restarted_with_growing_delay() -> None:
    clock = FakeClock()
    wp = WorkerProcess([sys.executable, "-c", "raise SystemExit(1)"], clock=clock)
    wp.start()
    first = wp.proc
    wait_exit(wp)
    wp.check()  # notices the exit, schedules a restart 1 s later
    assert wp.proc is first and wp.restart_at == 1001.0
    clock.t += 0.5
    wp.check()
    assert wp.proc is first
    clock.t += 0.5
    wp.check()
    assert wp.proc is not first and wp.restarts == 1
    wait_exit(wp)
    wp.check()
    assert wp.restart_at == clock.t + 2.0  # doubled
    clock.t += server.HEALTHY_RUN_SECONDS + 5
    wp.check()
    assert wp.restarts == 2


def test_worker_process_stops_on_terminate_and_is_not_restarted() -> None:
    wp = WorkerProcess([sys.executable, "-c", "import time; time.sleep(30)"])
    wp.start()
    started = time.monotonic()
    wp.terminate()
    wp.wait(10)
    assert wp.proc is not None and wp.proc.returncode is not None
    assert time.monotonic() - started < 10
    proc = wp.proc
    wp.check()
    assert wp.proc is proc and wp.restarts == 0


#: Run in a child process patched by gevent as ``serve`` is (the test process is not): a
#: worker that exits is reaped by someone else's ``waitpid(-1)``, as gunicorn's arbiter reaps,
#: before gevent's SIGCHLD watcher sees it.
REAPED_ELSEWHERE = r"""
from gevent import monkey
monkey.patch_all()
import os, sys, time
from whmcs_bridge.server import WorkerProcess

real_waitpid = monkey.get_original("os", "waitpid")
wp = WorkerProcess([sys.executable, "-c", "pass"])
wp.start()
pid, _ = real_waitpid(wp.proc.pid, 0)  # the arbiter's reap_workers() got there first
assert pid == wp.proc.pid
deadline = time.monotonic() + 5
while wp.restart_at is None and time.monotonic() < deadline:
    wp.check()
    time.sleep(0.05)
print("noticed" if wp.restart_at is not None else "missed")
wp.stopping, wp.restart_at = False, None
wp.start()
real_waitpid(wp.proc.pid, 0)
started = time.monotonic()
wp.terminate()
wp.wait(5)
print("waited %.1f" % (time.monotonic() - started))
"""


def test_a_worker_reaped_by_the_arbiter_is_still_seen_to_exit() -> None:
    """Under gevent (``serve`` patches), a Popen learns its child's exit only from libev's
    SIGCHLD watcher, and gunicorn's arbiter reaps every child with ``waitpid(-1)``: when the
    arbiter got there first, the dead worker was never restarted, and on shutdown ``wait``
    ran out its whole timeout (serve then took over 30 s to stop). The supervisor must see
    the exit either way."""
    out = subprocess.run([sys.executable, "-c", REAPED_ELSEWHERE], capture_output=True,
                         text=True, timeout=60, check=True).stdout.split("\n")
    assert out[0] == "noticed"
    assert out[1].startswith("waited ") and float(out[1].split()[1]) < 2.0


def test_worker_errors_are_scrubbed_of_secrets() -> None:
    secret = "whsec_" + "A" * 40
    text = describe(RuntimeError(f"failed with {secret} and password=hunter2 and "
                                 "Authorization: Bearer abcdef123456"))
    assert secret not in text and "hunter2" not in text and "abcdef123456" not in text
    assert text.startswith("RuntimeError: failed with whsec_********")
    assert describe(KeyError()) == "KeyError"


def test_fit_open_files_raises_the_soft_limit_up_to_the_hard_one(monkeypatch) -> None:
    import resource

    limits = {"now": (1024, 4096)}
    monkeypatch.setattr(resource, "getrlimit", lambda _which: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _which, value: limits.update(now=value))
    # 4096 connections need 4096 + the reserve: the hard limit caps it, connections shrink
    assert server.fit_open_files(4096) == 4096 - server.RESERVED_FILES
    assert limits["now"] == (4096, 4096)
    limits["now"] = (1024, 1_000_000)
    assert server.fit_open_files(4096) == 4096
    assert limits["now"] == (4096 + server.RESERVED_FILES, 1_000_000)
