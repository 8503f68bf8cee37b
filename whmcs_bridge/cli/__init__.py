"""The ``whmcs-bridge`` command line (click, as Flask uses): the process entry point.

Exit codes: 0 ok, 1 the work failed, 2 usage or settings error, 78 (``EX_CONFIG``) the
``worker`` stopped because WHMCS refused the API credential (supervisors do not restart it:
each restart would be one more failed login towards an IP ban). Errors are one line on
stderr, never a traceback (``WHMCS_BRIDGE_DEBUG=1`` shows it for bug reports).

The commands live in :mod:`whmcs_bridge.cli.commands` (one module per area, listed there).
:func:`main` imports them only after it let gevent patch the standard library for
``serve``: gevent's rule is that the patch comes before anything imports ``ssl``, and the
commands import the whole bridge (``requests`` among it). That one late import is the
reason this package's ``__init__`` holds nothing else.
"""

from __future__ import annotations

import os
import sys

import click

from whmcs_bridge.settings import SettingsError


def _command_name(argv: list[str]) -> str | None:
    """The command word of ``argv`` (the first argument that is not an option or its value)."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def patch_for_gevent() -> None:
    """Let gevent patch the standard library in this process, before anything imports ssl.

    The web workers are gevent workers, which patch after gunicorn forks them, and by then
    the master has imported ``requests`` (the handler registry, the app): ``urllib3`` would
    keep the unpatched ``ssl`` and every HTTPS call a web worker makes to WHMCS would block
    its whole process. Patching first in ``serve`` (the usual remedy, as in a gunicorn config
    file) makes the master cooperative too, which gunicorn's arbiter and our worker
    supervisor (``subprocess``, signals, ``waitpid``) work with under gevent.
    """
    from gevent import monkey

    monkey.patch_all()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if _command_name(argv) == "serve":
        patch_for_gevent()
    from whmcs_bridge.cli.commands import cli  # after the patch: see the module docstring

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
