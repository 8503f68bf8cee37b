"""Fixtures: a client pointed at a fake WHMCS (``responses``) and helpers to read what it
sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from tests.api.payloads import payload
from whmcs_bridge.api import WhmcsClient

URL = "https://whmcs.test"
API = URL + "/includes/api.php"
SECRET = "s3cr3t-API-value"
IDENTIFIER = "ident-ABC123"
ACCESS_KEY = "acc3ss-KEY-value"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client() -> Iterator[WhmcsClient]:
    c = WhmcsClient(URL, IDENTIFIER, SECRET, access_key=ACCESS_KEY,
                    timezone="Asia/Ho_Chi_Minh", retries=0)
    yield c
    c.close()


def sent(call: Any) -> dict[str, str]:
    """The form fields of one recorded request (last value wins, like PHP)."""
    return dict(parse_qsl(call.request.body, keep_blank_values=True))


def answer(rsps: responses.RequestsMock, body: Any, status: int = 200,
           content_type: str = "application/json") -> None:
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    rsps.add(responses.POST, API, body=text, status=status, content_type=content_type)


def by_action(rsps: responses.RequestsMock) -> None:
    """Answer every action with its documented example payload."""
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        action = dict(parse_qsl(request.body))["action"]
        return 200, {"Content-Type": "application/json"}, json.dumps(payload(action))
    rsps.add_callback(responses.POST, API, callback=callback)
