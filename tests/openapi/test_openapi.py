"""The OpenAPI document matches the app's routes exactly and is a valid OpenAPI 3 document."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.conftest import make_settings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.webhooks.openapi_spec import (
    Op,
    app_routes,
    build_spec,
    documented_routes,
    openapi_path,
)


@pytest.fixture
def app(sqlite_url: str) -> Any:
    return build_app(make_settings(sqlite_url))


def test_every_route_is_documented_and_every_documented_route_exists(app: Any) -> None:
    served = app_routes(app.url_map)
    documented = documented_routes()
    missing, ghosts = sorted(served - documented), sorted(documented - served)
    assert not missing, f"routes missing from the OpenAPI registry: {missing}"
    assert not ghosts, f"documented routes the app does not serve: {ghosts}"


def test_served_document_is_valid_openapi_and_lists_every_route(app: Any) -> None:
    resp = app.test_client().get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    validate(doc)
    served_paths = {openapi_path(rule)[0] for rule, _ in app_routes(app.url_map)}
    assert served_paths == set(doc["paths"])


def test_rule_conversion_types_path_parameters() -> None:
    path, params = openapi_path("/api/tickets/<int:ticket_id>/panel")
    assert path == "/api/tickets/{ticket_id}/panel"
    assert params[0]["name"] == "ticket_id"
    assert params[0]["schema"]["type"] == "integer"
    # the bounds the app's id converter enforces (outside them: 404 at routing)
    from whmcs_bridge.webhooks.app import WhmcsIdConverter

    assert (params[0]["schema"]["minimum"], params[0]["schema"]["maximum"]) == (
        1, WhmcsIdConverter.MAX)
    path, params = openapi_path("/gates/<hook>")
    assert (path, params[0]["schema"]["type"]) == ("/gates/{hook}", "string")


def test_route_checks_catch_drift_both_ways() -> None:
    """The comparison really fails: a registry without /healthz, or with a ghost route."""
    from whmcs_bridge.webhooks.openapi_spec import OPERATIONS

    ghost = {**OPERATIONS, "/ghost": {"get": Op("ghost", "meta", {200: ("x", None, "text/plain")})}}
    assert ("/ghost", "GET") in documented_routes(ghost) - documented_routes()
    fewer = {k: v for k, v in OPERATIONS.items() if k != "/healthz"}
    assert ("/healthz", "GET") not in documented_routes(fewer)


def test_ticket_schema_names_the_contract_enums() -> None:
    doc = build_spec()
    sla = doc["components"]["schemas"]["Sla"]["properties"]["state"]
    assert set(sla["enum"]) == {"on_track", "at_risk", "breached", "met", "paused",
                                "not_applicable"}
    bearer = doc["paths"]["/api/tickets/{ticket_id}"]["get"]["security"]
    assert bearer == [{"bearer": []}]
