"""``whmcs-bridge serve``: the Flask app under gunicorn, plus a supervised worker process.

Gunicorn's arbiter (the master process) forks the web workers. We subclass it rather than
start a thread in the master, because forking a process that has extra threads can leave
locks held in the children: the arbiter's own loop (woken at least once a second and on every
SIGCHLD) also keeps the event worker running. That worker is a child process
(``whmcs-bridge worker``) started after the listeners are bound and restarted with a growing
delay whenever it dies, so a crashed or killed worker only pauses processing: its leased
events are picked up again when the lease expires. On shutdown the worker gets SIGTERM at
the same time as the web workers and finishes the handler it is running.

Logging: gunicorn's loggers propagate to the root logger configured by
:func:`whmcs_bridge.logs.configure`, so its lines come out in the same JSON format, scrubbed.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from gevent import monkey
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger as GunicornBaseLogger

from whmcs_bridge.webhooks.metrics import gunicorn_on_exit, gunicorn_on_starting
from whmcs_bridge.worker import EXIT_WHMCS_REFUSED

log = logging.getLogger(__name__)

#: The worker command run under ``serve`` (``python -c`` so it does not depend on PATH).
WORKER_ARGV = [sys.executable, "-c", "from whmcs_bridge.cli import main; main()", "worker"]
RESTART_DELAY_MIN = 1.0
RESTART_DELAY_MAX = 30.0
#: A worker that ran at least this long before dying restarts after the minimum delay again.
HEALTHY_RUN_SECONDS = 60.0
#: Descriptors a web worker needs besides its connections (listeners, database, log, pipes).
RESERVED_FILES = 64


def receiver_options(workers: int = 0) -> dict[str, Any]:
    """The gunicorn settings the receiver is designed and benchmarked for.

    One worker process per core, as usual, each serving its requests as gevent greenlets.
    Group commit needs several requests of one process waiting on the same commit, which sync
    workers (one request per process) cannot give. Threaded workers (``gthread``) can, but
    every waiting request is then an OS thread that sleeps and is woken and takes the GIL back:
    on 2 cores those wake-ups and GIL hand-offs cost more CPU than the request itself. Under
    gevent a waiting request is a parked greenlet; only the commit runs in a real thread (see
    :mod:`whmcs_bridge.store.cooperative`). Everything else the web process does either
    talks to sockets (cooperative once gevent has patched them) or runs short database
    queries.
    """
    return {
        "worker_class": "gevent",
        "workers": workers or os.cpu_count() or 1,
        # connections one process holds at once: slow or idle clients each hold one until
        # the worker's deadlines end them (whmcs_bridge.http_worker), so there must be room
        # beside them; serve raises the open-file limit to match (server.fit_open_files)
        "worker_connections": 4096,
        "keepalive": 5,
        "timeout": 60,
        "graceful_timeout": 30,
        "post_worker_init": freeze_startup_objects,
        # request counters summed over the workers (prometheus_client multiprocess mode)
        "on_starting": gunicorn_on_starting,
        "on_exit": gunicorn_on_exit,
    }


def freeze_startup_objects(_worker: Any) -> None:
    """Move everything the worker built at start-up out of the garbage collector's sight.

    The loaded app (Flask, SQLAlchemy, marshmallow, Jinja2 and their modules) is ~95,000 long-
    lived objects that every full collection would walk again (about 50 ms each, seen as p99
    spikes); requests only create short-lived ones. ``gc.freeze`` is the standard remedy for a
    pre-loaded server process; nothing frozen is ever freed, which is what these objects are.
    """
    gc.collect()
    gc.freeze()


#: The defaults above for the machine this runs on (``serve`` may pass ``--workers``).
RECEIVER_OPTIONS = receiver_options()


def gunicorn_options(*, host: str, port: int, workers: int, log_level: str,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The gunicorn settings ``serve`` uses (pure: tested without starting anything)."""
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or os.cpu_count() or 1,
        "proc_name": "whmcs-bridge",
        "loglevel": log_level.lower(),
        "logger_class": BridgeGunicornLogger,
        "accesslog": None,
        "control_socket_disable": True,  # no control socket file in the working directory
    }
    # The receiver's choice of worker class, timeouts and hooks (gevent workers, so group
    # commit has concurrent requests to batch); the process count stays ours (``--workers`` /
    # ``server.workers``).
    options.update({k: v for k, v in RECEIVER_OPTIONS.items() if k != "workers"})
    if options["worker_class"] == "gevent":
        # gevent's worker with drained bodies, body deadlines, a per-address cap and JSON
        # error pages (whmcs_bridge.http_worker); named, so only the worker imports it
        options["worker_class"] = "whmcs_bridge.http_worker.BridgeGeventWorker"
    options.update(extra or {})
    return options


