"""Issue 13.1/13.2: guest mail blocks the owner it names, and late piping still needs proof.

End to end through the signed receiver, the worker, its owner-lookup job, the simulator and
the gate endpoint; plus the pure matching rules.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.conftest import TEST_SECRET
from tests.verification.helpers import vsettings
from whmcs_bridge.hooks.context import JobContext, Services
from whmcs_bridge.hooks.verification import resolve_owners
from whmcs_bridge.runtime import build_app, build_registry
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import messages, owners, status
from whmcs_bridge.worker import Worker

UPGRADE = "Please upgrade my hosting plan to the 10GB package"


def _signed(client: Any, path: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    headers = signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", body)
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def _post(client: Any, hook: str, data: dict[str, Any]) -> None:
    resp = _signed(client, "/webhooks/whmcs",
                   {"type": hook, "timestamp": utcnow().isoformat(), "data": data})
    assert resp.status_code == 202, resp.get_json()


def _gate(client: Any, client_id: int) -> dict[str, Any]:
    resp = _signed(client, "/gates/PreModuleChangePackage",
                   {"type": "PreModuleChangePackage", "data": {"params": {"userid": client_id}},
                    "actor": {"type": "admin"}})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _drain(worker: Worker) -> None:
    for _ in range(20):
        if worker.run_batch() == 0:
            return
    raise AssertionError("worker did not drain the inbox")


def _setup(db_url: str, whmcs: Any) -> tuple[Any, Any, Any, Worker]:
    settings = vsettings(db_url)
    engine = make_engine(db_url)
    web = build_app(settings, engine=engine, whmcs=whmcs).test_client()
    worker = Worker(settings, engine, build_registry(settings),
                    services=Services(settings, whmcs=whmcs), run_jobs=False)
    return settings, engine, web, worker


def _guest_mail(web: Any, whmcs: Any, worker: Worker, name: str, email: str) -> Any:
    """A guest ticket (userid 0) asking for an upgrade, as WHMCS records piped mail, with its
    TicketOpen processed; returns the simulator's ticket."""
    opened = whmcs.open_ticket(1, "Upgrade", UPGRADE, name=name, email=email)
    _post(web, "TicketOpen", {"ticketid": opened.id, "ticketmask": opened.tid, "userid": 0,
                              "deptid": 1, "subject": "Upgrade", "message": UPGRADE})
    _drain(worker)
    return opened



def test_guest_mail_from_a_clients_address_blocks_that_client(db_url, sim, whmcs,
                                                              sim_client) -> None:
    settings, engine, web, worker = _setup(db_url, whmcs)
    # mail from the client's address (in other case) that WHMCS left as a guest's
    opened = _guest_mail(web, whmcs, worker, "Someone", sim_client.email.upper())
    with engine.connect() as conn:  # the WHMCS lookup runs later, outside the handler
        assert status.for_ticket(conn, opened.id)["owner"]["state"] == "pending"
    job = JobContext(settings=settings, engine=engine, now=utcnow(), services=worker.services)
    assert resolve_owners(job) == 1
    refused = _gate(web, sim_client.id)
    assert refused["allow"] is False and refused["ticket_id"] == opened.id
    assert opened.tid in refused["message"]
    with engine.connect() as conn:
        block = status.for_ticket(conn, opened.id)
    assert block["state"] == "required"
    assert block["owner"]["state"] == "matched" and block["owner"]["clients"] == [sim_client.id]
    other = next(c for c in sim.state.clients.values() if c.id != sim_client.id)
    assert _gate(web, other.id)["allow"] is True  # nobody else is blocked
    engine.dispose()


def test_unmatched_sender_is_shown_to_staff(db_url, sim, whmcs) -> None:
    settings, engine, web, worker = _setup(db_url, whmcs)
    opened = _guest_mail(web, whmcs, worker, "Nobody", "nobody-known@example.invalid")
    assert resolve_owners(JobContext(settings=settings, engine=engine, now=utcnow(),
                                     services=worker.services)) == 1
    with engine.connect() as conn:
        owner = status.for_ticket(conn, opened.id)["owner"]
    assert owner["state"] == "unmatched"
    assert owner["warning"] == "sender not matched to any client"
    engine.dispose()


def test_ticket_linked_to_the_client_later_blocks_it(db_url, sim, whmcs, sim_client) -> None:
    _settings, engine, web, worker = _setup(db_url, whmcs)
    opened = _guest_mail(web, whmcs, worker, "Nobody", "someone-else@example.invalid")
    assert _gate(web, sim_client.id)["allow"] is True
    # staff attach the ticket to the client; the next event about it says so
    _post(web, "TicketOpen", {"ticketid": opened.id, "ticketmask": opened.tid,
                              "userid": sim_client.id, "deptid": 1, "subject": "Upgrade",
                              "message": UPGRADE})
    _drain(worker)
    assert _gate(web, sim_client.id)["allow"] is False
    engine.dispose()


