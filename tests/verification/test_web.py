"""The signed link pages (valid, expired, reused, tampered, wrong client, GET never approves)
and the staff proof API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import TEST_TOKEN
from tests.verification.helpers import add_ticket, context, notifications, vsettings
from webhooks.app import create_app
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import service, status, store, tokens

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture
def web(db_url: str, sim: Any, whmcs: Any, sim_client: Any) -> Any:
    settings = vsettings(db_url)
    engine = make_engine(db_url)
    app = create_app(settings, engine=engine, whmcs=whmcs)
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs, utcnow())
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="email",
                            language="english")
        service.open_request(ctx, service.BridgeEffects(ctx), ticket,
                             frozenset({"package_change"}))
        url = notifications(conn, "verification_link")[0].payload["url"]
    yield app.test_client(), engine, settings, ticket, url.rsplit("/verify/", 1)[1]
    engine.dispose()


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


def test_staff_api_nul_in_text_is_not_a_500(web) -> None:
    """PostgreSQL text cannot hold NUL: an admin name or reference with one used to fail the
    write (a 500 on PostgreSQL only)."""
    client, engine, _, ticket, _ = web
    resp = client.post(f"/api/tickets/{ticket.id}/verification", headers=AUTH,
                       json={"method": "in_person", "admin": "ali\x00ce", "reference": "R\x001"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["verification"]["state"] == "verified"
    with engine.connect() as conn:
        assert status.for_ticket(conn, ticket.id)["state"] == "verified"
