"""Settings sections of the SLA room: ``[sla]`` (the promise), ``[channels]`` (how tickets
arrive and where billing goes) and ``[escalation]`` (what happens on risk and breach).

Defaults are the company's published policy: High/Medium/Low = urgent/normal/low answered in
30/60/120 minutes, round the clock, at risk at 80 % of the target, ``On Hold`` pauses the clock,
chat carries no promise, and the billing hotline is 1900 6046 / (08) 7301 6046.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from whmcs_bridge.settings import DEFAULT_TIMEZONE, ID_KEY, StrictSchema, TimeZoneField

LEVELS = ("urgent", "normal", "low")
PRIORITIES = ("High", "Medium", "Low")
CHANNELS = ("client_area", "email", "phone", "chat", "staff")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "24/7"
ACTIONS = ("note", "raise_priority", "move_department", "flag_admin", "notify")

DEFAULT_FIRST = {"urgent": 30, "normal": 60, "low": 120}
DEFAULT_HOURS = {d: ["08:00-17:30"] for d in DAYS[:5]} | {"sat": ["08:00-12:00"]}
_RANGE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)\Z", re.ASCII)


def parse_range(text: str) -> tuple[int, int]:
    """``"08:00-17:30"`` -> minutes of day ``(480, 1050)``; end may be ``24:00``."""
    m = _RANGE.match(text)
    if not m:
        raise ValidationError(f"{text!r} is not HH:MM-HH:MM")
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    if not 0 <= start < end <= 24 * 60:
        raise ValidationError(f"{text!r}: the end must be after the start, within one day")
    return start, end


def _validate_range(text: str) -> None:
    parse_range(text)


class NamedDict(fields.Dict):
    """A ``fields.Dict`` whose errors name the entry (``levels.urgent.breached``) rather than
    marshmallow's ``levels.urgent.value.breached`` — settings errors must name the key."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            messages = exc.messages
            if isinstance(messages, dict):
                flat: dict[Any, Any] = {}
                for key, errs in messages.items():
                    if isinstance(errs, dict) and set(errs) <= {"key", "value"}:
                        inner = errs.get("value", errs.get("key"))
                        flat[key] = inner
                    else:
                        flat[key] = errs
                messages = flat
            raise ValidationError(messages) from None


def _minutes_map(default: dict[str, int] | None) -> fields.Dict:
    return NamedDict(
        keys=fields.String(validate=validate.OneOf(LEVELS)),
        values=fields.Integer(validate=validate.Range(min=1, max=60 * 24 * 90)),
        load_default=(lambda: dict(default)) if default is not None else dict,
    )


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    """A business-hours calendar (``[sla.calendars.<name>]``)."""

    timezone: str
    #: day (``mon``…) -> ``HH:MM-HH:MM`` ranges
    hours: Mapping[str, Sequence[str]]
    holidays: str
    closed_dates: Sequence[date]


class CalendarSchema(StrictSchema):
    """Business hours in a named zone, minus public holidays and extra closed dates."""

    config = CalendarConfig

    timezone = TimeZoneField(load_default=DEFAULT_TIMEZONE)
    hours = NamedDict(
        keys=fields.String(validate=validate.OneOf(DAYS)),
        values=fields.List(fields.String(validate=_validate_range)),
        load_default=lambda: {k: list(v) for k, v in DEFAULT_HOURS.items()},
    )
    #: ISO country code for the ``holidays`` package ("VN" includes the lunar holidays);
    #: empty string for none.
    holidays = fields.String(load_default="VN")
    closed_dates = fields.List(fields.Date(), load_default=list)

    @validates_schema
    def _check_country(self, data: dict[str, Any], **_: Any) -> None:
        code = data.get("holidays")
        if code:
            import holidays as holidays_lib

            if code not in holidays_lib.list_supported_countries():
                raise ValidationError(f"unknown holidays country {code!r}", "holidays")


@dataclass(frozen=True, slots=True)
class OverrideConfig:
    """A department's or channel's changes to the policy (None / empty: inherit)."""

    calendar: str | None
    first_reply_minutes: Mapping[str, int]
    next_reply_minutes: Mapping[str, int]
    applicable: bool | None


class OverrideSchema(StrictSchema):
    """What a department or a channel changes in the policy (unset keys inherit)."""

    config = OverrideConfig

    calendar = fields.String(load_default=None)
    first_reply_minutes = _minutes_map(None)
    next_reply_minutes = _minutes_map(None)
    applicable = fields.Boolean(load_default=None, allow_none=True)


@dataclass(frozen=True, slots=True)
class SlaConfig:
    """``[sla]``: the promise."""

    enabled: bool
    #: WHMCS priority -> level
    levels: Mapping[str, str]
    first_reply_minutes: Mapping[str, int]
    next_reply_minutes: Mapping[str, int]
    at_risk_percent: float
    calendar: str
    calendars: Mapping[str, CalendarConfig]
    pause_statuses: Sequence[str]
    closed_statuses: Sequence[str]
    automatic_reply_admins: Sequence[str]
    #: department id (a string: a TOML key) -> override
    departments: Mapping[str, OverrideConfig]
    channels: Mapping[str, OverrideConfig]
    sweep_seconds: int


