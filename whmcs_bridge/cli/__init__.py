"""The ``whmcs-bridge`` command line (click, as Flask uses).

Exit codes: 0 ok, 1 the work failed, 2 usage or settings error, 78 (``EX_CONFIG``) the
``worker`` stopped because WHMCS refused the API credential (supervisors do not restart it:
each restart would be one more failed login towards an IP ban). Errors are one line on
stderr, never a traceback (``WHMCS_BRIDGE_DEBUG=1`` shows it for bug reports).

Command modules are listed in :data:`COMMAND_MODULES`; each exposes ``commands``: a list of
click commands/groups added to the top-level group. Rooms add their module (one line each).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

import click

from whmcs_bridge.digits import MAX_ID
from whmcs_bridge.settings import SettingsError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from whmcs_bridge.settings import Settings

COMMAND_MODULES: list[str] = [
    "whmcs_bridge.cli.core",
    "whmcs_bridge.cli.notify",
    "whmcs_bridge.cli.tickets",
    "whmcs_bridge.cli.sla",
    "whmcs_bridge.cli.sim",
    "whmcs_bridge.cli.worker",
    "whmcs_bridge.cli.demo",
    "whmcs_bridge.cli.verify",
    "whmcs_bridge.cli.init",
]


class BridgeGroup(click.Group):
    """Loads command modules lazily so ``--help`` stays fast and imports stay side-effect free."""

    _loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in COMMAND_MODULES:
            for cmd in importlib.import_module(module).commands:
                self.add_command(cmd)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, name)


@click.group(cls=BridgeGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="WHMCS_BRIDGE_CONFIG", help="Settings file (TOML).")
@click.version_option(package_name="whmcs-bridge")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """whmcs-bridge: enforce the support policy (SLA, channels, verification) on WHMCS."""
    ctx.obj = CliState(config_path)


class CliState:
    """Per-invocation state: settings are loaded on first use, once."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from whmcs_bridge.settings import load_settings

            self._settings = load_settings(self.config_path)
            from whmcs_bridge import logs

            logs.configure(self._settings.log.level, self._settings.log.format)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from whmcs_bridge.store import make_engine

            self._engine = make_engine(self.settings.database_url,
                                       pool_size=self.settings.database.pool_size,
                                       echo=self.settings.database.echo)
        return self._engine


pass_state = click.make_pass_decorator(CliState)

#: A WHMCS id (ticket, client, department, service). Bounded, so a bigger number is a usage
#: error naming the argument, not an OverflowError from the database (exit 1).
WHMCS_ID = click.IntRange(1, MAX_ID)


class Failed(click.ClickException):
    """The requested work failed (exit 1), with a one-line explanation."""

    exit_code = 1


#: The worker's exit status after WHMCS refused the credential; ``serve``'s supervisor and
#: the systemd unit (``RestartPreventExitStatus``) leave such a worker stopped.
EXIT_WHMCS_REFUSED = 78


class WhmcsRefused(Failed):
    """WHMCS refused the API credential: fix the ``whmcs`` settings, then start again."""

    exit_code = EXIT_WHMCS_REFUSED


def main(argv: list[str] | None = None) -> None:
    debug = os.environ.get("WHMCS_BRIDGE_DEBUG") == "1"
    try:
        cli.main(args=argv, prog_name="whmcs-bridge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SettingsError as exc:
        click.echo(f"settings error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if debug:
            raise
        name = type(exc).__name__
        click.echo(f"error: {name}: {exc}", err=True)
        sys.exit(1)
    sys.exit(0)
