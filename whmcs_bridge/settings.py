"""Settings: one TOML file plus environment overrides, validated once at start-up.

Every key lives in a section (``[database]``, ``[webhooks]`` …) or at the top level
(``timezone``). Any key can be overridden from the environment as
``WHMCS_BRIDGE_<SECTION>__<KEY>`` (double underscore between section and key); the common ones
also have the short documented names in :data:`ENV_ALIASES`. Values from the environment are
parsed as TOML values when they look like one (``8``, ``true``, ``["a", "b"]``) and taken as
strings otherwise.

This module is the machinery and the core sections; it imports no room. Room-specific
sections (SLA policy, verification, notifications, …) are declared by their rooms, and the
table of every section lives in :mod:`whmcs_bridge.config` (above the rooms), whose
``load_settings`` validates the whole file in one pass, so an unknown key anywhere is an
error that names it.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate

from whmcs_bridge.digits import MAX_ID, as_id
from whmcs_bridge.errors import BridgeError

if TYPE_CHECKING:  # the rooms' sections import this module
    from whmcs_bridge.hooks.registry import HandlerConfig
    from whmcs_bridge.notify.settings import NotificationConfig
    from whmcs_bridge.sla.settings import ChannelConfig, EscalationConfig, SlaConfig
    from whmcs_bridge.store.ingest import IngestConfig
    from whmcs_bridge.verification.settings import VerificationConfig

ENV_PREFIX = "WHMCS_BRIDGE_"
CONFIG_ENV = "WHMCS_BRIDGE_CONFIG"
#: The top-level ``timezone`` when none is given (also shown in the README's settings table).
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

#: The longest backoff a retry may wait (bounds the backoff settings).
WEEK_SECONDS = 7 * 86400

#: Short environment names documented in the README, mapped to ``section.key``.
ENV_ALIASES: dict[str, str] = {
    "WHMCS_BRIDGE_DATABASE_URL": "database.url",
    "WHMCS_BRIDGE_WEBHOOK_SECRET": "webhooks.secrets",
    "WHMCS_BRIDGE_API_TOKEN": "api.tokens",
    "WHMCS_BRIDGE_WHMCS_URL": "whmcs.url",
    "WHMCS_BRIDGE_WHMCS_IDENTIFIER": "whmcs.identifier",
    "WHMCS_BRIDGE_WHMCS_SECRET": "whmcs.secret",
    "WHMCS_BRIDGE_WHMCS_ACCESS_KEY": "whmcs.access_key",
    "WHMCS_BRIDGE_TIMEZONE": "timezone",
    "WHMCS_BRIDGE_LOG_LEVEL": "log.level",
}
#: Set by ``serve`` for its worker child: the pid to outlive no longer than.
SUPERVISOR_ENV = "WHMCS_BRIDGE_SUPERVISOR_PID"
#: Environment names that are not settings keys and must not be rejected as unknown.
ENV_IGNORED = {CONFIG_ENV, "WHMCS_BRIDGE_DATA_DIR", SUPERVISOR_ENV, "WHMCS_BRIDGE_DEBUG"}
#: Keys whose environment value is a list given as whitespace/comma separated words.
LIST_KEYS = {"webhooks.secrets", "api.tokens"}


class SettingsError(BridgeError):
    """A settings problem, phrased for the admin in one line that names the key (CLI exit 2;
    a request that meets one answers 500 without the detail)."""

    code = "settings_invalid"


class Secret:
    """A string that never shows itself in reprs, logs or ``doctor`` output.

    Call :meth:`reveal` at the one place that needs the value (signing, an API call).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class SecretField(fields.String):
    """A string setting loaded as :class:`Secret`.

    ``min_length`` is checked on the plain string here, because validators passed with
    ``validate=`` only ever see the wrapped :class:`Secret`.
    """

    def __init__(self, *args: Any, min_length: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_length = min_length

    # returns a Secret where String returns str: the point of this field
    def _deserialize(  # type: ignore[override]
            self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Secret:
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) < self.min_length:
            raise ValidationError(f"must be at least {self.min_length} characters long")
        return Secret(raw)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else "********"


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when it cannot be loaded: unknown, malformed, a folder
    of zones (``"Asia"``: OSError) or a name too long for the file system (OSError)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


class TimeZoneField(fields.String):
    """An IANA zone name, validated by loading it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        if zone_named(name) is None:
            raise ValidationError(f"unknown time zone {name!r}")
        return name


def _is_id(value: str) -> None:
    # not just ^[0-9]+: 5000 digits made int() raise ValueError where the key was used
    if as_id(value) is None:
        raise ValidationError(f"must be an id (digits, at most {MAX_ID})")


#: A WHMCS id as a TOML table key (``[sla.departments.4]``): keys are always strings.
ID_KEY = fields.String(validate=_is_id)


def validate_webhook_secret(value: Secret) -> None:
    """Standard Webhooks secrets are ``whsec_`` + base64 of at least 24 random bytes."""
    raw = value.reveal()
    if not raw.startswith("whsec_"):
        raise ValidationError("must start with 'whsec_' (Standard Webhooks secret)")
    try:
        key = base64.b64decode(raw[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("the part after 'whsec_' is not valid base64") from exc
    if len(key) < 24:
        raise ValidationError(f"decodes to {len(key)} bytes; at least 24 are required")


class StrictSchema(Schema):
    """Base of every settings section: unknown keys are errors, and a load returns the
    section's frozen dataclass (:attr:`config`), so a running service cannot change its
    settings and every read is an attribute the type checker knows."""

    #: the frozen dataclass a load builds; its fields are the schema's (tests/core checks)
    config: ClassVar[type]

    class Meta:
        unknown = RAISE

    def complete(self, data: dict[str, Any]) -> dict[str, Any]:
        """Defaults that depend on other keys, filled in after validation (override)."""
        return data

    @post_load
    def _to_config(self, data: dict[str, Any], **_: Any) -> Any:
        return self.config(**self.complete(data))


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """``[database]``"""

    url: str | None
    pool_size: int
    echo: bool


class DatabaseSettings(StrictSchema):
    config = DatabaseConfig

    url = fields.String(load_default=None)
    pool_size = fields.Integer(load_default=5, validate=validate.Range(min=1, max=200))
    echo = fields.Boolean(load_default=False)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """``[webhooks]``: the receiver's signing secrets and limits."""

    secrets: Sequence[Secret]
    tolerance_seconds: int
    max_body_bytes: int


class WebhookSettings(StrictSchema):
    config = WebhookConfig

    secrets = fields.List(
        SecretField(validate=validate_webhook_secret), load_default=list
    )
    tolerance_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1, max=3600))
    max_body_bytes = fields.Integer(
        load_default=1024 * 1024, validate=validate.Range(min=1024, max=64 * 1024 * 1024)
    )


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """``[api]``: staff API bearer tokens."""

    tokens: Sequence[Secret]


