"""Lockout: too many failed guessable proofs for one client, across tickets and channels.

A client is locked when the failures of guessable proofs (passwords, 4 card digits, payment
details) within the window reach the threshold (default 5 in 24 h). Only a strong proof
(signed e-mail link, or in person) is then accepted; a strong success starts a fresh count.
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
