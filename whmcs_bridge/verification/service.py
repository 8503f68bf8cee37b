"""Verification flows: open a request, take a proof, approve a link, refuse, handle leaks.

Every function works inside the caller's transaction on ``ctx.conn`` (``ctx`` is a
:class:`whmcs_bridge.context.HandlerContext`: ``settings``, ``conn``, ``now``, ``whmcs``,
``notify``), except :func:`submit_proof`, which asks WHMCS between transactions of its own; each
acts on the outside world only through an :class:`Effects` object, so the same
flows serve the hook handlers, the staff API, the link pages and the CLI, and tests can watch
every effect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from whmcs_bridge import errors
from whmcs_bridge.context import HandlerContext
from whmcs_bridge.i18n import customer_language
from whmcs_bridge.tickets import replies
from whmcs_bridge.tickets import store as tstore
from whmcs_bridge.verification import (
    CHANGE_KINDS,
    LINK,
    LOCKED,
    NOT_REQUIRED,
    PENDING,
    REFUSED,
    REQUIRED,
    STRONG_METHODS,
    VERIFIED,
    lockout,
    messages,
    policy,
    proofs,
    store,
    tokens,
)
from whmcs_bridge.writes.tables import CUSTOMER

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

log = logging.getLogger("whmcs_bridge.verification")

PAUSE_REASON = "awaiting_verification"


class Effects(Protocol):
    """What the flows do outside the verification tables."""

    def reply(self, ticket_id: int, message: str, *, status: str | None,
              dedupe_key: str) -> None: ...
    def note(self, ticket_id: int, message: str, *, dedupe_key: str) -> None: ...
    def notify(self, name: str, payload: dict[str, Any], *, dedupe_key: str) -> None: ...
    def pause(self, ticket_id: int) -> None: ...
    def resume(self, ticket_id: int) -> None: ...
    def rewrite_message(self, ticket_id: int, reply_id: int | None, text: str) -> None: ...


class BridgeEffects:
    """The real effects: ticket replies/notes/rewrites and SLA pauses through the tickets room,
    and notifications through the outbox, all in ``ctx``'s transaction. Nothing here calls
    WHMCS: writes are queued in the WHMCS write outbox, once per dedupe key, and sent after
    the transaction commits."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx

    def reply(self, ticket_id: int, message: str, *, status: str | None,
              dedupe_key: str) -> None:
        replies.post_bridge_reply(self.ctx, ticket_id, message, status=status,
                                  dedupe_key=dedupe_key)

    def note(self, ticket_id: int, message: str, *, dedupe_key: str) -> None:
        replies.post_note(self.ctx, ticket_id, message, dedupe_key=dedupe_key)

    def notify(self, name: str, payload: dict[str, Any], *, dedupe_key: str) -> None:
        self.ctx.notify(name, payload, dedupe_key=dedupe_key)

    def pause(self, ticket_id: int) -> None:
        tstore.start_pause(self.ctx.conn, ticket_id, PAUSE_REASON, self.ctx.now)

    def resume(self, ticket_id: int) -> None:
        tstore.end_pause(self.ctx.conn, ticket_id, PAUSE_REASON, self.ctx.now)

    def rewrite_message(self, ticket_id: int, reply_id: int | None, text: str) -> None:
        key = f"verification:rewrite:{ticket_id}:{reply_id or 0}"
        if reply_id:
            replies.update_reply(self.ctx, ticket_id, reply_id, text, key=key)
        else:  # the opening message (UpdateTicket message=, WHMCS 7.7+)
            replies.update_ticket(self.ctx, ticket_id, key=key, rank=CUSTOMER, message=text)


class NotFound(errors.NotFound, LookupError):
    """No such ticket (HTTP 404, CLI exit 1)."""


@dataclass(frozen=True)
class Outcome:
    """The result of a proof attempt or a link approval."""

    outcome: str  # verified | failed | rejected | already_verified
    state: str  # the ticket's verification state afterwards
    reason: str | None = None


def _ticket(conn: Any, ticket_id: int) -> Any | None:
    return tstore.get_ticket(conn, ticket_id)


def _lang(ctx: HandlerContext, value: str | None) -> str:
    return customer_language(value, ctx.settings.verification.default_language)


def _tid(req: Any) -> str:
    return req.tid or f"#{req.ticket_id}"


# --------------------------------------------------------------------------- requests

