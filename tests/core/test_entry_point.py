"""The process entry point keeps gevent's rule: for ``serve`` the standard library is patched
before anything imports ``ssl`` (else urllib3 keeps the blocking ssl and every HTTPS call of a
web worker to WHMCS blocks its whole process); other commands are never patched."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys, warnings
# gevent warns when ssl was imported before the patch: make that (only that) an error
warnings.filterwarnings("error", message="Monkey-patching ssl after ssl has already been imported")
from whmcs_bridge.cli import main
assert "ssl" not in sys.modules, "importing the entry point imported ssl"
try:
    main([{args}])
except SystemExit:
    pass
from gevent import monkey
print("patched" if monkey.is_module_patched("ssl") else "not patched")
"""


def _probe(*args: str) -> str:
    code = PROBE.format(args=", ".join(repr(a) for a in args))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_serve_is_patched_before_ssl_is_imported() -> None:
    assert _probe("--config", "/nonexistent.toml", "serve", "--help") == "patched"


@pytest.mark.slow
def test_other_commands_are_not_patched() -> None:
    assert _probe("hooks", "--help") == "not patched"
