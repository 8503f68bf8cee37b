"""Staff API contract (design "Staff API"): 401 / 404 / 200 with exactly the documented
shape, the real verification block, and the HTML panel in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TEST_TOKEN, make_settings
from tests.tickets.conftest import FakeWhmcs
from whmcs_bridge.runtime import build_app
from whmcs_bridge.tickets import store
from whmcs_bridge.verification import store as vstore

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
TOP_KEYS = ["id", "tid", "subject", "priority", "level", "status", "department_id",
            "client_id", "channel", "sla", "verification", "escalations", "contact_preference"]
SLA_KEYS = ["target_minutes", "opened_at", "first_response_due_at", "first_response_at",
            "next_response_due_at", "state", "remaining_seconds"]


@pytest.fixture
def app_and_bridge(db_url: str, bridge_factory):
    settings = make_settings(db_url)
    b = bridge_factory(db_url, settings, FakeWhmcs())
    app = build_app(settings, engine=b.engine)
    return app.test_client(), b


def _open(b, tid: int, opened: datetime, priority: str = "High") -> None:
    b.deliver("TicketOpen", {"ticketid": tid, "ticketmask": f"ABC-{tid:06d}", "userid": 42,
                             "deptid": 1, "subject": "Máy chủ <b>down</b>", "message": "m",
                             "priority": priority}, opened)


def test_auth_and_not_found(app_and_bridge) -> None:
    client, _ = app_and_bridge
    assert client.get("/api/tickets/1").status_code == 401
    assert client.get("/api/tickets/1", headers={"Authorization": "Bearer nope"}
                      ).status_code == 401
    assert client.get("/api/tickets/1/panel").status_code == 401
    r = client.get("/api/tickets/999", headers=AUTH)
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert client.get("/api/tickets/999/panel", headers=AUTH).status_code == 404


def test_enriched_ticket_shape(app_and_bridge) -> None:
    client, b = app_and_bridge
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    _open(b, 123, opened)
    r = client.get("/api/tickets/123", headers=AUTH)
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == TOP_KEYS
    assert list(body["sla"]) == SLA_KEYS
    assert {k: body[k] for k in TOP_KEYS if k not in ("sla", "verification")} == {
        "id": 123, "tid": "ABC-000123", "subject": "Máy chủ <b>down</b>", "priority": "High",
        "level": "urgent", "status": "Open", "department_id": 1, "client_id": 42,
        "channel": "client_area", "escalations": [], "contact_preference": None}
    sla = body["sla"]
    assert sla["target_minutes"] == 30 and sla["state"] == "on_track"
    assert datetime.fromisoformat(sla["opened_at"]) == opened
    assert datetime.fromisoformat(sla["first_response_due_at"]) == opened + timedelta(minutes=30)
    assert ISO.match(sla["opened_at"]) and ISO.match(sla["first_response_due_at"])
    assert sla["first_response_at"] is None and sla["next_response_due_at"] is None
    assert isinstance(sla["remaining_seconds"], int) and 1100 < sla["remaining_seconds"] <= 1200
    assert body["verification"] == {"required": False, "state": "not_required", "method": None,
                                    "verified_at": None}


def test_met_ticket_next_reply_and_real_verification(app_and_bridge) -> None:
    client, b = app_and_bridge
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    _open(b, 7, opened, priority="Medium")
    b.deliver("TicketAdminReply", {"ticketid": 7, "replyid": 1, "admin": "Lan",
                                   "message": "hi"}, opened + timedelta(minutes=20))
    b.deliver("TicketUserReply", {"ticketid": 7, "replyid": 2, "userid": 42,
                                  "status": "Customer-Reply"}, opened + timedelta(minutes=170))
    with b.engine.begin() as conn:
        store.set_contact_preference(conn, 7, "phone")
        vstore.create_request(conn, ticket_id=7, client_id=42, tid="ABC-000007",
                              changes=["package_change"], channel="email", language="vi",
                              state="required", now=opened)
    body = client.get("/api/tickets/7", headers=AUTH).get_json()
    sla = body["sla"]
    assert datetime.fromisoformat(sla["first_response_at"]) == opened + timedelta(minutes=20)
    assert datetime.fromisoformat(sla["next_response_due_at"]) == opened + timedelta(minutes=230)
    assert sla["state"] == "on_track" and body["status"] == "Customer-Reply"
    assert body["contact_preference"] == "phone"
    assert body["verification"]["required"] is True
    assert body["verification"]["state"] == "required"


def test_panel_fragment(app_and_bridge) -> None:
    client, b = app_and_bridge
    opened = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # long overdue
    _open(b, 5, opened)
    r = client.get("/api/tickets/5/panel?lang=vi&tz=Asia/Ho_Chi_Minh", headers=AUTH)
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "Khẩn cấp" in html and "Đã trễ" in html and "#d93025" in html
    assert "08:30 05/01/2026 Asia/Ho_Chi_Minh" in html  # 01:30 UTC in the agent's zone
    assert "Khu vực khách hàng" in html and "Không cần" in html
    assert 'data-running="1"' in html and "setInterval" in html
    assert "<b>down</b>" not in html  # nothing from the ticket is injected unescaped
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # self-contained
    en = client.get("/api/tickets/5/panel?lang=en&tz=UTC", headers=AUTH).get_data(as_text=True)
    assert "Urgent" in en and "Breached" in en and "01:30 05/01/2026 UTC" in en
    bad = client.get("/api/tickets/5/panel?lang=fr", headers=AUTH)
    assert bad.status_code == 400 and "lang" in bad.get_json()["errors"]
    bad = client.get("/api/tickets/5/panel?tz=Mars/Base", headers=AUTH)
    assert bad.status_code == 400 and "tz" in bad.get_json()["errors"]
    # a folder of zones, or a name too long for the file system, raised OSError (a 500)
    for tz in ("Asia", "America/Argentina", "a" * 300):
        bad = client.get(f"/api/tickets/5/panel?tz={tz}", headers=AUTH)
        assert bad.status_code == 400 and "tz" in bad.get_json()["errors"], tz


def test_panel_paused_ticket_has_a_frozen_countdown(app_and_bridge) -> None:
    client, b = app_and_bridge
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    _open(b, 6, opened, priority="Low")
    with b.engine.begin() as conn:
        store.start_pause(conn, 6, "awaiting_verification", opened + timedelta(minutes=1))
    body = client.get("/api/tickets/6", headers=AUTH).get_json()
    assert body["sla"]["state"] == "paused" and body["sla"]["remaining_seconds"] == 119 * 60
    html = client.get("/api/tickets/6/panel?lang=en", headers=AUTH).get_data(as_text=True)
    assert "Paused" in html and 'data-running="0"' in html and "1:59:00" in html


def test_panel_escalations_in_words(app_and_bridge) -> None:
    client, b = app_and_bridge
    opened = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    _open(b, 11, opened)
    key = f"first_reply:{int(opened.timestamp())}"
    with b.engine.begin() as conn:
        store.record_escalation(conn, 11, key, "breached", "note", outcome="done", at=opened)
        store.record_escalation(conn, 11, key, "breached", "raise_priority", outcome="skipped",
                                at=opened, detail="threshold crossed before go-live")
    en = client.get("/api/tickets/11/panel?lang=en", headers=AUTH).get_data(as_text=True)
    assert "<li>First reply overdue: internal note added</li>" in en
    assert "First reply overdue: priority raise not done (overdue before go-live)" in en
    assert "breached ·" not in en and "add_note" not in en and "raise_priority" not in en
    vi = client.get("/api/tickets/11/panel?lang=vi", headers=AUTH).get_data(as_text=True)
    assert "<li>Trễ hạn phản hồi đầu: đã thêm ghi chú nội bộ</li>" in vi


def test_panel_never_shows_no_sla_beside_a_target(app_and_bridge) -> None:
    """A ticket staff opened owes no first reply (state not_applicable) but its department has
    a target: the panel said "No SLA · Target: 30 min"."""
    client, b = app_and_bridge
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    b.deliver("TicketOpenAdmin", {"ticketid": 12, "ticketmask": "ABC-000012", "userid": 42,
                                  "deptid": 1, "subject": "Renewal", "message": "m",
                                  "priority": "High", "admin": "Lan"}, opened)
    body = client.get("/api/tickets/12", headers=AUTH).get_json()
    assert body["sla"]["state"] == "not_applicable" and body["sla"]["target_minutes"] == 30
    en = client.get("/api/tickets/12/panel?lang=en", headers=AUTH).get_data(as_text=True)
    assert "Target:" not in en and "No SLA" not in en and "No reply owed" in en
    vi = client.get("/api/tickets/12/panel?lang=vi", headers=AUTH).get_data(as_text=True)
    assert "Mục tiêu" not in vi and "Không chờ phản hồi" in vi
    # a chat ticket has no promise at all: "No SLA", and still no target
    b.deliver("TicketOpen", {"ticketid": 13, "ticketmask": "ABC-000013", "userid": 42,
                             "deptid": 1, "subject": "[chat] hi", "message": "m",
                             "priority": "High"}, opened)
    chat = client.get("/api/tickets/13/panel?lang=en", headers=AUTH).get_data(as_text=True)
    assert "No SLA" in chat and "Target:" not in chat


def _methods(html: str) -> list[str]:
    m = re.search(r'data-wb-verify-methods="([^"]*)"', html)
    assert m, html[:300]
    return m.group(1).split()


@pytest.mark.parametrize(("state", "expected"), [
    (None, []),
    ("required", ["client_login", "service_login", "card_last4", "payment", "in_person"]),
    ("locked", ["in_person"]),
    ("verified", []),
    ("refused", []),
])
def test_panel_lists_the_proofs_staff_can_record(app_and_bridge, state, expected) -> None:
    """The module prints its form only for these methods (none unless proof is required);
    ``link`` only when the bridge has a public URL (make_settings sets none)."""
    client, b = app_and_bridge
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    _open(b, 14, opened)
    if state is not None:
        with b.engine.begin() as conn:
            vstore.create_request(conn, ticket_id=14, client_id=42, tid="ABC-000014",
                                  changes=["package_change"], channel="email", language="vi",
                                  state=state, now=opened)
    html = client.get("/api/tickets/14/panel?lang=en", headers=AUTH).get_data(as_text=True)
    assert _methods(html) == expected


def test_staff_methods_offer_the_link_only_with_a_public_url() -> None:
    from whmcs_bridge.verification.status import staff_methods
    assert staff_methods("required", link_available=True)[-1] == "link"
    assert staff_methods("locked", link_available=True) == ("in_person", "link")
    assert "link" not in staff_methods("required", link_available=False)
