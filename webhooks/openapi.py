"""Serves the OpenAPI document (``GET /openapi.json``), built once per app from the registry
in :mod:`.openapi_spec`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from whmcs_bridge.webhooks.openapi_spec import build_spec

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_json() -> Any:
    cache = current_app.extensions.setdefault("whmcs_bridge_openapi", {})
    if "spec" not in cache:
        cache["spec"] = build_spec()
    return jsonify(cache["spec"])
