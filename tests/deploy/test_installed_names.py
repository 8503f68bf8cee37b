"""What ``pip install .`` puts in site-packages: one package, ``whmcs_bridge``.

``hooks/`` and ``webhooks/`` are top-level folders of the repository but install as
``whmcs_bridge.hooks`` and ``whmcs_bridge.webhooks`` (setup.cfg ``package_dir``): packages
named ``hooks`` or ``webhooks`` at the top of site-packages would clash with anything.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("whmcs_bridge-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.mark.slow
def test_only_whmcs_bridge_at_the_top(wheel_names: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_names}
    packages = {t for t in tops if not t.endswith(".dist-info")}
    assert packages == {"whmcs_bridge"}


@pytest.mark.slow
def test_hooks_and_webhooks_install_under_the_package(wheel_names: set[str]) -> None:
    for folder in ("hooks", "webhooks"):
        modules = {p.name for p in (ROOT / folder).glob("*.py")}
        installed = {n.rsplit("/", 1)[1] for n in wheel_names
                     if n.startswith(f"whmcs_bridge/{folder}/") and n.endswith(".py")}
        assert modules and installed == modules, folder


@pytest.mark.slow
def test_the_flask_side_templates_install_with_it(wheel_names: set[str]) -> None:
    """The pages the blueprints render (dashboard, verification link) are files under
    webhooks/templates, shipped as package data (setup.cfg ``*.html``)."""
    templates = {p.name for p in (ROOT / "webhooks" / "templates").glob("*.html")}
    installed = {n.rsplit("/", 1)[1] for n in wheel_names
                 if n.startswith("whmcs_bridge/webhooks/templates/")}
    assert {"dashboard.html", "verification_link.html"} <= templates
    assert installed == templates
