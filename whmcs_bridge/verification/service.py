"""Verification flows: open a request, take a proof, approve a link, refuse, handle leaks.

Every function works inside the caller's transaction on ``ctx.conn`` (``ctx`` is a
:class:`whmcs_bridge.context.HandlerContext`: ``settings``, ``conn``, ``now``, ``whmcs``,
``notify``) and acts on the outside world only through an :class:`Effects` object, so the same
flows serve the hook handlers, the staff API, the link pages and the CLI, and tests can watch
every effect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from whmcs_bridge.tickets import replies
from whmcs_bridge.tickets import store as tstore
from whmcs_bridge.verification import (
    CHANGE_KINDS,
    LINK,
    LOCKED,
    NOT_REQUIRED,
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
    """The real effects: ticket replies/notes and SLA pauses through the tickets room, and
    notifications through the outbox, all in ``ctx``'s transaction (WHMCS calls are the
    side effects, made once per dedupe key)."""

    def __init__(self, ctx: Any) -> None:
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
        if reply_id:
            self.ctx.whmcs.update_ticket_reply(reply_id, text)
        else:  # the opening message (UpdateTicket message=, WHMCS 7.7+)
            self.ctx.whmcs.update_ticket(ticket_id, message=text)


class NotFound(LookupError):
    """No such ticket (HTTP 404, CLI exit 1)."""


@dataclass(frozen=True)
class Outcome:
    """The result of a proof attempt or a link approval."""

    outcome: str  # verified | failed | rejected | already_verified
    state: str  # the ticket's verification state afterwards
    reason: str | None = None


def _ticket(conn: Any, ticket_id: int) -> Any | None:
    return tstore.get_ticket(conn, ticket_id)


def _lang(ctx: Any, value: str | None) -> str:
    return messages.language_of(value, ctx.settings.verification.default_language)


def _tid(req: Any) -> str:
    return req.tid or f"#{req.ticket_id}"


# --------------------------------------------------------------------------- requests

def open_request(ctx: Any, effects: Effects, ticket: Any, kinds: frozenset[str],
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
                _auto_send_link(ctx, effects, ticket.id)
        return store.get_request(conn, ticket.id)
    lang = _lang(ctx, getattr(ticket, "language", None))
    needed = policy.proof_needed(ticket.channel, cfg.channels_requiring_proof)
    deadline = now + timedelta(hours=cfg.refusal_timeout_hours) if needed else None
    store.create_request(conn, ticket_id=ticket.id, client_id=ticket.client_id, tid=ticket.tid,
                         changes=kinds, channel=ticket.channel, language=lang,
                         state=REQUIRED if needed else NOT_REQUIRED, now=now,
                         deadline_at=deadline, reasons=",".join(reasons) or None)
    req = store.get_request(conn, ticket.id)
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
        _auto_send_link(ctx, effects, ticket.id)
    return store.get_request(conn, ticket.id)


def _auto_send_link(ctx: Any, effects: Effects, ticket_id: int) -> None:
    """Send the link unasked; a missing key or public URL must not stop the refusal flow."""
    try:
        send_link(ctx, effects, ticket_id)
    except (tokens.KeyNotConfigured, LinkNotAvailable) as exc:
        log.warning("verification link not sent for ticket %s: %s", ticket_id, exc)


def ensure_request(ctx: Any, ticket_id: int) -> Any:
    """The ticket's request; staff may verify a ticket the classifier did not flag, which
    then covers every change kind."""
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


def _client_of(ctx: Any, req: Any) -> int:
    if req.client_id:
        return req.client_id
    ticket = _ticket(ctx.conn, req.ticket_id)
    if ticket is not None and ticket.client_id:
        store.update_request(ctx.conn, req.ticket_id, ctx.now, client_id=ticket.client_id)
        return ticket.client_id
    raise proofs.ProofInputError(
        "ticket", "has no client: link the ticket to the client in WHMCS first")


# --------------------------------------------------------------------------- proofs

def submit_proof(ctx: Any, effects: Effects, ticket_id: int, proof: proofs.Proof, *,
                 actor: str, channel: str) -> Outcome:
    """Check a staff-submitted proof, audit it, and verify / fail / lock the ticket."""
    conn, now, settings = ctx.conn, ctx.now, ctx.settings
    req = ensure_request(ctx, ticket_id)
    client_id = _client_of(ctx, req)
    if req.state == VERIFIED and (req.expires_at is None or req.expires_at > now):
        return Outcome("already_verified", VERIFIED)
    if proof.method == LINK:
        raise proofs.ProofInputError("method", "links are approved by the client, not submitted")

    def audit(outcome: str, reason: str | None, fp: str | None = None) -> None:
        store.record_attempt(conn, ticket_id=ticket_id, client_id=client_id,
                             method=proof.method, channel=channel, actor=actor, outcome=outcome,
                             reason=reason, now=now, fingerprint=fp,
                             reference=proof.reference or None)
        n = len(store.attempts_for_ticket(conn, ticket_id))
        effects.note(ticket_id, messages.staff_note(
            tid=_tid(req), method=proof.method, outcome=outcome, actor=actor, channel=channel,
            reason=reason, reference=proof.reference or None),
            dedupe_key=f"verification:attempt:{ticket_id}:{n}")

    if proof.method not in STRONG_METHODS and lockout.is_locked(conn, settings, client_id, now):
        audit("rejected", "locked")
        _lock(ctx, effects, req, client_id)
        return Outcome("rejected", LOCKED, "locked")

    fp = None
    if proof.reuse_value is not None:
        fp = tokens.fingerprint(settings, f"attempt:{proof.method}:{client_id}",
                                proof.reuse_value)
    if proof.leak_kind and store.any_leaked(
            conn, tokens.fingerprints(settings, f"leak:{proof.leak_kind}", proof.secret)):
        result = proofs.ProofResult(False, "leaked_secret")
    else:
        try:
            result = proofs.check(ctx.whmcs, client_id, proof)
        except proofs.ProofInputError:
            raise
        except Exception as exc:
            audit("error", type(exc).__name__)
            raise
    if result.ok:
        audit(VERIFIED, result.reason, fp)
        mark_verified(ctx, effects, req, client_id, method=proof.method, actor=actor)
        return Outcome(VERIFIED, VERIFIED, result.reason)
    audit("failed", result.reason, fp)
    if proof.method not in STRONG_METHODS and lockout.is_locked(conn, settings, client_id, now):
        _lock(ctx, effects, req, client_id)
        return Outcome("failed", LOCKED, result.reason)
    return Outcome("failed", store.get_request(conn, ticket_id).state, result.reason)


def _lock(ctx: Any, effects: Effects, req: Any, client_id: int) -> None:
    """Lock the ticket's verification and alert the account owner (once per lock)."""
    if req.state == LOCKED:
        return
    store.update_request(ctx.conn, req.ticket_id, ctx.now, state=LOCKED, locked_at=ctx.now)
    lang = req.language
    effects.reply(req.ticket_id, messages.text(lang, "locked", tid=_tid(req)), status=None,
                  dedupe_key=f"verification:locked:{req.ticket_id}")
    payload = {"ticket_id": req.ticket_id, "tid": req.tid, "client_id": client_id,
               "method": None, "actor": "bridge", "change": req.changes}
    effects.notify("verification_locked", payload,
                   dedupe_key=f"verification_locked:{req.ticket_id}:{ctx.now:%Y%m%d%H}")


