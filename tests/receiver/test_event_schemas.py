"""The hook ``$vars`` schemas and the envelope, as pure functions (no app, no database)."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from whmcs_bridge.event_schemas import (
    SCHEMAS,
    EnvelopeError,
    drop_secret_keys,
    error_paths,
    is_handled,
    load_envelope,
    load_event_data,
)
from whmcs_bridge.hooks.names import GATE_HOOKS, KNOWN_HOOKS
from whmcs_bridge.server import RECEIVER_OPTIONS, freeze_startup_objects, receiver_options

PARAMS = {"serviceid": "55", "userid": "7", "pid": "3", "serverid": "1", "domain": "ex.vn",
          "username": "exvn", "password": "svc-pass", "serverpassword": "root-pass",
          "serveraccesshash": "WHM-HASH", "clientsdetails": {"email": "a@ex.vn",
                                                            "password": "cli-pass"},
          "configoptions": {"Disk": "10"}}

#: One sample per handled hook, with ids as WHMCS sends them (strings) and the id that must
#: come out as an int.
SAMPLES: dict[str, tuple[dict[str, Any], str]] = {
    "TicketOpen": ({"ticketid": "10", "ticketmask": "ABC-1", "userid": "7", "deptid": "1",
                    "deptname": "Tech", "subject": "s", "message": "m", "priority": "High"},
                   "ticketid"),
    "TicketOpenAdmin": ({"ticketid": "10", "userid": "", "deptid": 1}, "ticketid"),
    "TicketUserReply": ({"ticketid": "10", "replyid": "99", "userid": "7", "status":
                         "Customer-Reply"}, "replyid"),
    "TicketAdminReply": ({"ticketid": "10", "replyid": "100", "admin": "Ann"}, "replyid"),
    "TicketAddNote": ({"ticketid": "10", "message": "n", "adminid": "2", "attachments": ""},
                      "adminid"),
    "TicketStatusChange": ({"ticketid": "10", "status": "On Hold", "adminid": "2"},
                           "ticketid"),
    "TicketPriorityChange": ({"ticketid": "10", "priority": "Low"}, "ticketid"),
    "TicketDepartmentChange": ({"ticketid": "10", "deptid": "4", "deptname": "Sales"},
                               "deptid"),
    "TicketSubjectChange": ({"ticketid": "10", "subject": "new"}, "ticketid"),
    "TicketFlagged": ({"ticketid": "10", "adminid": "0", "adminname": ""}, "ticketid"),
    "TicketClose": ({"ticketid": "10"}, "ticketid"),
    "TicketDelete": ({"ticketId": "10", "adminId": "2"}, "ticketId"),
    "TicketDeleteReply": ({"ticketId": "10", "replyId": "5", "adminId": 2}, "replyId"),
    "TicketMerge": ({"mergedTicketIds": ["11", 12], "masterTicketId": "10"},
                    "masterTicketId"),
    "TicketSplit": ({"originalTicketId": "10", "newTicketID": "13"}, "newTicketID"),
    "TicketPiping": ({"to": "support@ex.vn", "cc": [], "name": "A", "email": "a@ex.vn",
                      "subject": "s", "body": "b", "attachments": []}, ""),
    "ClientEdit": ({"userid": "7", "uuid": "u", "email": "a@ex.vn",
                    "olddata": {"email": "old@ex.vn"}}, "userid"),
    "ClientAdd": ({"client_id": "7", "user_id": "70", "userid": "7", "password": "p1"},
                  "client_id"),
    "ClientChangePassword": ({"userid": "7", "password": "p2"}, "userid"),
    "UserChangePassword": ({"userid": "70", "password": "p3"}, "userid"),
    "UserEdit": ({"user_id": "70", "email": "b@ex.vn", "olddata": {"email": "a@ex.vn"}},
                 "user_id"),
    "UserAdd": ({"user_id": "71", "email": "c@ex.vn", "password": "p4", "language": "vi"},
                "user_id"),
    "ContactAdd": ({"userid": "7", "contactid": "3"}, "contactid"),
    "ContactEdit": ({"userid": "7", "contactid": "3", "olddata": {}}, "contactid"),
    "ContactDelete": ({"userid": "7", "contactid": "3"}, "contactid"),
    "ClientClose": ({"userid": "7"}, "userid"),
    "PreDeleteClient": ({"userid": "7"}, "userid"),
    "AfterModuleChangePackage": ({"params": PARAMS}, ""),
    "AfterModuleChangePassword": ({"serviceid": "55", "oldpassword": "old-pw",
                                   "newpassword": "new-pw"}, "serviceid"),
    "AfterModuleCustom": ({"params": PARAMS}, ""),
    "AfterProductUpgrade": ({"upgradeid": "8"}, "upgradeid"),
    "AfterConfigOptionsUpgrade": ({"upgradeid": "9"}, "upgradeid"),
    "ServiceEdit": ({"serviceid": "55", "userid": "7"}, "serviceid"),
    "AdminServiceEdit": ({"serviceid": "55", "userid": "7"}, "serviceid"),
    "CancellationRequest": ({"userid": "7", "relid": "55", "reason": "r", "type": "Immediate"},
                            "relid"),
    "InvoicePaid": ({"invoiceid": "1001"}, "invoiceid"),
}

SECRET_VALUES = ("p1", "p2", "p3", "p4", "svc-pass", "root-pass", "WHM-HASH", "cli-pass",
                 "old-pw", "new-pw")


def test_every_handled_hook_has_a_sample_and_is_a_known_event_hook() -> None:
    assert set(SAMPLES) == set(SCHEMAS)
    assert set(SCHEMAS) <= KNOWN_HOOKS
    assert not set(SCHEMAS) & GATE_HOOKS  # gates are answered, not queued


@pytest.mark.parametrize("hook", sorted(SAMPLES))
def test_sample_loads_with_ids_coerced_and_secrets_dropped(hook: str) -> None:
    data, id_key = SAMPLES[hook]
    loaded = load_event_data(hook, {**data, "addedIn99": {"x": 1}})
    if id_key:
        assert isinstance(loaded[id_key], int) and not isinstance(loaded[id_key], bool)
    assert loaded["addedIn99"] == {"x": 1}  # unknown keys kept (INCLUDE)
    assert not any(secret in repr(loaded) for secret in SECRET_VALUES)


@pytest.mark.parametrize("hook", sorted(h for h, (_, key) in SAMPLES.items() if key))
def test_missing_or_bad_id_names_the_field(hook: str) -> None:
    data, id_key = SAMPLES[hook]
    with pytest.raises(ValidationError) as info:
        load_event_data(hook, {**data, id_key: "12abc"})
    assert id_key in info.value.messages


def test_module_params_are_nested_and_scrubbed() -> None:
    loaded = load_event_data("AfterModuleChangePackage", {"params": PARAMS})
    params = loaded["params"]
    assert params["serviceid"] == 55 and params["userid"] == 7
    assert "password" not in params and "serverpassword" not in params
    assert "serveraccesshash" not in params
    assert params["clientsdetails"] == {"email": "a@ex.vn"}
    assert params["configoptions"] == {"Disk": "10"}


@pytest.mark.parametrize(("raw", "expected"), [("12", 12), (12, 12), (" 7 ", 7), ("0", 0),
                                               ("2147483647", 2**31 - 1), ("007", 7)])
def test_ids_coerce(raw: Any, expected: int) -> None:
    assert load_event_data("TicketClose", {"ticketid": raw})["ticketid"] == expected


# "²" and "٣" pass str.isdigit(): "²" used to raise ValueError (a 500), "٣" to load as 3
@pytest.mark.parametrize("raw", ["12abc", 1.5, True, -3, "", None, [1], "1e3",
                                 "\u00b2", "\u0663", "1\uff12",
                                 2**31, "2147483648", "9" * 5000, 10**30])
def test_bad_required_ids_are_refused(raw: Any) -> None:
    with pytest.raises(ValidationError) as info:
        load_event_data("TicketClose", {"ticketid": raw})
    assert "ticketid" in info.value.messages


def test_optional_empty_id_is_none() -> None:
    assert load_event_data("TicketOpen", {"ticketid": 1, "userid": ""})["userid"] is None


def test_client_add_needs_some_client_id() -> None:
    assert load_event_data("ClientAdd", {"userid": "9"})["userid"] == 9
    with pytest.raises(ValidationError) as info:
        load_event_data("ClientAdd", {"email": "a@ex.vn"})
    assert "client_id" in info.value.messages


def test_after_module_change_password_takes_its_documented_vars() -> None:
    """hooks-reference/module.md: serviceid, oldpassword, newpassword, no params (issue 12.6)."""
    loaded = load_event_data("AfterModuleChangePassword", {
        "serviceid": "55", "oldpassword": "old-pw", "newpassword": "new-pw"})
    assert loaded == {"serviceid": 55}
    with pytest.raises(ValidationError) as info:
        load_event_data("AfterModuleChangePassword", {"oldpassword": "a", "newpassword": "b"})
    assert set(info.value.messages) == {"serviceid"}
    # a release that sends the module params instead still names its service
    assert load_event_data("AfterModuleChangePassword", {"params": PARAMS})["serviceid"] == 55


@pytest.mark.parametrize("key", ["newTicketID", "newTicketId"])
def test_ticket_split_new_ticket_loads_under_one_key(key: str) -> None:
    """The docs say newTicketID, some releases send newTicketId (issue 12.7)."""
    loaded = load_event_data("TicketSplit", {"originalTicketId": "10", key: "13"})
    assert loaded == {"originalTicketId": 10, "newTicketID": 13}


def test_ticket_split_with_both_spellings_must_agree() -> None:
    both = {"originalTicketId": "10", "newTicketID": "13", "newTicketId": 13}
    assert load_event_data("TicketSplit", both) == {"originalTicketId": 10, "newTicketID": 13}
    with pytest.raises(ValidationError) as info:
        load_event_data("TicketSplit", {**both, "newTicketId": "14"})
    assert "newTicketId" in info.value.messages


def test_client_edit_drops_two_factor_data_at_any_depth() -> None:
    """ClientEdit carries authmodule/authdata (two-factor): never stored (issue 12.8)."""
    loaded = load_event_data("ClientEdit", {
        "userid": "7", "authmodule": "totp", "AuthData": "otp-seed",
        "olddata": {"authmodule": "totp", "authdata": "old-seed", "email": "a@ex.vn"}})
    assert loaded == {"userid": 7, "olddata": {"email": "a@ex.vn"}}


def test_scrub_is_recursive_and_case_insensitive() -> None:
    data = {"Password": "x", "a": [{"serverPassword": "y", "keep": 1}], "b": {"CCCVV": "1"}}
    assert drop_secret_keys(data) == {"a": [{"keep": 1}], "b": {}}


def test_unhandled_types_are_not_handled_but_scrubbed() -> None:
    assert not is_handled("DailyCronJob") and not is_handled("NoSuchHook")
    assert load_event_data("NoSuchHook", {"password": "x", "k": 1}) == {"k": 1}


def test_error_paths_flatten_nested_and_list_errors() -> None:
    messages = {"params": {"serviceid": ["bad"]}, "mergedTicketIds": {1: ["bad id"]},
                "_schema": ["whole"]}
    assert error_paths(messages, "data") == {
        "data.params.serviceid": ["bad"], "data.mergedTicketIds.1": ["bad id"],
        "data": ["whole"]}


def test_envelope_keeps_offset_and_assumes_utc_when_naive() -> None:
    base = {"type": "TicketClose", "data": {"ticketid": "1"}}
    aware = load_envelope(base | {"timestamp": "2026-11-25T10:00:00+07:00"})
    naive = load_envelope(base | {"timestamp": "2026-11-25T03:00:00", "extra": "dropped"})
    assert aware["timestamp"] == "2026-11-25T10:00:00+07:00"
    assert naive == {"type": "TicketClose", "timestamp": "2026-11-25T03:00:00+00:00",
                     "data": {"ticketid": 1}}


def test_envelope_errors_are_field_paths() -> None:
    with pytest.raises(EnvelopeError) as info:
        load_envelope({"type": "TicketClose", "timestamp": "nope", "data": {}})
    assert set(info.value.errors) == {"timestamp"}
    with pytest.raises(EnvelopeError) as info:
        load_envelope({"type": "TicketClose", "timestamp": "2026-11-25T03:00:00Z",
                       "data": {}})
    assert set(info.value.errors) == {"data.ticketid"}


def test_gunicorn_defaults_are_gevent_with_metrics_and_freeze_hooks() -> None:
    assert RECEIVER_OPTIONS["worker_class"] == "gevent"
    assert RECEIVER_OPTIONS["worker_connections"] >= 100
    assert callable(RECEIVER_OPTIONS["on_starting"]) and callable(RECEIVER_OPTIONS["on_exit"])
    assert RECEIVER_OPTIONS["post_worker_init"] is freeze_startup_objects
    assert receiver_options(3)["workers"] == 3


def test_freeze_startup_objects_hides_them_from_the_collector() -> None:
    import gc

    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_objects(None)
        assert gc.get_freeze_count() > 1000  # at least the modules this test run imported
    finally:
        gc.unfreeze()
