"""30 card-digit guesses at once through the staff API, on SQLite and PostgreSQL: at most
``lockout_failures`` are ever checked at WHMCS (counted at the simulator), none after the lock,
the first proofs of a ticket with no record yet are not a 500, and the record never ends both
locked and verified."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TEST_TOKEN
from tests.verification.helpers import add_ticket, vsettings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine
from whmcs_bridge.verification import store

GUESSES = 30
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[Any]:
    """A simulator that answers each call after 30 ms, so the guesses overlap at WHMCS the way
    they do against a real one (the window the old check-then-record code raced in)."""
    handle = run_in_thread(SimConfig(seed=11, clients=4, tickets=6, latency_ms=30))
    yield handle
    handle.stop()


def _carded_client(sim: Any) -> Any:
    for client in sim.state.clients.values():
        if any("Card" in p.type and p.card_last_four for p in client.paymethods):
            return client
    raise AssertionError("seeded simulator has no client with a card")


@pytest.mark.parametrize("right_at", [None, 3, 17])
def test_parallel_guesses_never_overrun_the_lockout(db_url, slow_sim, right_at) -> None:
    settings = vsettings(db_url)
    limit = settings.verification.lockout_failures
    engine = make_engine(db_url, pool_size=10)
    whmcs = slow_sim.client(retries=0)
    app = build_app(settings, engine=engine, whmcs=whmcs)
    client = _carded_client(slow_sim)
    card = next(p for p in client.paymethods if "Card" in p.type).card_last_four
    with engine.begin() as conn:  # known to the bridge, but no verification record yet
        ticket = add_ticket(conn, slow_sim, client_id=client.id, channel="phone")
    wrong = [f"{n:04d}" for n in random.Random(5).sample(range(10000), GUESSES + 1)
             if f"{n:04d}" != card][:GUESSES]
    guesses = list(wrong)
    if right_at is not None:
        guesses[right_at] = card
    before = slow_sim.state.calls["GetPayMethods"]
    start = threading.Barrier(GUESSES)
    answers: list[Any] = [None] * GUESSES

    def guess(i: int) -> None:
        web = app.test_client()
        start.wait()
        resp = web.post(f"/api/tickets/{ticket.id}/verification", headers=AUTH,
                        json={"method": "card_last4", "admin": "mallory", "last4": guesses[i]})
        answers[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert all(code == 200 for code, _ in answers), [a for a in answers if a[0] != 200]
    checked = slow_sim.state.calls["GetPayMethods"] - before
    assert 1 <= checked <= limit
    with engine.connect() as conn:
        req = store.get_request(conn, ticket.id)
        attempts = store.attempts_for_ticket(conn, ticket.id)
    outcomes = [a.outcome for a in attempts]
    assert "pending" not in outcomes
    assert outcomes.count("failed") + outcomes.count("verified") == checked
    assert outcomes.count("failed") <= limit
    verified = [i for i, (_, body) in enumerate(answers) if body["outcome"] == "verified"]
    if verified:
        assert verified == [right_at]
        assert req.state == "verified" and req.locked_at is None
    else:
        assert req.state == "locked" and req.verified_by is None
        assert outcomes.count("failed") == limit
    # never both: a lock time on a verified record, or a verifier on a locked one
    assert not (req.locked_at is not None and req.verified_by is not None)
    whmcs.close()
    engine.dispose()
