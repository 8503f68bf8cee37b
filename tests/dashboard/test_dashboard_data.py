"""Pure parts of the dashboard: ordering, links, compliance, charts, wording."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from whmcs_bridge.admin_links import admin_ticket_url
from whmcs_bridge.dashboard import charts, i18n
from whmcs_bridge.dashboard.data import (
    SLA_ORDER,
    Compliance,
    shape,
)

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def ticket(tid: int, state: str, remaining: int | None, *, verification: str = "not_required",
           level: str = "normal") -> dict[str, Any]:
    return {"id": tid, "tid": f"T-{tid}", "subject": f"s{tid}", "level": level,
            "status": "Open", "channel": "email",
            "sla": {"state": state, "remaining_seconds": remaining,
                    "first_response_due_at": "2026-01-05T03:10:00+00:00"},
            "verification": {"state": verification}}


def test_open_tickets_sorted_by_time_to_breach() -> None:
    data = shape([
        ticket(1, "on_track", 3000), ticket(2, "breached", -600), ticket(3, "paused", None),
        ticket(4, "at_risk", 120), ticket(5, "met", None), ticket(6, "not_applicable", None),
        ticket(7, "breached", -60),
    ], now=NOW, admin_url=None)
    assert [r.id for r in data.open_tickets] == [2, 7, 4, 1, 3, 5, 6]
    assert [r.id for r in data.breaches] == [2, 7]
    assert data.state_counts == {"breached": 2, "at_risk": 1, "on_track": 1, "paused": 1,
                                 "met": 1, "not_applicable": 1}


def test_verification_list_keeps_tickets_needing_attention() -> None:
    data = shape([ticket(1, "on_track", 10, verification="required"),
                  ticket(2, "on_track", 10, verification="verified"),
                  ticket(3, "paused", None, verification="locked")], now=NOW, admin_url=None)
    assert [r.id for r in data.verifications] == [1, 3]


def test_admin_link_is_built_from_the_configured_admin_url() -> None:
    assert admin_ticket_url("https://w.example/admin", 42) == \
        "https://w.example/admin/supporttickets.php?action=view&id=42"
    assert admin_ticket_url("https://w.example/admin/", 7).endswith("/admin/supporttickets.php"
                                                                   "?action=view&id=7")
    assert admin_ticket_url(None, 7) is None
    # the notifications' links are the same function: trailing slashes, missing or odd ids
    assert admin_ticket_url("https://w.example/admin//", "7") == \
        "https://w.example/admin/supporttickets.php?action=view&id=7"
    assert [admin_ticket_url("https://w.example/admin", bad)
            for bad in (None, 0, "", "7abc", "\u00b2", 2**31)] == [None] * 6
    row = shape([ticket(9, "on_track", 5)], now=NOW, admin_url="http://x/a/").open_tickets[0]
    assert row.admin_link == "http://x/a/supporttickets.php?action=view&id=9"


def test_compliance_percent_and_empty_windows() -> None:
    assert Compliance("urgent", 7, 3, 1).percent == 75.0
    assert Compliance("urgent", 7, 0, 0).percent is None
    data = shape([], now=NOW, admin_url=None,
                 compliance=[Compliance("urgent", 7, 1, 1), Compliance("low", 30, 0, 0)])
    pct = data.compliance_percentages()
    assert pct["urgent"][7] == 50.0
    assert pct["low"][30] is None


def test_compliance_chart_bar_widths_follow_percentages() -> None:
    chart = charts.compliance_chart({"urgent": {7: 100.0, 30: 50.0}, "low": {7: None}},
                                    ["urgent", "low"], [7, 30], level_names={},
                                    window_names={}, no_data="n/a", width=460)
    bars = {b.key: b for b in chart.bars}
    assert bars["urgent-7"].width == 2 * bars["urgent-30"].width > 0
    assert bars["low-7"].width == 0 and bars["low-7"].label == "n/a"
    assert bars["urgent-30"].label == "50%"
    assert all(b.x + b.width <= chart.width for b in chart.bars)


def test_state_chart_segments_fill_the_bar_in_proportion() -> None:
    chart = charts.state_chart({"breached": 1, "on_track": 3}, SLA_ORDER, names={}, width=420)
    segs = [b for b in chart.bars if not b.key.startswith("legend")]
    assert [b.key for b in segs] == ["breached", "on_track"]
    assert abs(segs[1].width - 3 * segs[0].width) < 0.05
    assert abs(sum(b.width for b in segs) - 400) < 0.05
    assert len([b for b in chart.bars if b.key.startswith("legend")]) == len(SLA_ORDER)


def test_every_word_exists_in_both_languages() -> None:
    for key, entry in i18n.STRINGS.items():
        assert set(entry) == set(i18n.LANGUAGES), key
        assert all(entry.values()), key
    for state in SLA_ORDER:
        assert state in i18n.STRINGS


def test_language_choice_order() -> None:
    assert i18n.pick_language("en", "vi", "vi") == "en"
    assert i18n.pick_language(None, "en", "vi") == "en"
    assert i18n.pick_language("xx", None, None) == i18n.DEFAULT_LANGUAGE
    t = i18n.translator("vi")
    assert t("breached") == "vi phạm"
    assert i18n.translator("en")("last_days", days=7) == "last 7 days"
