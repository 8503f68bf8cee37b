"""Redaction of each secret kind, and no false positives on ordinary support text."""

from __future__ import annotations

import pytest

from whmcs_bridge.verification.redact import luhn_ok, redact

PEM = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n"
       "AAAAMwAAAAtzc2gtZWQyNTUxOQAAACBmZXR2TQ==\n-----END OPENSSH PRIVATE KEY-----")

SECRETS = [
    ("password", "Password: Hunter2024!", "Hunter2024!"),
    ("password", "mật khẩu là Abc@12345 nhé", "Abc@12345"),
    ("password", "user: admin pass = s3cretPW", "s3cretPW"),
    ("password", "mk: Zx9#kq77", "Zx9#kq77"),
    ("password", "web lỗi, pass cpanel: Qx7#mm2024 nhé", "Qx7#mm2024"),
    ("password", "mật khẩu hosting mới là Tr4ng!xanh", "Tr4ng!xanh"),
    ("password", "connect with mysql://root:Tr0ub4dor@10.0.0.5/db", "Tr0ub4dor"),
    ("cpanel_token", "token: U7HMR63FHY282DQZ4H5BIH16JLYSO01M", "U7HMR63FHY282DQZ4H5BIH16JLYSO01M"),
    ("cpanel_token", "Authorization: whm root:9XK2M4QZ7B1C5D8E0F3G6H2J4K7L9N1P",
     "9XK2M4QZ7B1C5D8E0F3G6H2J4K7L9N1P"),
    ("private_key", f"here is my key\n{PEM}\nthanks", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUA"),
    ("card_number", "my card is 4111 1111 1111 1111, exp 12/27", "4111 1111 1111 1111"),
    ("card_number", "the card 5555-5555-5555-4444 was charged", "5555-5555-5555-4444"),
    ("aws_key", "AKIAIOSFODNN7EXAMPLE is the key id", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("api_token", "use ghp_" + "a1B2" * 9 + " for the repo", "ghp_" + "a1B2" * 9),
    ("api_token", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
]

ORDINARY = [
    "Ticket #ABC-123456 is still open, please check ticket 482913.",
    "Server IP 203.0.113.45 and 2001:db8::1 are not responding.",
    "The invoice total is 1.250.000đ (VAT 10%), paid on 2024-05-01.",
    "Gói Business giá 2,500,000 VND/năm, hóa đơn #10234.",
    "Hotline 1900 6046 hoặc 028 7300 2222, di động 0912 345 678.",
    "I forgot my password, the password is incorrect when I log in.",
    "Please reset my password. Mật khẩu bị sai.",
    "Order 20240501123 placed 12/05/2024 10:30, amount $15.95 USD.",
    "Order number 1234567890123456 needs a refund",  # 16 digits, fails Luhn
    "The password field is required on the form.",
    "Mật khẩu đăng nhập của em bị sai, nhờ kiểm tra giúp.",
    "My cPanel password is not working since yesterday.",
    "Domain example.com expires 2025-01-31; nameservers ns1.example.com.",
    "MD5 of the file: d41d8cd98f00b204e9800998ecf8427e",
    "Tracking code 0000000000000000 and 1111-1111-1111-1111",
]


@pytest.mark.parametrize(("kind", "text", "secret"), SECRETS)
def test_each_secret_kind_is_redacted(kind: str, text: str, secret: str) -> None:
    result = redact(text)
    assert kind in result.kinds, result
    assert secret not in result.text
    assert f"[REDACTED:{kind}]" in result.text


@pytest.mark.parametrize("text", ORDINARY)
def test_no_false_positive_on_ordinary_text(text: str) -> None:
    result = redact(text)
    assert not result, result.findings
    assert result.text == text


def test_findings_hide_values_and_fingerprint_what_they_prove() -> None:
    result = redact("card 4111 1111 1111 1111 and password: Hunter2024!")
    assert "4111" not in repr(result.findings)
    assert "Hunter2024!" not in repr(result.findings)
    prints = {(f.fingerprint_kind, f.fingerprint_value) for f in result.findings}
    assert prints == {("card_last4", "1111"), ("password", "Hunter2024!")}


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
