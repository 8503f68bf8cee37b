"""The held-out attacks on ownership verification, against a real ``whmcs-bridge serve`` (two
gunicorn workers and its supervised event worker) talking to the WHMCS simulator, on SQLite
and PostgreSQL (issue 13.3). Each attack uses its own client, and each must end refused:

* guest mail: a guest ticket (userid 0) from a client's address asks for a package change;
* late piping: the TicketPiping of a spoofed mail arrives after its TicketOpen matched the
  sender to a client (the ticket looked like the client area's);
* invisible text: the request is hidden by zero-width spaces, a soft hyphen and Cyrillic
  look-alikes;
* 30 parallel guesses of the card's last four digits over HTTP: at most ``lockout_failures``
  reach WHMCS, and the client ends locked.

Everything goes over the wire: signed events to ``/webhooks/whmcs``, gates to ``/gates/``,
proofs to the staff API; the bridge's own jobs (owner lookup) run in its worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import TEST_SECRET, TEST_TOKEN, _fresh_pg_url, drop_pg_database
from tests.worker.procs import CLI, REPO, free_port, wait_for
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.store.base import utcnow

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
GUESSES = 30
LOCKOUT = 5
#: How long the bridge's worker may take to act on an event or run the owner lookup (every 5 s).
SETTLE = 60


class Served:
    """``whmcs-bridge serve`` on a free loopback port, pointed at the simulator."""

    def __init__(self, db_url: str, sim: Any, workdir: Path) -> None:
        self.backend = db_url.split(":", 1)[0].split("+", 1)[0]
        self.url = f"http://127.0.0.1:{free_port()}"
        self.sim = sim
        self.log_path = workdir / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WHMCS_BRIDGE_")}
        env.update({
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "WHMCS_BRIDGE_DATA_DIR": str(workdir),
            "WHMCS_BRIDGE_DATABASE_URL": db_url,
            "WHMCS_BRIDGE_WEBHOOK_SECRET": TEST_SECRET,
            "WHMCS_BRIDGE_API_TOKEN": TEST_TOKEN,
            "WHMCS_BRIDGE_SERVER__SECRET_KEY": "attack-test-key-" + "a" * 24,
            "WHMCS_BRIDGE_SERVER__PUBLIC_URL": self.url,
            "WHMCS_BRIDGE_WHMCS_URL": sim.url,
            "WHMCS_BRIDGE_WHMCS_IDENTIFIER": sim.identifier,
            "WHMCS_BRIDGE_WHMCS_SECRET": sim.secret,
            "WHMCS_BRIDGE_WHMCS__ADMIN_USERNAME": "bridge",
            "WHMCS_BRIDGE_VERIFICATION__LOCKOUT_FAILURES": str(LOCKOUT),
            "WHMCS_BRIDGE_LOG__LEVEL": "WARNING",
        })
        port = self.url.rsplit(":", 1)[1]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*CLI, "serve", "--host", "127.0.0.1", "--port", port, "--workers", "2"],
                env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_for(self._up, 60, "serve to answer /healthz")

    def _up(self) -> bool:
        assert self.proc.poll() is None, f"serve exited:\n{self.log()}"
        with contextlib.suppress(requests.RequestException):
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    # ------------------------------------------------------------------ over the wire

    def _signed(self, path: str, payload: dict[str, Any]) -> requests.Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", body)
        return requests.post(self.url + path, data=body, timeout=10,
                             headers={**headers, "Content-Type": "application/json"})

    def event(self, hook: str, data: dict[str, Any]) -> None:
        resp = self._signed("/webhooks/whmcs", {"type": hook, "data": data,
                                                "timestamp": utcnow().isoformat()})
        assert resp.status_code == 202, resp.text

    def gate(self, client_id: int) -> dict[str, Any]:
        resp = self._signed("/gates/PreModuleChangePackage", {
            "type": "PreModuleChangePackage", "actor": {"type": "admin"},
            "data": {"params": {"userid": client_id}}})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def refused(self, client_id: int) -> dict[str, Any] | None:
        """The gate's refusal for ``client_id`` once the bridge has acted, else None."""
        answer = self.gate(client_id)
        return None if answer["allow"] else answer

    def verification(self, ticket_id: int) -> dict[str, Any] | None:
        resp = requests.get(f"{self.url}/api/tickets/{ticket_id}", headers=AUTH, timeout=10)
        return resp.json()["verification"] if resp.status_code == 200 else None


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    # 30 ms per WHMCS call: the parallel guesses overlap at WHMCS as against a real one
    handle = run_in_thread(SimConfig(seed=21, clients=8, tickets=6, latency_ms=30))
    yield handle
    handle.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, sim: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'bridge.db'}"
    else:
        db_url = _fresh_pg_url(request.getfixturevalue("pg_database"))
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    server = Served(db_url, sim, workdir)
    try:
        yield server
    finally:
        server.stop()
        if request.param == "postgres":
            drop_pg_database(db_url)