class ApiSettings(StrictSchema):
    config = ApiConfig

    tokens = fields.List(SecretField(min_length=16), load_default=list)


@dataclass(frozen=True, slots=True)
class WhmcsConfig:
    """``[whmcs]``: the WHMCS API and its admin area."""

    url: str | None
    identifier: Secret | None
    secret: Secret | None
    access_key: Secret | None
    timeout: float
    verify_tls: bool
    timezone: str | None
    admin_url: str | None
    admin_username: str | None
    write_rate_per_second: int
    write_max_attempts: int


class WhmcsSettings(StrictSchema):
    config = WhmcsConfig

    url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    identifier = SecretField(load_default=None)
    secret = SecretField(load_default=None)
    access_key = SecretField(load_default=None)
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=300))
    verify_tls = fields.Boolean(load_default=True)
    timezone = TimeZoneField(load_default=None)
    admin_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    #: The WHMCS admin the bridge's own ticket replies are posted as (AddTicketReply's
    #: ``adminusername``). Required while a reply-writing feature is on: see
    #: :func:`reply_writers`.
    admin_username = fields.String(load_default=None, validate=validate.Length(min=1))
    #: The write budget: replies, notes and ticket changes sent to WHMCS per second at most.
    write_rate_per_second = fields.Integer(load_default=4,
                                           validate=validate.Range(min=1, max=1000))
    #: Tries of one WHMCS write before it is dead-lettered (`outbox list --queue whmcs`).
    write_max_attempts = fields.Integer(load_default=8, validate=validate.Range(min=1, max=100))


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """``[server]``"""

    host: str
    port: int
    workers: int
    public_url: str | None
    secret_key: Secret | None


class ServerSettings(StrictSchema):
    config = ServerConfig

    host = fields.String(load_default="127.0.0.1")
    port = fields.Integer(load_default=8080, validate=validate.Range(min=0, max=65535))
    workers = fields.Integer(load_default=0, validate=validate.Range(min=0, max=256))
    public_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    #: signs dashboard sessions and verification links: as long as a random 32-byte token
    secret_key = SecretField(load_default=None, min_length=32)

    @pre_load
    def _empty_is_unset(self, data: Any, **_: Any) -> Any:
        # an env file line "WHMCS_BRIDGE_SERVER__SECRET_KEY=" still to be filled in
        if isinstance(data, Mapping) and data.get("secret_key") == "":
            data = {k: v for k, v in data.items() if k != "secret_key"}
        return data


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """``[worker]``"""

    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    lease_seconds: int
    poll_interval_seconds: float
    batch_size: int


