"""The receiver's gunicorn hooks (``webhooks.receiver.gunicorn_options``) as a config file, so
``bench/ingest.py`` can give both servers, the bridge and the bare endpoint, the same ones."""

from whmcs_bridge.webhooks.receiver import freeze_startup_objects as post_worker_init  # noqa: F401
