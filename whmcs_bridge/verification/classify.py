"""Recognise account-change requests in ticket text, departments and custom fields (pure).

Rules are data (``[verification]`` settings, defaults in :mod:`.settings`); this module only
folds text and applies them. Folding makes the rules indifferent to diacritics, case and
spacing, because e-mail and phone notes often arrive without Vietnamese accents, and to what a
reader cannot see: invisible characters and letters of other scripts that look Latin, which
would otherwise hide a request from the rules while staff read it as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whmcs_bridge.digits import is_digits

if TYPE_CHECKING:
    from whmcs_bridge.verification.settings import VerificationConfig

_SPACE = re.compile(r"\s+")
#: A right-to-left override (U+202E) lays out what follows, up to a pop (U+202C) or the end of
#: the line, right to left, Latin letters included: "\u202enalp edargpu" reads "upgrade plan".
_RTL_OVERRIDE = re.compile("\u202e([^\u202c\n]*)")
_FALSY = {"", "0", "off", "no", "false", "none", "khong"}

#: Unicode categories that draw nothing of their own once text is decomposed: the marks
#: (Vietnamese tones and vowel marks, but also the combining grapheme joiner and variation
#: selectors, whose combining class is 0) and the format characters (zero-width space,
#: non-joiner and joiner, word joiner, BOM, soft hyphen, bidi controls, tags).
_INVISIBLE = frozenset({"Mn", "Me", "Cf"})

#: Letters of other scripts that render like a Latin letter, to that letter: the Cyrillic,
#: Greek and Armenian look-alikes used to spell Latin words, and the few Latin letters that
#: NFKD keeps apart (dotless i, script g). A small explicit table rather than the whole UTS #39
#: list: it only has to cover letters the English and Vietnamese rules spell with. Upper case
#: maps before lower casing, because some pairs part when lowered (Cyrillic ``Н`` reads H,
#: its ``н`` does not read h). No Latin letter with a diacritic is here, so Vietnamese folds
#: as before; a text in Cyrillic or Greek folds to a mix no rule spells, so folding always
#: costs no precision (the corpus holds such texts).
_LOOK_ALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ү": "y",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "l",
    "Ү": "Y",
    # Greek
    "α": "a", "γ": "y", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "υ": "u", "χ": "x",
    "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # Armenian
    "օ": "o", "ս": "u", "ո": "n", "հ": "h",
    # Latin letters without a decomposition to their plain look-alike
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g",
})


class _VisibleTable(dict[int, str | None]):
    """``str.translate`` table: code point -> its look-alike, ``None`` if invisible, else
    itself. Filled on first sight of a character, so the category lookup runs once per
    character rather than once per occurrence (a Vietnamese ticket repeats few distinct
    letters); capped so text in a large script cannot grow it without bound."""

    _CAP = 4096

    def __missing__(self, point: int) -> str | None:
        if unicodedata.category(chr(point)) in _INVISIBLE:
            out = None
        else:
            out = _LOOK_ALIKES.get(point, chr(point))
        if len(self) < self._CAP:
            self[point] = out
        return out


_VISIBLE = _VisibleTable()


def fold(text: str) -> str:
    """The text as the rules read it: what a reader sees, in plain lower-case ASCII words.

    NFKD (the compatibility mapping NFKC is built on, here decomposed so marks can go: full
    width and styled letters become plain ones), then drop everything invisible
    (:data:`_INVISIBLE`: diacritics, ``đ`` → ``d``, zero-width characters, soft hyphens), fold
    look-alike letters to Latin (:data:`_LOOK_ALIKES`), lower case, collapse whitespace. Text
    under a right-to-left override is first put in the order it is displayed in.

    ``fold("Nâng  Cấp Gói")`` is ``"nang cap goi"``, and so is ``fold("nâ\u200bng cấр gói")``
    with a zero-width space and a Cyrillic ``р``.
    """
    if text.isascii():  # nothing to decompose, hide or fold: most English mail
        return _SPACE.sub(" ", text.lower()).strip()
    if "\u202e" in text:
        text = _RTL_OVERRIDE.sub(lambda m: m.group(1)[::-1], text)
    text = text.replace("đ", "d").replace("Đ", "D")
    visible = unicodedata.normalize("NFKD", text).translate(_VISIBLE)
    return _SPACE.sub(" ", visible.lower()).strip()


@dataclass(frozen=True)
class Classification:
    """The change kinds a ticket asks for, and why (rule names for the staff note)."""

    kinds: frozenset[str] = frozenset()
    reasons: tuple[str, ...] = ()
    excluded: bool = False  # a change was mentioned but reads as a question/report

    @property
    def is_change(self) -> bool:
        return bool(self.kinds)


@dataclass
class Classifier:
    """Compiled rules. Build once per settings with :meth:`from_settings`."""

    patterns: dict[str, list[re.Pattern[str]]]
    exclude: list[re.Pattern[str]]
    intent: list[re.Pattern[str]]
    departments: dict[int, str] = field(default_factory=dict)
    custom_fields: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, section: VerificationConfig) -> Classifier:
        return cls(
            patterns={k: [re.compile(p) for p in v] for k, v in section.patterns.items()},
            exclude=[re.compile(p) for p in section.exclude],
            intent=[re.compile(p) for p in section.intent],
            departments={int(k): v for k, v in section.departments.items()},
            custom_fields={int(k): v for k, v in section.custom_fields.items()},
        )

    def classify_text(self, *texts: str | None) -> Classification:
        """Classify subject and message together."""
        folded = fold(" \n ".join(t for t in texts if t))
        kinds: set[str] = set()
        reasons: list[str] = []
        for kind, patterns in self.patterns.items():
            for i, pattern in enumerate(patterns):
                if pattern.search(folded):
                    kinds.add(kind)
                    reasons.append(f"{kind}#{i}")
                    break
        if not kinds:
            return Classification()
        if any(p.search(folded) for p in self.exclude) and not any(
            p.search(folded) for p in self.intent
        ):
            return Classification(frozenset(), tuple(reasons), excluded=True)
        return Classification(frozenset(kinds), tuple(reasons))

    def classify(self, subject: str | None = None, message: str | None = None, *,
                 department_id: int | None = None,
                 custom_fields: Iterable[tuple[int, Any]] | Mapping[int, Any] = ()
                 ) -> Classification:
        """Text rules plus the department and custom-field rules configured by the admin."""
        result = self.classify_text(subject, message)
        kinds = set(result.kinds)
        reasons = list(result.reasons)
        if department_id is not None and int(department_id) in self.departments:
            kinds.add(self.departments[int(department_id)])
            reasons.append(f"department:{department_id}")
        items = custom_fields.items() if isinstance(custom_fields, Mapping) else custom_fields
        for field_id, value in items:
            try:
                key = int(field_id)
            except (TypeError, ValueError):
                continue
            if key in self.custom_fields and fold(str(value or "")) not in _FALSY:
                kinds.add(self.custom_fields[key])
                reasons.append(f"customfield:{key}")
        return Classification(frozenset(kinds), tuple(reasons),
                              excluded=result.excluded and not kinds)


def parse_custom_fields(value: Any) -> list[tuple[int, Any]]:
    """Custom fields as WHMCS hooks give them: ``{id: value}``, ``[{id, value}]`` or a
    base64-serialized PHP array already decoded upstream. Unknown shapes give nothing."""
    if isinstance(value, Mapping):
        return [(k, v) for k, v in value.items() if is_digits(str(k))]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, Mapping) and "id" in item:
                out.append((item["id"], item.get("value")))
        return out
    return []
