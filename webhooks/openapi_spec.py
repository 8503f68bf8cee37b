"""The bridge's HTTP API as an OpenAPI 3 document, built with apispec from marshmallow schemas.

Why an explicit registry (:data:`OPERATIONS`) rather than scraping view docstrings: the routes
are written by several rooms, and the description is a public contract the PHP module and
admins rely on; keeping it in one place makes it reviewable as a whole. A CI test
(``tests/openapi``) walks the Flask ``url_map`` and fails when a route is missing here or when
this registry names a route that does not exist, so the document cannot drift from the code.

Keys are Flask rules exactly as registered (``/api/tickets/<int:ticket_id>``); :func:`build_spec`
turns them into OpenAPI paths (``/api/tickets/{ticket_id}``) with typed path parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import INCLUDE, Schema, fields, validate

from whmcs_bridge import __version__
from whmcs_bridge.digits import MAX_ID
from whmcs_bridge.event_schemas import Envelope

OPENAPI_VERSION = "3.0.3"

LEVELS = ["urgent", "normal", "low"]
CHANNELS = ["client_area", "email", "phone", "chat", "staff"]
SLA_STATES = ["on_track", "at_risk", "breached", "met", "paused", "not_applicable"]
VERIFICATION_STATES = ["not_required", "required", "verified", "locked", "refused"]


# --------------------------------------------------------------------------- schemas
class OpenSchema(Schema):
    """Documentation schemas accept extra keys: answers may grow fields without breaking."""

    class Meta:
        unknown = INCLUDE


class ErrorSchema(OpenSchema):
    """Every error answer: a short machine code, a message, and field errors when relevant."""

    error = fields.String(metadata={"description": "machine code, e.g. `unauthorized`"})
    message = fields.String()
    errors = fields.Dict(metadata={"description": "field path -> list of messages"})


class HealthSchema(OpenSchema):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))
    version = fields.String()


class ReadySchema(OpenSchema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "unavailable"]))
    database = fields.String()
    schema = fields.String()
    hint = fields.String()
    error = fields.String()


class ReceiptSchema(OpenSchema):
    """What the receiver answers for a stored (202) or already stored (200) event."""

    id = fields.String(required=True, metadata={"description": "the webhook-id"})
    status = fields.String(required=True,
                           validate=validate.OneOf(["accepted", "ignored", "duplicate"]))


class GateDecisionSchema(OpenSchema):
    allow = fields.Boolean(required=True)
    reason = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    ticket_id = fields.Integer(allow_none=True)


class SlaSchema(OpenSchema):
    target_minutes = fields.Integer(allow_none=True)
    opened_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    first_response_due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    first_response_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    next_response_due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    state = fields.String(required=True, validate=validate.OneOf(SLA_STATES))
    remaining_seconds = fields.Integer(allow_none=True)


class VerificationStateSchema(OpenSchema):
    required = fields.Boolean(required=True)
    state = fields.String(required=True, validate=validate.OneOf(VERIFICATION_STATES))
    method = fields.String(allow_none=True)
    verified_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class TicketSchema(OpenSchema):
    """The enriched ticket of the staff API."""

    id = fields.Integer(required=True)
    tid = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS))
    status = fields.String(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    client_id = fields.Integer(allow_none=True)
    channel = fields.String(allow_none=True, validate=validate.OneOf(CHANNELS))
    sla = fields.Nested(SlaSchema, required=True)
    verification = fields.Nested(VerificationStateSchema, required=True)
    escalations = fields.List(fields.Dict())
    contact_preference = fields.String(allow_none=True)


class VerificationRequestSchema(OpenSchema):
    """A staff member records a verification from the ticket panel (method fields vary)."""

    method = fields.String(required=True)
    admin = fields.String(required=True, metadata={"description": "WHMCS admin username"})


class VerificationResultSchema(OpenSchema):
    """The outcome of one staff attempt, with the ticket's verification state after it."""

    outcome = fields.String(required=True, metadata={"description": "e.g. `verified`, "
                                                                     "`failed`, `link_sent`"})
    reason = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    verification = fields.Nested(VerificationStateSchema, required=True)


