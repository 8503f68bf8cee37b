"""Running the simulator: in a background thread (tests, demo, bench) or in the foreground
(``whmcs-bridge sim``). Loopback by default."""

from __future__ import annotations

import contextlib
import io
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.sim.app import HEADER_BANNER, create_sim_app
from whmcs_bridge.sim.config import (
    ANSWER_AT_KEY,
    API_PATH,
    ARRIVED_KEY,
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    SimConfig,
)
from whmcs_bridge.sim.events import EventPoster
from whmcs_bridge.sim.state import SimState


@dataclass
class SimHandle:
    """A running simulator: ``url`` is the WHMCS root (``api_url`` the endpoint)."""

    url: str
    state: SimState
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread | None = None
    poster: EventPoster | None = None
    identifier: str = DEFAULT_IDENTIFIER
    secret: str = DEFAULT_SECRET
    _stopped: bool = field(default=False, repr=False)

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    def client(self, **kwargs: Any) -> Any:
        """A :class:`~whmcs_bridge.api.WhmcsClient` for this sim (its default credential)."""
        kwargs.setdefault("timezone", self.state.config.timezone)
        return WhmcsClient(self.url, self.identifier, self.secret, **kwargs)

    def flush_events(self, timeout: float = 10.0) -> bool:
        return self.poster.flush(timeout) if self.poster else True

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.poster is not None:
            self.poster.stop()

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class QuietHandler(WSGIRequestHandler):
    """No per-request access log lines (tests and benchmarks make thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def build_app(config: SimConfig) -> tuple[Flask, SimState, EventPoster | None]:
    """State, Flask app and (when a bridge URL is set) the event poster with its thread."""
    state = SimState(config)
    poster = None
    if config.bridge_url and config.webhook_secret:
        poster = EventPoster(state, config.bridge_url, config.webhook_secret)
        state.event_sink = poster
        state.gate_asker = poster.ask_gate
    return create_sim_app(state=state), state, poster


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front, so ``--port 0`` can report the port it got and a
    taken port fails before anything is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY from the listener (KeepAliveServer sets it on each
    # connection too, and writes every answer in one send).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


MAX_LINE = 8190  # request line and each header line (gunicorn's limit)
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # attachments arrive base64 in forms (the app allows 32 MiB)
_REASONS = {400: "Bad Request", 413: "Content Too Large", 414: "URI Too Long",
            431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented"}


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class KeepAliveServer:
    """Foreground serving for ``whmcs-bridge sim``: HTTP/1.1 with keep-alive, one thread per
    connection, in one process (the state lives in memory).

    A client pays no TCP handshake per call (as behind a real WHMCS's web server), and each
    request costs one read and one write on the thread that owns its connection. Gunicorn's
    threaded worker, used before, hands every kept-alive request from its poller thread to a
    pool thread and back (several wake-ups a request, each waiting for a CPU on a loaded
    machine) and builds more per request: measured on the 2-core machine with 20 ms of
    latency and 8 parallel connections, the simulator's CPU fell from 1.3-1.5 to 0.7-0.9 ms a
    request and the full sync's ratio to its floor from 1.80-1.96 to 1.52-1.65 (same load).

    What it speaks: request line + headers (bounded), a body by ``Content-Length`` or
    ``Transfer-Encoding: chunked``, ``Expect: 100-continue``, ``Connection: close`` and
    HTTP/1.0 (closed after the answer unless it asks for keep-alive), HEAD without a body;
    anything else malformed is answered 400 and the connection closed. Idle connections close
    after ``idle_timeout`` seconds; at most ``max_connections`` are served at once.
    """

    def __init__(self, app: Any, sock: socket.socket, *, idle_timeout: float = 30.0,
                 max_connections: int = 256) -> None:
        self.app, self.sock = app, sock
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        host, port = sock.getsockname()[:2]
        self.server_name, self.server_port = str(host), str(port)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                if self._stopped.is_set():
                    return
                raise
            if not self._slots.acquire(blocking=False):
                conn.close()  # over the cap: refuse rather than queue without bound
                continue
            threading.Thread(target=self._connection, args=(conn, addr), daemon=True,
                             name="whmcs-sim-conn").start()

    def shutdown(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _connection(self, conn: socket.socket, addr: Any) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(self.idle_timeout)
            rfile = conn.makefile("rb", 65536)
            while not self._stopped.is_set() and self._one(conn, rfile, addr):
                pass
        except (OSError, ValueError):
            pass  # the peer went away or timed out mid-request: nothing to answer
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            self._slots.release()

    def _one(self, conn: socket.socket, rfile: Any, addr: Any) -> bool:
        """Serve one request; False when the connection is to be closed."""
        line = rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # tolerated before a request (RFC 9112 2.2)
            line = rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        arrived = time.monotonic()
        try:
            return self._answer(conn, rfile, addr, line, arrived)
        except _Refused as refused:
            reason = _REASONS[refused.status]
            body = f"{refused.status} {reason}\n".encode()
            conn.sendall(f"HTTP/1.1 {refused.status} {reason}\r\nContent-Type: text/plain\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n"
                         f"X-Simulator: {HEADER_BANNER}\r\n\r\n".encode("latin-1") + body)
            return False

    def _answer(self, conn: socket.socket, rfile: Any, addr: Any, line: bytes,
                arrived: float) -> bool:
        if len(line) > MAX_LINE or not line.endswith(b"\n"):
            raise _Refused(414)
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[0].isalpha():
            raise _Refused(400)
        method, target, version = parts
        headers: dict[str, str] = {}
        size = 0
        while True:
            raw = rfile.readline(MAX_LINE + 1)
            if not raw:
                raise OSError("closed in the headers")
            if raw in (b"\r\n", b"\n"):
                break
            size += len(raw)
            if len(raw) > MAX_LINE or size > MAX_HEADER_BYTES:
                raise _Refused(431)
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not name or name != name.strip() or not name.isascii():
                raise _Refused(400)
            key = name.upper().replace("-", "_")
            if "_" in name:
                continue  # HTTP_X_FOO could not tell X-Foo from X_Foo: dropped, as gunicorn
            value = value.strip()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        tokens = {t.strip().lower() for t in headers.get("CONNECTION", "").split(",")}
        keep = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
        body = self._body(conn, rfile, headers, version)
        if target.startswith(("http://", "https://")):  # absolute form
            target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "SERVER_NAME": self.server_name, "SERVER_PORT": self.server_port,
            "SERVER_PROTOCOL": version, "REMOTE_ADDR": str(addr[0]),
            "REMOTE_PORT": str(addr[1]), "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, ARRIVED_KEY: arrived, ANSWER_AT_KEY: []}
        for key, value in headers.items():
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                environ["HTTP_" + key] = value
        started: list[Any] = []

        def start_response(status: str, response_headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Any:
            started[:] = [status, response_headers]
            return lambda data: None  # the write() callable: unused by Flask

        try:
            result = self.app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # Flask answers its own errors; this is a backstop
            raise _Refused(500) from None
        status, response_headers = started
        head = [f"HTTP/1.1 {status}"]
        head += [f"{name}: {value}" for name, value in response_headers
                 if name.lower() not in ("content-length", "connection", "transfer-encoding")]
        declared = next((v for n, v in response_headers if n.lower() == "content-length"), None)
        # what is sent, whatever was declared (the whole body is in hand); a HEAD answer
        # keeps the length the GET would have
        length = declared if method == "HEAD" and declared is not None else len(payload)
        head.append(f"Content-Length: {length}")
        head.append("Connection: keep-alive" if keep else "Connection: close")
        out = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        out = out if method == "HEAD" else out + payload
        answer_at = environ[ANSWER_AT_KEY]  # the app's due time: the latency, waited out here
        if answer_at:
            time.sleep(max(0.0, answer_at[-1] - time.monotonic()))
        conn.sendall(out)
        return keep

    @staticmethod
    def _body(conn: socket.socket, rfile: Any, headers: dict[str, str], version: str) -> bytes:
        chunked = headers.get("TRANSFER_ENCODING", "").lower()
        length = headers.get("CONTENT_LENGTH", "")
        if chunked and chunked != "chunked":
            raise _Refused(501)  # gzip, etc.: not what an API client sends
        if chunked and length:
            raise _Refused(400)  # both: a smuggling attempt (RFC 9112 6.3)
        if length and (not length.isdigit() or "," in length):
            raise _Refused(400)
        if length and int(length) > MAX_BODY:
            raise _Refused(413)
        if headers.get("EXPECT", "").lower() == "100-continue" and version == "HTTP/1.1":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not chunked:
            n = int(length or 0)
            body = rfile.read(n) if n else b""
            if len(body) < n:
                raise OSError("closed in the body")
            return body
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = rfile.readline(MAX_LINE + 1)
            size_text = size_line.split(b";", 1)[0].strip()
            if not size_line.endswith(b"\n") or not size_text or any(
                    c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise _Refused(400)
            size = int(size_text, 16)
            total += size
            if total > MAX_BODY:
                raise _Refused(413)
            if size == 0:
                while rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: ignored
                return b"".join(parts)
            chunk = rfile.read(size)
            if len(chunk) < size or rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Refused(400)
            parts.append(chunk)


def serve(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket ``sock`` until SIGINT/SIGTERM.

    The accept loop runs in its own thread and this (the main) thread waits on the signal
    wake-up socket: the kernel may hand SIGTERM to any thread, and Python runs its handler
    only in the main thread, at its next bytecode. A main thread blocked in ``accept()``
    would then never run it (the simulator kept serving after ``kill``); a wake-up socket
    is written by the C-level handler in whichever thread took the signal."""
    server = KeepAliveServer(app, sock)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    ended = threading.Event()
    failed: list[BaseException] = []

    def accept() -> None:
        try:
            server.serve_forever()
        except BaseException as exc:  # re-raised in the main thread, after the shutdown
            failed.append(exc)
        finally:  # set before the wake-up: the main thread reads it as soon as recv returns
            ended.set()
            with contextlib.suppress(OSError):
                wake_w.send(b"\0")

    signal.signal(signal.SIGTERM, stop)
    previous = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=accept, name="whmcs-sim-accept", daemon=True).start()
    try:
        while not ended.is_set():  # a signal's handler raises here, as recv returns
            wake_r.recv(64)
    except KeyboardInterrupt:
        pass
    finally:
        signal.set_wakeup_fd(previous)
        server.shutdown()
        wake_r.close()
        wake_w.close()
    if failed:
        raise failed[0]


def build(config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> SimHandle:
    """Create state, app, event poster and a bound (not yet serving) threaded server."""
    app, state, poster = build_app(config)
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    shown = f"[{host}]" if ":" in host else host
    return SimHandle(url=f"http://{shown}:{server.server_port}", state=state, app=app,
                     server=server, poster=poster)


def run_in_thread(config: SimConfig | None = None, host: str = "127.0.0.1",
                  port: int = 0) -> SimHandle:
    """Start a simulator on a free loopback port in a daemon thread; ``.stop()`` ends it."""
    handle = build(config or SimConfig(), host, port)
    handle.thread = threading.Thread(target=handle.server.serve_forever,
                                     kwargs={"poll_interval": 0.1},
                                     name="whmcs-sim", daemon=True)
    handle.thread.start()
    return handle
