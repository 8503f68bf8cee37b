"""Recognise account-change requests in ticket text, departments and custom fields (pure).

Rules are data (``[verification]`` settings, defaults in :mod:`.settings`); this module only
folds text (:func:`whmcs_bridge.textfold.fold`) and applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whmcs_bridge.digits import is_digits
from whmcs_bridge.textfold import fold

__all__ = ["Classification", "Classifier", "fold"]

if TYPE_CHECKING:
    from whmcs_bridge.verification.settings import VerificationConfig

_FALSY = {"", "0", "off", "no", "false", "none", "khong"}


@dataclass(frozen=True)
class Classification:
    """The change kinds a ticket asks for, and why (rule names for the staff note)."""

    kinds: frozenset[str] = frozenset()
    reasons: tuple[str, ...] = ()
    excluded: bool = False  # a change was mentioned but reads as a question/report

    @property
    def is_change(self) -> bool:
        return bool(self.kinds)


@dataclass
class Classifier:
    """Compiled rules. Build once per settings with :meth:`from_settings`."""

    patterns: dict[str, list[re.Pattern[str]]]
    exclude: list[re.Pattern[str]]
    intent: list[re.Pattern[str]]
    departments: dict[int, str] = field(default_factory=dict)
    custom_fields: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, section: VerificationConfig) -> Classifier:
        return cls(
            patterns={k: [re.compile(p) for p in v] for k, v in section.patterns.items()},
            exclude=[re.compile(p) for p in section.exclude],
            intent=[re.compile(p) for p in section.intent],
            departments={int(k): v for k, v in section.departments.items()},
            custom_fields={int(k): v for k, v in section.custom_fields.items()},
        )

    def classify_text(self, *texts: str | None) -> Classification:
        """Classify subject and message together."""
        folded = fold(" \n ".join(t for t in texts if t))
        kinds: set[str] = set()
        reasons: list[str] = []
        for kind, patterns in self.patterns.items():
            for i, pattern in enumerate(patterns):
                if pattern.search(folded):
                    kinds.add(kind)
                    reasons.append(f"{kind}#{i}")
                    break
        if not kinds:
            return Classification()
        if any(p.search(folded) for p in self.exclude) and not any(
            p.search(folded) for p in self.intent
        ):
            return Classification(frozenset(), tuple(reasons), excluded=True)
        return Classification(frozenset(kinds), tuple(reasons))

    def classify(self, subject: str | None = None, message: str | None = None, *,
                 department_id: int | None = None,
                 custom_fields: Iterable[tuple[int, Any]] | Mapping[int, Any] = ()
                 ) -> Classification:
        """Text rules plus the department and custom-field rules configured by the admin."""
        result = self.classify_text(subject, message)
        kinds = set(result.kinds)
        reasons = list(result.reasons)
        if department_id is not None and int(department_id) in self.departments:
            kinds.add(self.departments[int(department_id)])
            reasons.append(f"department:{department_id}")
        items = custom_fields.items() if isinstance(custom_fields, Mapping) else custom_fields
        for field_id, value in items:
            try:
                key = int(field_id)
            except (TypeError, ValueError):
                continue
            if key in self.custom_fields and fold(str(value or "")) not in _FALSY:
                kinds.add(self.custom_fields[key])
                reasons.append(f"customfield:{key}")
        return Classification(frozenset(kinds), tuple(reasons),
                              excluded=result.excluded and not kinds)


def parse_custom_fields(value: Any) -> list[tuple[int, Any]]:
    """Custom fields as WHMCS hooks give them: ``{id: value}``, ``[{id, value}]`` or a
    base64-serialized PHP array already decoded upstream. Unknown shapes give nothing."""
    if isinstance(value, Mapping):
        return [(k, v) for k, v in value.items() if is_digits(str(k))]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, Mapping) and "id" in item:
                out.append((item["id"], item.get("value")))
        return out
    return []
