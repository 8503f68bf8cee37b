"""The signed link pages (valid, expired, reused, tampered, wrong client, GET never approves)
and the staff proof API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import TEST_TOKEN
from tests.verification.helpers import add_ticket, context, notifications, vsettings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import service, status, store, tokens
from whmcs_bridge.webhooks.openapi_spec import VerificationRecordSchema
from whmcs_bridge.webhooks.throttle import Throttle
from whmcs_bridge.webhooks.verification import LINK_BURST

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def _linked(settings: Any, db_url: str, sim: Any, whmcs: Any, sim_client: Any) -> Any:
    """An app and an e-mail ticket whose package change awaits its customer's link."""
    engine = make_engine(db_url)
    app = build_app(settings, engine=engine, whmcs=whmcs)
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs, utcnow())
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="email",
                            language="english")
        service.open_request(ctx, service.BridgeEffects(ctx), ticket,
                             frozenset({"package_change"}))
        url = notifications(conn, "verification_link")[0].payload["url"]
    return app.test_client(), engine, settings, ticket, url.rsplit("/verify/", 1)[1]


@pytest.fixture
def web(db_url: str, sim: Any, whmcs: Any, sim_client: Any) -> Any:
    linked = _linked(vsettings(db_url), db_url, sim, whmcs, sim_client)
    yield linked
    linked[1].dispose()


def _state(engine: Any, ticket_id: int) -> str:
    with engine.connect() as conn:
        return status.for_ticket(conn, ticket_id)["state"]


def test_get_shows_and_never_approves_post_approves_once(web) -> None:
    client, engine, _, ticket, token = web
    for _ in range(3):  # a mail scanner prefetching the link several times
        page = client.get(f"/verify/{token}")
        assert page.status_code == 200
        assert "<form method=\"post\">" in page.get_data(as_text=True)
        assert ticket.tid in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-store"
    assert _state(engine, ticket.id) == "required"
    done = client.post(f"/verify/{token}")
    assert done.status_code == 200 and "Verified" in done.get_data(as_text=True)
    assert _state(engine, ticket.id) == "verified"
    with engine.connect() as conn:
        assert status.for_ticket(conn, ticket.id)["method"] == "link"
        assert len(notifications(conn, "account_change_authorised")) == 1
    again = client.post(f"/verify/{token}")  # reused
    assert again.status_code == 409 and "already been used" in again.get_data(as_text=True)
    assert client.get(f"/verify/{token}").status_code == 409


def test_tampered_link_approves_nothing(web) -> None:
    client, engine, _, ticket, token = web
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for resp in (client.get(f"/verify/{flipped}"), client.post(f"/verify/{flipped}"),
                 client.post("/verify/not-a-token")):
        assert resp.status_code == 400
        assert "không hợp lệ" in resp.get_data(as_text=True)  # default language: vi
    assert _state(engine, ticket.id) == "required"


def test_expired_link_approves_nothing(web, whmcs) -> None:
    client, engine, settings, ticket, _ = web
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs, utcnow() - timedelta(minutes=31))
        token, claims, expires = tokens.issue(settings, ticket_id=ticket.id,
                                              client_id=ticket.client_id,
                                              changes=["package_change"], now=ctx.now)
        store.add_nonce(conn, nonce=claims.nonce, ticket_id=ticket.id,
                        client_id=ticket.client_id, issued_at=ctx.now, expires_at=expires)
    resp = client.post(f"/verify/{token}")  # the page speaks the ticket's language (en)
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)
    assert _state(engine, ticket.id) == "required"


def test_wrong_client_link_approves_nothing(web) -> None:
    client, engine, settings, ticket, _ = web
    now = utcnow()
    token, claims, expires = tokens.issue(settings, ticket_id=ticket.id,
                                          client_id=ticket.client_id + 1,
                                          changes=["package_change"], now=now)
    with engine.begin() as conn:
        store.add_nonce(conn, nonce=claims.nonce, ticket_id=ticket.id,
                        client_id=ticket.client_id + 1, issued_at=now, expires_at=expires)
    resp = client.post(f"/verify/{token}?lang=vi")
    assert resp.status_code == 403 and "không khớp" in resp.get_data(as_text=True)
    assert _state(engine, ticket.id) == "required"
    with engine.connect() as conn:
        rows = store.attempts_for_ticket(conn, ticket.id)
    assert [(r.method, r.outcome, r.reason) for r in rows] == [("link", "rejected",
                                                                 "wrong_client")]


