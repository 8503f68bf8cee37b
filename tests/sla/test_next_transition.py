"""``next_transition``: the instant the sweep must look at a ticket again. Pure: checked
against ``evaluate`` itself — the state holds until that instant and changes right after."""

from __future__ import annotations

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

from whmcs_bridge.sla.calendar import BusinessHours
from whmcs_bridge.sla.engine import (
    AT_RISK,
    BREACHED,
    CUSTOMER,
    OPEN,
    PAUSE,
    PRIORITY,
    RESUME,
    STAFF,
    STATUS,
    TicketPolicy,
    evaluate,
    next_transition,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
M = 60.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=VN).timestamp()  # a Monday, 09:00
OFFICE = BusinessHours(hours={d: ["08:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
                       holidays="VN", closed_dates=[date(2026, 3, 10)])


def vn(*args: int) -> float:
    return datetime(*args, tzinfo=VN).timestamp()


def nxt(history, now, policy=None):
    policy = policy or TicketPolicy()
    return next_transition(history, now, policy, evaluate(history, now, policy))


def test_on_track_until_the_at_risk_share_then_at_risk_until_due() -> None:
    h = [(T0, OPEN, "High")]  # urgent: 30 minutes, at risk after 80 %
    assert nxt(h, T0 + 5 * M) == T0 + 24 * M
    assert nxt(h, T0 + 24 * M) == T0 + 30 * M
    assert nxt(h, T0 + 31 * M) is None  # breached: time alone changes nothing more


def test_a_met_closed_or_chat_ticket_has_no_transition() -> None:
    assert nxt([(T0, OPEN, "High"), (T0 + M, STAFF, None)], T0 + 2 * M) is None
    assert nxt([(T0, OPEN, "High"), (T0 + M, STATUS, "Closed")], T0 + 2 * M) is None
    assert nxt([(T0, OPEN, "High")], T0 + M, TicketPolicy(applicable=False)) is None


def test_a_pause_stops_the_clock_and_its_time_is_added_after_it_ends() -> None:
    h = [(T0, OPEN, "High"), (T0 + 10 * M, PAUSE, "awaiting_verification")]
    assert nxt(h, T0 + 50 * M) is None  # paused: only an event ends it
    h.append((T0 + 60 * M, RESUME, "awaiting_verification"))
    assert nxt(h, T0 + 61 * M) == T0 + 74 * M  # 24 working minutes + 50 paused
    h = [(T0, OPEN, "High"), (T0 + 10 * M, STATUS, "On Hold")]
    assert nxt(h, T0 + 50 * M) is None


def test_an_item_recorded_ahead_of_now_is_a_transition() -> None:
    h = [(T0, OPEN, "High"), (T0 + 10 * M, PAUSE, "awaiting_verification"),
         (T0 + 60 * M, RESUME, "awaiting_verification")]
    assert nxt(h, T0 + 20 * M) == T0 + 60 * M  # the end of the pause


def test_priority_change_retargets_the_next_transition() -> None:
    h = [(T0, OPEN, "Low"), (T0 + 10 * M, PRIORITY, "High")]  # urgent from the change
    assert nxt(h, T0 + 11 * M) == T0 + 34 * M


def test_a_threshold_in_closed_hours_falls_at_the_next_opening() -> None:
    policy = TicketPolicy(calendar=OFFICE)
    fri = vn(2026, 3, 6, 17, 20)  # 10 working minutes left on Friday
    h = [(fri, OPEN, "High")]
    # 24 working minutes: 10 on Friday, 14 from Monday's 08:00
    assert nxt(h, fri + M, policy) == vn(2026, 3, 9, 8, 14)
    # due: Tuesday 10 March is a closed date; 30 working minutes end Monday 08:20
    assert nxt(h, vn(2026, 3, 9, 8, 15), policy) == vn(2026, 3, 9, 8, 20)
    mon = vn(2026, 3, 9, 17, 25)  # Monday 17:25, Tuesday closed: Wednesday's opening
    assert nxt([(mon, OPEN, "High")], mon + M, policy) == vn(2026, 3, 11, 8, 19)


def _histories(n: int, now: float, rng: random.Random) -> list[list[tuple]]:
    out = []
    for _ in range(n):
        opened = now - rng.uniform(60, 4 * 3600)
        h: list[tuple] = [(opened, OPEN, rng.choice(("High", "Medium", "Low")))]
        t = opened
        r = rng.random()
        if r < 0.3:
            t += rng.uniform(60, 3600)
            h.append((t, STAFF, None))
            h.append((t + rng.uniform(60, 7200), CUSTOMER, None))
        elif r < 0.45:
            t += rng.uniform(60, 1800)
            h.append((t, STATUS, "On Hold"))
            if rng.random() < 0.6:
                h.append((t + rng.uniform(60, 7200), STATUS, "Open"))
        elif r < 0.6:
            h.append((t + rng.uniform(60, 3600), PRIORITY, rng.choice(("High", "Low"))))
        elif r < 0.7:
            t += rng.uniform(30, 600)
            h.append((t, PAUSE, "awaiting_verification"))
            if rng.random() < 0.6:
                h.append((t + rng.uniform(60, 7200), RESUME, "awaiting_verification"))
        h.sort(key=lambda x: x[0])
        out.append(h)
    return out


def test_the_state_holds_until_the_next_transition_and_changes_right_after() -> None:
    rng = random.Random(17)
    now = vn(2026, 3, 4, 10, 30)
    checked = changed = 0
    for policy in (TicketPolicy(), TicketPolicy(calendar=OFFICE)):
        for h in _histories(300, now, rng):
            ev = evaluate(h, now, policy)
            at = next_transition(h, now, policy, ev)
            probes = [now + 1, now + 3600, now + 86400] if at is None else [
                now + (at - now) * f for f in (0.25, 0.5, 0.99)]
            for probe in probes:  # nothing changes before it (without a new event)
                assert evaluate(h, probe, policy).state == ev.state, (h, probe)
                checked += 1
            if at is not None:
                after = evaluate(h, at + 1, policy).state
                assert after != ev.state or any(ts == at for ts, _, _ in h), (h, at)
                changed += after != ev.state
    assert checked > 1000 and changed > 50


def test_states_follow_on_track_at_risk_breached() -> None:
    h = [(T0, OPEN, "Medium")]
    policy = TicketPolicy()
    now = T0
    seen = []
    while (at := nxt(h, now, policy)) is not None:
        now = at + 1
        seen.append(evaluate(h, now, policy).state)
    assert seen == [AT_RISK, BREACHED]
