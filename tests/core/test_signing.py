from __future__ import annotations

import base64
import json

import pytest
import standardwebhooks

from whmcs_bridge.signing import SignatureError, sign, signed_headers, verify

SECRET = "whsec_" + base64.b64encode(b"a" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"b" * 32).decode()
BODY = json.dumps({"type": "TicketOpen", "data": {"ticketid": "1"}}).encode()
NOW = 1_700_000_000


def test_round_trip() -> None:
    headers = signed_headers(SECRET, "msg_1", BODY, timestamp=NOW)
    assert verify([SECRET], headers, BODY, now=NOW) == "msg_1"


def test_rotation_any_configured_secret_and_any_listed_signature() -> None:
    headers = signed_headers(OTHER, "msg_1", BODY, timestamp=NOW)
    assert verify([SECRET, OTHER], headers, BODY, now=NOW) == "msg_1"
    headers["webhook-signature"] = (
        sign(SECRET, "msg_1", NOW, BODY) + " " + headers["webhook-signature"]
    )
    assert verify([OTHER], headers, BODY, now=NOW) == "msg_1"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.update({"webhook-signature": "garbage"}), "malformed_signature"),
        (lambda h: h.update({"webhook-signature": "v1,a,b"}), "malformed_signature"),
        (lambda h: h.update({"webhook-signature": ""}), "missing_headers"),
        (lambda h: h.update({"webhook-signature": "v1,!!!notbase64"}), "malformed_signature"),
        (lambda h: h.update({"webhook-signature": "v2," + "A" * 44}), "malformed_signature"),
        (lambda h: h.update({"webhook-timestamp": "soon"}), "bad_timestamp"),
        (lambda h: h.pop("webhook-id"), "missing_headers"),
        (lambda h: h.update({"webhook-id": "other"}), "no_match"),
    ],
)
def test_malformed_or_forged_headers_raise_signature_error(mutate, reason) -> None:  # type: ignore[no-untyped-def]
    headers = signed_headers(SECRET, "msg_1", BODY, timestamp=NOW)
    mutate(headers)
    with pytest.raises(SignatureError) as err:
        verify([SECRET], headers, BODY, now=NOW)
    assert err.value.reason == reason


def test_wrong_secret_and_tampered_body() -> None:
    headers = signed_headers(OTHER, "msg_1", BODY, timestamp=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify([SECRET], headers, BODY, now=NOW)
    headers = signed_headers(SECRET, "msg_1", BODY, timestamp=NOW)
    with pytest.raises(SignatureError):
        verify([SECRET], headers, BODY + b" ", now=NOW)


@pytest.mark.parametrize(("offset", "reason"), [(-301, "stale_timestamp"),
                                                 (301, "future_timestamp")])
def test_timestamps_checked_both_ways(offset: int, reason: str) -> None:
    headers = signed_headers(SECRET, "msg_1", BODY, timestamp=NOW + offset)
    with pytest.raises(SignatureError) as err:
        verify([SECRET], headers, BODY, now=NOW)
    assert err.value.reason == reason
    assert verify([SECRET], headers, BODY, now=NOW, tolerance=400) == "msg_1"


def test_interop_standardwebhooks_signs_we_verify() -> None:
    import time

    wh = standardwebhooks.Webhook(SECRET)
    from datetime import UTC, datetime

    ts = datetime.fromtimestamp(int(time.time()), UTC)
    sig = wh.sign("msg_x", ts, BODY.decode())
    headers = {"webhook-id": "msg_x", "webhook-timestamp": str(int(ts.timestamp())),
               "webhook-signature": sig}
    assert verify([SECRET], headers, BODY) == "msg_x"


def test_interop_we_sign_standardwebhooks_verifies() -> None:
    headers = signed_headers(SECRET, "msg_y", BODY)
    payload = standardwebhooks.Webhook(SECRET).verify(BODY.decode(), headers)
    assert payload["type"] == "TicketOpen"
