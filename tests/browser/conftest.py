"""A real app on a loopback port with a store seeded through the tickets room's functions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.fuzz.live_server import live_server
from whmcs_bridge.store import make_engine, upgrade

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]

#: (id, subject, priority, status, channel, opened minutes ago, staff reply after minutes)
TICKETS = [
    (1, "Website is down", "High", "Open", "client_area", 4, None),
    (2, "Cannot send email", "Medium", "Open", "email", 52, None),
    (3, "Server is very slow", "High", "Open", "client_area", 95, None),
    (4, "DNS not resolving", "Medium", "Answered", "client_area", 40, 10),
    (5, "Do you offer VPS in Hanoi?", "Medium", "Open", "chat", 10, None),
]
#: seeded for the browser only: overdue for days (shown in words)
LONG_OVERDUE = [(6, "Backup restore failed", "Medium", "Open", "email", 3 * 24 * 60, None)]


def seed(url: str, now: datetime, extra: list[tuple] | None = None) -> None:
    from whmcs_bridge.tickets import store

    engine = make_engine(url)
    with engine.begin() as conn:
        for tid, subject, priority, status, channel, age, reply in TICKETS + (extra or []):
            opened = now - timedelta(minutes=age)
            store.upsert_ticket(conn, tid, now=now, tid=f"SIM-{tid:06d}", subject=subject,
                                priority=priority, status=status, department_id=1,
                                client_id=tid, channel=channel, opened_at=opened)
            store.add_message(conn, tid, "open", "customer", at=opened)
            if reply is not None:
                store.add_message(conn, tid, "reply:1", "staff",
                                  at=opened + timedelta(minutes=reply), author="Sim Admin")
    engine.dispose()


@pytest.fixture(scope="module")
def bridge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'bridge.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    seed(url, datetime.now(UTC), LONG_OVERDUE)
    settings = make_settings(url, whmcs={"admin_url": "http://whmcs.invalid/admin/"},
                             server={"secret_key": "browser-test-" + "k" * 20})
    with live_server(settings) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records console errors and page errors (the test fails on any)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(
        f"console: {msg.text}"))
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    yield page
    context.close()
