"""Injected faults and the client's retry policy: reads retried on 5xx/429/timeouts, writes
never."""

from __future__ import annotations

import pytest
import requests

from tests.sim.conftest import sim_config
from whmcs_bridge.api import (
    InvalidResponseError,
    ServerError,
    WhmcsTimeoutError,
)
from whmcs_bridge.sim import run_in_thread


def fast_client(sim, **kwargs):
    kwargs.setdefault("retries", 2)
    return sim.client(backoff=0.01, backoff_jitter=0.01, **kwargs)


@pytest.mark.parametrize("kind", ["500", "502", "503", "429", "error_json_500"])
def test_reads_are_retried(fresh_sim, kind):
    fresh_sim.state.inject_fault(kind, count=2, action="GetTickets")
    page = fast_client(fresh_sim).get_tickets(limitnum=1)
    assert page.total == 120
    assert fresh_sim.state.calls["GetTickets"] == 3


def test_reads_give_up_after_the_retry_budget(fresh_sim):
    fresh_sim.state.inject_fault("503", count=10, action="GetTicket")
    with pytest.raises(ServerError) as info:
        fast_client(fresh_sim, retries=2).get_ticket(1)
    assert info.value.whmcs_status == 503 and info.value.retryable
    assert fresh_sim.state.calls["GetTicket"] == 3


@pytest.mark.parametrize("action", ["AddTicketReply", "ValidateLogin"])
def test_writes_are_never_retried(fresh_sim, action):
    fresh_sim.state.inject_fault("503", count=1, action=action)
    client = fast_client(fresh_sim, retries=5)
    before = len(fresh_sim.state.conversation(fresh_sim.state.tickets[1])[0])
    with pytest.raises(ServerError):
        if action == "AddTicketReply":
            client.add_ticket_reply(1, "once", adminusername="simadmin")
        else:
            client.validate_login("x@example.test", "pw")
    assert fresh_sim.state.calls[action] == 1
    assert len(fresh_sim.state.conversation(fresh_sim.state.tickets[1])[0]) == before


def test_timeouts_are_transport_errors():
    with run_in_thread(sim_config(timeout_fault_seconds=3.0)) as handle:
        handle.state.inject_fault("timeout", count=1, action="AddTicketNote")
        client = handle.client(retries=3, timeout=1.0, backoff=0.01)
        with pytest.raises(WhmcsTimeoutError) as info:
            client.add_ticket_note(1, "x")
        assert info.value.retryable and info.value.whmcs_status is None
        assert handle.state.calls["AddTicketNote"] == 1  # a write: not retried
        handle.state.inject_fault("timeout", count=1, action="GetTicket")
        assert client.get_ticket(1).id == 1  # a read: retried after the timeout
        assert handle.state.calls["GetTicket"] == 2


@pytest.mark.parametrize(("kind", "phrase"), [("html", "HTML"), ("empty", "empty"),
                                              ("garbage", "not JSON")])
def test_bad_bodies_with_200(fresh_sim, kind, phrase):
    fresh_sim.state.inject_fault(kind, count=1)
    with pytest.raises(InvalidResponseError, match=phrase) as info:
        fast_client(fresh_sim).get_tickets()
    assert not info.value.retryable and info.value.whmcs_status == 200


def test_php_notice_before_json(fresh_sim):
    fresh_sim.state.inject_fault("notice", count=1)
    assert fast_client(fresh_sim).get_admin_details().adminid == 1


def test_error_rate_one_fails_every_call():
    with run_in_thread(sim_config(error_rate=1.0, random_faults=("500",))) as handle:
        with pytest.raises(ServerError):
            fast_client(handle, retries=1).get_tickets()
        assert handle.state.calls["GetTickets"] == 2


def test_faults_over_http_endpoint(fresh_sim):
    url = fresh_sim.url + "/_sim/faults"
    assert requests.post(url, json={"kind": ""}, timeout=5).status_code == 400
    assert requests.post(url, json={"kind": "html", "count": 0}, timeout=5).status_code == 400
    assert requests.post(url, json={"kind": "html", "count": 3}, timeout=5).status_code == 201
    assert requests.delete(url, timeout=5).status_code == 200
    assert fast_client(fresh_sim).get_admin_details().adminid == 1


def test_latency_setting_still_answers():
    with run_in_thread(sim_config(latency_ms=5)) as handle:
        assert handle.client(retries=0).get_admin_details().adminid == 1


class FakeClock:
    """``time`` for the simulator's app: the action itself takes ``work`` seconds."""

    def __init__(self, start: float, work: float) -> None:
        self.now, self.work, self.slept = start, work, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.parametrize(("work", "slept"), [(0.030, 0.070), (0.0, 0.100), (0.250, 0.0)])
def test_latency_is_the_round_trip_with_the_simulators_work_inside(monkeypatch, work, slept):
    """The answer leaves latency_ms after the request arrived, not latency_ms plus the
    simulator's own work (a benchmark's floor is round trips × latency)."""
    from whmcs_bridge.sim import app as sim_app
    from whmcs_bridge.sim.config import ARRIVED_KEY, DEFAULT_IDENTIFIER, DEFAULT_SECRET

    clock = FakeClock(1000.0, work)
    app = sim_app.create_sim_app(sim_config(latency_ms=100))
    real_dispatch = sim_app._dispatch

    def slow_dispatch(*args, **kwargs):
        clock.now += clock.work
        return real_dispatch(*args, **kwargs)

    monkeypatch.setattr(sim_app, "time", clock)
    monkeypatch.setattr(sim_app, "_dispatch", slow_dispatch)
    answer = app.test_client().post(
        "/includes/api.php", environ_base={ARRIVED_KEY: 1000.0},
        data={"action": "GetAdminDetails", "identifier": DEFAULT_IDENTIFIER,
              "secret": DEFAULT_SECRET, "responsetype": "json"})
    assert answer.get_json()["result"] == "success"
    assert clock.slept == [slept]
