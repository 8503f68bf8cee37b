"""``serve``'s web worker: gunicorn's gevent worker, with answers that stay clean under bad input.

Gunicorn lets a deployment name its own worker class (the documented ``worker_class``
setting); this one keeps the receiver's promises (README "How the HTTP side protects itself"):

* **Nothing unread is left behind at a close.** A request refused before its body was read
  (a 413) and answered with ``Connection: close`` was closed with the body still arriving; the
  kernel then *resets* the connection, and a reset can discard the answer before the client
  (the PHP module) reads it: it saw "bridge down" and retried. Before closing, what is left of
  the body is read and discarded, at most :data:`DRAIN_MAX_BYTES` for at most
  :data:`DRAIN_SECONDS`; after gunicorn's own refusals (400, 414, 431: the request was not
  even parsed) the socket is half-closed and read until the client closes, within the same
  bounds (:func:`linger`).
* **A body must arrive in time.** A client that sends its headers and then trickles its body
  holds a connection slot; reading a body takes at most :data:`BODY_SECONDS` in all (then 408
  and the connection closes). Gunicorn already bounds the headers: its ``keepalive`` timeout
  (5 s) covers reading each request's head.
* **One address holds only so many connections.** At most
  :data:`MAX_CONNECTIONS_PER_ADDRESS` per worker process; more are answered 503 at once and
  closed. The addresses in gunicorn's ``forwarded_allow_ips`` (the trusted reverse proxies,
  127.0.0.1 and ::1 by default) are not capped: behind a proxy every caller shares its
  address, and the proxy must buffer request bodies itself (nginx does by default).
* **Every error body is JSON.** Gunicorn's own refusals (malformed request line, 414, 431) are
  HTML pages; here they carry the same ``{"error", "message"}`` body as the app's answers.

Everything here runs in the worker's greenlets: reads are bounded with ``gevent.Timeout``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import ssl
from collections import Counter
from collections.abc import Iterator
from typing import Any

import gevent
from gunicorn.http import errors as http_errors
from gunicorn.workers.ggevent import GeventWorker
from werkzeug.exceptions import RequestTimeout

from whmcs_bridge.errors import error_body

#: Discard at most this much of an unread body before closing (8x the default body limit;
#: WHMCS never sends more than a few hundred KiB), for at most this long.
DRAIN_MAX_BYTES = 8 * 1024 * 1024
DRAIN_SECONDS = 5.0
#: Whole-body read budget: a webhook body is a few KiB, sent at once by cURL.
BODY_SECONDS = 10.0
#: Per worker process. WHMCS opens one connection per PHP request in flight.
MAX_CONNECTIONS_PER_ADDRESS = 200

# gunicorn's exceptions -> (status, machine code), first match wins; anything else is a 500
_ERRORS: list[tuple[type[BaseException], int, str]] = [
    # ours, not the client's: a bad setting or a header the app tried to send
    (http_errors.ConfigurationProblem, 500, "internal_server_error"),
    # (in the gunicorn versions we pin; types-gunicorn 26.2 does not list them yet)
    (http_errors.InvalidResponseHeader, 500, "internal_server_error"),  # type: ignore[attr-defined]
    (http_errors.InvalidResponseHeaderName, 500,  # type: ignore[attr-defined]
     "internal_server_error"),
    (http_errors.LimitRequestLine, 414, "uri_too_long"),
    (http_errors.LimitRequestHeaders, 431, "request_header_fields_too_large"),
    (http_errors.UnsupportedTransferCoding, 501, "not_implemented"),
    (http_errors.ExpectationFailed, 417, "expectation_failed"),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden"),
    (http_errors.ParseException, 400, "bad_request"),
    (ssl.SSLError, 403, "forbidden"),
]
_REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout",
            414: "URI Too Long", 417: "Expectation Failed",
            431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, error code, message) for an error gunicorn raised before the app ran (pure).
    A 500 never repeats the exception's text to the client."""
    for cls, status, code in _ERRORS:
        if isinstance(exc, cls):
            if status == 500:
                break
            return status, code, str(exc) or code.replace("_", " ")
    return 500, "internal_server_error", "the request could not be handled"


