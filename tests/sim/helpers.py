"""Raw access to the simulator (to check the JSON shapes themselves, not the client's view)."""

from __future__ import annotations

from typing import Any

import requests

from whmcs_bridge.sim.config import DEFAULT_IDENTIFIER, DEFAULT_SECRET


def raw(sim: Any, action: str, *, auth: bool = True, **params: Any) -> requests.Response:
    form: dict[str, Any] = {"action": action, "responsetype": "json", **params}
    if auth:
        form.setdefault("identifier", DEFAULT_IDENTIFIER)
        form.setdefault("secret", DEFAULT_SECRET)
    return requests.post(sim.api_url, data=form, timeout=10)
