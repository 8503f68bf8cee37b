"""The SLA engine: from a ticket's history, the reply cycles and their state. Pure, no I/O.

Rules (the README repeats them for admins):

* A **cycle** is a promise to reply. The first-reply cycle starts when the ticket opens; after
  a staff reply, the next customer message starts a next-reply cycle. Further customer
  messages while a cycle is open do not restart it (the clock runs from the first unanswered
  message).
* Only a **human staff reply** (``STAFF``) meets a cycle. Internal notes (``NOTE``), the
  bridge's own replies (``BRIDGE``) and WHMCS auto-responses (``AUTO``) are part of the
  history but never meet anything.
* Time counts on the ticket's **calendar** (24/7 or business hours) and stops while the ticket
  is **paused**: a pause status (``On Hold`` by default) or an explicit pause reason such as
  ``awaiting_verification``; the clock runs again when every reason has ended.
* A **priority change re-targets from the time of the change**: the open cycle gets the new
  level's full target counted from the change, except that raising the priority never moves
  the due time later (``min(old due, change + new target)``). A cycle already breached when
  the priority changes stays breached with its original due time.
* Closing the ticket ends an open cycle: ``breached`` if it was already overdue, else
  ``not_applicable``. A customer message after closing reopens and starts a new cycle.
* A cycle met after its due time is ``breached`` (with ``met_at`` set); ``met`` means in time.
* States of an open cycle: ``breached`` past due, else ``paused`` while paused, else
  ``at_risk`` once the at-risk share of the target has elapsed, else ``on_track``. Tickets
  whose channel or department carries no promise (chat) are ``not_applicable``.

Times are unix seconds (floats) inside the engine; conversion to datetimes is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whmcs_bridge.sla.calendar import ALWAYS_OPEN, Calendar, build_calendars

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings
    from whmcs_bridge.sla.settings import OverrideConfig, SlaConfig

# history item kinds: (ts, kind, value)
OPEN = "open"  # value: priority
CUSTOMER = "customer"
STAFF = "staff"
NOTE = "note"
BRIDGE = "bridge"
AUTO = "auto"
PRIORITY = "priority"  # value: new priority
STATUS = "status"  # value: new status
PAUSE = "pause"  # value: reason
RESUME = "resume"  # value: reason

ON_TRACK, AT_RISK, BREACHED, MET, PAUSED, NOT_APPLICABLE = (
    "on_track", "at_risk", "breached", "met", "paused", "not_applicable")
STATES = (ON_TRACK, AT_RISK, BREACHED, MET, PAUSED, NOT_APPLICABLE)
FIRST_REPLY, NEXT_REPLY = "first_reply", "next_reply"
RANK = {"urgent": 0, "normal": 1, "low": 2}

History = Sequence[tuple[float, str, Any]]
_NO_PAUSE: frozenset[str] = frozenset()


@dataclass(slots=True)
class TicketPolicy:
    """The policy as it applies to one department + channel (see :meth:`Policy.for_ticket`)."""

    calendar: Calendar = ALWAYS_OPEN
    first: Mapping[str, float] = field(
        default_factory=lambda: {"urgent": 1800.0, "normal": 3600.0, "low": 7200.0})
    next: Mapping[str, float] = field(
        default_factory=lambda: {"urgent": 1800.0, "normal": 3600.0, "low": 7200.0})
    at_risk_ratio: float = 0.8
    applicable: bool = True
    levels: Mapping[str, str] = field(
        default_factory=lambda: {"High": "urgent", "Medium": "normal", "Low": "low"})
    pause_statuses: frozenset[str] = frozenset({"On Hold"})
    closed_statuses: frozenset[str] = frozenset({"Closed"})

    def level_of(self, priority: str | None) -> str:
        return self.levels.get(priority or "", "normal")


@dataclass(slots=True)
class Cycle:
    kind: str
    started_at: float
    level: str
    target_seconds: float
    due_clock: float  # on the effective (calendar minus pauses) clock
    start_clock: float = 0.0
    due_at: float | None = None  # wall time the due was / will be reached
    met_at: float | None = None
    ended_at: float | None = None  # closed without a reply
    state: str = ON_TRACK
    remaining_seconds: float | None = None
    elapsed_seconds: float | None = None  # effective working seconds from start to met/now


@dataclass(slots=True)
class Evaluation:
    applicable: bool
    level: str
    cycles: list[Cycle]
    paused_reasons: frozenset[str] = frozenset()
    closed: bool = False

    @property
    def first(self) -> Cycle | None:
        c = self.cycles[0] if self.cycles else None
        return c if c is not None and c.kind == FIRST_REPLY else None

    @property
    def current(self) -> Cycle | None:
        """The open cycle, else the most recent one."""
        return self.cycles[-1] if self.cycles else None

    @property
    def open_cycle(self) -> Cycle | None:
        c = self.current
        return c if c is not None and c.met_at is None and c.ended_at is None else None

    @property
    def state(self) -> str:
        if not self.applicable:
            return NOT_APPLICABLE
        c = self.current
        return c.state if c is not None else NOT_APPLICABLE


def evaluate(history: History, now: float, policy: TicketPolicy, *,
             first_reply: bool = True) -> Evaluation:
    """Evaluate a ticket. ``history`` is sorted by time and starts with ``OPEN``.

    ``first_reply=False`` is for tickets whose opening message is itself staff writing to the
    customer (channel ``staff``): no first-reply promise, next-reply cycles still apply.
    """
    cal = policy.calendar
    clock = cal.clock  # bound once: this loop runs for every open ticket on every sweep
    at_clock = cal.at_clock
    levels = policy.levels
    level = "normal"
    cycles: list[Cycle] = []
    if not history:
        return Evaluation(policy.applicable, level, cycles)
    applicable = policy.applicable
    pauses: set[str] = set()
    closed = False
    cur: Cycle | None = None
    paused_total = 0.0  # working seconds spent paused/closed so far
    last_clock: float | None = None
    clk = 0.0
    pause_statuses = policy.pause_statuses
    closed_statuses = policy.closed_statuses

    for ts, kind, value in history:
        if ts > now:
            break
        clk = clock(ts)
        if last_clock is not None:
            if pauses or closed:
                paused_total += clk - last_clock
            elif cur is not None and cur.due_at is None and clk - paused_total >= cur.due_clock:
                cur.due_at = at_clock(cur.due_clock + paused_total)
        last_clock = clk
        eff = clk - paused_total

        if kind == CUSTOMER:
            if closed:
                closed = False
            if cur is None and applicable:
                tgt = policy.next[level]
                cur = Cycle(NEXT_REPLY, ts, level, tgt, eff + tgt, eff)
                cycles.append(cur)
        elif kind == STAFF:
            if cur is not None:
                cur.met_at = ts
                cur.elapsed_seconds = eff - cur.start_clock
                cur.state = MET if eff <= cur.due_clock else BREACHED
                if cur.due_at is None:
                    cur.due_at = at_clock(cur.due_clock + paused_total)
                cur.remaining_seconds = None
                cur = None
        elif kind == OPEN:
            level = levels.get(value, "normal")
            if applicable and first_reply:
                tgt = policy.first[level]
                cur = Cycle(FIRST_REPLY, ts, level, tgt, eff + tgt, eff)
                cycles.append(cur)
        elif kind == PRIORITY:
            new = levels.get(value, "normal")
            if cur is not None and new != cur.level:
                tgt = (policy.first if cur.kind == FIRST_REPLY else policy.next)[new]
                if cur.due_clock > eff:  # not yet breached: re-target from now
                    due = eff + tgt
                    if RANK[new] < RANK[cur.level]:
                        due = min(due, cur.due_clock)
                    cur.due_clock = due
                cur.level = new
                cur.target_seconds = tgt
            level = new
        elif kind == STATUS:
            if value in pause_statuses:
                pauses.add("status")
            else:
                pauses.discard("status")
            if value in closed_statuses:
                closed = True
                if cur is not None:
                    cur.ended_at = ts
                    cur.state = BREACHED if eff >= cur.due_clock else NOT_APPLICABLE
                    if cur.due_at is None and cur.state == BREACHED:
                        cur.due_at = at_clock(cur.due_clock + paused_total)
                    cur = None
            else:
                closed = False
        elif kind == PAUSE:
            pauses.add(value)
        elif kind == RESUME:
            pauses.discard(value)
        # NOTE / BRIDGE / AUTO: recorded, never meet a cycle

    if cur is not None:
        now_clk = clock(now)
        stopped = bool(pauses) or closed
        if last_clock is not None:
            if stopped:
                paused_total += now_clk - last_clock
            elif cur.due_at is None and now_clk - paused_total >= cur.due_clock:
                cur.due_at = at_clock(cur.due_clock + paused_total)
        eff = now_clk - paused_total
        remaining = cur.due_clock - eff
        if cur.due_at is None:
            cur.due_at = at_clock(cur.due_clock + paused_total)
        risk_clock = cur.due_clock - (1.0 - policy.at_risk_ratio) * cur.target_seconds
        cur.remaining_seconds = remaining
        cur.elapsed_seconds = eff - cur.start_clock
        if remaining <= 0:
            cur.state = BREACHED
        elif stopped:
            cur.state = PAUSED
        elif eff >= risk_clock:
            cur.state = AT_RISK
        else:
            cur.state = ON_TRACK
    return Evaluation(applicable, level, cycles, frozenset(pauses) if pauses else _NO_PAUSE,
                      closed)


def next_transition(history: History, now: float, policy: TicketPolicy,
                    ev: Evaluation) -> float | None:
    """The earliest instant after ``now`` at which :func:`evaluate` of the same ``history``
    can give another state, or ``None`` when only a new event can change it. ``ev`` is
    ``evaluate(history, now, policy)``.

    Time alone moves a running open cycle from ``on_track`` to ``at_risk`` (when the at-risk
    share of the target has elapsed) and from ``at_risk`` to ``breached`` (its due time). Both
    instants are found on the calendar's clock with ``at_clock``, which only lands inside open
    hours: a threshold crossed while the calendar is closed is crossed at its next opening.
    A paused or closed ticket's clock stands still until an event (the end of the pause, a
    reopening) — except an item of ``history`` recorded ahead of ``now`` (a pause ending at a
    known time, an event stamped by a clock running ahead), which is itself a transition.
    """
    out: float | None = None
    for ts, _, _ in history:
        if ts > now:
            out = ts
            break
    cur = ev.open_cycle
    if cur is None or cur.state not in (ON_TRACK, AT_RISK) or cur.elapsed_seconds is None:
        return out
    cal = policy.calendar
    # working seconds spent paused so far: the effective clock lags the calendar's by that
    paused_total = cal.clock(now) - (cur.start_clock + cur.elapsed_seconds)
    if cur.state == ON_TRACK:
        threshold = cur.due_clock - (1.0 - policy.at_risk_ratio) * cur.target_seconds
    else:
        threshold = cur.due_clock
    at = cal.at_clock(threshold + paused_total)
    return at if out is None else min(at, out)


_POLICIES: dict[int, tuple[Any, Policy]] = {}


class Policy:
    """The compiled ``[sla]`` settings: calendars built once, per (department, channel)
    policies cached. Precedence: global < department override < channel override."""

    def __init__(self, sla: SlaConfig) -> None:
        self.settings = sla
        self.calendars = build_calendars(sla)
        self._cache: dict[tuple[int | None, str | None], TicketPolicy] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The compiled policy of ``settings`` (built once per settings object: compiling a
        business-hours calendar computes holidays)."""
        hit = _POLICIES.get(id(settings))
        if hit is not None and hit[0] is settings:
            return hit[1]
        policy = cls(settings.sla)
        if len(_POLICIES) > 32:
            _POLICIES.clear()
        _POLICIES[id(settings)] = (settings, policy)
        return policy

    def for_ticket(self, department_id: int | None, channel: str | None) -> TicketPolicy:
        key = (department_id, channel)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        s = self.settings
        cal_name = s.calendar
        first = {k: v * 60.0 for k, v in s.first_reply_minutes.items()}
        nxt = {k: v * 60.0 for k, v in s.next_reply_minutes.items()}
        applicable = s.enabled
        overrides: Iterable[OverrideConfig | None] = (
            s.departments.get(str(department_id)) if department_id is not None else None,
            s.channels.get(channel) if channel else None,
        )
        for o in overrides:
            if o is None:
                continue
            if o.calendar:
                cal_name = o.calendar
            first.update({k: v * 60.0 for k, v in o.first_reply_minutes.items()})
            nxt.update({k: v * 60.0 for k, v in o.next_reply_minutes.items()})
            if o.applicable is not None:
                applicable = applicable and o.applicable
        tp = TicketPolicy(
            calendar=self.calendars[cal_name], first=first, next=nxt,
            at_risk_ratio=s.at_risk_percent / 100.0, applicable=applicable,
            levels=dict(s.levels), pause_statuses=frozenset(s.pause_statuses),
            closed_statuses=frozenset(s.closed_statuses))
        self._cache[key] = tp
        return tp
