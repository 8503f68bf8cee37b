"""The ``whmcs-bridge`` command group: every command module, by plain import."""

from __future__ import annotations

import click

from whmcs_bridge.cli import core, demo, init, notify, sim, sla, tickets, verify, worker
from whmcs_bridge.cli.base import CliState

#: The command modules; each exposes ``commands``, the click commands/groups it adds.
COMMAND_MODULES = (core, notify, tickets, sla, sim, worker, demo, verify, init)


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="WHMCS_BRIDGE_CONFIG", help="Settings file (TOML).")
@click.version_option(package_name="whmcs-bridge")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """whmcs-bridge: enforce the support policy (SLA, channels, verification) on WHMCS."""
    ctx.obj = CliState(config_path)


for _module in COMMAND_MODULES:
    for _command in _module.commands:
        cli.add_command(_command)
