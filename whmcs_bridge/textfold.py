"""Text as the rules read it (pure): one folding for every rule that matches customer text.

Folding makes the rules (the verification classifier, the contact-preference detector)
indifferent to diacritics, case and spacing, because e-mail and phone notes often arrive
without Vietnamese accents, and to what a reader cannot see: invisible characters and letters
of other scripts that look Latin, which would otherwise hide a request from the rules while
staff read it as written.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
#: A right-to-left override (U+202E) lays out what follows, up to a pop (U+202C) or the end of
#: the line, right to left, Latin letters included: "\u202enalp edargpu" reads "upgrade plan".
_RTL_OVERRIDE = re.compile("\u202e([^\u202c\n]*)")

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
