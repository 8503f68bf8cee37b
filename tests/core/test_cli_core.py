from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "whmcs_bridge", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60, check=False)


def test_hooks_list_includes_handlers_from_settings(tmp_path: Path) -> None:
    mod = tmp_path / "my_handlers.py"
    mod.write_text("from hooks import on\n\n@on('TicketOpen', priority=99, name='mine.open')\n"
                   "def opened(event, ctx):\n    return None\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "HOME": str(tmp_path),
           "WHMCS_BRIDGE_HANDLERS__MODULES": '["my_handlers"]'}
    out = _run("hooks", "list", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["handlers"]
    opened = [r["handler"] for r in rows if r["hook"] == "TicketOpen"]
    assert opened[0] == "audit.record" and opened[-1] == "mine.open"


def test_settings_error_is_one_line_exit_2_and_never_shows_the_secret(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "WHMCS_BRIDGE_WEBHOOK_SECRET": TEST_SECRET + " whsec_short"}
    out = _run("db", "upgrade", env=env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "webhooks.secrets.1" in out.stderr
    assert "Traceback" not in out.stderr and TEST_SECRET[8:] not in out.stderr


def test_debug_variable_is_not_mistaken_for_a_setting(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "WHMCS_BRIDGE_DEBUG": "1", "WHMCS_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}
    out = _run("db", "upgrade", env=env)
    assert out.returncode == 0, out.stderr
    assert "database at" in out.stdout
