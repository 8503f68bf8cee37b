"""Ingest benchmark: durable, signed webhook ingest vs. a bare Flask "ok" endpoint.

    python bench/ingest.py [--seconds 5] [--rounds 3] [--connections 50] [--workers N]
                           [--worker-class gthread [--threads N]] [--no-group-commit]
                           [--gunicorn-config PATH]

Starts the real bridge app under gunicorn (``whmcs_bridge.runtime:build_app()``, the receiver's
recommended settings from ``whmcs_bridge.server.receiver_options``: gevent workers and the
``gc.freeze`` start-up hook, given to the bare app too) on 127.0.0.1 with a fresh
SQLite database (WAL, ``synchronous=FULL``), loads it from a separate process for a bounded
time with N keep-alive connections, each request a TicketUserReply signed with a unique
``webhook-id``, and the same way ``bench/bare_app.py`` under the same gunicorn settings. The
two targets are loaded in alternating rounds (both servers up, one loaded at a time) so a
busy neighbour on a shared machine hurts both alike. Prints each round, the median round's
accepted events/s and p50/p99 latency, the ratio to the bare endpoint, and checks that every
accepted event is in the database.

Target on 2 cores: ratio ≥ 0.5, p99 ≤ 50 ms at 50 connections. The load generator shares the
machine with the server, so figures are indicative; compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "whsec_" + "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g="  # 36 bytes, bench only


# --- load generator (runs in its own process) ---------------------------------------------

def _event_body(n: int) -> bytes:
    return json.dumps({
        "type": "TicketUserReply",
        "timestamp": "2026-11-25T10:00:00+07:00",
        "data": {"ticketid": str(1000 + n % 500), "replyid": str(n), "userid": "42",
                 "deptid": "1", "deptname": "Technical", "subject": "Website is down",
                 "message": "Still down after the restart, please check the web server. " * 3,
                 "priority": "High", "status": "Customer-Reply"},
    }).encode()


def _read_response(f: Any) -> int:
    status_line = f.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        f.read(length)
    return status


def _client(port: int, tag: str, deadline: float, out: dict[str, Any]) -> None:
    from whmcs_bridge.signing import signed_headers

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = sock.makefile("rb")
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = _event_body(n)
        headers = signed_headers(SECRET, f"bench-{tag}-{n}", body)
        request = (
            "POST /webhooks/whmcs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\n"
            "User-Agent: whmcs-bridge-addon/bench WHMCS/8.10\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        ).encode() + body
        start = time.perf_counter()
        try:
            sock.sendall(request)
            status = _read_response(f)
        except OSError:
            errors += 1
            sock.close()
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            f = sock.makefile("rb")
            continue
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
    sock.close()
    out[tag] = {"latencies": latencies, "statuses": statuses, "errors": errors}


def run_load(port: int, seconds: float, connections: int, run: str) -> dict[str, Any]:
    """Drive ``connections`` keep-alive connections for ``seconds``; summarise the answers."""
    out: dict[str, Any] = {}
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(port, f"{run}-{i}", deadline, out))
               for i in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies = sorted(x for r in out.values() for x in r["latencies"])
    statuses: dict[str, int] = {}
    for r in out.values():
        for code, count in r["statuses"].items():
            statuses[str(code)] = statuses.get(str(code), 0) + count

    def pct(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    ok = sum(c for code, c in statuses.items() if code in ("200", "202"))
    return {"elapsed": elapsed, "requests": len(latencies), "ok": ok, "statuses": statuses,
            "errors": sum(r["errors"] for r in out.values()), "rps": ok / elapsed,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "client_cpu_ms": 1000 * (resource.getrusage(resource.RUSAGE_SELF).ru_utime
                                     + resource.getrusage(resource.RUSAGE_SELF).ru_stime)
            / max(1, len(latencies))}


# --- orchestration ------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(app: str, port: int, options: dict[str, Any], env: dict[str, str],
              log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
           "--worker-class", options["worker_class"], "--workers", str(options["workers"]),
           "--keep-alive", str(options["keepalive"]),
           "--timeout", str(options["timeout"]), "--log-level", "warning"]
    if options["worker_class"] == "gthread":
        cmd += ["--threads", str(options.get("threads") or 32)]
    else:
        cmd += ["--worker-connections", str(options.get("worker_connections", 1000))]
    # gunicorn reads one config file: the receiver's hooks (gc.freeze at start-up, for the
    # bare app too: same settings) plus the experiment's, if any
    configs = [ROOT / "bench" / "gunicorn_receiver_hooks.py"] if options.get(
        "post_worker_init") is not None else []
    configs += [Path(options["config"]).resolve()] if options.get("config") else []
    if configs:
        combined = log.with_suffix(".conf.py")
        combined.write_text("".join(f"exec(open({str(c)!r}).read())\n" for c in configs))
        cmd += ["-c", str(combined)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn for {app} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn for {app} did not answer within 30 s; see {log}")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _cpu_seconds(root_pid: int) -> float:
    """User+system CPU of a process and its children (gunicorn master + workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if root_pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _load_in_subprocess(port: int, args: argparse.Namespace, run: str,
                        server: subprocess.Popen) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--load-port", str(port), "--seconds", str(args.seconds),
           "--connections", str(args.connections), "--run", run]
    before = _cpu_seconds(server.pid)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    used = _cpu_seconds(server.pid) - before
    result["server_cpu_ms"] = used * 1000 / result["requests"] if result["requests"] else 0.0
    return result


