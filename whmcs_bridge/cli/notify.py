"""Notification commands: ``notify test|deliver``, and ``outbox list|replay|send`` for both
outboxes (notifications, and the WHMCS writes: replies, notes, ticket changes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.cli.base import WHMCS_ID, CliState, Failed, pass_state
from whmcs_bridge.cli.output import local_time, table
from whmcs_bridge.cli.worker import ensure_schema
from whmcs_bridge.notify import channels as ch
from whmcs_bridge.notify import outbox, recipients, render
from whmcs_bridge.notify.deliver import deliver_due
from whmcs_bridge.writes import outbox as writes
from whmcs_bridge.writes.send import send_due


def _whmcs_factory(state: CliState) -> Any:
    def make() -> Any:
        try:
            return WhmcsClient.from_settings(state.settings)
        except ValueError as exc:  # whmcs.url / credentials missing
            raise Failed(f"WHMCS API: {exc}") from None
    return make


def _schema(state: CliState) -> None:
    """One clear line instead of an SQL error when ``db upgrade`` has not been run."""
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
    cfg = state.settings.notifications
    built = ch.build(cfg, _whmcs_factory(state))
    if channel not in built:
        known = ", ".join(sorted(built))
        raise click.UsageError(f"channel {channel!r} is not configured (configured: {known})")
    lang = language or cfg.default_language
    if channel == "smtp":
        to = to or (cfg.staff[0].email if cfg.staff else None)
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
                                         default_language=cfg.default_language)
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
    _schema(state)
    report = deliver_due(state.engine, state.settings, now=datetime.now(UTC),
                         whmcs=_whmcs_factory(state))
    click.echo(f"claimed {report.claimed}, sent {report.sent} in {report.messages} "
               f"message(s), failed {report.failed}, dead {report.dead}, held {report.held}")


@click.group("outbox")
def outbox_group() -> None:
    """The outboxes: notifications (default) and WHMCS writes (--queue whmcs): what was
    sent, what failed, what is dead."""


QUEUES = click.Choice(["notifications", "whmcs"])
_queue_option = click.option(
    "--queue", type=QUEUES, default="notifications", show_default=True,
    help="notifications: staff/customer messages; whmcs: replies, notes and ticket changes "
         "the bridge writes into WHMCS.")


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
@_queue_option
@pass_state
def outbox_list(state: CliState, status: str | None, limit: int, as_json: bool,
                queue: str) -> None:
    """Deliveries (or WHMCS writes), newest first; --status dead is the dead-letter list."""
    _schema(state)
    if queue == "whmcs":
        _writes_list(state, status, limit, as_json)
        return
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
@click.option("--dead", "all_dead", is_flag=True, help="Replay every dead row of the queue.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_queue_option
@pass_state
def outbox_replay(state: CliState, ids: tuple[int, ...], all_dead: bool, as_json: bool,
                  queue: str) -> None:
    """Queue dead (or failed) deliveries or WHMCS writes again with a fresh attempt count."""
    if not ids and not all_dead:
        raise click.UsageError("give ids or --dead")
    _schema(state)
    replay = writes.replay if queue == "whmcs" else outbox.replay
    with state.engine.begin() as conn:
        n = replay(conn, now=datetime.now(UTC), ids=ids, all_dead=all_dead)
    if ids and n == 0:
        raise Failed("nothing to replay (unknown ids, or not dead/failed)")
    if as_json:
        click.echo(json.dumps({"queue": queue, "replayed": n}))
    elif queue == "whmcs":
        click.echo(f"{n} WHMCS write{'' if n == 1 else 's'} queued again")
    else:
        click.echo(f"{n} deliver{'y' if n == 1 else 'ies'} queued again")


def _write_row(r: dict[str, Any]) -> dict[str, Any]:
    """A WHMCS write for the CLI: the text itself is not shown (a sent one keeps only its
    hash), only what it is and where it goes."""
    params = dict(r["params"] or {})
    message = params.pop("message", None)
    out = {k: r[k] for k in ("id", "key", "action", "ticket_id", "rank", "status", "attempts",
                             "outcome_unknown", "last_error")}
    out["fields"] = params.get("fields") or {k: v for k, v in params.items()
                                             if k in ("status", "replyid")}
    out["chars"] = len(message) if isinstance(message, str) else None
    for k in ("next_attempt_at", "created_at", "sent_at"):
        out[k] = r[k].isoformat() if r[k] else None
    return out


def _writes_list(state: CliState, status: str | None, limit: int, as_json: bool) -> None:
    with state.engine.connect() as conn:
        rows = [_write_row(r) for r in writes.list_writes(conn, status=status, limit=limit)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no WHMCS writes")
        return
    tz = state.settings.tz
    for line in table(["ID", "CREATED", "STATUS", "ACTION", "TICKET", "TRIES", "KEY", "ERROR"], [
            [r["id"], local_time(r["created_at"], tz), r["status"], r["action"], r["ticket_id"],
             r["attempts"], r["key"], r["last_error"] or ""] for r in rows]):
        click.echo(line)


@outbox_group.command("send")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def outbox_send(state: CliState, as_json: bool) -> None:
    """Send the WHMCS writes that are due now, within the write budget (the worker does this
    after every batch)."""
    _schema(state)
    report = send_due(state.engine, state.settings, whmcs=_whmcs_factory(state))
    if report.refused is not None:
        raise Failed(f"WHMCS refused the API credential ({report.refused}); nothing was sent: "
                     "fix the whmcs settings, then run it again")
    if as_json:
        click.echo(json.dumps({k: v for k, v in report.__dict__.items() if k != "refused"}))
        return
    click.echo(f"claimed {report.claimed}, sent {report.sent}, already in WHMCS "
               f"{report.deduped}, failed {report.failed}, dead {report.dead}"
               + (", more waiting for the write budget" if report.held else ""))


commands = [notify_group, outbox_group]
