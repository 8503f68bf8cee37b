"""The detectors' cheap gates (redact.py) never skip a detector that would have found something.

The receiver scrubs every event before storing it, so ``find_secrets`` gates each regex scan
behind a substring test. A gate that is too strict would let a credential through in clear;
these tests run the same texts with every gate forced open and require identical findings.
"""

from __future__ import annotations

import random
import re

import pytest

from tests.verification.corpus import CORPUS
from tests.verification.test_redact import ORDINARY, SECRETS
from whmcs_bridge.verification import redact

#: Pieces that trip detectors, in the case and script variants ``(?i)`` folds together
#: (``ſ`` is ``s`` and ``K`` (Kelvin) is ``k`` to ``re``), plus near misses and filler.
PIECES = [
    "password", "PASSWORD", "Pa\u017f\u017fword", "pass", "PASS", "pw", "PWD", "Pwd", "mk", "MK",
    "m\u212a", "mật khẩu", "MẬT KHẨU", "Mât khâu", "mat khau", "MAT\u212aHAU", "root pass",
    "passwd", "passwort", "is", "là", "mới", "cpanel", "hosting", ":", "=", " ", " ", "\n", "'",
    "Hunter2024!", "Abc@12345", "Zx9#kq77", "s3cretPW", "Tr4ng!xanh", "hello", "incorrect",
    "https://", "mysql://root:", "Tr0ub4dor@", "10.0.0.5", "@", "/db",
    "cPanel", "CPANEL", "whm", "WHM", "root:", "Authorization:",
    "U7HMR63FHY282DQZ4H5BIH16JLYSO01M", "9XK2M4QZ7B1C5D8E0F3G6H2J4K7L9N1P",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF",
    "AKIAIOSFODNN7EXAMPLE", "ASIA", "AROA1234567890ABCDEF", "aws_secret_access_key",
    "AWS key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ghp_" + "a1B2" * 9, "gho_", "xoxb-1234567890-abc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "rk_test_", "AIza" + "x" * 35, "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
    "4111 1111 1111 1111", "5555-5555-5555-4444", "4111111111111111", "١٢٣٤٥٦٧٨٩٠١٢٣٤",
    "1900 6046", "2024", "-----BEGIN RSA PRIVATE KEY-----", "b3BlbnNz",
    "-----END RSA PRIVATE KEY-----", "[REDACTED:password]", "Ticket #123456",
]


def _ungated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force every gate open: each detector then runs, as before the gates existed."""
    monkeypatch.setattr(redact, "_PEM_GATE", "")
    monkeypatch.setattr(redact, "_AWS_ID_GATES", ("",))
    monkeypatch.setattr(redact, "_API_TOKEN_GATES", ("",))
    monkeypatch.setattr(redact, "_PASSWORD_GATES", ("",))
    monkeypatch.setattr(redact, "_folded", lambda text: "cpanel whm aws")
    monkeypatch.setattr(redact, "_DIGIT", re.compile(""))


def _texts() -> list[str]:
    rng = random.Random(20261125)  # fixed: the same texts on every run
    texts = [text for _, text, _ in SECRETS] + list(ORDINARY)
    texts += [text for text, _ in CORPUS]
    for _ in range(1500):
        texts.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))))
    return texts


def _findings(text: str) -> list[tuple[str, int, int, str]]:
    return [(f.kind, f.start, f.end, f.value) for f in redact.find_secrets(text)]


def test_gates_change_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    gated = [_findings(t) for t in texts]
    assert sum(bool(g) for g in gated) > 300  # the corpus really exercises the detectors
    _ungated(monkeypatch)
    ungated = [_findings(t) for t in texts]
    for text, g, u in zip(texts, gated, ungated, strict=True):
        assert g == u, text


@pytest.mark.parametrize("text", ["PA\u017f\u017fWORD: Hunter2024!", "m\u212a: Zx9#kq77",
                                  "MẬT KHẨU là Abc@12345", "AW\u017f secret key = "
                                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"])
def test_case_folded_keywords_still_found(text: str) -> None:
    """``re``'s ``(?i)`` matches ``ſ`` to ``s`` and Kelvin ``K`` to ``k``; the gates agree."""
    assert redact.redact(text).findings


def test_plain_text_has_no_findings_and_is_unchanged() -> None:
    text = "Still down after the restart, please check the web server."
    result = redact.redact(text)
    assert result.text == text and not result.findings
