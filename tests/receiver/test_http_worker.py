"""The web worker's own answers (whmcs_bridge.http_worker), pure parts: gunicorn's refusals
become JSON bodies, never its HTML pages."""

from __future__ import annotations

import json

from gunicorn.http import errors as http_errors

from whmcs_bridge.http_worker import classify, error_response


def test_gunicorn_refusals_map_to_their_status_and_a_json_body() -> None:
    assert classify(http_errors.LimitRequestLine(9000, 4094))[:2] == (414, "uri_too_long")
    assert classify(http_errors.LimitRequestHeaders("too many"))[0] == 431
    assert classify(http_errors.InvalidRequestLine("GET"))[0] == 400
    assert classify(http_errors.ConfigurationProblem("x"))[0] == 500
    assert classify(RuntimeError("boom"))[0] == 500
    raw = error_response(431, "request_header_fields_too_large", "too many headers")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": "request_header_fields_too_large",
                                "message": "too many headers"}
