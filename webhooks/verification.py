"""Verification over HTTP: the staff proof API and the customer's signed-link pages.

* ``POST /api/tickets/<id>/verification`` (staff bearer token; the WHMCS panel uses it):
  ``{"method": "...", "admin": "<admin username>", ...method fields}`` checks one proof, or
  ``{"method": "link", "admin": ...}`` queues the signed e-mail link. Secrets arrive in the body
  and go nowhere but the WHMCS check.
* ``GET /api/tickets/<id>/verification``: state plus the attempt audit (never a proof).
* ``GET /verify/<token>`` shows what is being approved and a button; only ``POST`` approves,
  because mail scanners and link previews fetch every URL in an e-mail. An expired, reused,
  tampered or wrong-client link gives a clear page and approves nothing.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from whmcs_bridge import json_body
from whmcs_bridge.context import HandlerContext, JobContext
from whmcs_bridge.errors import BadRequest, NotFound
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import LINK, messages, service, status, store
from whmcs_bridge.verification.proofs import build_proof
from whmcs_bridge.webhooks.auth import bearer_token, require_token, token_name
from whmcs_bridge.webhooks.state import bridge
from whmcs_bridge.webhooks.throttle import Throttle

#: templates/verification_link.html is the link page (beside this module: the Flask side).
bp = Blueprint("verification", __name__, template_folder="templates")

#: A WHMCS admin username as the module reports it (``tbladmins.username``).
_ADMIN = re.compile(r"[\w.@+-]{1,50}")
log = logging.getLogger("whmcs_bridge.verification")


@contextlib.contextmanager
def _reading() -> Iterator[Any]:
    """A read-only connection: on SQLite it neither waits for nor takes the write lock (WAL
    readers run beside a writer), so a page view or a stranger's expired link never queues
    behind the worker's transactions."""
    with bridge().engine.connect() as conn:
        yield conn.execution_options(sqlite_readonly=True)


def _ctx(conn: Any) -> HandlerContext:
    return HandlerContext(settings=bridge().settings, conn=conn, now=utcnow(),
                          services=bridge().services)


# --------------------------------------------------------------------------- staff API

@bp.post("/api/tickets/<int:ticket_id>/verification")
@require_token
def submit(ticket_id: int) -> Any:
    """Refusals are raised for the app's one error handler: a bad field 400
    (:class:`~whmcs_bridge.verification.proofs.ProofInputError`), an unknown ticket 404, a
    link that cannot be sent 409 (no client, no public URL or ``server.secret_key``), WHMCS
    unable to check the proof 502 (any :class:`~whmcs_bridge.api.WhmcsError`)."""
    # a body sent as another type is not looked at (as Flask's get_json did)
    body = json_body.parse(request.get_data(cache=False)) if request.is_json else None
    if not isinstance(body, dict):
        raise BadRequest("must be a JSON object", field="body")
    method, admin = body.get("method"), body.get("admin")
    if not isinstance(method, str) or not method:
        raise BadRequest("required", field="method")
    if not isinstance(admin, str) or not _ADMIN.fullmatch(admin.strip()):
        raise BadRequest("required: a WHMCS username, at most 50 letters, digits and "
                         ". _ @ + -", field="admin")
    # the audit names the credential, which the body cannot choose, and the admin the
    # module reports behind it
    actor = f"{admin.strip()} via {token_name(bearer_token())}"
    if method == LINK:
        with bridge().engine.begin() as conn:
            ctx = _ctx(conn)
            expires = service.send_link(ctx, service.BridgeEffects(ctx), ticket_id)
        result: dict[str, Any] = {"outcome": "link_sent", "expires_at": expires}
    else:
        proof = build_proof(method, {k: v for k, v in body.items()
                                     if k not in ("method", "admin")})
        job = JobContext(settings=bridge().settings, engine=bridge().engine, now=utcnow(),
                         services=bridge().services)
        out = service.submit_proof(job, ticket_id, proof, actor=actor, channel="api")
        result = {"outcome": out.outcome, "reason": out.reason}
    with _reading() as conn:
        result["verification"] = status.for_ticket(conn, ticket_id)
    return jsonify(result), 200


