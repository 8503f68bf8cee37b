"""The WHMCS addon module (PHP), tested under a stand-in for WHMCS against the real bridge.

The PHP side (``tests/php/run.php <suite>``) loads the real module files under a small stand-in
for the WHMCS functions it uses (``add_hook``, Capsule over SQLite, ``logModuleCall``, module
settings, ``CurrentUser``). This driver lints every file, runs the unit suite, then starts a
real ``whmcs-bridge serve`` on 127.0.0.1 and runs the integration suites against it, stopping
and restarting it where the test needs the bridge down. The stand-in's database file is shared
between suites so the module's spool survives a bridge restart, as it would in WHMCS.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from whmcs_bridge.signing import verify

pytestmark = [pytest.mark.php, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "whmcs" / "modules" / "addons" / "whmcs_bridge"
PHP_TESTS = ROOT / "tests" / "php"
RUNNER = PHP_TESTS / "run.php"
PHP = "php"
SUITE_TIMEOUT = 120  # seconds; a suite normally takes 1-5 s
START_TIMEOUT = 60
#: the installed console script, or the same entry point through this interpreter
BRIDGE_CMD = ([shutil.which("whmcs-bridge")] if shutil.which("whmcs-bridge")
              else [sys.executable, "-c", "from whmcs_bridge.cli import main; main()"])


def php_files() -> list[Path]:
    return sorted(MODULE_DIR.rglob("*.php")) + sorted(PHP_TESTS.rglob("*.php"))


def run_suite(suite: str, env: dict[str, str]) -> dict[str, Any]:
    """Run one PHP suite; fail with its full output unless every test passed."""
    proc = subprocess.run(
        [PHP, "-d", "display_errors=stderr", str(RUNNER), suite],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=SUITE_TIMEOUT,
    )
    output = proc.stdout + proc.stderr
    result_lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and result_lines, f"PHP suite {suite!r} failed:\n{output}"
    for noise in ("PHP Warning", "PHP Notice", "Deprecated"):
        assert noise not in output, output
    result = json.loads(result_lines[-1][len("RESULT "):])
    assert result["passed"] > 0 and not result["failed"], output
    return result


def wait_for(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bridge:
    """A real ``whmcs-bridge serve`` on 127.0.0.1 that a test can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "bridge.db"
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.token = "staff-" + secrets.token_hex(16)
        self.log_path = workdir / "bridge.log"
        self.env = {
            **os.environ,
            "WHMCS_BRIDGE_DATABASE_URL": f"sqlite:///{self.db_path}",
            "WHMCS_BRIDGE_WEBHOOK_SECRET": self.secret,
            "WHMCS_BRIDGE_API_TOKEN": self.token,
            "WHMCS_BRIDGE_LOG_LEVEL": "WARNING",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None, "already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*BRIDGE_CMD, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", "1"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"whmcs-bridge serve exited:\n{self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"whmcs-bridge serve did not answer /healthz:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM to the process group we started (serve, its gunicorn and worker children)."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is our child's pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.proc = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port must refuse before the test goes on
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def php_env(self, standin_db: Path, **extra: Any) -> dict[str, str]:
        return {"WB_DB": str(standin_db), "WB_BRIDGE_URL": self.url, "WB_SECRET": self.secret,
                "WB_TOKEN": self.token, **{k: str(v) for k, v in extra.items()}}

    def events(self) -> list[dict[str, Any]]:
        """Every stored event (id, type, source, payload) straight from the bridge's database."""
        engine = create_engine(f"sqlite:///{self.db_path}")
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, type, source, payload FROM events")).all()
        finally:
            engine.dispose()
        return [{"id": r.id, "type": r.type, "source": r.source,
                 "payload": r.payload if isinstance(r.payload, dict) else json.loads(r.payload)}
                for r in rows]

    def staff_get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"},
                            timeout=5)


# --- no bridge needed -------------------------------------------------------------------


