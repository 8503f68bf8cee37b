"""Every settings section loads into a frozen dataclass whose fields are its schema's.

The dataclasses are written beside their schemas by hand (so the type checker reads them);
these tests keep the two from drifting and the loaded settings from being changed at run time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from marshmallow import Schema, fields

from whmcs_bridge.config import SECTIONS, load_settings
from whmcs_bridge.settings import Settings


def _nested_schemas(schema: type[Schema]) -> Iterator[tuple[str, type[Schema]]]:
    """``schema`` and every schema nested in it (through Nested, List and Dict values)."""
    yield schema.__name__, schema
    for name, field in schema().fields.items():
        while isinstance(field, fields.List | fields.Dict):
            inner = field.inner if isinstance(field, fields.List) else field.value_field
            if inner is None:
                break
            field = inner
        if isinstance(field, fields.Nested):
            nested = field.nested
            assert isinstance(nested, type), f"{schema.__name__}.{name}"
            yield from _nested_schemas(nested)


ALL_SCHEMAS = dict(pair for path in SECTIONS.values()
                   for pair in _nested_schemas(path))


@pytest.mark.parametrize("schema", ALL_SCHEMAS.values(), ids=list(ALL_SCHEMAS))
def test_the_dataclass_has_the_schema_fields(schema: type[Schema]) -> None:
    config = schema.config  # type: ignore[attr-defined]
    assert dataclasses.is_dataclass(config)
    assert [f.name for f in dataclasses.fields(config)] == list(schema().fields)
    params = config.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen and hasattr(config, "__slots__"), config.__name__


@pytest.mark.parametrize("schema", ALL_SCHEMAS.values(), ids=list(ALL_SCHEMAS))
def test_a_load_gives_the_dataclass(schema: type[Schema]) -> None:
    if schema.__name__ == "StaffMember":
        loaded = schema().load({"email": "a@example.com"})
    elif schema.__name__ == "Route":
        loaded = schema().load({"channels": ["whmcs_admin"]})
    else:
        loaded = schema().load({})
    assert type(loaded) is schema.config  # type: ignore[attr-defined]


def _walk(value: object, path: str) -> Iterator[tuple[str, object]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield path, value
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}")


def test_loaded_sections_are_immutable() -> None:
    settings = load_settings(data={
        "notifications": {"staff": [{"email": "a@example.com"}],
                          "routes": [{"channels": ["whmcs_admin"]}]},
        "sla": {"calendars": {"office": {}}, "departments": {"4": {"calendar": "office"}}},
    }, environ={})
    seen = set()
    for name in SECTIONS:
        for path, value in _walk(settings.sections[name], name):
            seen.add(type(value).__name__)
            first = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(value, first, None)
            assert not hasattr(value, "__dict__"), path  # slots: no stray attributes either
    # every section and nested table was reached (staff, routes, calendars, overrides …)
    assert seen == {s.config.__name__ for s in ALL_SCHEMAS.values()}  # type: ignore[attr-defined]


def test_settings_has_a_typed_property_per_section() -> None:
    settings = load_settings(data={}, environ={})
    for name, path in SECTIONS.items():
        prop = getattr(Settings, name)
        assert isinstance(prop, property), name
        config = path.config  # type: ignore[attr-defined]
        assert prop.fget.__annotations__["return"] == config.__name__, name
        assert getattr(settings, name) is settings.sections[name]
    with pytest.raises(AttributeError):
        settings.colour  # type: ignore[attr-defined]  # noqa: B018  # no __getattr__ fallback