def open_request(ctx: HandlerContext, effects: Effects, ticket: Any, kinds: frozenset[str],
                 reasons: tuple[str, ...] = ()) -> Any:
    """Record that ``ticket`` asks for ``kinds``; start the refusal flow when proof is needed.

    Idempotent: a second message on the same ticket only adds change kinds.
    """
    conn, now, cfg = ctx.conn, ctx.now, ctx.settings.verification
    existing = store.get_request(conn, ticket.id)
    if existing is not None:
        merged = store.split_changes(existing.changes) | kinds
        if merged != store.split_changes(existing.changes):
            store.update_request(conn, ticket.id, now, changes=merged)
            if existing.state == REQUIRED and cfg.auto_send_link and existing.client_id:
                # earlier links name fewer changes and no longer approve: send a fresh one
                auto_send_link(ctx, effects, ticket.id)
        return store.get_request(conn, ticket.id)
    lang = _lang(ctx, getattr(ticket, "language", None))
    needed = policy.proof_needed(ticket.channel, cfg.channels_requiring_proof)
    deadline = now + timedelta(hours=cfg.refusal_timeout_hours) if needed else None
    store.create_request(conn, ticket_id=ticket.id, client_id=ticket.client_id, tid=ticket.tid,
                         changes=kinds, channel=ticket.channel, language=lang,
                         state=REQUIRED if needed else NOT_REQUIRED, now=now,
                         deadline_at=deadline, reasons=",".join(reasons) or None)
    req = store.the_request(conn, ticket.id)
    if not needed:
        return req
    hours = f"{cfg.refusal_timeout_hours:g}"
    effects.reply(ticket.id, messages.text(lang, "required", tid=_tid(req), hours=hours,
                                           changes=messages.changes_text(lang, kinds)),
                  status=cfg.awaiting_status, dedupe_key=f"verification:required:{ticket.id}")
    effects.pause(ticket.id)
    effects.note(ticket.id, f"[whmcs-bridge] Ownership verification required ({req.changes}; "
                            f"channel {ticket.channel or 'unknown'}). Refused automatically after "
                            f"{hours} h without proof.",
                 dedupe_key=f"verification:required-note:{ticket.id}")
    effects.notify("verification_required",
                   {"ticket_id": ticket.id, "tid": ticket.tid, "client_id": ticket.client_id,
                    "change": req.changes, "language": lang},
                   dedupe_key=f"verification_required:{ticket.id}")
    if cfg.auto_send_link and ticket.client_id:
        auto_send_link(ctx, effects, ticket.id)
    return store.get_request(conn, ticket.id)


def auto_send_link(ctx: HandlerContext, effects: Effects, ticket_id: int) -> None:
    """Send the link unasked; a missing key or public URL must not stop the refusal flow."""
    try:
        send_link(ctx, effects, ticket_id)
    except (tokens.KeyNotConfigured, LinkNotAvailable) as exc:
        log.warning("verification link not sent for ticket %s: %s", ticket_id, exc)


def ensure_request(ctx: HandlerContext, ticket_id: int) -> Any:
    """The ticket's request; staff may verify a ticket the classifier did not flag, which
    then covers every change kind. Safe when two proofs of a new ticket arrive together (the
    insert is an upsert)."""
    req = store.get_request(ctx.conn, ticket_id)
    if req is not None:
        return req
    ticket = _ticket(ctx.conn, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} is not known to the bridge (run whmcs-bridge sync)")
    store.create_request(ctx.conn, ticket_id=ticket.id, client_id=ticket.client_id,
                         tid=ticket.tid, changes=CHANGE_KINDS, channel=ticket.channel,
                         language=_lang(ctx, ticket.language), state=REQUIRED, now=ctx.now,
                         reasons="staff")
    return store.get_request(ctx.conn, ticket_id)


def _client_of(ctx: HandlerContext, req: Any) -> int:
    if req.client_id:
        return req.client_id
    ticket = _ticket(ctx.conn, req.ticket_id)
    if ticket is not None and ticket.client_id:
        store.update_request(ctx.conn, req.ticket_id, ctx.now, client_id=ticket.client_id)
        return ticket.client_id
    raise proofs.ProofInputError(
        "ticket", "has no client: link the ticket to the client in WHMCS first")


# --------------------------------------------------------------------------- proofs

@contextmanager
def _step(job: Any) -> Iterator[tuple[HandlerContext, BridgeEffects]]:
    """One transaction of a proof, with the context and effects the flows take."""
    with job.engine.begin() as conn:
        ctx = HandlerContext(settings=job.settings, conn=conn, now=job.now,
                             services=job.services)
        yield ctx, BridgeEffects(ctx)


