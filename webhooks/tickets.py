"""Staff ticket API (design: "Staff API"): the enriched ticket as JSON and the HTML panel the
WHMCS admin ticket page shows. Bearer token required; 404 for a ticket the store does not know.

The panel is one self-contained fragment (inline style and script, no external assets) so the
PHP module can print it as-is: level, state colour, due time in the agent's zone (``?tz=``,
default the bridge's zone), a live countdown, channel, verification state and escalations,
in Vietnamese or English (``?lang=vi|en``).

The root element's ``data-wb-verify-methods`` lists, space-separated, the proofs staff can
record now (empty when ownership is not required, already verified or refused): the PHP module
prints its verification form only for those methods.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, request
from jinja2 import Environment, select_autoescape
from werkzeug.exceptions import BadRequest

from whmcs_bridge.settings import zone_named
from whmcs_bridge.tickets.enrich import enrich
from whmcs_bridge.tickets.escalation_text import describe
from whmcs_bridge.verification.messages import OWNER_TEXTS
from whmcs_bridge.verification.status import staff_methods
from whmcs_bridge.webhooks.app import bridge
from whmcs_bridge.webhooks.auth import require_token

bp = Blueprint("tickets_api", __name__)

LANGS = ("vi", "en")
COLOURS = {"on_track": "#1e8e3e", "at_risk": "#e37400", "breached": "#d93025",
           "met": "#1a73e8", "paused": "#5f6368", "not_applicable": "#80868b"}
TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "title": "SLA", "level": {"urgent": "Urgent", "normal": "Normal", "low": "Low"},
        "state": {"on_track": "On track", "at_risk": "At risk", "breached": "Breached",
                  "met": "Met", "paused": "Paused", "not_applicable": "No SLA",
                  "no_reply_owed": "No reply owed"},
        "channel": {"client_area": "Client area", "email": "E-mail", "phone": "Phone",
                    "chat": "Chat", "staff": "Opened by staff", None: "Unknown"},
        "verification": {"not_required": "Not required", "required": "Required",
                         "verified": "Verified", "locked": "Locked", "refused": "Refused"},
        "due": "Reply due", "first_reply": "First reply", "remaining": "Remaining",
        "overdue": "overdue", "channel_label": "Channel", "verification_label": "Ownership",
        "escalations": "Escalations", "none": "none", "target": "Target",
        "minutes": "min", "answered": "Answered at",
    },
    "vi": {
        "title": "SLA", "level": {"urgent": "Khẩn cấp", "normal": "Bình thường", "low": "Thấp"},
        "state": {"on_track": "Đúng hạn", "at_risk": "Sắp trễ", "breached": "Đã trễ",
                  "met": "Đã đáp ứng", "paused": "Tạm dừng", "not_applicable": "Không áp dụng",
                  "no_reply_owed": "Không chờ phản hồi"},
        "channel": {"client_area": "Khu vực khách hàng", "email": "Email",
                    "phone": "Điện thoại", "chat": "Chat", "staff": "Nhân viên tạo",
                    None: "Không rõ"},
        "verification": {"not_required": "Không cần", "required": "Cần xác minh",
                         "verified": "Đã xác minh", "locked": "Đã khoá",
                         "refused": "Bị từ chối"},
        "due": "Hạn phản hồi", "first_reply": "Phản hồi đầu", "remaining": "Còn lại",
        "overdue": "quá hạn", "channel_label": "Kênh", "verification_label": "Xác minh chủ sở hữu",
        "escalations": "Leo thang", "none": "chưa có", "target": "Mục tiêu",
        "minutes": "phút", "answered": "Đã trả lời lúc",
    },
}

PANEL = """\
<div class="wb-sla" id="wb-sla-{{ t.id }}" lang="{{ lang }}" \
data-wb-verify-methods="{{ methods | join(' ') }}" \
style="font:13px/1.4 sans-serif;border:1px solid #dadce0;border-left:6px solid {{ colour }};\
padding:8px 12px;margin:6px 0;background:#fff">
 <div style="display:flex;gap:12px;align-items:center;flex-wrap:wrap">
  <strong>{{ x.title }}</strong>
  <span class="wb-level">{{ x.level[t.level] }} ({{ t.priority }})</span>
  <span class="wb-state" style="color:#fff;background:{{ colour }};border-radius:3px;\
padding:1px 6px">{{ x.state[state_key] }}</span>
  {% if show_target %}<span>{{ x.target }}: {{ t.sla.target_minutes }} \
{{ x.minutes }}</span>{% endif %}
 </div>
 {% if due %}<div>{{ x.due }}: <time datetime="{{ due_iso }}">{{ due }}</time>
  {% if remaining is not none %} · {{ x.remaining }}: <span class="wb-countdown" \
