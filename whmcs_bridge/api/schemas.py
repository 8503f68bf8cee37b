"""marshmallow schemas that turn WHMCS's loosely typed JSON into the dataclasses of
:mod:`.models`.

WHMCS sends ids and counters sometimes as strings and sometimes as ints, money as strings,
dates as naive ``Y-m-d H:i:s`` in the server's zone (``0000-00-00`` for "none"), and lists
wrapped (``{"tickets": {"ticket": [...]}}``) or, when empty, as any of ``""``, ``[]``, ``{}``,
a wrapper without its inner key, no key at all, or ``[[]]`` for attachments; a lone object
sometimes stands where a one-item list belongs, and PHP arrays with gaps arrive as objects
with numeric keys. The fields below accept all of that and raise only
:class:`marshmallow.ValidationError`, which :func:`load` turns into the client's
:class:`~.errors.InvalidResponseError`. Fields a model does not name are kept in ``extra``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    missing,
    post_load,
    pre_load,
)

from whmcs_bridge.api import models
from whmcs_bridge.api.errors import InvalidResponseError
from whmcs_bridge.digits import is_digits
from whmcs_bridge.settings import Secret

#: The WHMCS server's zone for naive date strings, set around each load by :func:`load`.
WHMCS_TZ: ContextVar[tzinfo] = ContextVar("WHMCS_TZ", default=UTC)

_ZERO_DATE = re.compile(r"^0000-00-00")
_INT = re.compile(r"^[+-]?[0-9]+$")
_DMY = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")
#: Keys that must never sit in ``extra`` as plain text.
_SECRET_KEYS = {"password", "password2", "passwordhash", "remote_token", "secret", "accesskey"}


@contextlib.contextmanager
def whmcs_timezone(tz: tzinfo) -> Iterator[None]:
    token = WHMCS_TZ.set(tz)
    try:
        yield
    finally:
        WHMCS_TZ.reset(token)


def _blank(value: Any) -> bool:
    """WHMCS's many spellings of "nothing"."""
    return value is None or value == "" or value == [] or value == {}


class Lenient(fields.Field):
    """Base: ``None``/blank become the field's ``empty`` value instead of an error."""

    empty: Any = None

    def __init__(self, *, empty: Any = missing, **kwargs: Any) -> None:
        if empty is not missing:
            self.empty = empty
        if not kwargs.get("required"):
            kwargs.setdefault("load_default", self.empty)
            # WHMCS sends null for NULL columns; marshmallow would refuse it whenever the
            # empty value is not None ("" / False / []). A required field still refuses it.
            kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def deserialize(self, value: Any, attr: str | None = None,
                    data: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        self._validate_missing(value)
        if value is missing:
            default = self.load_default
            return default() if callable(default) else default
        if _blank(value):
            return self.empty() if callable(self.empty) else self.empty
        return self._deserialize(value, attr, data, **kwargs)


class WInt(Lenient):
    """``1``, ``"1"``, ``" 1 "``, ``1.0``, ``True`` → 1."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT.match(value.strip()):
            return int(value.strip())
        raise ValidationError(f"not an integer: {_show(value)}")


class WDecimal(Lenient):
    """Money: ``"15.95"`` / ``15.95`` / ``"1,234.50"`` → ``Decimal``; NaN/inf refused."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool):
            raise ValidationError(f"not an amount: {_show(value)}")
        if isinstance(value, (int, float)):
            value = repr(value) if isinstance(value, float) else str(value)
        if not isinstance(value, str):
            raise ValidationError(f"not an amount: {_show(value)}")
        try:
            amount = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValidationError(f"not an amount: {_show(value)}") from None
        if not amount.is_finite():
            raise ValidationError(f"not a finite amount: {_show(value)}")
        return amount


class WStr(Lenient):
    """Text; numbers become their decimal string, blanks (incl. ``[]``) become ``""``."""

    empty = ""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, str):
            # MySQL keeps a NUL from piped mail; PostgreSQL text cannot hold one
            return value.replace("\x00", "\ufffd")
        if isinstance(value, (int, float, Decimal)):
            return str(value)
        raise ValidationError(f"not text: {_show(value)}")


