"""`whmcs-bridge demo --exit-after 45` from a clean HOME: while it runs, the dashboard and the
staff API show tickets in every SLA state and the printed CLI commands work; when it ends, it
exits 0 and removes its data folder."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

SLA_STATES = {"on_track", "at_risk", "breached", "met", "paused", "not_applicable"}
READY_TIMEOUT = 240


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


@pytest.mark.slow
def test_demo_reaches_every_sla_state(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHMCS_BRIDGE_", "XDG_"))}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from whmcs_bridge.cli import main; main()",
         "demo", "--port", "0", "--exit-after", "45"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            output.append(line)
            if "sample tickets" in line:
                break
        text = "".join(output)
        assert "sample tickets" in text, f"the demo never became ready:\n{text}"

        dashboard = re.search(r"Dashboard\s+(http://127\.0\.0\.1:\d+/dashboard)", text).group(1)
        token = re.search(r"Staff token\s+(\S+)", text).group(1)
        folder = Path(re.search(r"Data folder\s+(\S+)", text).group(1))
        assert folder.is_dir()
        auth = {"Authorization": f"Bearer {token}"}

        html = requests.get(dashboard, headers=auth, params={"lang": "en"}, timeout=30).text
        shown = set(re.findall(r'data-sla-state="([a-z_]+)"', html))
        assert shown >= SLA_STATES, f"dashboard lacks states {SLA_STATES - shown}"

        base = dashboard.rsplit("/dashboard", 1)[0]
        ids = sorted(set(map(int, re.findall(r'data-ticket-id="(\d+)"', html))))
        assert len(ids) >= 10
        # the summary counts every sample ticket, the logged phone call too (it said 10 of 11)
        counted = re.search(r"^(\d+) sample tickets, scenario: (.*)$", text, re.M)
        assert counted and int(counted.group(1)) == len(ids), (counted, ids)
        assert sorted(map(int, re.findall(r"#(\d+) ", counted.group(2) + " "))) == ids
        tickets = [requests.get(f"{base}/api/tickets/{ticket_id}", headers=auth,
                                timeout=30).json() for ticket_id in ids]
        api_states = {t["sla"]["state"] for t in tickets}
        channels = {t["channel"] for t in tickets}
        assert api_states >= SLA_STATES, f"staff API lacks states {SLA_STATES - api_states}"
        # the e-mailed account-change request waits for ownership verification
        assert any(t["channel"] == "email" and t["verification"]["state"] == "required"
                   for t in tickets)
        # the billing ticket got the bridge's hotline answer (WHMCS status Answered)
        assert any(t["department_id"] == 2 and t["status"] == "Answered" for t in tickets)
        assert {"client_area", "email", "chat", "staff", "phone"} <= channels

        # the sample CLI commands it printed work as printed (same config, no other setting)
        samples = re.findall(r"^\s+(WHMCS_BRIDGE_CONFIG=\S+) whmcs-bridge (.+)$", text, re.M)
        assert len(samples) >= 4
        for assignment, command in samples:
            if command.split()[0] not in {"tickets", "verify", "sla"}:
                continue
            run = subprocess.run(
                [sys.executable, "-c", "from whmcs_bridge.cli import main; main()",
                 *command.split()],
                env={**env, "WHMCS_BRIDGE_CONFIG": assignment.split("=", 1)[1]},
                capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, f"{command}: {run.stderr}"

        # without the token the dashboard only offers the sign-in form
        assert 'name="token"' in requests.get(dashboard, timeout=30).text

        assert proc.wait(timeout=120) == 0
        rest = []
        while (line := lines.get(timeout=10)) is not None:
            rest.append(line)
        assert "demo stopped" in "".join(rest)
        assert not folder.exists(), "the demo left its data folder behind"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)
