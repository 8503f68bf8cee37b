"""The WHMCS API simulator — a test double, not WHMCS.

``create_sim_app(SimConfig(...))`` builds the Flask app; ``run_in_thread(config)`` serves it
on a free loopback port (``handle.url``, ``handle.state``, ``handle.stop()``);
``whmcs-bridge sim`` serves it from the command line.
"""

from __future__ import annotations

from whmcs_bridge.sim.app import create_sim_app
from whmcs_bridge.sim.config import BANNER, ApiCredential, SimConfig
from whmcs_bridge.sim.server import SimHandle, run_in_thread
from whmcs_bridge.sim.state import SimState

__all__ = ["BANNER", "ApiCredential", "SimConfig", "SimHandle", "SimState", "create_sim_app",
           "run_in_thread"]
