"""The SLA dashboard's data (read through the tickets room) and its server-side SVG charts.

The Flask side lives in :mod:`whmcs_bridge.webhooks.dashboard`; nothing here knows about HTTP.
"""
