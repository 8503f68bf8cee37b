"""``is_digits`` and the places that turn WHMCS strings into ids with it."""

from __future__ import annotations

import pytest

from whmcs_bridge.api.schemas import normalize_list
from whmcs_bridge.digits import MAX_ID, as_id, is_digits
from whmcs_bridge.notify.recipients import parse_recipient
from whmcs_bridge.verification.classify import parse_custom_fields
from whmcs_bridge.verification.policy import target_clients

# superscript two, Arabic-Indic three, fullwidth one-two, a mix
UNICODE_DIGITS = ["\u00b2", "\u0663", "\uff11\uff12", "1\u00b2"]


@pytest.mark.parametrize(("text", "expected"), [
    ("0", True), ("42", True), ("", False), (" 1", False), ("-1", False), ("1.0", False),
    *[(t, False) for t in UNICODE_DIGITS],
])
def test_is_digits(text: str, expected: bool) -> None:
    assert is_digits(text) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0), ("42", 42), (42, 42), ("007", 7), (str(MAX_ID), MAX_ID), (MAX_ID, MAX_ID),
    (MAX_ID + 1, None), (str(MAX_ID + 1), None), (10**30, None), ("9" * 5000, None),
    (-1, None), ("-1", None), (" 1", None), ("", None), (True, None), (1.0, None),
    (None, None), ([1], None), *[(t, None) for t in UNICODE_DIGITS],
])
def test_as_id_is_bounded_to_32_bits(value: object, expected: int | None) -> None:
    # "9" * 5000 used to reach int(), which refuses more than 4300 digits (ValueError)
    assert as_id(value) == expected


@pytest.mark.parametrize("text", UNICODE_DIGITS)
def test_unicode_digits_are_not_ids_anywhere(text: str) -> None:
    with pytest.raises(ValueError, match="not a customer recipient"):
        parse_recipient(f"client:{text}")
    assert parse_custom_fields({text: "on", "7": "on"}) == [("7", "on")]
    assert target_clients("ClientDetailsValidation", {"userid": text}, {}) == ()
    assert normalize_list({text: {"id": 1}}) == [{text: {"id": 1}}]  # an object, not a PHP list
