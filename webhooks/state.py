"""What request handlers reach inside a request: :func:`bridge`, the app's runtime parts.

Its own module so the blueprints import it without importing the app factory that imports
them (:mod:`whmcs_bridge.webhooks.app`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Engine

from whmcs_bridge.context import Services
from whmcs_bridge.settings import Settings

#: The key of :class:`BridgeState` in ``app.extensions``.
EXTENSION = "whmcs_bridge"


@dataclass(frozen=True)
class BridgeState:
    """The runtime parts request handlers use, reachable as ``bridge()`` inside a request:
    built by the composition root (:mod:`whmcs_bridge.runtime`), shared by every request of
    the process."""

    settings: Settings
    engine: Engine
    services: Services


def state_of(app: Flask) -> BridgeState:
    """The app's :class:`BridgeState`; for set-up code that has the app but no request."""
    state: BridgeState = app.extensions[EXTENSION]
    return state


def bridge() -> BridgeState:
    """The running app's :class:`BridgeState`, inside a request."""
    return state_of(current_app)
