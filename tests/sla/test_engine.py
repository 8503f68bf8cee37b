"""Engine tables: each level on 24/7 and business hours, holidays (Tết), pauses, priority
changes, next-reply cycles, and replies that must not count."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from whmcs_bridge.sla.calendar import ALWAYS_OPEN, BusinessHours
from whmcs_bridge.sla.engine import (
    AUTO,
    BRIDGE,
    CUSTOMER,
    NOTE,
    OPEN,
    PAUSE,
    PRIORITY,
    RESUME,
    STAFF,
    STATUS,
    Policy,
    TicketPolicy,
    evaluate,
)
from whmcs_bridge.sla.settings import SlaSettings

VN = ZoneInfo("Asia/Ho_Chi_Minh")
M = 60.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=VN).timestamp()  # a Monday, 09:00
WEEKDAYS = {d: ["08:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = BusinessHours(hours=WEEKDAYS, holidays="VN", closed_dates=[date(2026, 3, 10)])
PRIO = {"urgent": "High", "normal": "Medium", "low": "Low"}
TARGET = {"urgent": 30, "normal": 60, "low": 120}


def vn(*args: int) -> float:
    return datetime(*args, tzinfo=VN).timestamp()


def at(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, VN)


def policy(calendar=ALWAYS_OPEN, **kw) -> TicketPolicy:
    return TicketPolicy(calendar=calendar, **kw)


# --- 24/7: every level, state over time ----------------------------------------------------
@pytest.mark.parametrize("level", ["urgent", "normal", "low"])
@pytest.mark.parametrize(("share", "state"), [
    (0.0, "on_track"), (0.5, "on_track"), (0.79, "on_track"), (0.8, "at_risk"),
    (0.99, "at_risk"), (1.0, "breached"), (3.0, "breached"),
])
def test_open_ticket_state_by_elapsed_share_247(level: str, share: float, state: str) -> None:
    target = TARGET[level] * M
    ev = evaluate([(T0, OPEN, PRIO[level])], T0 + share * target, policy())
    cyc = ev.first
    assert ev.level == level
    assert cyc.target_seconds == target
    assert cyc.due_at == T0 + target
    assert cyc.state == state
    assert cyc.remaining_seconds == pytest.approx(target - share * target)


@pytest.mark.parametrize("level", ["urgent", "normal", "low"])
@pytest.mark.parametrize(("reply_after", "state"), [(0.5, "met"), (1.0, "met"), (1.01, "breached")])
def test_staff_reply_meets_or_is_late_247(level: str, reply_after: float, state: str) -> None:
    target = TARGET[level] * M
    reply = T0 + reply_after * target
    ev = evaluate([(T0, OPEN, PRIO[level]), (reply, STAFF, None)], reply + 10_000, policy())
    assert ev.first.state == state
    assert ev.first.met_at == reply
    assert ev.first.due_at == T0 + target
    assert ev.first.remaining_seconds is None
    assert ev.open_cycle is None


# --- business hours, holidays ----------------------------------------------------------------
@pytest.mark.parametrize(("opened", "level", "due"), [
    # inside hours
    ((2026, 3, 2, 9, 0), "urgent", (2026, 3, 2, 9, 30)),
    ((2026, 3, 2, 9, 0), "low", (2026, 3, 2, 11, 0)),
    # across the evening: Monday 17:00 + 60 min of work = Tuesday 08:30
    ((2026, 3, 2, 17, 0), "normal", (2026, 3, 3, 8, 30)),
    ((2026, 3, 2, 17, 0), "urgent", (2026, 3, 2, 17, 30)),
    ((2026, 3, 2, 17, 0), "low", (2026, 3, 3, 9, 30)),
    # before opening and over the weekend
    ((2026, 3, 2, 6, 0), "urgent", (2026, 3, 2, 8, 30)),
    ((2026, 3, 7, 10, 0), "normal", (2026, 3, 9, 9, 0)),
    # an extra closed date (Tue 10 March) is skipped
    ((2026, 3, 9, 17, 0), "normal", (2026, 3, 11, 8, 30)),
    # Tết 2026: 16–20 February closed; Friday 13th 17:00 + 60 min = Monday 23rd 08:30
    ((2026, 2, 13, 17, 0), "normal", (2026, 2, 23, 8, 30)),
    ((2026, 2, 13, 17, 15), "urgent", (2026, 2, 23, 8, 15)),
    # 30 April / 1 May (Reunification, Labour Day) then the weekend
    ((2026, 4, 29, 17, 0), "low", (2026, 5, 4, 9, 30)),
])
def test_business_hours_due_times(opened, level, due) -> None:
    t = vn(*opened)
    ev = evaluate([(t, OPEN, PRIO[level])], t, policy(OFFICE))
    assert at(ev.first.due_at) == datetime(*due, tzinfo=VN)


def test_business_hours_state_does_not_move_outside_hours() -> None:
    t = vn(2026, 3, 6, 17, 0)  # Friday 17:00, normal: 30 min left on Monday
    pol = policy(OFFICE)
    sat = evaluate([(t, OPEN, "Medium")], vn(2026, 3, 7, 12, 0), pol).first
    assert sat.state == "on_track"
    assert sat.remaining_seconds == 30 * M
    mon = evaluate([(t, OPEN, "Medium")], vn(2026, 3, 9, 8, 20), pol).first
    assert mon.state == "at_risk"  # 50 of 60 minutes elapsed
    late = evaluate([(t, OPEN, "Medium")], vn(2026, 3, 9, 8, 31), pol).first
    assert late.state == "breached"
    assert at(late.due_at) == datetime(2026, 3, 9, 8, 30, tzinfo=VN)


# --- pauses ----------------------------------------------------------------------------------
def test_on_hold_status_pauses_and_resumes() -> None:
    h = [(T0, OPEN, "Medium"), (T0 + 10 * M, STATUS, "On Hold"), (T0 + 40 * M, STATUS, "Open")]
    ev = evaluate(h, T0 + 30 * M, policy())
    assert ev.first.state == "paused"
    assert ev.first.remaining_seconds == 50 * M
    ev = evaluate(h, T0 + 60 * M, policy())
    assert ev.first.state == "on_track"
    assert ev.first.due_at == T0 + 90 * M  # 30 paused minutes added
    ev = evaluate(h, T0 + 85 * M, policy())
    assert ev.first.state == "at_risk"


def test_awaiting_verification_pause_with_its_own_reason() -> None:
    h = [(T0, OPEN, "High"), (T0 + 5 * M, PAUSE, "awaiting_verification"),
         (T0 + 6 * M, STATUS, "On Hold"), (T0 + 20 * M, STATUS, "Open")]
    ev = evaluate(h, T0 + 60 * M, policy())
    assert ev.first.state == "paused"  # verification still pending after On Hold ended
    assert ev.paused_reasons == {"awaiting_verification"}
    assert ev.first.remaining_seconds == 25 * M
    h.append((T0 + 70 * M, RESUME, "awaiting_verification"))
    ev = evaluate(h, T0 + 80 * M, policy())
    assert ev.first.state == "on_track"
    assert ev.first.due_at == T0 + 95 * M


def test_pause_after_breach_stays_breached() -> None:
    h = [(T0, OPEN, "High"), (T0 + 40 * M, STATUS, "On Hold")]
    ev = evaluate(h, T0 + 60 * M, policy())
    assert ev.first.state == "breached"
    assert ev.first.due_at == T0 + 30 * M


def test_pause_on_business_calendar_counts_only_working_time() -> None:
    t = vn(2026, 3, 2, 17, 0)  # Monday 17:00, low = 120 working minutes
    h = [(t, OPEN, "Low"), (t + 20 * M, STATUS, "On Hold"), (vn(2026, 3, 3, 9, 0), STATUS, "Open")]
    ev = evaluate(h, vn(2026, 3, 3, 9, 0), policy(OFFICE))
    # 17:00–17:20 counted (20 min); paused through the night and 08:00–09:00 (not counted)
    assert ev.first.remaining_seconds == 100 * M
    assert at(ev.first.due_at) == datetime(2026, 3, 3, 10, 40, tzinfo=VN)


# --- priority changes ------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "change_at", "new", "due_min", "state_at_35"), [
    ("Low", 10, "High", 40, "at_risk"),  # raise: 10 + 30 = 40 < 120
    ("Low", 100, "High", 120, "on_track"),  # raise late: never later than the old due (120)
    ("High", 10, "Low", 130, "on_track"),  # lower: full new target from the change
    ("Medium", 10, "Medium", 60, "on_track"),  # same level: nothing changes
    ("High", 40, "Low", 30, "breached"),  # already breached: stays breached
])
def test_priority_change_retargets_from_the_change(start, change_at, new, due_min,
                                                    state_at_35) -> None:
    h = [(T0, OPEN, start), (T0 + change_at * M, PRIORITY, new)]
    now = T0 + max(35, change_at) * M
    ev = evaluate(h, now, policy())
    assert ev.first.due_at == T0 + due_min * M
    if change_at <= 35:
        assert evaluate(h, T0 + 35 * M, policy()).first.state == state_at_35
    assert ev.level == {"High": "urgent", "Medium": "normal", "Low": "low"}[new]


def test_priority_change_on_business_hours() -> None:
    t = vn(2026, 3, 2, 17, 0)  # Monday 17:00 Low
    h = [(t, OPEN, "Low"), (vn(2026, 3, 3, 8, 0), PRIORITY, "High")]
    ev = evaluate(h, vn(2026, 3, 3, 8, 0), policy(OFFICE))
    assert at(ev.first.due_at) == datetime(2026, 3, 3, 8, 30, tzinfo=VN)
    assert ev.first.target_seconds == 30 * M


# --- next-reply cycles -----------------------------------------------------------------------
def test_next_reply_cycles() -> None:
    h = [(T0, OPEN, "Medium"), (T0 + 10 * M, STAFF, None),
         (T0 + 60 * M, CUSTOMER, None), (T0 + 70 * M, CUSTOMER, None),  # 2nd doesn't restart
         (T0 + 200 * M, STAFF, None),
         (T0 + 300 * M, CUSTOMER, None)]
    ev = evaluate(h, T0 + 320 * M, policy(next={"urgent": 900.0, "normal": 3600.0,
                                                "low": 7200.0}))
    first, second, third = ev.cycles
    assert (first.kind, first.state, first.met_at) == ("first_reply", "met", T0 + 10 * M)
    assert (second.kind, second.state) == ("next_reply", "breached")
    assert second.due_at == T0 + 120 * M
    assert second.elapsed_seconds == 140 * M
    assert (third.kind, third.state, third.remaining_seconds) == ("next_reply", "on_track",
                                                                  40 * M)
    assert ev.current is third and ev.open_cycle is third


def test_customer_message_before_any_staff_reply_keeps_first_cycle() -> None:
    h = [(T0, OPEN, "High"), (T0 + 5 * M, CUSTOMER, None), (T0 + 20 * M, STAFF, None)]
    ev = evaluate(h, T0 + 60 * M, policy())
    assert len(ev.cycles) == 1
    assert ev.first.state == "met"


# --- replies that do not count ---------------------------------------------------------------
@pytest.mark.parametrize("kind", [NOTE, BRIDGE, AUTO])
def test_automatic_replies_and_notes_never_meet(kind: str) -> None:
    h = [(T0, OPEN, "High"), (T0 + 1 * M, kind, None)]
    ev = evaluate(h, T0 + 31 * M, policy())
    assert ev.first.met_at is None
    assert ev.first.state == "breached"
    h.append((T0 + 35 * M, STAFF, None))
    assert evaluate(h, T0 + 40 * M, policy()).first.state == "breached"  # met late


# --- closing, not applicable -----------------------------------------------------------------
def test_closing_ends_the_cycle() -> None:
    h = [(T0, OPEN, "High"), (T0 + 10 * M, STATUS, "Closed")]
    ev = evaluate(h, T0 + 100 * M, policy())
    assert ev.first.state == "not_applicable" and ev.open_cycle is None
    h = [(T0, OPEN, "High"), (T0 + 40 * M, STATUS, "Closed"), (T0 + 50 * M, CUSTOMER, None)]
    ev = evaluate(h, T0 + 60 * M, policy())
    assert [c.state for c in ev.cycles] == ["breached", "on_track"]


def test_staff_opened_ticket_has_no_first_reply_promise() -> None:
    h = [(T0, OPEN, "High"), (T0 + 60 * M, CUSTOMER, None)]
    ev = evaluate(h, T0 + 65 * M, policy(), first_reply=False)
    assert ev.first is None
    assert ev.current.kind == "next_reply" and ev.current.state == "on_track"


def test_policy_overrides_and_chat_not_applicable() -> None:
    sla = SlaSettings().load({
        "calendars": {"office": {"hours": WEEKDAYS}},
        "departments": {"2": {"calendar": "office", "first_reply_minutes": {"urgent": 15}}},
        "channels": {"email": {"first_reply_minutes": {"urgent": 45}}},
    })
    pol = Policy(sla)
    chat = pol.for_ticket(1, "chat")
    assert chat.applicable is False
    ev = evaluate([(T0, OPEN, "High")], T0 + 10 * 3600, chat)
    assert ev.state == "not_applicable" and ev.cycles == []
    dept = pol.for_ticket(2, "client_area")
    assert dept.first["urgent"] == 15 * M and dept.calendar.name == "office"
    both = pol.for_ticket(2, "email")
    assert both.first["urgent"] == 45 * M  # channel overrides department
    assert pol.for_ticket(1, "client_area").first == {"urgent": 1800.0, "normal": 3600.0,
                                                       "low": 7200.0}
    assert pol.for_ticket(1, "client_area").calendar is ALWAYS_OPEN


def test_next_reply_cycle_on_business_hours_with_holiday() -> None:
    # answered Friday 13 Feb 2026 16:00; the customer writes back at 17:20, just before Tết
    t = vn(2026, 2, 13, 9, 0)
    h = [(t, OPEN, "Low"), (vn(2026, 2, 13, 16, 0), STAFF, None),
         (vn(2026, 2, 13, 17, 20), CUSTOMER, None)]
    ev = evaluate(h, vn(2026, 2, 17, 12, 0), policy(OFFICE))  # during the holiday
    nxt = ev.current
    assert (nxt.kind, nxt.state, nxt.remaining_seconds) == ("next_reply", "on_track", 110 * M)
    assert at(nxt.due_at) == datetime(2026, 2, 23, 9, 50, tzinfo=VN)
    ev = evaluate(h, vn(2026, 2, 23, 9, 30), policy(OFFICE))
    assert ev.current.state == "at_risk"  # 100 of 120 minutes used
