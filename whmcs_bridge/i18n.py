"""The one rule for which language a customer is written to in: every customer-facing text
(billing auto-reply, verification requests and refusals, notifications) asks it, so one
customer never gets Vietnamese in one message and English in the next.

WHMCS stores a client's language as the name of a language file (``vietnamese``, ``english``,
``french``…) or leaves it empty (the system default). The bridge has texts in ``vi`` and ``en``:
- a Vietnamese or English name or code gives that language;
- empty gives the configured default (the company's own language);
- any other language gives English: a client who chose French reads English more readily than
  Vietnamese.
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")

_NAMES = {
    "vietnamese": "vi",
    "tieng viet": "vi",
    "tiếng việt": "vi",
    "english": "en",
}


def customer_language(whmcs_language: str | None, default: str) -> str:
    """``vi``/``en`` for a WHMCS client language (name or code); see the module's rules."""
    name = (whmcs_language or "").strip().lower()
    if not name:
        return default if default in LANGUAGES else "vi"
    if name in _NAMES:
        return _NAMES[name]
    if name.startswith(("vi", "tieng")):
        return "vi"
    return "en"
