"""One test for "a string of ASCII digits", used wherever a string is about to become an id.

``str.isdigit()`` is true for ``"²"`` and ``"٣"``: ``int("²")`` raises ``ValueError`` (a 500 where
a 400 belongs) and ``int("٣")`` quietly reads 3. WHMCS only ever sends ``0``–``9``.
"""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """True for a non-empty string made only of ``0``–``9``."""
    return text.isascii() and text.isdigit()
