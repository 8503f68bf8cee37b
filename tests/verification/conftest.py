"""Fixtures for the verification tests: one simulator per module, a WHMCS client for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from whmcs_bridge.sim import SimConfig, run_in_thread


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    handle = run_in_thread(SimConfig(seed=7, clients=8, tickets=10))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def whmcs(sim: Any) -> Iterator[Any]:
    client = sim.client(retries=0)
    yield client
    client.close()


@pytest.fixture
def sim_client(sim: Any) -> Any:
    """A simulator client that has a card on file and a paid invoice (proofs need both)."""
    for client in sim.state.clients.values():
        has_card = any("Card" in p.type and p.card_last_four for p in client.paymethods)
        has_paid = any(i.status == "Paid" for i in client.invoices)
        if has_card and has_paid and client.services:
            return client
    raise AssertionError("seeded simulator has no client with a card and a paid invoice")


@pytest.fixture(autouse=True)
def _no_http_in_transaction(no_http_in_transaction: Any) -> Any:
    """Every test here fails if WHMCS (or any HTTP) is called inside a write transaction."""
    return no_http_in_transaction
