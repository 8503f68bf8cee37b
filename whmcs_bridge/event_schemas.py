"""Marshmallow schemas for the ``$vars`` of the WHMCS hooks the bridge handles as events.

WHMCS hands hooks loosely typed arrays: ids arrive as ``"123"`` or ``123`` depending on the
code path and version, optional ids as ``""`` or ``0``, and new keys appear between releases.
So every schema here

* coerces ids to ``int`` (:class:`Id`) and keeps the other values as WHMCS sent them;
* keeps unknown keys (``unknown = INCLUDE``): a key we do not model is still useful to a
  third-party handler, and rejecting it would make WHMCS retry a perfectly good event forever;
* **drops** password-like values (:data:`SECRET_KEYS`, at any depth) before anything else
  happens, so they are never stored. The PHP module scrubs them too; this is the second line.

:data:`SCHEMAS` maps each handled hook name (reference section 4) to its schema. A hook name
that is not in it is "not handled": the receiver stores such an event as ``ignored``. To make a
new hook reach handlers, add its schema here *and* to the PHP module's ``HookList::FORWARDED``
(the hooks it forwards): the two lists are the same, a test keeps them so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from whmcs_bridge.digits import MAX_ID, as_id
from whmcs_bridge.errors import BadRequest

#: Keys whose values are never stored (compared lower-cased, at every nesting level).
#: ``authmodule`` / ``authdata`` are the client's two-factor module and its data (ClientEdit).
SECRET_KEYS = frozenset({
    "password", "password2", "newpassword", "oldpassword", "loginpassword", "serverpassword",
    "serveraccesshash", "accesshash", "securityqans", "cardnum", "cardnumber", "ccnumber",
    "cccvv", "cardcvv", "cvv", "bankacct", "authmodule", "authdata",
})


#: JSON's scalars: never a Mapping or list, so they skip the (ABC) isinstance checks below
_SCALARS = frozenset({str, int, float, bool, type(None)})


def drop_secret_keys(value: Any) -> Any:
    """Return ``value`` with every password-like key (:data:`SECRET_KEYS`) removed,
    recursively (dicts and lists): WHMCS hook vars carry passwords the bridge never stores."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {k: drop_secret_keys(v) for k, v in value.items()
                if not (isinstance(k, str) and k.lower() in SECRET_KEYS)}
    if isinstance(value, list):
        return [drop_secret_keys(v) for v in value]
    return value


