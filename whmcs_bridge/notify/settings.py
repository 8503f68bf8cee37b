"""The ``[notifications]`` settings section: channels, routes, staff, limits.

Example (every key optional)::

    [notifications]
    default_language = "vi"          # customers whose WHMCS language is unknown, chat channels
    coalesce_seconds = 120           # bursts to a chat channel inside this window -> one digest

    [notifications.smtp]
    host = "mail.example.com"
    port = 587
    starttls = true
    username = "bridge"
    password = "..."                 # a Secret: never logged, never rendered
    from = "Support <support@example.com>"

    [notifications.slack]
    url = "https://hooks.slack.com/services/..."

    [[notifications.staff]]
    email = "oncall@example.com"
    language = "en"
    departments = [1]                # empty: every department

    [[notifications.routes]]
    notifications = ["urgent_ticket_opened", "sla_breached"]
    levels = ["urgent"]
    channels = ["smtp", "telegram"]

Without routes, every staff notification goes to every configured staff channel; with none
configured and WHMCS set up (``whmcs.url``), to WHMCS's own admin mail (``whmcs_admin``:
``SendAdminEmail`` to the ticket's department), so staff hear about breaches with zero
configuration. Cross-field
mistakes (a route naming a channel that is not configured, SSL together with STARTTLS …) are
reported with the key that is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from whmcs_bridge.notify.catalog import KINDS, LANGUAGES
from whmcs_bridge.settings import (
    WEEK_SECONDS,
    Secret,
    SecretField,
    StrictSchema,
    TimeZoneField,
    validate_webhook_secret,
)

#: Channels a route may name (customer mail is not routed: it always goes to the customer).
STAFF_CHANNELS = ("smtp", "whmcs_notification", "whmcs_admin", "slack", "teams", "telegram",
                  "webhook")
#: channels whose bursts are coalesced into digests (one destination each, or one per
#: department for ``whmcs_admin``)
CHAT_CHANNELS = ("slack", "teams", "telegram", "webhook", "whmcs_notification", "whmcs_admin")
#: needs no keys in this section (it uses the WHMCS API credential)
ALWAYS_AVAILABLE = ("whmcs_admin",)
ALL_CHANNELS = (*STAFF_CHANNELS, "customer")
LEVELS = ("urgent", "normal", "low")

#: messages per minute through WHMCS's admin mail unless ``rate_limits`` says otherwise
WHMCS_ADMIN_RATE = 10

_language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


def _readable_file(path: str) -> None:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ValidationError(f"{path}: not a readable file")


def _defaults(schema: type[StrictSchema]) -> Any:
    return lambda: schema().load({})


def _url(**kw: Any) -> fields.Field:
    return fields.Url(require_tld=False, schemes={"http", "https"}, **kw)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """``[notifications.smtp]``"""

    host: str | None
    port: int
    starttls: bool
    ssl: bool
    username: str | None
    password: Secret | None
    #: the ``from`` key
    sender: str
    timeout: float
    ca_file: str | None


class SmtpSettings(StrictSchema):
    config = SmtpConfig

    host = fields.String(load_default=None)
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    #: upgrade a plain connection with STARTTLS; unset means "yes unless ssl"
    starttls = fields.Boolean(load_default=None)
    ssl = fields.Boolean(load_default=False)  # implicit TLS (usually port 465)
    username = fields.String(load_default=None)
    password = SecretField(load_default=None)
    sender = fields.String(data_key="from", load_default="whmcs-bridge@localhost")
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=300))
    #: a PEM bundle to trust instead of the system CAs (a private mail relay)
    ca_file = fields.String(load_default=None, validate=_readable_file)

    @validates_schema
    def _one_tls_mode(self, data: dict[str, Any], **_: Any) -> None:
        if data["ssl"] and data["starttls"]:
            raise ValidationError("choose ssl (implicit TLS) or starttls, not both", "ssl")
        if data["starttls"] is None:
            data["starttls"] = not data["ssl"]
        if data["password"] and not data["username"]:
            raise ValidationError("a password needs a username", "username")


@dataclass(frozen=True, slots=True)
class WhmcsMailConfig:
    """``[notifications.whmcs]``: customer mail through WHMCS."""

    customer_mail: bool
    smtp_fallback: bool


class WhmcsMailSettings(StrictSchema):
    config = WhmcsMailConfig

    customer_mail = fields.Boolean(load_default=True)  # SendEmail through WHMCS
    smtp_fallback = fields.Boolean(load_default=True)  # when WHMCS refuses or is down


@dataclass(frozen=True, slots=True)
class WhmcsNotificationConfig:
    """``[notifications.whmcs_notification]``"""

    identifier: str | None
    language: str


class WhmcsNotificationSettings(StrictSchema):
    config = WhmcsNotificationConfig

    identifier = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    language = _language


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """``[notifications.slack]`` (and, the same keys, ``[notifications.teams]``)."""

    url: Secret | None
    language: str


class SlackSettings(StrictSchema):
    config = SlackConfig

    url = SecretField(load_default=None)  # the URL itself is the credential
    language = _language


@dataclass(frozen=True, slots=True)
class TeamsConfig(SlackConfig):
    """``[notifications.teams]``"""


class TeamsSettings(SlackSettings):
    config = TeamsConfig


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """``[notifications.telegram]``"""

    bot_token: Secret | None
    chat_id: str | None
    api_url: str
    language: str


class TelegramSettings(StrictSchema):
    config = TelegramConfig

    bot_token = SecretField(load_default=None)
    chat_id = fields.String(load_default=None)
    api_url = _url(load_default="https://api.telegram.org")
    language = _language

    @validates_schema
    def _pair(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data["bot_token"]) != bool(data["chat_id"]):
            raise ValidationError("bot_token and chat_id go together", "chat_id")


@dataclass(frozen=True, slots=True)
class WebhookChannelConfig:
    """``[notifications.webhook]``: the generic signed webhook."""

    url: str | None
    secret: Secret | None
    language: str


class WebhookChannelSettings(StrictSchema):
    config = WebhookChannelConfig

    url = _url(load_default=None)
    secret = SecretField(load_default=None, validate=validate_webhook_secret)
    language = _language

    @validates_schema
    def _signed(self, data: dict[str, Any], **_: Any) -> None:
        if data["url"] and not data["secret"]:
            raise ValidationError("the generic webhook is always signed: set a whsec_ secret",
                                  "secret")


@dataclass(frozen=True, slots=True)
class StaffConfig:
    """One ``[[notifications.staff]]`` entry."""

    name: str
    email: str
    language: str
    timezone: str | None
    #: empty: every department
    departments: Sequence[int]
    admin: bool


class StaffMember(StrictSchema):
    config = StaffConfig

    name = fields.String(load_default="")
    email = fields.Email(required=True)
    language = _language
    timezone = TimeZoneField(load_default=None)
    departments = fields.List(fields.Integer(), load_default=list)  # empty: all
    admin = fields.Boolean(load_default=False)  # receives dead letters


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One ``[[notifications.routes]]`` entry."""

    notifications: Sequence[str]
    levels: Sequence[str]
    departments: Sequence[int]
    channels: Sequence[str]
    recipients: Sequence[str]