#: Clients each backend's attacks used so far (each serve has its own database).
_taken: dict[str, set[int]] = {}


def _client(sim: Any, served: Served, *, carded: bool = False) -> Any:
    """A client no other attack on this serve used (each attack's gate is its own)."""
    taken = _taken.setdefault(served.url, set())
    for client in sim.state.clients.values():
        has_card = any("Card" in p.type and p.card_last_four for p in client.paymethods)
        if client.id not in taken and (has_card or not carded):
            taken.add(client.id)
            return client
    raise AssertionError("the simulator has no unused client left")


def test_guest_mail_from_a_clients_address_is_refused(served: Served, sim: Any) -> None:
    victim = _client(sim, served)
    assert served.gate(victim.id)["allow"] is True
    text = "Please upgrade my hosting plan to the 10GB package"
    ticket = sim.client(retries=0).open_ticket(1, "Upgrade", text, name="Not The Owner",
                                               email=victim.email.upper())
    served.event("TicketOpen", {"ticketid": ticket.id, "ticketmask": ticket.tid, "userid": 0,
                                "deptid": 1, "subject": "Upgrade", "message": text})
    refusal = wait_for(lambda: served.refused(victim.id), SETTLE,
                       f"the guest mail to block client {victim.id}:\n{served.log()}")
    assert refusal["ticket_id"] == ticket.id and ticket.tid in refusal["message"]
    owner = served.verification(ticket.id)["owner"]
    assert owner["state"] == "matched" and owner["clients"] == [victim.id]


def test_guest_mail_from_a_contact_or_user_address_is_refused(served: Served,
                                                             sim: Any) -> None:
    """The same attack from the address of a client's contact, and of a user who may act
    for two clients (both are then blocked, and the refusal says the owner is ambiguous)."""
    victim, first, second = _client(sim, served), _client(sim, served), _client(sim, served)
    tag = uuid.uuid4().hex[:6]
    contact = f"billing-{tag}@contact.example.test"
    shared = f"helper-{tag}@user.example.test"
    sim.state.add_contact(victim.id, contact)
    sim.state.add_user(shared, [first.id, second.id])
    text = "Please upgrade my hosting plan to the 10GB package"
    api = sim.client(retries=0)
    for email in (contact, shared):
        ticket = api.open_ticket(1, "Upgrade", text, name="Not The Owner", email=email)
        served.event("TicketOpen", {"ticketid": ticket.id, "ticketmask": ticket.tid,
                                    "userid": 0, "deptid": 1, "subject": "Upgrade",
                                    "message": text})
    refusal = wait_for(lambda: served.refused(victim.id), SETTLE,
                       f"the contact's mail to block client {victim.id}:\n{served.log()}")
    assert refusal["message"]
    for cid in (first.id, second.id):
        refusal = wait_for(lambda cid=cid: served.refused(cid), SETTLE,
                           f"the user's mail to block client {cid}:\n{served.log()}")
        assert refusal["ticket_id"] == ticket.id
        assert "khớp nhiều khách hàng" in refusal["message"]  # vi: several clients match


