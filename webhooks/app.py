"""The Flask app factory: the app on a runtime built by :mod:`whmcs_bridge.runtime`.

Nothing happens at import time. The blueprints are plain imports, registered in
:data:`BLUEPRINTS` order; a new one is imported and added there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, abort, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from whmcs_bridge.digits import MAX_ID
from whmcs_bridge.webhooks import (
    dashboard,
    gates,
    health,
    metrics,
    openapi,
    receiver,
    tickets,
    verification,
)
from whmcs_bridge.webhooks.auth import bearer_token, token_is_valid
from whmcs_bridge.webhooks.errors import register_error_handlers
from whmcs_bridge.webhooks.state import EXTENSION, BridgeState

if TYPE_CHECKING:
    from whmcs_bridge.runtime import Runtime

BLUEPRINTS: tuple[Blueprint, ...] = (
    health.bp,
    receiver.bp,
    metrics.bp,
    openapi.bp,
    dashboard.bp,
    gates.bp,
    verification.bp,
    tickets.bp,
)


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


def create_app(runtime: Runtime) -> Flask:
    settings = runtime.settings
    app = Flask("whmcs_bridge")
    app.url_map.converters["int"] = WhmcsIdConverter
    app.config["MAX_CONTENT_LENGTH"] = settings.webhooks.max_body_bytes
    # JSON answers keep the order they are written in, the contract's (ids first, details
    # after); Flask's provider sorts keys by default (the JSON_SORT_KEYS config is gone).
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = BridgeState(settings=settings, engine=runtime.engine,
                                            services=runtime.services)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.before_request
    def _staff_api_needs_a_token() -> Any:
        """401 comes before 404 on the staff API: an unauthenticated caller learns nothing
        about which ids exist, and a client probing its token gets a clear answer (the
        views' ``require_token`` guards stay as the per-view rule)."""
        if request.path.startswith("/api/") and not token_is_valid(bearer_token()):
            abort(401, description="missing or invalid bearer token")  # _http_error's JSON
        return None

    register_error_handlers(app)  # every error answer is the contract's JSON

    return app
