"""The WHMCS API simulator — a test double, not WHMCS.

``create_sim_app(SimConfig(...))`` builds the Flask app; ``run_in_thread(config)`` serves it
on a free loopback port (``handle.url``, ``handle.state``, ``handle.stop()``);
``whmcs-bridge sim`` serves it from the command line.

The app and server are imported on first use (PEP 562), so the CLI can read the simulator's
constants (``sim.config``) without importing ``requests`` and ``ssl``: ``serve`` must let
gevent patch those first (see :func:`whmcs_bridge.cli.worker.serve`).
"""

from __future__ import annotations

import importlib
from typing import Any

from whmcs_bridge.sim.config import BANNER, ApiCredential, SimConfig

_LAZY = {"create_sim_app": "whmcs_bridge.sim.app", "SimHandle": "whmcs_bridge.sim.server",
         "run_in_thread": "whmcs_bridge.sim.server", "SimState": "whmcs_bridge.sim.state"}

__all__ = ["BANNER", "ApiCredential", "SimConfig", "SimHandle", "SimState", "create_sim_app",
           "run_in_thread"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
