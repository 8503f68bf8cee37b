"""No HTTP call while a write transaction is open: the rule the WHMCS write outbox and the
handlers' ``prepare`` step exist for (on SQLite an open write transaction holds the writer
lock every webhook queues for, for as long as the call takes).

:class:`TxGuard` follows every SQLAlchemy transaction begun in each thread (``begin`` /
``commit`` / ``rollback`` events on all engines; one opened with
``execution_options(sqlite_readonly=True)`` is a read and does not count) and wraps the two
doors every HTTP call of the bridge goes through: ``requests.Session.send`` (a chat webhook,
an e-mail API) and the WHMCS client's ``OneWriteAdapter.send`` (the client hands its
prepared requests to the adapter; the wrapper looks ``HTTPAdapter.send`` up at each call, so
a ``responses`` mock patched onto it is still what answers). A call made by a thread that has a
write transaction open is recorded and refused with :class:`HttpInTransaction`; the fixture
fails the test at teardown with the list, so a handler that swallows the error still fails.
Test doubles of the WHMCS client call :func:`check` for the same rule.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine, event

from whmcs_bridge.api.one_write import OneWriteAdapter


class HttpInTransaction(RuntimeError):
    """An HTTP call was made while this thread held a write transaction."""


class TxGuard:
    def __init__(self) -> None:
        self.local = threading.local()
        self.violations: list[str] = []

    def _open(self) -> set[int]:
        if not hasattr(self.local, "open"):
            self.local.open = set()
        return self.local.open

    def on_begin(self, conn: Any) -> None:
        if not conn.get_execution_options().get("sqlite_readonly", False):
            self._open().add(id(conn))

    def on_end(self, conn: Any) -> None:
        self._open().discard(id(conn))

    def check(self, what: str) -> None:
        if self._open():
            frames = [f for f in traceback.format_stack(limit=40)[:-2]
                      if "/requests/" not in f and "txguard.py" not in f]
            where = "".join(frames[-8:])
            self.violations.append(f"{what} while a write transaction was open:\n{where}")
            raise HttpInTransaction(f"{what} while a write transaction was open")


_active: list[TxGuard] = []


def check(what: str) -> None:
    """For test doubles of the WHMCS client: the same rule as a real HTTP call."""
    for guard in _active:
        guard.check(what)


def _describe(request: Any) -> str:
    body = request.body or b""
    if isinstance(body, bytes):
        body = body.decode("latin-1")
    action = parse_qs(body).get("action", [""])[0] if isinstance(body, str) else ""
    return f"{request.method} {request.url}" + (f" (action {action})" if action else "")


@contextmanager
def guarded() -> Iterator[TxGuard]:
    guard = TxGuard()
    original = requests.Session.send

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        guard.check(_describe(request))
        return original(session, request, **kwargs)

    outer = OneWriteAdapter.__dict__.get("send")  # an enclosing guard's wrapper

    def adapter_send(adapter: OneWriteAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check(_describe(request))
        if outer is not None:
            return outer(adapter, request, *args, **kwargs)
        return HTTPAdapter.send(adapter, request, *args, **kwargs)

    event.listen(Engine, "begin", guard.on_begin)
    event.listen(Engine, "commit", guard.on_end)
    event.listen(Engine, "rollback", guard.on_end)
    requests.Session.send = send  # type: ignore[method-assign]
    OneWriteAdapter.send = adapter_send  # type: ignore[method-assign]
    _active.append(guard)
    try:
        yield guard
    finally:
        _active.remove(guard)
        requests.Session.send = original  # type: ignore[method-assign]
        if outer is None:
            del OneWriteAdapter.send  # the inherited HTTPAdapter.send again
        else:
            OneWriteAdapter.send = outer  # type: ignore[method-assign]
        event.remove(Engine, "begin", guard.on_begin)
        event.remove(Engine, "commit", guard.on_end)
        event.remove(Engine, "rollback", guard.on_end)
