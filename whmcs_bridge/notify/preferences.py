"""Recognise a customer asking to be contacted another way (pure, no I/O).

The policy lets a customer ask to be told by phone or another way instead of e-mail, "by
saying so in the request". We look for that in the ticket text (Vietnamese with or without
diacritics, and English) and in a configured custom field, and return one of
:data:`PREFERENCES`. A negated ask ("don't call me", "đừng gọi") is not a preference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from whmcs_bridge import textfold

PREFERENCES = ("phone", "zalo", "telegram", "sms", "facebook", "email")


def fold(text: str) -> str:
    """The rules' folding (:func:`whmcs_bridge.textfold.fold`: lower case, no diacritics,
    ``gọi điện`` -> ``goi dien``, spaces squashed), with the typographic apostrophe made plain
    so the negations (``don't``) match however the customer's keyboard wrote them."""
    return textfold.fold(text.replace("’", "'"))


_ASK = (r"(lien he|lien lac|nhan tin|nhan|inbox|ib|chat|trao doi|phan hoi|tra loi|bao|qua|via|on"
        r"|contact me|reach me|message me|text me)")
_WHO = r"(toi|minh|em|anh|chi|chung toi|ben toi|cong ty)"

#: (preference, patterns) in priority order; patterns run on folded text.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("zalo", (r"\bzalo\b",)),
    ("telegram", (rf"\b{_ASK} (qua |bang |via |on )?telegram\b",
                  r"\btelegram (cho|toi|minh|em)\b")),
    ("facebook", (rf"\b{_ASK} (qua |bang |via |on )?(facebook|messenger|fb)\b",)),
    ("sms", (r"\b(sms|tin nhan dien thoai)\b", r"\btext me\b")),
    ("phone", (
        r"\b(please |pls |kindly )?(call|phone|ring) (me|us|back)\b",
        r"\bgive (me|us) a (call|ring)\b",
        r"\b(by|via|over the) (phone|telephone)\b",
        r"\bcall (me )?(on|at) [+0-9]",
        rf"\bgoi (dien )?(lai |thoai )?(cho|lai cho|ngay cho) {_WHO}\b",
        r"\bgoi (dien|lai) (giup|dum|ho|gium)\b",
        r"\b(lien he|lien lac|trao doi|phan hoi|tra loi|bao) (qua|bang|theo) "
        r"(so )?(dien thoai|sdt|dt|hotline)\b",
        r"\b(xin|vui long|lam on|hay|can|muon|mong) (goi dien|goi lai|goi)\b",
    )),
)

_NEGATION = re.compile(
    r"\b(don't|do not|dont|never|no need to|please don't|dung|khong can|khong muon|xin dung|"
    r"vui long khong|khong) (goi|call|phone|lien he|nhan)")

#: custom-field values (folded) -> preference
FIELD_WORDS = (
    ("zalo", "zalo"), ("telegram", "telegram"), ("facebook", "facebook"),
    ("messenger", "facebook"), ("sms", "sms"), ("phone", "phone"), ("dien thoai", "phone"),
    ("goi", "phone"), ("call", "phone"), ("email", "email"), ("e-mail", "email"),
    ("thu dien tu", "email"),
)


def detect(text: str) -> str | None:
    """The contact method asked for in ``text``, or None."""
    folded = fold(text or "")
    if not folded:
        return None
    for preference, patterns in RULES:
        for pattern in patterns:
            match = re.search(pattern, folded)
            if match is None:
                continue
            before = folded[max(0, match.start() - 25):match.end()]
            if _NEGATION.search(before):
                continue
            return preference
    return None


def from_field(value: Any) -> str | None:
    """A custom field's value (``"Zalo"``, ``"Điện thoại"``, ``"Phone call"``) -> preference."""
    folded = fold(str(value or ""))
    if not folded or folded in {"0", "none", "khong", "-"}:
        return None
    for word, preference in FIELD_WORDS:
        if word in folded:
            return preference
    return None


def field_value(customfields: Any, field_id: int) -> Any:
    """Find a custom field's value in the shapes WHMCS uses: ``[{"id", "value"}]``,
    ``{"customfield": [...]}`` or ``{id: value}``."""
    if isinstance(customfields, Mapping):
        if "customfield" in customfields:
            return field_value(customfields["customfield"], field_id)
        for key, value in customfields.items():
            if str(key) == str(field_id):
                return value
        return None
    if isinstance(customfields, Iterable) and not isinstance(customfields, str | bytes):
        for item in customfields:
            if isinstance(item, Mapping) and str(item.get("id")) == str(field_id):
                return item.get("value")
    return None
