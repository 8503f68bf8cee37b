"""A test handler that asks WHMCS something on every ``InvoicePaid`` (loaded through
``[handlers].modules`` by tests/worker/test_auth_refusal.py)."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.hooks.registry import on


@on("InvoicePaid", priority=5, name="test.whmcs_probe")
def probe(event: Any, ctx: Any) -> None:
    ctx.whmcs.get_admin_details()
