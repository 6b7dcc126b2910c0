"""The built-in offline Messages API server used by the demo and the tests.

It answers ``POST /v1/messages`` (JSON or server-sent events), ``POST
/v1/messages/count_tokens`` and ``GET /v1/models`` on a loopback socket, checks
requests the way the service does, and replies with deterministic demo text.
Only the standard library is imported up front; Pillow is loaded only for an
image header the built-in parsers cannot read.

Example:
    >>> with OfflineServer(delay=0) as server:  # doctest: +SKIP
    ...     url = server.base_url + "/v1/messages"
"""

from desktop_app.offline.replies import SseEvent
from desktop_app.offline.server import (
    DEFAULT_DELAY,
    DEMO_API_KEY,
    IncomingRequest,
    MessagesHandler,
    OfflineServer,
)
from desktop_app.offline.validation import OfflineApiError

__all__ = [
    "DEFAULT_DELAY",
    "DEMO_API_KEY",
    "IncomingRequest",
    "MessagesHandler",
    "OfflineApiError",
    "OfflineServer",
    "SseEvent",
]
