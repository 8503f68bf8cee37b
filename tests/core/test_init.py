"""``whmcs-bridge init`` (issue 15): secrets generated, the credential checked against the
simulator (role actions, nothing written to WHMCS), a 0600 config file, the module settings
printed; then, from a clean HOME, ``db upgrade`` → ``serve`` accepts an event signed with the
printed secret and the ticket API accepts the printed token — what the addon module does."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.core.test_whmcs_compat_doc import client_actions
from tests.receiver.conftest import USER_AGENT, envelope
from tests.worker.procs import CLI, REPO, free_port, wait_for
from whmcs_bridge import initconfig
from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.cli.commands import cli
from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sim.config import READONLY_IDENTIFIER, READONLY_SECRET


@pytest.fixture
def sim() -> Iterator[Any]:
    handle = run_in_thread(SimConfig(tickets=5, clients=2, seed=2))
    yield handle
    handle.stop()


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WHMCS_BRIDGE_", "XDG_"))}
    env.update({"HOME": str(home), "PYTHONPATH": str(REPO)})
    return env


def test_probes_cover_every_action_the_bridge_calls() -> None:
    assert client_actions() - {"GetAdminUsers"} <= set(initconfig.PROBES)
    assert set(initconfig.PROBES) <= client_actions()


def test_check_finds_missing_role_actions_and_writes_nothing(sim: Any) -> None:
    ok = initconfig.check_whmcs(sim.client(retries=0), None)
    assert ok.ok and ok.missing_actions == [] and ok.admin.startswith("#1")
    reader = WhmcsClient(sim.url, READONLY_IDENTIFIER, READONLY_SECRET, retries=0)
    bad = initconfig.check_whmcs(reader, None)
    assert not bad.ok and {"AddTicketNote", "UpdateTicket", "SendAdminEmail"} <= set(
        bad.missing_actions) and "GetTickets" not in bad.missing_actions
    # the write probes lacked their ids: nothing happened in WHMCS
    assert sim.state.admin_emails == [] and sim.state.sent_emails == []
    assert sim.state.notifications == [] and len(sim.state.tickets) == 5


def test_refuses_and_writes_nothing_when_the_role_is_too_narrow(sim: Any,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "b.toml"
    result = CliRunner().invoke(cli, [
        "init", "--non-interactive", "-o", str(out), "--whmcs-url", sim.url,
        "--identifier", READONLY_IDENTIFIER, "--secret", READONLY_SECRET,
        "--admin-username", "simreader"], env={})
    assert result.exit_code == 1
    assert "does not allow: " in result.output and "AddTicketNote" in result.output
    assert "nothing written" in result.output and not out.exists()
    missing = CliRunner().invoke(cli, ["init", "--non-interactive", "-o", str(out)], env={})
    assert missing.exit_code == 2 and "--whmcs-url is required" in missing.output
    zone = CliRunner().invoke(cli, [
        "init", "--non-interactive", "-o", str(out), "--whmcs-url", sim.url, "--identifier",
        "i", "--secret", "s", "--admin-username", "a", "--whmcs-timezone", "Mars/Olympus"],
        env={})
    assert isinstance(zone.exception, SettingsError) and "whmcs.timezone" in str(zone.exception)
    assert not out.exists()


@pytest.mark.slow
def test_init_then_serve_then_module_settings_from_a_clean_home(sim: Any,
                                                                 tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home)
    port = free_port()
    init = subprocess.run([*CLI, "init", "--non-interactive", "--whmcs-url", sim.url,
                           "--whmcs-timezone", "UTC",
                           "--identifier", sim.identifier, "--secret", sim.secret,
                           "--admin-username", "simadmin",
                           "--public-url", f"http://127.0.0.1:{port}"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr + init.stdout
    assert "whmcs.timezone" not in init.stderr  # the simulator runs on UTC, as we said
    config = home / ".config" / "whmcs-bridge" / "bridge.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    pasted = dict(re.findall(r"^  (Bridge URL|Webhook signing secret|Staff API token)\s+(\S+)$",
                             init.stdout, re.M))
    assert pasted["Bridge URL"] == f"http://127.0.0.1:{port}"
    settings = load_settings(config, environ={})
    assert [s.reveal() for s in settings.webhooks.secrets] == [pasted["Webhook signing secret"]]
    assert [t.reveal() for t in settings.api.tokens] == [pasted["Staff API token"]]
    assert len(settings.server.secret_key.reveal()) >= 32
    assert settings.whmcs.timezone == "UTC"
    assert sim.secret in config.read_text() and sim.secret not in init.stdout

    base = [*CLI, "--config", str(config)]
    upgraded = subprocess.run([*base, "db", "upgrade"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    db = home / ".local" / "share" / "whmcs-bridge" / "bridge.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    served_log = tmp_path / "serve.log"
    with served_log.open("wb") as log_file:
        proc = subprocess.Popen([*base, "serve", "--port", str(port), "--workers", "1"],
                                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=log_file, start_new_session=True)
    try:
        url = pasted["Bridge URL"]

        def ready() -> bool:
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{url}/healthz", timeout=1).ok
            return False

        wait_for(ready, 60, "serve to answer /healthz")
        body = json.dumps(envelope()).encode()
        headers = signed_headers(pasted["Webhook signing secret"], f"msg_{uuid.uuid4().hex}",
                                 body)
        posted = requests.post(f"{url}/webhooks/whmcs", data=body, timeout=10,
                               headers={**headers, "Content-Type": "application/json",
                                        "User-Agent": USER_AGENT})
        assert posted.status_code in (200, 202), posted.text
        panel = requests.get(f"{url}/api/tickets/1", timeout=10,
                             headers={"Authorization": f"Bearer {pasted['Staff API token']}"})
        assert panel.status_code != 401, panel.text
        wrong = requests.get(f"{url}/api/tickets/1", timeout=10,
                             headers={"Authorization": "Bearer not-the-token-xxxxxxxx"})
        assert wrong.status_code == 401
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError("serve did not stop within 30 s of SIGTERM; its log ends:\n"
                                 + served_log.read_text(errors="replace")[-4000:]) from None


def test_asks_for_what_the_flags_did_not_give(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from whmcs_bridge.cli import init as init_cli

    monkeypatch.setattr(init_cli, "stdin_is_terminal", lambda: True)
    out = tmp_path / "conf" / "b.toml"
    answers = "https://billing.example.com/\nident-1\nsecret-typed\nsupport\n\n"
    result = CliRunner().invoke(cli, ["init", "-o", str(out), "--skip-check"], input=answers,
                                env={})
    assert result.exit_code == 0, result.output
    assert "secret-typed" not in result.output  # the secret prompt hides its input
    settings = load_settings(out, environ={})
    assert (settings.whmcs.url, settings.whmcs.identifier.reveal(),
            settings.whmcs.secret.reveal(), settings.whmcs.admin_username) == (
        "https://billing.example.com/", "ident-1", "secret-typed", "support")
    assert settings.server.public_url is None
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    again = CliRunner().invoke(cli, ["init", "-o", str(out), "--skip-check"], input=answers,
                               env={})
    assert again.exit_code == 1 and "--force" in again.output


def test_warns_when_whmcs_runs_in_another_zone(sim: Any, tmp_path: Path) -> None:
    # the simulator's WHMCS runs on UTC, the bridge's default zone is Asia/Ho_Chi_Minh
    result = CliRunner().invoke(cli, [
        "init", "--non-interactive", "-o", str(tmp_path / "b.toml"), "--whmcs-url", sim.url,
        "--identifier", sim.identifier, "--secret", sim.secret, "--admin-username", "simadmin"],
        env={})
    assert result.exit_code == 0, result.output
    assert "-7.0 h" in result.output and "init --whmcs-timezone" in result.output
