"""doctor's set-up and production checks (issue 15): each says what is wrong, naming the key."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.conftest import make_settings
from whmcs_bridge import doctor as D
from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.store import make_engine
from whmcs_bridge.tickets import golive

KEY = "Zq3" + "abcdefghijklmnopqrstuvwxyz0123456789"


def test_notification_kinds_with_nowhere_to_go() -> None:
    bare = D.check_notification_routes(make_settings())
    assert bare.state == D.WARN and "sla_breached" in bare.details["unrouted"]
    # WHMCS configured and nothing else: WHMCS's own admin mail carries everything
    whmcs = D.check_notification_routes(
        make_settings(whmcs={"url": "https://whmcs.test", "admin_username": "bridge"}))
    assert whmcs.state == D.OK and "SendAdminEmail" in whmcs.summary
    only_sla = make_settings(notifications={
        "slack": {"url": "https://hooks.slack.test/x"},
        "routes": [{"notifications": ["sla_breached"], "channels": ["slack"]}]})
    partial = D.check_notification_routes(only_sla)
    assert partial.state == D.WARN and "sla_breached" not in partial.details["unrouted"]
    assert "dead_letter" in partial.details["unrouted"]


def test_staff_recipients_and_links_and_channels_and_escalation_ids() -> None:
    smtp = make_settings(notifications={"smtp": {"host": "mail.test"}})
    assert D.check_staff_recipients(smtp).state == D.WARN
    links = D.check_verification_links(make_settings(server={"secret_key": KEY}))
    assert links.state == D.WARN and links.details["missing"] == ["server.public_url"]
    ok = make_settings(server={"secret_key": KEY, "public_url": "https://bridge.test"})
    assert D.check_verification_links(ok).state == D.OK
    ch = D.check_channels(make_settings())
    assert ch.state == D.WARN and "channels.technical_department_id" in ch.summary
    assert "billing_department_ids" in ch.summary
    esc = D.check_escalation_ids(make_settings(escalation={
        "levels": {"urgent": {"breached": ["move_department"]}}}))
    assert esc.state == D.WARN
    assert "move_department needs escalation.move_department_id" in esc.summary
    assert "flag_admin needs escalation.flag_admin_id" in esc.summary  # the default action
    set_ids = make_settings(escalation={"flag_admin_id": 1, "move_department_id": 2})
    assert D.check_escalation_ids(set_ids).state == D.OK


def test_signature_failures_seen_by_the_running_server() -> None:
    metrics = ('# HELP whmcs_bridge_signature_failures_total x\n'
               'whmcs_bridge_signature_failures_total{reason="bad_signature"} 3.0\n'
               'whmcs_bridge_signature_failures_total{reason="stale"} 1.0\n')
    seen: list[str] = []

    def fetch(url: str) -> str:
        seen.append(url)
        return metrics

    c = D.check_signature_failures(make_settings(server={"host": "0.0.0.0", "port": 8123}),
                                   fetch)
    assert seen == ["http://127.0.0.1:8123/metrics"]
    assert c.state == D.WARN and c.summary.startswith("4 webhook(s) refused")
    assert "bad_signature 3" in c.summary

    def down(url: str) -> str:
        raise ConnectionError("refused")

    assert D.check_signature_failures(make_settings(), down).state == D.OK


def test_whmcs_clock_offset_means_a_time_zone_mismatch() -> None:
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    # WHMCS runs on Ho Chi Minh time (17:00) but the bridge reads its dates as UTC
    admin = SimpleNamespace(extra={"requesttime": "2026-12-02 17:00:00"})

    def factory(settings: Any) -> Any:
        return SimpleNamespace(get_admin_details=lambda: admin)

    wrong = make_settings(whmcs={"url": "https://whmcs.test", "timezone": "UTC",
                                 "admin_username": "bridge"})
    c = D.check_whmcs_clock(wrong, factory, now)
    assert c.state == D.WARN and "+7.0 h" in c.summary and "whmcs.timezone" in c.summary
    right = make_settings(whmcs={"url": "https://whmcs.test", "timezone": "Asia/Ho_Chi_Minh",
                                 "admin_username": "bridge"})
    assert D.check_whmcs_clock(right, factory, now + timedelta(minutes=2)).state == D.OK


def test_unsafe_production_settings(tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text('[whmcs]\nurl = "https://whmcs.test"\nverify_tls = false\n'
                      'admin_username = "bridge"\n'
                      '[server]\nhost = "0.0.0.0"\npublic_url = "http://bridge.example.com"\n'
                      f'secret_key = "{"k" * 40}"\n')
    os.chmod(config, 0o644)
    c = D.check_unsafe_settings(load_settings(config, environ={}))
    assert c.state == D.WARN
    text = " | ".join(c.details["problems"])
    for needle in ("others can read it", "every interface", "verify_tls = false",
                   "plain http", "secret_key is weak"):
        assert needle in text, needle
    assert "k" * 40 not in text
    config.write_text(f'[server]\nsecret_key = "{KEY}"\npublic_url = "https://b.example"\n')
    os.chmod(config, 0o600)
    assert D.check_unsafe_settings(load_settings(config, environ={})).state == D.OK


def test_secret_key_has_a_minimum_length() -> None:
    try:
        make_settings(server={"secret_key": "x"})
    except SettingsError as exc:
        assert "server.secret_key" in str(exc) and "32" in str(exc)
    else:
        raise AssertionError("a one-character server.secret_key was accepted")


def test_go_live_is_shown(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url)
    engine = make_engine(sqlite_url)
    assert "not recorded yet" in D.check_go_live(settings, engine).summary
    with engine.begin() as conn:
        golive.record(conn, datetime(2026, 12, 1, 1, 0, tzinfo=UTC), golive.BY_SYNC)
    c = D.check_go_live(settings, engine)
    assert c.details == {"go_live_at": "2026-12-01T01:00:00+00:00", "source": "first_sync"}
    assert c.summary.startswith("2026-12-01 08:00 +07 (Asia/Ho_Chi_Minh")
    engine.dispose()