class WBool(Lenient):
    """``true``/``1``/``"1"``/``"true"``/``"on"``/``"yes"`` and their opposites."""

    empty = False
    _TRUE: ClassVar[set[str]] = {"1", "true", "on", "yes"}
    _FALSE: ClassVar[set[str]] = {"0", "false", "off", "no"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in self._TRUE:
                return True
            if lowered in self._FALSE:
                return False
        raise ValidationError(f"not a boolean: {_show(value)}")


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        raise ValidationError(f"not a date: {_show(value)}")
    text = value.strip()
    if not text or _ZERO_DATE.match(text):
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _DMY:  # GetPayMethods' last_updated: dd/mm/YYYY HH:MM
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValidationError(f"not a date: {_show(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WHMCS_TZ.get())
    return parsed


class WDateTime(Lenient):
    """Naive ``Y-m-d H:i:s`` (or ``Y-m-d``) → aware datetime in the WHMCS zone; zero → None."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime | None:
        return _parse_datetime(value)


class WDate(Lenient):
    """``Y-m-d`` (a datetime string is cut to its date); zero dates → None."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date | None:
        parsed = _parse_datetime(value)
        return parsed.date() if parsed is not None else None


class WSecret(Lenient):
    """A value that must never be shown: wrapped in :class:`~whmcs_bridge.settings.Secret`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Secret:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return Secret(str(value))
        raise ValidationError("not text")


class WCsv(Lenient):
    """``",1,2,"`` / ``"a,b"`` → list of non-empty parts (ints when ``ints``)."""

    empty = list

    def __init__(self, *, ints: bool = False, **kwargs: Any) -> None:
        self.ints = ints
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list):
            parts = [str(v).strip() for v in value]
        elif isinstance(value, (str, int)) and not isinstance(value, bool):
            parts = [p.strip() for p in str(value).split(",")]
        else:
            raise ValidationError(f"not a list: {_show(value)}")
        parts = [p for p in parts if p]
        if not self.ints:
            return parts
        if not all(_INT.match(p) for p in parts):
            raise ValidationError(f"not a list of integers: {_show(value)}")
        return [int(p) for p in parts]


def normalize_list(value: Any, inner_key: str | None = None) -> list[Any]:
    """Every WHMCS list shape → a plain list of items (pure; raises ValidationError)."""
    if value is missing or _blank(value):
        return []
    if isinstance(value, Mapping):
        if inner_key is not None and inner_key in value:
            return normalize_list(value[inner_key], None)
        if value and all(isinstance(k, str) and is_digits(k) for k in value):
            # a PHP array with gaps, JSON-encoded as an object {"0": {...}, "3": {...}}
            return normalize_list([value[k] for k in sorted(value, key=int)], None)
        return [value]  # a lone object where a list belongs
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if _blank(item):
                continue  # attachments: [[]]
            if isinstance(item, list):
                out.extend(normalize_list(item, None))
            else:
                out.append(item)
        return out
    raise ValidationError(f"not a list: {_show(value)}")


class WList(Lenient):
    """A (possibly wrapped) list of objects, each loaded with ``schema``."""

    empty = list

    def __init__(self, schema: type[Schema], inner_key: str | None = None,
                 **kwargs: Any) -> None:
        self.schema_class = schema
        self.inner_key = inner_key
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        schema = _instance(self.schema_class)
        out = []
        errors: dict[int, Any] = {}
        for index, item in enumerate(normalize_list(value, self.inner_key)):
            if not isinstance(item, Mapping):
                errors[index] = [f"not an object: {_show(item)}"]
                continue
            try:
                out.append(schema.load(item))
            except ValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


_SCHEMAS: dict[type[Schema], Schema] = {}


def _instance(cls: type[Schema]) -> Schema:
    """Schemas are stateless here; build each once (building is the slow part)."""
    schema = _SCHEMAS.get(cls)
    if schema is None:
        schema = _SCHEMAS[cls] = cls()
    return schema


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ModelSchema(Schema):
    """Loads into ``model``; keys the model does not name go to ``extra`` (secrets wrapped)."""

    model: ClassVar[type]
    _names: ClassVar[frozenset[str]]

    class Meta:
        unknown = INCLUDE

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            cls._names = frozenset(f.name for f in dataclasses.fields(cls.model)) - {"extra"}

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in self._names:
                known[key] = value
            elif key in _SECRET_KEYS and isinstance(value, (str, int)):
                extra[key] = Secret(str(value))
            else:
                extra[key] = value
        return self.model(**known, extra=extra)


class AttachmentSchema(ModelSchema):
    model = models.TicketAttachment
    filename = WStr()
    index = WInt()


class ReplySchema(ModelSchema):
    model = models.Reply
    replyid = WInt(required=True)
    date = WDateTime()
    message = WStr()
    userid = WInt()
    contactid = WInt()
    name = WStr()
    email = WStr()
    requestor_name = WStr()
    requestor_email = WStr()
    requestor_type = WStr()
    admin = WStr()
    rating = WInt()
    attachment = WStr()
    attachments = WList(AttachmentSchema)
    attachments_removed = WBool()


class NoteSchema(ModelSchema):
    model = models.Note
    noteid = WInt(required=True)
    date = WDateTime()
    message = WStr()
    admin = WStr()
    attachment = WStr()
    attachments = WList(AttachmentSchema)
    attachments_removed = WBool()


class TicketSchema(ModelSchema):
    model = models.Ticket
    id = WInt(required=True)
    tid = WStr()
    c = WStr()
    deptid = WInt()
    deptname = WStr(empty=None, load_default=None)
    userid = WInt(empty=0)
    contactid = WInt()
    name = WStr()
    email = WStr()
    owner_name = WStr()
    requestor_name = WStr()
    requestor_email = WStr()
    requestor_type = WStr()
    cc = WStr()
    date = WDateTime()
    subject = WStr()
    status = WStr()
    priority = WStr()
    admin = WStr()
    lastreply = WDateTime()
    flag = WInt(empty=0)
    service = WStr()
    attachment = WStr()
    attachments = WList(AttachmentSchema)
    attachments_removed = WBool()
    replies = WList(ReplySchema, "reply")
    notes = WList(NoteSchema, "note")

    @pre_load
    def _unify_id(self, data: Any, **kwargs: Any) -> Any:
        """GetTicket says ``ticketid``, GetTickets says ``id``: one ``id`` for callers."""
        if isinstance(data, Mapping) and "ticketid" in data:
            data = dict(data)
            ticketid = data.pop("ticketid")
            data.setdefault("id", ticketid)
        return data


class ListedTicketSchema(Schema):
    """A GetTickets row loaded only as far as :class:`~.models.ListedTicket`: the other keys
    are left out, not kept in ``extra`` (a third of the fields: the sync's listing loads
    a 100-row page in about half the time of :class:`TicketSchema`)."""

    class Meta:
        unknown = EXCLUDE

    id = WInt(required=True)
    tid = WStr()
    subject = WStr()
    status = WStr()
    priority = WStr()
    deptid = WInt()
    userid = WInt(empty=0)
    date = WDateTime()
    lastreply = WDateTime()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> models.ListedTicket:
        return models.ListedTicket(**data)


class OpenedTicketSchema(ModelSchema):
    model = models.OpenedTicket
    id = WInt(required=True)
    tid = WStr(required=True)
    c = WStr()


class DepartmentSchema(ModelSchema):
    model = models.Department
    id = WInt(required=True)
    name = WStr()
    awaitingreply = WInt(empty=0)
    opentickets = WInt(empty=0)


class TicketStatusSchema(ModelSchema):
    model = models.TicketStatus
    title = WStr(required=True)
    count = WInt(empty=0)
    color = WStr()


class ClientSchema(ModelSchema):
    model = models.Client
    id = WInt(required=True)
    uuid = WStr()
    firstname = WStr()
    lastname = WStr()
    fullname = WStr()
    companyname = WStr()
    email = WStr()
    phonenumber = WStr()
    country = WStr()
    language = WStr()
    status = WStr()
    currency_code = WStr()
    groupid = WInt()
    owner_user_id = WInt()
    email_verified = WBool()

    @pre_load
    def _unwrap(self, data: Any, **kwargs: Any) -> Any:
        """GetClientsDetails has the client under ``client`` *and* (deprecated) at the top;
        its id is spelled ``client_id``, ``userid`` and ``id``."""
        if not isinstance(data, Mapping):
            return data
        inner = data.get("client")
        out = dict(inner) if isinstance(inner, Mapping) else {
            k: v for k, v in data.items() if k not in ("result", "client", "stats")}
        if "id" not in out:
            for key in ("client_id", "userid"):
                if key in out:
                    out["id"] = out[key]
                    break
        if isinstance(data.get("stats"), Mapping):
            out["stats"] = data["stats"]
        return out


class ProductSchema(ModelSchema):
    model = models.Product
    id = WInt(required=True)
    clientid = WInt()
    pid = WInt()
    orderid = WInt()
    name = WStr()
    groupname = WStr()
    domain = WStr()
    status = WStr()
    billingcycle = WStr()
    regdate = WDate()
    nextduedate = WDate()
    firstpaymentamount = WDecimal()
    recurringamount = WDecimal()
    paymentmethod = WStr()
    dedicatedip = WStr()
    serverid = WInt()
    username = WStr()
    password = WSecret()


class ContactSchema(ModelSchema):
    model = models.Contact
    id = WInt(required=True)
    userid = WInt()
    firstname = WStr()
    lastname = WStr()
    email = WStr()


class UserSchema(ModelSchema):
    model = models.User
    id = WInt(required=True)
    firstname = WStr()
    lastname = WStr()
    email = WStr()
    client_ids = WCsv(ints=True)

    @pre_load
    def _clients(self, data: Any, **kwargs: Any) -> Any:
        """``clients`` is a list of ``{id, isOwner}``: keep the ids (in any list shape)."""
        if not isinstance(data, Mapping) or "clients" not in data:
            return data
        out = {k: v for k, v in data.items() if k != "clients"}
        ids = [c.get("id") for c in normalize_list(data["clients"], "client")
               if isinstance(c, Mapping)]
        out["client_ids"] = ",".join(str(i) for i in ids if i not in (None, ""))
        return out


class DomainSchema(ModelSchema):
    model = models.Domain
    id = WInt(required=True)
    userid = WInt()
    domainname = WStr()
    status = WStr()


class PayMethodSchema(ModelSchema):
    model = models.PayMethod
    id = WInt(required=True)
    type = WStr()
    description = WStr()
    gateway_name = WStr()
    contact_type = WStr()
    contact_id = WInt()
    card_last_four = WStr()
    card_type = WStr()
    expiry_date = WStr()
    bank_name = WStr()
    last_updated = WDateTime()
    remote_token = WSecret()


class InvoiceSchema(ModelSchema):
    model = models.Invoice
    id = WInt(required=True)
    userid = WInt()
    invoicenum = WStr()
    date = WDate()
    duedate = WDate()
    datepaid = WDateTime()
    subtotal = WDecimal()
    credit = WDecimal()
    tax = WDecimal()
    total = WDecimal()
    status = WStr()
    paymentmethod = WStr()
    currencycode = WStr()


class TransactionSchema(ModelSchema):
    model = models.Transaction
    id = WInt(required=True)
    userid = WInt()
    invoiceid = WInt()
    currency = WInt()
    gateway = WStr()
    date = WDateTime()
    description = WStr()
    amountin = WDecimal()
    fees = WDecimal()
    amountout = WDecimal()
    transid = WStr()
    refundid = WInt()


class LoginResultSchema(ModelSchema):
    model = models.LoginResult
    userid = WInt(required=True)
    two_factor_enabled = WBool(data_key="twoFactorEnabled")
    passwordhash = WSecret()


class AdminDetailsSchema(ModelSchema):
    model = models.AdminDetails
    adminid = WInt(required=True)
    name = WStr()
    permissions = WCsv(data_key="allowedpermissions")
    departments = WCsv(ints=True)
    whmcs_version = WStr()

    @pre_load
    def _version(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("whmcs"), Mapping):
            data = dict(data)
            data["whmcs_version"] = data["whmcs"].get("version", "")
        return data


class AdminUserSchema(ModelSchema):
    model = models.AdminUser
    id = WInt(required=True)
    username = WStr()
    firstname = WStr()
    lastname = WStr()
    email = WStr()
    role_id = WInt(data_key="roleId")
    is_disabled = WBool(data_key="isDisabled")


class PageSchema(Schema):
    """A listing envelope: counters + one wrapped list; built per list by :func:`page_schema`."""

    class Meta:
        unknown = INCLUDE

    total = WInt(data_key="totalresults")
    start = WInt(data_key="startnumber")
    returned = WInt(data_key="numreturned")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> models.Page[Any]:
        items = data["items"]
        start = data["start"] if data["start"] is not None else 0
        returned = data["returned"] if data["returned"] is not None else len(items)
        total = data["total"] if data["total"] is not None else start + len(items)
        return models.Page(items=items, total=total, start=start, returned=returned)


_PAGE_SCHEMAS: dict[tuple[str, str, type[Schema]], type[Schema]] = {}


def page_schema(list_key: str, inner_key: str | None, item: type[Schema]) -> type[Schema]:
    key = (list_key, inner_key or "", item)
    cls = _PAGE_SCHEMAS.get(key)
    if cls is None:
        cls = PageSchema.from_dict(
            {"items": WList(item, inner_key, data_key=list_key)},
            name=f"{item.__name__}Page",
        )
        _PAGE_SCHEMAS[key] = cls
    return cls


def load(schema: type[Schema], data: Any, *, action: str, tz: tzinfo) -> Any:
    """Load ``data`` with ``schema`` in zone ``tz``; any problem is an InvalidResponseError
    naming the field (never a marshmallow or Python exception)."""
    if not isinstance(data, Mapping):
        raise InvalidResponseError(action, None, "expected a JSON object")
    with whmcs_timezone(tz):
        try:
            return _instance(schema).load(data)
        except ValidationError as exc:
            raise InvalidResponseError(
                action, None, f"unexpected response shape: {_describe(exc.messages)}"
            ) from None
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError,
                RecursionError) as exc:
            raise InvalidResponseError(
                action, None, f"unexpected response shape ({type(exc).__name__})"
            ) from None


def _describe(messages: Any, path: str = "") -> str:
    """The first error as ``field.path: text`` (one line, bounded)."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            return _describe(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _describe(messages[0], path)
    return f"{path}: {messages}"[:200]