def test_late_piping_event_makes_a_client_area_request_need_proof(db_url, sim, whmcs,
                                                                 sim_client) -> None:
    _settings, engine, web, worker = _setup(db_url, whmcs)
    subject = f"Upgrade {uuid.uuid4().hex[:6]}"
    ticket = whmcs.open_ticket(1, subject, UPGRADE, clientid=sim_client.id)
    # WHMCS matched the (spoofed) From: to the client: the ticket looks like the client area's
    _post(web, "TicketOpen", {"ticketid": ticket.id, "ticketmask": ticket.tid,
                              "userid": sim_client.id, "deptid": 1, "subject": subject,
                              "message": UPGRADE})
    _drain(worker)
    with engine.connect() as conn:
        assert status.for_ticket(conn, ticket.id)["state"] == "not_required"
    _post(web, "TicketPiping", {"to": "support@example.test", "name": "An",
                                "email": sim_client.email, "subject": subject, "body": UPGRADE})
    _drain(worker)
    with engine.connect() as conn:
        assert status.for_ticket(conn, ticket.id)["state"] == "required"
    refused = _gate(web, sim_client.id)
    assert refused["allow"] is False and refused["ticket_id"] == ticket.id
    engine.dispose()


# --------------------------------------------------------------------------- pure rules

def test_email_normalised_and_domains_found() -> None:
    assert owners.normalise_email("  <An@Example.COM> ") == "an@example.com"
    assert owners.normalise_email("not an address") is None
    assert owners.domains_in("move shop.example.vn to 10GB; mail me at a@b.example.com",
                             "see index.php") == ["shop.example.vn"]


def test_match_states() -> None:
    assert owners.match(ticket_client=None, email_clients=[], domain_clients=[]).state \
        == owners.UNMATCHED
    one = owners.match(ticket_client=None, email_clients=[3], domain_clients=[3])
    assert one.state == owners.MATCHED and one.client_id == 3
    both = owners.match(ticket_client=None, email_clients=[3], domain_clients=[5])
    assert both.state == owners.AMBIGUOUS and both.client_id is None
    assert set(both.candidates) == {3, 5}
    assert owners.match(ticket_client=4, email_clients=[4], domain_clients=[]).state \
        == owners.TICKET


# ------------------------------------------------- contacts, users, registered domains, sync

def _resolve(settings: Any, engine: Any, worker: Worker) -> int:
    """The owner job, then the sender pass the worker runs after it (its notes leave then)."""
    resolved = resolve_owners(JobContext(settings=settings, engine=engine, now=utcnow(),
                                         services=worker.services))
    worker.send_writes()
    return resolved


def _two_clients(sim: Any) -> tuple[Any, Any]:
    first, second = list(sim.state.clients.values())[:2]
    return first, second


def test_mail_from_a_contacts_address_blocks_its_client(db_url, sim, whmcs) -> None:
    settings, engine, web, worker = _setup(db_url, whmcs)
    client, other = _two_clients(sim)
    address = f"accounts-{uuid.uuid4().hex[:6]}@contact.example.test"
    sim.state.add_contact(client.id, address)
    opened = _guest_mail(web, whmcs, worker, "Accounts", address.upper())
    assert _resolve(settings, engine, worker) == 1
    with engine.connect() as conn:
        owner = status.for_ticket(conn, opened.id)["owner"]
    assert owner["state"] == "matched" and owner["clients"] == [client.id]
    assert _gate(web, client.id)["allow"] is False
    assert _gate(web, other.id)["allow"] is True
    engine.dispose()


def test_a_user_of_two_clients_blocks_both_and_staff_are_told(db_url, sim, whmcs) -> None:
    settings, engine, web, worker = _setup(db_url, whmcs)
    first, second = _two_clients(sim)
    address = f"shared-{uuid.uuid4().hex[:6]}@user.example.test"
    sim.state.add_user(address, [first.id, second.id])
    opened = _guest_mail(web, whmcs, worker, "Shared", address)
    assert _resolve(settings, engine, worker) == 1
    with engine.connect() as conn:
        owner = status.for_ticket(conn, opened.id)["owner"]
    assert owner["state"] == "ambiguous" and owner["clients"] == sorted([first.id, second.id])
    for cid in (first.id, second.id):
        refused = _gate(web, cid)
        assert refused["allow"] is False and refused["ticket_id"] == opened.id
        # the request's language is the default (vi): the message says who it may be
        assert messages.OWNER_TEXTS["vi"]["ambiguous"] in refused["message"]
    notes = sim.state.conversation(sim.state.tickets[opened.id])[1]
    assert any("several clients" in n.message for n in notes)
    engine.dispose()


