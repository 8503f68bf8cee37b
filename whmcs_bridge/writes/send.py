"""The WHMCS write sender: claim due writes within the budget, send them, record the outcome.

Run by the worker after every batch (so a handler's writes leave right after its transaction
commits) and by ``whmcs-bridge outbox send``. One pass:

1. **claim** due rows (``pending``/``failed`` whose time has come, or ``sending`` whose lease
   ran out after a crash, which makes their outcome unknown), most urgent first (a customer's
   reply before escalation notes), at most the **write budget**: ``whmcs.write_rate_per_second``
   less what was sent or is being sent in the last second, counted from the table so it holds
   across workers. A backlog of a thousand escalation notes therefore leaves a few per second;
2. **send** each outside any transaction. A reply or note whose last attempt had an unknown
   outcome is first looked for in the ticket (GetTicket) and, when there, recorded as sent
   without posting it again: AddTicketReply and AddTicketNote are not idempotent at WHMCS.
   UpdateTicket and UpdateTicketReply set values, so they are simply sent again;
3. **record** ``sent``, or ``failed`` with the one backoff rule
   (:func:`whmcs_bridge.retry.backoff_seconds`), or ``dead`` after
   ``whmcs.write_max_attempts`` or a permanent WHMCS refusal (``whmcs-bridge outbox list
   --queue whmcs --status dead`` shows them, ``outbox replay --queue whmcs`` sends them again).

A sent row keeps the hash of its text, not the text.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, func, or_, select, update

from whmcs_bridge.logs import scrub
from whmcs_bridge.retry import backoff_seconds
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.writes import policy
from whmcs_bridge.writes.policy import message_hash
from whmcs_bridge.writes.tables import (
    DEAD,
    FAILED,
    NOTE,
    PENDING,
    REPLY,
    SENDING,
    SENT,
    UPDATE_REPLY,
    UPDATE_TICKET,
    whmcs_writes,
)

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

log = logging.getLogger(__name__)

W = whmcs_writes


@dataclass
class Report:
    """What one pass did (logged; tests assert on it)."""

    claimed: int = 0
    sent: int = 0
    deduped: int = 0  # found already in WHMCS after an unknown outcome: not sent again
    failed: int = 0
    dead: int = 0
    held: bool = False  # due writes were left for a later pass by the budget
    #: WHMCS refused the credential: the pass stopped and handed its writes back uncounted
    #: (every later call would be refused too; the caller decides whether to stop)
    refused: BaseException | None = None


class Sender:
    """One process's write sender. ``whmcs`` is the API client or a zero-argument factory."""

    def __init__(self, engine: Engine, settings: Settings, *, whmcs: Any,
                 clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self._whmcs = whmcs
        self.clock = clock
        self.rng = rng or random.Random()

    def whmcs(self) -> Any:
        """The API client; a factory is called on first use, once."""
        if not hasattr(self._whmcs, "add_ticket_reply"):
            self._whmcs = self._whmcs()
        return self._whmcs

    @staticmethod
    def _due(now: datetime) -> Any:
        return or_(and_(W.c.status.in_([PENDING, FAILED]), W.c.next_attempt_at <= now),
                   and_(W.c.status == SENDING, W.c.lease_until < now))

    def claim(self, now: datetime, report: Report) -> list[dict[str, Any]]:
        # a read first, without the write lock: an idle worker checks every poll interval
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn:
            if conn.execute(select(W.c.id).where(self._due(now)).limit(1)).first() is None:
                return []
        rate = self.settings.whmcs.write_rate_per_second
        with self.engine.begin() as conn:
            used = conn.execute(select(func.count()).select_from(W).where(or_(
                W.c.sent_at > now - policy.BUDGET_WINDOW,
                and_(W.c.status == SENDING, W.c.lease_until >= now)))).scalar() or 0
            n = policy.budget(rate, int(used))
            if n == 0:
                report.held = True
                return []
            q = (select(W).where(self._due(now))
                 .order_by(W.c.rank, W.c.next_attempt_at, W.c.id).limit(n + 1))
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = [dict(r._mapping) for r in conn.execute(q)]
            report.held = len(rows) > n
            rows = rows[:n]
            if not rows:
                return []
            lease = now + timedelta(seconds=self.settings.worker.lease_seconds)
            crashed = [r["id"] for r in rows if r["status"] == SENDING]
            if crashed:  # claimed before and never recorded: it may have reached WHMCS
                conn.execute(update(W).where(W.c.id.in_(crashed)).values(outcome_unknown=True))
                for r in rows:
                    r["outcome_unknown"] = r["outcome_unknown"] or r["id"] in crashed
            conn.execute(update(W).where(W.c.id.in_([r["id"] for r in rows]))
                         .values(status=SENDING, lease_until=lease))
        report.claimed += len(rows)
        return rows

    def _sent_before(self, row: dict[str, Any]) -> int:
        """How many writes of this text to this ticket are recorded as sent."""
        wanted = message_hash(row["params"].get("message") or "")
        with self.engine.connect().execution_options(sqlite_readonly=True) as conn:
            sent = conn.execute(select(W.c.params).where(
                W.c.ticket_id == row["ticket_id"], W.c.action == row["action"],
                W.c.status == SENT)).scalars()
            return sum(1 for p in sent if (p or {}).get("message_sha256") == wanted)

    def send(self, row: dict[str, Any]) -> bool:
        """Carry out one write; True when it was found already done (not sent again)."""
        client = self.whmcs()
        action, ticket_id, p = row["action"], row["ticket_id"], row["params"]
        if action in (REPLY, NOTE) and row["outcome_unknown"]:
            ticket = client.get_ticket(ticket_id)
            if policy.found_in_ticket(ticket, action, p["message"], self._sent_before(row)):
                return True
        if action == REPLY:
            client.add_ticket_reply(ticket_id, p["message"], adminusername=p.get("adminusername"),
                                    status=p.get("status"))
        elif action == NOTE:
            client.add_ticket_note(ticket_id, p["message"])
        elif action == UPDATE_TICKET:
            client.update_ticket(ticket_id, **p["fields"])
        elif action == UPDATE_REPLY:
            client.update_ticket_reply(p["replyid"], p["message"])
        else:  # enqueue refuses unknown actions; a row from a newer version, say
            raise ValueError(f"unknown WHMCS write action {action!r}")
        return False

    def record(self, row: dict[str, Any], now: datetime, error: BaseException | None,
               deduped: bool, report: Report) -> None:
        with self.engine.begin() as conn:
            if error is None:
                params = {k: v for k, v in row["params"].items() if k != "message"}
                if "message" in row["params"]:
                    params["message_sha256"] = message_hash(row["params"]["message"])
                conn.execute(update(W).where(W.c.id == row["id"]).values(
                    status=SENT, sent_at=now, lease_until=None, last_error=None,
                    attempts=W.c.attempts + 1, params=params))
                if deduped:
                    report.deduped += 1
                else:
                    report.sent += 1
                return
            verdict = policy.judge(error)
            attempts = row["attempts"] + 1
            dead = verdict.permanent or attempts >= self.settings.whmcs.write_max_attempts
            delay = backoff_seconds(attempts, base=self.settings.worker.backoff_base_seconds,
                                    cap=self.settings.worker.backoff_max_seconds, rng=self.rng)
            text = scrub(f"{type(error).__name__}: {error}")[:2000]
            conn.execute(update(W).where(W.c.id == row["id"]).values(
                status=DEAD if dead else FAILED, attempts=attempts, last_error=text,
                lease_until=None, outcome_unknown=row["outcome_unknown"] or verdict.unknown,
                next_attempt_at=now if dead else now + timedelta(seconds=delay)))
        if dead:
            report.dead += 1
            log.warning("WHMCS write dead", extra={"write_id": row["id"], "action": row["action"],
                                                   "ticket_id": row["ticket_id"],
                                                   "attempts": attempts, "error": text})
        else:
            report.failed += 1
            log.info("WHMCS write failed, retried later", extra={
                "write_id": row["id"], "action": row["action"], "ticket_id": row["ticket_id"],
                "attempts": attempts, "retry_in_seconds": round(delay, 1), "error": text})

    def release(self, rows: list[dict[str, Any]]) -> None:
        """Hand claimed rows back as they were, no attempt counted."""
        with self.engine.begin() as conn:
            for row in rows:
                status = PENDING if row["status"] == SENDING else row["status"]
                conn.execute(update(W).where(W.c.id == row["id"]).values(
                    status=status, lease_until=None))

    def run_once(self, now: datetime | None = None) -> Report:
        report = Report()
        now = now or self.clock()
        rows = self.claim(now, report)
        if rows:
            try:
                self.whmcs()
            except BaseException:  # not configured (no whmcs.url): the writes wait, uncounted
                self.release(rows)
                raise
        for i, row in enumerate(rows):
            try:
                deduped, error = self.send(row), None
            except Exception as exc:  # WHMCS errors and bugs alike: recorded, never lost
                deduped, error = False, exc
            if error is not None and getattr(error, "auth_failure", False):
                # not this write's fault, and WHMCS bans the IP after 3 failed logins
                self.release(rows[i:])
                report.refused = error
                log.error("WHMCS refused the API credential; WHMCS writes wait",
                          extra={"error": scrub(str(error))})
                break
            self.record(row, now, error, deduped, report)
        return report


def send_due(engine: Engine, settings: Settings, *, whmcs: Any, now: datetime | None = None,
             rng: random.Random | None = None) -> Report:
    """One pass (what ``whmcs-bridge outbox send`` runs)."""
    return Sender(engine, settings, whmcs=whmcs, rng=rng).run_once(now)


__all__ = ["Report", "Sender", "send_due"]
