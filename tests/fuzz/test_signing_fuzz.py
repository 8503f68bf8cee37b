"""Property fuzzing of the signature parser: whatever the headers hold, only SignatureError.

Bounded (300 examples per property, no deadline) so it stays fast in CI.
"""

from __future__ import annotations

import base64
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whmcs_bridge.signing import SignatureError, sign, signed_headers, verify

SECRET = "whsec_" + base64.b64encode(b"f" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = 1_800_000_000
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

header_text = st.one_of(
    st.text(max_size=300),
    st.from_regex(r"\A-?[0-9]{0,20}\Z"),
    st.builds(lambda parts: " ".join(parts),
              st.lists(st.from_regex(r"\Av[0-9a-z]{0,2},[A-Za-z0-9+/=,]{0,60}\Z"), max_size=5)),
)
header_names = st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature",
                                "Webhook-Id", "WEBHOOK-SIGNATURE", "x-other"])
secrets_lists = st.lists(st.one_of(st.just(SECRET), st.text(max_size=40),
                                   st.from_regex(r"\Awhsec_[A-Za-z0-9+/=]{0,50}\Z")),
                         max_size=3)


@FUZZ
@given(headers=st.dictionaries(header_names, header_text, max_size=6),
       body=st.binary(max_size=200), secrets=secrets_lists)
def test_arbitrary_headers_only_ever_raise_signature_error(
        headers: dict[str, str], body: bytes, secrets: list[str]) -> None:
    try:
        verify(secrets, headers, body, now=NOW)
    except SignatureError as exc:
        assert exc.reason  # every refusal has a machine reason (the metrics label)
    else:  # random bytes cannot forge an HMAC-SHA256
        raise AssertionError(f"unsigned headers verified: {headers!r}")


@FUZZ
@given(msg_id=st.text(min_size=1, max_size=100).filter(  # ids with control characters: 401
           lambda s: s.strip() == s and s and s.isprintable()),
       body=st.binary(max_size=500), skew=st.integers(min_value=-300, max_value=300))
def test_genuine_signatures_verify_within_tolerance(msg_id: str, body: bytes, skew: int) -> None:
    headers = signed_headers(SECRET, msg_id, body, timestamp=NOW + skew)
    assert verify([OTHER, SECRET], headers, body, now=NOW) == msg_id


@FUZZ
@given(msg_id=st.from_regex(r"\Amsg_[a-z0-9]{1,20}\Z"), body=st.binary(max_size=300),
       flip=st.integers(min_value=0, max_value=10_000))
def test_any_tampering_is_refused(msg_id: str, body: bytes, flip: int) -> None:
    headers = signed_headers(SECRET, msg_id, body, timestamp=NOW)
    tampered = bytearray(body + b"!")
    tampered[flip % len(tampered)] ^= 0x01
    try:
        verify([SECRET], headers, bytes(tampered), now=NOW)
    except SignatureError as exc:
        assert exc.reason == "no_match"
    else:
        raise AssertionError("a tampered body verified")


@FUZZ
@given(ts=st.integers(min_value=-(2**63), max_value=2**63))
def test_timestamps_outside_tolerance_are_refused(ts: int) -> None:
    headers = {"webhook-id": "m", "webhook-timestamp": str(ts),
               "webhook-signature": sign(SECRET, "m", ts, b"{}")}
    try:
        verify([SECRET], headers, b"{}", now=NOW)
    except SignatureError as exc:
        assert abs(ts - NOW) > 300
        assert exc.reason in {"stale_timestamp", "future_timestamp"}
    else:
        assert abs(ts - NOW) <= 300


def test_real_clock_round_trip() -> None:
    headers = signed_headers(SECRET, "msg_now", b"{}")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert verify([SECRET], headers, b"{}") == "msg_now"