def test_a_registered_domain_named_in_the_text_blocks_its_client(db_url, sim, whmcs) -> None:
    settings, engine, web, worker = _setup(db_url, whmcs)
    client, other = _two_clients(sim)
    name = f"shop-{uuid.uuid4().hex[:6]}.example.vn"
    sim.state.add_domain(client.id, name)
    text = f"Please upgrade the hosting for {name.upper()} to the 10GB package"
    opened = whmcs.open_ticket(1, "Upgrade", text, name="Someone",
                               email=f"x-{uuid.uuid4().hex[:6]}@nowhere.example.invalid")
    _post(web, "TicketOpen", {"ticketid": opened.id, "ticketmask": opened.tid, "userid": 0,
                              "deptid": 1, "subject": "Upgrade", "message": text})
    _drain(worker)
    assert _resolve(settings, engine, worker) == 1
    with engine.connect() as conn:
        assert status.for_ticket(conn, opened.id)["owner"]["clients"] == [client.id]
    assert _gate(web, client.id)["allow"] is False
    assert _gate(web, other.id)["allow"] is True
    engine.dispose()


def test_sync_makes_the_request_follow_the_client_staff_linked(db_url, sim, whmcs) -> None:
    from whmcs_bridge.sync import run_sync

    settings, engine, web, worker = _setup(db_url, whmcs)
    client, _ = _two_clients(sim)
    opened = _guest_mail(web, whmcs, worker, "Nobody",
                         f"n-{uuid.uuid4().hex[:6]}@nowhere.example.invalid")
    assert _resolve(settings, engine, worker) == 1
    assert _gate(web, client.id)["allow"] is True  # unmatched: nobody is blocked
    # staff attach the ticket to the client in WHMCS; no event says so, the sync sees it
    sim.state.tickets[opened.id].userid = client.id
    sim.state.touch()
    run_sync(engine, settings, whmcs, full=True, concurrency=1)
    refused = _gate(web, client.id)
    assert refused["allow"] is False and refused["ticket_id"] == opened.id
    with engine.connect() as conn:
        assert status.for_ticket(conn, opened.id)["owner"]["state"] == "ticket"
    engine.dispose()


def test_unmatched_sender_is_on_the_panel_and_the_dashboard(db_url, sim, whmcs) -> None:
    from tests.conftest import TEST_TOKEN

    settings, engine, web, worker = _setup(db_url, whmcs)
    opened = _guest_mail(web, whmcs, worker, "Nobody",
                         f"u-{uuid.uuid4().hex[:6]}@nowhere.example.invalid")
    assert _resolve(settings, engine, worker) == 1
    auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
    panel = web.get(f"/api/tickets/{opened.id}/panel?lang=en", headers=auth)
    assert panel.status_code == 200
    assert "sender not matched to any client" in panel.get_data(as_text=True)
    vi = web.get(f"/api/tickets/{opened.id}/panel?lang=vi", headers=auth).get_data(as_text=True)
    assert "người gửi không khớp với khách hàng nào" in vi
    page = web.get("/dashboard?lang=en", headers=auth)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f'data-ticket-id="{opened.id}"'):]
    assert "sender not matched to any client" in row[:row.index("</tr>")]
    engine.dispose()


def test_lookup_reads_every_source_and_survives_an_older_whmcs() -> None:
    """Pure over a stand-in client: contacts and users count only on an exact address (GetUsers
    matches a prefix), a WHMCS without GetUsers (before 8.1) or without the client is no match,
    and each client is listed once."""
    from types import SimpleNamespace as NS

    from whmcs_bridge.api.errors import NotFoundError, UnknownActionError

    class Whmcs:
        def __init__(self, users: bool) -> None:
            self.users = users

        def get_client(self, *, email: str) -> Any:
            raise NotFoundError("GetClientsDetails", 200, "Client Not Found")

        def get_contacts(self, *, email: str) -> Any:
            return NS(items=[NS(userid=4, email="A@Example.com"), NS(userid=9, email="x@y.z")])

        def get_users(self, *, search: str) -> Any:
            if not self.users:
                raise UnknownActionError("GetUsers", 200, "Invalid API Action")
            return NS(items=[NS(email="a@example.com", client_ids=[4, 6]),
                             NS(email="a@example.com.evil", client_ids=[7])])

        def get_clients_products(self, *, domain: str, limitnum: int) -> Any:
            return NS(items=[NS(clientid=5, domain="Shop.Example.vn")])

        def get_clients_domains(self, *, domain: str, limitnum: int) -> Any:
            return NS(items=[NS(userid=5, domainname="shop.example.vn"),
                             NS(userid=8, domainname="other.example.vn")])

    text = ("upgrade shop.example.vn please",)
    assert owners.lookup(Whmcs(True), sender=" A@example.com ", texts=text) == ([4, 6], [5])
    assert owners.lookup(Whmcs(False), sender="a@example.com", texts=text) == ([4], [5])