def test_every_php_file_lints_clean() -> None:
    files = php_files()
    assert len(files) > 15
    for path in files:
        proc = subprocess.run([PHP, "-l", str(path)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stdout + proc.stderr


#: Module files that do something when included, each guarded by `defined('WHMCS')`: the files
#: WHMCS includes itself (the module file, hooks.php, the language files), lib/autoload.php
#: (registers the autoloader) and the templates (print markup). Every other file only declares
#: symbols (PSR-1), so running it outside WHMCS does nothing and it carries no guard.
GUARDED = ["whmcs_bridge.php", "hooks.php", "lang/english.php", "lang/vietnamese.php",
           "lib/autoload.php", "templates/admin.php", "templates/panel.php"]
GUARD = "defined('WHMCS')"


def module_files() -> list[str]:
    return sorted(p.relative_to(MODULE_DIR).as_posix() for p in MODULE_DIR.rglob("*.php"))


def test_guarded_files_are_the_files_that_do_something() -> None:
    assert set(GUARDED) <= set(module_files())
    guarded = [f for f in module_files() if GUARD in (MODULE_DIR / f).read_text()]
    assert guarded == sorted(GUARDED)


#: `<?php`, at most the file's docblock, then the declare (PSR-12's order).
STRICT_OPENING = re.compile(r"<\?php\n(?:/\*\*.*?\*/\n)?\ndeclare\(strict_types=1\);\n", re.S)


@pytest.mark.parametrize("name", module_files())
def test_module_file_declares_strict_types_first(name: str) -> None:
    assert STRICT_OPENING.match((MODULE_DIR / name).read_text()), name


@pytest.mark.parametrize("name", GUARDED)
def test_module_file_refuses_direct_access(name: str) -> None:
    """A file that does something when included dies first when WHMCS is not loaded."""
    path = MODULE_DIR / name
    proc = subprocess.run([PHP, str(path)], capture_output=True, text=True, timeout=30,
                          cwd=str(path.parent))
    assert proc.stdout.strip() == "This file cannot be accessed directly", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", [f for f in module_files() if f not in GUARDED])
def test_declaring_file_has_no_guard_and_does_nothing_when_run(name: str) -> None:
    """A class or function file only declares: run on its own it prints nothing and succeeds."""
    path = MODULE_DIR / name
    assert GUARD not in path.read_text()
    proc = subprocess.run([PHP, "-d", "display_errors=stderr", str(path)], capture_output=True,
                          text=True, timeout=30, cwd=str(path.parent))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), proc.stdout + proc.stderr


#: HTML elements the module prints; a string in lib/ opening or closing one is markup built in
#: PHP, which belongs in templates/ (the regex inside Panel::offeredMethods reads the bridge's
#: markup by attribute, without a tag, and so is not one).
MARKUP = re.compile(r"</?(?:div|p|a|span|small|strong|h[1-6]|ul|ol|li|table|thead|tbody|tr|td|th|"
                    r"form|input|button|label|select|option|textarea|details|summary|section|"
                    r"script|style|br|b|em)[\s>/]", re.I)
#: every string literal (and heredoc part) of the PHP files named on the command line, as JSON
PHP_STRINGS = """
$out = [];
foreach (array_slice($argv, 1) as $file) {
    foreach (token_get_all(file_get_contents($file)) as $t) {
        if (is_array($t) && in_array($t[0], [T_CONSTANT_ENCAPSED_STRING, T_ENCAPSED_AND_WHITESPACE,
                T_INLINE_HTML], true)) {
            $out[] = [basename($file), $t[2], $t[1]];
        }
    }
}
echo json_encode($out);
"""


def test_lib_builds_no_markup() -> None:
    """The classes hand values to templates/; no string literal in lib/ is an HTML tag."""
    files = sorted(str(p) for p in (MODULE_DIR / "lib").glob("*.php"))
    proc = subprocess.run([PHP, "-r", PHP_STRINGS, *files], capture_output=True, text=True,
                          timeout=60, check=True)
    strings = json.loads(proc.stdout)
    assert len(strings) > 100
    assert [s for s in strings if MARKUP.search(s[2])] == []


def test_old_php_refuses_to_activate_and_registers_no_hook(tmp_path: Path) -> None:
    """On PHP older than 8.1 (stood in by WHMCS_BRIDGE_PHP_VERSION_ID) the entry files load
    without touching the 8.1-only classes: no hook is registered, _activate says why, and the
    Activity Log says it once across two page loads."""
    proc = subprocess.run([PHP, "-d", "display_errors=stderr", str(PHP_TESTS / "old_php.php"),
                           str(tmp_path / "whmcs.db")],
                          capture_output=True, text=True, timeout=SUITE_TIMEOUT)
    assert proc.returncode == 0 and not proc.stderr, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["hooks"] == []
    assert result["activate"]["status"] == "error"
    assert "needs PHP 8.1 or later" in result["activate"]["description"]
    assert "7.4.33" in result["activate"]["description"]
    assert result["config_fields"] == []
    assert "PHP 8.1" in result["config_description"]
    assert [row["description"] for row in result["activity"]] == [result["activate"]["description"]]
    assert result["module_classes"] == ["WHMCS\\Module\\Addon\\WhmcsBridge\\Module"]


def test_php_unit_suite(tmp_path: Path) -> None:
    result = run_suite("unit", {"WB_DB": str(tmp_path / "whmcs.db")})
    assert result["passed"] >= 20


def test_panel_form_fields_are_the_fields_the_bridge_reads() -> None:
    """Each method's form (Panel::METHOD_FIELDS) carries exactly what build_proof needs: with
    them the proof builds, without any one required field it names that field."""
    from whmcs_bridge.verification import LINK, METHODS
    from whmcs_bridge.verification.proofs import ProofInputError, build_proof

    script = ("define('WHMCS', 1); require $argv[1]; echo json_encode("
              "\\WHMCS\\Module\\Addon\\WhmcsBridge\\Panel::METHOD_FIELDS);")
    proc = subprocess.run([PHP, "-r", script, str(MODULE_DIR / "lib" / "autoload.php")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    fields = json.loads(proc.stdout)
    assert list(fields) == list(METHODS) and fields[LINK] == []
    sample = {"email": "a@example.com", "password": "pw", "service_id": "12", "username": "u",
              "last4": "4242", "payment_method": "paypal", "amount": "10.00",
              "date": "2026-01-01", "reference": "passport"}
    optional = {"service_id"}
    for method, names in fields.items():
        if method == LINK:
            continue
        build_proof(method, {n: sample[n] for n in names})
        for missing in set(names) - optional:
            with pytest.raises(ProofInputError) as err:
                build_proof(method, {n: sample[n] for n in names if n != missing})
            assert err.value.field == missing


def test_php_signature_verifies_in_python() -> None:
    """The PHP signer's output passes our verifier and the public standardwebhooks package."""
    from standardwebhooks.webhooks import Webhook

    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    body = json.dumps({"type": "TicketOpen", "data": {"subject": "Nâng cấp gói"}},
                      ensure_ascii=False)
    script = (
        "define('WHMCS', true); require $argv[1];"
        "echo json_encode(WHMCS\\Module\\Addon\\WhmcsBridge\\Signer::headers($argv[2], 'msg_x',"
        " file_get_contents('php://stdin')));"
    )
    proc = subprocess.run([PHP, "-r", script, str(MODULE_DIR / "lib" / "Signer.php"), secret],
                          input=body.encode(), capture_output=True, timeout=30, check=True)
    headers = dict(line.split(": ", 1) for line in json.loads(proc.stdout))
    assert verify([secret], headers, body.encode()) == "msg_x"
    Webhook(secret).verify(body.encode(), headers)
    wrong = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(Exception, match="match"):
        verify([wrong], headers, body.encode())


# --- against a real `whmcs-bridge serve` -----------------------------------------------------


class Simulator:
    """``whmcs-bridge sim``: the WHMCS API the bridge's worker talks to (replies, notes)."""

    IDENTIFIER, SECRET = "sim-identifier", "sim-secret"

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "sim.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*BRIDGE_CMD, "sim", "--port", str(self.port), "--tickets", "5", "--clients", "5"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, "the WHMCS simulator", START_TIMEOUT)

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-2000:]
        try:
            requests.get(self.url + "/_sim/state", timeout=1)
        except requests.RequestException:
            return False
        return True

    def api(self, action: str, **params: Any) -> dict[str, Any]:
        answer = requests.post(self.url + "/includes/api.php", timeout=10, data={
            "action": action, "identifier": self.IDENTIFIER, "secret": self.SECRET,
            "responsetype": "json", **params})
        data = answer.json()
        assert data.get("result") == "success", data
        return data

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path_factory.mktemp("sim"))
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory, sim: Simulator) -> Iterator[Bridge]:
    server = Bridge(tmp_path_factory.mktemp("bridge"))
    server.env.update({"WHMCS_BRIDGE_WHMCS_URL": sim.url,
                       "WHMCS_BRIDGE_WHMCS_IDENTIFIER": Simulator.IDENTIFIER,
                       "WHMCS_BRIDGE_WHMCS_SECRET": Simulator.SECRET,
                       "WHMCS_BRIDGE_WHMCS__ADMIN_USERNAME": "simadmin"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def standin_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("whmcs") / "whmcs.db"


def test_ticket_open_is_accepted_by_the_real_bridge(bridge: Bridge, standin_db: Path) -> None:
    """(b) TicketOpen fired in the stand-in arrives signed, stored once, with our User-Agent."""
    ticket_id = 9100 + secrets.randbelow(800)
    run_suite("forward", bridge.php_env(standin_db, WB_TICKET_ID=ticket_id))
    stored = [e for e in bridge.events()
              if e["type"] == "TicketOpen" and e["payload"]["data"].get("ticketid") == ticket_id]
    assert len(stored) == 1, bridge.events()
    event = stored[0]
    assert event["source"].startswith("whmcs-bridge-addon/1.1.0 WHMCS/8.10.1")
    assert event["payload"]["actor"]["type"] == "client"
    assert "password" not in json.dumps(event["payload"])
    # `whmcs-bridge doctor` names the module version that called in
    doctor = subprocess.run([*BRIDGE_CMD, "doctor", "--json"], env=bridge.env,
                            capture_output=True, text=True, timeout=60)
    addon = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "addon"]
    assert addon and addon[0]["summary"].startswith("whmcs-bridge-addon/1.1.0 WHMCS/8.10.1"), \
        doctor.stdout
    # documented vars (issue 12.6-12.8): stored, the new ticket under one key, no secret
    ours = {e["type"]: e["payload"]["data"] for e in bridge.events()
            if e["type"] in ("AfterModuleChangePassword", "ClientEdit", "TicketSplit")
            and ticket_id in (e["payload"]["data"].get("serviceid"),
                              e["payload"]["data"].get("userid"),
                              e["payload"]["data"].get("originalTicketId"))}
    assert ours == {
        "AfterModuleChangePassword": {"serviceid": ticket_id},
        "ClientEdit": {"userid": ticket_id, "email": "an@example.com",
                       "olddata": {"email": "old@example.com"}},
        "TicketSplit": {"originalTicketId": ticket_id, "newTicketID": ticket_id + 1}}, ours
    # the event the suite sent with a wrong secret was refused (401) and never stored
    assert not [e for e in bridge.events() if e["type"] == "TicketClose"
                and e["payload"]["data"].get("ticketid") == ticket_id]


def test_spooled_events_are_delivered_once_after_a_restart(bridge: Bridge,
                                                            standin_db: Path) -> None:
    """(c) bridge down: events spool; gates apply the fail mode. Back up: the cron delivers
    each spooled event exactly once."""
    bridge.stop()
    first = 9900 + secrets.randbelow(80)
    filled = run_suite("spool_fill", bridge.php_env(standin_db, WB_TICKET_ID=first))
    run_suite("gates_down", bridge.php_env(standin_db))
    event_ids = filled["data"]["event_ids"]
    assert len(event_ids) == 3

    bridge.start()
    run_suite("spool_flush", bridge.php_env(standin_db))
    stored = bridge.events()
    for event_id in event_ids:
        assert sum(1 for e in stored if e["id"] == event_id) == 1
    ours = [e for e in stored if e["payload"]["data"].get("ticketid") in range(first, first + 3)]
    assert sorted(e["id"] for e in ours) == sorted(event_ids), "no event stored twice"



def test_gates_and_panel_follow_the_bridge(bridge: Bridge, sim: Simulator,
                                          standin_db: Path) -> None:
    """(d) + (e), end to end: staff open a ticket in WHMCS asking to upgrade a client's plan;
    the module forwards it, the bridge's worker opens a verification request. Every gate then
    refuses staff, masquerading admins and the API for that client with the bridge's message
    (the client's own change and other clients pass). The ticket page shows the bridge's panel;
    an in-person proof submitted through the module's proxy verifies the request, and the gates
    allow staff changes from then on."""
    blocked, free = 3, 4
    opened = sim.api("OpenTicket", clientid=blocked, deptid=1, admin="true", priority="Medium",
                     subject="Please upgrade my hosting plan",
                     message="Hello, please upgrade my hosting plan to Business. Thanks, An")
    ticket_id, tid = int(opened["id"]), opened["tid"]
    run_suite("open_ticket", bridge.php_env(
        standin_db, WB_HOOK="TicketOpenAdmin", WB_TICKET_ID=ticket_id, WB_TICKET_MASK=tid,
        WB_CLIENT_ID=blocked, WB_SUBJECT="Please upgrade my hosting plan",
        WB_MESSAGE="Hello, please upgrade my hosting plan to Business. Thanks, An"))

    def verification_state() -> str | None:
        answer = bridge.staff_get(f"/api/tickets/{ticket_id}")
        return answer.json()["verification"]["state"] if answer.status_code == 200 else None

    assert wait_for(lambda: verification_state() == "required", "the verification request",
                    timeout=60), bridge.log()

    env = bridge.php_env(standin_db, WB_CLIENT_BLOCKED=blocked, WB_CLIENT_FREE=free,
                         WB_BLOCKING_TID=tid)
    run_suite("gates", {**env, "WB_EXPECT": "refuse"})

    unknown = 990000 + secrets.randbelow(9999)
    panel = run_suite("panel", bridge.php_env(standin_db, WB_TICKET_ID=ticket_id,
                                              WB_VERIFY_TICKET_ID=ticket_id,
                                              WB_UNKNOWN_TICKET_ID=unknown))
    # the bridge's own fragment for this ticket (its countdown and colours move with time, so
    # the stable opening attributes are compared), in each admin's language
    for lang in ("en", "vi"):
        direct = bridge.staff_get(f"/api/tickets/{ticket_id}/panel?lang={lang}")
        assert direct.status_code == 200
        marker = f'id="wb-sla-{ticket_id}" lang="{lang}"'
        assert marker in direct.text
        assert marker in panel["data"][f"panel_{lang}"]
    assert verification_state() == "verified"
    # the connection test reported what the module forwards; doctor's piping check reads it
    report = [e for e in bridge.events() if e["type"] == "WhmcsBridgeConnectionTest"]
    assert report and "TicketPiping" in report[-1]["payload"]["data"]["forwarded"]
    doctor = subprocess.run([*BRIDGE_CMD, "doctor", "--json"], env=bridge.env,
                            capture_output=True, text=True, timeout=60)
    piping = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "piping"]
    assert piping and piping[0]["state"] == "ok", doctor.stdout

    run_suite("gates", {**env, "WB_EXPECT": "allow"})