data-remaining="{{ remaining }}" data-running="{{ running }}">{{ remaining_text }}</span>\
{% endif %}</div>{% endif %}
 {% if answered %}<div>{{ x.answered }}: {{ answered }}</div>{% endif %}
 <div>{{ x.channel_label }}: <span class="wb-channel">{{ x.channel[t.channel] }}</span> ·
  {{ x.verification_label }}: <span class="wb-verification">\
{{ x.verification[t.verification.state] }}</span>\
{% if t.verification.owner and t.verification.owner.warning %} · <strong class="wb-owner" \
style="color:#d93025">{{ owner_texts[t.verification.owner.state] }}</strong>{% endif %}</div>
 <div>{{ x.escalations }}: {% if t.escalations %}<ul style="margin:2px 0 0 18px;padding:0">
  {% for e in escalations %}<li>{{ e }}</li>{% endfor %}</ul>\
{% else %}{{ x.none }}{% endif %}</div>
 <script>(function(){var el=document.querySelector("#wb-sla-{{ t.id }} .wb-countdown");
 if(!el||el.getAttribute("data-running")!=="1")return;var left=parseInt(el.getAttribute(
 "data-remaining"),10),start=Date.now();function pad(n){return(n<10?"0":"")+n}
 function tick(){var s=left-Math.floor((Date.now()-start)/1000),a=Math.abs(s),
 txt=(a>=3600?Math.floor(a/3600)+":"+pad(Math.floor(a%3600/60)):Math.floor(a/60))+":"+pad(a%60);
 el.textContent=s<0?"-"+txt+" ({{ x.overdue }})":txt;}tick();setInterval(tick,1000);})();
 </script>
</div>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_panel = _env.from_string(PANEL)


def _bad(field: str, message: str) -> NoReturn:
    exc = BadRequest(description=f"{field}: {message}")
    exc.errors = {field: [message]}  # type: ignore[attr-defined]
    raise exc


def _load(ticket_id: int) -> dict[str, Any]:
    state = bridge()
    with state.engine.connect() as conn:
        data = enrich(conn, ticket_id, settings=state.settings, now=datetime.now(UTC))
    if data is None:
        abort(404, description=f"ticket {ticket_id} is not known to the bridge")
    return data


@bp.get("/api/tickets/<int:ticket_id>")
@require_token
def ticket(ticket_id: int) -> Any:
    # json.dumps keeps the contract's key order (Flask's jsonify sorts keys)
    return Response(json.dumps(_load(ticket_id), ensure_ascii=False),
                    mimetype="application/json", headers={"Cache-Control": "no-store"})


def _countdown(seconds: int) -> str:
    a = abs(seconds)
    text = (f"{a // 3600}:{a % 3600 // 60:02d}" if a >= 3600 else f"{a // 60}") + f":{a % 60:02d}"
    return f"-{text}" if seconds < 0 else text


def render_panel(data: dict[str, Any], lang: str, zone: ZoneInfo, *,
                 link_available: bool = True) -> str:
    sla = data["sla"]
    # "No SLA" only when the ticket has no promise at all (no target); a ticket with a target
    # but no cycle running (opened by staff, closed before its due time) owes no reply now.
    # Either way no target is shown beside a state that says nothing is due.
    state_key = sla["state"]
    if state_key == "not_applicable" and sla["target_minutes"] is not None:
        state_key = "no_reply_owed"
    due_iso = sla["next_response_due_at"] or (sla["first_response_due_at"]
                                              if sla["first_response_at"] is None else None)
    due = (datetime.fromisoformat(due_iso).astimezone(zone).strftime("%H:%M %d/%m/%Y ")
           + str(zone.key)) if due_iso else None
    answered = (datetime.fromisoformat(sla["first_response_at"]).astimezone(zone)
                .strftime("%H:%M %d/%m/%Y") if sla["first_response_at"] else None)
    remaining = sla["remaining_seconds"]
    return _panel.render(
        t=data, x=TEXT[lang], lang=lang, owner_texts=OWNER_TEXTS[lang], state_key=state_key,
        show_target=bool(sla["target_minutes"]) and sla["state"] != "not_applicable",
        methods=staff_methods(data["verification"]["state"], link_available=link_available),
        escalations=[describe(e, lang) for e in data["escalations"]],
        colour=COLOURS.get(sla["state"], "#80868b"),
        due=due, due_iso=due_iso, remaining=remaining, answered=answered,
        running="1" if remaining is not None and sla["state"] != "paused" else "0",
        remaining_text=_countdown(remaining) if remaining is not None else "")


@bp.get("/api/tickets/<int:ticket_id>/panel")
@require_token
def panel(ticket_id: int) -> Any:
    lang = request.args.get("lang", "vi")
    if lang not in LANGS:
        _bad("lang", "must be vi or en")
    tz_name = request.args.get("tz") or bridge().settings.timezone
    zone = zone_named(tz_name)
    if zone is None:
        _bad("tz", f"unknown time zone {tz_name!r}")
    html = render_panel(_load(ticket_id), lang, zone,
                        link_available=bool(bridge().settings.server.public_url))
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})
