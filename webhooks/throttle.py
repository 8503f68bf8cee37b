"""Per-address token buckets for the pages strangers can reach (link pages, dashboard sign-in).

In-process and in memory: each gunicorn worker keeps its own buckets, so the effective limit
is the configured one times the number of workers, and a restart forgets them. That is enough
to make guessing and flooding slow and cheap to refuse; it is not a shared quota. The address
is the WSGI ``REMOTE_ADDR``: behind a reverse proxy every caller shares the proxy's address,
so the limits then apply to all callers together (configure the proxy to limit per client).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class Throttle:
    """``capacity`` requests at once per key, refilled at ``per_second``.

    ``allow(key)`` takes one token (True) or refuses (False). ``clock`` is injectable so the
    arithmetic is tested without waiting. At most ``max_keys`` keys are kept: when full, the
    buckets that have refilled completely (they hold no information) are dropped first, then
    the oldest.
    """

    def __init__(self, capacity: float, per_second: float, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        if capacity < 1 or per_second <= 0:
            raise ValueError("capacity must be at least 1 and per_second positive")
        self.capacity = float(capacity)
        self.per_second = float(per_second)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _level(self, bucket: _Bucket, now: float) -> float:
        return min(self.capacity, bucket.tokens + (now - bucket.at) * self.per_second)

    def allow(self, key: str, cost: float = 1.0) -> bool:
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                self._make_room(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens, bucket.at = self._level(bucket, now), now
            if bucket.tokens < cost:
                return False
            bucket.tokens -= cost
            return True

    def blocked(self, key: str) -> bool:
        """True when ``key`` has no token left (nothing is taken)."""
        with self._lock:
            bucket = self._buckets.get(key)
            return bucket is not None and self._level(bucket, self.clock()) < 1.0

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` has a token again (for ``Retry-After``)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0
            missing = 1.0 - self._level(bucket, self.clock())
            return max(0, int(missing / self.per_second + 0.999))

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_keys:
            return
        full = [k for k, b in self._buckets.items() if self._level(b, now) >= self.capacity]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) >= self.max_keys:
            del self._buckets[next(iter(self._buckets))]
