"""One language rule for customers: every customer-facing path resolves a WHMCS client
language the same way, so a French-speaking client is written to in English everywhere."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from whmcs_bridge.i18n import customer_language
from whmcs_bridge.notify import recipients


@pytest.mark.parametrize(("whmcs_language", "default", "expected"), [
    ("vietnamese", "en", "vi"),
    ("Vietnamese ", "en", "vi"),
    ("Tiếng Việt", "en", "vi"),
    ("vi", "en", "vi"),
    ("english", "vi", "en"),
    ("English-UK", "vi", "en"),
    ("en", "vi", "en"),
    ("french", "vi", "en"),       # no French texts: English, not the company's Vietnamese
    ("portuguese-br", "vi", "en"),
    ("", "vi", "vi"),             # WHMCS's system default: the company's language
    (None, "en", "en"),
    ("  ", "vi", "vi"),
    (None, "de", "vi"),           # a default with no texts never leaks through
])
def test_customer_language(whmcs_language: str | None, default: str, expected: str) -> None:
    assert customer_language(whmcs_language, default) == expected


class _Whmcs:
    def __init__(self, language: str) -> None:
        self.language = language

    def get_client(self, client_id: int) -> SimpleNamespace:
        return SimpleNamespace(id=client_id, email="a@example.com", firstname="A",
                               lastname="B", fullname="A B", companyname="",
                               language=self.language)


@pytest.mark.parametrize(("language", "expected"), [
    ("french", "en"), ("", "vi"), ("Vietnamese", "vi"), ("english-us", "en")])
def test_notifications_and_gate_texts_agree_for_one_client(language: str, expected: str) -> None:
    # Before: the gate and notifications wrote Vietnamese to a "french" client while the
    # billing auto-reply wrote English.
    from whmcs_bridge.verification.policy import _refusal

    customer = recipients.lookup(_Whmcs(language), 7, default_language="vi")
    blocking = SimpleNamespace(language=language, tid="ABC-1", ticket_id=1, state="required")
    refusal = _refusal(blocking, "vi")
    vi_text = "xác minh"  # in the Vietnamese gate text only
    assert (vi_text in refusal.message.lower()) == (customer.language == "vi"), refusal.message
    assert customer.language == customer_language(language, "vi") == expected