class WorkerSettings(StrictSchema):
    config = WorkerConfig

    max_attempts = fields.Integer(load_default=8, validate=validate.Range(min=1, max=100))
    # upper bounds: a larger value passed validation and then overflowed a datetime or a
    # wait() in the running worker (OverflowError) instead of naming the key at start-up
    backoff_base_seconds = fields.Float(load_default=5.0,
                                        validate=validate.Range(min=0, max=WEEK_SECONDS))
    backoff_max_seconds = fields.Float(load_default=3600.0,
                                       validate=validate.Range(min=0, max=WEEK_SECONDS))
    lease_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1, max=86400))
    poll_interval_seconds = fields.Float(load_default=1.0,
                                         validate=validate.Range(min=0.01, max=3600))
    batch_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=10000))


@dataclass(frozen=True, slots=True)
class LogConfig:
    """``[log]``"""

    level: str
    format: str


class LogSettings(StrictSchema):
    config = LogConfig

    level = fields.String(
        load_default="INFO",
        validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    )
    format = fields.String(load_default="auto", validate=validate.OneOf(["auto", "json", "text"]))


#: The core sections, declared here; :data:`whmcs_bridge.config.SECTIONS` adds the rooms'.
CORE_SECTIONS: dict[str, type[Schema]] = {
    "database": DatabaseSettings,
    "webhooks": WebhookSettings,
    "api": ApiSettings,
    "whmcs": WhmcsSettings,
    "server": ServerSettings,
    "worker": WorkerSettings,
    "log": LogSettings,
}


def reply_writers(sections: Mapping[str, Any]) -> list[str]:
    """The enabled features that post ticket replies into WHMCS (pure; ``sections`` maps a
    section name to its loaded dataclass, as :attr:`Settings.sections` does).

    WHMCS refuses an AddTicketReply that names no author (``clientid``, ``adminusername`` or
    ``name`` + ``email``: "Name and email address are required if not a client"), and the
    bridge replies as staff, so each of these needs ``whmcs.admin_username``:

    * ``verification.enabled``: the verification flow replies (proof required, verified,
      locked, refused, a credential posted in the ticket);
    * ``channels.billing_auto_reply`` with ``channels.billing_department_ids``: the hotline
      reply on a new billing ticket.
    """
    out = []
    verification: VerificationConfig | None = sections.get("verification")
    if verification is not None and verification.enabled:
        out.append("verification.enabled")
    channels: ChannelConfig | None = sections.get("channels")
    if channels is not None and channels.billing_auto_reply and channels.billing_department_ids:
        out.append("channels.billing_auto_reply")
    return out


def _reply_author_errors(sections: Mapping[str, Any]) -> list[str]:
    """``whmcs.admin_username`` is required once the bridge talks to WHMCS and writes replies:
    without it every reply fails on a real WHMCS, long after start-up."""
    whmcs: WhmcsConfig | None = sections.get("whmcs")
    writers = reply_writers(sections)
    if whmcs is None or not whmcs.url or whmcs.admin_username or not writers:
        return []
    return [f"whmcs.admin_username: required when the bridge writes ticket replies "
            f"({', '.join(writers)} is on): the username of the WHMCS admin its replies are "
            "posted as (WHMCS refuses a reply without an author)"]




@dataclass(frozen=True)
class Settings:
    """The validated settings: ``timezone`` and one frozen dataclass per section, read as
    ``settings.whmcs.url`` (each property below is typed with its section's dataclass)."""

    timezone: str
    #: section name -> its loaded dataclass (see :data:`SECTIONS`)
    sections: Mapping[str, Any]
    source: str | None = None

    @property
    def database(self) -> DatabaseConfig:
        return self.sections["database"]

    @property
    def webhooks(self) -> WebhookConfig:
        return self.sections["webhooks"]

    @property
    def api(self) -> ApiConfig:
        return self.sections["api"]

    @property
    def whmcs(self) -> WhmcsConfig:
        return self.sections["whmcs"]

    @property
    def server(self) -> ServerConfig:
        return self.sections["server"]

    @property
    def worker(self) -> WorkerConfig:
        return self.sections["worker"]

    @property
    def log(self) -> LogConfig:
        return self.sections["log"]

    @property
    def notifications(self) -> NotificationConfig:
        return self.sections["notifications"]

    @property
    def ingest(self) -> IngestConfig:
        return self.sections["ingest"]

    @property
    def sla(self) -> SlaConfig:
        return self.sections["sla"]

    @property
    def channels(self) -> ChannelConfig:
        return self.sections["channels"]

    @property
    def escalation(self) -> EscalationConfig:
        return self.sections["escalation"]

    @property
    def verification(self) -> VerificationConfig:
        return self.sections["verification"]

    @property
    def handlers(self) -> HandlerConfig:
        return self.sections["handlers"]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def whmcs_tz(self) -> ZoneInfo:
        return ZoneInfo(self.whmcs.timezone or self.timezone)

    @property
    def database_url(self) -> str:
        return self.database.url or default_database_url()


