"""A real ``whmcs-bridge serve`` (gunicorn, one gevent web worker) answering bad input cleanly on
loopback: over-limit bodies, gunicorn's own refusals, slow clients (whmcs_bridge.http_worker).

Raw sockets, so a connection reset is seen as what it is (an HTTP library would retry or hide
it). Bounded: 100 requests of 2 MiB, 2,050 held connections, every wait with a deadline."""

from __future__ import annotations

import contextlib
import json
import resource
import selectors
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import TEST_SECRET
from tests.receiver.conftest import envelope
from tests.worker.procs import running_serve
from whmcs_bridge.http_worker import MAX_CONNECTIONS_PER_ADDRESS
from whmcs_bridge.signing import signed_headers

pytestmark = pytest.mark.slow

HELD_ADDRESSES = 10  # 127.0.0.2 … 127.0.0.11, each at the per-address cap
HELD = HELD_ADDRESSES * MAX_CONNECTIONS_PER_ADDRESS  # 2,000 partial requests
OVER_CAP = 50  # more from one address: refused at once


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("http_live")
    with running_serve(f"sqlite:///{tmp / 'bridge.db'}", tmp, "--workers", "1", "--no-worker",
                       WHMCS_BRIDGE_LOG__LEVEL="WARNING") as (base, _logs):
        yield base, int(base.rsplit(":", 1)[1])


class Reset(Exception):
    """The server reset the connection (what the PHP module reads as "bridge down")."""


def exchange(port: int, data: bytes, *, source: str = "127.0.0.1",
             timeout: float = 30.0) -> bytes:
    """Send ``data``, then read until the server closes; :class:`Reset` on a reset."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0)) as sock:
        try:
            sock.sendall(data)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise Reset(repr(exc)) from None
    return answer


def parse_answer(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_a_body_over_the_limit_gets_a_clean_413_every_time(server: tuple[str, int]) -> None:
    """The limit is 1 MiB; 2 MiB sent at once with ``Connection: close``. The server answers
    before reading the body; closing then would reset the connection (100 of 100 resets
    before the worker drained the body)."""
    _, port = server
    body = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    request = (f"POST /webhooks/whmcs HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json"
               f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    outcomes = []
    for _ in range(100):
        try:
            status, headers, answer = parse_answer(exchange(port, request))
            outcomes.append((status, headers["content-type"], answer["error"]))
        except Reset as exc:
            outcomes.append(("reset", str(exc), ""))
    assert outcomes == [(413, "application/json", "request_entity_too_large")] * 100


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    # 9000-byte target: gunicorn stops reading at 4094 and refuses, the rest still arriving
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: bridge\r\n\r\n", 414, "uri_too_long"),
    (b"GET / HTTP/1.1\r\nHost: bridge\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200))
     + b"\r\n", 431, "request_header_fields_too_large"),
    (b"GET / HTTP/1.1\r\nHost: bridge\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431,
     "request_header_fields_too_large"),
    (b"GARBAGE\r\n\r\n", 400, "bad_request"),
], ids=["414", "431-count", "431-size", "400"])
def test_gunicorn_refusals_are_json_and_not_reset(server: tuple[str, int], request_bytes: bytes,
                                                  status: int, code: str) -> None:
    _, port = server
    got, headers, body = parse_answer(exchange(port, request_bytes))
    assert (got, headers["content-type"], body["error"]) == (status, "application/json", code)
    assert isinstance(body["message"], str) and body["message"]


def _signed_event(base: str, session: requests.Session) -> int:
    raw = json.dumps(envelope()).encode()
    headers = {**signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", raw),
               "Content-Type": "application/json"}
    return session.post(f"{base}/webhooks/whmcs", data=raw, headers=headers,
                        timeout=20).status_code


def _gate(base: str, session: requests.Session) -> Any:
    raw = json.dumps({"type": "PreModuleCustom", "timestamp": "2026-11-25T10:00:00+07:00",
                      "data": {"params": {"serviceid": 7, "userid": 42}}}).encode()
    headers = {**signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", raw),
               "Content-Type": "application/json"}
    resp = session.post(f"{base}/gates/PreModuleCustom", data=raw, headers=headers, timeout=20)
    return resp.status_code, resp.json()


def _enough_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test holds {needed} sockets; the open-file hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))  # serve inherits it


def _still_waiting(sock: socket.socket) -> bool:
    """True while the server has neither answered nor closed ``sock``."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


@pytest.fixture
def many_files() -> None:
    _enough_open_files(3 * (HELD + OVER_CAP) + 256)  # ours, the server's, headroom


def test_signed_events_are_answered_while_2000_partial_requests_are_held(
        many_files: None, tmp_path: Path) -> None:
    """2,000 connections each send headers and 5 bytes of an 84-byte body, from ten loopback
    addresses at the per-address cap; 50 more from one of them are refused at once (503).
    Signed events and a gate from 127.0.0.1 are answered meanwhile, and every partial request
    ends with a 408 once its body deadline passes."""
    with running_serve(f"sqlite:///{tmp_path / 'bridge.db'}", tmp_path, "--workers", "1",
                       "--no-worker", WHMCS_BRIDGE_LOG__LEVEL="ERROR") as (base, logs):
        port = int(base.rsplit(":", 1)[1])
        head = (b"POST /webhooks/whmcs HTTP/1.1\r\nHost: bridge\r\nContent-Type: "
                b"application/json\r\nContent-Length: 84\r\n\r\n{\"typ")
        held: list[socket.socket] = []
        refused: list[bytes] = []
        try:
            for n in range(HELD):
                sock = socket.create_connection(
                    ("127.0.0.1", port), timeout=30,
                    source_address=(f"127.0.0.{2 + n % HELD_ADDRESSES}", 0))
                held.append(sock)
                sock.sendall(head)
            for _ in range(OVER_CAP):
                with contextlib.suppress(ConnectionResetError):
                    refused.append(exchange(port, b"", source="127.0.0.2"))
            # all 2,000 are inside the server, none answered
            assert sum(map(_still_waiting, held)) == HELD

            session = requests.Session()
            answers = [_signed_event(base, session) for _ in range(20)]
            gate = _gate(base, session)
            health = session.get(f"{base}/healthz", timeout=20).status_code
            waiting_after = sum(map(_still_waiting, held))

            assert answers == [202] * 20
            assert gate == (200, {"allow": True})
            assert health == 200
            assert [parse_answer(r)[0] for r in refused if r] == [503] * len(
                [r for r in refused if r])
            assert len([r for r in refused if r]) >= OVER_CAP // 2, refused[:3]
            # the held requests were still held while the events went through (their body
            # deadline is 10 s)
            assert waiting_after > 0, logs.tail()

            # every partial request ends with a JSON 408 (bounded: the deadline plus slack)
            answers_408 = _read_all(held, timeout=60)
            assert sorted({parse_answer(a)[0] for a in answers_408}) == [408]
            assert len(answers_408) == HELD
        finally:
            for sock in held:
                sock.close()


def _read_all(socks: list[socket.socket], timeout: float) -> list[bytes]:
    """Read every socket until the server closes it; at most ``timeout`` seconds."""
    sel = selectors.DefaultSelector()
    data: dict[int, bytes] = {}
    for sock in socks:
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        data[sock.fileno()] = b""
    done: list[bytes] = []
    deadline = time.monotonic() + timeout
    while data and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                data[sock.fileno()] += chunk
                continue
            done.append(data.pop(sock.fileno()))
            sel.unregister(sock)
    sel.close()
    return done
