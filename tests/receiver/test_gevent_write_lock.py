"""SQLite write transactions under gevent, as ``serve``'s web workers run them: while one
greenlet holds the write lock, more writers than the hub's thread pool has threads wait for it
(their ``BEGIN IMMEDIATE`` blocks a pool thread each, in ``flock`` or SQLite's busy handler).
The holder's ``COMMIT`` must still get a thread, or every writer waits until the busy timeout
fails one (30 parallel staff proofs on SQLite all timed out that way).

Monkey-patching cannot be undone, so the case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 6

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import json, sys
    import gevent
    from sqlalchemy import event, text
    from whmcs_bridge.store import make_engine
    from whmcs_bridge.store.cooperative import current_mode

    engine = make_engine(sys.argv[1])

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_conn, _record):
        # runs after the engine's own pragmas: a stuck writer fails in 2 s instead of 30
        dbapi_conn.execute("PRAGMA busy_timeout=2000")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    gevent.get_hub().threadpool.maxsize = 2  # fewer threads than waiting writers
    errors = []

    def write(i):
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": i})
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")

    with engine.begin() as conn:  # the holder
        conn.execute(text("INSERT INTO t VALUES (-1)"))
        writers = [gevent.spawn(write, i) for i in range(int(sys.argv[2]))]
        gevent.sleep(0.2)  # they start, and fill the hub's pool with BEGIN waits
    gevent.joinall(writers)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM t")).scalar_one()
    print(json.dumps({"mode": current_mode().name, "errors": errors, "rows": rows}))
""")


def test_the_lock_holder_commits_while_waiters_fill_the_hub_pool(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'w.db'}", str(WRITERS)],
        cwd=ROOT, text=True, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["mode"] == "gevent"
    assert out["errors"] == []
    assert out["rows"] == WRITERS + 1