def default_data_dir() -> Path:
    env = os.environ.get("WHMCS_BRIDGE_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "whmcs-bridge"


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'bridge.db'}"


def _parse_env_value(dotted: str, raw: str) -> Any:
    if dotted in LIST_KEYS:
        if raw.strip().startswith("["):
            return tomllib.loads(f"v = {raw}")["v"]
        return [w for w in raw.replace(",", " ").split() if w]
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except ValueError:  # TOMLDecodeError, or int() refusing an integer of over 4300 digits
        return raw


def _env_overrides(environ: Mapping[str, str], sections: Mapping[str, Any]) -> dict[str, Any]:
    """Collect ``section.key -> value`` from the environment; unknown names are errors."""
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in ENV_IGNORED:
            continue
        if name in ENV_ALIASES:
            dotted = ENV_ALIASES[name]
        else:
            rest = name[len(ENV_PREFIX) :].lower()
            section, sep, key = rest.partition("__")
            if not sep:
                dotted = section
            else:
                dotted = f"{section}.{key}"
            if dotted.split(".")[0] not in sections and dotted != "timezone":
                raise SettingsError(f"{name}: unknown setting (no section {section!r})")
        try:
            out[dotted] = _parse_env_value(dotted, raw)
        except ValueError:  # TOMLDecodeError, or an integer of over 4300 digits
            # the value may be a secret: say what is wrong, never echo it
            raise SettingsError(f"{name}: starts with '[' but is not a TOML list "
                                f"(write [\"a\", \"b\"], or a, b without brackets)") from None
    return out


def _flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        out: list[str] = []
        for key, val in errors.items():
            out += _flatten_errors(val, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        msg = "; ".join(errors)
        if msg == "Unknown field.":
            msg = "unknown setting"
        return [f"{prefix}: {msg}"]
    if isinstance(errors, list):
        return [m for e in errors for m in _flatten_errors(e, prefix)]
    return [f"{prefix}: {errors}"]


def read_settings(
    sections: Mapping[str, type[Schema]],
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Settings:
    """Load, merge and validate settings against ``sections`` (name -> schema); raise
    :class:`SettingsError` naming the bad key. :func:`whmcs_bridge.config.load_settings`
    calls it with every section.

    ``data`` (already-parsed mapping) is for tests and the demo; a path or ``WHMCS_BRIDGE_CONFIG``
    names a TOML file; the environment overrides either.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    raw: dict[str, Any] = {}
    if data is not None:
        raw = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    elif path:
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise SettingsError(f"config file {path}: not found") from None
        except OSError as exc:  # a folder, no permission
            raise SettingsError(f"config file {path}: cannot be read ({exc.strerror})") from None
        except ValueError as exc:  # TOMLDecodeError, not UTF-8, an integer of 4300+ digits
            raise SettingsError(f"config file {path}: not valid TOML ({exc})") from None
    for dotted, value in _env_overrides(environ, sections).items():
        if "." in dotted:
            section, key = dotted.split(".", 1)
            existing = raw.setdefault(section, {})
            if not isinstance(existing, dict):
                raise SettingsError(f"{section}: must be a table")
            existing[key] = value
        else:
            raw[dotted] = value

    timezone = raw.pop("timezone", DEFAULT_TIMEZONE)
    errors: list[str] = []
    try:
        timezone = TimeZoneField().deserialize(timezone)
    except ValidationError as exc:
        errors += _flatten_errors(exc.messages, "timezone")
    for key in raw:
        if key not in sections:
            errors.append(f"{key}: unknown setting")
    loaded: dict[str, Any] = {}
    for name, schema in sections.items():
        value = raw.get(name, {})
        if not isinstance(value, Mapping):
            errors.append(f"{name}: must be a table")
            continue
        try:
            loaded[name] = schema().load(value)
        except ValidationError as exc:
            errors += _flatten_errors(exc.messages, name)
    if not errors:
        errors += _reply_author_errors(loaded)
    if errors:
        raise SettingsError(errors[0] if len(errors) == 1 else "; ".join(sorted(errors)))
    return Settings(timezone=timezone, sections=loaded, source=str(path) if path else None)

