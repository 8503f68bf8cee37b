"""Each gate allowing and refusing, through signed requests on the Flask test client."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import TEST_SECRET, _fresh_pg_url, drop_pg_database
from tests.verification.helpers import NOW, vsettings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import policy, store

GATES = sorted(policy.GATE_CHANGES)
CLIENT = 42


def _data(hook: str, client_id: int | None = None) -> dict[str, Any]:
    client_id = CLIENT if client_id is None else client_id
    if hook.startswith("PreModule"):
        return {"params": {"serviceid": 7, "userid": client_id, "username": "u42"}}
    if hook == "ShoppingCartValidateUpgrade":
        return {"id": 7, "pid": 3, "userid": client_id}
    return {"userid": client_id, "firstname": "An", "email": "an@example.test"}


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def gate_app(request: Any, tmp_path_factory: Any) -> Any:
    """One migrated database and app per backend for the module (tests use their own client
    ids, so they never see each other's rows) — keeps the gate tests fast on PostgreSQL too."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('gates') / 'bridge.db'}"
    else:
        url = _fresh_pg_url(request.getfixturevalue("pg_database"))
    engine = make_engine(url)
    upgrade(engine)
    app = build_app(vsettings(url), engine=engine)
    yield app.test_client(), engine
    engine.dispose()
    if request.param == "postgres":
        drop_pg_database(url)


_ids = itertools.count(1000)


@pytest.fixture
def app_env(gate_app: Any) -> Any:
    global CLIENT
    CLIENT = next(_ids)
    return gate_app


def post(client: Any, hook: str, *, data: Any = None, actor: Any = None,
         secret: str = TEST_SECRET, raw: bytes | None = None) -> Any:
    envelope: dict[str, Any] = {"type": hook, "timestamp": NOW.isoformat(),
                                "data": _data(hook) if data is None else data}
    if actor is not None:
        envelope["actor"] = actor
    body = raw if raw is not None else json.dumps(envelope).encode()
    headers = signed_headers(secret, f"msg_{uuid.uuid4().hex}", body)
    return client.post(f"/gates/{hook}", data=body,
                       headers={**headers, "Content-Type": "application/json"})


def _request(engine: Any, state: str, *, changes: tuple[str, ...] = ("package_change",),
             n: int = 1, expires_in: timedelta | None = None,
             language: str = "en") -> None:
    now = utcnow()
    ticket_id = tid_of(n)
    with engine.begin() as conn:
        store.create_request(conn, ticket_id=ticket_id, client_id=CLIENT, tid=f"T-{ticket_id}",
                             changes=changes, channel="email", language=language, state=state,
                             now=now)
        if expires_in is not None:
            store.update_request(conn, ticket_id, now, expires_at=now + expires_in)


def tid_of(n: int = 1) -> int:
    return CLIENT * 10 + n


ADMIN: dict[str, Any] = {"type": "admin", "client_id": None, "user_id": None, "admin_id": 1,
         "admin_username": "alice"}


@pytest.mark.parametrize("hook", GATES)
def test_gate_allows_when_nothing_is_pending(app_env, hook) -> None:
    client, _ = app_env
    resp = post(client, hook, actor=ADMIN)
    assert resp.status_code == 200
    assert resp.get_json() == {"allow": True}


@pytest.mark.parametrize("hook", GATES)
def test_gate_refuses_open_unverified_request_naming_the_ticket(app_env, hook) -> None:
    client, engine = app_env
    _request(engine, "required")
    resp = post(client, hook, actor=ADMIN)
    body = resp.get_json()
    assert resp.status_code == 200
    assert set(body) == {"allow", "reason", "message", "ticket_id"}
    assert body["allow"] is False
    assert body["reason"] == "verification_required"
    assert body["ticket_id"] == tid_of()
    assert f"T-{tid_of()}" in body["message"]


@pytest.mark.parametrize("hook", GATES)
def test_gate_allows_the_clients_own_session(app_env, hook) -> None:
    client, engine = app_env
    _request(engine, "required")
    own = {"type": "client", "client_id": CLIENT, "user_id": 1042, "admin_id": None,
           "admin_username": None}
    assert post(client, hook, actor=own).get_json() == {"allow": True}
    other = {**own, "client_id": CLIENT + 1}
    assert post(client, hook, actor=other).get_json()["allow"] is False
    masquerading = {**own, "type": "masquerading_admin"}
    assert post(client, hook, actor=masquerading).get_json()["allow"] is False


@pytest.mark.parametrize("hook", GATES)
def test_gate_allows_when_a_verification_covers_the_change(app_env, hook) -> None:
    client, engine = app_env
    _request(engine, "required", n=0)
    _request(engine, "verified", n=1, changes=(policy.GATE_CHANGES[hook],),
             expires_in=timedelta(hours=1))
    assert post(client, hook, actor=ADMIN).get_json() == {"allow": True}


def test_expired_or_other_kind_verification_does_not_cover(app_env) -> None:
    client, engine = app_env
    _request(engine, "required", n=0)
    _request(engine, "verified", n=1, changes=("software_install",),
             expires_in=timedelta(hours=1))
    _request(engine, "verified", n=2, changes=("package_change",),
             expires_in=timedelta(hours=-1))
    body = post(client, "PreModuleChangePackage", actor=ADMIN).get_json()
    assert (body["allow"], body["ticket_id"]) == (False, tid_of(0))


@pytest.mark.parametrize(("state", "reason"), [("locked", "verification_locked"),
                                               ("refused", "verification_refused")])
def test_locked_and_refused_requests_refuse(app_env, state, reason) -> None:
    client, engine = app_env
    _request(engine, state, language="vi")
    body = post(client, "ClientDetailsValidation", actor=ADMIN).get_json()
    assert body["allow"] is False and body["reason"] == reason
    assert f"T-{tid_of()}" in body["message"]
    assert body["message"].startswith(("Không", "Chưa"))  # the client's language (vi)


def test_closed_ticket_no_longer_blocks(app_env) -> None:
    client, engine = app_env
    _request(engine, "required")
    with engine.begin() as conn:
        store.update_request(conn, tid_of(), utcnow(), closed_at=utcnow())
    assert post(client, "PreModuleCustom", actor=ADMIN).get_json() == {"allow": True}


def test_gate_rejects_unsigned_and_bad_requests(app_env) -> None:
    client, _ = app_env
    wrong = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    assert post(client, "PreModuleCustom", secret=wrong).status_code == 401
    assert client.post("/gates/PreModuleCustom", json={}).status_code == 401
    assert post(client, "TicketOpen").status_code == 404
    resp = post(client, "PreModuleCustom", raw=b"{not json")
    assert resp.status_code == 400 and "body" in resp.get_json()["errors"]
    resp = post(client, "PreModuleCustom", data={"params": {}}, actor=ADMIN)
    assert resp.status_code == 400 and "data.client_id" in resp.get_json()["errors"]
    resp = post(client, "PreModuleCustom", actor={"type": "wizard"})
    assert resp.status_code == 400 and "actor.type" in resp.get_json()["errors"]
    resp = post(client, "PreModuleCustom", data=[1, 2])
    assert resp.status_code == 400 and "data" in resp.get_json()["errors"]


@pytest.mark.parametrize(("data", "actor", "field"), [
    # a client id past 32 bits reached the store query (OverflowError on SQLite, a 500), and
    # 5000 digits passed the digits check and crashed int() (ValueError, a 500)
    ({"userid": str(10**30)}, None, "data.client_id"),
    ({"params": {"userid": 2**63}}, None, "data.client_id"),
    (None, {"type": "admin", "client_id": "9" * 5000}, "actor.client_id"),
    (None, {"type": "client", "client_id": 10**30}, "actor.client_id"),
])
def test_gate_refuses_ids_out_of_range_naming_the_field(app_env, data, actor, field) -> None:
    client, _ = app_env
    resp = post(client, "PreModuleCustom", data=data, actor=actor)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert field in resp.get_json()["errors"]


# --- issue 12.1: a client being added has nothing to verify ----------------------------------

SIGNUP_FORM = {"firstname": "An", "lastname": "Nguyen", "email": "new@example.test",
               "country": "VN", "phonenumber": "+84.901234567", "securityqid": "1"}


@pytest.mark.parametrize("actor", [
    {"type": "system", "client_id": None},  # sign-up or checkout with a new account
    ADMIN,  # the admin's "Add New Client"
    {"type": "api", "client_id": None},  # API AddClient
    None,
])
def test_new_client_is_allowed(app_env, actor) -> None:
    client, engine = app_env
    _request(engine, "locked")  # someone else's pending request changes nothing
    resp = post(client, "ClientDetailsValidation", data=SIGNUP_FORM, actor=actor)
    assert resp.status_code == 200, resp.get_json()  # was 400: every sign-up refused
    assert resp.get_json() == {"allow": True}


def test_new_client_needs_no_unreadable_client_key(app_env) -> None:
    client, _ = app_env
    resp = post(client, "ClientDetailsValidation", data={**SIGNUP_FORM, "userid": "12x"},
                actor=ADMIN)
    assert resp.status_code == 400
    assert "data.userid" in resp.get_json()["errors"]["data.client_id"][0]


# --- issue 12.2: automatic provisioning by the system ----------------------------------------

SYSTEM = {"type": "system", "client_id": None, "user_id": None, "admin_id": None,
          "admin_username": None}


@pytest.mark.parametrize("hook", sorted(policy.MODULE_HOOKS))
def test_system_module_command_is_allowed_while_staff_is_refused(app_env, hook) -> None:
    client, engine = app_env
    _request(engine, "required")
    assert post(client, hook, actor=SYSTEM).get_json() == {"allow": True}
    assert post(client, hook, actor=ADMIN).get_json()["allow"] is False
    assert post(client, hook, actor={**ADMIN, "type": "api"}).get_json()["allow"] is False


def test_system_module_command_is_refused_while_locked(app_env) -> None:
    client, engine = app_env
    _request(engine, "locked")
    body = post(client, "PreModuleChangePackage", actor=SYSTEM).get_json()
    assert (body["allow"], body["reason"], body["ticket_id"]) == (
        False, "verification_locked", tid_of())


def test_system_is_gated_outside_module_commands(app_env) -> None:
    client, engine = app_env
    _request(engine, "required")
    assert post(client, "ClientDetailsValidation", actor=SYSTEM).get_json()["allow"] is False


# --- issue 12.4: an admin's own session client is not the target -----------------------------


@pytest.mark.parametrize("actor_type", ["admin", "masquerading_admin"])
def test_admins_session_client_is_not_checked(app_env, actor_type) -> None:
    """An admin who logged in as owner of CLIENT (pending request) edits another client: the
    bridge checked CLIENT and refused (or, with no id in the data, took CLIENT for the target)."""
    client, engine = app_env
    _request(engine, "required")
    actor = {**ADMIN, "type": actor_type, "client_id": CLIENT}
    other = {"userid": CLIENT + 500, "firstname": "Binh", "email": "b@example.test"}
    assert post(client, "ClientDetailsValidation", data=other, actor=actor).get_json() == {
        "allow": True}
    resp = post(client, "ShoppingCartValidateUpgrade", data={"id": 7, "pid": 3}, actor=actor)
    assert resp.status_code == 400 and "data.client_id" in resp.get_json()["errors"]


# --- issue 13.5: which client a gate checks --------------------------------------------------


@pytest.mark.parametrize("hook", sorted(policy.MODULE_HOOKS))
def test_service_owner_decides_not_a_top_level_key(app_env, hook) -> None:
    client, engine = app_env
    _request(engine, "required")
    forged = {"client_id": CLIENT + 500, "userid": CLIENT + 501,
              "params": {"serviceid": 7, "userid": CLIENT, "username": "u42"}}
    body = post(client, hook, data=forged, actor=ADMIN).get_json()
    assert (body["allow"], body["ticket_id"]) == (False, tid_of())  # was allowed: 500 checked
    details_only = {"params": {"serviceid": 7, "clientsdetails": {"userid": CLIENT, "id": CLIENT}}}
    assert post(client, hook, data=details_only, actor=ADMIN).get_json()["allow"] is False


def test_user_id_is_not_taken_for_the_client(app_env) -> None:
    client, engine = app_env
    _request(engine, "required")
    # userId is the WHMCS user (a login) who may also manage CLIENT; the service is another's
    data = {"userId": CLIENT, "params": {"serviceid": 7, "userid": CLIENT + 500}}
    assert post(client, "PreModuleCustom", data=data, actor=ADMIN).get_json() == {"allow": True}
    resp = post(client, "ContactDetailsValidation", data={"userId": CLIENT}, actor=ADMIN)
    assert resp.status_code == 400 and "data.client_id" in resp.get_json()["errors"]
