"""The Flask side of the bridge: app factory and blueprints (receiver, gates, staff API, …)."""

from whmcs_bridge.webhooks.app import create_app

__all__ = ["create_app"]
