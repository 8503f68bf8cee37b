"""``whmcs-bridge sync``, ``tickets show`` and ``tickets log-call``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.api.errors import AuthenticationError, WhmcsError, refusal_line
from whmcs_bridge.cli.base import WHMCS_ID, CliState, Failed, pass_state
from whmcs_bridge.cli.output import local_time
from whmcs_bridge.digits import MAX_ID, as_id
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.sync import DEFAULT_CONCURRENCY, run_sync
from whmcs_bridge.ticket_view import enrich
from whmcs_bridge.tickets.calls import log_call as do_log_call
from whmcs_bridge.tickets.escalation_text import describe
from whmcs_bridge.tickets.tables import tickets

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings


def whmcs_client(settings: Settings) -> Any:
    """The API client from settings; a missing setting is a settings error (exit 2)."""
    try:
        return WhmcsClient.from_settings(settings)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


class _Bars:
    """One click progress bar per sync phase, shown only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, phase: str, n: int, total: int | None) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(phase)
        if bar is None:
            for other in self.bars.values():
                other.render_finish()
            label = {"listing": "listing tickets", "fetching": "reading tickets"}[phase]
            bar = click.progressbar(length=total or 0, label=label, file=sys.stderr)
            bar.__enter__()
            self.bars[phase] = bar
        if n:
            bar.update(n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.__exit__(None, None, None)


@click.command("sync")
@click.option("--full", is_flag=True, help="Re-read every ticket, not only changed ones.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=None,
              help="Parallel WHMCS requests (default 4).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@pass_state
def sync(state: CliState, full: bool, concurrency: int | None, as_json: bool) -> None:
    """Bring the store's tickets up to date from the WHMCS API (resumes an interrupted run)."""
    client = whmcs_client(state.settings)
    bars = _Bars(sys.stderr.isatty() and not as_json)
    try:
        summary = run_sync(state.engine, state.settings, client, full=full,
                           concurrency=concurrency or DEFAULT_CONCURRENCY, progress=bars)
    except AuthenticationError as exc:
        raise Failed(f"sync stopped: {refusal_line(exc)}") from None
    except WhmcsError as exc:
        raise Failed(f"sync interrupted: {exc}; run it again to resume") from None
    finally:
        bars.close()
        client.close()
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        click.echo(f"{summary.mode} sync{' (resumed)' if summary.resumed else ''}: "
                   f"listed {summary.listed}, fetched {summary.fetched}, "
                   f"changed {summary.changed}, failed {summary.failed} "
                   f"in {summary.duration:.1f}s")
    if summary.failed:
        raise Failed(f"{summary.failed} ticket(s) could not be read; they stay pending for "
                     "the next sync")


@click.group("tickets")
def tickets_group() -> None:
    """Tickets as the bridge sees them."""


def resolve_ticket(conn: Any, ref: str) -> int | None:
    """A ticket reference as staff give it: WHMCS's id, or the ticket number they see
    (``#ABC-123456``, ``123456``). An all-digit reference is the id when such a ticket is
    stored, else a ticket number."""

    ref = ref.strip().lstrip("#")
    ident = as_id(ref)
    if ident is not None and conn.execute(select(tickets.c.id).where(
            tickets.c.id == ident)).first():
        return ident
    found = conn.execute(select(tickets.c.id).where(tickets.c.tid == ref)).scalar()
    if found is None and not ident and ref.lstrip("+-").isdigit():
        # a number that cannot be an id (0, negative, past 32 bits) and is no ticket number
        raise click.BadParameter(f"{ref} is not a ticket id (1..{MAX_ID}) or ticket number",
                                 param_hint="TICKET_ID")
    return found


@tickets_group.command("show")
@click.argument("ticket", metavar="TICKET_ID")
@click.option("--json", "as_json", is_flag=True, help="The staff API JSON.")
@pass_state
def show(state: CliState, ticket: str, as_json: bool) -> None:
    """Show a ticket (its id, or the ticket number staff see) with its SLA state,
    verification and escalations."""
    with state.engine.connect() as conn:
        ticket_id = resolve_ticket(conn, ticket)
        data = None if ticket_id is None else enrich(conn, ticket_id, settings=state.settings,
                                                     now=datetime.now(UTC))
    if data is None:
        raise Failed(f"ticket {ticket} is not in the store (run: whmcs-bridge sync)")
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    sla = data["sla"]
    tz = state.settings.tz

    def local(value: str | None) -> str:
        return local_time(value, tz)
    click.echo(f"#{data['id']} {data['tid']}  {data['subject']}")
    click.echo(f"  {data['priority']} ({data['level']}), {data['status']}, department "
               f"{data['department_id']}, client {data['client_id']}, channel {data['channel']}")
    target = f"{sla['target_minutes']} min" if sla["target_minutes"] is not None else "none"
    click.echo(f"  SLA {sla['state']}: target {target}, opened "
               f"{local(sla['opened_at'])}, first reply due {local(sla['first_response_due_at'])}"
               f", answered {local(sla['first_response_at'])}")
    if sla["next_response_due_at"]:
        click.echo(f"  next reply due {local(sla['next_response_due_at'])}")
    if sla["remaining_seconds"] is not None:
        click.echo(f"  remaining {sla['remaining_seconds'] // 60} min")
    v = data["verification"]
    click.echo(f"  verification {v['state']}" + (f" ({v['method']})" if v["method"] else ""))
    for e in data["escalations"]:
        click.echo(f"  escalation {local(e['at'])}: {describe(e, 'en')}")


@tickets_group.command("log-call")
@click.option("--client", "client_id", type=WHMCS_ID, required=True, help="WHMCS client id.")
@click.option("--subject", required=True)
@click.option("--message", required=True, help="What the caller needs.")
@click.option("--priority", type=click.Choice(["Low", "Medium", "High"]), default="Medium",
              show_default=True)
@click.option("--department", "department_id", type=WHMCS_ID, default=None,
              help="Default: channels.technical_department_id.")
@pass_state
def log_call(state: CliState, client_id: int, subject: str, message: str, priority: str,
             department_id: int | None) -> None:
    """Record a phone call as a ticket opened on the customer's behalf (channel: phone)."""
    dept = department_id or state.settings.channels.technical_department_id
    if not dept:
        raise SettingsError("channels.technical_department_id is not set (or pass --department)")
    if not subject.strip() or not message.strip():
        raise click.UsageError("--subject and --message must not be empty")
    client = whmcs_client(state.settings)
    try:
        opened = do_log_call(state.engine, client, client_id=client_id, department_id=dept,
                             subject=subject, message=message, priority=priority,
                             now=datetime.now(UTC))
    except WhmcsError as exc:
        raise Failed(str(exc)) from None
    finally:
        client.close()
    click.echo(f"opened ticket #{opened.id} ({opened.tid}) for client {client_id} "
               f"in department {dept}, channel phone")


commands = [sync, tickets_group]
