"""The priority SLA: policy settings, business-hours calendars, the pure engine, channel
classification and escalation decisions. Nothing in this package does I/O; the ticket store
(``whmcs_bridge.tickets``) and the hook handlers feed it data and act on its answers."""