@dataclass(frozen=True)
class _Slot:
    """An attempt reserved (recorded ``pending``) and waiting for WHMCS's answer."""

    attempt_id: int
    ticket_id: int
    client_id: int
    method: str
    actor: str
    channel: str
    reference: str | None
    fingerprint: str | None


def submit_proof(job: Any, ticket_id: int, proof: proofs.Proof, *, actor: str,
                 channel: str) -> Outcome:
    """Check a staff-submitted proof, audit it, and verify / fail / lock the ticket.

    ``job`` has ``settings``, ``engine``, ``now`` and ``services`` (a
    :class:`~whmcs_bridge.context.JobContext`): the proof runs as three steps, because WHMCS
    must never be asked while a transaction is open (it holds SQLite's write lock, and on
    PostgreSQL the client's lock, for a network round trip):

    1. *reserve*, one transaction under the client's lock: refuse when locked or when every
       remaining guess is already being checked, else record the attempt ``pending`` (it
       counts towards the lockout from now on) and commit;
    2. *check* against WHMCS, no transaction open;
    3. *resolve*, one transaction under the client's lock: record the outcome, then verify,
       or fail and lock at the threshold. A ticket is never both verified and locked.
    """
    if proof.method == LINK:
        raise proofs.ProofInputError("method", "links are approved by the client, not submitted")
    with _step(job) as (ctx, effects):
        step = _reserve(ctx, effects, ticket_id, proof, actor=actor, channel=channel)
    if isinstance(step, Outcome):
        return step
    try:
        result = proofs.check(job.services.whmcs, step.client_id, proof)
    except Exception as exc:
        with _step(job) as (ctx, effects):
            _audit(ctx, effects, step, "error", type(exc).__name__)
        raise
    with _step(job) as (ctx, effects):
        return _resolve(ctx, effects, step, result)


def _reserve(ctx: HandlerContext, effects: Effects, ticket_id: int, proof: proofs.Proof, *,
             actor: str, channel: str) -> _Slot | Outcome:
    conn, now, settings = ctx.conn, ctx.now, ctx.settings
    req = ensure_request(ctx, ticket_id)
    client_id = _client_of(ctx, req)
    store.lock_client(conn, client_id)
    req = store.the_request(conn, ticket_id)  # as it is now that we hold the lock
    if req.state == VERIFIED and (req.expires_at is None or req.expires_at > now):
        return Outcome("already_verified", VERIFIED)
    fp = None
    if proof.reuse_value is not None:
        fp = tokens.fingerprint(settings, f"attempt:{proof.method}:{client_id}",
                                proof.reuse_value)
    attempt_id = store.record_attempt(
        conn, ticket_id=ticket_id, client_id=client_id, method=proof.method, channel=channel,
        actor=actor, outcome=PENDING, reason=None, now=now, reference=proof.reference or None)
    slot = _Slot(attempt_id, ticket_id, client_id, proof.method, actor, channel,
                 proof.reference or None, fp)
    if proof.method in STRONG_METHODS:
        return slot
    if lockout.is_locked(conn, settings, client_id, now):
        _audit(ctx, effects, slot, "rejected", "locked")
        _lock(ctx, effects, req, client_id)
        return Outcome("rejected", LOCKED, "locked")
    if lockout.slots_left(conn, settings, client_id, now) < 0:  # this attempt took one too
        # the remaining guesses are all being checked right now: until they are answered
        # this one may not be checked (it could be the one after the lock)
        _audit(ctx, effects, slot, "rejected", "attempts_in_progress")
        return Outcome("rejected", req.state, "attempts_in_progress")
    if proof.leak_kind and store.any_leaked(
            conn, tokens.fingerprints(settings, f"leak:{proof.leak_kind}", proof.secret)):
        # known without asking WHMCS: resolve it in this same transaction
        return _resolve(ctx, effects, slot, proofs.ProofResult(False, "leaked_secret"))
    return slot


def _audit(ctx: HandlerContext, effects: Effects, slot: _Slot, outcome: str,
           reason: str | None) -> None:
    """Give the reserved attempt its outcome and tell staff in a ticket note."""
    store.resolve_attempt(ctx.conn, slot.attempt_id, outcome=outcome, reason=reason,
                          fingerprint=slot.fingerprint if outcome in (VERIFIED, "failed")
                          else None)
    req = store.get_request(ctx.conn, slot.ticket_id)
    effects.note(slot.ticket_id, messages.staff_note(
        tid=_tid(req), method=slot.method, outcome=outcome, actor=slot.actor,
        channel=slot.channel, reason=reason, reference=slot.reference),
        dedupe_key=f"verification:attempt:{slot.ticket_id}:{slot.attempt_id}")


