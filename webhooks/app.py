"""Flask app factory. Settings are loaded once and handed down; nothing happens at import time.

Blueprints are listed in :data:`BLUEPRINTS` as ``module:attribute`` strings; each room adds its
own (one line each).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, current_app, jsonify, request
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from whmcs_bridge.digits import MAX_ID
from whmcs_bridge.settings import Settings, load_settings
from whmcs_bridge.store import make_engine

BLUEPRINTS: list[str] = [
    "whmcs_bridge.webhooks.health:bp",
    "whmcs_bridge.webhooks.receiver:bp",
    "whmcs_bridge.webhooks.metrics:bp",
    "whmcs_bridge.webhooks.openapi:bp",
    "whmcs_bridge.webhooks.dashboard:bp",
    "whmcs_bridge.webhooks.gates:bp",
    "whmcs_bridge.webhooks.verification:bp",
    "whmcs_bridge.webhooks.tickets:bp",
]


class WhmcsIdConverter(IntegerConverter):
    """``<int:…>`` in every route: WHMCS ids are positive 32-bit integers (MySQL ``int(10)``)
    and so are the bridge's columns. A number outside that range is answered 404 right here,
    not an overflow deep in the database driver (500), and not the 405 Werkzeug would give
    when a same-path rule for another method is tried first."""

    MAX = MAX_ID

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not 1 <= number <= self.MAX:
            raise NotFound(f"no ticket or record has id {value}")
        return number


@dataclass
class BridgeState:
    """What request handlers need, reachable as ``bridge()`` inside a request."""

    settings: Settings
    engine: Engine
    extras: dict[str, Any] = field(default_factory=dict)


def bridge() -> BridgeState:
    return current_app.extensions["whmcs_bridge"]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               **extras: Any) -> Flask:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.database_url,
                                   pool_size=settings.database.pool_size,
                                   echo=settings.database.echo)
    app = Flask("whmcs_bridge")
    app.url_map.converters["int"] = WhmcsIdConverter
    app.config["MAX_CONTENT_LENGTH"] = settings.webhooks.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["whmcs_bridge"] = BridgeState(settings=settings, engine=engine, extras=extras)

    for path in BLUEPRINTS:
        module, _, attr = path.partition(":")
        app.register_blueprint(getattr(importlib.import_module(module), attr))

    @app.before_request
    def _staff_api_needs_a_token() -> Any:
        """401 comes before 404 on the staff API: an unauthenticated caller learns nothing
        about which ids exist, and a client probing its token gets a clear answer (the
        views' ``require_token`` guards stay as the per-view rule)."""
        if request.path.startswith("/api/"):
            from whmcs_bridge.webhooks.auth import bearer_token, token_is_valid

            if not token_is_valid(bearer_token()):
                abort(401, description="missing or invalid bearer token")  # _http_error's JSON
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        """Every error is JSON with a short machine code and a human message."""
        body = {"error": (exc.name or "error").lower().replace(" ", "_"),
                "message": exc.description}
        extra = getattr(exc, "errors", None)
        if extra:
            body["errors"] = extra
        return jsonify(body), exc.code

    return app
