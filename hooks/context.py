"""The handler API's public name: the event and the contexts handlers receive.

Defined in :mod:`whmcs_bridge.context` (the library builds them as well); third-party handlers
import them from here, as the built-in ones do.
"""

from whmcs_bridge.context import Event, HandlerContext, JobContext, PrepareContext, Services

__all__ = ["Event", "HandlerContext", "JobContext", "PrepareContext", "Services"]
