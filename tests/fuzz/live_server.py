"""The real app on a loopback port, in a thread (werkzeug's server), for black-box tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from whmcs_bridge.runtime import build_app


class _Quiet(WSGIRequestHandler):
    """No access-log line per request (the fuzzer sends hundreds)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@contextmanager
def live_server(settings: Any) -> Iterator[str]:
    """Serve ``build_app(settings)`` on 127.0.0.1:<free port>; yield the base URL."""
    app = build_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["whmcs_bridge"].engine.dispose()