@bp.get("/api/tickets/<int:ticket_id>/verification")
@require_token
def show(ticket_id: int) -> Any:
    with _reading() as conn:
        req = store.get_request(conn, ticket_id)
        if req is None:
            raise NotFound(f"ticket {ticket_id} has no verification record")
        attempts = [{"method": a.method, "outcome": a.outcome, "reason": a.reason,
                     "actor": a.actor, "channel": a.channel, "reference": a.reference,
                     "at": a.at.isoformat()} for a in store.attempts_for_ticket(conn, ticket_id)]
        return jsonify({
            "ticket_id": ticket_id, "tid": req.tid, "client_id": req.client_id,
            "changes": sorted(store.split_changes(req.changes)), "channel": req.channel,
            "verification": status.for_ticket(conn, ticket_id),
            "verified_by": req.verified_by,
            "expires_at": req.expires_at.isoformat() if req.expires_at else None,
            "deadline_at": req.deadline_at.isoformat() if req.deadline_at else None,
            "attempts": attempts,
        })


# --------------------------------------------------------------------------- link pages

_PAGE_TEXT = {
    "vi": {
        "title": "Xác minh quyền sở hữu tài khoản",
        "ask": "Xác nhận yêu cầu {tid}",
        "ask_body": "Yêu cầu này cần xác nhận của chủ tài khoản: {changes}. Nhấn nút bên dưới "
                    "nếu chính Quý khách đã gửi yêu cầu và đồng ý để chúng tôi thực hiện.",
        "button": "Tôi xác nhận",
        "not_you": "Nếu Quý khách không gửi yêu cầu này, hãy bỏ qua trang này và liên hệ "
                   "hotline. Không có gì được thay đổi.",
        "done": "Đã xác minh — cảm ơn Quý khách",
        "done_body": "Quyền sở hữu cho yêu cầu {tid} đã được xác minh. Chúng tôi sẽ tiếp tục xử "
                     "lý yêu cầu.",
        "fail": "Liên kết không dùng được",
        "expired": "Liên kết đã hết hạn. Vui lòng yêu cầu liên kết mới trong ticket.",
        "invalid": "Liên kết không hợp lệ (có thể bị sao chép thiếu hoặc bị sửa).",
        "used": "Liên kết này đã được sử dụng. Mỗi liên kết chỉ dùng được một lần.",
        "wrong_client": "Liên kết không khớp với tài khoản của yêu cầu.",
        "verified": "Yêu cầu này đã được xác minh trước đó.",
        "refused": "Yêu cầu này đã bị từ chối; vui lòng gửi yêu cầu mới từ khu vực khách hàng.",
        "changed": "Yêu cầu đã thay đổi sau khi gửi liên kết; vui lòng dùng liên kết mới.",
        "error": "Có lỗi tạm thời; vui lòng thử lại sau ít phút.",
        "throttled": "Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau ít phút.",
        "nothing": "Không có thay đổi nào được chấp thuận.",
    },
    "en": {
        "title": "Confirm account ownership",
        "ask": "Confirm request {tid}",
        "ask_body": "This request needs the account owner's confirmation: {changes}. Press the "
                    "button below if you made this request and want us to carry it out.",
        "button": "I confirm",
        "not_you": "If you did not make this request, ignore this page and call our hotline. "
                   "Nothing has been changed.",
        "done": "Verified — thank you",
        "done_body": "Ownership for request {tid} is verified. We will now continue with it.",
        "fail": "This link cannot be used",
        "expired": "This link has expired. Please ask for a new one in the ticket.",
        "invalid": "This link is not valid (it may be incomplete or altered).",
        "used": "This link has already been used. Each link works only once.",
        "wrong_client": "This link does not match the account of the request.",
        "verified": "This request was already verified.",
        "refused": "This request was refused; please send a new one from the client area.",
        "changed": "The request changed after this link was sent; please use a newer link.",
        "error": "A temporary error occurred; please try again in a few minutes.",
        "throttled": "Too many requests from this address; please try again in a few minutes.",
        "nothing": "Nothing has been approved.",
    },
}

