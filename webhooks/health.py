"""Health endpoints: liveness and readiness (database reachable, schema current)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from whmcs_bridge import __version__
from whmcs_bridge.store import is_current
from whmcs_bridge.webhooks.state import bridge

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok", version=__version__)


@bp.get("/readyz")
def readyz() -> Any:
    engine = bridge().engine
    try:
        current = is_current(engine)  # reads alembic_version: fails when unreachable
    except Exception as exc:
        return jsonify(status="unavailable", database="unreachable",
                       error=type(exc).__name__), 503
    if not current:
        return jsonify(status="unavailable", database="ok", schema="outdated",
                       hint="run: whmcs-bridge db upgrade"), 503
    return jsonify(status="ok", database="ok", schema="current")
