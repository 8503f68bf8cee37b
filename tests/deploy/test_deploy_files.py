"""The files in deploy/ are what an admin copies: they must load and name real commands/keys."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from whmcs_bridge.cli.commands import cli
from whmcs_bridge.config import SECTIONS, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EXAMPLE = DEPLOY / "whmcs-bridge.example.toml"


def test_example_toml_loads_and_its_values_are_used() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.whmcs.admin_url == "https://billing.example.com/admin/"
    assert settings.server.public_url == "https://bridge.example.com/"
    assert settings.timezone == "Asia/Ho_Chi_Minh"


def test_example_toml_mentions_every_settings_section() -> None:
    text = EXAMPLE.read_text()
    headers = set(re.findall(r"^#?\s*\[([a-z_]+)\]\s*$", text, flags=re.M))
    missing = set(SECTIONS) - headers
    assert not missing, f"deploy example lacks sections: {sorted(missing)}"


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def test_env_example_names_only_real_settings() -> None:
    environ = _env_file(DEPLOY / "whmcs-bridge.env.example")
    assert "WHMCS_BRIDGE_WEBHOOK_SECRET" in environ
    settings = load_settings(EXAMPLE, environ=environ)  # an unknown name would raise
    assert settings.database_url.startswith("postgresql+psycopg://")


def _exec_start(unit: Path) -> list[str]:
    lines = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    assert len(lines) == 1, unit
    return shlex.split(lines[0].removeprefix("ExecStart="))


@pytest.mark.parametrize(("unit", "expected"), [
    ("whmcs-bridge.service", ["serve", "--no-worker"]),
    ("whmcs-bridge-worker.service", ["worker"]),
])
def test_units_run_real_commands(unit: str, expected: list[str]) -> None:
    argv = _exec_start(DEPLOY / unit)
    assert argv[0].endswith("/whmcs-bridge")
    assert argv[1:] == expected
    ctx = click.Context(cli)
    command = cli.get_command(ctx, expected[0])
    assert command is not None, f"`whmcs-bridge {expected[0]}` does not exist"
    option_names = {o for p in command.params for o in getattr(p, "opts", [])}
    for flag in expected[1:]:
        assert flag in option_names, f"`whmcs-bridge {expected[0]}` has no {flag}"
    text = (DEPLOY / unit).read_text()
    assert "EnvironmentFile=/etc/whmcs-bridge/env" in text
    assert "WHMCS_BRIDGE_CONFIG=/etc/whmcs-bridge/whmcs-bridge.toml" in text


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` prints nothing: no warning an admin would see at install
    (ExecStart points at this environment's whmcs-bridge, as it would after the install)."""
    import shutil
    import subprocess
    import sys

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is not installed (apt-get install systemd)")
    installed = str(Path(sys.executable).with_name("whmcs-bridge"))
    for unit in ("whmcs-bridge.service", "whmcs-bridge-worker.service"):
        text = (DEPLOY / unit).read_text().replace("/opt/whmcs-bridge/bin/whmcs-bridge",
                                                   installed)
        (tmp_path / unit).write_text(text)
    done = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
