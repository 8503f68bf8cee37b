"""Notification commands: ``notify test|deliver`` and ``outbox list|replay``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from whmcs_bridge.cli import WHMCS_ID, CliState, Failed, pass_state
from whmcs_bridge.cli.output import local_time, table


def _whmcs_factory(state: CliState) -> Any:
    def make() -> Any:
        from whmcs_bridge.api import WhmcsClient

        try:
            return WhmcsClient.from_settings(state.settings)
        except ValueError as exc:  # whmcs.url / credentials missing
            raise Failed(f"WHMCS API: {exc}") from None
    return make


def _schema(state: CliState) -> None:
    """One clear line instead of an SQL error when ``db upgrade`` has not been run."""
    from whmcs_bridge.cli.worker import ensure_schema

    ensure_schema(state, upgrade_sqlite=False)


@click.group("notify")
def notify_group() -> None:
    """Notification channels."""


@notify_group.command("test")
@click.argument("channel")
@click.option("--to", "to", help="Recipient address (smtp; default: the first staff member).")
@click.option("--client", "client_id", type=WHMCS_ID, help="Client id (customer channel).")
@click.option("--language", type=click.Choice(["vi", "en"]), help="Message language.")
@pass_state
def notify_test(state: CliState, channel: str, to: str | None, client_id: int | None,
                language: str | None) -> None:
    """Send a test message through CHANNEL now (not through the outbox)."""
    from whmcs_bridge.notify import channels as ch
    from whmcs_bridge.notify import recipients, render

    cfg = state.settings.notifications
    built = ch.build(cfg, _whmcs_factory(state))
    if channel not in built:
        known = ", ".join(sorted(built))
        raise click.UsageError(f"channel {channel!r} is not configured (configured: {known})")
    lang = language or cfg["default_language"]
    if channel == "smtp":
        to = to or (cfg["staff"][0]["email"] if cfg["staff"] else None)
        if not to:
            raise click.UsageError("smtp test needs --to or a notifications.staff entry")
    if channel == "customer" and not client_id:
        raise click.UsageError("customer test needs --client ID")
    variables = {"channel": channel, "lang": lang}
    message = ch.Outgoing(notification="test",
                          rendered=render.render("test", variables, language=lang),
                          recipient=to or channel,
                          msg_id=f"notify-test-{int(datetime.now(UTC).timestamp())}",
                          payloads=[{"channel": channel}])
    try:
        if channel == "customer":
            customer = recipients.lookup(_whmcs_factory(state)(), int(client_id or 0),
                                         default_language=cfg["default_language"])
            how = built["customer"].send_to(message, customer)
            click.echo(f"test message sent to client {client_id} via {how}")
            return
        built[channel].send(message)
    except ch.DeliveryError as exc:
        raise Failed(str(exc)) from None
    click.echo(f"test message sent via {channel}" + (f" to {to}" if channel == "smtp" else ""))


@notify_group.command("deliver")
@pass_state
def notify_deliver(state: CliState) -> None:
    """Run one delivery pass now (the worker does this every few seconds)."""
    from whmcs_bridge.notify.deliver import deliver_due

    _schema(state)
    report = deliver_due(state.engine, state.settings, now=datetime.now(UTC),
                         whmcs=_whmcs_factory(state))
    click.echo(f"claimed {report.claimed}, sent {report.sent} in {report.messages} "
               f"message(s), failed {report.failed}, dead {report.dead}, held {report.held}")


@click.group("outbox")
def outbox_group() -> None:
    """The notifications outbox: what was sent, what failed, what is dead."""


def _row(r: dict[str, Any]) -> dict[str, Any]:
    out = {k: r[k] for k in ("id", "notification", "channel", "recipient", "status",
                             "attempts", "last_error", "dedupe_key", "digest_id")}
    for k in ("next_attempt_at", "created_at", "sent_at"):
        out[k] = r[k].isoformat() if r[k] else None
    return out


@outbox_group.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "failed", "sent", "dead"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def outbox_list(state: CliState, status: str | None, limit: int, as_json: bool) -> None:
    """Deliveries, newest first."""
    from whmcs_bridge.notify import outbox

    _schema(state)
    with state.engine.connect() as conn:
        rows = [_row(r) for r in outbox.list_deliveries(conn, status=status, limit=limit)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no deliveries")
        return
    tz = state.settings.tz
    for line in table(["ID", "CREATED", "STATUS", "NOTIFICATION", "CHANNEL", "RECIPIENT",
                       "TRIES", "ERROR"], [
            [r["id"], local_time(r["created_at"], tz), r["status"], r["notification"],
             r["channel"], r["recipient"], r["attempts"], r["last_error"] or ""]
            for r in rows]):
        click.echo(line)


@outbox_group.command("replay")
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**63 - 1))  # 64-bit row ids
@click.option("--dead", "all_dead", is_flag=True, help="Replay every dead delivery.")
@pass_state
def outbox_replay(state: CliState, ids: tuple[int, ...], all_dead: bool) -> None:
    """Queue dead (or failed) deliveries again with a fresh attempt count."""
    from whmcs_bridge.notify import outbox

    if not ids and not all_dead:
        raise click.UsageError("give delivery ids or --dead")
    _schema(state)
    with state.engine.begin() as conn:
        n = outbox.replay(conn, now=datetime.now(UTC), ids=ids, all_dead=all_dead)
    if ids and n == 0:
        raise Failed("nothing to replay (unknown ids, or not dead/failed)")
    click.echo(f"{n} deliver{'y' if n == 1 else 'ies'} queued again")


commands = [notify_group, outbox_group]
