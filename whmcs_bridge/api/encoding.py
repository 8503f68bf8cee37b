"""How Python values become WHMCS request parameters (pure functions, no I/O).

WHMCS reads its input the PHP way:

* arrays use bracket notation (``mergefields[client_id]=1``, ``attributes[0][label]=…``);
* booleans are ``1``/``0`` (``"false"`` would be *true* to PHP);
* ``customfields`` / ``customvars`` are base64 of a PHP ``serialize()``d array;
* ``attachments`` are base64 of a JSON array of ``{"name", "data"}`` (data base64 again);
* dates are ``Y-m-d H:i:s`` in the WHMCS server's time zone.

``php_unserialize`` exists for the simulator (it reads what the client sends) and for tests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from whmcs_bridge.digits import is_digits
from whmcs_bridge.errors import BadRequest

WHMCS_DATETIME = "%Y-%m-%d %H:%M:%S"


class PhpFormatError(BadRequest, ValueError):
    """Input that is not a PHP-serialized value we understand."""


@dataclass(frozen=True)
class Attachment:
    """A file to attach to a ticket, reply or note."""

    name: str
    data: bytes

    def __repr__(self) -> str:  # never dump file contents into logs
        return f"Attachment(name={self.name!r}, size={len(self.data)})"


# --------------------------------------------------------------------------- PHP serialize


def php_serialize(value: Any) -> str:
    """PHP's ``serialize()`` for None, bool, int, float, str, lists and string/int maps.

    String lengths are UTF-8 byte counts, as PHP counts them.
    """
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, Decimal):
        value = str(value)
    if isinstance(value, str):
        return f's:{len(value.encode("utf-8"))}:"{value}";'
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    else:
        raise TypeError(f"cannot PHP-serialize {type(value).__name__}")
    parts = []
    for key, item in items:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise TypeError(f"PHP array keys must be int or str, not {type(key).__name__}")
        parts.append(php_serialize(key) + php_serialize(item))
    return f"a:{len(items)}:{{{''.join(parts)}}}"


def php_unserialize(text: str | bytes) -> Any:
    """Parse the subset :func:`php_serialize` writes; arrays come back as dicts.

    Raises :class:`PhpFormatError` (a ``ValueError``) on anything else.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    value, end = _unserialize(raw, 0)
    if end != len(raw):
        raise PhpFormatError(f"trailing data at byte {end}")
    return value


def _read_until(raw: bytes, pos: int, stop: bytes) -> tuple[bytes, int]:
    end = raw.find(stop, pos)
    if end < 0:
        raise PhpFormatError(f"expected {stop!r} after byte {pos}")
    return raw[pos:end], end + 1


def _unserialize(raw: bytes, pos: int) -> tuple[Any, int]:
    kind = raw[pos : pos + 2]
    try:
        if kind == b"N;":
            return None, pos + 2
        if kind in (b"b:", b"i:", b"d:"):
            token, nxt = _read_until(raw, pos + 2, b";")
            if kind == b"b:":
                if token not in (b"0", b"1"):
                    raise PhpFormatError(f"bad boolean at byte {pos}")
                return token == b"1", nxt
            if kind == b"i:":
                return int(token), nxt
            return float(token), nxt
        if kind == b"s:":
            size, nxt = _read_until(raw, pos + 2, b":")
            length = int(size)
            if length < 0 or raw[nxt : nxt + 1] != b'"':
                raise PhpFormatError(f"bad string at byte {pos}")
            start = nxt + 1
            if raw[start + length : start + length + 2] != b'";':
                raise PhpFormatError(f"string length mismatch at byte {pos}")
            return raw[start : start + length].decode("utf-8"), start + length + 2
        if kind == b"a:":
            size, nxt = _read_until(raw, pos + 2, b":")
            count = int(size)
            if count < 0 or raw[nxt : nxt + 1] != b"{":
                raise PhpFormatError(f"bad array at byte {pos}")
            pos = nxt + 1
            out: dict[Any, Any] = {}
            for _ in range(count):
                key, pos = _unserialize(raw, pos)
                if not isinstance(key, (int, str)) or isinstance(key, bool):
                    raise PhpFormatError(f"bad array key at byte {pos}")
                out[key], pos = _unserialize(raw, pos)
            if raw[pos : pos + 1] != b"}":
                raise PhpFormatError(f"unterminated array at byte {pos}")
            return out, pos + 1
    except (ValueError, UnicodeDecodeError, IndexError) as exc:
        if isinstance(exc, PhpFormatError):
            raise
        raise PhpFormatError(f"bad value at byte {pos}: {exc}") from None
    raise PhpFormatError(f"unknown type {kind!r} at byte {pos}")


