"""``whmcs-bridge notify test`` and ``outbox list|replay`` through the real entry point."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from tests.notify.conftest import HOOK_SECRET, NOW, sample_payload
from whmcs_bridge.cli import main
from whmcs_bridge.config import load_settings
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.tables import deliveries
from whmcs_bridge.store import make_engine


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture
def config(tmp_path, sqlite_url, hook_server):
    path = tmp_path / "bridge.toml"
    path.write_text(f"""
[database]
url = "{sqlite_url}"

[notifications.webhook]
url = "{hook_server.url}/hook"
secret = "{HOOK_SECRET}"

[notifications.slack]
url = "{hook_server.url}/slack"
""")
    return str(path)


def test_notify_test_sends_now(config, hook_server, capsys) -> None:
    code, out, _ = run(["--config", config, "notify", "test", "webhook", "--language", "en"],
                       capsys)
    assert code == 0 and "test message sent via webhook" in out
    [request] = hook_server.requests
    body = json.loads(request["body"])
    assert body["type"] == "notification.test" and "test message" in body["data"]["text"]


def test_notify_test_failure_and_usage_errors(config, hook_server, capsys) -> None:
    hook_server.always = 500
    code, _, err = run(["--config", config, "notify", "test", "slack"], capsys)
    assert code == 1 and err.strip() == "Error: slack: HTTP 500"
    code, _, err = run(["--config", config, "notify", "test", "telegram"], capsys)
    assert code == 2 and "not configured" in err and "Traceback" not in err


def test_outbox_list_and_replay(config, sqlite_url, capsys) -> None:
    settings = load_settings(config, environ={})
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        outbox.enqueue(conn, notification="dead_letter", payload=sample_payload("dead_letter"),
                       dedupe_key="dl:cli", now=NOW, settings=settings)
        conn.execute(update(deliveries).where(deliveries.c.channel == "webhook")
                     .values(status="dead", attempts=8, last_error="webhook: HTTP 500"))
    code, out, _ = run(["--config", config, "outbox", "list", "--status", "dead", "--json"],
                       capsys)
    assert code == 0
    [row] = json.loads(out)
    assert (row["notification"], row["channel"], row["status"]) == (
        "dead_letter", "webhook", "dead")
    assert row["last_error"] == "webhook: HTTP 500" and row["dedupe_key"] == "dl:cli"
    code, out, _ = run(["--config", config, "outbox", "list"], capsys)
    assert code == 0 and "dead" in out and "webhook: HTTP 500" in out
    header, *lines = out.splitlines()
    assert header.split() == ["ID", "CREATED", "STATUS", "NOTIFICATION", "CHANNEL",
                              "RECIPIENT", "TRIES", "ERROR"]
    # 08:00 UTC in the bridge's default zone, with the zone's abbreviation
    assert any("2026-11-25 15:00 +07" in line for line in lines), out
    code, _, err = run(["--config", config, "outbox", "replay"], capsys)
    assert code == 2
    code, _, err = run(["--config", config, "outbox", "replay", "999"], capsys)
    assert code == 1 and "nothing to replay" in err
    # past SQLite's 64 bits: "error: OverflowError", exit 1
    code, _, err = run(["--config", config, "outbox", "replay", str(10**30)], capsys)
    assert code == 2 and "IDS" in err
    code, out, _ = run(["--config", config, "outbox", "replay", str(row["id"])], capsys)
    assert code == 0 and "1 delivery queued again" in out
    with engine.connect() as conn:
        assert outbox.counts(conn) == {"pending": 2}
    engine.dispose()
