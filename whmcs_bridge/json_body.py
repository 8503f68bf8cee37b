"""The one JSON parser for request bodies (receiver, gates, staff API): strict, shallow, NUL-free.

Every body a caller sends goes through :func:`parse`, which refuses with :class:`BodyError`
(the endpoints answer 400 ``{"errors": {"body": [...]}}``):

* text that is not JSON, not UTF-8, or uses ``NaN``/``Infinity`` (not JSON, and PostgreSQL's
  ``jsonb`` refuses them later);
* nesting deeper than :data:`MAX_DEPTH`. Python's decoder accepts about a thousand levels,
  but everything after it walks the value recursively (secret scrubbing, NUL replacement,
  schemas): 900 levels passed the decoder and then overflowed the stack in the first walk, a
  500 with a 140 KB traceback in the log. WHMCS's hook variables are a few levels deep and
  the module cuts them at eight (``Scrubber::MAX_DEPTH``).

NUL characters in strings and keys become U+FFFD (PostgreSQL text cannot hold NUL; piped mail
passes them on). Pure: no I/O, tested directly.
"""

from __future__ import annotations

import json
from typing import Any

from whmcs_bridge.errors import BadRequest
from whmcs_bridge.event_schemas import replace_nul

#: Levels of arrays and objects a body may nest (the envelope itself is the first).
MAX_DEPTH = 32


class BodyError(BadRequest, ValueError):
    """The body is not acceptable JSON; ``str()`` says why (safe to show the caller), and the
    answer is 400 ``{"message": "body is not valid JSON", "errors": {"body": [<why>]}}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field = "body"
        self.errors = {"body": [message]}

    def public_message(self) -> str:
        return "body is not valid JSON"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests arrays/objects more than ``limit`` levels (iterative: a
    deep value cannot overflow the stack here)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if _is_container(value) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if type(node) is dict else node
        stack.extend((child, depth + 1) for child in children if _is_container(child))
    return False


def _is_container(value: Any) -> bool:
    return type(value) is dict or type(value) is list


def parse(raw: bytes) -> Any:
    """The decoded body, or :class:`BodyError`."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise BodyError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise BodyError(f"not valid JSON: {exc}") from None
    # the bracket count bounds the depth: most bodies skip the walk at C speed
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and too_deep(value):
        raise BodyError(f"nested deeper than {MAX_DEPTH} levels")
    if b"\\u0000" in raw:  # JSON must escape NUL: bodies without the escape have none
        value = replace_nul(value)
    return value