class AttemptSchema(OpenSchema):
    method = fields.String()
    outcome = fields.String()
    reason = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    at = fields.String(metadata={"format": "date-time"})


class VerificationRecordSchema(OpenSchema):
    ticket_id = fields.Integer(required=True)
    tid = fields.String(allow_none=True)
    client_id = fields.Integer(allow_none=True)
    changes = fields.List(fields.String())
    channel = fields.String(allow_none=True)
    verification = fields.Nested(VerificationStateSchema, required=True)
    verified_by = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    deadline_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    attempts = fields.List(fields.Nested(AttemptSchema))


class LoginFormSchema(Schema):
    token = fields.String(required=True, metadata={"description": "a staff API token"})


SCHEMAS: dict[str, type[Schema]] = {
    "Error": ErrorSchema,
    "Health": HealthSchema,
    "Ready": ReadySchema,
    "Envelope": Envelope,
    "Receipt": ReceiptSchema,
    "GateDecision": GateDecisionSchema,
    "Sla": SlaSchema,
    "VerificationState": VerificationStateSchema,
    "Ticket": TicketSchema,
    "VerificationRequest": VerificationRequestSchema,
    "VerificationResult": VerificationResultSchema,
    "Attempt": AttemptSchema,
    "VerificationRecord": VerificationRecordSchema,
    "LoginForm": LoginFormSchema,
}


# --------------------------------------------------------------------------- operations
JSON = "application/json"
HTML = "text/html"
TEXT = "text/plain"

SIGNED_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"},
     "description": desc}
    for name, desc in (
        ("webhook-id", "unique id of the message (Standard Webhooks)"),
        ("webhook-timestamp", "unix seconds; refused outside the tolerance (default ±300 s)"),
        ("webhook-signature", "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space separated"),
    )
]
LANG_QUERY = {"name": "lang", "in": "query", "required": False,
              "schema": {"type": "string", "enum": ["vi", "en"]}}
TZ_QUERY = {"name": "tz", "in": "query", "required": False, "schema": {"type": "string"},
            "description": "IANA zone for the times shown (default: `timezone`)"}


@dataclass(frozen=True)
class Op:
    """One documented operation. ``responses`` maps status -> (description, schema, media)."""

    summary: str
    tag: str
    responses: dict[int, tuple[str, Any, str]]
    body: tuple[Any, str] | None = None
    security: str | None = None  # "bearer", "signature", "session_or_bearer"
    parameters: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""


def _json(desc: str, schema: Any = "Error") -> tuple[str, Any, str]:
    return (desc, schema, JSON)


def _html(desc: str) -> tuple[str, Any, str]:
    return (desc, {"type": "string"}, HTML)


UNAUTHORIZED = _json("missing or invalid bearer token")
BAD_SIGNATURE = _json("missing or invalid signature, or stale timestamp")
SIGNED_ERRORS: dict[int, tuple[str, Any, str]] = {
    400: _json("bad JSON, or data failing the hook's schema (`errors` names the fields)"),
    401: BAD_SIGNATURE,
    413: _json("body over `webhooks.max_body_bytes`"),
    415: _json("body is not JSON"),
}

LINK_PAGE_RESPONSES: dict[int, tuple[str, Any, str]] = {
    200: _html("the page"), 400: _html("invalid link"), 403: _html("link of another client"),
    409: _html("already used, refused, changed or verified"), 410: _html("expired link"),
    429: _html("too many link requests from this address; see Retry-After"),
    503: _html("WHMCS could not be reached; try again later"),
}

