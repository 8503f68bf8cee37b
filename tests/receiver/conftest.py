"""Fixtures for the receiver tests: an app on a migrated database (settings from the shared
make_settings) and a signed-POST helper."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from tests.conftest import TEST_SECRET, make_settings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.tables import events

USER_AGENT = "whmcs-bridge-addon/1.2.0 WHMCS/8.10.1"


def envelope(hook: str = "TicketOpen", **data: Any) -> dict[str, Any]:
    return {
        "type": hook,
        "timestamp": "2026-11-25T10:00:00+07:00",
        "data": data or {"ticketid": "101", "userid": "7", "deptid": "1", "priority": "High",
                         "subject": "Site down", "message": "help"},
    }


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test database (SQLite and PostgreSQL); engines disposed after."""
    engines: list[Engine] = []

    def build(**sections: Any) -> Flask:
        settings = make_settings(db_url, **sections)
        engine = make_engine(db_url)
        engines.append(engine)
        return build_app(settings, engine=engine)

    yield build
    for engine in engines:
        engine.dispose()


@pytest.fixture
def client(make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app().test_client()


@pytest.fixture
def reader(db_url: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Reads the inbox through a separate engine (what another process would see)."""
    engine = make_engine(db_url)

    def read() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.id))]

    yield read
    engine.dispose()


def signed_post(client: FlaskClient, body: Any, *, msg_id: str | None = None,
                secret: str = TEST_SECRET, timestamp: int | None = None,
                content_type: str = "application/json", **headers: str) -> Any:
    """POST ``body`` (a dict is JSON-encoded) signed like the PHP module signs it."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signed = signed_headers(secret, msg_id or f"msg_{uuid.uuid4().hex}", raw, timestamp)
    signed.update({"Content-Type": content_type, "User-Agent": USER_AGENT})
    signed.update({k.replace("_", "-"): v for k, v in headers.items()})
    return client.post("/webhooks/whmcs", data=raw, headers=signed)
