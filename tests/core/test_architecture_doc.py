"""docs/architecture.md draws the layers the import-linter contract enforces, and the contract
covers every module: a new top-level module must be placed in a layer (and on the page)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract_layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [{m.strip() for m in layer.split("|")} for layer in contract["layers"]]


def _doc_layers() -> list[set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("<!-- layers:begin -->")[1].split("<!-- layers:end -->")[0]
    items = re.split(r"^\d+\. ", block, flags=re.M)[1:]
    # the layer's modules are the backticked names before the first " — "
    return [set(re.findall(r"`(whmcs_bridge[\w.]*)`", item.split(" — ")[0])) for item in items]


def test_the_page_lists_the_contract_layers_in_order() -> None:
    assert _doc_layers() == _contract_layers()


def test_every_top_level_module_sits_in_a_layer() -> None:
    package = ROOT / "whmcs_bridge"
    modules = {f"whmcs_bridge.{p.stem}" for p in package.glob("*.py")
               if p.stem not in {"__init__", "__main__"}}
    modules |= {f"whmcs_bridge.{p.name}" for p in package.iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    placed = set().union(*_contract_layers())
    assert modules - placed == set()
