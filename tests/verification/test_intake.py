"""Intake redaction, pure: what the receiver stores instead of the text a customer typed."""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import TEST_SECRET
from tests.verification.corpus import CORPUS
from tests.verification.helpers import vsettings
from whmcs_bridge.config import load_settings
from whmcs_bridge.verification import intake, tokens
from whmcs_bridge.verification.redact import redact

PASSWORD = "Tr0ub4dor&3x"
CARD = "5555 5555 5555 4444"
KEY_LINE = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
SSH_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_LINE}\n-----END OPENSSH PRIVATE KEY-----"
SECRETS = (PASSWORD, CARD, CARD.replace(" ", ""), KEY_LINE)


def _envelope(**data: object) -> dict[str, object]:
    return {"type": "TicketOpen", "timestamp": "2026-11-25T10:00:00+00:00",
            "data": {"ticketid": 5, "subject": "Help", **data}}


def test_secrets_masked_and_fingerprinted_never_kept() -> None:
    settings = vsettings()
    payload = _envelope(message=f"password: {PASSWORD}\ncard {CARD}\n{SSH_KEY}\nthanks")
    before = copy.deepcopy(payload)
    out = intake.scrub_envelope(settings, payload)
    assert payload == before  # the input is not changed
    text = json.dumps(out)
    for secret in SECRETS:
        assert secret not in text
    assert out["data"]["message"] == ("password: [REDACTED:password]\ncard "
                                      "[REDACTED:card_number]\n[REDACTED:private_key]\nthanks")
    assert out["data"]["subject"] == "Help" and out["data"]["ticketid"] == 5
    by_kind = {r["kind"]: r for r in out["redactions"]}
    assert set(by_kind) == {"password", "card_number", "private_key"}
    assert {r["field"] for r in out["redactions"]} == {"message"}
    card = by_kind["card_number"]
    assert card["fingerprint_kind"] == "card_last4"
    assert card["fingerprint"] == tokens.fingerprint(settings, "leak:card_last4", "4444")
    assert by_kind["password"]["fingerprint"] == tokens.fingerprint(
        settings, "leak:password", PASSWORD)
    assert by_kind["private_key"]["fingerprint_kind"] == "password"


def test_clean_text_is_stored_as_sent_without_redactions() -> None:
    payload = _envelope(message="Please upgrade my plan, invoice 4111 paid")
    assert intake.scrub_envelope(vsettings(), payload) == payload


def test_subject_body_and_custom_fields_are_text_too() -> None:
    settings = vsettings()
    piped = {"type": "TicketPiping", "timestamp": "2026-11-25T10:00:00+00:00",
             "data": {"subject": f"pw: {PASSWORD}", "body": f"card {CARD}",
                      "email": "a@example.test"}}
    out = intake.scrub_envelope(settings, piped)
    assert out["data"] == {"subject": "pw: [REDACTED:password]",
                           "body": "card [REDACTED:card_number]", "email": "a@example.test"}
    assert [r["field"] for r in out["redactions"]] == ["subject", "body"]

    listed = _envelope(customfields=[{"id": 3, "value": f"root pass: {PASSWORD}"},
                                     {"id": 4, "value": "vietnamese"}])
    as_map = _envelope(customfields={"3": f"root pass: {PASSWORD}", "4": "vietnamese"})
    for payload in (listed, as_map):
        before = copy.deepcopy(payload)
        out = intake.scrub_envelope(settings, payload)
        assert payload == before
        assert PASSWORD not in json.dumps(out) and "vietnamese" in json.dumps(out)
        assert [r["field"] for r in out["redactions"]] == ["customfields.3"]


def test_scrubbing_twice_finds_nothing_new() -> None:
    """The handlers' fallback re-reads stored text: a mask is never itself a finding."""
    settings = vsettings()
    once = intake.scrub_envelope(settings, _envelope(
        subject=f"mật khẩu là {PASSWORD}", message=f"password: {PASSWORD}, thẻ {CARD}"))
    assert len(once["redactions"]) == 3
    assert intake.scrub_envelope(settings, once) == once
    assert intake.scrub_data(settings, once["data"])[1] == []


@pytest.mark.parametrize("text", [t for t, _ in CORPUS])
def test_redact_is_idempotent_on_the_corpus(text: str) -> None:
    dirty = f"{text} password: {PASSWORD} card {CARD}"
    first = redact(dirty)
    assert first.kinds == ["card_number", "password"]
    again = redact(first.text)
    assert (again.text, again.findings) == (first.text, ())


def test_without_any_key_text_is_still_masked() -> None:
    bare = load_settings(data={"database": {"url": "sqlite://"}}, environ={})
    with pytest.raises(tokens.KeyNotConfigured):
        tokens.fingerprint(bare, "leak:password", "x")
    out = intake.scrub_envelope(bare, _envelope(message=f"password: {PASSWORD}"))
    assert PASSWORD not in json.dumps(out)
    assert out["redactions"] == [{"field": "message", "kind": "password",
                                  "fingerprint_kind": "password"}]


def test_receiver_settings_fingerprint_with_the_webhook_secret() -> None:
    """Without server.secret_key the fingerprint falls back to the webhook secret — the same
    key the worker's lookups use, so the leak still matches."""
    only_webhooks = load_settings(data={"database": {"url": "sqlite://"},
                                        "webhooks": {"secrets": [TEST_SECRET]}}, environ={})
    out = intake.scrub_envelope(only_webhooks, _envelope(message=f"password: {PASSWORD}"))
    assert out["redactions"][0]["fingerprint"] in tokens.fingerprints(
        only_webhooks, "leak:password", PASSWORD)