#: Flask rule -> HTTP method -> operation. Every route of the app appears here exactly once.
OPERATIONS: dict[str, dict[str, Op]] = {
    "/healthz": {"get": Op("Process is alive", "health",
                           {200: _json("alive", "Health")})},
    "/readyz": {"get": Op("Database reachable and schema current", "health",
                          {200: _json("ready", "Ready"),
                           503: _json("not ready (database or schema)", "Ready")})},
    "/metrics": {"get": Op("Prometheus metrics (text exposition format)", "health",
                           {200: ("metrics", {"type": "string"}, TEXT)})},
    "/openapi.json": {"get": Op("This document", "meta",
                                {200: _json("the OpenAPI document", {"type": "object"})})},
    "/webhooks/whmcs": {"post": Op(
        "Receive a WHMCS hook event", "receiver",
        {202: _json("new event stored", "Receipt"),
         200: _json("same webhook-id already stored; nothing done twice", "Receipt"),
         503: _json("the store is unavailable; retry (Retry-After)"),
         **SIGNED_ERRORS},
        body=("Envelope", JSON), security="signature", parameters=SIGNED_HEADERS,
        description="An unknown `type` is stored as ignored and answered 202.")},
    "/gates/<hook>": {"post": Op(
        "Ask whether a change may go ahead (WHMCS waits for the answer)", "gates",
        {200: _json("the decision", "GateDecision"), 404: _json("no gate for this hook"),
         **SIGNED_ERRORS},
        body=("Envelope", JSON), security="signature", parameters=SIGNED_HEADERS)},
    "/api/tickets/<int:ticket_id>": {"get": Op(
        "The enriched ticket (SLA, verification, escalations)", "staff",
        {200: _json("the ticket", "Ticket"), 401: UNAUTHORIZED,
         404: _json("unknown ticket")},
        security="bearer")},
    "/api/tickets/<int:ticket_id>/panel": {"get": Op(
        "HTML fragment for the WHMCS admin ticket page", "staff",
        {200: _html("the panel; its root's `data-wb-verify-methods` lists the proofs staff "
                    "can record now (empty: no form)"),
         400: _json("bad `lang` or `tz`"), 401: UNAUTHORIZED,
         404: _json("unknown ticket")},
        security="bearer", parameters=[LANG_QUERY, TZ_QUERY])},
    "/api/tickets/<int:ticket_id>/verification": {
        "post": Op(
            "Check an ownership proof given to staff, or send the signed e-mail link",
            "staff",
            {200: _json("verification state after the attempt", "VerificationResult"),
             400: _json("bad request (`errors` names the fields)"), 401: UNAUTHORIZED,
             404: _json("no verification record for this ticket"),
             409: _json("verification not possible in this state"),
             502: _json("WHMCS could not check the proof; try again")},
            body=("VerificationRequest", JSON), security="bearer",
            description="`method` is one of the verification methods; `{\"method\": \"link\"}` "
                        "queues the signed link. Proof values are only sent to WHMCS."),
        "get": Op(
            "Verification state and the audit of attempts (never a proof)", "staff",
            {200: _json("the record", "VerificationRecord"), 401: UNAUTHORIZED,
             404: _json("no verification record for this ticket")},
            security="bearer"),
    },
    "/verify/<token>": {
        "get": Op("The customer's signed link: shows what is being approved (approves nothing)",
                  "verification", LINK_PAGE_RESPONSES, parameters=[LANG_QUERY]),
        "post": Op("The customer approves the change (the button on the link page)",
                   "verification", LINK_PAGE_RESPONSES, parameters=[LANG_QUERY]),
    },
    "/": {"get": Op("Leads to the dashboard", "dashboard",
                    {302: ("redirect to /dashboard", None, HTML)})},
    "/dashboard": {"get": Op(
        "SLA dashboard (HTML); shows the login form without a session", "dashboard",
        {200: _html("the dashboard, or the login form")},
        security="session_or_bearer", parameters=[LANG_QUERY])},
    "/dashboard/login": {"post": Op(
        "Log in to the dashboard with a staff token (sets a signed session cookie)",
        "dashboard",
        {303: ("logged in; redirect to the dashboard", None, HTML),
         400: _html("no token given"), 401: _html("wrong token: the form again"),
         403: _json("Origin (or Sec-Fetch-Site) is another site"),
         429: _html("too many failed sign-ins from this address; see Retry-After")},
        body=("LoginForm", "application/x-www-form-urlencoded"),
        parameters=[LANG_QUERY])},
    "/dashboard/logout": {"post": Op(
        "Log out of the dashboard", "dashboard",
        {303: ("session revoked on the server; redirect to the dashboard", None, HTML),
         403: _json("Origin (or Sec-Fetch-Site) is another site")})},
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "a staff token from `api.tokens`"},
    "session": {"type": "apiKey", "in": "cookie", "name": "wb_session",
                "description": "dashboard session cookie (signed with `server.secret_key`)"},
}

