"""The delivery loop: claim due deliveries, send them, record the outcome.

Run as the periodic job ``notify.deliver`` (see ``hooks/notify.py``) or by ``notify`` CLI
commands. One pass:

1. **claim** due rows (``pending``/``failed`` whose time has come, or ``sending`` whose lease
   ran out after a crash) and mark them ``sending`` with a lease — ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL so several workers never take the same row; SQLite serialises writers anyway;
2. **group** them: rows of one notification kind for one chat destination become one digest;
   a kind that already went to that destination inside the coalescing window is held until the
   window closes (then everything held leaves as one digest);
3. apply the per-channel **rate limit** (messages per minute, counted from the table so it
   holds across workers; a digest counts once) — rows over budget wait;
4. **send** outside any transaction and record ``sent``, or ``failed`` with exponential backoff
   and jitter, or ``dead`` after ``max_attempts`` or a permanent error (replayable).

A crash between a send and its record means the row is sent again after its lease: delivery is
at least once per row, exactly once when the process survives — the tests show the latter.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, func, or_, select, update

from whmcs_bridge.admin_links import admin_ticket_url
from whmcs_bridge.i18n import customer_language
from whmcs_bridge.notify import outbox, policy, recipients, render
from whmcs_bridge.notify.catalog import KINDS, LANGUAGES
from whmcs_bridge.notify.channels import DeliveryError, Outgoing, build
from whmcs_bridge.notify.routing import staff_member
from whmcs_bridge.notify.settings import CHAT_CHANNELS
from whmcs_bridge.notify.tables import (
    DEAD,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    deliveries,
    notifications,
)
from whmcs_bridge.retry import backoff_seconds

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)
SCRUBBED = "(sent; removed from the outbox)"


@dataclass
class Report:
    """What one pass did (the job logs it; tests assert on it)."""

    claimed: int = 0
    sent: int = 0  # rows delivered
    messages: int = 0  # messages sent (a digest is one)
    failed: int = 0
    dead: int = 0
    held: int = 0  # waiting for a digest window or a rate-limit budget
    purged: int = 0  # old sent notifications deleted


@dataclass
class Unit:
    """Rows that leave as one message."""

    channel: str
    recipient: str
    notification: str
    rows: list[dict[str, Any]]

    @property
    def leader(self) -> dict[str, Any]:
        return self.rows[0]


class Deliverer:
    """One process's delivery loop. ``whmcs`` is the API client or a callable returning it."""

    def __init__(self, engine: Engine, settings: Settings, *, whmcs: Any = None,
                 channels: Mapping[str, Any] | None = None,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.cfg = settings.notifications
        self._whmcs = whmcs
        self.channels = dict(channels) if channels is not None else build(self.cfg, self.whmcs)
        self.rng = rng or random.Random()
        self._purged_at: datetime | None = None

    def whmcs(self) -> Any:
        """The API client (``whmcs`` may be the client or a zero-argument factory)."""
        if self._whmcs is None:
            raise DeliveryError("WHMCS API client not configured")
        return self._whmcs if hasattr(self._whmcs, "get_client") else self._whmcs()

    # ------------------------------------------------------------------ claim

    def claim(self, now: datetime) -> list[dict[str, Any]]:
        d = deliveries
        due = or_(
            and_(d.c.status.in_([PENDING, FAILED]), d.c.next_attempt_at <= now),
            and_(d.c.status == SENDING, d.c.lease_until < now),
        )
        with self.engine.begin() as conn:
            q = select(d.c.id).where(due).order_by(d.c.next_attempt_at, d.c.id).limit(
                self.cfg.batch_size)
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = [r[0] for r in conn.execute(q)]
            if not ids:
                return []
            conn.execute(update(d).where(d.c.id.in_(ids)).values(
                status=SENDING, lease_until=now + timedelta(seconds=self.cfg.lease_seconds)))
            rows = conn.execute(
                select(d, notifications.c.payload)
                .join(notifications, notifications.c.id == d.c.notification_id)
                .where(d.c.id.in_(ids)).order_by(d.c.id))
            return [dict(r._mapping) for r in rows]

    # ------------------------------------------------------------------ group

    def group(self, rows: list[dict[str, Any]]) -> list[Unit]:
        """Chat rows of one kind and destination leave together (unless coalescing is off)."""
        units: dict[tuple, Unit] = {}
        for row in rows:
            coalesce = (self.cfg.coalesce_seconds > 0 and row["channel"] in CHAT_CHANNELS
                        and KINDS[row["notification"]].coalesce)
            key = ((row["channel"], row["recipient"], row["notification"]) if coalesce
                   else ("row", row["id"]))
            unit = units.setdefault(key, Unit(row["channel"], row["recipient"],
                                              row["notification"], []))
            unit.rows.append(row)
        return list(units.values())

    def _last_sent(self, conn: Any, unit: Unit) -> datetime | None:
        d = deliveries
        return conn.execute(select(func.max(d.c.sent_at)).where(
            d.c.channel == unit.channel, d.c.recipient == unit.recipient,
            d.c.notification == unit.notification, d.c.status == SENT)).scalar()

    def _sent_last_minute(self, conn: Any, channel: str, now: datetime) -> tuple[int, Any]:
        d = deliveries
        since = now - policy.RATE_WINDOW
        row = conn.execute(select(
            func.count(func.distinct(func.coalesce(d.c.digest_id, d.c.id))),
            func.min(d.c.sent_at),
        ).where(d.c.channel == channel, d.c.status == SENT, d.c.sent_at > since)).one()
        return int(row[0]), row[1]

    def _release(self, conn: Any, unit: Unit, until: datetime) -> None:
        conn.execute(update(deliveries)
                     .where(deliveries.c.id.in_([r["id"] for r in unit.rows]))
                     .values(status=PENDING, next_attempt_at=until, lease_until=None))

    def plan(self, units: list[Unit], now: datetime, report: Report) -> list[Unit]:
        """Hold units inside a coalescing window or over a rate limit; return those to send."""
        ready: list[Unit] = []
        budgets: dict[str, tuple[int | None, Any]] = {}
        with self.engine.begin() as conn:
            for unit in units:
                if unit.channel in CHAT_CHANNELS and KINDS[unit.notification].coalesce:
                    until = policy.hold_until(self._last_sent(conn, unit), now,
                                              self.cfg.coalesce_seconds)
                    if until is not None:
                        self._release(conn, unit, until)
                        report.held += len(unit.rows)
                        continue
                limit = self.cfg.rate_limits.get(unit.channel)
                if unit.channel not in budgets:
                    sent, oldest = self._sent_last_minute(conn, unit.channel, now)
                    budgets[unit.channel] = (policy.rate_budget(limit, sent), oldest)
                budget, oldest = budgets[unit.channel]
                if budget is not None and budget <= 0:
                    wait = (oldest + policy.RATE_WINDOW) if oldest else now + timedelta(
                        seconds=60 / max(1, limit or 1))
                    self._release(conn, unit, max(wait, now + timedelta(seconds=1)))
                    report.held += len(unit.rows)
                    continue
                if budget is not None:
                    budgets[unit.channel] = (budget - 1, oldest)
                ready.append(unit)
        return ready

    # ------------------------------------------------------------------ send

    def _language(self, unit: Unit) -> str:
        lang = unit.leader["language"]
        return lang if lang in LANGUAGES else self.cfg.default_language

    def _tz(self, unit: Unit) -> str:
        if unit.channel == "smtp":
            member = staff_member(self.cfg, unit.recipient)
            if member and member.timezone:
                return member.timezone
        return self.settings.timezone

    def _variables(self, unit: Unit, payload: dict[str, Any], language: str, *,
                   audience: str = "staff", name: str = "") -> dict[str, Any]:
        if not name and unit.channel == "smtp":
            member = staff_member(self.cfg, unit.recipient)
            name = member.name if member else ""
        return render.context(payload, language=language, tz=self._tz(unit), audience=audience,
                              ticket_url=admin_ticket_url(self.settings.whmcs.admin_url,
                                                         payload.get("ticket_id")),
                              recipient_name=name)

    def _message(self, unit: Unit, language: str, *, audience: str = "staff",
                 name: str = "") -> Outgoing:
        payloads = [r["payload"] for r in unit.rows]
        first = payloads[0]
        if len(payloads) == 1:
            rendered = render.render(unit.notification, self._variables(
                unit, first, language, audience=audience, name=name), language=language)
        else:
            rendered = render.render_digest(unit.notification, [
                self._variables(unit, p, language) for p in payloads], language=language)
        return Outgoing(
            notification=unit.notification, rendered=rendered, recipient=unit.recipient,
            msg_id=f"notify-{unit.leader['id']}", payloads=payloads,
            ticket_id=_int(first.get("ticket_id")), client_id=_int(first.get("client_id")),
            ticket_url=admin_ticket_url(self.settings.whmcs.admin_url,
                                        first.get("ticket_id")))

    def send(self, unit: Unit) -> None:
        """Render and send one unit; raise :class:`DeliveryError` on failure."""
        channel = self.channels.get(unit.channel)
        if channel is None:
            raise DeliveryError(f"channel {unit.channel} is not configured", permanent=True)
        if unit.channel != "customer":
            channel.send(self._message(unit, self._language(unit)))
            return
        payload = unit.leader["payload"]
        try:
            customer = recipients.resolve(self.whmcs(), unit.recipient,
                                          default_language=self.cfg.default_language)
        except DeliveryError:
            raise
        except Exception as exc:  # the API client's errors: retry unless it says otherwise
            raise DeliveryError.from_whmcs("customer lookup", exc) from None
        language = customer_language(payload.get("language"), customer.language)
        message = self._message(unit, language, audience="customer", name=customer.name)
        channel.send_to(replace(message, ticket_url=None), customer)

    def record(self, unit: Unit, now: datetime, error: DeliveryError | None,
               report: Report) -> None:
        ids = [r["id"] for r in unit.rows]
        d = deliveries
        with self.engine.begin() as conn:
            if error is None:
                conn.execute(update(d).where(d.c.id.in_(ids)).values(
                    status=SENT, sent_at=now, lease_until=None, last_error=None,
                    attempts=d.c.attempts + 1,
                    digest_id=unit.leader["id"] if len(ids) > 1 else None))
                self._scrub(conn, unit)
                report.sent += len(ids)
                report.messages += 1
                return
            attempts = max(r["attempts"] for r in unit.rows) + 1
            dead = error.permanent or attempts >= self.cfg.max_attempts
            delay = backoff_seconds(attempts, base=self.cfg.backoff_base_seconds,
                                    cap=self.cfg.backoff_max_seconds, rng=self.rng)
            conn.execute(update(d).where(d.c.id.in_(ids)).values(
                status=DEAD if dead else FAILED, attempts=d.c.attempts + 1,
                last_error=str(error)[:2000], lease_until=None,
                next_attempt_at=now if dead else now + timedelta(seconds=delay)))
        if dead:
            report.dead += len(ids)
            log.warning("notification %s to %s dead after %d attempts: %s", unit.notification,
                        unit.channel, attempts, error)
        else:
            report.failed += len(ids)
            log.info("notification %s to %s failed (attempt %d), retry in %.0fs: %s",
                     unit.notification, unit.channel, attempts, delay, error)

    def purge_old(self, now: datetime) -> int:
        """Drop sent notifications past the retention period, at most once an hour."""
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return 0
        self._purged_at = now
        with self.engine.begin() as conn:
            return outbox.purge(conn, before=now - timedelta(days=self.cfg.retention_days))

    @staticmethod
    def _scrub(conn: Any, unit: Unit) -> None:
        """Blank capability fields (a verification link) once delivered: the outbox keeps
        what happened, not a usable link."""
        keys = KINDS[unit.notification].scrub_after_send
        if not keys:
            return
        for row in unit.rows:
            payload = {**row["payload"], **{k: SCRUBBED for k in keys if k in row["payload"]}}
            conn.execute(update(notifications)
                         .where(notifications.c.id == row["notification_id"])
                         .values(payload=payload))

    def run_once(self, now: datetime) -> Report:
        report = Report()
        report.purged = self.purge_old(now)
        rows = self.claim(now)
        report.claimed = len(rows)
        if not rows:
            return report
        units = self.plan(self.group(rows), now, report)
        for index, unit in enumerate(units):
            try:
                self.send(unit)
                error = None
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a bug or an unexpected library error: retry, and log it
                log.exception("delivering %s via %s", unit.notification, unit.channel)
                error = DeliveryError(f"{type(exc).__name__}: {exc}")
            if error is not None and error.auth_failure:
                # WHMCS refused the credential: hand this and the rest back untouched and
                # stop; the worker stops on it too, and they go out once it is fixed.
                self.release([r for u in units[index:] for r in u.rows], now)
                raise error
            self.record(unit, now, error, report)
        return report

    def release(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Give claimed rows back, due now, their attempt count unchanged."""
        d = deliveries
        with self.engine.begin() as conn:
            for status, ids in ((PENDING, [r["id"] for r in rows if not r["attempts"]]),
                                (FAILED, [r["id"] for r in rows if r["attempts"]])):
                if ids:
                    conn.execute(update(d).where(d.c.id.in_(ids)).values(
                        status=status, lease_until=None, next_attempt_at=now))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def deliver_due(engine: Engine, settings: Settings, *, now: datetime, whmcs: Any = None,
                channels: Mapping[str, Any] | None = None,
                rng: random.Random | None = None) -> Report:
    """One delivery pass (what the periodic job runs)."""
    return Deliverer(engine, settings, whmcs=whmcs, channels=channels, rng=rng).run_once(now)


__all__ = ["Deliverer", "Report", "deliver_due"]
