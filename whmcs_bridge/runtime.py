"""The composition root: the one module that knows every room and adapter and wires them.

A process (``serve``'s web workers, the event worker, a CLI command, a test, a benchmark)
builds one :class:`Runtime` with :func:`build_runtime` and hands it down: the Flask app
(:func:`whmcs_bridge.webhooks.app.create_app`), the :class:`~whmcs_bridge.worker.Worker` and
the CLI's commands receive what it built; nothing below looks a module up by name. The
built-in handler modules are plain imports here (:data:`BUILTIN_HANDLERS`); entry points stay
only for third-party handlers (``whmcs_bridge.hooks``), as pluggy does.

gevent's rule (patch the standard library before anything imports ``ssl``) is kept by the
process entry point, :func:`whmcs_bridge.cli.main`, which patches for ``serve`` before it
imports this module and everything under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask import Flask
from sqlalchemy import Engine

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.config import load_settings
from whmcs_bridge.context import Services
from whmcs_bridge.hooks import audit, notify, sla, tickets, verification
from whmcs_bridge.hooks.registry import ENTRY_POINT_GROUP, HookRegistry, load_registry
from whmcs_bridge.settings import Settings
from whmcs_bridge.store import make_engine
from whmcs_bridge.webhooks.app import create_app

#: The built-in handler modules, registered in every registry this root builds.
BUILTIN_HANDLERS = (audit, notify, tickets, sla, verification)


def build_registry(settings: Settings, *, entry_point_group: str | None = ENTRY_POINT_GROUP,
                   ) -> HookRegistry:
    """Built-in handlers + ``[handlers].modules`` + the ``whmcs_bridge.hooks`` entry points."""
    return load_registry(BUILTIN_HANDLERS, module_names=settings.handlers.modules,
                         entry_point_group=entry_point_group)


@dataclass(frozen=True)
class Runtime:
    """What one process runs on: settings, the database engine and the shared services."""

    settings: Settings
    engine: Engine
    services: Services

    @cached_property
    def registry(self) -> HookRegistry:
        """The hook registry; built on first use (the web side never needs it). A company
        module named in ``[handlers].modules`` that fails to import fails here."""
        return build_registry(self.settings)

    def app(self) -> Flask:
        """The Flask app (receiver, gates, staff API, dashboard) on this runtime."""
        return create_app(self)


def build_runtime(settings: Settings | None = None, *, config_path: str | None = None,
                  engine: Engine | None = None, whmcs: WhmcsClient | None = None) -> Runtime:
    """Build the runtime once per process. ``settings`` default to ``config_path`` /
    ``WHMCS_BRIDGE_CONFIG`` and the environment; ``engine`` and ``whmcs`` are for tests and
    the demo (a simulator's client)."""
    settings = settings or load_settings(config_path)
    engine = engine or make_engine(settings.database_url, pool_size=settings.database.pool_size,
                                   echo=settings.database.echo)
    return Runtime(settings=settings, engine=engine, services=Services(settings, whmcs=whmcs))


def build_app(settings: Settings | None = None, *, engine: Engine | None = None,
              whmcs: WhmcsClient | None = None) -> Flask:
    """``build_runtime(...).app()``: the app for tests, benchmarks and gunicorn's
    ``whmcs_bridge.runtime:build_app()``."""
    return build_runtime(settings, engine=engine, whmcs=whmcs).app()