def encode_serialized(mapping: Mapping[Any, Any]) -> str:
    """base64(serialize(mapping)): the ``customfields`` / ``customvars`` format."""
    return base64.b64encode(php_serialize(dict(mapping)).encode("utf-8")).decode("ascii")


def decode_serialized(value: str) -> Any:
    """The inverse of :func:`encode_serialized` (used by the simulator)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as exc:
        raise PhpFormatError("not base64") from exc
    return php_unserialize(raw)


def encode_attachments(items: Iterable[Attachment | tuple[str, bytes]]) -> str:
    """base64(JSON [{name, data: base64}]): the ``attachments`` format."""
    out = []
    for item in items:
        name, data = (item.name, item.data) if isinstance(item, Attachment) else item
        out.append({"name": name, "data": base64.b64encode(data).decode("ascii")})
    return base64.b64encode(json.dumps(out).encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------- form encoding

#: Parameters WHMCS reads as base64(serialize(array)) rather than bracket notation.
SERIALIZED_PARAMS = frozenset({"customfields", "customvars"})
#: Parameters WHMCS reads as base64(JSON [{name, data}]).
ATTACHMENT_PARAMS = frozenset({"attachments"})


def special_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Apply WHMCS's special encodings by parameter name: a mapping given as
    ``customfields``/``customvars`` is serialized, files given as ``attachments`` are packed.
    Already-encoded strings pass through unchanged, so callers may do either."""
    out = dict(params)
    for key in SERIALIZED_PARAMS & out.keys():
        if isinstance(out[key], Mapping):
            out[key] = encode_serialized(out[key]) if out[key] else None
    for key in ATTACHMENT_PARAMS & out.keys():
        value = out[key]
        if isinstance(value, (list, tuple)):
            out[key] = encode_attachments(value) if value else None
    return out


def format_datetime(value: datetime | date, tz: tzinfo) -> str:
    """``Y-m-d H:i:s`` in the WHMCS zone (aware datetimes are converted; naive taken as-is)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz)
        return value.strftime(WHMCS_DATETIME)
    return value.strftime("%Y-%m-%d")


def _scalar(value: Any, tz: tzinfo) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (datetime, date)):
        return format_datetime(value, tz)
    if isinstance(value, (int, float, Decimal, str)):
        return str(value)
    reveal = getattr(value, "reveal", None)  # whmcs_bridge.settings.Secret and friends
    if callable(reveal):
        return str(reveal())
    raise TypeError(f"cannot send a {type(value).__name__} to WHMCS")


def encode_params(params: Mapping[str, Any], tz: tzinfo) -> list[tuple[str, str]]:
    """Flatten ``params`` into form pairs in PHP bracket notation; ``None`` values are left out.

    >>> from datetime import UTC
    >>> encode_params({"a": {"x": [1, True]}, "b": None}, UTC)
    [('a[x][0]', '1'), ('a[x][1]', '1')]
    """
    out: list[tuple[str, str]] = []

    def walk(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for sub, item in value.items():
                walk(f"{key}[{sub}]", item)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(f"{key}[{index}]", item)
        else:
            out.append((key, _scalar(value, tz)))

    for key, value in params.items():
        walk(key, value)
    return out


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Parse form pairs the way PHP builds ``$_POST`` (the inverse of :func:`encode_params`).

    ``a[x][0]=1`` becomes ``{"a": {"x": {"0": "1"}}}`` (PHP arrays are maps; keys stay
    strings). A later plain value replaces an earlier one, as in PHP.
    """
    out: dict[str, Any] = {}
    for name, value in pairs:
        head, sep, rest = name.partition("[")
        if not sep or not rest.endswith("]") or not head:
            out[name] = value
            continue
        keys = [head, *rest[:-1].split("][")]
        node = out
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        last = keys[-1]
        if last == "":
            last = str(sum(1 for k in node if is_digits(k)))
        node[last] = value
    return out
