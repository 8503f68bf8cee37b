"""The one place an error becomes an HTTP answer.

Views raise (or let through) a :class:`~whmcs_bridge.errors.BridgeError`, or Werkzeug's
:class:`~werkzeug.exceptions.HTTPException` for what is HTTP's own business (404 for an
unknown URL, 405, 413, 415, the bearer token's 401); both answer the contract's JSON body,
``{"error": <code>, "message": <text>}`` plus ``"errors": {<field path>: [...]}`` when a field
is wrong (:func:`whmcs_bridge.errors.error_body`). The HTML pages (the dashboard, the
``/verify`` link pages) render their own refusals and raise nothing for them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from whmcs_bridge.errors import BridgeError, error_body

log = logging.getLogger("whmcs_bridge.webhooks")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(BridgeError, _bridge_error)
    app.register_error_handler(HTTPException, _http_error)


def json_response(body: dict[str, Any], status: int) -> Response:
    """``body`` as the JSON answer, keys in the order written (the contract's). json.dumps
    straight into a response: jsonify's provider machinery costs more than the rest of a small
    answer, on the receiver's hot path."""
    return current_app.response_class(json.dumps(body), status=status,
                                      mimetype="application/json")


def _bridge_error(exc: BridgeError) -> Response:
    if exc.http_status >= 500:
        # only the class: a failure's text may hold what the caller must not see, and the
        # code that raised it logs the detail where it knows what is safe
        log.warning("%s %s answered %d %s (%s)", request.method, request.path,
                    exc.http_status, exc.code, type(exc).__name__)
    response = json_response(exc.body(), exc.http_status)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _http_error(exc: HTTPException) -> Response | HTTPException:
    """Werkzeug's refusals in the same shape: the code is the status's name in snake case
    (``method_not_allowed``), the message its description; its headers (``Allow`` on a 405)
    are kept."""
    if exc.code is None:  # not an error answer (a bare HTTPException wrapping a response)
        return exc
    response = json_response(error_body((exc.name or "error").lower().replace(" ", "_"),
                                exc.description or ""), exc.code)
    for name, value in exc.get_headers(request.environ):
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
