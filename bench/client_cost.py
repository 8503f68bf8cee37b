"""Benchmark: CPU instructions one GetTicket costs this process, counted by valgrind.

Wall and CPU times on a shared 2-core machine move by ±30 % from one run to the next (other
tenants, CPU steal), which hides a 10 % change in the client. Instructions do not: valgrind's
``callgrind`` counts the same total for the same code, inputs and hash seed whatever the
machine is doing. For each way of making the call, a child process makes ``--calls`` calls
(after five warm-up calls) and another makes none; the difference divided by ``--calls`` is
the cost of one call, printed beside the bare ``http.client`` round trip (the least a client
can do) as a ratio:

- ``bare``: ``http.client`` POST of the same form over one kept-alive connection, body read;
- ``json``: the same plus ``json.loads`` of the body;
- ``call``: ``WhmcsClient.call("GetTicket", ...)`` (encoding, requests, the result check);
- ``get_ticket``: ``WhmcsClient.get_ticket`` (``call`` plus the marshmallow load into a
  ``Ticket``, what every sync read costs before the store).

The simulator (``whmcs-bridge sim``, no latency) runs in its own process and is not counted.
Needs ``valgrind`` (on the development machine; ``apt-get install valgrind`` elsewhere).

    python bench/client_cost.py [--calls 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from whmcs_bridge.sim.config import API_PATH, DEFAULT_IDENTIFIER, DEFAULT_SECRET

WAYS = ("bare", "json", "call", "get_ticket")
WARM = 5


def _form(tid: int) -> str:
    return urllib.parse.urlencode([
        ("ticketid", str(tid)), ("repliessort", "ASC"), ("action", "GetTicket"),
        ("identifier", DEFAULT_IDENTIFIER), ("secret", DEFAULT_SECRET),
        ("responsetype", "json")])


def child(way: str, calls: int, url: str) -> None:
    """Make WARM + ``calls`` GetTicket calls one way (run under valgrind by the parent)."""
    if way in ("bare", "json"):
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}

        def one(tid: int) -> None:
            conn.request("POST", API_PATH, body=_form(tid), headers=headers)
            body = conn.getresponse().read()
            if way == "json":
                json.loads(body)
    else:
        from whmcs_bridge.api import WhmcsClient

        client = WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, timezone="UTC",
                             retries=0)
        if way == "call":
            def one(tid: int) -> None:
                client.call("GetTicket", ticketid=tid, repliessort="ASC")
        else:
            def one(tid: int) -> None:
                client.get_ticket(tid)
    for tid in range(1, WARM + 1):
        one(tid)
    for tid in range(1, calls + 1):
        one(tid)


def _count(way: str, calls: int, url: str, tmp: str) -> subprocess.Popen[str]:
    out = os.path.join(tmp, f"cg.{way}.{calls}")
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts every run
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
         __file__, "--child", way, "--calls", str(calls), "--url", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _collected(proc: subprocess.Popen[str]) -> int:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"valgrind run failed:\n{err[-2000:]}")
    found = re.search(r"Collected : (\d+)", err)
    if not found:
        raise SystemExit(f"no instruction count in valgrind's output:\n{err[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.calls, args.url)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim = subprocess.Popen(
        [sys.executable, "-c", "from whmcs_bridge.cli import main; main()", "sim", "--port",
         str(port), "--tickets", str(max(args.calls, 100)), "--clients", "50", "--seed",
         "11", "--latency-ms", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/_sim/state", timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline or sim.poll() is not None:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.2)
        per_call: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for way in WAYS:  # two valgrinds at a time: one per core
                none, some = _count(way, 0, url, tmp), _count(way, args.calls, url, tmp)
                per_call[way] = (_collected(some) - _collected(none)) / args.calls
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    bare = per_call["bare"]
    print(f"instructions per GetTicket call in this process (valgrind callgrind, "
          f"{args.calls} calls, simulator in its own process, not counted):")
    for way in WAYS:
        print(f"  {way:11s} {per_call[way] / 1e6:6.2f} M   {per_call[way] / bare:5.2f}× bare")


if __name__ == "__main__":
    main()
