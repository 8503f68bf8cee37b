"""``whmcs-bridge verify …``: staff submit ownership proofs, send links, read the state.

Secrets (passwords, card digits) are never taken from argv — it shows in ``ps`` and shell
history. They are read from a hidden prompt on a terminal, or from one line of stdin when piped
(``printf '%s\\n' "$PW" | whmcs-bridge verify service-login --ticket 12 --username u1``).
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click

from whmcs_bridge.api import WhmcsError
from whmcs_bridge.cli.base import WHMCS_ID, CliState, Failed, pass_state
from whmcs_bridge.cli.output import local_time, table
from whmcs_bridge.context import HandlerContext, JobContext, Services
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import service, status, store, tokens
from whmcs_bridge.verification.proofs import ProofInputError, build_proof
from whmcs_bridge.writes.send import send_due


def _read_secret(label: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(label, hide_input=True, err=True)
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError(f"{label}: nothing on stdin (pipe it, or run on a terminal)")
    return line.rstrip("\r\n")


def _default_admin() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


_TICKET = click.option("--ticket", "ticket_id", type=WHMCS_ID, required=True,
                       help="WHMCS ticket id (the number in the admin URL).")
_ADMIN = click.option("--admin", default=_default_admin, show_default="your login name",
                      help="Staff member recorded in the audit trail and the ticket note.")


def _services(state: CliState) -> Services:
    services = state.runtime.services
    try:
        services.whmcs  # noqa: B018 (built now: a missing [whmcs] key is a settings error)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return services


def _context(state: CliState, conn: Any) -> Any:
    return HandlerContext(settings=state.settings, conn=conn, now=utcnow(),
                          services=_services(state))


def _job(state: CliState) -> Any:
    """What a proof takes: it opens its own transactions (WHMCS is asked between them)."""
    return JobContext(settings=state.settings, engine=state.engine, now=utcnow(),
                      services=_services(state))


def _send_writes(state: CliState, job: Any) -> None:
    """Post the audit note and replies the proof queued, now that its transactions committed
    (a worker would, within a second; the CLI may run where none does). One pass, within the
    write budget; what it leaves, the worker sends."""
    send_due(state.engine, state.settings, whmcs=job.services.whmcs)


def _submit(state: CliState, ticket_id: int, method: str, fields: dict[str, Any],
            admin: str) -> None:
    try:
        proof = build_proof(method, fields)
    except ProofInputError as exc:
        raise click.UsageError(str(exc)) from None
    job = _job(state)
    try:
        out = service.submit_proof(job, ticket_id, proof, actor=admin, channel="cli")
    except (ProofInputError, service.NotFound) as exc:
        raise Failed(str(exc)) from None
    except WhmcsError as exc:
        raise Failed(f"WHMCS could not check the proof: {type(exc).__name__}") from None
    _send_writes(state, job)
    if out.outcome in ("verified", "already_verified"):
        click.echo(f"ticket {ticket_id}: {out.outcome.replace('_', ' ')}")
        return
    hint = " — only an e-mail link or in-person check is accepted now" \
        if out.state == "locked" else ""
    raise Failed(f"ticket {ticket_id}: proof {out.outcome} ({out.reason}); "
                 f"state {out.state}{hint}")


@click.group("verify")
def verify() -> None:
    """Ownership verification: submit a proof, send the e-mail link, show the state."""


@verify.command("client-login")
@_TICKET
@click.option("--email", required=True, help="Client-area e-mail address.")
@_ADMIN
@pass_state
def client_login(state: CliState, ticket_id: int, email: str, admin: str) -> None:
    """Client-area e-mail + password (password from a hidden prompt or stdin).

    Uses WHMCS ValidateLogin, which updates the user's last-login time.
    """
    _submit(state, ticket_id, "client_login",
            {"email": email, "password": _read_secret("Client-area password")}, admin)


@verify.command("service-login")
@_TICKET
@click.option("--username", required=True, help="Service (cPanel) username.")
@click.option("--service-id", type=WHMCS_ID, default=None,
              help="Limit the check to one service.")
@_ADMIN
@pass_state
def service_login(state: CliState, ticket_id: int, username: str, service_id: int | None,
                  admin: str) -> None:
    """Service (cPanel) username + password (password from a hidden prompt or stdin)."""
    fields: dict[str, Any] = {"username": username,
                              "password": _read_secret("Service password")}
    if service_id is not None:
        fields["service_id"] = str(service_id)
    _submit(state, ticket_id, "service_login", fields, admin)


@verify.command("card-last4")
@_TICKET
@_ADMIN
@pass_state
def card_last4(state: CliState, ticket_id: int, admin: str) -> None:
    """Last 4 digits of the paying card (from a hidden prompt or stdin)."""
    _submit(state, ticket_id, "card_last4", {"last4": _read_secret("Last 4 card digits")},
            admin)


@verify.command("payment")
@_TICKET
@click.option("--payment-method", required=True, help="Gateway, e.g. banktransfer, paypal.")
@click.option("--amount", required=True, help="Amount of the most recent payment.")
@click.option("--date", "paid_on", required=True, help="Date of that payment (YYYY-MM-DD).")
@_ADMIN
@pass_state
def payment(state: CliState, ticket_id: int, payment_method: str, amount: str, paid_on: str,
            admin: str) -> None:
    """Payment method + most recent payment: method, amount and date must all match."""
    _submit(state, ticket_id, "payment",
            {"payment_method": payment_method, "amount": amount, "date": paid_on}, admin)


@verify.command("in-person")
@_TICKET
@click.option("--reference", required=True,
              help="Your record of the visit (not the ID number itself).")
@_ADMIN
@pass_state
def in_person(state: CliState, ticket_id: int, reference: str, admin: str) -> None:
    """Attest that the customer showed a national ID (and a letter for an organisation)."""
    _submit(state, ticket_id, "in_person", {"reference": reference}, admin)


@verify.command("link")
@_TICKET
@pass_state
def link(state: CliState, ticket_id: int) -> None:
    """Send the signed single-use link to the client's e-mail address on file."""
    try:
        with state.engine.begin() as conn:
            ctx = _context(state, conn)
            expires = service.send_link(ctx, service.BridgeEffects(ctx), ticket_id)
    except (service.NotFound, service.LinkNotAvailable, ProofInputError) as exc:
        raise Failed(str(exc)) from None
    except tokens.KeyNotConfigured as exc:
        raise SettingsError(str(exc)) from None
    click.echo(f"ticket {ticket_id}: link queued for the client's e-mail, valid until "
               f"{local_time(expires, state.settings.tz)}")


