"""The bridge's one error tree: every exception the project raises on purpose is a
:class:`BridgeError`.

Each class says, as class attributes, what it means to a caller: ``code``, a short snake_case
machine code, and ``http_status``, the status the bridge answers with when the error ends an
HTTP request (:mod:`whmcs_bridge.webhooks.errors` writes the body). The library raises and
never talks HTTP itself; the CLI and the worker catch the same classes.

The kinds below (:class:`BadRequest`, :class:`Unauthorized`, :class:`NotFound`,
:class:`Conflict`, :class:`Unavailable`) carry the codes the HTTP API has always answered
(``bad_request``, ``not_found``…, as Werkzeug names its statuses): they are the contract, so
a domain error takes its kind's code unless it has a reason to say more. Classes that also
derive from ``ValueError``/``LookupError``/``RuntimeError`` keep that base: callers catch it.

The body of an error answer (design.md, README "HTTP endpoints") is
``{"error": <code>, "message": <text>}`` plus ``"errors": {<field path>: [<message>, ...]}``
when a field is wrong (:func:`error_body`). A refusal (4xx) shows ``str(exc)``, which names
the caller's mistake; a failure (5xx) shows :meth:`BridgeError.public_message`, so driver
errors, paths and WHMCS's own texts stay in the log.

Pure: no Flask, no I/O.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["BadRequest", "BridgeError", "Conflict", "NotFound", "Unauthorized", "Unavailable",
           "error_body"]


def error_body(code: str, message: str, errors: dict[str, list[str]] | None = None,
               **extra: Any) -> dict[str, Any]:
    """The JSON body of every error answer, in the contract's key order."""
    body: dict[str, Any] = {"error": code, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


class BridgeError(Exception):
    """The root: something the bridge refuses (4xx) or cannot do (5xx).

    ``BridgeError(message, field="data.ticketid")`` names the wrong field: ``str()`` is then
    ``"<field>: <message>"`` and :attr:`errors` ``{field: [message]}``.
    """

    #: Machine-readable, snake_case; the ``error`` member of the HTTP body.
    code: ClassVar[str] = "internal_error"
    #: The status the bridge answers with when this error ends a request.
    http_status: ClassVar[int] = 500
    #: Seconds after which trying again may succeed (the ``Retry-After`` header), if it may.
    retry_after: ClassVar[int | None] = None

    #: The wrong field's name (a 4xx about one field), else None.
    field: str | None = None
    #: Field path -> messages, when the error is about fields.
    errors: dict[str, list[str]] | None = None

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        if field is not None:
            self.field = field
            self.errors = {field: [message]}
            message = f"{field}: {message}"
        super().__init__(message)

    def public_message(self) -> str:
        """The text the caller is shown. A refusal names the caller's mistake; a failure says
        only what happened, never its internals (they go to the log)."""
        if self.http_status < 500:
            return str(self)
        return "the request could not be handled"

    def body(self) -> dict[str, Any]:
        """The HTTP answer's JSON body (:func:`error_body`)."""
        return error_body(self.code, self.public_message(), self.errors)


class BadRequest(BridgeError):
    """The request (or a value a command was given) is malformed; names the field."""

    code = "bad_request"
    http_status = 400


class Unauthorized(BridgeError):
    """The caller is not proven to be who may do this."""

    code = "unauthorized"
    http_status = 401


class NotFound(BridgeError):
    """What the request names does not exist (for the bridge)."""

    code = "not_found"
    http_status = 404


class Conflict(BridgeError):
    """A valid request the bridge's current state does not allow (a link for a ticket that
    needs none, a replay of an event in flight)."""

    code = "conflict"
    http_status = 409


class Unavailable(BridgeError):
    """A passing failure on the bridge's side: the caller should retry."""

    code = "service_unavailable"
    http_status = 503
