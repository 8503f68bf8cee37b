"""The settings file as a whole: every room's section, validated in one pass.

:mod:`whmcs_bridge.settings` is the machinery and the core sections and imports no room; the
rooms declare their own sections; this module, above them, is the one table of all of them.
A room adds its section here with a plain import (an unknown key anywhere is then an error
that names it, and the README's settings table lists it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema

from whmcs_bridge.hooks.registry import HandlerSettings
from whmcs_bridge.notify.settings import NotificationSettings
from whmcs_bridge.settings import CORE_SECTIONS, Settings, read_settings
from whmcs_bridge.sla.settings import ChannelSettings, EscalationSettings, SlaSettings
from whmcs_bridge.store.ingest import IngestSettings
from whmcs_bridge.verification.settings import VerificationSettings

#: section name -> its schema, in the order the README's settings table shows them.
SECTIONS: dict[str, type[Schema]] = {
    **CORE_SECTIONS,
    "notifications": NotificationSettings,
    "ingest": IngestSettings,
    "sla": SlaSettings,
    "channels": ChannelSettings,
    "escalation": EscalationSettings,
    "verification": VerificationSettings,
    "handlers": HandlerSettings,
}


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Settings:
    """Load, merge and validate every section; raise
    :class:`~whmcs_bridge.settings.SettingsError` naming the bad key.

    ``data`` (already-parsed mapping) is for tests and the demo; a path or ``WHMCS_BRIDGE_CONFIG``
    names a TOML file; the environment overrides either.
    """
    return read_settings(SECTIONS, path, environ, data)
