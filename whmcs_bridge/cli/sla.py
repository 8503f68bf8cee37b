"""``whmcs-bridge sla sweep`` and ``whmcs-bridge sla report``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import click

from whmcs_bridge.cli import CliState, Failed, pass_state


@click.group("sla")
def sla_group() -> None:
    """The priority SLA: sweep and compliance report."""


@sla_group.command("sweep")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_state
def sweep_cmd(state: CliState, as_json: bool) -> None:
    """Re-evaluate open tickets and run due escalations (the worker does this every minute)."""
    from whmcs_bridge.context import Services
    from whmcs_bridge.tickets.escalate import sweep

    result = sweep(state.engine, state.settings, Services(state.settings))
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        states = ", ".join(f"{k} {v}" for k, v in sorted(result.states.items())) or "none open"
        click.echo(f"evaluated {result.evaluated} open ticket(s): {states}; "
                   f"{len(result.actions)} escalation action(s)")
        for t, trig, act, out in result.actions:
            click.echo(f"  ticket {t}: {trig} {act} {out}")
    if result.failed:
        raise Failed(f"escalation failed for {len(result.failed)} ticket(s): "
                     f"{result.failed[0][1]}")


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
@pass_state
def report_cmd(state: CliState, since: str | None, until: str | None, by: str,
               fmt: str) -> None:
    """First-reply compliance: met %, breached, median and p90 reply time per group."""
    from whmcs_bridge.tickets.report import compliance, to_csv, to_table

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
        click.echo(to_table(rows, by))


commands = [sla_group]
