"""Posting the simulator's hook events to a bridge, signed like the PHP module signs them.

After each write the sim queues the event WHMCS would fire; a background thread posts the
design's envelope ``{"type", "timestamp", "data"}`` to ``<bridge>/webhooks/whmcs`` with
Standard Webhooks headers. API calls never wait for the bridge; failures are logged and
recorded, never raised.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from whmcs_bridge.signing import signed_headers
from whmcs_bridge.sim.state import SimState

log = logging.getLogger("whmcs_bridge.sim.events")

WEBHOOK_PATH = "/webhooks/whmcs"
USER_AGENT = "whmcs-bridge-sim/1 WHMCS/{version}"


def envelope(hook: str, data: dict[str, Any], at: datetime | None = None) -> bytes:
    """The JSON body of one event (pure)."""
    stamp = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    return json.dumps({"type": hook, "timestamp": stamp, "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class EventPoster:
    """A queue and one daemon thread that posts events in order."""

    def __init__(self, state: SimState, bridge_url: str, secret: str,
                 timeout: float = 5.0) -> None:
        base = bridge_url.rstrip("/")
        self.url = base if base.endswith(WEBHOOK_PATH) else base + WEBHOOK_PATH
        self.state = state
        self._secret = secret
        self._timeout = timeout
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._session = requests.Session()
        self._session.trust_env = False
        self._thread = threading.Thread(target=self._run, name="sim-event-poster",
                                        daemon=True)
        self._thread.start()

    def __call__(self, hook: str, data: dict[str, Any]) -> None:
        self._queue.put((hook, data))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was attempted (for tests and the demo)."""
        done = threading.Event()
        self._queue.put(("__flush__", {"event": done}))
        return done.wait(timeout)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self._timeout + 1)
        self._session.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            hook, data = item
            if hook == "__flush__":
                data["event"].set()
                continue
            self._post(hook, data)

    def _post(self, hook: str, data: dict[str, Any]) -> None:
        body = envelope(hook, data, self.state.now())
        msg_id = f"msg_sim_{uuid.uuid4().hex}"
        headers = signed_headers(self._secret, msg_id, body)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT.format(version=self.state.config.whmcs_version)
        record: dict[str, Any] = {"id": msg_id, "type": hook, "ticketid": data.get("ticketid")}
        try:
            response = self._session.post(self.url, data=body, headers=headers,
                                          timeout=self._timeout)
            record["status"] = response.status_code
            if response.status_code >= 300:
                log.warning("bridge refused sim event", extra={
                    "hook": hook, "status": response.status_code})
        except requests.RequestException as exc:
            record["error"] = type(exc).__name__
            log.warning("could not post sim event", extra={
                "hook": hook, "error": type(exc).__name__})
        with self.state.lock:
            self.state.posted_events.append(record)
