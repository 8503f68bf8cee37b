"""The hook registry: handlers keyed by WHMCS hook names, run in a defined order.

Modelled on pluggy: :func:`on` only *marks* a function (no import-time registration into a
global), and :meth:`HookRegistry.register_module` collects the marked functions of a module.
The composition root (:mod:`whmcs_bridge.runtime`) passes the built-in handler modules in by
plain import; third-party packages add theirs through the ``whmcs_bridge.hooks`` entry point
group (each entry point names a module or an object with marked functions), and a company's
unpackaged modules are named in ``[handlers].modules``. Handlers with a lower ``priority``
run first; ties run in name order so the order is stable across processes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from marshmallow import fields

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.hooks.names import KNOWN_HOOKS
from whmcs_bridge.settings import StrictSchema

ENTRY_POINT_GROUP = "whmcs_bridge.hooks"
_MARK = "_whmcs_bridge_hooks"
_JOB_MARK = "_whmcs_bridge_job"

@dataclass(frozen=True, slots=True)
class HandlerConfig:
    """``[handlers]``: extra handler modules."""

    modules: Sequence[str]


class HandlerSettings(StrictSchema):
    """``[handlers]``: extra handler modules to load, besides the built-ins and entry points.

    For a company's own handlers that are not packaged with an entry point (and for tests):
    each entry is an importable module name whose ``@on``/``@periodic`` functions register.
    """

    config = HandlerConfig

    modules = fields.List(fields.String(), load_default=list)


Handler = Callable[..., Any]


class UnknownHookError(BridgeError, ValueError):
    """A handler was registered for a name that is not a WHMCS hook point (a bug in the
    handler's module, found when the registry loads)."""

    code = "unknown_hook"


@dataclass(frozen=True, order=True)
class HandlerSpec:
    """One registered handler. ``name`` is stable: outcomes are recorded under it."""

    priority: int
    name: str
    hook: str = field(compare=False)
    func: Handler = field(compare=False, repr=False)
    #: ``prepare(event, PrepareContext)``: WHMCS reads, run before the handler's transaction
    prepare: Handler | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class JobSpec:
    """A periodic job run by the worker (e.g. the SLA sweep), at most one at a time cluster-wide."""

    name: str
    every_seconds: float
    func: Handler = field(repr=False)


def on(hook: str, *, priority: int = 50, name: str | None = None,
       prepare: Handler | None = None) -> Callable[[Handler], Handler]:
    """Mark ``func`` as a handler of WHMCS hook ``hook``. May be stacked for several hooks.

    ``prepare(event, ctx)`` (optional) reads what the handler needs from WHMCS *before* the
    handler's transaction opens (check, then commit: no WHMCS call may wait inside one); the
    handler gets its return value as ``ctx.prepared``."""

    def mark(func: Handler) -> Handler:
        marks = list(getattr(func, _MARK, []))
        marks.append((hook, priority, name, prepare))
        setattr(func, _MARK, marks)
        return func

    return mark


def periodic(name: str, *, every_seconds: float) -> Callable[[Handler], Handler]:
    """Mark ``func(ctx)`` as a periodic job run by the worker every ``every_seconds``."""

    def mark(func: Handler) -> Handler:
        setattr(func, _JOB_MARK, (name, every_seconds))
        return func

    return mark


class HookRegistry:
    """Holds handlers per hook name and periodic jobs."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[HandlerSpec]] = {}
        self._jobs: dict[str, JobSpec] = {}

    def register(self, hook: str, func: Handler, *, priority: int = 50,
                 name: str | None = None, prepare: Handler | None = None) -> HandlerSpec:
        if hook not in KNOWN_HOOKS:
            raise UnknownHookError(
                f"{hook!r} is not a WHMCS hook point (handler "
                f"{name or func.__qualname__}); see hooks/names.py"
            )
        spec = HandlerSpec(priority, name or f"{func.__module__}.{func.__qualname__}", hook, func,
                           prepare)
        existing = self._handlers.setdefault(hook, [])
        if any(s.name == spec.name for s in existing):
            raise ValueError(f"handler {spec.name!r} registered twice for {hook}")
        existing.append(spec)
        existing.sort()
        return spec

    def register_job(self, name: str, func: Handler, *, every_seconds: float) -> JobSpec:
        if name in self._jobs:
            raise ValueError(f"periodic job {name!r} registered twice")
        job = JobSpec(name, every_seconds, func)
        self._jobs[name] = job
        return job

    def register_module(self, module: ModuleType | Any) -> None:
        """Register every marked function found on ``module`` (or any object)."""
        for _, member in inspect.getmembers(module):
            for hook, priority, name, prepare in getattr(member, _MARK, []):
                self.register(hook, member, priority=priority, name=name, prepare=prepare)
            job = getattr(member, _JOB_MARK, None)
            if job:
                self.register_job(job[0], member, every_seconds=job[1])

    def handlers_for(self, hook: str) -> list[HandlerSpec]:
        return list(self._handlers.get(hook, ()))

    def hooks(self) -> list[str]:
        return sorted(self._handlers)

    def jobs(self) -> list[JobSpec]:
        return sorted(self._jobs.values(), key=lambda j: j.name)

    def all_handlers(self) -> Iterable[HandlerSpec]:
        for hook in self.hooks():
            yield from self._handlers[hook]


def load_registry(modules: Iterable[ModuleType | object] = (), *,
                  module_names: Iterable[str] = (),
                  entry_point_group: str | None = ENTRY_POINT_GROUP) -> HookRegistry:
    """Build the registry: ``modules`` (objects with marked functions, e.g. the built-in
    handler modules the composition root imports), then ``module_names`` (importable names
    from ``[handlers].modules``), then the installed entry points of ``entry_point_group``."""
    registry = HookRegistry()
    for module in modules:
        registry.register_module(module)
    for name in module_names:
        registry.register_module(importlib.import_module(name))
    if entry_point_group:
        for ep in entry_points(group=entry_point_group):
            registry.register_module(ep.load())
    return registry
