"""``whmcs-bridge demo``: the simulator, the bridge and sample traffic, in one command.

The simulator runs in a thread of this process; the bridge runs as the real ``serve`` (gunicorn
+ event worker) in a child process, because ``serve`` forks and must not inherit our threads.
Everything lives in a temporary folder with freshly generated secrets and is removed at the
end. Settings from the caller's environment (``WHMCS_BRIDGE_*``) are deliberately NOT passed
to the child, so a demo can never touch a real database or WHMCS.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import requests

from whmcs_bridge.cli.base import Failed
from whmcs_bridge.config import load_settings
from whmcs_bridge.demo import DemoSecrets, demo_settings, play, summary, to_toml
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sim.config import DEFAULT_IDENTIFIER, DEFAULT_SECRET

CLI_ARGV = [sys.executable, "-c", "from whmcs_bridge.cli import main; main()"]
START_TIMEOUT = 90.0
SETTLE_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(config: Path, folder: Path) -> dict[str, str]:
    """The caller's environment minus any bridge setting, plus the demo's config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHMCS_BRIDGE_")}
    env.update(WHMCS_BRIDGE_CONFIG=str(config), WHMCS_BRIDGE_DATA_DIR=str(folder),
               PYTHONUNBUFFERED="1")
    return env


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until_up(base: str, proc: subprocess.Popen[Any], log: Path,
                  timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failed(f"the bridge exited with code {proc.returncode}; last log lines:\n"
                         + _log_tail(log))
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise Failed(f"the bridge did not answer on {base} within {timeout:.0f}s (log: {log})")


def wait_for_tickets(base: str, token: str, ticket_ids: list[int],
                     timeout: float = SETTLE_TIMEOUT) -> list[int]:
    """Wait until the staff API knows every ticket; return the ids still unknown."""
    deadline = time.monotonic() + timeout
    missing = list(ticket_ids)
    headers = {"Authorization": f"Bearer {token}"}
    while missing and time.monotonic() < deadline:
        still = []
        for ticket_id in missing:
            try:
                ok = requests.get(f"{base}/api/tickets/{ticket_id}", headers=headers,
                                  timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            if not ok:
                still.append(ticket_id)
        missing = still
        if missing:
            time.sleep(0.5)
    return missing


def run_cli(args: list[str], env: dict[str, str], log: Path) -> int:
    """Run one ``whmcs-bridge`` command like an admin would, its output into the log."""
    with log.open("a") as out:
        out.write(f"\n$ whmcs-bridge {' '.join(args)}\n")
        out.flush()
        return subprocess.call([*CLI_ARGV, *args], env=env, stdout=out,  # noqa: S603 (fixed argv)
                               stderr=subprocess.STDOUT, timeout=300)


def has_command(*path: str) -> bool:
    """Whether the running ``whmcs-bridge`` has the command ``path`` (e.g. tickets log-call)."""
    ctx = click.get_current_context().find_root()
    command: Any = ctx.command
    for name in path:
        command = command.get_command(ctx, name) if isinstance(command, click.Group) else None
        if command is None:
            return False
    return True


def banner(*, base: str, token: str, sim_url: str, folder: Path, config: Path, log: Path,
           exit_after: float | None, breached: int, verification: int) -> str:
    env = f"WHMCS_BRIDGE_CONFIG={config}"
    until = (f"for {exit_after:g} seconds" if exit_after else "until you press Ctrl-C")
    return f"""
whmcs-bridge demo is running {until}.

  Dashboard      {base}/dashboard          (sign in with the staff token below)
  Staff token    {token}
  Staff API      curl -H 'Authorization: Bearer {token}' {base}/api/tickets/1
  OpenAPI        {base}/openapi.json
  Health         {base}/readyz   {base}/metrics
  WHMCS (sim)    {sim_url}/includes/api.php   (a test double, not WHMCS)
  Data folder    {folder}   (removed when the demo ends)
  Bridge log     {log}

Try the CLI against the demo (in another terminal):
  {env} whmcs-bridge doctor
  {env} whmcs-bridge events list
  {env} whmcs-bridge tickets show {breached}
  {env} whmcs-bridge verify status --ticket {verification}
  {env} whmcs-bridge sla report
""".rstrip()


@click.command("demo")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port of the bridge on 127.0.0.1 (0 picks a free one).")
@click.option("--exit-after", type=click.FloatRange(min=1), default=None,
              help="Stop by itself after this many seconds (for CI).")
def demo(port: int, exit_after: float | None) -> None:
    """Start the WHMCS simulator and the bridge with sample traffic; Ctrl-C stops it."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    keys = DemoSecrets.generate()
    stop = threading.Event()
    with ExitStack() as cleanup:
        folder = Path(tempfile.mkdtemp(prefix="whmcs-bridge-demo-"))
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        sim = run_in_thread(SimConfig(tickets=0, clients=20, timezone="Asia/Ho_Chi_Minh",
                                      bridge_url=base, webhook_secret=keys.webhook_secret))
        cleanup.callback(sim.stop)
        settings = demo_settings(folder=folder, port=port, sim_url=sim.url,
                                 sim_identifier=DEFAULT_IDENTIFIER, sim_secret=DEFAULT_SECRET,
                                 keys=keys)
        try:
            load_settings(data=settings, environ={})
        except SettingsError as exc:  # a bug in the demo, said plainly
            raise Failed(f"demo settings rejected: {exc}") from None
        config = folder / "whmcs-bridge.toml"
        config.touch(mode=0o600)
        config.write_text(to_toml(settings))
        env = child_env(config, folder)
        log = folder / "bridge.log"

        click.echo(f"starting the WHMCS simulator ({sim.url}) and the bridge ({base}) …")
        with log.open("a") as out:
            proc = subprocess.Popen([*CLI_ARGV, "serve"], env=env, stdout=out,  # noqa: S603
                                    stderr=subprocess.STDOUT, start_new_session=True)
        cleanup.callback(_terminate, proc)
        wait_until_up(base, proc, log)

        click.echo("playing sample traffic (tickets on every level and channel) …")
        state = sim.state

        def person(client_id: int) -> dict[str, Any]:
            c = state.clients[client_id]
            return {"name": c.fullname, "email": c.email}

        client = sim.client()
        opened = play(client.call, person, datetime.now(UTC))
        made = [(step.expect, tid) for step, tid in opened]
        if has_command("tickets", "log-call"):  # the phone channel: staff log a call
            before = set(state.tickets)
            run_cli(["tickets", "log-call", "--client", "11", "--priority", "High",
                     "--subject", "Phone: cannot log in to cPanel",
                     "--message", "Customer called: cPanel rejects the password."], env, log)
            made += [("phone", tid) for tid in sorted(set(state.tickets) - before)]
        sim.flush_events()
        if has_command("sync"):
            run_cli(["sync"], env, log)
        missing = wait_for_tickets(base, keys.staff_token, [tid for _, tid in made])
        if missing:
            click.echo(f"warning: the bridge has not processed tickets {missing} yet "
                       f"(see {log})", err=True)
        by_expect = {step.expect: tid for step, tid in opened}
        click.echo(banner(base=base, token=keys.staff_token, sim_url=sim.url, folder=folder,
                          config=config, log=log, exit_after=exit_after,
                          breached=by_expect["breached"],
                          verification=by_expect["verification"]))
        click.echo("\n" + summary(made))
        ready_at = time.monotonic()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        cleanup.callback(signal.signal, signal.SIGTERM, previous)
        try:
            while not stop.wait(0.5):
                if proc.poll() is not None:
                    raise Failed(f"the bridge stopped (exit {proc.returncode}); last log lines:"
                                 "\n" + _log_tail(log))
                if exit_after is not None and time.monotonic() - ready_at > exit_after:
                    break
        except KeyboardInterrupt:
            pass
        click.echo("stopping the demo and removing its data …")
    click.echo("demo stopped.")


def _terminate(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


commands = [demo]