def test_old_key_still_accepted_after_rotation(web, db_url) -> None:
    _client, _engine, settings, ticket, token = web
    rotated = vsettings(db_url, server={"secret_key": "brand-new-secret-key-" + "n" * 16},
                        verification={"old_secret_keys": [settings.server.secret_key.reveal()]})
    assert tokens.read(rotated, token, now=utcnow()).ticket_id == ticket.id
    stranger = vsettings(db_url, server={"secret_key": "unrelated-secret-key-" + "u" * 16})
    with pytest.raises(tokens.LinkError):
        tokens.read(stranger, token, now=utcnow())


def test_staff_api_proofs(web, sim_client) -> None:
    client, _engine, _, ticket, _ = web
    url = f"/api/tickets/{ticket.id}/verification"
    assert client.post(url, json={"method": "card_last4", "admin": "a",
                                  "last4": "1234"}).status_code == 401
    bad = client.post(url, json={"method": "card_last4", "admin": "alice", "last4": "12"},
                      headers=AUTH)
    assert bad.status_code == 400 and "last4" in bad.get_json()["errors"]
    no_admin = client.post(url, json={"method": "card_last4", "last4": "1234"}, headers=AUTH)
    assert no_admin.status_code == 400 and "admin" in no_admin.get_json()["errors"]
    # nested deeper than the JSON decoder recurses: RecursionError, a 500
    for raw in (b"[" * 200_000, b'{"a":' * 200_000):
        deep = client.post(url, data=raw, content_type="application/json", headers=AUTH)
        assert deep.status_code == 400 and "body" in deep.get_json()["errors"]
    missing = client.post("/api/tickets/99999999/verification", headers=AUTH,
                          json={"method": "in_person", "admin": "a", "reference": "R1"})
    assert missing.status_code == 404
    card = next(p for p in sim_client.paymethods if "Card" in p.type)
    wrong = "0000" if card.card_last_four != "0000" else "0001"
    failed = client.post(url, headers=AUTH, json={"method": "card_last4", "admin": "alice",
                                                   "last4": wrong})
    assert failed.status_code == 200
    assert failed.get_json()["outcome"] == "failed"
    ok = client.post(url, headers=AUTH, json={"method": "card_last4", "admin": "alice",
                                               "last4": card.card_last_four})
    assert ok.get_json()["outcome"] == "verified"
    assert ok.get_json()["verification"]["state"] == "verified"
    shown = client.get(url, headers=AUTH).get_json()
    assert [a["outcome"] for a in shown["attempts"]] == ["failed", "verified"]
    assert card.card_last_four not in str(shown)
    link = client.post(url, headers=AUTH, json={"method": "link", "admin": "alice"})
    assert link.status_code == 409  # already verified: no link to send


def test_verification_record_keys_come_in_the_documented_order(web) -> None:
    """JSON answers keep the order they are written in (``app.json.sort_keys = False``),
    which for the record is the documented schema's: ids first, the audit last."""
    client, _engine, _, ticket, _ = web
    body = client.get(f"/api/tickets/{ticket.id}/verification", headers=AUTH).get_json()
    assert list(body) == list(VerificationRecordSchema().fields)
    assert list(body)[:2] == ["ticket_id", "tid"] and list(body)[-1] == "attempts"


