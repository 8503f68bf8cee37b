"""Running commands: ``serve``, ``worker``, ``events list|replay`` and ``doctor``."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from whmcs_bridge import doctor as checks
from whmcs_bridge.api.errors import refusal_line
from whmcs_bridge.cli.base import CliState, Failed, WhmcsRefused, pass_state
from whmcs_bridge.cli.output import local_time, table
from whmcs_bridge.digits import is_digits
from whmcs_bridge.runtime import build_app
from whmcs_bridge.server import WORKER_ARGV, BridgeServer, WorkerProcess, gunicorn_options
from whmcs_bridge.settings import SUPERVISOR_ENV, SettingsError
from whmcs_bridge.store import is_current, upgrade
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.store.engine import check_connection
from whmcs_bridge.store.inbox import ReplayRefused, list_events, replay, replay_dead
from whmcs_bridge.worker import Worker

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

log = logging.getLogger(__name__)


def ensure_schema(state: CliState, *, upgrade_sqlite: bool) -> None:
    """Refuse to run on an outdated schema; ``serve`` on SQLite upgrades it by itself."""
    engine = state.engine
    check_connection(engine)  # a refusal: one line naming database.url and why (exit 2)
    current = is_current(engine)
    if current:
        return
    if upgrade_sqlite and engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    raise Failed("database schema is outdated: run `whmcs-bridge db upgrade` first")


def require_webhook_secret(settings: Settings) -> None:
    """``serve`` without a webhook secret would refuse every event: refuse to start instead."""
    if not settings.webhooks.secrets:
        raise SettingsError("webhooks.secrets: not set, so every event from WHMCS would be "
                            "refused; run `whmcs-bridge init` or set WHMCS_BRIDGE_WEBHOOK_SECRET "
                            "(the demo needs none: `whmcs-bridge demo`)")


def _registry(state: CliState) -> Any:
    try:
        return state.runtime.registry
    except (ImportError, ValueError) as exc:
        raise Failed(f"handlers: {exc}") from None


@click.command("serve")
@click.option("--host", help="Listen address (default: server.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen port (default: server.port).")
@click.option("--workers", type=click.IntRange(1, 256),
              help="Web worker processes (default: server.workers, 0 = one per core).")
@click.option("--no-worker", is_flag=True,
              help="Web only: run `whmcs-bridge worker` elsewhere (scale-out).")
@pass_state
def serve(state: CliState, host: str | None, port: int | None, workers: int | None,
          no_worker: bool) -> None:
    """Run the receiver and APIs under gunicorn, with an event worker process."""
    # gevent has patched this process already: whmcs_bridge.cli.main does it for serve

    settings = state.settings
    require_webhook_secret(settings)
    ensure_schema(state, upgrade_sqlite=True)
    if not no_worker:
        _registry(state)  # a broken handler module fails here, in one line, not in a loop
    state.engine.dispose()  # no pooled connection may cross gunicorn's fork
    options = gunicorn_options(
        host=host or settings.server.host,
        port=settings.server.port if port is None else port,
        workers=workers or settings.server.workers,
        log_level=settings.log.level,
    )
    worker_process = None
    if not no_worker:
        env = dict(os.environ)
        if state.config_path:
            env["WHMCS_BRIDGE_CONFIG"] = os.path.abspath(state.config_path)
        env[SUPERVISOR_ENV] = str(os.getpid())
        worker_process = WorkerProcess(WORKER_ARGV, env)
    # each web worker builds its own runtime after the fork (engine, HTTP sessions)
    BridgeServer(lambda: build_app(settings), options, worker_process).run()


def watch_supervisor(supervisor_pid: int, stop: Callable[[], None],
                     interval: float = 1.0) -> threading.Thread:
    """Stop gracefully once the ``serve`` process that started us is gone.

    Under systemd the whole cgroup is stopped anyway; this covers a master killed by hand
    (SIGKILL does not reach children), which would otherwise leave an orphan worker running.
    """

    def watch() -> None:
        while os.getppid() == supervisor_pid:
            time.sleep(interval)
        log.warning("serve (pid %d) is gone; worker stopping", supervisor_pid)
        stop()

    thread = threading.Thread(target=watch, name="supervisor-watch", daemon=True)
    thread.start()
    return thread


@click.command("worker")
@click.option("--once", is_flag=True, help="Process what is due now, then exit.")
@click.option("--no-jobs", is_flag=True, help="Do not run the periodic jobs in this worker.")
@pass_state
def worker(state: CliState, once: bool, no_jobs: bool) -> None:
    """Process stored events with the registered hook handlers (and periodic jobs)."""
    ensure_schema(state, upgrade_sqlite=False)
    loop = Worker(state.settings, state.engine, _registry(state), run_jobs=not no_jobs)
    loop.install_signal_handlers()
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor and is_digits(supervisor):
        watch_supervisor(int(supervisor), loop.stop)
    loop.run(once=once)
    if loop.refused is not None:
        raise WhmcsRefused(f"worker stopped: {refusal_line(loop.refused)}")  # type: ignore[arg-type]
    if once:
        click.echo(f"processed {loop.stats['events']} events: {loop.stats['done']} done, "
                   f"{loop.stats['failed']} to retry, {loop.stats['dead']} dead")


@click.group("events")
def events_group() -> None:
    """The events inbox."""


STATUSES = ["pending", "processing", "done", "failed", "dead", "ignored"]


@events_group.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only these statuses (repeatable).")
@click.option("--type", "types", multiple=True, help="Only these hook names (repeatable).")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def events_list(state: CliState, statuses: tuple[str, ...], types: tuple[str, ...],
                limit: int, as_json: bool) -> None:
    """Show stored events, newest first."""
    ensure_schema(state, upgrade_sqlite=False)
    rows = list_events(state.engine, statuses=statuses, types=types, limit=limit)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo("no events")
        return
    tz = state.settings.tz
    for line in table(["RECEIVED", "STATUS", "TRIES", "TYPE", "ID", "ERROR"], [
            [local_time(r.received_at, tz), r.status, r.attempts, r.type, r.id,
             r.last_error[:120] if r.status in ("failed", "dead") and r.last_error else ""]
            for r in rows]):
        click.echo(line)


@events_group.command("replay")
@click.argument("event_ids", nargs=-1, metavar="[EVENT_ID]...")
@click.option("--dead", is_flag=True, help="Replay every dead-lettered event.")
@pass_state
def events_replay(state: CliState, event_ids: tuple[str, ...], dead: bool) -> None:
    """Queue events again; handlers that already succeeded on them do not run again."""
    if bool(event_ids) == dead:
        raise click.UsageError("give event ids or --dead (not both)")
    ensure_schema(state, upgrade_sqlite=False)
    if dead:
        count = replay_dead(state.engine, now=utcnow())
        click.echo(f"{count} dead events queued again")
        return
    refused = []
    for event_id in dict.fromkeys(event_ids):  # each once, in the order given
        try:
            replay(state.engine, event_id, now=utcnow())
        except ReplayRefused as exc:
            refused.append(str(exc))
            continue
        click.echo(f"event {event_id} queued again")
    if refused:  # the others were queued: say which were not, exit 1
        raise Failed("; ".join(refused))


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def doctor(state: CliState, as_json: bool) -> None:
    """Check settings, database, queue, the addon module's last call and WHMCS reachability."""
    results = checks.run_checks(state.settings, state.engine)
    report = checks.as_json(results)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for c in results:
            click.echo(f"{c.state:<4}  {c.name:<9} {c.summary}")
            if c.name == "settings":
                for key, value in c.details.items():
                    click.echo(f"{'':<15} {key}: {value}")
    if not report["ok"]:
        raise Failed("some checks failed")


commands = [serve, worker, events_group, doctor]
