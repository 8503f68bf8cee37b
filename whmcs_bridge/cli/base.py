"""What every command module shares: the per-invocation state, id arguments and exit codes."""

from __future__ import annotations

from functools import cached_property

import click
from sqlalchemy import Engine

from whmcs_bridge import logs
from whmcs_bridge.config import load_settings
from whmcs_bridge.digits import MAX_ID
from whmcs_bridge.runtime import Runtime, build_runtime
from whmcs_bridge.settings import Settings
from whmcs_bridge.worker import EXIT_WHMCS_REFUSED

__all__ = ["EXIT_WHMCS_REFUSED", "WHMCS_ID", "CliState", "Failed", "WhmcsRefused", "pass_state"]


class CliState:
    """Per-invocation state: settings and the runtime are built on first use, once (a
    command that needs no settings, like ``init``, never loads them)."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        logs.configure(settings.log.level, settings.log.format)
        return settings

    @cached_property
    def runtime(self) -> Runtime:
        return build_runtime(self.settings)

    @property
    def engine(self) -> Engine:
        return self.runtime.engine


pass_state = click.make_pass_decorator(CliState)

#: A WHMCS id (ticket, client, department, service). Bounded, so a bigger number is a usage
#: error naming the argument, not an OverflowError from the database (exit 1).
WHMCS_ID = click.IntRange(1, MAX_ID)


class Failed(click.ClickException):
    """The requested work failed (exit 1), with a one-line explanation."""

    exit_code = 1


class WhmcsRefused(Failed):
    """WHMCS refused the API credential: fix the ``whmcs`` settings, then start again."""

    exit_code = EXIT_WHMCS_REFUSED


