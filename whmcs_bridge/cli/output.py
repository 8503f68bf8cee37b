"""How CLI commands print times and tables (text output; ``--json`` keeps ISO 8601 UTC). Pure.

Times: :func:`whmcs_bridge.timefmt.local_time` (also what ``doctor`` says), re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from whmcs_bridge.timefmt import FORMAT, local_time

__all__ = ["FORMAT", "local_time", "table"]

def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Lines of a plain-text table: a header row, then the rows, columns padded to the widest
    cell (the last column is not padded: it holds free text such as an error)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return ["  ".join(c.ljust(widths[i]) if i < len(headers) - 1 else c
                      for i, c in enumerate(r)).rstrip() for r in cells]
