"""``whmcs-bridge sim``: serve the WHMCS API simulator (a test double, not WHMCS)."""

from __future__ import annotations

import click

from whmcs_bridge.cli.base import Failed
from whmcs_bridge.settings import zone_named
from whmcs_bridge.sim.config import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    API_PATH,
    BANNER,
    DEFAULT_ACCESS_KEY,
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    READONLY_IDENTIFIER,
    READONLY_SECRET,
    SimConfig,
)
from whmcs_bridge.sim.server import build_app, listen, serve

HELP = f"""{BANNER}.

Serves POST /includes/api.php with seeded, deterministic sample data (the same --seed gives
the same clients, services, invoices and tickets). Nothing here is real WHMCS or real
customer data.

\b
Fixed credentials of the simulator (documented, not secret):
  API identifier / secret     {DEFAULT_IDENTIFIER} / {DEFAULT_SECRET}   (all actions)
  read-only credential        {READONLY_IDENTIFIER} / {READONLY_SECRET}
  legacy admin login          {ADMIN_USERNAME} / md5("{ADMIN_PASSWORD}")
  API access key              {DEFAULT_ACCESS_KEY}
  client login (ValidateLogin) the client's e-mail / client-pass-<client id>
  service passwords           svc-pass-<service id>
  WHMCS user ids              1000 + client id
\b
Debug endpoints: GET /_sim/emails, GET /_sim/events, GET /_sim/state,
POST /_sim/faults {{"kind": "500|502|503|429|html|empty|garbage|notice|timeout|error_json_500",
"count": 1, "action": null}}.
"""


@click.command("sim", help=HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 picks a free one).")
@click.option("--tickets", default=500, show_default=True, type=click.IntRange(0, 2_000_000),
              help="Seeded tickets.")
@click.option("--clients", default=50, show_default=True, type=click.IntRange(1, 200_000),
              help="Seeded clients.")
@click.option("--seed", default=1, show_default=True, type=int, help="Data seed.")
@click.option("--timezone", default="UTC", show_default=True,
              help="The simulated WHMCS server's time zone (dates are sent without zone).")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0, 60000),
              help="Delay added to every API call.")
@click.option("--error-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of API calls answered with a random fault (5xx, HTML, empty).")
@click.option("--allow-ip", "allow_ips", multiple=True,
              help="Enable the IP allow-list with this IP (repeatable); default allows all.")
@click.option("--bridge-url", default=None,
              help="Post signed hook events for every change to <URL>/webhooks/whmcs.")
@click.option("--webhook-secret", default=None, envvar="WHMCS_BRIDGE_SIM_WEBHOOK_SECRET",
              help="whsec_ secret to sign posted events with (env "
                   "WHMCS_BRIDGE_SIM_WEBHOOK_SECRET).")
def sim(host: str, port: int, tickets: int, clients: int, seed: int, timezone: str,
        latency_ms: float, error_rate: float, allow_ips: tuple[str, ...],
        bridge_url: str | None, webhook_secret: str | None) -> None:
    if zone_named(timezone) is None:
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone")
    if webhook_secret is not None and not webhook_secret.startswith("whsec_"):
        raise click.BadParameter("must start with whsec_", param_hint="--webhook-secret")
    config = SimConfig(seed=seed, clients=clients, tickets=tickets, timezone=timezone,
                       latency_ms=latency_ms, error_rate=error_rate,
                       allowed_ips=tuple(allow_ips) or None, bridge_url=bridge_url,
                       webhook_secret=webhook_secret)
    try:
        config.validate()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    try:
        sock = listen(host, port)
    except OSError as exc:
        raise Failed(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"{BANNER}")
    click.echo(f"  API endpoint: http://{shown}:{sock.getsockname()[1]}{API_PATH}")
    click.echo(f"  credentials:  identifier={DEFAULT_IDENTIFIER} secret={DEFAULT_SECRET}")
    click.echo(f"  data:         {clients} clients, {tickets} tickets, seed {seed}, "
               f"zone {timezone}")
    if bridge_url:
        click.echo(f"  posting hook events to {bridge_url}")
    serve(build_app(config)[0], sock)


commands = [sim]
