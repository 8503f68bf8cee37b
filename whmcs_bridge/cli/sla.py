"""``whmcs-bridge sla sweep`` and ``whmcs-bridge sla report``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from whmcs_bridge.cli.base import CliState, Failed, pass_state
from whmcs_bridge.cli.output import local_time, table
from whmcs_bridge.tickets import escalate, golive, store
from whmcs_bridge.tickets.escalate import backlog_ids, backlog_list_url
from whmcs_bridge.tickets.escalation_text import describe
from whmcs_bridge.tickets.report import compliance, to_csv, to_table


@click.group("sla")
def sla_group() -> None:
    """The priority SLA: sweep and compliance report."""


@sla_group.command("sweep")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.option("--dry-run", is_flag=True,
              help="Print what the sweep would do; write nothing, call nothing.")
@pass_state
def sweep_cmd(state: CliState, as_json: bool, dry_run: bool) -> None:
    """Re-evaluate open tickets and run due escalations (the worker does this every minute)."""
    result = escalate.sweep(state.engine, state.settings, state.runtime.services,
                            dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        states = ", ".join(f"{k} {v}" for k, v in sorted(result.states.items())) or "none open"
        verb = "would run" if dry_run else "ran"
        click.echo(f"{'dry run: ' if dry_run else ''}evaluated {result.evaluated} open "
                   f"ticket(s): {states}; {verb} {len(result.actions)} escalation action(s)")
        for t, trig, act, out in result.actions:
            click.echo(f"  ticket {t}: "
                       + describe({"trigger": trig, "action": act, "outcome": out}, "en"))
        if result.withheld:
            tickets = len({t for t, _, _ in result.withheld})
            click.echo(f"{'would withhold' if dry_run else 'withheld'} "
                       f"{len(result.withheld)} action(s) on {tickets} ticket(s) whose "
                       f"threshold was crossed before go-live "
                       f"({local_time(result.go_live_at, state.settings.tz)})")
        if result.backlog_summary:
            click.echo(f"queued one summary for staff: {result.backlog_summary} ticket(s) "
                       "were already overdue at go-live")
    if result.failed:
        raise Failed(f"escalation failed for {len(result.failed)} ticket(s): "
                     f"{result.failed[0][1]}")


@sla_group.command("go-live")
@click.option("--set", "set_to", metavar="WHEN",
              help="Record a new go-live time: 'now', YYYY-MM-DD or ISO 8601 "
                   "(UTC unless it has an offset).")
@click.option("--list", "list_backlog", is_flag=True,
              help="List the tickets that were already overdue at go-live.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def go_live_cmd(state: CliState, set_to: str | None, list_backlog: bool, as_json: bool) -> None:
    """Show (or set) the go-live time: thresholds crossed before it get no escalation."""
    with state.engine.begin() as conn:
        if set_to is not None:
            now = datetime.now(UTC)
            at = now if set_to == "now" else _when(set_to, "--set", now)
            golive.record(conn, at.astimezone(UTC), golive.BY_ADMIN, replace=True)
        current = golive.effective(conn, state.settings)
        ids = backlog_ids(conn)
        rows = [r for r in (store.get_ticket(conn, i) for i in ids) if r] if list_backlog else []
    if set_to is not None and golive.setting(state.settings) is not None:
        click.echo("note: escalation.go_live_at is set and takes precedence", err=True)
    report: dict[str, Any] = {"go_live_at": current.at.isoformat() if current else None,
              "source": current.source if current else None, "overdue_at_go_live": len(ids),
              "list_url": backlog_list_url(state.settings)}
    if list_backlog:
        report["tickets"] = [{"ticket_id": r.id, "tid": r.tid, "subject": r.subject,
                              "status": r.status, "department_id": r.department_id}
                             for r in rows]
    if as_json:
        click.echo(json.dumps(report))
        return
    if current is None:
        click.echo("go-live: not recorded yet (the first `whmcs-bridge sync` records it)")
    else:
        click.echo(f"go-live: {local_time(current.at, state.settings.tz)} "
                   f"({state.settings.timezone}; "
                   f"{current.source}); {len(ids)} ticket(s) were already overdue then")
    if rows:
        for line in table(["TICKET", "ID", "STATUS", "SUBJECT"],
                          [[f"#{r.tid}", r.id, r.status, (r.subject or "")[:60]] for r in rows]):
            click.echo("  " + line)


def _when(value: str | None, param: str, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(value)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        dt.astimezone(UTC)  # "0001-01-01T00:00+01:00" has no UTC time: the query would overflow
    except (ValueError, OverflowError):
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time",
                                 param_hint=param) from None
    return dt


@sla_group.command("report")
@click.option("--since", help="Start (YYYY-MM-DD or ISO 8601; default 30 days ago).")
@click.option("--until", help="End, exclusive (default now).")
@click.option("--by", type=click.Choice(["priority", "department", "channel"]),
              default="priority", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_state
def report_cmd(state: CliState, since: str | None, until: str | None, by: str,
               fmt: str, as_json: bool) -> None:
    """First-reply compliance: met %, breached, median and p90 reply time per group."""
    fmt = "json" if as_json else fmt

    now = datetime.now(UTC)
    start = _when(since, "--since", now - timedelta(days=30))
    end = _when(until, "--until", now)
    if end <= start:
        raise click.BadParameter("must be after --since", param_hint="--until")
    with state.engine.connect() as conn:
        rows = compliance(conn, state.settings, since=start, until=end, by=by, now=now)
    if fmt == "json":
        click.echo(json.dumps({"since": start.isoformat(), "until": end.isoformat(), "by": by,
                               "groups": [r.as_dict() for r in rows]}))
    elif fmt == "csv":
        click.echo(to_csv(rows), nl=False)
    else:
        tz = state.settings.tz
        window = f"{local_time(start, tz)} to {local_time(end, tz)}"
        click.echo(f"first-reply compliance of tickets opened {window} "
                   f"({state.settings.timezone}), by {by}; all departments")
        click.echo(to_table(rows, by))


commands = [sla_group]