def error_response(status: int, code: str, message: str,
                   headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 answer with a JSON body (pure)."""
    body = json.dumps(error_body(code, message)).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode("latin-1") + body


class DeadlineBody:
    """``wsgi.input`` whose reads together take at most ``seconds`` (then 408 and the
    connection closes). Other attributes are the wrapped body's (gunicorn reads ``failed``)."""

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

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


def drain(body: Any, limit: int = DRAIN_MAX_BYTES, seconds: float = DRAIN_SECONDS) -> None:
    """Read and discard what is left of a request body, within ``limit`` and ``seconds``."""
    left = limit
    # Timeout(seconds, False): gevent's documented "expire silently" (its stubs omit False)
    with contextlib.suppress(OSError, ValueError, http_errors.ParseException), \
            gevent.Timeout(seconds, False):  # type: ignore[arg-type]
        while left > 0 and (chunk := body.read(min(64 * 1024, left))):
            left -= len(chunk)


def linger(sock: Any, limit: int = DRAIN_MAX_BYTES, seconds: float = DRAIN_SECONDS) -> None:
    """Half-close ``sock`` (our answer is complete) and read until the client closes its end,
    within ``limit`` bytes and ``seconds``: closing with unread data would reset the
    connection, and a reset can destroy the answer before the client has read it."""
    left = limit
    with contextlib.suppress(OSError), gevent.Timeout(seconds, False):  # type: ignore[arg-type]
        sock.shutdown(socket.SHUT_WR)
        while left > 0 and (chunk := sock.recv(min(64 * 1024, left))):
            left -= len(chunk)


def peer_address(addr: Any) -> str:
    """The peer's IP address ("" for a Unix socket)."""
    return str(addr[0]) if isinstance(addr, tuple) and addr else ""


def is_trusted_proxy(peer: str, allowed: list[str]) -> bool:
    """True when ``peer`` is one of gunicorn's ``forwarded_allow_ips`` (addresses or
    networks, ``*`` for all; pure)."""
    if "*" in allowed:
        return True
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in allowed:
        with contextlib.suppress(ValueError):
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
    return False


class BridgeGeventWorker(GeventWorker):
    """Gunicorn's gevent worker with the rules of the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_address: Counter[str] = Counter()
        self._uncapped: dict[str, bool] = {}

    def _capped(self, peer: str) -> bool:
        uncapped = self._uncapped.get(peer)
        if uncapped is None:
            if len(self._uncapped) > 10_000:
                self._uncapped.clear()
            uncapped = self._uncapped[peer] = is_trusted_proxy(
                peer, list(self.cfg.forwarded_allow_ips))
        return not uncapped

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        peer = peer_address(addr)
        if self._capped(peer) and self.per_address[peer] >= MAX_CONNECTIONS_PER_ADDRESS:
            with contextlib.suppress(OSError):
                client.sendall(error_response(
                    503, "service_unavailable", "too many connections from this address",
                    (("Retry-After", "5"),)))
            with contextlib.suppress(OSError):
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
        timed = DeadlineBody(original, BODY_SECONDS) if original is not None else None
        if timed is not None:
            req.body = timed
        try:
            super().handle_request(listener_name, req, sock, addr)
        except StopIteration:  # the connection closes: leave no body unread behind
            if timed is not None and not timed.expired:
                drain(original)
            raise
        finally:
            # gunicorn discards an unread body before the next request on a kept-alive
            # connection, under its own keepalive timeout: not under this request's deadline
            req.body = original
        if timed is not None and timed.expired:
            raise StopIteration  # a body that missed its deadline ends the connection

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, code, message = classify(exc)
        if status == 500:
            self.log.exception("Error handling request")
        else:
            self.log.warning("Invalid request from ip=%s: %s", peer_address(addr), exc)
        try:
            client.sendall(error_response(status, code, message))
        except OSError:
            self.log.debug("Failed to send error message.")
            return
        if status < 500:  # a refused request may still be arriving; a 500 is ours (or a
            linger(client)  # worker shutting down, which must not wait on its clients)
