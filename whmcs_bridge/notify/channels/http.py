"""One POST for the chat channels, with failures sorted into retryable and permanent.

No retries here: the outbox is the retry mechanism (durable, with backoff and dead letters), so
a request is tried once per attempt. Error messages name the status or the exception class and
never the URL, because Slack/Teams webhook URLs and Telegram bot URLs are credentials.
"""

from __future__ import annotations

from typing import Any

import requests

from whmcs_bridge import __version__
from whmcs_bridge.notify.channels.base import DeliveryError

RETRYABLE_STATUS = {408, 425, 429}
USER_AGENT = f"whmcs-bridge/{__version__} (+notifications)"


def make_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def post(session: requests.Session, url: str, *, channel: str, timeout: float = 10.0,
         json: Any = None, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> requests.Response:
    """POST and return the response, or raise :class:`DeliveryError`."""
    try:
        response = session.post(url, json=json, data=data, headers=headers, timeout=timeout,
                                allow_redirects=False)
    except requests.Timeout:
        raise DeliveryError(f"{channel}: timed out after {timeout:g}s") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{channel}: {type(exc).__name__} (could not connect)") from None
    if 200 <= response.status_code < 300:
        return response
    retryable = response.status_code >= 500 or response.status_code in RETRYABLE_STATUS
    raise DeliveryError(f"{channel}: HTTP {response.status_code}", permanent=not retryable)