def fit_open_files(worker_connections: int) -> int:
    """Raise this process's soft open-file limit towards what ``worker_connections`` needs (at
    most to the hard limit: systemd's default soft limit is 1024, its hard one far higher,
    and raising the soft one is how systemd expects a server to get more), and return the
    connections per worker that fit under it. The forked workers inherit the limit. A worker
    over its limit would fail every ``accept`` (EMFILE) and refuse *all* callers at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = worker_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit", extra={"error": str(exc)})
    if soft == resource.RLIM_INFINITY:
        return worker_connections
    fitted = max(1, min(worker_connections, soft - RESERVED_FILES))
    if fitted < worker_connections:
        log.warning("open-file limit %d allows %d connections per web worker, not %d; raise "
                    "LimitNOFILE (systemd) or ulimit -n", soft, fitted, worker_connections)
    return fitted


class BridgeGunicornLogger(GunicornBaseLogger):
    """Gunicorn's loggers without their own handlers: records go to our root logger."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True


#: ``os.waitpid`` as the kernel has it, also where gevent has patched ``os`` (``serve`` does).
_kernel_waitpid = monkey.get_original("os", "waitpid")


class WorkerProcess:
    """The event worker as a child process of the arbiter, restarted when it dies.

    Its exit is read by :meth:`_reap`, not by ``Popen.poll``/``wait`` alone: under gevent a
    Popen learns of its child's exit only from libev's SIGCHLD watcher, and gunicorn's
    arbiter reaps every child with ``waitpid(-1)``. When the arbiter got there first, the
    Popen said "running" for ever: a dead worker was never restarted, and a stop waited out
    its whole timeout (serve then took over 30 s to stop).
    """

    def __init__(self, argv: list[str], env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.argv = argv
        self.env = dict(env) if env is not None else None
        self.clock = clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self.delay = RESTART_DELAY_MIN
        self.stopping = False
        self.restarts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)  # noqa: S603 - our own argv
        self.started_at = self.clock()
        self.restart_at = None
        log.info("worker process started", extra={"pid": self.proc.pid})

    def _reap(self) -> int | None:
        """The worker's exit code once it has exited, else None (also reaps it).

        Asks the Popen, then the kernel for this pid: ``ECHILD`` means someone else (the
        arbiter) reaped it, its status lost; the exit code is then 0, as the standard
        library's Popen takes it."""
        proc = self.proc
        assert proc is not None
        code = proc.poll()
        if code is not None:
            return code
        try:
            pid, status = _kernel_waitpid(proc.pid, os.WNOHANG)
        except ChildProcessError:
            code = 0
        else:
            if pid == 0:
                return None
            code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        return code

    def check(self) -> None:
        """Called from the arbiter loop: notice a dead worker, restart it after a delay."""
        if self.stopping or self.proc is None:
            return
        if self.restart_at is None:
            code = self._reap()  # 0 when the arbiter's waitpid(-1) reaped it first
            if code is None:
                return
            if code == EXIT_WHMCS_REFUSED:  # restarting would be one more failed login
                log.error("worker process stopped: WHMCS refused the API credential; not "
                          "restarting it (fix the whmcs settings, then restart serve)",
                          extra={"pid": self.proc.pid, "exit_code": code})
                self.stopping = True
                return
            if self.clock() - self.started_at >= HEALTHY_RUN_SECONDS:
                self.delay = RESTART_DELAY_MIN
            log.error("worker process exited; restarting",
                      extra={"pid": self.proc.pid, "exit_code": code,
                             "restart_in_seconds": self.delay})
            self.restart_at = self.clock() + self.delay
            self.delay = min(RESTART_DELAY_MAX, self.delay * 2)
        if self.clock() >= self.restart_at:
            self.restarts += 1
            self.start()

    def terminate(self) -> None:
        """Ask the worker to finish its current handler and exit."""
        self.stopping = True
        if self.proc is not None and self._reap() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        """Until the worker has exited, killing it after ``timeout`` seconds."""
        if self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while self._reap() is None:
            if time.monotonic() >= deadline:
                log.error("worker process did not stop in time; killing it",
                          extra={"pid": self.proc.pid})
                self.proc.kill()
                deadline = float("inf")  # a killed process ends: wait for it
            time.sleep(0.05)


class BridgeArbiter(Arbiter):
    """Gunicorn's arbiter that also keeps the event worker process alive."""

    app: BridgeServer  # the application it is built with (see BridgeServer.run)

    def start(self) -> None:
        super().start()
        if self.app.worker_process is not None:
            self.app.worker_process.start()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.app.worker_process is not None:
            self.app.worker_process.check()

    def stop(self, graceful: bool = True) -> None:
        wp = self.app.worker_process
        if wp is not None:
            wp.terminate()
        super().stop(graceful)
        if wp is not None:
            wp.wait(self.cfg.graceful_timeout)


class BridgeServer(BaseApplication):
    """Gunicorn application: each web worker builds the Flask app from the loaded settings."""

    def __init__(self, app_factory: Callable[[], Any], options: Mapping[str, Any],
                 worker_process: WorkerProcess | None = None) -> None:
        self.app_factory = app_factory
        self.options = dict(options)
        self.worker_process = worker_process
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "worker_connections" in self.options:
            self.cfg.set("worker_connections",
                         fit_open_files(int(self.options["worker_connections"])))

    def load(self) -> Any:
        return self.app_factory()

    def run(self) -> None:
        try:
            BridgeArbiter(self).run()
        except RuntimeError as exc:  # e.g. the port is taken
            log.error("server failed to start", extra={"error": str(exc)})
            sys.exit(1)
