"""One test for "a string of ASCII digits", used wherever a string is about to become an id.

``str.isdigit()`` is true for ``"²"`` and ``"٣"``: ``int("²")`` raises ``ValueError`` (a 500 where
a 400 belongs) and ``int("٣")`` quietly reads 3. WHMCS only ever sends ``0``–``9``.

Ids are also bounded: WHMCS ids and the bridge's id columns are 32-bit integers, so a bigger
number is nobody's id. Unbounded, it was stored and later crashed a query (SQLite refuses
integers over 64 bits, PostgreSQL ``integer`` over 32), and a string of more than 4300 digits
made ``int()`` itself raise ``ValueError``. :func:`as_id` is the one bounded conversion.
"""

from __future__ import annotations

#: The largest id (as in ``webhooks.app.WhmcsIdConverter``): MySQL ``int(10)``, PostgreSQL
#: ``integer``.
MAX_ID = 2**31 - 1


def is_digits(text: str) -> bool:
    """True for a non-empty string made only of ``0``–``9``."""
    return text.isascii() and text.isdigit()


def as_id(value: object) -> int | None:
    """``value`` as an id from 0 to :data:`MAX_ID` when it is an ``int`` or a string of ASCII
    digits (not stripped); None for anything else (bools, floats, negative or bigger numbers,
    other text)."""
    if isinstance(value, str):
        # the length test first: int() refuses strings of more than 4300 digits
        if not is_digits(value) or len(value.lstrip("0")) > len(str(MAX_ID)):
            return None
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
        return value
    return None