def _count_events(db_url: str) -> int:
    from sqlalchemy import func, select

    from whmcs_bridge.store import make_engine
    from whmcs_bridge.store.tables import events

    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(events)).scalar_one()
    engine.dispose()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and target")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0, help="default: one per core")
    parser.add_argument("--worker-class", help="default: the receiver's (gevent)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per worker with --worker-class gthread (default 32)")
    parser.add_argument("--gunicorn-config", metavar="PATH",
                        help="extra gunicorn config file (hooks for experiments)")
    parser.add_argument("--no-group-commit", action="store_true",
                        help="commit each request on its own (for comparison)")
    parser.add_argument("--load-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", default="x", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 60.0)  # bounded, whatever is asked
    args.rounds = max(1, min(args.rounds, 10))

    if args.load_port:
        print(json.dumps(run_load(args.load_port, args.seconds, args.connections, args.run)))
        return

    from whmcs_bridge.server import receiver_options
    from whmcs_bridge.store import make_engine, upgrade

    options = receiver_options(args.workers)
    if args.worker_class:
        options["worker_class"] = args.worker_class
    if args.threads:
        options["threads"] = args.threads
    options["config"] = args.gunicorn_config
    tmp = Path(tempfile.mkdtemp(prefix="whmcs-bridge-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("WHMCS_BRIDGE_")}
    bridge_env = base_env | {
        "WHMCS_BRIDGE_DATABASE_URL": db_url,
        "WHMCS_BRIDGE_WEBHOOK_SECRET": SECRET,
        "WHMCS_BRIDGE_LOG_LEVEL": "WARNING",
        "WHMCS_BRIDGE_INGEST__GROUP_COMMIT": "false" if args.no_group_commit else "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "PYTHONPATH": str(ROOT),
    }
    (tmp / "metrics").mkdir()
    bare_env = base_env | {"PYTHONPATH": str(ROOT / "bench") + os.pathsep + str(ROOT)}

    per_worker = (f"threads={options.get('threads') or 32}"
                  if options["worker_class"] == "gthread"
                  else f"worker_connections={options.get('worker_connections', 1000)}")
    print(f"gunicorn: {options['worker_class']} workers={options['workers']} {per_worker}; "
          f"load: {args.connections} connections, "
          f"{args.rounds} rounds of {args.seconds:g} s per target, alternating; "
          f"cores={os.cpu_count()}; group commit {'off' if args.no_group_commit else 'on'}",
          flush=True)

    bridge_port, bare_port = _free_port(), _free_port()
    servers = [_gunicorn("whmcs_bridge.runtime:build_app()", bridge_port, options, bridge_env,
                         tmp / "bridge.log")]
    try:
        servers.append(_gunicorn("bare_app:app", bare_port, options, bare_env,
                                 tmp / "bare.log"))
        targets = [("bare", bare_port, servers[1]), ("bridge", bridge_port, servers[0])]
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in targets}
        # Alternate the targets so a neighbour's burst on a shared machine hits all alike.
        for i in range(args.rounds):
            for name, port, proc in targets:
                runs[name].append(_load_in_subprocess(port, args, f"{name}{i}", proc))
    finally:
        for proc in servers:
            _stop(proc)
    stored = _count_events(db_url)

    def line(name: str, r: dict[str, Any]) -> str:
        return (f"{name:<26} {r['rps']:>7.0f} req/s   p50 {r['p50_ms']:6.1f} ms   "
                f"p99 {r['p99_ms']:6.1f} ms   max {r['max_ms']:6.1f} ms   "
                f"cpu/req server {r['server_cpu_ms']:.2f} ms client {r['client_cpu_ms']:.2f} ms   "
                f"answers {r['statuses']} errors {r['errors']}")

    for i in range(args.rounds):
        print(line(f"round {i + 1} bare Flask 'ok'", runs["bare"][i]))
        print(line(f"round {i + 1} bridge ingest", runs["bridge"][i]))
    bare, bridge = _median(runs["bare"]), _median(runs["bridge"])
    ratio = bridge["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(f"median bare: {bare['rps']:.0f} req/s, p99 {bare['p99_ms']:.1f} ms")
    print(f"median bridge: accepted events/s {bridge['rps']:.0f}, p50 {bridge['p50_ms']:.1f} ms, "
          f"p99 {bridge['p99_ms']:.1f} ms (target <= 50)")
    print(f"ratio to bare {ratio:.2f} (target >= 0.5)")
    accepted = sum(int(r["statuses"].get("202", 0)) for r in runs["bridge"])
    print(f"events in the database: {stored} (202 answers: {accepted}) -> "
          f"{'OK' if stored == accepted else 'MISMATCH'}")
    print(f"work folder (database, server logs): {tmp}")


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median throughput (its latencies come with it)."""
    ordered = sorted(results, key=lambda r: r["rps"])
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    main()