def _resolve(ctx: HandlerContext, effects: Effects, slot: _Slot,
             result: proofs.ProofResult) -> Outcome:
    conn, now, settings = ctx.conn, ctx.now, ctx.settings
    store.lock_client(conn, slot.client_id)
    req = store.the_request(conn, slot.ticket_id)
    if result.ok and req.state == LOCKED and slot.method not in STRONG_METHODS:
        _audit(ctx, effects, slot, "rejected", "locked")
        return Outcome("rejected", LOCKED, "locked")
    if result.ok:
        _audit(ctx, effects, slot, VERIFIED, result.reason)
        if req.state != VERIFIED:  # a second right guess in flight changes nothing
            mark_verified(ctx, effects, req, slot.client_id, method=slot.method,
                          actor=slot.actor)
        return Outcome(VERIFIED, VERIFIED, result.reason)
    _audit(ctx, effects, slot, "failed", result.reason)
    if slot.method not in STRONG_METHODS and req.state != VERIFIED \
            and lockout.is_locked(conn, settings, slot.client_id, now):
        _lock(ctx, effects, req, slot.client_id)
        return Outcome("failed", LOCKED, result.reason)
    return Outcome("failed", req.state, result.reason)


def _lock(ctx: HandlerContext, effects: Effects, req: Any, client_id: int) -> None:
    """Lock the ticket's verification and alert the account owner (once per lock). A verified
    ticket stays verified: its proof was checked within the limit."""
    if req.state in (LOCKED, VERIFIED):
        return
    store.update_request(ctx.conn, req.ticket_id, ctx.now, state=LOCKED, locked_at=ctx.now)
    lang = req.language
    effects.reply(req.ticket_id, messages.text(lang, "locked", tid=_tid(req)), status=None,
                  dedupe_key=f"verification:locked:{req.ticket_id}")
    payload = {"ticket_id": req.ticket_id, "tid": req.tid, "client_id": client_id,
               "method": None, "actor": "bridge", "change": req.changes}
    effects.notify("verification_locked", payload,
                   dedupe_key=f"verification_locked:{req.ticket_id}:{ctx.now:%Y%m%d%H}")


def mark_verified(ctx: HandlerContext, effects: Effects, req: Any, client_id: int, *, method: str,
                  actor: str) -> None:
    cfg = ctx.settings.verification
    store.update_request(ctx.conn, req.ticket_id, ctx.now, state=VERIFIED, method=method,
                         verified_by=actor, verified_at=ctx.now, deadline_at=None,
                         client_id=client_id,
                         expires_at=ctx.now + timedelta(hours=cfg.verified_ttl_hours))
    effects.resume(req.ticket_id)
    effects.note(req.ticket_id,
                 f"[whmcs-bridge] Ownership VERIFIED for {_tid(req)} by {actor} using "
                 f"{messages.METHOD_NAMES['en'].get(method, method)}. Covers: {req.changes}. "
                 f"SLA resumed.", dedupe_key=f"verification:verified:{req.ticket_id}")
    effects.reply(req.ticket_id, messages.text(req.language, "verified", tid=_tid(req)),
                  status=cfg.verified_status,
                  dedupe_key=f"verification:verified-reply:{req.ticket_id}")
    base = {"ticket_id": req.ticket_id, "tid": req.tid, "client_id": client_id,
            "method": method, "actor": actor, "change": req.changes}
    effects.notify("verification_verified", base,
                   dedupe_key=f"verification_verified:{req.ticket_id}")
    effects.notify("account_change_authorised",
                   {"client_id": client_id, "ticket_id": req.ticket_id, "method": method,
                    "change": req.changes},
                   dedupe_key=f"account_change_authorised:{req.ticket_id}")


# --------------------------------------------------------------------------- links

class LinkNotAvailable(errors.Conflict, RuntimeError):
    """A link cannot be sent for this ticket (no client, no public URL, already verified):
    409."""


