"""docs/whmcs-compat.md has one row per hook the module registers and per API action the
client calls, and each row's test file exists: the table stays true as code changes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "whmcs-compat.md"
HOOK_LIST = ROOT / "whmcs" / "modules" / "addons" / "whmcs_bridge" / "lib" / "HookList.php"
ROW = re.compile(r"^\| `([A-Za-z]+)` \|(.*)$", re.M)


def _rows() -> dict[str, list[str]]:
    return {name: [cell.strip() for cell in rest.split("|")]
            for name, rest in ROW.findall(DOC.read_text(encoding="utf-8"))}


def module_hooks() -> set[str]:
    """Every hook name in HookList.php's constants (the lists hooks.php registers)."""
    source = HOOK_LIST.read_text(encoding="utf-8")
    names: set[str] = set()
    for body in re.findall(r"public const [A-Z_]+ = (\[.*?\]|'[A-Za-z]+');", source, re.S):
        names.update(re.findall(r"'([A-Za-z]+)'", body))
    return names


def client_actions() -> set[str]:
    """Every literal action passed to ``call(...)`` in the library (the client and its users)."""
    actions: set[str] = set()
    for path in (ROOT / "whmcs_bridge").rglob("*.py"):
        if "sim" in path.relative_to(ROOT / "whmcs_bridge").parts:
            continue  # the simulator answers actions; it does not call them
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "call" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and re.fullmatch(r"[A-Z][A-Za-z]+", node.args[0].value)):
                actions.add(node.args[0].value)
    return actions


def test_the_sources_are_read() -> None:
    # Guards the two parsers above: an empty set would make the checks below pass vacuously.
    assert {"TicketOpen", "PreModuleChangePackage", "AfterCronJob"} <= module_hooks()
    assert {"GetTickets", "AddTicketReply", "GetAdminDetails"} <= client_actions()


def test_every_module_hook_has_a_row() -> None:
    missing = module_hooks() - set(_rows())
    assert not missing, f"docs/whmcs-compat.md has no row for hooks {sorted(missing)}"


def test_every_called_action_has_a_row_and_no_row_is_stale() -> None:
    rows = _rows()
    actions = client_actions()
    missing = actions - set(rows)
    assert not missing, f"docs/whmcs-compat.md has no row for API actions {sorted(missing)}"
    stale = {name for name in rows if name not in actions and name not in module_hooks()}
    assert not stale, f"docs/whmcs-compat.md has rows nothing uses: {sorted(stale)}"


def test_each_row_names_a_page_of_the_docs_and_an_existing_test() -> None:
    for name, cells in _rows().items():
        assert len(cells) >= 6, f"{name}: row needs vars, page, behaviour, test, versions"
        page, test = cells[1].strip("`"), cells[3].strip("`")
        assert re.fullmatch(r"(hooks|api)-reference/[a-z-]+\.md", page), (name, page)
        assert (ROOT / test).is_file(), f"{name}: test file {test} does not exist"
        assert cells[4], f"{name}: versions column is empty"