_CODES = {"expired": 410, "invalid": 400, "used": 409, "wrong_client": 403, "verified": 409,
          "refused": 409, "changed": 409, "error": 503, "throttled": 429}


def _page(lang: str, code: int, *, heading: str, paragraphs: list[str], css: str,
          show_button: bool = False) -> Any:
    lang = lang if lang in _PAGE_TEXT else "vi"
    # the company's own name on the page, so a customer does not take it for phishing
    company = bridge().settings.verification.company_name
    html = render_template("verification_link.html", lang=lang, t=_PAGE_TEXT[lang],
                           heading=heading, paragraphs=paragraphs, css=css,
                           show_button=show_button, company=company)
    return html, code, {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "form-action 'self'; frame-ancestors 'none'",
    }


def _lang(view: service.LinkView) -> str:
    wanted = request.args.get("lang")
    return wanted if wanted in _PAGE_TEXT else view.language


def _failure(view: service.LinkView) -> Any:
    lang = _lang(view)
    t = _PAGE_TEXT[lang]
    reason = view.reason or "invalid"
    return _page(lang, _CODES.get(reason, 400), heading=t["fail"], css="bad",
                 paragraphs=[t.get(reason, t["invalid"]), t["nothing"]])


#: Link pages per remote address: a burst of 20, then one request every 6 s (a customer opens
#: a link a few times; a scanner or a guesser is slowed to a trickle). See :mod:`.throttle`.
LINK_BURST, LINK_PER_SECOND = 20, 1 / 6


def _link_throttle() -> Throttle:
    ext = current_app.extensions
    if "whmcs_bridge_link_throttle" not in ext:
        ext["whmcs_bridge_link_throttle"] = Throttle(LINK_BURST, LINK_PER_SECOND)
    throttle: Throttle = ext["whmcs_bridge_link_throttle"]
    return throttle


def _read(token: str) -> Any:
    """The link's claims, or the page to answer with: too many requests from this address,
    or a link whose signature names nothing of ours (both without touching the database)."""
    default = bridge().settings.verification.default_language
    address = request.remote_addr or "-"
    throttle = _link_throttle()
    if not throttle.allow(address):
        page = _failure(service.LinkView(False, "throttled", language=default))
        page[2]["Retry-After"] = str(max(1, throttle.retry_after(address)))
        return page
    read = service.read_link(bridge().settings, token, utcnow())
    if isinstance(read, service.LinkView) and read.ticket_id is None:
        return _failure(read)
    return read


@bp.get("/verify/<token>")
def link_page(token: str) -> Any:
    read = _read(token)
    if isinstance(read, tuple):
        return read
    with _reading() as conn:
        view, _ = service.inspect_link(_ctx(conn), read)
    if not view.ok:
        return _failure(view)
    lang = _lang(view)
    t = _PAGE_TEXT[lang]
    changes = messages.changes_text(lang, view.changes)
    return _page(lang, 200, heading=t["ask"].format(tid=view.tid), css="",
                 paragraphs=[t["ask_body"].format(changes=changes)], show_button=True)


@bp.post("/verify/<token>")
def link_approve(token: str) -> Any:
    read = _read(token)
    if isinstance(read, tuple):
        return read
    if isinstance(read, service.LinkView):  # expired: no write, only the ticket's language
        with _reading() as conn:
            return _failure(service.inspect_link(_ctx(conn), read)[0])
    try:
        with bridge().engine.begin() as conn:
            ctx = _ctx(conn)
            view = service.approve_link(ctx, service.BridgeEffects(ctx), read)
    except Exception as exc:  # WHMCS down while posting the note/reply: nothing committed
        log.warning("verification link approval failed: %s", type(exc).__name__)
        return _failure(service.LinkView(False, "error",
                                         language=bridge().settings.verification
                                         .default_language))
    if not view.ok:
        return _failure(view)
    lang = _lang(view)
    t = _PAGE_TEXT[lang]
    return _page(lang, 200, heading=t["done"], css="ok",
                 paragraphs=[t["done_body"].format(tid=view.tid)])
