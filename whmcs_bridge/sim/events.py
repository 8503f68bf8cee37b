"""Posting the simulator's hook events to a bridge, signed like the PHP module signs them.

After each write the sim queues the event WHMCS would fire; a background thread posts the
design's envelope ``{"type", "timestamp", "data"}`` to ``<bridge>/webhooks/whmcs`` with
Standard Webhooks headers. API calls never wait for the bridge; failures are logged and
recorded, never raised. ``data`` is the hook's ``$vars`` as WHMCS hands them to the hook
(documented names, :mod:`.hook_vars`), passwords included: the addon module would scrub
them first, the sim leaves that to the receiver's own scrubbing, which is what it tests (its
passwords are the documented fake ones).

Gates are asked synchronously, as the module asks them (:meth:`EventPoster.ask_gate`, posting
to ``<bridge>/gates/<hook>`` with the ``actor``).
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
GATE_PATH = "/gates/"
USER_AGENT = "whmcs-bridge-sim/1 WHMCS/{version}"


def envelope(hook: str, data: dict[str, Any], at: datetime | None = None,
             actor: dict[str, Any] | None = None) -> bytes:
    """The JSON body of one event or gate request (pure)."""
    stamp = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    body: dict[str, Any] = {"type": hook, "timestamp": stamp, "data": data}
    if actor is not None:
        body["actor"] = actor
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class EventPoster:
    """A queue and one daemon thread that posts events in order."""

    def __init__(self, state: SimState, bridge_url: str, secret: str,
                 timeout: float = 5.0) -> None:
        base = bridge_url.rstrip("/")
        self.url = base if base.endswith(WEBHOOK_PATH) else base + WEBHOOK_PATH
        self.gate_url = self.url[: -len(WEBHOOK_PATH)] + GATE_PATH
        self.state = state
        self._secret = secret
        self._timeout = timeout
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._session = requests.Session()
        self._session.trust_env = False
        # gates are asked from the API's threads, events posted from the poster's own thread:
        # one session each (a Session is not made to be shared between threads)
        self._gate_session = requests.Session()
        self._gate_session.trust_env = False
        self._gate_lock = threading.Lock()
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

    def ask_gate(self, hook: str, data: dict[str, Any], actor: dict[str, Any]
                 ) -> dict[str, Any] | None:
        """The bridge's answer to a gate (``{"allow": ...}``), or None when it gave none
        usable (unreachable, an error status, not JSON): the module's fail mode then decides.
        Recorded in ``posted_events`` with ``"gate": true``."""
        body = envelope(hook, data, self.state.now(), actor)
        msg_id = f"msg_sim_{uuid.uuid4().hex}"
        headers = signed_headers(self._secret, msg_id, body)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT.format(version=self.state.config.whmcs_version)
        record: dict[str, Any] = {"id": msg_id, "type": hook, "gate": True}
        answer: dict[str, Any] | None = None
        try:
            with self._gate_lock:
                response = self._gate_session.post(self.gate_url + hook, data=body,
                                                   headers=headers, timeout=self._timeout)
            record["status"] = response.status_code
            parsed = response.json() if response.status_code == 200 else None
            if isinstance(parsed, dict) and isinstance(parsed.get("allow"), bool):
                answer = parsed
        except (requests.RequestException, ValueError) as exc:
            record["error"] = type(exc).__name__
            log.warning("could not ask sim gate", extra={
                "hook": hook, "error": type(exc).__name__})
        with self.state.lock:
            self.state.posted_events.append(record)
        return answer

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self._timeout + 1)
        self._session.close()
        self._gate_session.close()

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
