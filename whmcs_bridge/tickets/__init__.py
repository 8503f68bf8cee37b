"""The bridge's picture of every WHMCS ticket: store, sync, enrichment, replies, reports."""