def test_staff_api_nul_in_text_is_not_a_500(web) -> None:
    """PostgreSQL text cannot hold NUL: an admin name or reference with one used to fail the
    write (a 500 on PostgreSQL only)."""
    client, engine, _, ticket, _ = web
    odd_admin = client.post(f"/api/tickets/{ticket.id}/verification", headers=AUTH,
                            json={"method": "in_person", "admin": "ali\x00ce",
                                  "reference": "R1"})
    assert odd_admin.status_code == 400 and "admin" in odd_admin.get_json()["errors"]
    resp = client.post(f"/api/tickets/{ticket.id}/verification", headers=AUTH,
                       json={"method": "in_person", "admin": "alice", "reference": "R\x001"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["verification"]["state"] == "verified"
    with engine.connect() as conn:
        assert status.for_ticket(conn, ticket.id)["state"] == "verified"


# --------------------------------------------------------------------------- issue 13.6

def _checkouts(engine: Any) -> list[int]:
    """Counts every connection taken from the engine's pool from now on."""
    taken: list[int] = []
    event.listen(engine.pool, "checkout", lambda *_: taken.append(1))
    return taken


def test_a_made_up_link_touches_no_database(web) -> None:
    client, engine, _, _ticket, token = web
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    taken = _checkouts(engine)
    for resp in (client.post("/verify/anything"), client.post(f"/verify/{flipped}"),
                 client.get("/verify/anything")):
        assert resp.status_code == 400
    assert taken == []
    assert client.get(f"/verify/{token}").status_code == 200 and taken  # a real one does


def test_a_used_link_is_audited_once(web) -> None:
    client, engine, _, ticket, token = web
    assert client.post(f"/verify/{token}").status_code == 200
    for _ in range(4):  # the customer reloads, a scanner replays
        assert client.post(f"/verify/{token}").status_code == 409
    with engine.connect() as conn:
        rows = store.attempts_for_ticket(conn, ticket.id)
    assert [(r.outcome, r.reason) for r in rows] == [("verified", "link_approved"),
                                                    ("rejected", "used")]


def test_link_pages_are_rate_limited_per_address(web) -> None:
    client, _, _, _, _ = web
    codes = [client.post("/verify/x", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
             for _ in range(LINK_BURST + 3)]
    assert codes == [400] * LINK_BURST + [429] * 3
    refused = client.get("/verify/x", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    other = client.post("/verify/x", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 400  # another address has its own bucket


def test_throttle_refills_at_its_rate() -> None:
    now = [100.0]
    bucket = Throttle(2, 0.5, clock=lambda: now[0], max_keys=2)
    assert [bucket.allow("a") for _ in range(3)] == [True, True, False]
    assert bucket.blocked("a") and bucket.retry_after("a") == 2
    now[0] += 2.0
    assert bucket.allow("a") and not bucket.allow("a")
    assert bucket.allow("b") and bucket.allow("c")  # a third key evicts the oldest…
    assert len(bucket._buckets) == 2


def test_in_person_reference_is_bounded(web) -> None:
    client, engine, _, ticket, _ = web
    url = f"/api/tickets/{ticket.id}/verification"
    long = client.post(url, headers=AUTH, json={"method": "in_person", "admin": "alice",
                                                "reference": "R" * 201})
    assert long.status_code == 400 and "reference" in long.get_json()["errors"]
    with engine.connect() as conn:
        assert store.attempts_for_ticket(conn, ticket.id) == []
    ok = client.post(url, headers=AUTH, json={"method": "in_person", "admin": "alice",
                                              "reference": "R" * 200})
    assert ok.status_code == 200 and ok.get_json()["outcome"] == "verified"


def test_the_audit_names_the_credential_not_free_text(db_url, sim, whmcs, sim_client) -> None:
    panel = "whmcs-panel:" + "p" * 24
    settings = vsettings(db_url, api={"tokens": [TEST_TOKEN, panel]})
    engine = make_engine(db_url)
    client = build_app(settings, engine=engine, whmcs=whmcs).test_client()
    with engine.begin() as conn:
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="phone")
    url = f"/api/tickets/{ticket.id}/verification"
    posing = client.post(url, headers=AUTH, json={
        "method": "in_person", "reference": "V1", "admin": "alice (verified by the director)"})
    assert posing.status_code == 400 and "admin" in posing.get_json()["errors"]
    done = client.post(url, headers={"Authorization": f"Bearer {panel}"},
                       json={"method": "in_person", "reference": "V1", "admin": "alice"})
    assert done.status_code == 200, done.get_json()
    with engine.connect() as conn:
        rows = store.attempts_for_ticket(conn, ticket.id)
        assert [r.actor for r in rows] == ["alice via whmcs-panel"]
        assert store.get_request(conn, ticket.id).verified_by == "alice via whmcs-panel"
    engine.dispose()


def test_link_page_carries_the_company_name(db_url: str, sim: Any, whmcs: Any,
                                            sim_client: Any) -> None:
    settings = vsettings(db_url, verification={"company_name": "Nhân Hoà <Hosting>"})
    client, engine, _, _, token = _linked(settings, db_url, sim, whmcs, sim_client)
    html = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "<title>Nhân Hoà &lt;Hosting&gt; · " in html
    assert "<header>Nhân Hoà &lt;Hosting&gt;</header>" in html
    engine.dispose()


def test_link_pages_and_status_read_without_taking_the_write_lock(web, whmcs) -> None:
    """GET pages, an expired link's POST and the status view only read: on SQLite they must
    not queue for the write lock (BEGIN IMMEDIATE) behind the worker's transactions."""
    client, engine, settings, ticket, token = web
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs, utcnow() - timedelta(minutes=31))
        expired, claims, expires = tokens.issue(settings, ticket_id=ticket.id,
                                                client_id=ticket.client_id,
                                                changes=["package_change"], now=ctx.now)
        store.add_nonce(conn, nonce=claims.nonce, ticket_id=ticket.id,
                        client_id=ticket.client_id, issued_at=ctx.now, expires_at=expires)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: statements.append(sql))
    assert client.get(f"/verify/{token}").status_code == 200
    assert client.post(f"/verify/{expired}").status_code == 410
    assert client.get(f"/api/tickets/{ticket.id}/verification", headers=AUTH).status_code == 200
    assert statements  # the views did read
    assert "BEGIN IMMEDIATE" not in statements
