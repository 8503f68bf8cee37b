"""whmcs-bridge: makes WHMCS enforce a hosting company's support policy."""

__version__ = "0.1.0"
