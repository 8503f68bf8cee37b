"""``WhmcsClient``: the one object the bridge uses to talk to WHMCS's ``includes/api.php``.

One pooled ``requests`` session per client. Read actions (``Get*``) go through an adapter
whose urllib3 ``Retry`` retries connection errors, timeouts, 429 and 5xx with exponential
backoff and jitter; every other action goes through an adapter that never retries, because
WHMCS has no idempotency keys and a retried AddTicketReply is a duplicate reply.
(ValidateLogin is not a read: it updates the user's last-login time.)

Every call parses the body and checks ``result`` (WHMCS sometimes answers errors with HTTP 200
and sometimes with 403 + a JSON body); failures are :class:`~.errors.WhmcsError` subclasses.
The credential, access key and passwords never reach a log line, a repr or an error text.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import requests
import urllib3
from urllib3.util.retry import Retry

from whmcs_bridge.api import errors, schemas
from whmcs_bridge.api.encoding import Attachment, encode_params, special_params
from whmcs_bridge.api.models import (
    AdminDetails,
    AdminUser,
    Client,
    Contact,
    Department,
    Domain,
    Invoice,
    ListedTicket,
    LoginResult,
    OpenedTicket,
    Page,
    PayMethod,
    Product,
    Ticket,
    TicketStatus,
    Transaction,
    User,
)
from whmcs_bridge.api.one_write import OneWriteAdapter
from whmcs_bridge.api.pagination import iterate_pages

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

log = logging.getLogger("whmcs_bridge.api")

USER_AGENT = "whmcs-bridge-api-client/1"
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Actions that change nothing in WHMCS and may be retried safely.
_NOT_READS = {"ValidateLogin"}
_INVALID_LOGIN = "email or password invalid"


class CappedRetry(Retry):
    """urllib3 ``Retry`` that honours ``Retry-After`` but never sleeps longer than
    :attr:`retry_after_cap` seconds (a proxy asking for an hour must not hang a worker)."""

    retry_after_cap: float = 30.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.retry_after_cap)


def is_read_action(action: str) -> bool:
    """True for actions that are safe to retry (``Get*``); everything else is a write."""
    return action.startswith("Get") and action not in _NOT_READS


def api_url(url: str) -> str:
    """The ``api.php`` endpoint for a WHMCS root URL or the endpoint itself."""
    url = url.strip()
    if url.rstrip("/").endswith(".php"):
        return url.rstrip("/")
    return url.rstrip("/") + "/includes/api.php"


def _reveal(value: Any) -> str | None:
    if value is None:
        return None
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else str(value)


class WhmcsClient:
    """A WHMCS API client.

    >>> client = WhmcsClient("https://billing.example.com", "ident", "secret",
    ...                      timezone="Asia/Ho_Chi_Minh")   # doctest: +SKIP
    >>> for ticket in client.iter_tickets(status="Open"):  # doctest: +SKIP
    ...     print(ticket.tid, ticket.lastreply)

    ``url`` may be the WHMCS root or ``…/includes/api.php``. ``timeout`` is seconds (connect and
    read each). ``retries`` is how many times a *read* is retried; ``backoff`` the base
    backoff factor in seconds (doubling, plus up to ``backoff_jitter`` seconds of jitter).

    One client may be shared by threads (the sync fetches in parallel): connections are pooled
    (``pool_size`` per session), cookies are never stored, and the schemas are stateless.
    """

    def __init__(
        self,
        url: str,
        identifier: Any,
        secret: Any,
        access_key: Any = None,
        *,
        timeout: float = 10.0,
        verify_tls: bool = True,
        timezone: str | tzinfo = "UTC",
        retries: int = 3,
        backoff: float = 0.5,
        backoff_jitter: float = 0.5,
        pool_size: int = 10,
        user_agent: str = USER_AGENT,
    ) -> None:
        if not url:
            raise ValueError("WHMCS url is required (settings whmcs.url)")
        if not identifier or not secret:
            raise ValueError("WHMCS API identifier and secret are required")
        self.url = api_url(url)
        self.timeout = float(timeout)
        self.verify_tls = bool(verify_tls)
        self.tz: tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self._identifier = _reveal(identifier)
        self._secret = _reveal(secret)
        self._access_key = _reveal(access_key) or None
        #: The first auth failure seen (see :attr:`tripped`); set once, never cleared.
        self._tripped: errors.AuthenticationError | None = None
        #: Whether WHMCS has accepted the credential once (then calls may run in parallel).
        self._proven = False
        self._probe = threading.Lock()
        #: every request's headers, whole: requests are prepared without the session's merge
        self._headers = {"User-Agent": user_agent, "Accept": "application/json",
                         "Accept-Encoding": "gzip, deflate",
                         "Content-Type": "application/x-www-form-urlencoded"}
        self._template: requests.PreparedRequest | None = None
        self._reads = self._session(
            CappedRetry(total=retries, connect=retries, read=retries, status=retries, other=0,
                  allowed_methods=frozenset({"POST"}), status_forcelist=RETRY_STATUSES,
                  backoff_factor=backoff, backoff_jitter=backoff_jitter,
                  respect_retry_after_header=True, raise_on_status=False, redirect=0),
            pool_size)
        self._writes = self._session(
            # never retried: every count is 0 (and urllib3's default allowed_methods leaves
            # POST out; an empty set would mean "any verb" and is deprecated)
            Retry(total=0, connect=0, read=0, status=0, other=0, redirect=0,
                  raise_on_status=False),
            pool_size)

    @staticmethod
    def _session(retry: Retry, pool_size: int) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no surprise proxies/netrc credentials from the environment
        # The API is stateless; ValidateLogin answers with a PHP session cookie for the
        # *customer*. Never keep or replay it (and keep the jar immutable across threads).
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # one write a request (head and form together): see .one_write
        adapter = OneWriteAdapter(max_retries=retry, pool_connections=1,
                                  pool_maxsize=pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WhmcsClient:
        """Build from validated settings (``[whmcs]`` section; zone from ``settings.whmcs_tz``)."""
        whmcs = settings.whmcs
        if not whmcs.url:
            raise ValueError("whmcs.url is not set (WHMCS_BRIDGE_WHMCS_URL)")
        if not whmcs.identifier or not whmcs.secret:
            raise ValueError("whmcs.identifier and whmcs.secret are not set "
                             "(WHMCS_BRIDGE_WHMCS_IDENTIFIER / WHMCS_BRIDGE_WHMCS_SECRET)")
        kwargs: dict[str, Any] = {
            "access_key": whmcs.access_key,
            "timeout": whmcs.timeout,
            "verify_tls": whmcs.verify_tls,
            "timezone": settings.whmcs_tz,
        }
        kwargs.update(overrides)
        return cls(whmcs.url, whmcs.identifier, whmcs.secret, **kwargs)

    def __repr__(self) -> str:
        return f"WhmcsClient(url={self.url!r}, identifier='********')"

    @property
    def tripped(self) -> errors.AuthenticationError | None:
        """The auth failure that stopped this client, or None while it may call WHMCS.

        WHMCS bans an IP after three failed logins in 30 minutes, so after one the client
        refuses every further call (threads sharing it included) until a new client is
        built with a fixed credential."""
        return self._tripped

    def close(self) -> None:
        self._reads.close()
        self._writes.close()

    def __enter__(self) -> WhmcsClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ the generic call

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        """POST one API action and return the decoded success body (a dict).

        ``params`` are encoded the PHP way (see :mod:`.encoding`): lists and dicts in bracket
        notation, booleans as ``1``/``0``, a dict given as ``customfields``/``customvars`` as
        base64 of PHP ``serialize()``, files given as ``attachments`` as base64 JSON; ``None``
        values are left out. Raises a :class:`~.errors.WhmcsError` subclass on any failure;
        once an auth failure was seen, :class:`~.errors.ClientTrippedError` without calling.

        Until WHMCS has once accepted the credential, calls go one at a time: threads sharing
        a client with a bad credential (the sync's pool) would otherwise send several failed
        logins at once before the first answer trips it, and three get the IP banned.
        """
        if self._proven:
            return self._send(action, params)
        with self._probe:
            return self._send(action, params)

    def _refuse_if_tripped(self, action: str) -> None:
        first = self._tripped
        if first is not None:
            refused = errors.ClientTrippedError(
                action, None, f"not calling WHMCS again after {first.action} was refused "
                f"({first.message}); WHMCS bans an IP after 3 failed logins in 30 minutes: "
                "fix the whmcs settings, then restart")
            refused.first = first
            raise refused

    def _send(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self._refuse_if_tripped(action)
        try:
            form = encode_params(special_params(params), self.tz)
        except (TypeError, ValueError) as exc:
            raise errors.WhmcsValidationError(action, None, str(exc)) from None
        form += [("action", action), ("identifier", self._identifier or ""),
                 ("secret", self._secret or ""), ("responsetype", "json")]
        if self._access_key:
            form.append(("accesskey", self._access_key))
        read = is_read_action(action)
        session = self._reads if read else self._writes
        started = time.perf_counter()

        def timed_out() -> errors.WhmcsTimeoutError:
            self._log(action, None, started, "timeout")
            return errors.WhmcsTimeoutError(
                action, None, f"no answer within {self.timeout:g}s"
                + (" (after retries)" if read else ""))

        try:
            # A copy of the request prepared once (requests' "prepared requests"), given to
            # the session's adapter: the session holds nothing to add (no headers, auth,
            # hooks, redirects followed; a jar that keeps no cookie; trust_env off). With the
            # template, Session.send's layer gone took a call from 1.67 M to 1.40 M
            # instructions (bench/client.py --instructions).
            # Inside the try: preparing refuses a malformed url with a RequestException,
            # and reading the body may fail as the round trip does.
            prepared = self._prepared().copy()
            prepared.prepare_body(urllib.parse.urlencode(form), None)
            response = session.get_adapter(self.url).send(
                prepared, timeout=self.timeout, verify=self.verify_tls)
            response.content  # noqa: B018 - read whole here, as Session.send would
        except requests.Timeout:
            raise timed_out() from None
        except requests.exceptions.SSLError as exc:
            self._log(action, None, started, "tls")
            raise errors.WhmcsConnectionError(
                action, None, "TLS verification failed: " + self._short(exc)) from None
        except requests.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
                raise timed_out() from None
            self._log(action, None, started, "connection")
            raise errors.WhmcsConnectionError(action, None, self._short(exc)) from None
        except requests.RequestException as exc:
            self._log(action, None, started, "connection")
            raise errors.WhmcsConnectionError(action, None, self._short(exc)) from None
        except (OSError, ValueError) as exc:  # socket-level oddities requests did not wrap
            self._log(action, None, started, "connection")
            raise errors.WhmcsConnectionError(action, None, type(exc).__name__) from None
        try:
            payload = self._parse(action, response)
        except errors.WhmcsError as exc:
            if exc.auth_failure:
                if self._tripped is None:
                    self._tripped = exc  # type: ignore[assignment]
            elif not isinstance(exc, errors.InvalidResponseError):
                self._proven = True  # an API answer past the credential check
            raise
        finally:
            self._log(action, response.status_code, started, "done")
            response.close()
        self._proven = True
        return payload

    def _prepared(self) -> requests.PreparedRequest:
        """The POST every call copies (url parsed, headers set once); built on first use so
        that a malformed url fails the call, not the constructor. Two threads building it
        at once build the same thing."""
        template = self._template
        if template is None:
            template = requests.PreparedRequest()
            template.prepare(method="POST", url=self.url, headers=self._headers)
            self._template = template
        return template

    def _short(self, exc: Exception) -> str:
        text = str(exc)
        reason = getattr(exc, "args", [None])[0]
        inner = getattr(reason, "reason", None)
        if inner is not None:
            text = f"{type(inner).__name__}: {inner}"
        text = errors.mask_secrets(text, self._secrets())
        return text if len(text) <= 300 else text[:297] + "..."

    def _secrets(self) -> Iterable[str | None]:
        return (self._identifier, self._secret, self._access_key)

    def _log(self, action: str, status: int | None, started: float, outcome: str) -> None:
        log.debug("whmcs api call", extra={
            "action": action, "http_status": status, "outcome": outcome,
            "ms": round((time.perf_counter() - started) * 1000, 1)})

    def _parse(self, action: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            raise errors.InvalidResponseError(
                action, status, f"WHMCS redirected the API call to {location[:200]!r}: set "
                "whmcs.url to the final address (https? www?); a redirect would turn the "
                "POST into a GET")
        body = response.content or b""
        payload = _decode_json(body)
        if not isinstance(payload, dict):
            kind = _describe_body(body, response.headers.get("Content-Type", ""))
            refused: type[errors.WhmcsError] = (
                errors.ServerError if status == 429 or status >= 500
                else errors.InvalidResponseError)
            raise refused(action, status, errors.mask_secrets(kind, self._secrets()))
        result = str(payload.get("result", "")).lower()
        if result == "success" and 200 <= status < 300:
            if payload.get("warning"):
                log.warning("whmcs api warning", extra={
                    "action": action,
                    "warning": errors.mask_secrets(str(payload["warning"]), self._secrets())})
            return payload
        if result == "error" or "message" in payload:
            message = errors.mask_secrets(str(payload.get("message") or "unknown error"),
                                           self._secrets())
            cls = errors.classify(message)
            if cls is errors.WhmcsValidationError and (status == 429 or status >= 500):
                cls = errors.ServerError
            raise cls(action, status, message)
        if status == 429 or status >= 500:
            raise errors.ServerError(action, status, "server error without an API error body")
        raise errors.InvalidResponseError(
            action, status, "JSON without a 'result' of success or error")

    def _load(self, schema: Any, data: Any, action: str) -> Any:
        return schemas.load(schema, data, action=action, tz=self.tz)

    def _page(self, action: str, list_key: str, inner_key: str | None, item: Any,
              payload: Mapping[str, Any]) -> Page[Any]:
        return self._load(schemas.page_schema(list_key, inner_key, item), payload, action)

    # ------------------------------------------------------------------ tickets

    def get_tickets(self, *, limitstart: int = 0, limitnum: int = 25, deptid: int | None = None,
                    clientid: int | None = None, email: str | None = None,
                    status: str | None = None, subject: str | None = None,
                    ignore_dept_assignments: bool = True) -> Page[Ticket]:
        """One page of GetTickets. ``ignore_dept_assignments`` defaults to True: without it
        WHMCS only lists departments the API admin is assigned to."""
        payload = self.call("GetTickets", limitstart=limitstart, limitnum=limitnum,
                            deptid=deptid, clientid=clientid, email=email, status=status,
                            subject=subject,
                            ignore_dept_assignments=ignore_dept_assignments or None)
        return self._page("GetTickets", "tickets", "ticket", schemas.TicketSchema, payload)

    def get_listed_tickets(self, *, limitstart: int = 0,
                           limitnum: int = 25) -> Page[ListedTicket]:
        """One page of GetTickets over every department (``ignore_dept_assignments``), each
        row loaded only as far as :class:`ListedTicket`: what the sync stores from the
        listing and compares, at about half the load time of :meth:`get_tickets`' rows."""
        payload = self.call("GetTickets", limitstart=limitstart, limitnum=limitnum,
                            ignore_dept_assignments=True)
        return self._page("GetTickets", "tickets", "ticket", schemas.ListedTicketSchema,
                          payload)

    def iter_tickets(self, *, page_size: int = 100, limit: int | None = None,
                     **filters: Any) -> Iterator[Ticket]:
        """Every ticket matching ``filters`` (as :meth:`get_tickets`), ⌈N/page_size⌉ requests."""
        def fetch(start: int, size: int) -> Page[Ticket]:
            return self.get_tickets(limitstart=start, limitnum=size, **filters)
        return iterate_pages(fetch, page_size, limit=limit)

    def get_ticket(self, ticketid: int | None = None, *, tid: str | None = None,
                   replies_sort: str = "ASC") -> Ticket:
        """A ticket with replies (``replies[0]`` is the opening message) and notes."""
        return self.load_ticket(self.get_ticket_answer(ticketid, tid=tid,
                                                       replies_sort=replies_sort))

    def get_ticket_answer(self, ticketid: int | None = None, *, tid: str | None = None,
                          replies_sort: str = "ASC") -> dict[str, Any]:
        """GetTicket's answer as WHMCS sent it: a success (any error raised as by
        :meth:`call`), not yet loaded. :meth:`load_ticket` makes it a :class:`Ticket`; split
        for a caller that reads in many threads and loads in one (the sync's reads then hold
        a request slot only for the round trip)."""
        if ticketid is None and not tid:
            raise ValueError("get_ticket needs ticketid or tid")
        return self.call("GetTicket", ticketid=ticketid, ticketnum=tid if ticketid is None
                         else None, repliessort=replies_sort)

    def load_ticket(self, answer: Mapping[str, Any]) -> Ticket:
        """A GetTicket answer (:meth:`get_ticket_answer`) loaded; a shape WHMCS's docs do not
        allow is an InvalidResponseError naming the field."""
        return self._load(schemas.TicketSchema, answer, "GetTicket")

    def open_ticket(self, deptid: int, subject: str, message: str, *,
                    clientid: int | None = None, contactid: int | None = None,
                    userid: int | None = None, name: str | None = None,
                    email: str | None = None, priority: str | None = None,
                    serviceid: int | None = None, domainid: int | None = None,
                    admin: bool | None = None, noemail: bool | None = None,
                    markdown: bool | None = None, created: datetime | None = None,
                    customfields: Mapping[Any, Any] | None = None,
                    attachments: Iterable[Attachment | tuple[str, bytes]] | None = None,
                    prevent_client_closure: bool | None = None) -> OpenedTicket:
        """OpenTicket; returns the new ticket's ``id``, ``tid`` and access code ``c``."""
        payload = self.call(
            "OpenTicket", deptid=deptid, subject=subject, message=message, clientid=clientid,
            contactid=contactid, userid=userid, name=name, email=email, priority=priority,
            serviceid=serviceid, domainid=domainid, admin=admin, noemail=noemail,
            markdown=markdown, created=created,
            customfields=customfields,
            attachments=list(attachments) if attachments else None,
            preventClientClosure=prevent_client_closure)
        return self._load(schemas.OpenedTicketSchema, payload, "OpenTicket")

    def add_ticket_reply(self, ticketid: int, message: str, *, clientid: int | None = None,
                         contactid: int | None = None, adminusername: str | None = None,
                         name: str | None = None, email: str | None = None,
                         status: str | None = None, noemail: bool | None = None,
                         markdown: bool | None = None, created: datetime | None = None,
                         customfields: Mapping[Any, Any] | None = None,
                         attachments: Iterable[Attachment | tuple[str, bytes]] | None = None,
                         ) -> None:
        """AddTicketReply (never retried). Pass one identity: ``adminusername`` for a staff
        reply, ``clientid`` for a client, or ``name`` + ``email`` for a guest. ``status`` is
        the status to leave the ticket in (default: Answered / Customer-Reply)."""
        self.call("AddTicketReply", ticketid=ticketid, message=message, clientid=clientid,
                  contactid=contactid, adminusername=adminusername, name=name, email=email,
                  status=status, noemail=noemail, markdown=markdown, created=created,
                  customfields=customfields,
                  attachments=list(attachments) if attachments else None)

    def add_ticket_note(self, ticketid: int | None = None, message: str = "", *,
                        tid: str | None = None, markdown: bool | None = None,
                        created: datetime | None = None,
                        attachments: Iterable[Attachment | tuple[str, bytes]] | None = None,
                        ) -> None:
        """AddTicketNote: an internal staff note the client never sees (never retried)."""
        if ticketid is None and not tid:
            raise ValueError("add_ticket_note needs ticketid or tid")
        self.call("AddTicketNote", ticketid=ticketid,
                  ticketnum=tid if ticketid is None else None, message=message,
                  markdown=markdown, created=created,
                  attachments=list(attachments) if attachments else None)

    def update_ticket(self, ticketid: int, *, deptid: int | None = None,
                      status: str | None = None, subject: str | None = None,
                      priority: str | None = None, flag: int | None = None,
                      remove_flag: bool | None = None, userid: int | None = None,
                      name: str | None = None, email: str | None = None, cc: str | None = None,
                      created: datetime | None = None, message: str | None = None,
                      markdown: bool | None = None,
                      customfields: Mapping[Any, Any] | None = None,
                      prevent_client_closure: bool | None = None) -> int:
        """UpdateTicket; only the given fields change. Returns the ticket id."""
        payload = self.call(
            "UpdateTicket", ticketid=ticketid, deptid=deptid, status=status, subject=subject,
            priority=priority, flag=flag, removeFlag=remove_flag, userid=userid, name=name,
            email=email, cc=cc, created=created, message=message, markdown=markdown,
            customfields=customfields,
            preventClientClosure=prevent_client_closure)
        return self._int(payload, "ticketid", "UpdateTicket", default=ticketid)

    def update_ticket_reply(self, replyid: int, message: str, *, markdown: bool | None = None,
                            created: datetime | None = None) -> int:
        """UpdateTicketReply (7.7+): replace a reply's text. Returns the reply id."""
        payload = self.call("UpdateTicketReply", replyid=replyid, message=message,
                            markdown=markdown, created=created)
        return self._int(payload, "replyid", "UpdateTicketReply", default=replyid)

    def get_support_departments(self, *, ignore_dept_assignments: bool = True
                                ) -> list[Department]:
        payload = self.call("GetSupportDepartments",
                            ignore_dept_assignments=ignore_dept_assignments or None)
        return self._page("GetSupportDepartments", "departments", "department",
                          schemas.DepartmentSchema, payload).items

    def get_support_statuses(self, *, deptid: int | None = None) -> list[TicketStatus]:
        payload = self.call("GetSupportStatuses", deptid=deptid)
        return self._page("GetSupportStatuses", "statuses", "status",
                          schemas.TicketStatusSchema, payload).items

    # ------------------------------------------------------------------ clients

    def get_client(self, clientid: int | None = None, *, email: str | None = None,
                   stats: bool = False) -> Client:
        """GetClientsDetails by id or e-mail (``stats`` lands in ``client.extra['stats']``)."""
        if clientid is None and not email:
            raise ValueError("get_client needs clientid or email")
        payload = self.call("GetClientsDetails", clientid=clientid,
                            email=email if clientid is None else None, stats=stats or None)
        return self._load(schemas.ClientSchema, payload, "GetClientsDetails")

    def get_clients_products(self, *, clientid: int | None = None,
                             serviceid: int | None = None, pid: int | None = None,
                             domain: str | None = None, username2: str | None = None,
                             limitstart: int = 0, limitnum: int = 25) -> Page[Product]:
        """One page of a client's services. Each ``Product.password`` is a hidden Secret."""
        payload = self.call("GetClientsProducts", clientid=clientid, serviceid=serviceid,
                            pid=pid, domain=domain, username2=username2,
                            limitstart=limitstart, limitnum=limitnum)
        return self._page("GetClientsProducts", "products", "product", schemas.ProductSchema,
                          payload)

    def iter_clients_products(self, *, page_size: int = 100, limit: int | None = None,
                              **filters: Any) -> Iterator[Product]:
        def fetch(start: int, size: int) -> Page[Product]:
            return self.get_clients_products(limitstart=start, limitnum=size, **filters)
        return iterate_pages(fetch, page_size, limit=limit)

    def get_contacts(self, *, userid: int | None = None, email: str | None = None,
                     limitstart: int = 0, limitnum: int = 25) -> Page[Contact]:
        """One page of GetContacts (a client's contacts, or the contacts with ``email``)."""
        payload = self.call("GetContacts", userid=userid, email=email, limitstart=limitstart,
                            limitnum=limitnum)
        return self._page("GetContacts", "contacts", "contact", schemas.ContactSchema,
                          payload)

    def get_users(self, *, search: str | None = None, limitstart: int = 0,
                  limitnum: int = 25) -> Page[User]:
        """One page of GetUsers (WHMCS 8.1+): ``search`` matches the *start* of a user's
        e-mail or names, so callers compare the addresses they get back."""
        payload = self.call("GetUsers", search=search, limitstart=limitstart,
                            limitnum=limitnum)
        return self._page("GetUsers", "users", "user", schemas.UserSchema, payload)

    def get_clients_domains(self, *, clientid: int | None = None, domain: str | None = None,
                            limitstart: int = 0, limitnum: int = 25) -> Page[Domain]:
        """One page of GetClientsDomains (registered domains, by client or by name)."""
        payload = self.call("GetClientsDomains", clientid=clientid, domain=domain,
                            limitstart=limitstart, limitnum=limitnum)
        return self._page("GetClientsDomains", "domains", "domain", schemas.DomainSchema,
                          payload)

    def get_pay_methods(self, clientid: int, *, paymethodid: int | None = None,
                        type: str | None = None) -> list[PayMethod]:
        payload = self.call("GetPayMethods", clientid=clientid, paymethodid=paymethodid,
                            type=type)
        return self._page("GetPayMethods", "paymethods", "paymethod", schemas.PayMethodSchema,
                          payload).items

    def validate_login(self, email: str, password: str) -> LoginResult | None:
        """ValidateLogin: a :class:`LoginResult` when the e-mail/password pair is right,
        ``None`` when WHMCS says ``Email or Password Invalid``.

        Not retried and not free: WHMCS updates the user's last-login time on success.
        """
        try:
            payload = self.call("ValidateLogin", email=email, password2=password)
        except errors.WhmcsValidationError as exc:
            if exc.message.strip().lower().startswith(_INVALID_LOGIN):
                return None
            raise
        return self._load(schemas.LoginResultSchema, payload, "ValidateLogin")

    def get_invoices(self, *, userid: int | None = None, status: str | None = None,
                     limitstart: int = 0, limitnum: int = 25, orderby: str | None = None,
                     order: str | None = None) -> Page[Invoice]:
        payload = self.call("GetInvoices", userid=userid, status=status, limitstart=limitstart,
                            limitnum=limitnum, orderby=orderby, order=order)
        return self._page("GetInvoices", "invoices", "invoice", schemas.InvoiceSchema, payload)

    def iter_invoices(self, *, page_size: int = 100, limit: int | None = None,
                      **filters: Any) -> Iterator[Invoice]:
        def fetch(start: int, size: int) -> Page[Invoice]:
            return self.get_invoices(limitstart=start, limitnum=size, **filters)
        return iterate_pages(fetch, page_size, limit=limit)

    def get_transactions(self, *, clientid: int | None = None, invoiceid: int | None = None,
                         transid: str | None = None) -> list[Transaction]:
        payload = self.call("GetTransactions", clientid=clientid, invoiceid=invoiceid,
                            transid=transid)
        return self._page("GetTransactions", "transactions", "transaction",
                          schemas.TransactionSchema, payload).items

    # ------------------------------------------------------------------ messaging

    def send_email(self, messagename: str | None = None, related_id: int | None = None, *,
                   customtype: str | None = None, customsubject: str | None = None,
                   custommessage: str | None = None,
                   customvars: Mapping[str, Any] | None = None) -> None:
        """SendEmail: a client template by name, or a custom message (``customtype`` general|
        product|domain|invoice|support|affiliate). ``related_id`` is WHMCS's ``id``: client
        id for general, ticket id for support, …"""
        self.call("SendEmail", messagename=messagename, id=related_id, customtype=customtype,
                  customsubject=customsubject, custommessage=custommessage,
                  customvars=customvars)

    def send_admin_email(self, messagename: str | None = None, *,
                         customsubject: str | None = None, custommessage: str | None = None,
                         type: str | None = None, deptid: int | None = None,
                         mergefields: Mapping[str, Any] | None = None) -> None:
        """SendAdminEmail to staff (``type`` system|account|support; ``deptid`` for support)."""
        self.call("SendAdminEmail", messagename=messagename, customsubject=customsubject,
                  custommessage=custommessage, type=type, deptid=deptid,
                  mergefields=dict(mergefields) if mergefields else None)

    def trigger_notification_event(self, notification_identifier: str, title: str,
                                   message: str, *, url: str | None = None,
                                   status: str | None = None, status_style: str | None = None,
                                   attributes: Iterable[Mapping[str, Any]] | None = None
                                   ) -> None:
        """TriggerNotificationEvent: feeds WHMCS's own notification rules (Slack, e-mail …)."""
        self.call("TriggerNotificationEvent", notification_identifier=notification_identifier,
                  title=title, message=message, url=url, status=status,
                  statusStyle=status_style,
                  attributes=[dict(a) for a in attributes] if attributes else None)

    def get_admin_details(self) -> AdminDetails:
        """GetAdminDetails: a cheap probe (credentials, IP allow-list, version, departments)."""
        payload = self.call("GetAdminDetails")
        return self._load(schemas.AdminDetailsSchema, payload, "GetAdminDetails")

    def get_admin_users(self, *, include_disabled: bool = False) -> list[AdminUser]:
        """GetAdminUsers (7.7+): the administrator accounts (``admin_users`` is a bare array,
        not a wrapped list; disabled admins only with ``include_disabled``)."""
        payload = self.call("GetAdminUsers", include_disabled=include_disabled or None)
        return self._page("GetAdminUsers", "admin_users", None, schemas.AdminUserSchema,
                          payload).items

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _int(payload: Mapping[str, Any], key: str, action: str, default: int) -> int:
        value = payload.get(key)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise errors.InvalidResponseError(action, None, f"{key} is not an id") from None


def _decode_json(body: bytes) -> Any:
    """JSON from a WHMCS body, tolerating a BOM and PHP notices printed before the JSON."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    start, end = text.find("{"), text.rfind("}")
    if 0 < start < end and not text.lstrip().lower().startswith(("<!doctype", "<html")):
        try:
            payload = json.loads(text[start : end + 1])
        except ValueError:
            return None
        if isinstance(payload, dict) and "result" in payload:
            log.warning("whmcs api: output before the JSON (PHP notices?) was ignored")
            return payload
    return None


def _describe_body(body: bytes, content_type: str) -> str:
    if not body.strip():
        return "empty response body"
    head = body[:512].decode("utf-8", errors="replace").lower()
    if "<html" in head or "<!doctype" in head or "text/html" in content_type.lower():
        return f"HTML instead of JSON ({len(body)} bytes) — check the URL and PHP errors"
    return f"response is not JSON ({len(body)} bytes)"