def send_link(ctx: HandlerContext, effects: Effects, ticket_id: int) -> str:
    """Queue the signed link to the client's address on file; returns its expiry (ISO)."""
    req = ensure_request(ctx, ticket_id)
    if req.state == VERIFIED:
        raise LinkNotAvailable("ticket is already verified")
    if req.state == REFUSED:
        raise LinkNotAvailable("ticket was refused; the client must send a new request")
    client_id = _client_of(ctx, req)
    base = ctx.settings.server.public_url
    if not base:
        raise LinkNotAvailable("server.public_url is not set (links need the bridge's address)")
    token, claims, expires = tokens.issue(
        ctx.settings, ticket_id=ticket_id, client_id=client_id,
        changes=sorted(store.split_changes(req.changes)), now=ctx.now)
    store.add_nonce(ctx.conn, nonce=claims.nonce, ticket_id=ticket_id, client_id=client_id,
                    issued_at=ctx.now, expires_at=expires)
    effects.notify("verification_link",
                   {"ticket_id": ticket_id, "tid": req.tid, "client_id": client_id,
                    "change": req.changes, "url": f"{base.rstrip('/')}/verify/{token}",
                    "expires_at": expires.isoformat(), "language": req.language},
                   dedupe_key=f"verification_link:{claims.nonce}")
    return expires.isoformat()


@dataclass(frozen=True)
class LinkView:
    """What a link page shows: ok, or the reason nothing can be approved. ``ticket_id`` is
    set on an expired link (genuinely ours, so the page may look up the ticket's language)."""

    ok: bool
    reason: str | None = None
    tid: str | None = None
    changes: tuple[str, ...] = ()
    language: str = "vi"
    ticket_id: int | None = None


def read_link(settings: Settings, token: str, now: Any) -> tokens.LinkClaims | LinkView:
    """The link's claims, or why it approves nothing, from its signature alone: no database
    access, so a stranger's made-up link costs a HMAC and nothing else."""
    default = settings.verification.default_language
    try:
        return tokens.read(settings, token, now=now)
    except tokens.KeyNotConfigured:
        # a misconfiguration, not the customer's fault: "try later", approve nothing
        log.error("verification link opened but server.secret_key is not set")
        return LinkView(False, "error", language=default)
    except tokens.LinkError as exc:
        return LinkView(False, exc.reason, language=default, ticket_id=exc.ticket_id)


def inspect_link(ctx: HandlerContext, token: str | tokens.LinkClaims | LinkView
                 ) -> tuple[LinkView, Any]:
    """Check a link without using it (the GET page); ``token`` may be :func:`read_link`'s
    answer already."""
    read = read_link(ctx.settings, token, ctx.now) if isinstance(token, str) else token
    default = ctx.settings.verification.default_language
    if isinstance(read, LinkView):
        known = store.get_request(ctx.conn, read.ticket_id) if read.ticket_id else None
        return LinkView(False, read.reason, language=known.language if known else default), None
    claims = read
    nonce = store.get_nonce(ctx.conn, claims.nonce)
    req = store.get_request(ctx.conn, claims.ticket_id)
    if nonce is None or req is None or nonce.ticket_id != claims.ticket_id:
        return LinkView(False, "invalid", language=default), None
    lang = req.language
    if req.client_id != claims.client_id or nonce.client_id != claims.client_id:
        return LinkView(False, "wrong_client", language=lang), (claims, req)
    if nonce.used_at is not None:
        return LinkView(False, "used", language=lang), (claims, req)
    if req.state in (VERIFIED, REFUSED):
        return LinkView(False, req.state, language=lang), (claims, req)
    if frozenset(claims.changes) != store.split_changes(req.changes):
        # the request grew since the link was sent: the customer must see what they approve
        return LinkView(False, "changed", language=lang), (claims, req)
    return LinkView(True, None, _tid(req), claims.changes, lang), (claims, req)


#: Refusals of a genuine link that staff should see in the audit (once per link each).
AUDITED_LINK_REFUSALS = ("wrong_client", "used")


