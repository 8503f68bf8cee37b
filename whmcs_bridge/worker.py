"""The worker: claims events from the inbox and runs the registered hook handlers on them.

Delivery is at-least-once with effects made exactly-once per handler: each handler runs in
one transaction that also records its ``succeeded`` outcome (written first, see
:func:`whmcs_bridge.store.inbox.claim_outcome`), so either both commit or neither does, and a
handler already recorded as succeeded is never run again on that event, whether the event is
retried, re-claimed after a killed worker's lease expired, or replayed.

A failing handler is rolled back, its failure recorded in a separate transaction, and the
other handlers still run. An event with a failed handler is retried after an exponential
backoff with full jitter, only for the handlers that have not succeeded, and dead-lettered
after ``worker.max_attempts`` attempts (with a ``dead_letter`` notification when the
notifications room is installed).

What handlers write to WHMCS (replies, notes, ticket changes) they queue in the WHMCS write
outbox inside that transaction; after each batch, with no transaction open, the worker sends
what is due within the write budget (:mod:`whmcs_bridge.writes.send`). What a handler needs to
*read* from WHMCS its ``prepare`` step reads before the transaction opens
(:func:`whmcs_bridge.hooks.registry.on`), so no handler transaction waits on WHMCS either.

Periodic jobs from the registry run between batches, each at most once at a time across all
workers (:mod:`whmcs_bridge.store.job_runs`). :meth:`Worker.stop` (SIGTERM/SIGINT) lets the
running handler finish, hands unstarted events back, and returns. The worker stops the same
way, by itself, the first time WHMCS refuses the API credential (:attr:`Worker.refused`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.context import Event, HandlerContext, JobContext, PrepareContext, Services
from whmcs_bridge.event_schemas import load_event_data
from whmcs_bridge.hooks.registry import (
    BUILTIN_MODULES,
    HandlerSpec,
    HookRegistry,
    JobSpec,
    load_registry,
)
from whmcs_bridge.logs import scrub
from whmcs_bridge.notify import outbox as notify_outbox
from whmcs_bridge.retry import backoff_seconds
from whmcs_bridge.settings import Settings, StrictSchema
from whmcs_bridge.store import inbox, job_runs
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.writes.send import Sender

log = logging.getLogger(__name__)

#: Seconds between "worker alive" log lines.
HEARTBEAT_SECONDS = 60.0
#: Periodic jobs that were not due (or held elsewhere) are looked at again after at most this.
JOB_RECHECK_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    """``[handlers]``: extra handler modules."""

    modules: Sequence[str]


class HandlerSettings(StrictSchema):
    """``[handlers]``: extra handler modules to load, besides the built-ins and entry points.

    For a company's own handlers that are not packaged with an entry point (and for tests):
    each entry is an importable module name whose ``@on``/``@periodic`` functions register.
    """

    config = HandlerConfig

    modules = fields.List(fields.String(), load_default=list)


def build_registry(settings: Settings) -> HookRegistry:
    """Built-in handlers + ``[handlers].modules`` + the ``whmcs_bridge.hooks`` entry points."""
    return load_registry(builtins=[*BUILTIN_MODULES, *settings.handlers.modules])


def make_worker_id() -> str:
    """Unique per process run, readable in ``events`` rows: ``host:pid:random``."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _load_data(event_type: str, data: Any) -> dict[str, Any]:
    """The validated, coerced ``$vars``, through the same schemas the receiver applied."""
    return load_event_data(event_type, data if data is not None else {})


def to_event(claimed: inbox.ClaimedEvent) -> Event:
    """Build what handlers receive from a stored envelope; raises ValidationError on bad data."""
    payload = claimed.payload if isinstance(claimed.payload, dict) else {}
    return Event(
        id=claimed.id,
        type=claimed.type,
        data=_load_data(claimed.type, payload.get("data")),
        timestamp=_parse_time(payload.get("timestamp")),
        received_at=claimed.received_at,
        redactions=tuple(r for r in payload.get("redactions") or () if isinstance(r, dict)),
    )