class Route(StrictSchema):
    config = RouteConfig

    notifications = fields.List(
        fields.String(validate=validate.OneOf([*KINDS, "*"])),
        load_default=lambda: ["*"],
        validate=validate.Length(min=1),
    )
    levels = fields.List(fields.String(validate=validate.OneOf(LEVELS)), load_default=list)
    departments = fields.List(fields.Integer(), load_default=list)
    channels = fields.List(fields.String(validate=validate.OneOf(STAFF_CHANNELS)),
                           required=True, validate=validate.Length(min=1))
    recipients = fields.List(fields.Email(), load_default=list)  # smtp only; default: staff


@dataclass(frozen=True, slots=True)
class PreferenceConfig:
    """``[notifications.preferences]``"""

    enabled: bool
    custom_field: int | None


class PreferenceSettings(StrictSchema):
    config = PreferenceConfig

    enabled = fields.Boolean(load_default=True)
    #: a WHMCS client (or ticket) custom field id holding the preferred contact method
    custom_field = fields.Integer(load_default=None, validate=validate.Range(min=1))


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    """``[notifications]``: channels, routes, staff, limits."""

    default_language: str
    coalesce_seconds: int
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    lease_seconds: int
    batch_size: int
    retention_days: int
    #: channel -> messages per minute
    rate_limits: Mapping[str, int]
    smtp: SmtpConfig
    whmcs: WhmcsMailConfig
    whmcs_notification: WhmcsNotificationConfig
    slack: SlackConfig
    teams: TeamsConfig
    telegram: TelegramConfig
    webhook: WebhookChannelConfig
    staff: Sequence[StaffConfig]
    routes: Sequence[RouteConfig]
    preferences: PreferenceConfig