def replace_nul(value: Any) -> Any:
    """``value`` with every NUL in its strings and keys replaced by U+FFFD, recursively.

    PostgreSQL text cannot hold NUL, so a ticket subject with one (piped mail passes it on)
    would fail every handler that stores it until the event was dead-lettered. Callers check
    the raw body for ``\\u0000`` first: JSON must escape NUL, so most bodies skip the walk.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {replace_nul(k): replace_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_nul(v) for v in value]
    return value


class Id(fields.Field):
    """A WHMCS id: an int or a string of digits, loaded as an ``int`` from 0 to ``MAX_ID``.

    ``""`` (how WHMCS spells "no id" in many arrays) loads as ``None`` where the field allows
    it. Floats, booleans, other strings and numbers out of the 32-bit range are errors:
    ``"12abc"`` is not silently ``12``.
    """

    default_error_messages = {"invalid": "Not a valid id (an integer or a string of digits "
                                         f"from 0 to {MAX_ID})."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        if isinstance(value, str):
            value = value.strip()
            if not value and self.allow_none:
                return None
        number = as_id(value)
        if number is None:
            raise self.make_error("invalid")
        return number


def _opt_id(**kwargs: Any) -> Id:
    return Id(allow_none=True, **kwargs)


def _opt_str(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, **kwargs)


class HookData(Schema):
    """Base of every ``$vars`` schema: unknown keys kept, secrets dropped first."""

    class Meta:
        unknown = INCLUDE

    @pre_load
    def _drop_secrets(self, data: Any, **_: Any) -> Any:
        return drop_secret_keys(data) if isinstance(data, Mapping) else data


# --- tickets (reference 4.2) -------------------------------------------------------------

class TicketOpen(HookData):
    ticketid = Id(required=True)
    ticketmask = _opt_str()
    userid = _opt_id()  # 0 or "" for a guest (e-mail) ticket
    deptid = _opt_id()
    deptname = _opt_str()
    subject = _opt_str()
    message = _opt_str()
    priority = _opt_str()


class TicketOpenAdmin(TicketOpen):
    pass


class TicketUserReply(HookData):
    ticketid = Id(required=True)
    replyid = _opt_id()
    userid = _opt_id()
    deptid = _opt_id()
    deptname = _opt_str()
    subject = _opt_str()
    message = _opt_str()
    priority = _opt_str()
    status = _opt_str()


class TicketAdminReply(HookData):
    ticketid = Id(required=True)
    replyid = _opt_id()
    deptid = _opt_id()
    deptname = _opt_str()
    subject = _opt_str()
    message = _opt_str()
    priority = _opt_str()
    admin = _opt_str()  # display name, not an id
    status = _opt_str()


class TicketAddNote(HookData):
    ticketid = Id(required=True)
    message = _opt_str()
    adminid = _opt_id()
    attachments = fields.Raw(allow_none=True)


class TicketStatusChange(HookData):
    ticketid = Id(required=True)
    status = fields.String(required=True)
    adminid = _opt_id()


class TicketPriorityChange(HookData):
    ticketid = Id(required=True)
    priority = fields.String(required=True)


class TicketDepartmentChange(HookData):
    ticketid = Id(required=True)
    deptid = Id(required=True)
    deptname = _opt_str()


class TicketSubjectChange(HookData):
    ticketid = Id(required=True)
    subject = fields.String(required=True)


class TicketFlagged(HookData):
    ticketid = Id(required=True)
    adminid = _opt_id()  # 0 when the flag is removed
    adminname = _opt_str()


class TicketClose(HookData):
    ticketid = Id(required=True)


class TicketDelete(HookData):
    """camelCase in WHMCS, unlike the other ticket hooks."""

    ticketId = Id(required=True)
    adminId = _opt_id()


class TicketDeleteReply(HookData):
    ticketId = Id(required=True)
    replyId = Id(required=True)
    adminId = _opt_id()


class TicketMerge(HookData):
    mergedTicketIds = fields.List(Id(), required=True)
    masterTicketId = Id(required=True)


class TicketSplit(HookData):
    """The docs name the new ticket ``newTicketID``; some releases send ``newTicketId``. Both
    load as ``newTicketID``, so handlers read one key."""

    originalTicketId = Id(required=True)
    newTicketID = Id(required=True)

    @pre_load
    def _one_new_ticket_key(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping) or "newTicketId" not in data:
            return data
        out = dict(data)
        alias = out.pop("newTicketId")
        if "newTicketID" not in out:
            out["newTicketID"] = alias
        elif as_id(out["newTicketID"]) != as_id(alias):
            raise ValidationError("newTicketId and newTicketID name different tickets.",
                                  "newTicketId")
        return out


class TicketPiping(HookData):
    to = _opt_str()
    cc = fields.Raw(allow_none=True)  # array in 8.x, a string in older versions
    name = _opt_str()
    email = _opt_str()
    subject = _opt_str()
    body = _opt_str()
    attachments = fields.Raw(allow_none=True)


# --- clients, users, contacts (reference 4.3) ---------------------------------------------

class ClientEdit(HookData):
    userid = Id(required=True)
    uuid = _opt_str()
    email = _opt_str()
    olddata = fields.Dict(allow_none=True)


class ClientAdd(HookData):
    client_id = _opt_id()
    user_id = _opt_id()
    userid = _opt_id()  # deprecated alias of client_id, still sent
    email = _opt_str()

    @validates_schema
    def _need_a_client_id(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("client_id") is None and data.get("userid") is None:
            raise ValidationError("Missing data for required field.", "client_id")


class ClientChangePassword(HookData):
    userid = Id(required=True)


class UserChangePassword(HookData):
    userid = Id(required=True)


class UserEdit(HookData):
    user_id = Id(required=True)
    firstname = _opt_str()
    lastname = _opt_str()
    email = _opt_str()
    olddata = fields.Dict(allow_none=True)


class UserAdd(HookData):
    user_id = Id(required=True)
    firstname = _opt_str()
    lastname = _opt_str()
    email = _opt_str()
    language = _opt_str()


class ContactAdd(HookData):
    userid = Id(required=True)
    contactid = Id(required=True)


class ContactEdit(ContactAdd):
    olddata = fields.Dict(allow_none=True)


class ContactDelete(ContactAdd):
    pass


class ClientClose(HookData):
    userid = Id(required=True)


class PreDeleteClient(ClientClose):
    pass


# --- services, upgrades, billing (reference 4.4) -------------------------------------------

class ModuleParams(HookData):
    """Standard provisioning-module params; password fields are dropped by the base class."""

    serviceid = Id(required=True)
    userid = _opt_id()
    pid = _opt_id()
    serverid = _opt_id()
    domain = _opt_str()
    username = _opt_str()
    producttype = _opt_str()
    moduletype = _opt_str()


class ModuleHook(HookData):
    params = fields.Nested(ModuleParams, required=True)


class AfterModuleChangePackage(ModuleHook):
    pass


class AfterModuleChangePassword(HookData):
    """Documented vars: ``serviceid``, ``oldpassword``, ``newpassword`` (no ``params``, unlike
    the other module hooks). Both passwords are in :data:`SECRET_KEYS`. A ``params`` array, if a
    release sends one, is loaded like the other module hooks' and may supply the service id."""

    serviceid = Id(required=True)
    params = fields.Nested(ModuleParams, allow_none=True)

    @pre_load
    def _service_from_params(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping) or "serviceid" in data:
            return data
        params = data.get("params")
        if not isinstance(params, Mapping) or "serviceid" not in params:
            return data
        return {**data, "serviceid": params["serviceid"]}