_CONVERTER_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}}
_RULE_PARAM = re.compile(r"<(?:(?P<conv>[a-z_]+)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/api/tickets/<int:ticket_id>`` -> (``/api/tickets/{ticket_id}``, path parameters)."""
    params: list[dict[str, Any]] = []

    def repl(match: re.Match[str]) -> str:
        conv, name = match.group("conv") or "string", match.group("name")
        schema: dict[str, Any] = dict(_CONVERTER_TYPES.get(conv, {"type": "string"}))
        if conv == "int":
            # the app's int converter (webhooks.app.WhmcsIdConverter): WHMCS ids, 1 … 2³¹−1;
            # anything else is a 404 at routing
            schema.update(minimum=1, maximum=MAX_ID)
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _RULE_PARAM.sub(repl, rule), params


def _operation(op: Op, path_params: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                           "operationId": None, "responses": {}}
    if op.description:
        out["description"] = op.description
    params = path_params + op.parameters
    if params:
        out["parameters"] = params
    if op.body is not None:
        schema, media = op.body
        out["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
    for status, (desc, schema, media) in sorted(op.responses.items()):
        response: dict[str, Any] = {"description": desc}
        if schema is not None:
            response["content"] = {media: {"schema": schema}}
        out["responses"][str(status)] = response
    if op.security == "bearer":
        out["security"] = [{"bearer": []}]
    elif op.security == "session_or_bearer":
        out["security"] = [{"session": []}, {"bearer": []}, {}]
    return out


def build_spec(operations: dict[str, dict[str, Op]] | None = None) -> dict[str, Any]:
    """The OpenAPI document as a dict (pure: no app, no I/O)."""
    operations = OPERATIONS if operations is None else operations
    spec = APISpec(
        title="whmcs-bridge",
        version=__version__,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "Signed webhook receiver, gates, staff API, dashboard and health "
                             "of whmcs-bridge. Signed requests follow Standard Webhooks."},
    )
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    for rule in sorted(operations):
        path, path_params = openapi_path(rule)
        ops = {}
        for method, op in operations[rule].items():
            body = _operation(op, path_params)
            body["operationId"] = _operation_id(method, rule)
            ops[method] = body
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def _operation_id(method: str, rule: str) -> str:
    words = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"by_\1", rule).strip("/")
    return method + "_" + re.sub(r"[^a-zA-Z0-9]+", "_", words).strip("_")


def documented_routes(operations: dict[str, dict[str, Op]] | None = None) -> set[tuple[str, str]]:
    """``{(flask rule, METHOD)}`` described by the registry."""
    operations = OPERATIONS if operations is None else operations
    return {(rule, method.upper()) for rule, ops in operations.items() for method in ops}


def app_routes(url_map: Any) -> set[tuple[str, str]]:
    """``{(flask rule, METHOD)}`` an app really serves (HEAD/OPTIONS and static left out)."""
    out: set[tuple[str, str]] = set()
    for rule in url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                out.add((rule.rule, method))
    return out