class NotificationSettings(StrictSchema):
    config = NotificationConfig

    default_language = _language
    coalesce_seconds = fields.Integer(load_default=120, validate=validate.Range(min=0, max=86400))
    max_attempts = fields.Integer(load_default=8, validate=validate.Range(min=1, max=100))
    backoff_base_seconds = fields.Float(load_default=10.0,
                                        validate=validate.Range(min=0, max=WEEK_SECONDS))
    backoff_max_seconds = fields.Float(load_default=3600.0,
                                       validate=validate.Range(min=0, max=WEEK_SECONDS))
    lease_seconds = fields.Integer(load_default=120, validate=validate.Range(min=1, max=86400))
    batch_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10000))
    #: sent notifications are deleted after this many days (dead ones stay until replayed)
    retention_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650))
    #: messages per minute per channel (a digest counts as one)
    rate_limits = fields.Dict(keys=fields.String(validate=validate.OneOf(ALL_CHANNELS)),
                              values=fields.Integer(validate=validate.Range(min=1)),
                              load_default=lambda: {"telegram": 20,
                                                    "whmcs_admin": WHMCS_ADMIN_RATE})
    smtp = fields.Nested(SmtpSettings, load_default=_defaults(SmtpSettings))
    whmcs = fields.Nested(WhmcsMailSettings, load_default=_defaults(WhmcsMailSettings))
    whmcs_notification = fields.Nested(WhmcsNotificationSettings,
                                       load_default=_defaults(WhmcsNotificationSettings))
    slack = fields.Nested(SlackSettings, load_default=_defaults(SlackSettings))
    teams = fields.Nested(TeamsSettings, load_default=_defaults(TeamsSettings))
    telegram = fields.Nested(TelegramSettings, load_default=_defaults(TelegramSettings))
    webhook = fields.Nested(WebhookChannelSettings, load_default=_defaults(WebhookChannelSettings))
    staff = fields.List(fields.Nested(StaffMember), load_default=list)
    routes = fields.List(fields.Nested(Route), load_default=list)
    preferences = fields.Nested(PreferenceSettings, load_default=_defaults(PreferenceSettings))

    def complete(self, data: dict[str, Any]) -> dict[str, Any]:
        # WHMCS's admin mail is on by default: setting another channel's limit must not
        # leave it unlimited
        data["rate_limits"].setdefault("whmcs_admin", WHMCS_ADMIN_RATE)
        return data

    @validates_schema
    def _routes_use_configured_channels(self, data: dict[str, Any], **_: Any) -> None:
        section = NotificationConfig(**data)  # every key is loaded (or defaulted) by now
        configured = set(configured_channels(section)) | set(ALWAYS_AVAILABLE)
        errors: dict[int, dict[str, list[str]]] = {}
        for i, route in enumerate(section.routes):
            missing = [c for c in route.channels if c not in configured]
            if missing:
                errors[i] = {"channels": [f"{', '.join(missing)} not configured "
                                          f"(set notifications.{missing[0]} first)"]}
            elif "smtp" in route.channels and not (route.recipients or section.staff):
                errors[i] = {"recipients": ["smtp route without recipients and no "
                                            "notifications.staff entries"]}
        if errors:
            raise ValidationError({"routes": errors})


def configured_channels(section: NotificationConfig) -> list[str]:
    """The staff channels whose required keys are set, in a stable order."""
    out = []
    if section.smtp.host:
        out.append("smtp")
    if section.whmcs_notification.identifier:
        out.append("whmcs_notification")
    if section.slack.url:
        out.append("slack")
    if section.teams.url:
        out.append("teams")
    if section.telegram.bot_token:
        out.append("telegram")
    if section.webhook.url:
        out.append("webhook")
    return out