class SlaSettings(StrictSchema):
    config = SlaConfig

    enabled = fields.Boolean(load_default=True)
    levels = NamedDict(
        keys=fields.String(validate=validate.OneOf(PRIORITIES)),
        values=fields.String(validate=validate.OneOf(LEVELS)),
        load_default=lambda: {"High": "urgent", "Medium": "normal", "Low": "low"},
    )
    first_reply_minutes = _minutes_map(DEFAULT_FIRST)
    next_reply_minutes = _minutes_map(DEFAULT_FIRST)
    at_risk_percent = fields.Float(load_default=80.0, validate=validate.Range(min=1, max=99))
    #: calendar used when no department override names another; "24/7" is built in.
    calendar = fields.String(load_default=ALWAYS)
    calendars = NamedDict(keys=fields.String(), values=fields.Nested(CalendarSchema),
                            load_default=dict)
    pause_statuses = fields.List(fields.String(), load_default=lambda: ["On Hold"])
    closed_statuses = fields.List(fields.String(), load_default=lambda: ["Closed"])
    #: admin display names whose replies are automatic (never meet the SLA).
    automatic_reply_admins = fields.List(fields.String(), load_default=list)
    departments = NamedDict(keys=ID_KEY,
                              values=fields.Nested(OverrideSchema), load_default=dict)
    channels = NamedDict(keys=fields.String(validate=validate.OneOf(CHANNELS)),
                           values=fields.Nested(OverrideSchema), load_default=dict)
    #: seconds between the worker's sweeps (its job ticks every 60 s; larger values skip ticks)
    sweep_seconds = fields.Integer(load_default=60, validate=validate.Range(min=60, max=3600))

    @validates_schema
    def _check_refs(self, data: dict[str, Any], **_: Any) -> None:
        names = set(data.get("calendars", {})) | {ALWAYS}
        if data.get("calendar", ALWAYS) not in names:
            raise ValidationError(f"no calendar named {data['calendar']!r}", "calendar")
        for group in ("departments", "channels"):
            for key, override in data.get(group, {}).items():
                cal = override.calendar
                if cal is not None and cal not in names:
                    raise ValidationError({key: {"calendar": [f"no calendar named {cal!r}"]}},
                                          group)

    def complete(self, data: dict[str, Any]) -> dict[str, Any]:
        for level in LEVELS:
            data["first_reply_minutes"].setdefault(level, DEFAULT_FIRST[level])
            data["next_reply_minutes"].setdefault(level, data["first_reply_minutes"][level])
        chat = data["channels"].get("chat") or OverrideSchema().load({})
        if chat.applicable is None:
            # the policy: "no handling time is guaranteed"
            data["channels"]["chat"] = replace(chat, applicable=False)
        return data


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """``[channels]``: how tickets arrive and where billing goes."""

    technical_department_id: int | None
    billing_department_ids: Sequence[int]
    chat_department_ids: Sequence[int]
    chat_marker: str
    billing_auto_reply: bool
    hotline_numbers: Sequence[str]
    default_language: str


class ChannelSettings(StrictSchema):
    config = ChannelConfig

    technical_department_id = fields.Integer(load_default=None, allow_none=True)
    billing_department_ids = fields.List(fields.Integer(), load_default=list)
    chat_department_ids = fields.List(fields.Integer(), load_default=list)
    #: a ticket whose subject or opening message contains this marker came from chat.
    chat_marker = fields.String(load_default="[chat]")
    billing_auto_reply = fields.Boolean(load_default=True)
    hotline_numbers = fields.List(fields.String(validate=validate.Length(min=3)),
                                  load_default=lambda: ["1900 6046", "(08) 7301 6046"])
    #: language used when the client's WHMCS language is unknown.
    default_language = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))


@dataclass(frozen=True, slots=True)
class LevelActionsConfig:
    """The actions of one level on risk and on breach."""

    at_risk: Sequence[str]
    breached: Sequence[str]


class LevelActionsSchema(StrictSchema):
    config = LevelActionsConfig

    at_risk = fields.List(fields.String(validate=validate.OneOf(ACTIONS)),
                          load_default=lambda: ["note", "notify"])
    breached = fields.List(fields.String(validate=validate.OneOf(ACTIONS)),
                           load_default=lambda: ["note", "notify", "flag_admin"])


class GoLiveField(fields.DateTime):
    """An ISO 8601 time given as a string, or a TOML date-time (tomllib's ``datetime``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


@dataclass(frozen=True, slots=True)
class EscalationConfig:
    """``[escalation]``: what happens on risk and breach."""

    enabled: bool
    levels: Mapping[str, LevelActionsConfig]
    move_department_id: int | None
    flag_admin_id: int | None
    note_language: str
    go_live_at: datetime | None


class EscalationSettings(StrictSchema):
    config = EscalationConfig

    enabled = fields.Boolean(load_default=True)
    levels = NamedDict(keys=fields.String(validate=validate.OneOf(LEVELS)),
                         values=fields.Nested(LevelActionsSchema), load_default=dict)
    #: department a ``move_department`` action moves the ticket to.
    move_department_id = fields.Integer(load_default=None, allow_none=True)
    #: admin id a ``flag_admin`` action flags the ticket to (skipped while unset).
    flag_admin_id = fields.Integer(load_default=None, allow_none=True)
    note_language = fields.String(load_default="en", validate=validate.OneOf(["vi", "en"]))
    #: pins the go-live time (ISO 8601; without an offset it is in ``timezone``): thresholds
    #: crossed before it get no action. Unset: the time the first sync recorded.
    go_live_at = GoLiveField(load_default=None)

    def complete(self, data: dict[str, Any]) -> dict[str, Any]:
        for level in LEVELS:
            data["levels"].setdefault(level, LevelActionsSchema().load({}))
        return data
