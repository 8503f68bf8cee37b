"""Working-time calendars as a monotonic "business clock" over unix seconds.

A calendar maps a wall-clock instant ``ts`` (unix seconds) to ``clock(ts)``: the number of
working seconds since a fixed origin. Elapsed working time between two instants is the
difference of their clocks, and ``at_clock(c)`` is the inverse (the earliest instant at which
the clock reads ``c``) — which is how a due time is found. Business-hours calendars precompute
their open windows once (weekly hours in a named zone, minus public holidays from the
``holidays`` package and extra closed dates) so each lookup is one binary search with no
datetime allocation; that is what keeps a sweep of 100,000 tickets well under a second.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from whmcs_bridge.sla.settings import DAYS, SlaConfig, parse_range


class Calendar(Protocol):
    def clock(self, ts: float) -> float: ...
    def at_clock(self, c: float) -> float: ...
    def is_open(self, ts: float) -> bool: ...


class AlwaysOpen:
    """24/7: the business clock is the wall clock."""

    name = "24/7"

    def clock(self, ts: float) -> float:
        return ts

    def at_clock(self, c: float) -> float:
        return c

    def is_open(self, ts: float) -> bool:
        return True


ALWAYS_OPEN = AlwaysOpen()


class BusinessHours:
    """Weekly opening hours in ``timezone`` minus holidays and ``closed_dates``.

    Windows are compiled per year on demand (``margin_years`` around the first instant asked
    for, extended when an instant outside is asked); the clock's origin never moves, so values
    computed before and after an extension agree.
    """

    def __init__(self, *, timezone: str = "Asia/Ho_Chi_Minh",
                 hours: Mapping[str, Iterable[str]] | None = None,
                 holidays: str | None = "VN", closed_dates: Iterable[date] = (),
                 name: str = "business", margin_years: int = 2) -> None:
        self.name = name
        self.zone = ZoneInfo(timezone)
        weekly: dict[int, list[tuple[int, int]]] = {}
        for day, ranges in (hours or {}).items():
            weekly[DAYS.index(day)] = sorted(parse_range(r) for r in ranges)
        self.weekly = weekly
        self.country = holidays or None
        self.closed = set(closed_dates)
        self.margin = margin_years
        self._lock = threading.Lock()
        self._years: tuple[int, int] | None = None
        self._origin: float = 0.0
        # compiled arrays: window starts/ends (unix s) and working seconds before each window
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._before: list[float] = []
        self._after: list[float] = []
        self._lo = self._hi = 0.0
        if not any(weekly.values()):
            raise ValueError(f"calendar {name!r} has no opening hours")

    # -- compilation ---------------------------------------------------------------------
    def closed_days(self, first: int, last: int) -> set[date]:
        days = {d for d in self.closed if first <= d.year <= last}
        if self.country:
            import holidays as holidays_lib

            days |= set(holidays_lib.country_holidays(self.country,
                                                      years=range(first, last + 1)))
        return days

    def _compile(self, first: int, last: int) -> None:
        closed = self.closed_days(first, last)
        starts: list[float] = []
        ends: list[float] = []
        day = date(first, 1, 1)
        stop = date(last + 1, 1, 1)
        one = timedelta(days=1)
        while day < stop:
            ranges = self.weekly.get(day.weekday())
            if ranges and day not in closed:
                base = datetime(day.year, day.month, day.day, tzinfo=self.zone)
                for a, b in ranges:
                    s = (base + timedelta(minutes=a)).timestamp()
                    e = (base + timedelta(minutes=b)).timestamp()
                    if starts and s <= ends[-1]:  # touching ranges merge
                        ends[-1] = max(ends[-1], e)
                    else:
                        starts.append(s)
                        ends.append(e)
            day += one
        before: list[float] = []
        after: list[float] = []
        total = 0.0
        for s, e in zip(starts, ends, strict=True):
            before.append(total)
            total += e - s
            after.append(total)
        lo = datetime(first, 1, 1, tzinfo=self.zone).timestamp()
        hi = datetime(last + 1, 1, 1, tzinfo=self.zone).timestamp()
        if self._years is None:
            self._origin = lo  # the clock reads 0 here, forever
        shift = self._raw(starts, ends, before, self._origin)
        self._starts, self._ends = starts, ends
        self._before = [b - shift for b in before]
        self._after = [a - shift for a in after]
        self._years = (first, last)
        self._lo, self._hi = lo, hi
        self._bind()

    @staticmethod
    def _raw(starts: list[float], ends: list[float], before: list[float], ts: float) -> float:
        i = bisect_right(starts, ts) - 1
        if i < 0:
            return 0.0
        return before[i] + min(ts - starts[i], ends[i] - starts[i])

    def _ensure(self, ts: float) -> None:
        with self._lock:
            year = datetime.fromtimestamp(ts, UTC).astimezone(self.zone).year
            if self._years is None:
                self._compile(year - self.margin, year + self.margin)
                return
            first, last = self._years
            if year <= first:
                self._compile(year - self.margin, last)
            elif year >= last:
                self._compile(first, year + self.margin)

    # -- lookups -------------------------------------------------------------------------
    # ``clock`` and ``at_clock`` are closures over the compiled arrays, rebuilt on every
    # (re)compilation: a closure reads its arrays as cell variables, much cheaper than the
    # attribute lookups of a method — these two run several times per ticket per sweep.
    def clock(self, ts: float) -> float:  # replaced per instance by _bind()
        self._ensure(ts)
        return self.clock(ts)

    def at_clock(self, c: float) -> float:  # replaced per instance by _bind()
        self._ensure(self._hi if self._years else 0.0)
        return self.at_clock(c)

    def _bind(self) -> None:
        starts, ends, before, after = self._starts, self._ends, self._before, self._after
        lo, hi = self._lo, self._hi
        first_c, last_c = before[0], after[-1]
        ensure = self._ensure

        def clock(ts: float) -> float:
            if not lo < ts < hi:
                ensure(ts)
                return self.clock(ts)
            i = bisect_right(starts, ts) - 1
            if i < 0:
                return first_c
            s = starts[i]
            e = ends[i]
            return before[i] + (ts - s if ts < e else e - s)

        def at_clock(c: float) -> float:
            if c > last_c:
                ensure(hi)
                return self.at_clock(c)
            if c < first_c:
                ensure(lo - 1)
                return self.at_clock(c)
            j = bisect_left(after, c)
            return starts[j] + (c - before[j])

        self.clock = clock  # type: ignore[method-assign]
        self.at_clock = at_clock  # type: ignore[method-assign]

    def is_open(self, ts: float) -> bool:
        self.clock(ts)  # compiles the year if needed
        i = bisect_right(self._starts, ts) - 1
        return i >= 0 and ts < self._ends[i]


def build_calendars(sla: SlaConfig) -> dict[str, Calendar]:
    """Every calendar named in the ``[sla]`` settings section, plus ``"24/7"``."""
    out: dict[str, Calendar] = {"24/7": ALWAYS_OPEN}
    for name, spec in sla.calendars.items():
        out[name] = BusinessHours(timezone=spec.timezone, hours=spec.hours,
                                  holidays=spec.holidays or None,
                                  closed_dates=spec.closed_dates, name=name)
    return out
