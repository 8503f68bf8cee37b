"""The hook registry and the built-in handlers, keyed by WHMCS hook names."""

from whmcs_bridge.hooks.registry import HookRegistry, load_registry, on, periodic

__all__ = ["HookRegistry", "load_registry", "on", "periodic"]
