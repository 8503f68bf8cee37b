"""A simulator on a free loopback port, shared per test module (state mutates: tests that
need pristine data build their own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from whmcs_bridge.sim import SimConfig, SimHandle, run_in_thread

ANCHOR = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def sim_config(**overrides) -> SimConfig:
    values = {"seed": 7, "clients": 12, "tickets": 120, "anchor": ANCHOR}
    values.update(overrides)
    return SimConfig(**values)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    handle = run_in_thread(sim_config())
    yield handle
    handle.stop()


@pytest.fixture
def fresh_sim() -> Iterator[SimHandle]:
    handle = run_in_thread(sim_config())
    yield handle
    handle.stop()
