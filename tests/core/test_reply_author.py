"""Issue 12.10: WHMCS refuses an AddTicketReply without an author, so the bridge needs
``whmcs.admin_username`` whenever it writes replies; ``doctor`` checks WHMCS knows that admin
(GetAdminUsers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_settings
from whmcs_bridge import doctor
from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.settings import SettingsError, reply_writers
from whmcs_bridge.sim import SimHandle, run_in_thread
from whmcs_bridge.sim.config import (
    ADMIN_USERNAME,
    READONLY_IDENTIFIER,
    READONLY_SECRET,
    ApiCredential,
    SimConfig,
    default_credentials,
)

WHMCS = {"url": "https://billing.example.test", "identifier": "i", "secret": "s"}


def test_replies_need_an_admin_username_by_default() -> None:
    # verification is on by default, and its replies (proof required, verified, refused)
    # are AddTicketReply calls: a real WHMCS refuses every one without an author
    with pytest.raises(SettingsError) as info:
        make_settings(whmcs=WHMCS)
    text = str(info.value)
    assert text.startswith("whmcs.admin_username: required when the bridge writes ticket "
                           "replies (verification.enabled is on)")


def test_the_billing_auto_reply_needs_it_too() -> None:
    with pytest.raises(SettingsError, match=r"whmcs\.admin_username: .*"
                                            r"\(channels\.billing_auto_reply is on\)"):
        make_settings(whmcs=WHMCS, verification={"enabled": False},
                      channels={"billing_department_ids": [2]})


@pytest.mark.parametrize("sections", [
    {"whmcs": {**WHMCS, "admin_username": "bridge"}},
    # nothing writes replies: the billing reply needs billing departments to fire
    {"whmcs": WHMCS, "verification": {"enabled": False}},
    {"whmcs": WHMCS, "verification": {"enabled": False},
     "channels": {"billing_auto_reply": False, "billing_department_ids": [2]}},
    {},  # no WHMCS at all: nothing is ever posted
])
def test_settings_that_load(sections: dict[str, Any]) -> None:
    make_settings(**sections)


def test_a_blank_admin_username_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^whmcs\.admin_username: "):
        make_settings(whmcs={**WHMCS, "admin_username": ""})


def test_reply_writers_is_pure() -> None:
    from whmcs_bridge.sla.settings import ChannelSettings
    from whmcs_bridge.verification.settings import VerificationSettings

    assert reply_writers({}) == []
    assert reply_writers({"verification": VerificationSettings().load({"enabled": True}),
                          "channels": ChannelSettings().load({"billing_auto_reply": True,
                                                              "billing_department_ids": [2]})
                          }) == ["verification.enabled", "channels.billing_auto_reply"]
    assert reply_writers({"channels": ChannelSettings().load({
        "billing_auto_reply": True, "billing_department_ids": []})}) == []


# --------------------------------------------------------------------------- doctor


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    gone = ApiCredential("sim-gone", "sim-gone-secret", "former", disabled=True)
    handle = run_in_thread(SimConfig(seed=3, clients=2, tickets=3,
                                     credentials=(*default_credentials(), gone)))
    yield handle
    handle.stop()


def _settings(sim: SimHandle, admin_username: str, **whmcs: Any) -> Any:
    return make_settings(whmcs={"url": sim.url, "identifier": sim.identifier,
                                "secret": sim.secret, "admin_username": admin_username,
                                **whmcs})


def _factory(**kwargs: Any) -> Any:
    return lambda s: WhmcsClient.from_settings(s, retries=0, **kwargs)


def test_doctor_finds_the_admin(sim: SimHandle) -> None:
    check = doctor.check_reply_admin(_settings(sim, ADMIN_USERNAME), _factory())
    assert check.state == doctor.OK
    assert check.summary == f"replies are posted as WHMCS admin {ADMIN_USERNAME!r} (#1)"
    # WHMCS finds admin usernames case-insensitively (MySQL's default collation)
    assert doctor.check_reply_admin(_settings(sim, "SimAdmin"), _factory()).state == doctor.OK


def test_doctor_fails_on_an_unknown_or_disabled_admin(sim: SimHandle) -> None:
    unknown = doctor.check_reply_admin(_settings(sim, "bridge"), _factory())
    assert unknown.state == doctor.FAIL
    assert unknown.summary.startswith("whmcs.admin_username 'bridge' is not a WHMCS admin "
                                      "(admins: former, simadmin, simreader)")
    disabled = doctor.check_reply_admin(_settings(sim, "former"), _factory())
    assert disabled.state == doctor.FAIL and "disabled" in disabled.summary


def test_doctor_warns_when_the_role_may_not_list_admins(sim: SimHandle) -> None:
    settings = make_settings(whmcs={"url": sim.url, "identifier": READONLY_IDENTIFIER,
                                    "secret": READONLY_SECRET, "admin_username": "simreader"})
    check = doctor.check_reply_admin(settings, _factory())
    assert check.state == doctor.WARN and "does not allow GetAdminUsers" in check.summary


def test_doctor_without_whmcs_or_without_replies_skips() -> None:
    assert doctor.check_reply_admin(make_settings()).state == doctor.OK
    quiet = make_settings(whmcs=WHMCS, verification={"enabled": False})
    assert "no feature posts ticket replies" in doctor.check_reply_admin(quiet).summary


def test_bridge_replies_name_the_admin(sim: SimHandle, sqlite_url: str) -> None:
    """post_bridge_reply queues the reply with ``adminusername``; the write sender sends it
    (as the worker does after commit) and WHMCS (and the simulator) accept it."""
    from types import SimpleNamespace

    from whmcs_bridge.store import make_engine
    from whmcs_bridge.tickets.replies import post_bridge_reply
    from whmcs_bridge.writes.send import send_due

    settings = _settings(sim, ADMIN_USERNAME)
    engine = make_engine(sqlite_url)
    client = WhmcsClient.from_settings(settings, retries=0)
    with engine.begin() as conn:
        ctx = SimpleNamespace(conn=conn, now=sim.state.now(), settings=settings,
                              whmcs=client)
        assert post_bridge_reply(ctx, 1, "Hello from the bridge", dedupe_key="t:1")
    report = send_due(engine, settings, whmcs=client, now=sim.state.now())
    engine.dispose()
    assert (report.sent, report.dead, report.failed) == (1, 0, 0)
    last = client.get_ticket(1).replies[-1]
    assert last.is_staff and last.message == "Hello from the bridge"
