"""Bounded fuzz: whatever form a caller posts, the simulator answers a WHMCS-shaped JSON
(success or a ``result: error`` message), never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sim.conftest import sim_config
from whmcs_bridge.sim import SimState, create_sim_app
from whmcs_bridge.sim.actions import ACTIONS
from whmcs_bridge.sim.config import DEFAULT_IDENTIFIER, DEFAULT_SECRET

STATE = SimState(sim_config(tickets=30, clients=5))
APP = create_sim_app(state=STATE)

KEYS = ["ticketid", "ticketnum", "replyid", "clientid", "deptid", "subject", "message",
        "status", "priority", "limitstart", "limitnum", "email", "name", "created",
        "adminusername", "customfields", "customvars", "messagename", "customtype", "id",
        "userid", "paymethodid", "type", "password2", "flag", "mergefields[x]",
        "attributes[0][label]", "ignore_dept_assignments", "repliessort", "serviceid"]
VALUES = st.one_of(st.text(max_size=12), st.integers(-5, 200).map(str),
                   st.sampled_from(["", "0", "1", "Open", "High", "Closed", "2099-01-01 00:00:00",
                                    "not-a-date", "YTowOnt9", "!!", "DESC", "general",
                                    "Support Ticket Reply"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action=st.sampled_from(sorted(ACTIONS)),
       params=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_any_form_gets_a_whmcs_answer(action, params):
    form = {"action": action, "identifier": DEFAULT_IDENTIFIER, "secret": DEFAULT_SECRET,
            "responsetype": "json", **params}
    response = APP.test_client().post("/includes/api.php", data=form)
    assert response.status_code == 200
    body = response.get_json()
    assert body["result"] in ("success", "error")
    if body["result"] == "error":
        assert isinstance(body["message"], str) and body["message"]