def describe(exc: BaseException) -> str:
    """``Type: message`` with secrets scrubbed: what goes into ``last_error`` columns."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return scrub(text)[: inbox.MAX_ERROR_CHARS]


class Worker:
    """One worker loop. Create one per process; not shared between threads."""

    def __init__(self, settings: Settings, engine: Engine, registry: HookRegistry | None = None,
                 *, worker_id: str | None = None, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None, services: Services | None = None,
                 run_jobs: bool = True) -> None:
        self.settings = settings
        self.engine = engine
        self.registry = registry if registry is not None else build_registry(settings)
        self.worker_id = worker_id or make_worker_id()
        self.clock = clock
        self.rng = rng or random.Random()
        self.services = services or Services(settings)
        self.run_jobs_enabled = run_jobs
        self.conf = settings.worker
        self.stats = {"events": 0, "done": 0, "failed": 0, "dead": 0, "jobs": 0}
        self._stop = threading.Event()
        self._job_next_check: dict[str, datetime] = {}
        self._last_heartbeat = time.monotonic()
        #: The WHMCS refusal (an ``AuthenticationError``) that stopped this worker, if any.
        self.refused: Exception | None = None
        self.writes = Sender(engine, settings, whmcs=lambda: self.services.whmcs, clock=clock,
                             rng=self.rng)

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Ask the loop to finish the running handler and return (signal-handler safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _stop_if_refused(self, exc: Exception) -> bool:
        """Stop at WHMCS's first refusal of the credential (True when ``exc`` is one).

        Every later WHMCS call would be refused too (the shared client no longer calls), so
        going on would only burn the events' attempts into dead letters; and a restarted
        worker would log in once more, towards WHMCS's IP ban after 3 failures. The event in
        hand is handed back uncounted; it runs once the credential is fixed."""
        if not getattr(exc, "auth_failure", False):
            return False
        if self.refused is None:
            from whmcs_bridge.api.errors import refusal_line

            self.refused = exc
            log.error("worker stopping: %s", refusal_line(exc))  # type: ignore[arg-type]
        self.stop()
        return True

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop gracefully instead of killing a handler mid-transaction."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def run(self, *, once: bool = False) -> None:
        """Loop until stopped; ``once``: until nothing is due (retries later are not waited for)."""
        log.info("worker started", extra={"worker_id": self.worker_id,
                                          "handlers": sum(1 for _ in
                                                          self.registry.all_handlers()),
                                          "jobs": len(self.registry.jobs())})
        db_errors = 0
        while not self.stopping:
            try:
                if self.run_jobs_enabled:
                    self.run_due_jobs()
                claimed = self.run_batch()
                db_errors = 0
            except DBAPIError as exc:  # database restarting, network blip: wait and retry
                db_errors += 1
                log.error("worker database error, retrying", extra={"error": describe(exc)})
                self._stop.wait(min(30.0, self.conf.poll_interval_seconds * 2 ** db_errors))
                continue
            self._heartbeat()
            if once and claimed == 0:
                break
            if claimed == 0:
                self._stop.wait(self.conf.poll_interval_seconds)
        log.info("worker stopped", extra={"worker_id": self.worker_id, **self.stats})

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._last_heartbeat = time.monotonic()
            log.info("worker heartbeat", extra={"worker_id": self.worker_id, **self.stats})

    # ------------------------------------------------------------------ events

    def run_batch(self) -> int:
        """Claim and process one batch; returns how many events were claimed.

        One connection is held for the batch: every handler transaction reuses it.
        """
        with self.engine.connect() as conn:
            claimed = self._run_batch(conn)
        self.send_writes()
        return claimed

    def send_writes(self) -> None:
        """Send the WHMCS writes that are due, after the batch committed and with no
        transaction open; a database error goes to the run loop, anything else is logged
        (the rows stay queued)."""
        try:
            report = self.writes.run_once(self.clock())
        except DBAPIError:
            raise
        except Exception as exc:
            log.error("sending WHMCS writes failed", extra={"error": describe(exc)})
            return
        if isinstance(report.refused, Exception):  # the pass handed its writes back
            self._stop_if_refused(report.refused)
        if report.claimed:
            log.info("WHMCS writes sent", extra={
                "claimed": report.claimed, "sent": report.sent, "deduped": report.deduped,
                "failed": report.failed, "dead": report.dead, "held": report.held})

    def _run_batch(self, conn: Connection) -> int:
        lease = float(self.conf.lease_seconds)
        batch = inbox.claim(conn, worker_id=self.worker_id, now=self.clock(),
                            limit=self.conf.batch_size, lease_seconds=lease)
        if not batch:
            return 0
        succeeded = inbox.succeeded_handlers(self.engine, [e.id for e in batch])
        lease_until = self.clock() + timedelta(seconds=lease)
        done: list[str] = []
        for index, claimed in enumerate(batch):
            if self.stopping:
                inbox.release(conn, [e.id for e in batch[index:]],
                              worker_id=self.worker_id, now=self.clock())
                break
            if self.clock() >= lease_until - timedelta(seconds=lease / 2):
                lease_until = self.clock() + timedelta(seconds=lease)
                inbox.extend_lease(conn, [e.id for e in batch[index:]],
                                   worker_id=self.worker_id, now=self.clock(),
                                   lease_seconds=lease)
            outcome = self.process(claimed, succeeded.get(claimed.id, set()), conn)
            if outcome == "done":
                done.append(claimed.id)
            elif outcome == "stopped":
                inbox.release(conn, [e.id for e in batch[index:]],
                              worker_id=self.worker_id, now=self.clock())
                break
        inbox.mark_done(conn, done, worker_id=self.worker_id, now=self.clock())
        self.stats["events"] += len(batch)
        self.stats["done"] += len(done)
        return len(batch)

    def process(self, claimed: inbox.ClaimedEvent, already: set[str],
                conn: Connection | None = None) -> str:
        """Run the event's pending handlers; returns ``done``, ``failed``, ``dead`` or
        ``stopped``. Failed and dead events are settled here; done ones by the caller."""
        bind = conn if conn is not None else self.engine
        try:
            event = to_event(claimed)
        except ValidationError as exc:
            # The stored data no longer loads (schemas changed since it was received): no
            # retry can fix that, so dead-letter it for a human (``events replay`` later).
            return self._settle_failure(bind, claimed, [f"invalid data: {exc.messages}"],
                                        permanent=True)
        errors: list[str] = []
        for spec in self.registry.handlers_for(claimed.type):
            if spec.name in already:
                continue
            if self.stopping:
                return "stopped"
            error = self.run_handler(event, spec, bind)
            if error is not None:
                errors.append(f"{spec.name}: {error}")
        if self.refused is not None:
            return "stopped"  # handed back uncounted: WHMCS refused us, not this event
        if errors:
            return self._settle_failure(bind, claimed, errors)
        return "done"

    def run_handler(self, event: Event, spec: HandlerSpec,
                    bind: inbox.Bind | None = None) -> str | None:
        """One transaction: the handler's effects + its ``succeeded`` outcome. Returns the
        error text when it failed (recorded as a ``failed`` outcome), else None."""
        bind = bind if bind is not None else self.engine
        now = self.clock()
        try:
            extra: dict[str, Any] = {}
            if spec.prepare is not None:  # WHMCS reads, before the transaction opens
                extra["prepared"] = spec.prepare(event, PrepareContext(
                    settings=self.settings, now=now, services=self.services))
            with inbox.transaction(bind) as conn:
                if not inbox.claim_outcome(conn, event.id, spec.name, now=now):
                    return None  # succeeded meanwhile (another worker after a lease expiry)
                spec.func(event, HandlerContext(settings=self.settings, conn=conn, now=now,
                                                services=self.services, event=event,
                                                extra=extra))
        except Exception as exc:
            error = describe(exc)
            if not self._stop_if_refused(exc):
                log.warning("handler failed", extra={
                    "event_id": event.id, "event_type": event.type, "handler": spec.name,
                    "error": error})
                log.debug("handler traceback", exc_info=True)  # opt-in: messages may hold data
            inbox.record_failure(bind, event.id, spec.name, error=error, now=self.clock())
            return error
        return None

    def _settle_failure(self, bind: inbox.Bind, claimed: inbox.ClaimedEvent,
                        errors: Sequence[str], *, permanent: bool = False) -> str:
        error = "; ".join(errors)
        now = self.clock()
        with inbox.transaction(bind) as conn:
            if permanent or claimed.attempts >= self.conf.max_attempts:
                if inbox.mark_dead(conn, claimed.id, worker_id=self.worker_id, error=error,
                                   now=now):
                    self._notify_dead(conn, claimed, error, now)
                    log.error("event dead-lettered",
                              extra={"event_id": claimed.id, "event_type": claimed.type,
                                     "attempts": claimed.attempts, "error": error})
                self.stats["dead"] += 1
                return "dead"
            delay = backoff_seconds(claimed.attempts, base=self.conf.backoff_base_seconds,
                                    cap=self.conf.backoff_max_seconds, rng=self.rng)
            inbox.mark_failed(conn, claimed.id, worker_id=self.worker_id, error=error,
                              retry_at=now + timedelta(seconds=delay))
        self.stats["failed"] += 1
        log.info("event will be retried", extra={"event_id": claimed.id,
                                                  "attempts": claimed.attempts,
                                                  "retry_in_seconds": round(delay, 3)})
        return "failed"

    def _notify_dead(self, conn: Any, claimed: inbox.ClaimedEvent, error: str,
                     now: datetime) -> None:
        """Queue the ``dead_letter`` notification in the same transaction; its failure never
        keeps the event from dying."""
        dedupe_key = f"dead_letter:{claimed.id}:{now.isoformat()}"
        if len(dedupe_key) > 255:  # event ids may be long; the outbox key column is not
            dedupe_key = "dead_letter:" + hashlib.sha256(dedupe_key.encode()).hexdigest()
        try:
            with conn.begin_nested():
                notify_outbox.enqueue(
                    conn, notification="dead_letter",
                    payload={"event_id": claimed.id, "event_type": claimed.type,
                             "attempts": claimed.attempts, "last_error": error},
                    dedupe_key=dedupe_key, now=now, settings=self.settings)
        except Exception as exc:
            log.error("could not queue dead_letter notification",
                      extra={"event_id": claimed.id, "error": describe(exc)})

    # ------------------------------------------------------------------ periodic jobs

    def run_due_jobs(self) -> int:
        """Run every job that is due and not running elsewhere; returns how many ran."""
        ran = 0
        for job in self.registry.jobs():
            if self.stopping:
                break
            now = self.clock()
            if now < self._job_next_check.get(job.name, now):
                continue
            if self.run_job(job, now):
                ran += 1
                self._job_next_check[job.name] = now + timedelta(seconds=job.every_seconds)
            else:
                recheck = min(job.every_seconds, JOB_RECHECK_SECONDS)
                self._job_next_check[job.name] = now + timedelta(seconds=recheck)
        return ran

    def run_job(self, job: JobSpec, now: datetime) -> bool:
        """Run ``job`` if its cluster-wide lease can be taken; False when it was not."""
        started = job_runs.try_start(self.engine, job.name, now=now,
                                     every_seconds=job.every_seconds,
                                     lease_seconds=self.conf.lease_seconds)
        if started is None:
            return False
        error = None
        try:
            job.func(JobContext(settings=self.settings, engine=self.engine, now=now,
                                services=self.services))
        except Exception as exc:
            error = describe(exc)
            if not self._stop_if_refused(exc):
                log.error("periodic job failed", extra={"job": job.name, "error": error})
                log.debug("periodic job traceback", exc_info=True)
        job_runs.finish(self.engine, job.name, started_at=started, now=self.clock(),
                        error=error)
        self.stats["jobs"] += 1
        return True
