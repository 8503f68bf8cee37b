"""Core commands: ``db upgrade`` and ``hooks list``."""

from __future__ import annotations

import json

import click

from whmcs_bridge.cli.base import CliState, pass_state
from whmcs_bridge.store import current_heads, upgrade
from whmcs_bridge.store.engine import check_connection


@click.group("db")
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: CliState) -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    check_connection(state.engine)
    upgrade(state.engine)
    click.echo(f"database at {', '.join(sorted(current_heads(state.engine)))}")


@click.group("hooks")
def hooks_group() -> None:
    """The hook registry."""


@hooks_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def hooks_list(state: CliState, as_json: bool) -> None:
    """Show every hook name with its handlers, in the order they run (built-in handlers,
    ``[handlers].modules`` from settings, and installed entry points)."""
    registry = state.runtime.registry
    rows = [
        {"hook": h.hook, "priority": h.priority, "handler": h.name}
        for h in registry.all_handlers()
    ]
    jobs = [{"job": j.name, "every_seconds": j.every_seconds} for j in registry.jobs()]
    if as_json:
        click.echo(json.dumps({"handlers": rows, "jobs": jobs}, indent=2))
        return
    current = None
    for row in rows:
        if row["hook"] != current:
            current = row["hook"]
            click.echo(current)
        click.echo(f"  {row['priority']:>4}  {row['handler']}")
    for job in jobs:
        click.echo(f"job {job['job']} every {job['every_seconds']:g}s")


commands = [db, hooks_group]