def test_late_piping_of_a_spoofed_mail_is_refused(served: Served, sim: Any) -> None:
    victim = _client(sim, served)
    subject = f"Upgrade {uuid.uuid4().hex[:6]}"
    text = "Please upgrade my hosting plan to the 10GB package"
    ticket = sim.client(retries=0).open_ticket(1, subject, text, clientid=victim.id)
    # WHMCS matched the spoofed From: to the client, so the ticket looks like the client area's
    served.event("TicketOpen", {"ticketid": ticket.id, "ticketmask": ticket.tid,
                                "userid": victim.id, "deptid": 1, "subject": subject,
                                "message": text})
    wait_for(lambda: (served.verification(ticket.id) or {}).get("state") == "not_required",
             SETTLE, f"the TicketOpen to be handled:\n{served.log()}")
    before = served.gate(victim.id)
    assert before["allow"] is True, before
    served.event("TicketPiping", {"to": "support@example.test", "name": "An",
                                  "email": victim.email, "subject": subject, "body": text})
    refusal = wait_for(lambda: served.refused(victim.id), SETTLE,
                       f"the late piping to block client {victim.id}:\n{served.log()}")
    assert refusal["ticket_id"] == ticket.id
    assert served.verification(ticket.id)["state"] == "required"


def test_a_request_hidden_by_invisible_characters_is_refused(served: Served, sim: Any) -> None:
    victim = _client(sim, served)
    # zero-width spaces, a soft hyphen and Cyrillic р/а/е: staff read "upgrade my hosting plan"
    hidden = "Please u\u200b\u0440gr\u0430d\u0435 my hos\u00adting pl\u200ban to 10GB"
    subject = f"Hello {uuid.uuid4().hex[:6]}"
    served.event("TicketPiping", {"to": "support@example.test", "name": "An",
                                  "email": victim.email, "subject": subject, "body": hidden})
    ticket = sim.client(retries=0).open_ticket(1, subject, hidden, clientid=victim.id)
    served.event("TicketOpen", {"ticketid": ticket.id, "ticketmask": ticket.tid,
                                "userid": victim.id, "deptid": 1, "subject": subject,
                                "message": hidden})
    refusal = wait_for(lambda: served.refused(victim.id), SETTLE,
                       f"the hidden request to block client {victim.id}:\n{served.log()}")
    assert refusal["ticket_id"] == ticket.id
    assert served.verification(ticket.id)["state"] == "required"


def test_thirty_parallel_card_guesses_are_refused(served: Served, sim: Any) -> None:
    victim = _client(sim, served, carded=True)
    card = next(p for p in victim.paymethods if "Card" in p.type).card_last_four
    text = "Khách gọi điện nhờ nâng cấp gói hosting lên gói Business"
    ticket = sim.client(retries=0).open_ticket(1, "Nâng cấp gói", text, clientid=victim.id,
                                               admin=True)
    served.event("TicketOpenAdmin", {"ticketid": ticket.id, "ticketmask": ticket.tid,
                                     "userid": victim.id, "deptid": 1,
                                     "subject": "Nâng cấp gói", "message": text})
    wait_for(lambda: (served.verification(ticket.id) or {}).get("state") == "required",
             SETTLE, f"the phone request to need proof:\n{served.log()}")
    wrong = [f"{n:04d}" for n in random.Random(13).sample(range(10000), GUESSES + 1)
             if f"{n:04d}" != card][:GUESSES]
    before = sim.state.calls["GetPayMethods"]
    start = threading.Barrier(GUESSES)
    answers: list[Any] = [None] * GUESSES

    def guess(i: int) -> None:
        start.wait()
        try:
            resp = requests.post(f"{served.url}/api/tickets/{ticket.id}/verification",
                                 headers=AUTH, timeout=30,
                                 json={"method": "card_last4", "admin": "mallory",
                                       "last4": wrong[i]})
        except requests.RequestException as exc:  # reported by the assertion below
            answers[i] = (type(exc).__name__, {})
            return
        answers[i] = (resp.status_code, resp.json())

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code == 200 for code, _ in answers), [a for a in answers if a[0] != 200]
    checked = sim.state.calls["GetPayMethods"] - before
    assert 1 <= checked <= LOCKOUT, f"{checked} guesses reached WHMCS"
    assert not [a for _, a in answers if a.get("outcome") == "verified"]
    assert served.verification(ticket.id)["state"] == "locked"
    # even the right digits are no longer looked at, and the change stays refused
    late = requests.post(f"{served.url}/api/tickets/{ticket.id}/verification", headers=AUTH,
                         timeout=60, json={"method": "card_last4", "admin": "mallory",
                                           "last4": card})
    assert late.status_code == 200 and late.json()["outcome"] != "verified", late.text
    assert sim.state.calls["GetPayMethods"] - before == checked
    refusal = served.refused(victim.id)
    assert refusal is not None and refusal["reason"] == "verification_locked"
