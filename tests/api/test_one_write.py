"""The client's connections send a request's head and body in one write (api/one_write.py),
and still send every byte, in order, whatever the body."""

from __future__ import annotations

import hashlib
import http.client
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.api.one_write import JOIN_LIMIT, OneWriteAdapter


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, body: bytes) -> None:
        payload = b'{"result":"success","sha256":"%s"}' % hashlib.sha256(body).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:
        self._answer(b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write that reaches http.client's socket send, in order."""
    seen: list[bytes] = []
    real = http.client.HTTPConnection.send

    def send(self: http.client.HTTPConnection, data: Any) -> None:
        seen.append(bytes(data))
        real(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    return seen


def _session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", OneWriteAdapter())
    return session


def test_an_api_call_is_one_write_holding_head_and_form(echo_url: str,
                                                        writes: list[bytes]) -> None:
    with WhmcsClient(echo_url, "ident", "secret", retries=0) as client:
        answer = client.call("GetTicket", ticketid=7)
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /includes/api.php HTTP/1.1")
    assert b"action=GetTicket" in body and b"ticketid=7" in body
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()  # the server read all of it


def test_a_request_without_a_body_still_sends_its_head(echo_url: str,
                                                        writes: list[bytes]) -> None:
    with _session() as session:
        answer = session.get(echo_url + "/", timeout=5)
    assert answer.status_code == 200
    assert len(writes) == 1 and writes[0].startswith(b"GET / HTTP/1.1")


def test_a_body_over_the_join_limit_follows_the_head_whole(echo_url: str,
                                                           writes: list[bytes]) -> None:
    big = b"x" * (JOIN_LIMIT + 1)
    with _session() as session:
        answer = session.post(echo_url + "/", data=big, timeout=5)
    assert answer.json()["sha256"] == hashlib.sha256(big).hexdigest()
    assert len(writes) == 2
    assert writes[0].endswith(b"\r\n\r\n") and writes[1] == big


def test_kept_alive_connection_serves_the_next_request_in_one_write(
        echo_url: str, writes: list[bytes]) -> None:
    with _session() as session:
        for n in range(3):
            body = f"n={n}".encode()
            answer = session.post(echo_url + "/", data=body, timeout=5)
            assert answer.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert len(writes) == 3
    assert [w.rpartition(b"\r\n\r\n")[2] for w in writes] == [b"n=0", b"n=1", b"n=2"]


def test_over_tls_the_request_is_one_record_write(writes: list[bytes]) -> None:
    """HTTPS pools use the one-write connection too (the TEST-ONLY pair of the SMTP tests)."""
    data = Path(__file__).parents[1] / "notify" / "data"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(data / "smtp-test.crt", data / "smtp-test.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with _session() as session:
            session.mount("https://", OneWriteAdapter())
            answer = session.post(f"https://127.0.0.1:{server.server_address[1]}/",
                                  data=b"action=GetTicket", timeout=5,
                                  verify=str(data / "smtp-test.crt"))
    finally:
        server.shutdown()
        server.server_close()
    assert answer.json()["sha256"] == hashlib.sha256(b"action=GetTicket").hexdigest()
    assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\naction=GetTicket")
