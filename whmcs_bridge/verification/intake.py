"""Redact credentials out of an event envelope *before* it is stored (pure but for the key).

The receiver calls :func:`scrub_envelope` between validating an envelope and inserting it, so a
password, card number, token or private key a customer types into a ticket never reaches the
database in clear — not even for the moments before the verification handler runs, and not if
that handler fails or is disabled. What the handler still needs survives as
``payload["redactions"]``: per secret, the field it was in, its kind and the keyed
fingerprint that marks it unusable for ownership proof (:func:`tokens.fingerprint`, the same
HMAC the leaked-secrets table stores) — never the value.

The same functions serve the handlers' fallback for text that arrives un-redacted (events
stored before intake redaction existed): :func:`scrub_data` finds nothing in text that was
already redacted, because :func:`redact.find_secrets` skips its own masks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from whmcs_bridge.settings import Settings
from whmcs_bridge.verification import tokens
from whmcs_bridge.verification.redact import Redaction, redact

log = logging.getLogger("whmcs_bridge.verification")

#: Free-text fields of the ticket hooks' ``$vars`` (TicketOpen/…Admin/UserReply/AdminReply
#: ``subject``/``message``, TicketAddNote ``message``, TicketPiping ``subject``/``body``).
TEXT_FIELDS = ("subject", "message", "body")
#: Custom field values (``{id: value}`` or ``[{id, value}]``) are free text too: a department
#: asking for "cPanel password" gets exactly that.
CUSTOM_FIELDS = "customfields"


def leaks(settings: Settings | None, field: str, redaction: Redaction) -> list[dict[str, Any]]:
    """One ``redactions`` record per finding: field, kind, what it would prove, fingerprint.

    Without a fingerprint key (``tokens.KeyNotConfigured``; the receiver always has webhook
    secrets, so only a bare test or tool meets this) the record has no ``fingerprint``.
    """
    out = []
    for finding in redaction.findings:
        record: dict[str, Any] = {"field": field, "kind": finding.kind,
                                  "fingerprint_kind": finding.fingerprint_kind}
        if settings is not None:
            try:
                record["fingerprint"] = tokens.fingerprint(
                    settings, f"leak:{finding.fingerprint_kind}", finding.fingerprint_value)
            except tokens.KeyNotConfigured:
                log.warning("no key for leak fingerprints: %s redacted, not fingerprinted",
                            finding.kind)
        out.append(record)
    return out


def _text_slots(data: Mapping[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(field label, key path) of every string that may hold typed secrets."""
    for key in TEXT_FIELDS:
        if isinstance(data.get(key), str):
            yield key, (key,)
    custom = data.get(CUSTOM_FIELDS)
    if isinstance(custom, Mapping):
        for k, v in custom.items():
            if isinstance(v, str):
                yield f"{CUSTOM_FIELDS}.{k}", (CUSTOM_FIELDS, k)
    elif isinstance(custom, list):
        for i, item in enumerate(custom):
            if isinstance(item, Mapping) and isinstance(item.get("value"), str):
                yield f"{CUSTOM_FIELDS}.{item.get('id', i)}", (CUSTOM_FIELDS, i, "value")


def _copy_path(data: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """Copy the containers along ``path`` (so the input is never mutated); return the last."""
    node: Any = data
    for key in path[:-1]:
        child = node[key]
        node[key] = dict(child) if isinstance(child, Mapping) else list(child)
        node = node[key]
    return node


def scrub_data(settings: Settings | None, data: Mapping[str, Any]
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``data`` with every secret in its text fields masked, and the redaction records.

    Returns a new dict (``data`` is not changed); the records are empty when nothing was found.
    """
    out = dict(data)
    records: list[dict[str, Any]] = []
    for label, path in list(_text_slots(data)):
        node = _copy_path(out, path)
        found = redact(node[path[-1]])
        if found:
            node[path[-1]] = found.text
            records.extend(leaks(settings, label, found))
    return out, records


def scrub_envelope(settings: Settings | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope as it may be stored: secrets in ``data`` masked, ``redactions`` recorded.

    Records already in ``payload["redactions"]`` (an old row being scrubbed again) are kept
    and the new ones appended. A new dict is returned; ``payload`` is not changed.
    """
    out = dict(payload)
    data = payload.get("data")
    if not isinstance(data, Mapping):
        return out
    clean, records = scrub_data(settings, data)
    if records:
        out["data"] = clean
        out["redactions"] = [*(payload.get("redactions") or []), *records]
    return out
