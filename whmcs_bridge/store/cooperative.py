"""How the ingest writer blocks and how requests wait for it: OS threads, or gevent greenlets.

:class:`~whmcs_bridge.store.ingest.GroupCommitter` hands rows from request handlers to one
writer per process and parks each request until its commit is done. What "block" and "park"
cost depends on how the process serves requests:

* **threads** (tests, the Flask development server, ``gthread`` workers): the writer is an OS
  thread that calls the database directly (the GIL is released while SQLite writes), and a
  request waits on a bare lock: one futex wake, the cheapest hand-off between OS threads.
* **gevent** (``serve``'s web workers, after gevent has patched the standard library): the
  requests and the writer are greenlets of one OS thread. A blocking C call in the writer
  (``flock``, the insert and its fsync) would stop every request of the process, so it runs in
  the hub's thread pool while the writer greenlet waits cooperatively; a request parks on a
  hub :class:`~gevent.hub.Waiter` and is resumed by a hub callback. A patched
  ``threading.Lock`` would also work, at about four times the cost per wait (measured when
  this was chosen: 16 µs against 4 µs per park-and-resume in one process).

:func:`current_mode` tells which applies; it must be asked in the serving process, after
gunicorn's gevent worker has patched (so: on first use, never at import or app creation).

The same runner serves every other SQLite write transaction (:mod:`whmcs_bridge.store.engine`):
its ``BEGIN IMMEDIATE`` waits in C for the turnstile's ``flock`` and in SQLite's busy handler,
and its ``COMMIT`` fsyncs; under gevent both leave the hub, so a web request waiting for the
write lock parks its greenlet instead of stopping its whole worker. A call made from a pool
thread already (the group commit's writer) runs there directly.

The two must not share threads: waits (``Mode.call``) go to the hub's thread pool, which they
can fill (ten threads, and a burst of writers queues up to a thread each), while the one
transaction that *holds* the write lock commits in a pool of its own (``Mode.commit``). Were
the holder's ``COMMIT`` queued behind the waiters, they would wait for the lock it cannot give
back: every writer stood still until SQLite's busy timeout (30 s) failed one of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import gevent
from gevent import monkey
from gevent.hub import Waiter as HubWaiter
from gevent.threadpool import ThreadPool

T = TypeVar("T")
#: Runs a blocking call and returns its result: ``runner(fn, *args)``.
Runner = Callable[..., Any]


class Waiter(Protocol):
    """One request's wait for its commit; the writer calls :meth:`set` exactly once."""

    result: bool
    error: Exception | None

    def set(self, result: bool = False, error: Exception | None = None) -> None: ...

    def wait(self, timeout: float | None) -> bool:
        """Block until :meth:`set` ran; False if ``timeout`` seconds passed first."""
        ...


def run_here(fn: Callable[..., T], *args: Any) -> T:
    """The threads runner: the writer thread itself blocks (SQLite releases the GIL)."""
    return fn(*args)


def run_in_hub_threadpool(fn: Callable[..., T], *args: Any) -> T:
    """The gevent runner: ``fn`` runs in a real thread; the calling greenlet yields."""
    return gevent.get_hub().threadpool.apply(fn, args)


#: Threads of the commit pool. SQLite has one writer per database, so a process has at most
#: one holder per open database committing at a time: the pool never makes a holder queue.
COMMIT_THREADS = 2
#: The commit pool of this process (gunicorn forks its workers; a pool's threads do not
#: survive a fork): (pid, pool).
_commit_pool: tuple[int, ThreadPool] | None = None


def run_in_commit_threadpool(fn: Callable[..., T], *args: Any) -> T:
    """The gevent runner for the write lock's holder (its ``COMMIT``): a thread pool only
    holders use, so the waiters filling the hub's pool never stand in its way."""
    global _commit_pool
    if _commit_pool is None or _commit_pool[0] != os.getpid():
        _commit_pool = (os.getpid(), ThreadPool(COMMIT_THREADS))
    return _commit_pool[1].apply(fn, args)


class ThreadWaiter:
    """A bare lock the writer releases once the outcome is set.

    ``concurrent.futures.Future`` would cost a condition variable, a second lock per wait and
    a notify-all, which at thousands of requests per second is measurable CPU on the hot path.
    """

    __slots__ = ("_done", "error", "result")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self.result = False
        self.error: Exception | None = None

    def set(self, result: bool = False, error: Exception | None = None) -> None:
        self.result, self.error = result, error
        self._done.release()

    def wait(self, timeout: float | None) -> bool:
        return self._done.acquire(timeout=-1 if timeout is None else timeout)


class GreenletWaiter:
    """A parked greenlet, resumed by a hub callback (the writer is not the hub, so it may
    not switch to the waiting greenlet itself)."""

    __slots__ = ("_waiter", "error", "result")

    def __init__(self) -> None:
        self._waiter: HubWaiter[object] = HubWaiter()
        self.result = False
        self.error: Exception | None = None

    def set(self, result: bool = False, error: Exception | None = None) -> None:
        self.result, self.error = result, error
        # a Waiter switched before anyone waits keeps the value: get() then returns at once
        self._waiter.hub.loop.run_callback(self._waiter.switch, None)

    def wait(self, timeout: float | None) -> bool:
        if timeout is None:
            self._waiter.get()
            return True
        timer = gevent.Timeout.start_new(timeout)
        try:
            self._waiter.get()
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            return False
        finally:
            timer.close()
        return True


@dataclass(frozen=True)
class Mode:
    """One way of blocking and waiting: ``call`` for the writer and for the waits of a write
    transaction's ``BEGIN``, ``waiter`` per request, ``commit`` for the ``COMMIT`` of the
    transaction that holds SQLite's write lock (never queued behind ``call``'s waits)."""

    name: str
    call: Runner
    waiter: Callable[[], Waiter]
    commit: Runner = run_here


THREADS = Mode("threads", run_here, ThreadWaiter, run_here)
GEVENT = Mode("gevent", run_in_hub_threadpool, GreenletWaiter, run_in_commit_threadpool)


def current_mode() -> Mode:
    """:data:`GEVENT` once gevent has patched ``threading`` in this process, else
    :data:`THREADS`."""
    return GEVENT if monkey.is_module_patched("threading") else THREADS