@verify.command("status")
@_TICKET
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show(state: CliState, ticket_id: int, as_json: bool) -> None:
    """The ticket's verification state and its attempt audit (never a proof)."""
    with state.engine.connect() as conn:
        req = store.get_request(conn, ticket_id)
        if req is None:
            raise Failed(f"ticket {ticket_id} has no verification record")
        info = status.for_ticket(conn, ticket_id)
        attempts = store.attempts_for_ticket(conn, ticket_id)
    rows = [{"at": a.at.isoformat(), "method": a.method, "outcome": a.outcome,
             "reason": a.reason, "actor": a.actor, "channel": a.channel} for a in attempts]
    if as_json:
        click.echo(json.dumps({**info, "ticket_id": ticket_id, "tid": req.tid,
                               "changes": sorted(store.split_changes(req.changes)),
                               "verified_by": req.verified_by, "attempts": rows}, indent=2))
        return
    click.echo(f"ticket {ticket_id} ({req.tid or '-'}): {info['state']}"
               f"{' by ' + req.verified_by + ' via ' + req.method if info['method'] else ''}")
    click.echo(f"  changes: {req.changes}")
    tz = state.settings.tz
    for line in table(["AT", "METHOD", "OUTCOME", "REASON", "ACTOR", "CHANNEL"], [
            [local_time(a.at, tz), a.method, a.outcome, a.reason or "", a.actor or "",
             a.channel or ""] for a in attempts]):
        click.echo("  " + line)


commands = [verify]
