"""Contact preferences: detection (pure) and the priority-60 handler, run twice like a retried
handler, ending in exactly one staff message on a real SMTP server."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from tests.notify.conftest import NOW, notify_settings
from whmcs_bridge.hooks import notify as notify_handlers
from whmcs_bridge.hooks.context import Event, HandlerContext, PrepareContext, Services
from whmcs_bridge.hooks.notify import client_field, contact_preference
from whmcs_bridge.hooks.registry import load_registry
from whmcs_bridge.notify import outbox, preferences
from whmcs_bridge.notify.deliver import Deliverer
from whmcs_bridge.store import make_engine
from whmcs_bridge.tickets import store


@pytest.mark.parametrize(("text", "expected"), [
    ("Please call me on 0903 123 456, the site is down", "phone"),
    ("Could you give me a call about this?", "phone"),
    ("Vui lòng gọi điện cho tôi để hướng dẫn", "phone"),
    ("vui long goi dien cho toi", "phone"),
    ("Xin gọi lại cho tôi sau 5 giờ", "phone"),
    ("Liên hệ qua Zalo 0903123456 giúp mình", "zalo"),
    ("nhắn telegram cho mình nhé", "telegram"),
    ("Có gì inbox qua facebook cho em", "facebook"),
    ("Don't call me, e-mail is fine", None),
    ("Đừng gọi điện cho tôi, tôi đang họp", None),
    ("I called you yesterday but nobody answered", None),
    ("My website shows error 500", None),
    ("", None),
])
def test_detect(text: str, expected: str | None) -> None:
    assert preferences.detect(text) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Điện thoại", "phone"), ("Zalo", "zalo"), ("Phone call", "phone"), ("E-mail", "email"),
    ("", None), ("none", None),
])
def test_custom_field_values(value: str, expected: str | None) -> None:
    assert preferences.from_field(value) == expected


def test_custom_field_shapes() -> None:
    assert preferences.field_value([{"id": 5, "value": "Zalo"}], 5) == "Zalo"
    assert preferences.field_value({"customfield": [{"id": "5", "value": "x"}]}, 5) == "x"
    assert preferences.field_value({"5": "y"}, 5) == "y"
    assert preferences.field_value(None, 5) is None


def test_handler_and_job_are_registered() -> None:
    registry = load_registry([notify_handlers], entry_point_group=None)
    for hook in ("TicketOpen", "TicketUserReply"):
        [spec] = registry.handlers_for(hook)
        assert (spec.name, spec.priority) == ("notify.contact_preference", 60)
    [job] = registry.jobs()
    assert job.name == "notify.deliver" and job.every_seconds <= 10


def _event(message: str, event_id: str = "evt-1", **data) -> Event:
    return Event(id=event_id, type="TicketOpen", timestamp=NOW, received_at=NOW,
                 data={"ticketid": 77, "ticketmask": "XYZ-777777", "userid": 7, "deptid": 1,
                       "subject": "Hosting", "message": message, **data})


def _run(engine, settings, event: Event, whmcs=None) -> None:
    """As the worker runs it: the WHMCS read (``prepare``) before the transaction."""
    services = Services(settings, whmcs=whmcs)
    prepared = client_field(event, PrepareContext(settings=settings, now=NOW, services=services))
    with engine.begin() as conn:
        ctx = HandlerContext(settings=settings, conn=conn, now=NOW, services=services,
                             event=event, extra={"prepared": prepared})
        contact_preference(event, ctx)


def test_duplicate_handler_runs_send_one_message(db_url, smtp_server) -> None:
    recorder, port = smtp_server
    engine = make_engine(db_url)
    settings = notify_settings(
        db_url, smtp={"host": "127.0.0.1", "port": port, "starttls": False,
                      "from": "bridge@example.com"},
        staff=[{"email": "oncall@example.com", "language": "vi"}])
    with engine.begin() as conn:
        store.upsert_ticket(conn, 77, now=NOW, tid="XYZ-777777", client_id=7)
    event = _event("Vui lòng gọi điện cho tôi, số 0903123456")
    _run(engine, settings, event)
    with engine.begin() as conn:  # the worker retries the same event: the store says "known"
        store.set_contact_preference(conn, 77, None)  # even if the first write were lost
    _run(engine, settings, event)
    _run(engine, settings, event)
    with engine.connect() as conn:
        assert store.get_ticket(conn, 77).contact_preference == "phone"
        assert len(outbox.list_deliveries(conn)) == 1
    d = Deliverer(engine, settings, rng=random.Random(1))
    assert d.run_once(NOW).sent == 1
    assert d.run_once(NOW).claimed == 0
    [mail] = recorder.messages
    assert mail["Subject"] == "[#XYZ-777777] Khách hàng muốn được liên hệ qua gọi điện thoại"
    engine.dispose()


def test_custom_field_from_the_client_record(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    settings = notify_settings(sqlite_url, preferences={"custom_field": 3},
                               slack={"url": "https://hooks.example/s"})
    client = SimpleNamespace(extra={"customfields": [{"id": 3, "value": "Zalo"}]})
    whmcs = SimpleNamespace(get_client=lambda cid: client)
    _run(engine, settings, _event("nothing special here"), whmcs=whmcs)
    with engine.connect() as conn:
        [row] = outbox.list_deliveries(conn)
    assert row["payload"] == {"ticket_id": 77, "tid": "XYZ-777777", "client_id": 7,
                              "preference": "zalo"}
    engine.dispose()


def test_no_preference_and_disabled_do_nothing(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    settings = notify_settings(sqlite_url, slack={"url": "https://hooks.example/s"})
    _run(engine, settings, _event("site down"))
    off = notify_settings(sqlite_url, slack={"url": "https://hooks.example/s"},
                          preferences={"enabled": False})
    _run(engine, off, _event("please call me"))
    with engine.connect() as conn:
        assert outbox.list_deliveries(conn) == []
    engine.dispose()
