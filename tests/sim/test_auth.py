"""Access control in the order WHMCS applies it: IP allow-list, credentials, role, action."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests

from tests.sim.conftest import ANCHOR, sim_config
from tests.sim.helpers import raw
from whmcs_bridge.api import (
    AccountDisabledError,
    AuthenticationError,
    InvalidAccessKeyError,
    IpBannedError,
    IpNotAllowedError,
    PermissionDeniedError,
    UnknownActionError,
    WhmcsClient,
)
from whmcs_bridge.sim import run_in_thread
from whmcs_bridge.sim.config import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    DEFAULT_ACCESS_KEY,
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    READONLY_IDENTIFIER,
    READONLY_SECRET,
    ApiCredential,
    default_credentials,
)


@pytest.fixture(scope="module")
def locked():
    handle = run_in_thread(sim_config(allowed_ips=("192.0.2.50",)))
    yield handle
    handle.stop()


def test_ip_not_allowed_is_403_with_the_ip(locked):
    response = raw(locked, "GetAdminDetails")
    assert response.status_code == 403
    assert response.json() == {"result": "error", "message": "Invalid IP 127.0.0.1"}
    with pytest.raises(IpNotAllowedError) as info:
        locked.client(retries=0).get_admin_details()
    assert info.value.ip == "127.0.0.1" and info.value.whmcs_status == 403


def test_access_key_bypasses_the_allow_list(locked):
    client = WhmcsClient(locked.url, DEFAULT_IDENTIFIER, DEFAULT_SECRET,
                         access_key=DEFAULT_ACCESS_KEY, retries=0)
    assert client.get_admin_details().adminid == 1
    wrong = WhmcsClient(locked.url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, access_key="nope",
                        retries=0)
    with pytest.raises(InvalidAccessKeyError) as info:  # a key was sent: it is checked
        wrong.get_admin_details()
    assert info.value.message == "Invalid Access Key"


def test_ip_check_comes_before_credentials(locked):
    response = raw(locked, "GetAdminDetails", identifier="bad", secret="bad")
    assert response.json()["message"].startswith("Invalid IP")


def test_bad_credentials(fresh_sim):
    response = raw(fresh_sim, "GetAdminDetails", identifier=DEFAULT_IDENTIFIER, secret="wrong")
    assert response.status_code == 403
    assert response.json() == {"result": "error", "message": "Authentication Failed"}
    with pytest.raises(AuthenticationError) as info:  # an identifier WHMCS does not know
        WhmcsClient(fresh_sim.url, "no-such-identifier", DEFAULT_SECRET,
                    retries=0).get_tickets()
    assert info.value.message == "Invalid or missing credentials"
    assert raw(fresh_sim, "GetAdminDetails", auth=False).json()["message"] == \
        "Invalid or missing credentials"


class _Clock:
    def __init__(self) -> None:
        self.now = ANCHOR

    def __call__(self):
        return self.now


def test_three_failed_logins_in_30_minutes_ban_the_ip():
    clock = _Clock()
    handle = run_in_thread(sim_config(clock=clock))
    try:
        for minutes in (0, 10):
            clock.now = ANCHOR + timedelta(minutes=minutes)
            assert raw(handle, "GetAdminDetails", secret="wrong").json()["message"] == \
                "Authentication Failed"
        clock.now = ANCHOR + timedelta(minutes=35)  # the first failure is out of the window
        raw(handle, "GetAdminDetails", secret="wrong")
        assert raw(handle, "GetAdminDetails").json()["result"] == "success"
        raw(handle, "GetAdminDetails", secret="wrong")
        # third failure within 30 minutes: from now on even the right credential is refused
        response = raw(handle, "GetAdminDetails")
        assert response.status_code == 403
        assert response.json() == {"result": "error", "message": "IP Banned"}
        with pytest.raises(IpBannedError):
            handle.client(retries=0).get_tickets()
        clock.now += timedelta(minutes=15)  # WHMCS's default ban time
        assert raw(handle, "GetAdminDetails").json()["result"] == "success"
        for _ in range(3):
            raw(handle, "GetAdminDetails", identifier="nobody")
        assert raw(handle, "GetAdminDetails").json()["message"] == "IP Banned"
        requests.delete(f"{handle.url}/_sim/bans", timeout=5)  # the admin lifts the ban
        assert raw(handle, "GetAdminDetails").json()["result"] == "success"
    finally:
        handle.stop()


def test_a_disabled_admin_is_refused():
    disabled = ApiCredential("sim-disabled", "sim-disabled-secret", "simgone", disabled=True)
    handle = run_in_thread(sim_config(credentials=(*default_credentials(), disabled)))
    try:
        with pytest.raises(AccountDisabledError) as info:
            WhmcsClient(handle.url, "sim-disabled", "sim-disabled-secret",
                        retries=0).get_admin_details()
        assert info.value.message == "Administrator Account Disabled"
        users = handle.client(retries=0).get_admin_users()
        assert "simgone" not in {u.username for u in users}
        everyone = handle.client(retries=0).get_admin_users(include_disabled=True)
        assert [u.is_disabled for u in everyone if u.username == "simgone"] == [True]
    finally:
        handle.stop()


def test_action_and_credential_in_the_query_string(sim):
    """api.php reads the whole request ($_REQUEST): third-party clients put ``action`` (and
    the credential, as in the access-control page's example) in the query string."""
    query = {"action": "GetAdminDetails", "identifier": DEFAULT_IDENTIFIER,
             "secret": DEFAULT_SECRET}
    response = requests.post(sim.api_url, params=query, data={"responsetype": "json"},
                             timeout=10)
    assert response.json()["result"] == "success" and response.json()["adminid"] == 1
    both = requests.post(sim.api_url, params={**query, "action": "GetFlyingCars"},
                         data={"action": "GetAdminDetails"}, timeout=10)
    assert both.json()["result"] == "success"  # the body wins, as POST over GET in PHP


def test_the_body_is_read_only_as_a_form(fresh_sim):
    """PHP fills $_POST only from a form body (application/x-www-form-urlencoded, as the
    sample code's curl sends ``http_build_query``, or multipart): the same fields under
    another content type are not read, so the credential is missing."""
    body = urlencode({"action": "GetAdminDetails", "identifier": DEFAULT_IDENTIFIER,
                      "secret": DEFAULT_SECRET, "responsetype": "json"})
    form = requests.post(fresh_sim.api_url, data=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert form.json()["result"] == "success"
    for content_type in ("text/plain", "application/json"):
        other = requests.post(fresh_sim.api_url, data=body, timeout=10,
                              headers={"Content-Type": content_type})
        assert other.status_code == 403
        assert other.json() == {"result": "error", "message": "Invalid or missing credentials"}


def test_get_admin_users_has_the_documented_shape(sim):
    body = raw(sim, "GetAdminUsers").json()
    assert body["result"] == "success" and body["count"] == len(body["admin_users"]) == 2
    assert isinstance(body["admin_users"], list)  # a bare array, not {"admin_user": [...]}
    first = body["admin_users"][0]
    assert {"id", "uuid", "roleId", "username", "firstname", "lastname", "email",
            "isDisabled", "supportDepartmentIds", "fullName"} <= set(first)
    assert isinstance(first["id"], int) and first["isDisabled"] == 0
    users = sim.client(retries=0).get_admin_users()
    assert [(u.id, u.username, u.is_disabled) for u in users] == [
        (1, ADMIN_USERNAME, False), (2, "simreader", False)]


def test_credentials_in_username_password_and_legacy_md5(sim):
    pair = raw(sim, "GetAdminDetails", auth=False, username=DEFAULT_IDENTIFIER,
               password=DEFAULT_SECRET)
    assert pair.json()["result"] == "success"
    digest = hashlib.md5(ADMIN_PASSWORD.encode()).hexdigest()
    legacy = raw(sim, "GetAdminDetails", auth=False, username=ADMIN_USERNAME,
                 password=digest)
    assert legacy.json()["result"] == "success"
    plain = raw(sim, "GetAdminDetails", auth=False, username=ADMIN_USERNAME,
                password=ADMIN_PASSWORD)
    assert plain.json()["message"] == "Authentication Failed"


def test_role_permissions(sim):
    reader = WhmcsClient(sim.url, READONLY_IDENTIFIER, READONLY_SECRET, retries=0)
    assert reader.get_tickets(limitnum=1).total == 120
    with pytest.raises(PermissionDeniedError) as info:
        reader.add_ticket_reply(1, "x", adminusername="simreader")
    assert info.value.message == 'Invalid Permissions: API action "addticketreply" is not ' \
        "allowed"
    assert info.value.whmcs_status == 403


def test_unknown_action(sim):
    with pytest.raises(UnknownActionError) as info:
        sim.client(retries=0).call("GetFlyingCars")
    assert info.value.message == "Command Not Found"


def test_post_only(sim):
    response = requests.get(sim.api_url, timeout=5)
    assert response.status_code == 405 and response.json()["result"] == "error"
