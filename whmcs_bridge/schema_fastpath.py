"""marshmallow's answer for the common case, without most of marshmallow's per-field machinery.

Used by the receiver only (``whmcs_bridge.webhooks.receiver.EVENTS``; a test keeps it so): it
loads every event twice through marshmallow (the envelope, then the hook's ``$vars``), and
without this plan bench/ingest.py's ratio to a bare endpoint falls below its 0.5 target (the
figures are in the receiver and the README). Everything else loads with ``Schema.load``.

Nearly every event is a flat dict whose values already have the right types, and for those
:meth:`FastPath.load` builds the same dict as ``schema.load`` from a plan compiled once from
the schema's own fields: plain strings and raw values are taken as they are, our
:class:`~whmcs_bridge.event_schemas.Id` runs its own conversion, and every other field (dates,
nested schemas, lists, fields with validators) runs its own ``deserialize``. The schema stays
the single definition.

Whenever the plan is not sure (a value of another type, a missing required key, ``None`` where
not allowed, a field error), the whole input goes to ``schema.load``, so every error message,
coercion and rare shape is marshmallow's. Schemas with hooks other than ``pre_load`` (schema or
field validators, post-processing) or with options the plan does not model (``load_default``,
``attribute``, ``unknown = RAISE``, field-level processors) always use ``schema.load``. Which
hooks a schema has is read from marshmallow's ``Schema._hooks`` (not public API);
``tests/receiver/test_schema_fastpath.py`` pins that detection and checks that both give the
same result or the same error on generated inputs, for every hook schema and the envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields
from marshmallow.utils import missing

_STRING, _RAW, _OWN, _FIELD = "string", "raw", "own", "field"


class _Unsure(Exception):
    """The plan cannot vouch for this input: let marshmallow load it."""


def _plannable(schema: Schema) -> bool:
    hooks = {tag: entries for tag, entries in schema._hooks.items() if entries}
    if set(hooks) - {"pre_load"}:
        return False
    # only per-item pre_load hooks that see the data alone (not pass_collection/original)
    if any(many or kwargs for _, many, kwargs in hooks.get("pre_load", ())):
        return False
    return schema.unknown in (INCLUDE, EXCLUDE) and not schema.partial and not schema.many


def _kind(field: fields.Field, own: tuple[type, ...]) -> str | None:
    """How the plan loads ``field``; None when it cannot (the schema then always falls back)."""
    if (field.load_default is not missing or field.attribute is not None
            or field.pre_load or field.post_load):
        return None
    if field.validators:
        return _FIELD
    if type(field) is fields.String:
        return _STRING
    if type(field) is fields.Raw:
        return _RAW
    if isinstance(field, own):
        return _OWN
    return _FIELD


class FastPath:
    """``load(data)`` returns what ``schema.load(data)`` returns, or raises what it raises.

    ``own`` names field classes of ours whose ``_deserialize`` is called directly (their
    conversion is ours anyway; marshmallow's wrapper around it is what costs).
    """

    def __init__(self, schema: Schema, *, own: tuple[type, ...] = ()) -> None:
        self.schema = schema
        self._include = schema.unknown == INCLUDE
        pre = [getattr(schema, name) for name, _, _ in schema._hooks.get("pre_load", ())]
        self._pre: list[Callable[..., Any]] = pre
        plan = []
        usable = _plannable(schema)
        for name, field in schema.load_fields.items():
            kind = _kind(field, own)
            if kind is None:
                usable = False
            key = field.data_key if field.data_key is not None else name
            plan.append((key, name, field, kind, field.required, field.allow_none))
        self._plan = tuple(plan) if usable else None
        self._keys = frozenset(key for key, *_ in plan)

    @property
    def planned(self) -> bool:
        """False when every load goes to ``schema.load`` (for tests and the curious)."""
        return self._plan is not None

    def load(self, data: Any) -> dict[str, Any]:
        if self._plan is None or type(data) is not dict:
            return self.schema.load(data)
        try:
            return self._load(data)
        except (_Unsure, ValidationError):
            return self.schema.load(data)

    def _load(self, data: dict[str, Any]) -> dict[str, Any]:
        src: Any = data
        for hook in self._pre:
            src = hook(src, many=False, partial=self.schema.partial, unknown=self.schema.unknown)
        if type(src) is not dict:
            raise _Unsure
        out: dict[str, Any] = {}
        for key, name, field, kind, required, allow_none in self._plan:  # type: ignore[union-attr]
            value = src.get(key, missing)
            if value is missing:
                if required:
                    raise _Unsure
                continue
            if value is None:
                if not allow_none:
                    raise _Unsure
            elif kind is _STRING:
                if type(value) is not str:
                    raise _Unsure
            elif kind is _OWN:
                value = field._deserialize(value, key, src)
            elif kind is _FIELD:
                value = field.deserialize(value, key, src)
            out[name] = value
        if self._include:
            for key in src.keys() - self._keys:
                out[key] = src[key]
        return out
