"""The one retry delay rule: every queue that retries (event handlers, notifications, WHMCS
writes) waits by it, so a WHMCS outage is met the same way everywhere.

Exponential and capped, with "equal jitter": half of the window is fixed and half random. The
fixed half means no retry comes straight back at a WHMCS that just failed; the random half keeps
many jobs that failed together (WHMCS down) from retrying in lockstep.
"""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float,
                    rng: random.Random | None = None) -> float:
    """Delay before the retry that follows failure number ``attempt`` (1 = the first failure).

    Uniform in ``[w/2, w]`` with ``w = min(cap, base * 2**(attempt-1))``.
    """
    window = min(cap, base * (1 << max(0, attempt - 1)))
    half = window / 2
    return half + (random.uniform(0.0, half) if rng is None else rng.uniform(0.0, half))
