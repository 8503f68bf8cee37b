"""Lockout: too many failed guessable proofs for one client, across tickets and channels.

A client is locked when the failures of guessable proofs (passwords, 4 card digits, payment
details) within the window reach the threshold (default 5 in 24 h). Only a strong proof
(signed e-mail link, or in person) is then accepted; a strong success starts a fresh count.

Guesses checked at the same time must not overrun the threshold, so a guess first takes a
*slot*: an attempt recorded as ``pending`` under the client's lock, counted like a failure
until WHMCS has answered. At most ``lockout_failures`` guesses are ever being checked or
failed in a window, whatever the concurrency.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from whmcs_bridge.settings import Settings
from whmcs_bridge.verification import store


def window_start(conn: Connection, settings: Settings, client_id: int, now: datetime
                 ) -> datetime:
    start = now - timedelta(hours=settings.verification.lockout_window_hours)
    reset = store.last_strong_success(conn, client_id)
    return max(start, reset) if reset else start


def failures(conn: Connection, settings: Settings, client_id: int, now: datetime) -> int:
    return store.failures_since(conn, client_id, window_start(conn, settings, client_id, now))


def is_locked(conn: Connection, settings: Settings, client_id: int, now: datetime) -> bool:
    return failures(conn, settings, client_id, now) >= settings.verification.lockout_failures


def slots_left(conn: Connection, settings: Settings, client_id: int, now: datetime) -> int:
    """Guesses that may still be checked: the threshold less failures and guesses in flight."""
    used = store.failures_since(conn, client_id, window_start(conn, settings, client_id, now),
                                in_flight=True)
    return settings.verification.lockout_failures - used
