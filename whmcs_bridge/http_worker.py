"""``serve``'s web worker: gunicorn's gevent worker with answers that stay clean under bad input.

Gunicorn lets a deployment name its own worker class (the documented ``worker_class`` setting);
this one keeps three rules the receiver promises (README "Troubleshooting"):

* **Unread bodies are drained before a close.** A request refused before its body was read
  (413) and answered with ``Connection: close`` was closed with the body still arriving; the
  kernel then resets the connection and the client (the PHP module) may see the reset instead
  of the 413. Up to :data:`DRAIN_MAX_BYTES` are read and discarded, for at most
  :data:`DRAIN_SECONDS`, before the socket closes.
* **A body must arrive in time, and one address holds only so many connections.** Each
  connection is a greenlet from a fixed pool; a client that sends headers and then trickles
  its body would hold its slot forever. Reading a body takes at most :data:`BODY_SECONDS`
  (then 408), and one peer address holds at most :data:`MAX_CONNECTIONS_PER_ADDRESS` per
  worker process (more are answered 503 at once and closed).
* **Every error body is JSON.** Gunicorn's own refusals (malformed request line, 414, 431)
  are HTML pages; here they carry the same ``{"error", "message"}`` body as the app's.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from typing import Any

import gevent
from gunicorn.http import errors as http_errors
from gunicorn.workers.ggevent import GeventWorker
from werkzeug.exceptions import RequestTimeout

#: Discard at most this much of an unread body before closing (2x the default body limit
#: would do; WHMCS never sends more than a few hundred KiB).
DRAIN_MAX_BYTES = 8 * 1024 * 1024
DRAIN_SECONDS = 5.0
#: Whole-body read budget: a webhook body is a few KiB, sent at once by cURL.
BODY_SECONDS = 10.0
#: Per worker process. WHMCS opens one connection per PHP request in flight; behind a
#: reverse proxy every connection comes from the proxy, which must then buffer bodies itself.
MAX_CONNECTIONS_PER_ADDRESS = 200

# gunicorn's client-error exceptions -> (status, machine code); anything else is a 400
_CLIENT_ERRORS: list[tuple[type[Exception], int, str]] = [
    # ours, not the client's: a bad setting or a header the app tried to send
    (http_errors.ConfigurationProblem, 500, "internal_server_error"),
    (http_errors.InvalidResponseHeader, 500, "internal_server_error"),
    (http_errors.InvalidResponseHeaderName, 500, "internal_server_error"),
    (http_errors.LimitRequestLine, 414, "uri_too_long"),
    (http_errors.LimitRequestHeaders, 431, "request_header_fields_too_large"),
    (http_errors.UnsupportedTransferCoding, 501, "not_implemented"),
    (http_errors.ExpectationFailed, 417, "expectation_failed"),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden"),
    (http_errors.ParseException, 400, "bad_request"),
]
_REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout",
            414: "URI Too Long", 417: "Expectation Failed",
            431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, error code, message) for an error gunicorn raised before the app ran (pure)."""
    for cls, status, code in _CLIENT_ERRORS:
        if isinstance(exc, cls):
            if status == 500:
                break
            return status, code, str(exc) or code.replace("_", " ")
    return 500, "internal_server_error", "the request could not be handled"


def error_response(status: int, code: str, message: str) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 answer with a JSON body (pure)."""
    body = json.dumps({"error": code, "message": message}).encode()
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class DeadlineBody:
    """``wsgi.input`` whose reads together take at most ``seconds`` (then 408)."""

    def __init__(self, body: Any, seconds: float) -> None:
        self._body = body
        self._deadline = gevent.get_hub().loop.now() + seconds
        self.expired = False

    def _call(self, method: str, *args: Any) -> Any:
        left = self._deadline - gevent.get_hub().loop.now()
        try:
            with gevent.Timeout(max(left, 0.0)):
                return getattr(self._body, method)(*args)
        except gevent.Timeout:
            self.expired = True
            raise RequestTimeout("the request body did not arrive in time") from None

    def read(self, size: int | None = None) -> bytes:
        return self._call("read", size)

    def readline(self, size: int | None = None) -> bytes:
        return self._call("readline", size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return self._call("readlines", hint)

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def drain(body: Any, limit: int = DRAIN_MAX_BYTES, seconds: float = DRAIN_SECONDS) -> None:
    """Read and discard what is left of a request body, within ``limit`` and ``seconds``."""
    left = limit
    with gevent.Timeout(seconds, False):
        while left > 0 and (chunk := body.read(min(64 * 1024, left))):
            left -= len(chunk)


class BridgeGeventWorker(GeventWorker):
    """Gunicorn's gevent worker with the rules of the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_address: Counter[str] = Counter()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        peer = addr[0] if isinstance(addr, tuple) else ""
        if self.per_address[peer] >= MAX_CONNECTIONS_PER_ADDRESS:
            with contextlib.suppress(OSError):
                client.sendall(error_response(503, "service_unavailable",
                                              "too many connections from this address"))
            client.close()
            return
        self.per_address[peer] += 1
        try:
            super().handle(listener, client, addr)
        finally:
            self.per_address[peer] -= 1
            if not self.per_address[peer]:
                del self.per_address[peer]

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        original = req.body
        if original is not None:
            req.body = DeadlineBody(original, BODY_SECONDS)
        try:
            result = super().handle_request(listener_name, req, sock, addr)
        except StopIteration:  # the connection closes: leave no body unread behind
            if original is not None and not req.body.expired:
                drain(original)
            raise
        if original is not None and req.body.expired:
            raise StopIteration  # a body that missed its deadline ends the connection
        return result

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, code, message = classify(exc)
        if status == 500:
            self.log.exception("Error handling request")
        else:
            peer = addr[0] if isinstance(addr, tuple) else ""
            self.log.warning("Invalid request from ip=%s: %s", peer, exc)
        try:
            client.sendall(error_response(status, code, message))
        except OSError:
            self.log.debug("Failed to send error message.")
