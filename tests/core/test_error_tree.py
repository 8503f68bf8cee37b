"""One error tree: every exception the project defines is a BridgeError carrying a code and
an HTTP status, and the app's one handler answers any of them with the contract's JSON."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
import re
import subprocess
import sys
from typing import Any

import pytest
from flask import Flask

import whmcs_bridge
from tests.conftest import make_settings
from whmcs_bridge import errors
from whmcs_bridge.api import errors as api_errors
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.runtime import build_app

#: Exceptions deliberately outside the tree, with the reason.
OUTSIDE = {
    # click's way to end a command with exit status 1 / 78: the CLI raises it *from* a
    # BridgeError it caught, and click prints it; it never means anything to a caller
    "whmcs_bridge.cli.base.Failed": "click exit signal",
    "whmcs_bridge.cli.base.WhmcsRefused": "click exit signal",
    # private control flow inside the fast path (caught two lines up, never escapes)
}
#: The simulator plays WHMCS: its errors are WHMCS's answers (``result: error`` bodies, its
#: admin pages' form messages), not the bridge's; the bridge's handler must never answer them.
SIMULATOR = "whmcs_bridge.sim"


def _project_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(whmcs_bridge.__path__, "whmcs_bridge."):
        if info.name == SIMULATOR or info.name.startswith(SIMULATOR + "."):
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__ == module.__name__):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


PROJECT = _project_exceptions()


def test_the_walk_sees_every_room_including_hooks_and_webhooks() -> None:
    for name in ("whmcs_bridge.hooks.registry.UnknownHookError",
                 "whmcs_bridge.webhooks.gates.BadGateRequest",
                 "whmcs_bridge.api.errors.WhmcsError", "whmcs_bridge.settings.SettingsError",
                 "whmcs_bridge.store.ingest.StoreUnavailable", *OUTSIDE):
        assert name in PROJECT, name
    assert len(PROJECT) >= 35


@pytest.mark.parametrize("name", sorted(set(PROJECT) - set(OUTSIDE)))
def test_every_project_exception_is_a_bridge_error_with_code_and_status(name: str) -> None:
    cls = PROJECT[name]
    assert issubclass(cls, BridgeError), f"{name} is outside the error tree"
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", cls.code), (name, cls.code)
    assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 599, name


@pytest.mark.parametrize(("name", "builtin"), [
    ("whmcs_bridge.json_body.BodyError", ValueError),
    ("whmcs_bridge.event_schemas.EnvelopeError", ValueError),
    ("whmcs_bridge.webhooks.gates.BadGateRequest", ValueError),
    ("whmcs_bridge.verification.proofs.ProofInputError", ValueError),
    ("whmcs_bridge.api.encoding.PhpFormatError", ValueError),
    ("whmcs_bridge.hooks.registry.UnknownHookError", ValueError),
    ("whmcs_bridge.verification.service.NotFound", LookupError),
    ("whmcs_bridge.verification.service.LinkNotAvailable", RuntimeError),
    ("whmcs_bridge.verification.tokens.KeyNotConfigured", RuntimeError),
])
def test_builtin_bases_callers_catch_are_kept(name: str, builtin: type[Exception]) -> None:
    assert issubclass(PROJECT[name], builtin)


@pytest.mark.parametrize(("name", "status", "code"), [
    ("whmcs_bridge.signing.SignatureError", 401, "unauthorized"),
    ("whmcs_bridge.json_body.BodyError", 400, "bad_request"),
    ("whmcs_bridge.event_schemas.EnvelopeError", 400, "bad_request"),
    ("whmcs_bridge.webhooks.gates.BadGateRequest", 400, "bad_request"),
    ("whmcs_bridge.verification.proofs.ProofInputError", 400, "bad_request"),
    ("whmcs_bridge.verification.service.NotFound", 404, "not_found"),
    ("whmcs_bridge.verification.service.LinkNotAvailable", 409, "conflict"),
    ("whmcs_bridge.verification.tokens.KeyNotConfigured", 409, "conflict"),
    ("whmcs_bridge.store.ingest.StoreUnavailable", 503, "service_unavailable"),
    ("whmcs_bridge.api.errors.WhmcsError", 502, "whmcs_unavailable"),
    ("whmcs_bridge.api.errors.IpBannedError", 502, "whmcs_unavailable"),
])
def test_the_statuses_the_api_answers_live_on_the_classes(name: str, status: int,
                                                          code: str) -> None:
    assert (PROJECT[name].http_status, PROJECT[name].code) == (status, code)


def test_whmcs_error_keeps_whmcs_status_apart_from_the_bridges_answer() -> None:
    err = api_errors.IpNotAllowedError("GetTickets", 403, "Invalid IP 10.0.0.9")
    assert (err.whmcs_status, err.http_status) == (403, 502)
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), again.whmcs_status, str(again)) == (type(err), 403, str(err))


def test_the_error_module_is_pure() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys, whmcs_bridge.errors; print(sorted(m for m in "
         "sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'sqlalchemy')))"],
        capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- HTTP


class _Teapot(errors.BridgeError):
    code = "teapot_refused"
    http_status = 418


@pytest.fixture
def app(sqlite_url: str) -> Flask:
    app = build_app(make_settings(sqlite_url))
    raised: dict[str, Any] = {}

    @app.get("/_test/raise")
    def _raise() -> Any:
        raise raised["exc"]

    app.extensions["test_raise"] = raised
    return app


def _answer(app: Flask, exc: BaseException) -> Any:
    app.extensions["test_raise"]["exc"] = exc
    return app.test_client().get("/_test/raise")


@pytest.mark.parametrize(("exc", "status", "body"), [
    (errors.BadRequest("must be vi or en", field="lang"), 400,
     {"error": "bad_request", "message": "lang: must be vi or en",
      "errors": {"lang": ["must be vi or en"]}}),
    (errors.NotFound("ticket 5 is not known to the bridge"), 404,
     {"error": "not_found", "message": "ticket 5 is not known to the bridge"}),
    (errors.Conflict("already verified"), 409,
     {"error": "conflict", "message": "already verified"}),
    (_Teapot("no coffee here", field="drink"), 418,
     {"error": "teapot_refused", "message": "drink: no coffee here",
      "errors": {"drink": ["no coffee here"]}}),
], ids=["field", "not-found", "conflict", "own-subclass"])
def test_a_bridge_error_in_a_view_is_the_contract_json(app: Flask, exc: BridgeError,
                                                       status: int, body: dict[str, Any]) -> None:
    answer = _answer(app, exc)
    assert answer.status_code == status
    assert answer.mimetype == "application/json"
    assert answer.get_json() == body


def test_domain_errors_answer_their_own_status_and_fields(app: Flask) -> None:
    from whmcs_bridge.event_schemas import EnvelopeError
    from whmcs_bridge.json_body import BodyError
    from whmcs_bridge.signing import SignatureError
    from whmcs_bridge.verification.proofs import ProofInputError

    answer = _answer(app, ProofInputError("last4", "must be 4 digits"))
    assert (answer.status_code, answer.get_json()) == (400, {
        "error": "bad_request", "message": "last4: must be 4 digits",
        "errors": {"last4": ["must be 4 digits"]}})
    answer = _answer(app, BodyError("NaN is not valid JSON"))
    assert (answer.status_code, answer.get_json()) == (400, {
        "error": "bad_request", "message": "body is not valid JSON",
        "errors": {"body": ["NaN is not valid JSON"]}})
    answer = _answer(app, EnvelopeError({"data.ticketid": ["Not a valid id."]}))
    assert (answer.status_code, answer.get_json()["errors"]) == (
        400, {"data.ticketid": ["Not a valid id."]})
    answer = _answer(app, SignatureError("stale", "timestamp outside the tolerance"))
    assert (answer.status_code, answer.get_json()) == (401, {
        "error": "unauthorized", "message": "timestamp outside the tolerance",
        "reason": "stale"})


def test_a_failure_answers_its_status_without_its_internals(app: Flask) -> None:
    from whmcs_bridge.store.ingest import StoreUnavailable

    answer = _answer(app, StoreUnavailable("commit failed: OperationalError /var/lib/db"))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.get_json() == {"error": "service_unavailable",
                                 "message": "the event could not be stored; retry"}
    answer = _answer(app, api_errors.IpNotAllowedError("AddTicketReply", 403,
                                                       "Invalid IP 10.0.0.9"))
    assert answer.status_code == 502
    assert answer.get_json() == {"error": "whmcs_unavailable",
                                 "message": "WHMCS could not complete AddTicketReply; "
                                            "try again"}
    answer = _answer(app, errors.BridgeError("engine at postgresql://u:pw@db"))
    assert answer.status_code == 500 and "pw@db" not in answer.get_data(as_text=True)


def test_werkzeug_refusals_are_the_same_shape_and_keep_their_headers(app: Flask) -> None:
    answer = app.test_client().delete("/healthz")
    assert answer.status_code == 405 and answer.mimetype == "application/json"
    assert answer.get_json()["error"] == "method_not_allowed"
    assert "GET" in answer.headers["Allow"]
    answer = app.test_client().get("/no/such/page")
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
