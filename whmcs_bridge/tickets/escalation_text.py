"""Escalations in words for staff (panel, ``tickets show``), Vietnamese and English. Pure.

The store keeps codes (``trigger``, ``action``, ``outcome``, ``cycle`` = ``<kind>:<start>``);
staff read "First reply overdue: internal note added". A code this table does not know yet is
shown as the code, so a new action never breaks the panel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whmcs_bridge.sla.escalation import BEFORE_GO_LIVE

_TRIGGER = {
    "en": {("first_reply", "at_risk"): "First reply due soon",
           ("first_reply", "breached"): "First reply overdue",
           ("next_reply", "at_risk"): "Next reply due soon",
           ("next_reply", "breached"): "Next reply overdue",
           "at_risk": "Reply due soon", "breached": "Reply overdue"},
    "vi": {("first_reply", "at_risk"): "Sắp trễ hạn phản hồi đầu",
           ("first_reply", "breached"): "Trễ hạn phản hồi đầu",
           ("next_reply", "at_risk"): "Sắp trễ hạn phản hồi tiếp theo",
           ("next_reply", "breached"): "Trễ hạn phản hồi tiếp theo",
           "at_risk": "Sắp trễ hạn phản hồi", "breached": "Trễ hạn phản hồi"},
}
#: what was done (outcome ``done``) and what the action is called when it was not
_DONE = {
    "en": {"note": "internal note added", "notify": "staff notified",
           "raise_priority": "priority raised", "move_department": "moved to another department",
           "flag_admin": "flagged to an admin"},
    "vi": {"note": "đã thêm ghi chú nội bộ", "notify": "đã báo nhân viên",
           "raise_priority": "đã nâng mức ưu tiên", "move_department": "đã chuyển phòng ban",
           "flag_admin": "đã gắn cờ cho quản trị viên"},
}
_NAME = {
    "en": {"note": "internal note", "notify": "staff notification",
           "raise_priority": "priority raise", "move_department": "department move",
           "flag_admin": "admin flag"},
    "vi": {"note": "ghi chú nội bộ", "notify": "báo nhân viên",
           "raise_priority": "nâng mức ưu tiên", "move_department": "chuyển phòng ban",
           "flag_admin": "gắn cờ quản trị viên"},
}
_NOT_DONE = {"en": "{name} not done", "vi": "không {name}"}
_DETAIL = {"en": {BEFORE_GO_LIVE: "overdue before go-live"},
           "vi": {BEFORE_GO_LIVE: "đã trễ trước thời điểm go-live"}}


def describe(item: Mapping[str, Any], lang: str) -> str:
    """One escalation of the staff API (``trigger``, ``action``, ``outcome``, ``detail``,
    ``cycle``) as a sentence in ``lang`` (``vi`` or ``en``)."""
    lang = lang if lang in _TRIGGER else "en"
    trigger, action = str(item.get("trigger")), str(item.get("action"))
    kind = str(item.get("cycle") or "").partition(":")[0]
    triggers = _TRIGGER[lang]
    what = triggers.get((kind, trigger)) or triggers.get(trigger) or trigger
    if item.get("outcome") == "done":
        did = _DONE[lang].get(action, action)
    else:
        did = _NOT_DONE[lang].format(name=_NAME[lang].get(action, action))
    detail = item.get("detail")
    if detail:
        did += f" ({_DETAIL[lang].get(detail, detail)})"
    return f"{what}: {did}"
