"""End to end with real servers started here: an SMTP server (aiosmtpd), an HTTP server for
chat webhooks (signatures checked with the public ``standardwebhooks`` package) and the WHMCS
simulator recording SendEmail / TriggerNotificationEvent. Failure paths included."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select
from standardwebhooks import Webhook

from tests.notify.conftest import (
    HOOK_SECRET,
    NOW,
    SmtpRecorder,
    free_port,
    notify_settings,
    sample_payload,
)
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.deliver import Deliverer
from whmcs_bridge.notify.tables import deliveries
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine

STAFF = [
    {"email": "oncall@example.com", "name": "On Call", "language": "en",
     "timezone": "Europe/London"},
    {"email": "truc.ca@example.com", "name": "Trực ca", "language": "vi"},
]


def smtp_cfg(port: int, **kw) -> dict:
    return {"host": "127.0.0.1", "port": port, "starttls": False,
            "from": "Hỗ trợ <support@example.com>", "timeout": 5, **kw}


@pytest.fixture
def engine(sqlite_url):
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


def enqueue(engine, settings, name, key, **overrides):
    with engine.begin() as conn:
        return outbox.enqueue(conn, notification=name, payload=sample_payload(name, **overrides),
                              dedupe_key=key, now=NOW, settings=settings)


def rows(engine):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in
                conn.execute(select(deliveries).order_by(deliveries.c.id))]


def deliverer(engine, settings, whmcs=None) -> Deliverer:
    return Deliverer(engine, settings, whmcs=whmcs, rng=random.Random(7))


# ---------------------------------------------------------------------------- SMTP


def test_staff_mail_reaches_a_real_smtp_server_in_each_persons_language(
        engine, sqlite_url, smtp_server) -> None:
    recorder, port = smtp_server
    settings = notify_settings(sqlite_url, smtp=smtp_cfg(port), staff=STAFF)
    enqueue(engine, settings, "urgent_ticket_opened", "urgent:1234")
    report = deliverer(engine, settings).run_once(NOW)
    assert (report.sent, report.failed) == (2, 0)
    by_to = {m["To"]: m for m in recorder.messages}
    assert set(by_to) == {"oncall@example.com", "truc.ca@example.com"}
    en, vi = by_to["oncall@example.com"], by_to["truc.ca@example.com"]
    assert en["Subject"] == "[#ABC-123456] New URGENT ticket: Website down <b>& slow</b>"
    assert vi["Subject"].startswith("[#ABC-123456] Yêu cầu KHẨN CẤP mới")
    assert en["From"] == "Hỗ trợ <support@example.com>"
    assert (en["Content-Language"], vi["Content-Language"]) == ("en", "vi")
    assert en["Auto-Submitted"] == "auto-generated" and en["Message-ID"]
    assert en["X-WHMCS-Bridge-Notification"] == "urgent_ticket_opened"
    en_text = en.get_body(("plain",)).get_content()
    vi_text = vi.get_body(("plain",)).get_content()
    assert "What to do" in en_text and "Việc cần làm" in vi_text
    # due 08:30 UTC: 08:30 in London, 15:30 in Ho Chi Minh City (the default zone)
    assert "25 Nov 2026, 08:30 (Europe/London)" in en_text
    assert "15:30 ngày 25/11/2026 (Asia/Ho_Chi_Minh)" in vi_text
    html = en.get_body(("html",)).get_content()
    assert "&lt;b&gt;&amp; slow&lt;/b&gt;" in html
    assert "https://whmcs.test/admin/supporttickets.php?action=view&amp;id=1234" in html


def test_smtp_login_is_used_when_configured(engine, sqlite_url) -> None:
    recorder, seen = SmtpRecorder(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        settings = notify_settings(sqlite_url, staff=STAFF[:1], smtp=smtp_cfg(
            port, username="bridge", password="s3cret"))
        enqueue(engine, settings, "sla_at_risk", "risk:1")
        assert deliverer(engine, settings).run_once(NOW).sent == 1
    finally:
        controller.stop()
    assert seen == [(b"bridge", b"s3cret")] and len(recorder.messages) == 1


def test_smtp_refusing_then_recovering_delivers_exactly_once(
        engine, sqlite_url, smtp_server) -> None:
    recorder, port = smtp_server
    recorder.refuse_next = 2  # 451 twice, then accept
    settings = notify_settings(sqlite_url, smtp=smtp_cfg(port), staff=STAFF[:1],
                               backoff_base_seconds=30)
    enqueue(engine, settings, "sla_breached", "breach:1")
    d = deliverer(engine, settings)
    assert d.run_once(NOW).failed == 1
    [row] = rows(engine)
    assert row["status"] == "failed" and "451" in row["last_error"]
    assert d.run_once(row["next_attempt_at"]).failed == 1
    [row] = rows(engine)
    report = d.run_once(row["next_attempt_at"])
    assert report.sent == 1
    assert d.run_once(row["next_attempt_at"] + timedelta(hours=2)).claimed == 0
    [row] = rows(engine)
    assert row["status"] == "sent" and row["attempts"] == 3
    assert len(recorder.messages) == 1


def test_smtp_server_down_is_retried(engine, sqlite_url) -> None:
    settings = notify_settings(sqlite_url, smtp=smtp_cfg(free_port()), staff=STAFF[:1])
    enqueue(engine, settings, "sla_breached", "breach:2")
    assert deliverer(engine, settings).run_once(NOW).failed == 1
    assert "ConnectionRefusedError" in rows(engine)[0]["last_error"]


def test_smtp_permanent_refusal_is_a_dead_letter(engine, sqlite_url, smtp_server) -> None:
    recorder, port = smtp_server
    recorder.refuse_next, recorder.refuse_reply = 1, "554 5.7.1 Message rejected"
    settings = notify_settings(sqlite_url, smtp=smtp_cfg(port), staff=STAFF[:1])
    enqueue(engine, settings, "sla_breached", "breach:3")
    assert deliverer(engine, settings).run_once(NOW).dead == 1


# ---------------------------------------------------------------------------- chat webhooks


def test_generic_webhook_is_signed_and_verifies_with_standardwebhooks(
        engine, sqlite_url, hook_server) -> None:
    hook_server.statuses = [500]  # first attempt fails; the retry carries the same id
    settings = notify_settings(sqlite_url, webhook={"url": hook_server.url + "/hook",
                                                    "secret": HOOK_SECRET, "language": "en"})
    enqueue(engine, settings, "sla_breached", "breach:wh")
    d = deliverer(engine, settings)
    assert d.run_once(NOW).failed == 1
    assert d.run_once(rows(engine)[0]["next_attempt_at"]).sent == 1
    assert len(hook_server.requests) == 2
    verifier = Webhook(HOOK_SECRET)
    ids = set()
    for request in hook_server.requests:
        event = verifier.verify(request["body"], request["headers"])
        ids.add(request["headers"]["webhook-id"])
        assert event["type"] == "notification.sla_breached"
        assert event["data"]["items"] == [sample_payload("sla_breached")]
        assert event["data"]["language"] == "en"
        assert "missed" in event["data"]["text"]
    assert len(ids) == 1  # a receiver can drop the duplicate
    with pytest.raises(Exception):  # noqa: B017 - whatever the library raises for a bad key
        Webhook("whsec_" + "A" * 43 + "=").verify(hook_server.requests[1]["body"],
                                                   hook_server.requests[1]["headers"])


def test_webhook_500s_back_off_then_dead_letter(engine, sqlite_url, hook_server) -> None:
    hook_server.always = 500
    settings = notify_settings(sqlite_url, webhook={"url": hook_server.url + "/hook",
                                                    "secret": HOOK_SECRET},
                               max_attempts=4, backoff_base_seconds=10)
    enqueue(engine, settings, "dead_letter", "dl:1")
    d = deliverer(engine, settings)
    at, gaps = NOW, []
    for _ in range(3):
        assert d.run_once(at).failed == 1
        [row] = rows(engine)
        gaps.append((row["next_attempt_at"] - at).total_seconds())
        assert d.run_once(at + timedelta(seconds=gaps[-1] / 2 - 0.1)).claimed == 0
        at = row["next_attempt_at"]
    assert d.run_once(at).dead == 1
    [row] = rows(engine)
    assert row["status"] == "dead" and row["attempts"] == 4
    assert row["last_error"] == "webhook: HTTP 500"
    assert len(hook_server.requests) == 4
    # exponential: each base window doubles (equal jitter keeps each within [b/2, b])
    for i, gap in enumerate(gaps):
        assert 10 * 2 ** i / 2 <= gap <= 10 * 2 ** i


def test_slack_teams_and_telegram_payloads(engine, sqlite_url, hook_server) -> None:
    token = "123456:SECRET-token"
    hook_server.statuses = [200, 200, 500]
    settings = notify_settings(
        sqlite_url, slack={"url": hook_server.url + "/slack"},
        teams={"url": hook_server.url + "/teams", "language": "en"},
        telegram={"bot_token": token, "chat_id": "-1001", "api_url": hook_server.url})
    enqueue(engine, settings, "contact_preference", "cp:1", preference="zalo")
    report = deliverer(engine, settings).run_once(NOW)
    assert report.sent + report.failed == 3
    by_path = {r["path"]: r for r in hook_server.requests}
    assert set(by_path) == {"/slack", "/teams", f"/bot{token}/sendMessage"}
    import json

    slack = json.loads(by_path["/slack"]["body"])
    assert slack["text"].startswith("*[#ABC-123456] Khách hàng muốn được liên hệ qua Zalo*")
    teams = json.loads(by_path["/teams"]["body"])
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert "Zalo" in card["body"][0]["text"] and card["actions"][0]["type"] == "Action.OpenUrl"
    tg = json.loads(by_path[f"/bot{token}/sendMessage"]["body"])
    assert tg["chat_id"] == "-1001" and "Zalo" in tg["text"]
    for row in rows(engine):  # whichever failed, the token never reaches the table
        assert token not in (row["last_error"] or "")


# ---------------------------------------------------------------------------- WHMCS


@pytest.fixture
def sim():
    handle = run_in_thread(SimConfig(seed=11, clients=6, tickets=30))
    yield handle
    handle.stop()


def _ticket_of(sim, language: str):
    for ticket in sim.state.tickets.values():
        client = sim.state.clients.get(ticket.userid)
        if client and client.language == language:
            return ticket, client
    raise AssertionError(f"no {language} client with a ticket in the simulator seed")


def test_customer_mail_goes_through_whmcs_sendemail(engine, sqlite_url, sim) -> None:
    ticket, client = _ticket_of(sim, "vietnamese")
    settings = notify_settings(sqlite_url)
    enqueue(engine, settings, "verification_required", "vr:1", ticket_id=ticket.id,
            tid=ticket.tid, client_id=client.id, language="")
    report = deliverer(engine, settings, whmcs=sim.client(retries=0)).run_once(NOW)
    assert report.sent == 1
    [mail] = sim.state.sent_emails
    assert (mail["customtype"], mail["id"], mail["to"]) == ("support", ticket.id, client.email)
    assert mail["subject"] == f"Yêu cầu #{ticket.tid}: vui lòng xác minh chủ tài khoản"
    assert "Kính chào" in mail["message"] and "<p>" in mail["message"]
    assert "<html" not in mail["message"]  # WHMCS wraps it in its own template


def test_customer_mail_falls_back_to_smtp_at_the_address_on_file(
        engine, sqlite_url, sim, smtp_server) -> None:
    recorder, port = smtp_server
    ticket, client = _ticket_of(sim, "english")
    settings = notify_settings(sqlite_url, smtp=smtp_cfg(port))
    sim.state.inject_fault("500", action="SendEmail")
    enqueue(engine, settings, "verification_link", "vl:1", ticket_id=ticket.id,
            tid=ticket.tid, client_id=client.id, language="en")
    assert deliverer(engine, settings, whmcs=sim.client(retries=0)).run_once(NOW).sent == 1
    assert sim.state.sent_emails == []
    [mail] = recorder.messages
    assert mail["To"] == client.email and mail["Content-Language"] == "en"
    assert "Confirm the request" in mail.get_body(("html",)).get_content()
    assert "https://bridge.test/v/abc" in mail.get_body(("plain",)).get_content()
    with engine.connect() as conn:  # the link was delivered: the outbox no longer holds it
        [row] = outbox.list_deliveries(conn)
    assert "bridge.test" not in str(row["payload"]) and row["payload"]["tid"] == ticket.tid


def test_whmcs_notification_rules_get_the_event(engine, sqlite_url, sim) -> None:
    settings = notify_settings(sqlite_url, whmcs_notification={"identifier": "whmcs-bridge"})
    enqueue(engine, settings, "sla_breached", "breach:whmcs")
    assert deliverer(engine, settings, whmcs=sim.client(retries=0)).run_once(NOW).sent == 1
    [event] = sim.state.notifications
    assert event["notification_identifier"] == "whmcs-bridge"
    assert event["title"].startswith("[#ABC-123456]") and event["statusStyle"] == "danger"
    assert {"label": "Ticket", "value": "ABC-123456"} in event["attributes"]


def test_a_guest_ticket_is_answered_through_whmcs_bound_to_the_ticket(
        engine, sqlite_url, sim) -> None:
    guest = next(t for t in sim.state.tickets.values() if not t.userid)
    settings = notify_settings(sqlite_url, default_language="en")
    enqueue(engine, settings, "billing_redirected", "bill:guest", ticket_id=guest.id,
            tid=guest.tid, client_id=None, language="")
    assert deliverer(engine, settings, whmcs=sim.client(retries=0)).run_once(NOW).sent == 1
    [mail] = sim.state.sent_emails
    assert (mail["customtype"], mail["id"], mail["to"]) == ("support", guest.id, guest.email)
    assert mail["subject"] == f"Ticket #{guest.tid}: please call our hotline for billing questions"


def test_a_sweep_of_40_breaches_reaches_slack_as_one_message(
        engine, sqlite_url, hook_server) -> None:
    settings = notify_settings(sqlite_url, slack={"url": hook_server.url + "/slack",
                                                  "language": "en"})
    with engine.begin() as conn:  # what an SLA sweep does in one pass
        for i in range(40):
            outbox.enqueue(conn, notification="sla_breached",
                           payload=sample_payload("sla_breached", ticket_id=i, tid=f"T-{i:03}"),
                           dedupe_key=f"sweep:{i}", now=NOW, settings=settings)
    report = deliverer(engine, settings).run_once(NOW)
    assert (report.sent, report.messages) == (40, 1)
    assert len(hook_server.requests) == 1
    text = hook_server.json(0)["text"]
    assert text.startswith("*40 tickets that missed the SLA*")
    assert all(f"#T-{i:03}" in text for i in range(40))