def mark_verified(ctx: Any, effects: Effects, req: Any, client_id: int, *, method: str,
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

class LinkNotAvailable(RuntimeError):
    """A link cannot be sent for this ticket (no client, no public URL, already verified)."""


def send_link(ctx: Any, effects: Effects, ticket_id: int) -> str:
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
    """What a link page shows: ok, or the reason nothing can be approved."""

    ok: bool
    reason: str | None = None
    tid: str | None = None
    changes: tuple[str, ...] = ()
    language: str = "vi"


def inspect_link(ctx: Any, token: str) -> tuple[LinkView, Any]:
    """Check a link without using it (the GET page)."""
    default = ctx.settings.verification.default_language
    try:
        claims = tokens.read(ctx.settings, token, now=ctx.now)
    except tokens.KeyNotConfigured:
        # a misconfiguration, not the customer's fault: "try later", approve nothing
        log.error("verification link opened but server.secret_key is not set")
        return LinkView(False, "error", language=default), None
    except tokens.LinkError as exc:
        known = store.get_request(ctx.conn, exc.ticket_id) if exc.ticket_id else None
        return LinkView(False, exc.reason, language=known.language if known else default), None
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


def approve_link(ctx: Any, effects: Effects, token: str) -> LinkView:
    """The POST: use the nonce once and verify the ticket."""
    view, found = inspect_link(ctx, token)
    if found is not None and not view.ok and view.reason in ("wrong_client", "used"):
        claims, req = found
        store.record_attempt(ctx.conn, ticket_id=req.ticket_id, client_id=req.client_id,
                             method=LINK, channel="email_link", actor="client",
                             outcome="rejected", reason=view.reason, now=ctx.now)
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

def refuse(ctx: Any, effects: Effects, req: Any) -> None:
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


def overdue(ctx: Any) -> list[Any]:
    return store.overdue_requests(ctx.conn, (REQUIRED, LOCKED), ctx.now)


# --------------------------------------------------------------------------- leaks

def record_leaks(ctx: Any, leaks: Sequence[Mapping[str, Any]], *, ticket_id: int | None,
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


def handle_leak(ctx: Any, effects: Effects, leaks: Sequence[Mapping[str, Any]],
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
