"""The baseline for bench/ingest.py: a bare Flask endpoint that answers "ok" and does nothing.

Run under the same gunicorn settings as the bridge, it measures what the server, Flask and the
load generator cost by themselves on this machine.
"""

from __future__ import annotations

from flask import Flask

app = Flask("bare")


@app.post("/webhooks/whmcs")
def ok() -> str:
    return "ok"


@app.get("/healthz")
def healthz() -> str:
    return "ok"
