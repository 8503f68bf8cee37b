"""PHP conventions: serialize, bracket notation, booleans, attachments, dates."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from whmcs_bridge.api.encoding import (
    Attachment,
    PhpFormatError,
    decode_params,
    decode_serialized,
    encode_attachments,
    encode_params,
    encode_serialized,
    php_serialize,
    php_unserialize,
)
from whmcs_bridge.settings import Secret


@pytest.mark.parametrize(("value", "expected"), [
    (None, "N;"), (True, "b:1;"), (False, "b:0;"), (5, "i:5;"), (-3, "i:-3;"),
    ("abc", 's:3:"abc";'), ("ắ", 's:3:"ắ";'),  # UTF-8 byte length, as PHP counts
    ({"1": "x"}, 'a:1:{s:1:"1";s:1:"x";}'),
    ([1, "a"], 'a:2:{i:0;i:1;i:1;s:1:"a";}'),
    ({"n": {"m": None}}, 'a:1:{s:1:"n";a:1:{s:1:"m";N;}}'),
])
def test_php_serialize(value, expected):
    assert php_serialize(value) == expected


def test_php_round_trip():
    value = {"5": "xin chào", 7: ["a", True, None, 2.5], "q": 'quote " inside'}
    back = php_unserialize(php_serialize(value))
    assert back == {"5": "xin chào", 7: {0: "a", 1: True, 2: None, 3: 2.5},
                    "q": 'quote " inside'}


@pytest.mark.parametrize("bad", ["", "x:1;", 's:5:"abc";', "a:1:{i:0;}", "i:1;junk",
                                 "b:2;", 'a:1:{d:1.0;i:1;}', "s:-1:\"\";"])
def test_php_unserialize_rejects_garbage(bad):
    with pytest.raises(PhpFormatError):
        php_unserialize(bad)


def test_serialize_refuses_unknown_types():
    with pytest.raises(TypeError):
        php_serialize(object())
    with pytest.raises(TypeError):
        php_serialize({(1, 2): "x"})


def test_customfields_base64():
    encoded = encode_serialized({"12": "value"})
    assert base64.b64decode(encoded) == b'a:1:{s:2:"12";s:5:"value";}'
    assert decode_serialized(encoded) == {"12": "value"}


def test_attachments_json_base64():
    encoded = encode_attachments([Attachment("a.txt", b"\x00\x01"), ("b.txt", b"hi")])
    files = json.loads(base64.b64decode(encoded))
    assert files[0] == {"name": "a.txt", "data": base64.b64encode(b"\x00\x01").decode()}
    assert files[1]["name"] == "b.txt"
    assert "\\x00" not in repr(Attachment("a", b"\x00" * 10))


def test_bracket_encoding_and_scalars():
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    pairs = encode_params({
        "attributes": [{"label": "L", "value": "V"}], "mergefields": {"client_id": 1},
        "flag": True, "noemail": False, "skip": None, "amount": Decimal("1.50"),
        "created": datetime(2024, 1, 1, 0, 0, tzinfo=UTC), "day": date(2024, 1, 2),
        "naive": datetime(2024, 1, 1, 9, 30), "key": Secret("hidden"),
    }, tz)
    assert pairs == [
        ("attributes[0][label]", "L"), ("attributes[0][value]", "V"),
        ("mergefields[client_id]", "1"), ("flag", "1"), ("noemail", "0"),
        ("amount", "1.50"), ("created", "2024-01-01 07:00:00"), ("day", "2024-01-02"),
        ("naive", "2024-01-01 09:30:00"), ("key", "hidden"),
    ]


def test_decode_params_inverts_encoding():
    pairs = encode_params({"a": {"x": [1, 2], "y": "z"}, "b": "c"}, UTC)
    assert decode_params(pairs) == {"a": {"x": {"0": "1", "1": "2"}, "y": "z"}, "b": "c"}
    assert decode_params([("list[]", "a"), ("list[]", "b"), ("weird[", "v")]) == {
        "list": {"0": "a", "1": "b"}, "weird[": "v"}