class AfterModuleCustom(ModuleHook):
    pass


class AfterProductUpgrade(HookData):
    upgradeid = Id(required=True)


class AfterConfigOptionsUpgrade(AfterProductUpgrade):
    pass


class ServiceEdit(HookData):
    serviceid = Id(required=True)
    userid = _opt_id()


class AdminServiceEdit(ServiceEdit):
    pass


class CancellationRequest(HookData):
    userid = Id(required=True)
    relid = Id(required=True)  # the service id
    reason = _opt_str()
    type = fields.String(required=True, validate=validate.Length(min=1))


class InvoicePaid(HookData):
    invoiceid = Id(required=True)


#: hook name -> schema instance. Instances are stateless and safe to share between threads.
SCHEMAS: dict[str, Schema] = {
    cls.__name__: cls()
    for cls in (
        TicketOpen, TicketOpenAdmin, TicketUserReply, TicketAdminReply, TicketAddNote,
        TicketStatusChange, TicketPriorityChange, TicketDepartmentChange, TicketSubjectChange,
        TicketFlagged, TicketClose, TicketDelete, TicketDeleteReply, TicketMerge, TicketSplit,
        TicketPiping,
        ClientEdit, ClientAdd, ClientChangePassword, UserChangePassword, UserEdit, UserAdd,
        ContactAdd, ContactEdit, ContactDelete, ClientClose,
        PreDeleteClient,
        AfterModuleChangePackage, AfterModuleChangePassword,
        AfterModuleCustom, AfterProductUpgrade, AfterConfigOptionsUpgrade, ServiceEdit,
        AdminServiceEdit, CancellationRequest, InvoicePaid,
    )
}


def is_handled(hook_type: str) -> bool:
    """True when the bridge validates and processes events of this hook name."""
    return hook_type in SCHEMAS


# --- the envelope (design.md "Event envelope") -----------------------------------------

ACTOR_TYPES = ("client", "masquerading_admin", "admin", "api", "system")


class Actor(Schema):
    """Who caused the event, as the PHP module saw it (optional on events)."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.OneOf(ACTOR_TYPES))
    client_id = _opt_id()
    user_id = _opt_id()
    admin_id = _opt_id()
    admin_username = _opt_str()


#: Hook times the handlers can compute with (SLA due times, windows, conversion to UTC). An
#: ISO 8601 time such as ``0001-01-01T00:00:00+01:00`` parses, but was stored and then made
#: the worker raise OverflowError; WHMCS never sends one.
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(9000, 1, 1, tzinfo=UTC)


def _usable_time(ts: datetime) -> None:
    try:
        utc = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_TIMESTAMP <= utc < LATEST_TIMESTAMP:
        raise ValidationError(f"Must be between {EARLIEST_TIMESTAMP.year} and "
                              f"{LATEST_TIMESTAMP.year} (UTC).")


class Envelope(Schema):
    """``{"type", "timestamp", "data", "actor"?}``. Extra top-level keys are dropped, not
    refused, so a newer addon module adding one does not make WHMCS retry forever."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    timestamp = fields.DateTime(required=True, validate=_usable_time)
    data = fields.Raw(required=True)
    actor = fields.Nested(Actor, allow_none=True)


