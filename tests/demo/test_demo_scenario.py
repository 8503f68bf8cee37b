"""The demo's pure pieces: its settings load, its TOML is valid, its scenario drives the API."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whmcs_bridge.config import load_settings
from whmcs_bridge.demo import (
    SCENARIO,
    DemoSecrets,
    demo_settings,
    play,
    summary,
    to_toml,
    whmcs_time,
)


def test_demo_settings_round_trip_through_toml_and_validate(tmp_path: Path) -> None:
    keys = DemoSecrets.generate()
    data = demo_settings(folder=tmp_path, port=18080, sim_url="http://127.0.0.1:9",
                         sim_identifier="id", sim_secret='se"cr\\et', keys=keys)
    path = tmp_path / "c.toml"
    path.write_text(to_toml(data))
    assert tomllib.loads(path.read_text())["whmcs"]["secret"] == 'se"cr\\et'
    settings = load_settings(path, environ={})
    assert settings.api.tokens[0].reveal() == keys.staff_token
    assert settings.whmcs.admin_url == "http://127.0.0.1:9/admin/"
    assert settings.database_url == f"sqlite:///{tmp_path / 'bridge.db'}"
    assert DemoSecrets.generate() != keys  # fresh every run


def test_scenario_covers_every_state_and_the_special_cases() -> None:
    expected = {s.expect for s in SCENARIO}
    assert {"on_track", "at_risk", "breached", "met", "paused", "not_applicable",
            "billing", "verification"} <= expected
    assert {s.priority for s in SCENARIO} == {"High", "Medium", "Low"}
    assert {s.opened_as for s in SCENARIO} == {"client", "guest", "admin"}


def test_play_opens_in_the_past_and_acts_like_customers_and_staff() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def call(action: str, **params: Any) -> dict[str, Any]:
        calls.append((action, params))
        return {"id": len(calls)}

    now = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    opened = play(call, lambda cid: {"name": f"C{cid}", "email": f"c{cid}@example.vn"}, now)
    assert len(opened) == len(SCENARIO)
    opens = [p for a, p in calls if a == "OpenTicket"]
    breached = next(p for p in opens if p["subject"] == "Server is very slow")
    assert breached["created"] == whmcs_time(now.replace(hour=1, minute=25), "Asia/Ho_Chi_Minh")
    guest = next(p for p in opens if p["subject"].startswith("Please change the email"))
    assert "clientid" not in guest and guest["email"] == "c8@example.vn"
    assert any(p.get("admin") for p in opens)
    assert [a for a, _ in calls].count("AddTicketReply") == 1
    assert ("UpdateTicket", {"ticketid": 6, "status": "On Hold"}) in calls


def test_summary_counts_every_ticket_it_lists() -> None:
    made = [("on_track", 1), ("breached", 2), ("phone", 11)]
    assert summary(made) == "3 sample tickets, scenario: #1 on_track, #2 breached, #11 phone"
