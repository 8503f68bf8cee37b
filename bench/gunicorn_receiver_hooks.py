"""The receiver's gunicorn hooks (``whmcs_bridge.server.receiver_options``) as a config file, so
``bench/ingest.py`` can give both servers, the bridge and the bare endpoint, the same ones."""

from whmcs_bridge.server import freeze_startup_objects as post_worker_init  # noqa: F401