ENVELOPE = Envelope()


class EnvelopeError(BadRequest, ValueError):
    """The envelope or its data is invalid; ``errors`` maps field paths to messages (400)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors

    def public_message(self) -> str:
        return "the event does not match its schema"


class Loads(Protocol):
    """What loads one input: a marshmallow schema, or a stand-in giving the same results."""

    def load(self, data: Any) -> Any: ...


class EventLoader:
    """Loads events with one loader for the envelope and one per handled hook.

    :data:`PLAIN` is marshmallow's own ``Schema.load`` throughout: the receiver, the worker,
    the CLI. (A re-implementation of ``Schema.load`` on marshmallow's private hooks used to
    serve the receiver; ``bench/ingest.py`` measured it at no gain in accepted events/s.)
    """

    def __init__(self, envelope: Loads, hooks: Mapping[str, Loads]) -> None:
        self.envelope_loader = envelope
        self.hooks = hooks

    def data(self, hook_type: str, data: Any) -> dict[str, Any]:
        """Validate and coerce one hook's ``$vars``; secrets are dropped.

        Raises :class:`marshmallow.ValidationError` whose ``messages`` are keyed by field name
        (nested for ``params`` and lists). For a hook that is not handled the data is only
        required to be an object, and is returned scrubbed.
        """
        loader = self.hooks.get(hook_type)
        if not isinstance(data, Mapping):
            raise ValidationError("Must be an object.", "_schema")
        if loader is None:
            return drop_secret_keys(data)
        loaded: dict[str, Any] = loader.load(data)
        return loaded

    def envelope(self, obj: Any) -> dict[str, Any]:
        """Validate a parsed request body; return what the inbox stores as ``payload``.

        The result holds ``type``, ``timestamp`` (ISO 8601, UTC assumed when WHMCS sent none),
        the validated ``data`` and ``actor`` when present. Errors name the field path
        (``type``, ``timestamp``, ``data.ticketid``, ``actor.type``).
        """
        if not isinstance(obj, Mapping):
            raise EnvelopeError({"_schema": ["The body must be a JSON object."]})
        try:
            env = self.envelope_loader.load(obj)
        except ValidationError as exc:
            raise EnvelopeError(error_paths(exc.messages)) from None
        try:
            data = self.data(env["type"], env["data"])
        except ValidationError as exc:
            raise EnvelopeError(error_paths(exc.messages, "data")) from None
        ts = env["timestamp"]
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        payload: dict[str, Any] = {"type": env["type"], "timestamp": ts.isoformat(),
                                   "data": data}
        if env.get("actor") is not None:
            payload["actor"] = env["actor"]
        return payload


#: marshmallow's ``Schema.load`` for the envelope and every hook
PLAIN = EventLoader(ENVELOPE, SCHEMAS)


def load_event_data(hook_type: str, data: Any) -> dict[str, Any]:
    """One hook's ``$vars``, validated and scrubbed (:meth:`EventLoader.data`)."""
    return PLAIN.data(hook_type, data)


def load_envelope(obj: Any) -> dict[str, Any]:
    """A parsed request body as the inbox stores it (:meth:`EventLoader.envelope`)."""
    return PLAIN.envelope(obj)


def error_paths(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error dict to ``{"data.params.serviceid": [...]}``.

    ``_schema`` (a whole-object error) maps to the prefix itself.
    """
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = prefix if key == "_schema" and prefix else (
                f"{prefix}.{key}" if prefix else str(key))
            for sub, msgs in error_paths(value, path).items():
                out.setdefault(sub, []).extend(msgs)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for sub, msgs in error_paths(item, prefix).items():
                out.setdefault(sub, []).extend(msgs)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out
