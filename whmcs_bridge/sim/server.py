"""Running the simulator: in a background thread (tests, demo, bench) or in the foreground
(``whmcs-bridge sim``). Loopback by default."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.sim.app import create_sim_app
from whmcs_bridge.sim.config import API_PATH, DEFAULT_IDENTIFIER, DEFAULT_SECRET, SimConfig
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
    # Gunicorn sets TCP_NODELAY only on sockets it creates; accepted sockets inherit it from
    # this listener. It writes headers and body separately, the pattern where Nagle's
    # algorithm can wait for a delayed ACK. Measured here on loopback (GetTicket and
    # GetTickets, kept-alive, 100-200 calls): no difference, 1.4-2.4 ms a call with or
    # without it; kept so a sim on a real network behaves like gunicorn's own sockets.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def gunicorn_options(sock: socket.socket) -> dict[str, Any]:
    """Foreground serving for ``whmcs-bridge sim``: one process (the state lives in memory),
    threaded, with HTTP keep-alive. Werkzeug's server closes every connection, which makes a
    client pay a TCP handshake and a new server thread per call — unlike a real WHMCS behind
    a web server, and it skews the sync benchmark."""
    return {"bind": f"fd://{sock.fileno()}", "workers": 1, "worker_class": "gthread",
            "threads": 32, "keepalive": 30, "timeout": 120, "accesslog": None}


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