def approve_link(ctx: HandlerContext, effects: Effects, token: str | tokens.LinkClaims) -> LinkView:
    """The POST: use the nonce once and verify the ticket."""
    view, found = inspect_link(ctx, token)
    if found is not None and not view.ok and view.reason in AUDITED_LINK_REFUSALS:
        claims, req = found
        # the fingerprint names the link and the refusal, so reloading a used link's page
        # (or a scanner replaying it) adds no row after the first
        fp = tokens.fingerprint(ctx.settings, f"link:{view.reason}", claims.nonce)
        if not store.attempt_with_fingerprint(ctx.conn, req.ticket_id, fp):
            store.record_attempt(ctx.conn, ticket_id=req.ticket_id, client_id=req.client_id,
                                 method=LINK, channel="email_link", actor="client",
                                 outcome="rejected", reason=view.reason, now=ctx.now,
                                 fingerprint=fp)
    if not view.ok:
        return view
    claims, req = found
    if not store.use_nonce(ctx.conn, claims.nonce, ctx.now):
        return LinkView(False, "used", language=view.language)
    store.record_attempt(ctx.conn, ticket_id=req.ticket_id, client_id=claims.client_id,
                         method=LINK, channel="email_link", actor="client", outcome=VERIFIED,
                         reason="link_approved", now=ctx.now)
    effects.note(req.ticket_id, messages.staff_note(
        tid=_tid(req), method=LINK, outcome=VERIFIED, actor="client (e-mail link)",
        channel="email_link", reason=None), dedupe_key=f"verification:link:{claims.nonce}")
    mark_verified(ctx, effects, req, claims.client_id, method=LINK, actor="client")
    return view


# --------------------------------------------------------------------------- refusal

def refuse(ctx: HandlerContext, effects: Effects, req: Any) -> None:
    """Post the refusal, close/mark the ticket as configured, tell staff."""
    cfg = ctx.settings.verification
    store.update_request(ctx.conn, req.ticket_id, ctx.now, state=REFUSED, refused_at=ctx.now,
                         deadline_at=None)
    effects.reply(req.ticket_id, messages.text(
        req.language, "refused", tid=_tid(req),
        changes=messages.changes_text(req.language, store.split_changes(req.changes))),
        status=cfg.refused_status, dedupe_key=f"verification:refused:{req.ticket_id}")
    effects.notify("verification_refused",
                   {"ticket_id": req.ticket_id, "tid": req.tid, "client_id": req.client_id,
                    "method": None, "actor": "bridge", "change": req.changes},
                   dedupe_key=f"verification_refused:{req.ticket_id}")


def overdue(ctx: HandlerContext) -> list[Any]:
    return store.overdue_requests(ctx.conn, (REQUIRED, LOCKED), ctx.now)


# --------------------------------------------------------------------------- leaks

def record_leaks(ctx: HandlerContext, leaks: Sequence[Mapping[str, Any]], *, ticket_id: int | None,
                 client_id: int | None) -> None:
    """Mark every leaked secret as unusable for proof, from its redaction record (the keyed
    fingerprint computed at intake, :mod:`~whmcs_bridge.verification.intake`): the value
    itself is never seen here, nor stored anywhere."""
    for leak in leaks:
        if not leak.get("fingerprint"):  # redacted where no key was configured
            log.warning("leaked %s on ticket %s has no fingerprint; not recorded",
                        leak.get("kind"), ticket_id)
            continue
        store.add_leaked(ctx.conn, fingerprint=leak["fingerprint"],
                         kind=leak["fingerprint_kind"], client_id=client_id or None,
                         ticket_id=ticket_id, now=ctx.now)


def leak_kinds(leaks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The kinds of secret found (``card_number``, ``password``, …), sorted, each once."""
    return sorted({str(leak["kind"]) for leak in leaks})


def handle_leak(ctx: HandlerContext, effects: Effects, leaks: Sequence[Mapping[str, Any]],
                redacted_text: str, *, ticket: Any, reply_id: int | None,
                event_id: str) -> None:
    """Credentials in a ticket message: record the fingerprints, optionally rewrite the WHMCS
    copy with ``redacted_text`` (the message as the bridge stored it), ask the customer to
    change them, tell staff (kinds only)."""
    cfg = ctx.settings.verification
    record_leaks(ctx, leaks, ticket_id=ticket.id, client_id=ticket.client_id)
    rewritten = False
    if cfg.redact_in_whmcs:
        effects.rewrite_message(ticket.id, reply_id, redacted_text)
        rewritten = True
    lang = _lang(ctx, getattr(ticket, "language", None))
    kinds = ", ".join(leak_kinds(leaks))
    body = messages.text(lang, "leaked", tid=ticket.tid or f"#{ticket.id}", kinds=kinds)
    if ticket.channel == "chat":
        body = messages.text(lang, "chat_warning") + body
    effects.reply(ticket.id, body, status=None, dedupe_key=f"verification:leak:{event_id}")
    effects.note(ticket.id, f"[whmcs-bridge] Credentials found in a customer message ({kinds}); "
                            f"marked unusable for ownership proof; WHMCS copy "
                            f"{'redacted' if rewritten else 'NOT redacted (setting off)'}.",
                 dedupe_key=f"verification:leak-note:{event_id}")
