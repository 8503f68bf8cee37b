"""Find credentials typed into ticket text and replace them before anything is stored (pure).

Detectors, each tuned to avoid ordinary support text (ticket numbers, IPs, prices, dates,
hotline numbers such as ``1900 6046``):

* ``private_key`` — PEM/OpenSSH private key blocks (also an unterminated block).
* ``password`` — a value after a password keyword (``password:``, ``pass =``, ``mật khẩu là``,
  ``mk:``, ``pw``), kept only when it looks like a password: at least 4 characters mixing two
  character classes (so "password is incorrect" is not a finding; an all-lowercase-letters
  password is missed, a documented trade-off) — and credentials in URLs (``user:pass@host``).
* ``cpanel_token`` — cPanel/WHM API tokens (32 upper-case letters and digits, with both) and
  ``Authorization: cpanel|whm user:TOKEN`` headers.
* ``aws_key`` — AWS access key ids (``AKIA``/``ASIA`` + 16) and secret keys next to their name.
* ``api_token`` — well-known token shapes: GitHub, Slack, Stripe live/test, Google API, JWTs.
* ``card_number`` — 13–19 digits (spaces or dashes allowed) starting 2–6 that pass Luhn.

A :class:`Finding` keeps the secret value only in memory (hidden from ``repr``) so the caller
can fingerprint it as leaked; :attr:`Redaction.text` is what may be stored or forwarded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MASK = "[REDACTED:{kind}]"
#: A mask already in the text (redacted at intake, then looked at again by a handler): never a
#: finding itself, so redacting twice changes nothing and finds nothing new.
_MASKED = re.compile(r"\[REDACTED:[a-z0-9_]+\]")

_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    re.S,
)
_PW_KEYWORD = (r"(?:password|passwd|passwort|pass|pwd|pw|m[aậâ]t\s*kh[aẩâ]u|mat\s*khau|mk"
               r"|root\s*pass)")
_PASSWORD = re.compile(
    r"(?i)(?<![\w/])" + _PW_KEYWORD
    + r"(?:\s+(?:is|l[aà]|m[oớ]i|moi|c[uũ]|cu|la))?\s*(?:[:=]|\bl[aà]\b|\bis\b)?\s*"
    r"[\"'`]?(?P<secret>[^\s\"'`]{4,128})"
)
#: "pass cpanel: X", "mật khẩu hosting mới là X": a few words between keyword and separator.
_PASSWORD_OF = re.compile(
    r"(?i)(?<![\w/])" + _PW_KEYWORD
    + r"(?:\s+[^\s:=]{1,20}){1,3}?\s*(?:[:=]|\s\bl[aà]\b|\s\bis\b)\s*"
    r"[\"'`]?(?P<secret>[^\s\"'`]{4,128})"
)
_URL_CREDS = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]+:(?P<secret>[^\s@/]{3,128})@")
_CPANEL_HEADER = re.compile(r"(?i)\b(?:cpanel|whm)\s+[a-z0-9_.-]+:(?P<secret>[A-Z0-9]{20,64})\b")
_CPANEL_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?P<secret>(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)"
                           r"[A-Z0-9]{32})(?![A-Za-z0-9])")
_AWS_ID = re.compile(r"\b(?P<secret>(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16})\b")
_AWS_SECRET = re.compile(r"(?i)aws.{0,20}?(?:secret|key).{0,20}?[:=]\s*[\"']?"
                         r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])")
_API_TOKENS = re.compile(
    r"(?P<secret>\bgh[pousr]_[A-Za-z0-9]{36,255}\b"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,200}"
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,200}\b"
    r"|\bAIza[0-9A-Za-z_-]{35}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
_CARD = re.compile(r"(?<![\d.,/:-])(?P<secret>[2-6]\d{3}(?:[ -]?\d){9,15})(?![\d.,/:-]?\d)")

#: Cheap, necessary conditions for the detectors above (substring tests run in C: on a
#: 500-character ordinary ticket text one takes ~0.3 µs and a detector's regex scan 2-11 µs;
#: find_secrets there takes ~12 µs gated against ~76 µs ungated, timeit on 2 shared cores):
#: a detector whose gate fails could not match, so skipping it changes no result.
#: Case-insensitive keywords are looked up in :func:`_folded` text. Keep each gate in step
#: with its pattern (tests/verification/test_intake_precheck.py compares gated and ungated
#: results).
_PEM_GATE = "-----BEGIN "
_AWS_ID_GATES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA")
_API_TOKEN_GATES = ("_", "xox", "AIza", "eyJ")  # gh[pousr]_ / [sr]k_… both hold "_"
_PASSWORD_GATES = ("pass", "pw", "mk", "kh")  # every _PW_KEYWORD alternative holds one
_DIGIT = re.compile(r"\d")  # cards need digits; cPanel tokens need an ASCII digit


def _folded(text: str) -> str:
    """``text`` lower-cased so that a substring test agrees with the patterns' ``(?i)``: ``re``
    also matches ``ſ`` (U+017F) to ``s`` and ``ı`` (U+0131) to ``i``, which ``lower()`` keeps;
    every other character ``(?i)`` matches to an ASCII letter lower-cases to that letter."""
    return text.lower().replace("\u017f", "s").replace("\u0131", "i")


_STOPWORDS = {"reset", "change", "changed", "expired", "incorrect", "invalid", "wrong",
              "required", "forgot", "protected", "manager", "policy", "field"}


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _looks_like_password(value: str) -> bool:
    if value.lower().strip(".,;!?") in _STOPWORDS:
        return False
    classes = sum((
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
        any(not c.isalnum() for c in value),
    ))
    return classes >= 2 and not re.fullmatch(r"[\W_]+", value)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    value: str = field(repr=False, compare=False)

    @property
    def fingerprint_kind(self) -> str:
        """What a leaked value would prove, so it can be marked unusable for that proof."""
        if self.kind == "card_number":
            return "card_last4"
        return "password"

    @property
    def fingerprint_value(self) -> str:
        if self.kind == "card_number":
            return re.sub(r"\D", "", self.value)[-4:]
        return self.value


@dataclass(frozen=True)
class Redaction:
    text: str
    findings: tuple[Finding, ...] = ()

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})

    def __bool__(self) -> bool:
        return bool(self.findings)


def find_secrets(text: str) -> list[Finding]:
    """Every credential in ``text``, non-overlapping, in order (masks left by an earlier
    :func:`redact` are not credentials)."""
    found: list[Finding] = []
    masks = [m.span() for m in _MASKED.finditer(text)]

    def free(start: int, end: int) -> bool:
        return not (any(f.start < end and start < f.end for f in found)
                    or any(a < end and start < b for a, b in masks))

    def add(kind: str, match: re.Match[str], group: str | int = "secret") -> None:
        start, end = match.span(group)
        if free(start, end):
            found.append(Finding(kind, start, end, match.group(group)))

    # each detector runs only when its gate (a necessary condition) holds: same findings,
    # a fraction of the time on ordinary ticket text
    folded = _folded(text)
    has_digit = _DIGIT.search(text) is not None
    for m in _PEM.finditer(text) if _PEM_GATE in text else ():
        add("private_key", m, 0)
    for m in _URL_CREDS.finditer(text) if "://" in text else ():
        add("password", m)
    for m in _CPANEL_HEADER.finditer(text) if "cpanel" in folded or "whm" in folded else ():
        add("cpanel_token", m)
    for m in _AWS_ID.finditer(text) if any(g in text for g in _AWS_ID_GATES) else ():
        add("aws_key", m)
    for m in _AWS_SECRET.finditer(text) if "aws" in folded else ():
        add("aws_key", m)
    for m in _API_TOKENS.finditer(text) if any(g in text for g in _API_TOKEN_GATES) else ():
        add("api_token", m)
    for m in _CPANEL_TOKEN.finditer(text) if has_digit else ():
        add("cpanel_token", m)
    for m in _CARD.finditer(text) if has_digit else ():
        digits = re.sub(r"\D", "", m.group("secret"))
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
            add("card_number", m)
    password_keyword = any(g in folded for g in _PASSWORD_GATES)
    for pattern in (_PASSWORD_OF, _PASSWORD) if password_keyword else ():
        for m in pattern.finditer(text):
            value = m.group("secret").rstrip(".,;")
            if _looks_like_password(value):
                start = m.start("secret")
                if free(start, start + len(value)):
                    found.append(Finding("password", start, start + len(value), value))
    return sorted(found, key=lambda f: f.start)


def redact(text: str | None) -> Redaction:
    """``text`` with every finding replaced by ``[REDACTED:<kind>]``."""
    if not text:
        return Redaction(text or "")
    findings = find_secrets(text)
    out, pos = [], 0
    for f in findings:
        out.append(text[pos:f.start])
        out.append(MASK.format(kind=f.kind))
        pos = f.end
    out.append(text[pos:])
    return Redaction("".join(out), tuple(findings))
