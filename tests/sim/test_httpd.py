"""The HTTP server of ``whmcs-bridge sim`` (``KeepAliveServer``): keep-alive, bodies by length
or chunks, ``Expect: 100-continue``, closing when asked, and 400 for what is not HTTP."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from whmcs_bridge.sim import SimConfig
from whmcs_bridge.sim.config import API_PATH, DEFAULT_IDENTIFIER, DEFAULT_SECRET
from whmcs_bridge.sim.server import KeepAliveServer, build_app, listen

FORM = urlencode({"action": "GetTicket", "ticketid": "1", "identifier": DEFAULT_IDENTIFIER,
                  "secret": DEFAULT_SECRET, "responsetype": "json"}).encode()


@pytest.fixture
def served() -> Iterator[tuple[str, int, Any]]:
    app, state, _ = build_app(SimConfig(tickets=5, clients=3, seed=3))
    server = KeepAliveServer(app, listen("127.0.0.1", 0), idle_timeout=5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", int(server.server_port), state
    server.shutdown()
    thread.join(timeout=5)


def exchange(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data``, read one whole response (headers and its Content-Length of body)."""
    sock.sendall(data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def post(body: bytes, *, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return (f"POST {API_PATH} {version}\r\nHost: sim\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{extra}").encode() + (
        b"" if "Transfer-Encoding" in extra else f"Content-Length: {len(body)}\r\n".encode()
    ) + b"\r\n" + body


def json_body(response: bytes) -> dict[str, Any]:
    return json.loads(response.partition(b"\r\n\r\n")[2])


def test_one_connection_serves_many_requests(served) -> None:
    host, port, state = served
    with socket.create_connection((host, port), timeout=5) as sock:
        for _ in range(3):
            answer = exchange(sock, post(FORM))
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"Connection: keep-alive" in answer
            assert b"X-Simulator:" in answer
            assert json_body(answer)["ticketid"] == "1"
    assert state.calls["GetTicket"] == 3


def test_a_requests_session_reuses_its_connection(served) -> None:
    host, port, state = served
    with requests.Session() as session:
        for _ in range(3):
            response = session.post(f"http://{host}:{port}{API_PATH}", data=FORM, timeout=5,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert response.json()["result"] == "success"
    assert state.calls["GetTicket"] == 3


def test_close_when_asked_and_for_http10(served) -> None:
    host, port, _ = served
    for request in (post(FORM, extra="Connection: close\r\n"),
                    post(FORM, version="HTTP/1.0")):
        with socket.create_connection((host, port), timeout=5) as sock:
            answer = exchange(sock, request)
            assert answer.startswith(b"HTTP/1.1 200 OK")
            assert b"Connection: close" in answer
            assert sock.recv(10) == b""  # closed by the server


def test_chunked_body_and_expect_continue(served) -> None:
    host, port, _ = served
    half = len(FORM) // 2
    chunked = (f"{half:x}\r\n".encode() + FORM[:half] + b"\r\n"
               + f"{len(FORM) - half:x}\r\n".encode() + FORM[half:] + b"\r\n0\r\n\r\n")
    with socket.create_connection((host, port), timeout=5) as sock:
        answer = exchange(sock, post(chunked, extra="Transfer-Encoding: chunked\r\n"))
        assert json_body(answer)["ticketid"] == "1"
        sock.sendall(f"POST {API_PATH} HTTP/1.1\r\nHost: sim\r\nExpect: 100-continue\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {len(FORM)}\r\n\r\n".encode())  # the body waits
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        answer = exchange(sock, FORM)
        assert json_body(answer)["ticketid"] == "1"


@pytest.mark.parametrize("request_bytes", [
    b"NOT HTTP\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_malformed_requests_get_400_and_a_close(served, request_bytes: bytes) -> None:
    host, port, _ = served
    with socket.create_connection((host, port), timeout=5) as sock:
        answer = exchange(sock, request_bytes)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert sock.recv(10) == b""


def test_head_has_no_body_and_the_remote_address_reaches_the_app(served) -> None:
    host, port, _ = served
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b""
    page = requests.get(f"http://{host}:{port}/", timeout=5).content
    assert f"Content-Length: {len(page)}".encode() in head  # the length a GET would have
    # the IP allow-list reads REMOTE_ADDR: a sim allowing only another address refuses us
    app, _, _ = build_app(SimConfig(tickets=1, clients=1, allowed_ips=("10.9.9.9",)))
    server = KeepAliveServer(app, listen("127.0.0.1", 0), idle_timeout=5)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", int(server.server_port)), timeout=5) as s:
            answer = exchange(s, post(FORM))
        assert json_body(answer)["message"] == "Invalid IP 127.0.0.1"
    finally:
        server.shutdown()


def test_the_server_waits_out_the_latency_with_the_answer_built(monkeypatch) -> None:
    """``whmcs-bridge sim`` waits in the server, after the app has built the answer, so only
    the write is left when the latency is over (the app sleeps only under another server)."""
    import time as real_time
    from types import SimpleNamespace

    from whmcs_bridge.sim import app as sim_app
    from whmcs_bridge.sim import server as sim_server

    slept: list[float] = []

    def server_sleep(seconds: float) -> None:
        slept.append(seconds)
        real_time.sleep(seconds)

    def app_sleep(seconds: float) -> None:
        raise AssertionError("the app slept under the server that waits itself")

    monkeypatch.setattr(sim_server, "time", SimpleNamespace(monotonic=real_time.monotonic,
                                                            sleep=server_sleep))
    monkeypatch.setattr(sim_app, "time", SimpleNamespace(monotonic=real_time.monotonic,
                                                         sleep=app_sleep))
    app, _, _ = build_app(SimConfig(tickets=5, clients=3, seed=3, latency_ms=40))
    server = KeepAliveServer(app, listen("127.0.0.1", 0), idle_timeout=5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", int(server.server_port))) as sock:
            answer = exchange(sock, b"POST " + API_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Type: application/x-www-form-urlencoded\r\n"
                              b"Content-Length: " + str(len(FORM)).encode() + b"\r\n\r\n"
                              + FORM)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert answer.startswith(b"HTTP/1.1 200")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["result"] == "success"
    assert len(slept) == 1 and 0 < slept[0] <= 0.040  # what was left of the 40 ms


def _serve_in_child() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "whmcs_bridge", "sim", "--port", "0", "--tickets", "5",
         "--clients", "3"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "API endpoint:" in line:
            return proc, int(line.rsplit(":", 1)[1].split("/", 1)[0])
    raise AssertionError(f"whmcs-bridge sim printed no endpoint (exit {proc.wait()})")


@pytest.mark.skipif(sys.platform != "linux", reason="/proc and tgkill() are Linux's")
@pytest.mark.parametrize("which", ["main", "connection"])
def test_sigterm_stops_the_simulator_whichever_thread_takes_it(which: str) -> None:
    """The kernel hands a process's SIGTERM to any thread; Python's handler runs only in the
    main thread. Sent to a connection thread (as the kernel may choose), it must still stop
    the process: it once left the main thread in accept() and the simulator serving."""
    proc, port = _serve_in_child()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert exchange(sock, post(FORM)).startswith(b"HTTP/1.1 200")  # a kept-alive
            threads = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task"))
            target = proc.pid if which == "main" else threads[-1]  # the newest: this one's
            assert target in threads and (which == "main" or target != proc.pid)
            assert ctypes.CDLL(None, use_errno=True).tgkill(
                proc.pid, target, signal.SIGTERM) == 0
            assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_failed_accept_loop_ends_serve_with_its_error() -> None:
    """The accept loop runs beside the main thread: when it fails (here: a socket that was
    never put to listen), serve must end with that error, not wait on for a signal."""
    code = ("import socket\n"
            "from whmcs_bridge.sim import SimConfig\n"
            "from whmcs_bridge.sim.server import build_app, serve\n"
            "sock = socket.socket()\n"
            "sock.bind(('127.0.0.1', 0))\n"
            "try:\n"
            "    serve(build_app(SimConfig(tickets=1, clients=1))[0], sock)\n"
            "except OSError as exc:\n"
            "    print('raised', type(exc).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert done.stdout.strip() == "raised OSError", done.stderr
