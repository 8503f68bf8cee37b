"""Which escalation actions are due for a ticket. Pure: the caller records what was done.

An action is identified by ``(cycle key, trigger, action)``: each happens at most once per
SLA cycle, however often the sweep runs. ``at_risk`` actions are due while a cycle is at risk;
``breached`` actions once it is breached (a cycle that jumps straight to breached — e.g. after
an outage of the worker — runs only the breach actions: warning about a risk that has already
come true helps nobody).

**Go-live.** A threshold crossed before the bridge went live on this WHMCS gets no action:
the ticket still shows as breached, but its actions are recorded as skipped with
:data:`BEFORE_GO_LIVE` (so no later sweep tries them again) and staff get one summary instead
of a note in every old ticket. Thresholds crossed after go-live escalate as usual.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from whmcs_bridge.sla.engine import AT_RISK, BREACHED, Cycle

if TYPE_CHECKING:
    from whmcs_bridge.sla.settings import EscalationConfig

PRIORITY_ORDER = ("Low", "Medium", "High")
#: The recorded detail of an action withheld by the go-live rule.
BEFORE_GO_LIVE = "threshold crossed before go-live"


def cycle_key(cycle: Cycle) -> str:
    """Stable id of a cycle: its kind and start second (re-targeting keeps the key)."""
    return f"{cycle.kind}:{int(cycle.started_at)}"


def trigger_for(state: str) -> str | None:
    return {AT_RISK: "at_risk", BREACHED: "breached"}.get(state)


def due_actions(state: str, level: str, escalation: EscalationConfig,
                done: Collection[tuple[str, str]]) -> list[tuple[str, str]]:
    """``[(trigger, action), ...]`` still to do for a cycle in ``state``.

    ``done`` holds the ``(trigger, action)`` pairs already recorded for this cycle.
    """
    if not escalation.enabled:
        return []
    trigger = trigger_for(state)
    if trigger is None:
        return []
    by_level = escalation.levels.get(level)
    if by_level is None:
        return []
    actions = by_level.at_risk if trigger == "at_risk" else by_level.breached
    return [(trigger, a) for a in actions if (trigger, a) not in done]


def crossed(state: str | None) -> frozenset[str]:
    """The triggers whose threshold a cycle in ``state`` has crossed."""
    if state == BREACHED:
        return frozenset({"at_risk", "breached"})
    return frozenset({"at_risk"}) if state == AT_RISK else frozenset()


def split_go_live(due: list[tuple[str, str]], state_at_go_live: str | None
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(to_do, withheld)``: actions whose trigger's threshold the cycle had already crossed
    at go-live (``state_at_go_live``: its state then, None when it started after) are
    withheld."""
    before = crossed(state_at_go_live)
    return ([d for d in due if d[0] not in before], [d for d in due if d[0] in before])


def raised(priority: str | None) -> str | None:
    """One step up (Low→Medium→High); ``None`` when already at the top or unknown."""
    if priority not in PRIORITY_ORDER:
        return None
    i = PRIORITY_ORDER.index(priority)
    return PRIORITY_ORDER[i + 1] if i + 1 < len(PRIORITY_ORDER) else None
