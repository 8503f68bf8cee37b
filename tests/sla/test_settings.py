"""The [sla], [channels] and [escalation] sections: defaults from the policy, and every bad
value named by its key."""

from __future__ import annotations

import pytest

from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import SettingsError


def load(**sections):
    return load_settings(data=sections, environ={})


def test_defaults_are_the_published_policy() -> None:
    s = load()
    assert s.sla.first_reply_minutes == {"urgent": 30, "normal": 60, "low": 120}
    assert s.sla.levels == {"High": "urgent", "Medium": "normal", "Low": "low"}
    assert s.sla.at_risk_percent == 80 and s.sla.pause_statuses == ["On Hold"]
    assert s.sla.calendar == "24/7"
    assert s.sla.channels["chat"].applicable is False
    assert s.channels.hotline_numbers == ["1900 6046", "(08) 7301 6046"]
    assert s.escalation.levels["urgent"].breached == ["note", "notify", "flag_admin"]


@pytest.mark.parametrize(("sections", "named"), [
    ({"sla": {"calendar": "office"}}, "sla.calendar"),
    ({"sla": {"departments": {"2": {"calendar": "nope"}}}}, "sla.departments.2.calendar"),
    ({"sla": {"departments": {"x2": {}}}}, "sla.departments"),
    ({"sla": {"departments": {str(2**31): {}}}}, "sla.departments"),  # no WHMCS id: dead config
    ({"sla": {"calendars": {"office": {"hours": {"mon": ["17:00-08:00"]}}}}},
     "sla.calendars.office.hours"),
    ({"sla": {"calendars": {"office": {"holidays": "XX"}}}}, "sla.calendars.office.holidays"),
    ({"sla": {"calendars": {"office": {"timezone": "Mars/Base"}}}},
     "sla.calendars.office.timezone"),
    ({"sla": {"first_reply_minutes": {"critical": 5}}}, "sla.first_reply_minutes"),
    ({"sla": {"at_risk_percent": 120}}, "sla.at_risk_percent"),
    ({"sla": {"channels": {"fax": {}}}}, "sla.channels"),
    ({"sla": {"colour": "red"}}, "sla.colour"),
    ({"channels": {"billing_department_ids": ["x"]}}, "channels.billing_department_ids"),
    ({"escalation": {"levels": {"urgent": {"breached": ["shout"]}}}},
     "escalation.levels.urgent.breached"),
])
def test_bad_values_name_their_key(sections, named) -> None:
    with pytest.raises(SettingsError) as exc:
        load(**sections)
    assert named in str(exc.value)


def test_environment_overrides() -> None:
    s = load_settings(data={}, environ={"WHMCS_BRIDGE_SLA__AT_RISK_PERCENT": "75",
                                         "WHMCS_BRIDGE_CHANNELS__BILLING_DEPARTMENT_IDS": "[2, 5]"})
    assert s.sla.at_risk_percent == 75 and s.channels.billing_department_ids == [2, 5]


def test_overrides_keep_unset_levels() -> None:
    s = load(sla={"first_reply_minutes": {"urgent": 15}})
    assert s.sla.first_reply_minutes == {"urgent": 15, "normal": 60, "low": 120}
    assert s.sla.next_reply_minutes == {"urgent": 30, "normal": 60, "low": 120}
