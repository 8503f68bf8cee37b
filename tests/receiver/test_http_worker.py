"""The web worker's own answers (whmcs_bridge.http_worker), pure parts: gunicorn's refusals
become JSON bodies, never its HTML pages."""

from __future__ import annotations

import json

from gunicorn.http import errors as http_errors

from whmcs_bridge.http_worker import classify, error_response, is_trusted_proxy


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


def test_trusted_proxies_are_gunicorns_forwarded_allow_ips() -> None:
    allowed = ["127.0.0.1", "::1", "10.1.0.0/16"]
    assert is_trusted_proxy("127.0.0.1", allowed) and is_trusted_proxy("::1", allowed)
    assert is_trusted_proxy("10.1.200.3", allowed)
    assert not is_trusted_proxy("127.0.0.2", allowed) and not is_trusted_proxy("", allowed)
    assert is_trusted_proxy("203.0.113.9", ["*"])
    assert not is_trusted_proxy("203.0.113.9", ["not an address"])


def test_error_response_carries_extra_headers() -> None:
    raw = error_response(503, "service_unavailable", "busy", (("Retry-After", "5"),))
    assert b"\r\nRetry-After: 5\r\n\r\n" in raw and raw.startswith(b"HTTP/1.1 503 ")
