"""One time format and headed tables for every CLI listing (whmcs_bridge/cli/output.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from whmcs_bridge.cli.output import local_time, table
from whmcs_bridge.tickets.escalation_text import describe

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_local_time_is_the_bridge_zone_with_its_abbreviation() -> None:
    at = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    assert local_time(at, HCM) == "2026-12-02 21:05 +07"
    assert local_time("2026-12-02T14:05:00+00:00", HCM) == "2026-12-02 21:05 +07"
    assert local_time(at, ZoneInfo("Europe/Berlin")) == "2026-12-02 15:05 CET"
    assert local_time(datetime(2026, 12, 2, 14, 5), HCM) == "2026-12-02 21:05 +07"  # naive: UTC
    assert local_time(None, HCM) == "-" and local_time("", HCM, empty="never") == "never"


def test_table_has_a_header_and_aligned_columns() -> None:
    lines = table(["ID", "STATUS", "ERROR"], [[1, "dead", "HTTP 500"], [12345, "ok", None]])
    assert lines == ["ID     STATUS  ERROR",
                     "1      dead    HTTP 500",
                     "12345  ok"]


def test_escalation_words_fall_back_to_the_code_for_an_unknown_action() -> None:
    item = {"trigger": "at_risk", "action": "call_boss", "outcome": "done", "detail": None,
            "cycle": "next_reply:1"}
    assert describe(item, "en") == "Next reply due soon: call_boss"
    assert describe({**item, "action": "notify"}, "vi") == (
        "Sắp trễ hạn phản hồi tiếp theo: đã báo nhân viên")
    assert describe({**item, "action": "flag_admin", "outcome": "skipped",
                     "detail": "escalation.flag_admin_id is not set"}, "en") == (
        "Next reply due soon: admin flag not done (escalation.flag_admin_id is not set)")
