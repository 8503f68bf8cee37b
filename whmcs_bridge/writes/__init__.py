"""The WHMCS write outbox: every write the bridge makes to WHMCS (a ticket reply, an internal
note, a ticket change) is recorded as an intent in the caller's transaction and sent after it
commits, so no database transaction ever waits on WHMCS (see :mod:`.outbox`, :mod:`.send`)."""
