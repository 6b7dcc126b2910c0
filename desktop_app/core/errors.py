"""Every error Iris raises on purpose, as one exception tree.

    IrisError                       str(exc) is always a sentence for people
    ├── ConfigurationError          no key, a bad base URL: fix the setup, not the network
    ├── APIError                    carries status, error_type, request_id, message
    │   ├── APIStatusError          the service answered with an HTTP error
    │   │   ├── InvalidRequestError         400 invalid_request_error
    │   │   ├── AuthenticationError         401 authentication_error
    │   │   ├── BillingError                402 billing_error
    │   │   ├── PermissionDeniedError       403 permission_error
    │   │   ├── NotFoundError               404 not_found_error
    │   │   ├── RequestTooLargeError        413 request_too_large
    │   │   ├── RateLimitError              429 rate_limit_error
    │   │   │   └── SpendLimitError         429 enforced_spend_limit_reached (never retried)
    │   │   ├── OverloadedError             529 overloaded_error
    │   │   └── ServerError                 5xx api_error and any other status
    │   ├── APITimeoutError         no answer in time (connect timeout, 504 timeout_error)
    │   ├── APIConnectionError      the network failed before a reply started
    │   └── StreamInterruptedError  a reply that had started streaming broke off
    ├── ProtocolError               data that is not the Messages API's format (also ValueError)
    ├── StoreError                  the history store failed
    │   ├── StoreUnavailableError   the history file cannot be used (carries its path)
    │   │   ├── CorruptStoreError   damaged, or not an Iris history
    │   │   └── NewerStoreError     written by a newer Iris
    │   ├── StoreAccessError        the file is sound but cannot be used now (carries its path)
    │   │   ├── StoreBusyError      another program holds it; waiting did not help
    │   │   ├── StoreReadOnlyError  the file or its folder is read-only
    │   │   ├── StoreFullError      the disk is full
    │   │   └── StoreIOError        the disk failed to read or write
    │   └── StoreClosedError        the app is closing; the store is already closed
    ├── HistoryFormatError          an import file is unusable (also ValueError)
    ├── ImageError                  an image cannot be prepared
    │   ├── EmptyImageError, UnreadableImageError, NotAnImageError,
    │   └── TruncatedImageError, UnsupportedImageError, ImageTooLargeError
    ├── SettingsError               a setting that cannot be used (also ValueError)
    ├── CatalogError                the model catalog cannot be read (also ValueError)
    └── KeychainUnavailableError    no usable system keychain (also RuntimeError)

The classes live here so the tree can be read in one place; the modules that
raise them re-export them (``images.ImageError`` and so on). A caller that wants
"anything Iris said no to" catches :class:`IrisError` and shows ``str(exc)``;
anything else is a bug, and goes to the log through the excepthook.

No exception's text ever contains the API key: messages are built from the
service's error text and our own words, and every field that came from the
service (its message, error type, request id, details) goes through
:func:`server_text` on the way in: :func:`scrub` removes the key, even upper-cased
or in part, terminal escapes and control characters are stripped, and the length
is capped.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from desktop_app.core.safe_text import clip, terminal_safe

if TYPE_CHECKING:
    from pathlib import Path

    from desktop_app.core.wire.message import Message


class IrisError(Exception):
    """Base of every error Iris raises on purpose."""


class ConfigurationError(IrisError):
    """The setup is incomplete or wrong (no API key, an invalid base URL)."""


class APIError(IrisError):
    """A request to the Messages API failed.

    Attributes:
        message: A plain-language explanation for people.
        status: The HTTP status, or None when no response arrived.
        error_type: The API's ``error.type`` (for example ``overloaded_error``), if any.
        request_id: The ``request-id`` response header, if any.
        api_message: The service's own error text, if any.
    """

    kind = "API error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        api_message: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Build the error; ``message`` must already be safe to show."""
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        self.api_message = api_message
        self.details = details or {}

    def summary(self) -> str:
        """One line naming the kind, status and request id, for logs and the CLI.

        The service's fields were cleaned when the error was built; the line is made
        terminal-safe again in case an error was built by hand from raw text.
        """
        parts = [self.kind]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_type:
            parts.append(clip(self.error_type, TYPE_LIMIT))
        if self.request_id:
            parts.append(f"request-id {clip(self.request_id, REQUEST_ID_LIMIT)}")
        return terminal_safe(f"{' · '.join(parts)}: {self.message}")


class APIStatusError(APIError):
    """The service answered with an HTTP error status."""

    kind = "API error"


class InvalidRequestError(APIStatusError):
    """400: the service rejected the request as malformed."""

    kind = "Invalid request"


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""

    kind = "Authentication failed"


class BillingError(APIStatusError):
    """402: a billing problem on the account."""

    kind = "Billing problem"


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""

    kind = "Permission denied"


class NotFoundError(APIStatusError):
    """404: the model or endpoint does not exist for this key."""

    kind = "Not found"


class RequestTooLargeError(APIStatusError):
    """413: the request body is over the service's size limit."""

    kind = "Request too large"


class RateLimitError(APIStatusError):
    """429: too many requests or tokens for the account's tier.

    Attributes:
        retry_after: Seconds the service asked us to wait, if it said.
    """

    kind = "Rate limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        """Build the error with the wait the service asked for, if any."""
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SpendLimitError(RateLimitError):
    """429 ``enforced_spend_limit_reached``: waiting will not help."""

    kind = "Spend limit reached"


class OverloadedError(APIStatusError):
    """529: the service is temporarily overloaded."""

    kind = "Overloaded"


class ServerError(APIStatusError):
    """5xx or an unexpected status: a problem on the service's side."""

    kind = "Server error"


class APITimeoutError(APIError):
    """The service did not answer in time."""

    kind = "Timeout"


class APIConnectionError(APIError):
    """The network failed before any reply arrived."""

    kind = "Connection failed"


class StreamInterruptedError(APIError):
    """A streamed reply broke off after it had started.

    Attributes:
        partial: The message as far as it arrived; nothing that arrived is lost.
    """

    kind = "Reply interrupted"

    def __init__(self, message: str, *, partial: Message | None = None, **kwargs: Any) -> None:
        """Build the error carrying the partial reply."""
        super().__init__(message, **kwargs)
        self.partial = partial


class ProtocolError(IrisError, ValueError):
    """The stream or a file carried data that is not the Messages API's format."""


class StoreError(IrisError):
    """The history store failed; the message is written for people."""


class StoreUnavailableError(StoreError):
    """The history file cannot be used.

    Attributes:
        path: The file that could not be used.
    """

    def __init__(self, message: str, path: Path) -> None:
        """Keep the path of the file that could not be used."""
        super().__init__(message)
        self.path = path


class CorruptStoreError(StoreUnavailableError):
    """The file is damaged or is not an Iris history database."""


class NewerStoreError(StoreUnavailableError):
    """The file was written by a newer Iris, with a schema this version does not know."""


class StoreAccessError(StoreError):
    """The history file is sound, but the disk or another program keeps Iris from using it.

    Never a reason to set the file aside: it works again once the cause is gone.

    Attributes:
        path: The file (or folder) that could not be used.
    """

    def __init__(self, message: str, path: Path) -> None:
        """Keep the path of the file that could not be used."""
        super().__init__(message)
        self.path = path


class StoreBusyError(StoreAccessError):
    """Another Iris window or ``iris history`` command kept the file locked for too long."""


class StoreReadOnlyError(StoreAccessError):
    """The history file or its folder cannot be written (permissions, a read-only disk)."""


class StoreFullError(StoreAccessError):
    """The disk (or the user's quota) holding the history is full."""


class StoreIOError(StoreAccessError):
    """The disk failed to read or write the history file."""


class StoreClosedError(StoreError):
    """The store was closed (the app is quitting); nothing more can be read or written."""


class HistoryFormatError(IrisError, ValueError):
    """An import file is not usable; the message names the problem and where it is."""


class ImageError(IrisError):
    """An image cannot be prepared; ``str(exc)`` says why, in one sentence."""


class EmptyImageError(ImageError):
    """The input has no bytes at all."""


class UnreadableImageError(ImageError):
    """The file could not be read: it is missing, a folder, or not readable."""


class NotAnImageError(ImageError):
    """The bytes are not a picture in any format Iris recognises."""


class TruncatedImageError(ImageError):
    """A recognised picture whose data is cut short or damaged."""


class UnsupportedImageError(ImageError):
    """A known picture format that cannot be read here (for example HEIC without pillow-heif)."""


class ImageTooLargeError(ImageError):
    """The file, or the pixel count it declares, is beyond what Iris will decode."""


class SettingsError(IrisError, ValueError):
    """A setting was given a value that cannot be used."""


class CatalogError(IrisError, ValueError):
    """The catalog data could not be read."""


class KeychainUnavailableError(IrisError, RuntimeError):
    """No usable OS keychain on this machine (a headless Linux session, say)."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: BillingError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: RequestTooLargeError,
    429: RateLimitError,
    529: OverloadedError,
}

_TYPE_CLASSES: dict[str, type[APIError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "billing_error": BillingError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "request_too_large": RequestTooLargeError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": OverloadedError,
    "api_error": ServerError,
    "timeout_error": APITimeoutError,
}

_PLAIN: dict[type[APIError], str] = {
    InvalidRequestError: "The service rejected the request",
    AuthenticationError: "The API key was not accepted. Check the key in Settings",
    BillingError: "The account has a billing problem. Check the plan and credit on the console",
    PermissionDeniedError: "This API key is not allowed to do that",
    NotFoundError: "The service does not know that model or endpoint",
    RequestTooLargeError: "The request is too large for the service (over 32 MB); "
    "send fewer or smaller images",
    RateLimitError: "Too many requests for your rate-limit tier",
    SpendLimitError: "The account's spend limit is reached; waiting will not help. "
    "Raise the limit on the console",
    OverloadedError: "The service is overloaded right now",
    ServerError: "The service had an internal error",
    APITimeoutError: "The service took too long to answer",
}


#: Caps on the service's fields, in characters, so a hostile answer cannot flood a
#: terminal, a log or the window.
MESSAGE_LIMIT = 1000
TYPE_LIMIT = 100
REQUEST_ID_LIMIT = 200
DETAIL_LIMIT = 300
DETAILS_MAX_ENTRIES = 20
# Text is cut to this many characters before it is scrubbed, which bounds the work.
_RAW_LIMIT = 16_384
#: An echo of this many characters of the key, anywhere in it, is treated as the key.
MIN_KEY_ECHO = 8
_REDACTED = "[redacted]"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def scrub(text: str, secret: str | None) -> str:
    """Remove ``secret`` from ``text`` so it can be shown or logged.

    Matching ignores case, and any run of :data:`MIN_KEY_ECHO` or more characters
    of the secret counts (a prefix, a suffix, a piece from the middle), so a server
    that echoes the key upper-cased or cut short does not get it shown.
    """
    if not secret or len(secret) < 4 or not text:
        return text
    text = text.replace(secret, _REDACTED)
    lowered = text.translate(_ASCII_LOWER)  # ASCII only, so positions stay the same
    key = secret.translate(_ASCII_LOWER)
    width = min(MIN_KEY_ECHO, len(key))
    pieces = {key[i : i + width] for i in range(len(key) - width + 1)}
    if not any(piece in lowered for piece in pieces):
        return text
    # Mark every character covered by some window that is a piece of the key; any
    # longer echo is a chain of overlapping windows.
    hits: list[tuple[int, int]] = []
    for start in range(len(lowered) - width + 1):
        if lowered[start : start + width] in pieces:
            if hits and start <= hits[-1][1]:
                hits[-1] = (hits[-1][0], start + width)
            else:
                hits.append((start, start + width))
    out: list[str] = []
    position = 0
    for start, end in hits:
        out.append(text[position:start])
        out.append(_REDACTED)
        position = end
    out.append(text[position:])
    return "".join(out)


def server_text(value: object, secret: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """Clean one field that came from the service, or None when it is not text.

    Escapes and control characters are stripped first (so a key split by escape
    codes is whole again when it is scrubbed), then the key is scrubbed, then the
    text is cut to ``limit`` characters. Empty text gives None.
    """
    if not isinstance(value, str):
        return None
    text = scrub(terminal_safe(value[:_RAW_LIMIT]).strip(), secret)
    return clip(text, limit) or None


def _clean_details(details: Any, secret: str | None) -> dict[str, Any]:
    # Keep flat, scalar entries only: the details are read for codes, never shown whole.
    if not isinstance(details, dict):
        return {}
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if len(clean) >= DETAILS_MAX_ENTRIES:
            break
        name = server_text(key, secret, TYPE_LIMIT)
        if name is None:
            continue
        if isinstance(value, str):
            clean[name] = server_text(value, secret, DETAIL_LIMIT) or ""
        elif value is None or isinstance(value, bool | float) or type(value) is int:
            clean[name] = value
    return clean


_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


def _location_host(location: str | None, secret: str | None) -> str | None:
    """The host a redirect points to, if it is a plain host name or address."""
    if not location:
        return None
    try:
        host = urlsplit(location.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(host) or scrub(host, secret) != host:
        return None
    return host


def error_for_status(
    status: int,
    body: Any,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    secret: str | None = None,
    location: str | None = None,
) -> APIError:
    """Build the right exception for an HTTP error response.

    Every field taken from the response is cleaned with :func:`server_text`.

    Args:
        status: The HTTP status.
        body: The parsed JSON body, or anything else when it was not JSON.
        request_id: The ``request-id`` header.
        retry_after: Seconds from ``retry-after``, for 429s.
        secret: The API key, removed from any text that ends up in the error.
        location: The ``location`` header, for redirects.
    """
    error_type: str | None = None
    api_message: str | None = None
    details: dict[str, Any] = {}
    request_id = server_text(request_id, secret, REQUEST_ID_LIMIT)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error_type = server_text(error.get("type"), secret, TYPE_LIMIT)
            api_message = server_text(error.get("message"), secret)
            details = _clean_details(error.get("details"), secret)
        if request_id is None:
            request_id = server_text(body.get("request_id"), secret, REQUEST_ID_LIMIT)
    kwargs: dict[str, Any] = {
        "status": status,
        "error_type": error_type,
        "request_id": request_id,
        "api_message": api_message,
        "details": details,
    }
    if 300 <= status < 400:
        # Iris never follows a redirect: the key must go only to the configured URL.
        host = _location_host(location, secret)
        where = f" to {host}" if host else ""
        return APIStatusError(
            f"The service answered with a redirect (HTTP {status}){where}, which Iris "
            "never follows. Check the base URL.",
            **kwargs,
        )

    cls: type[APIError]
    if status == 429 and details.get("error_code") == "enforced_spend_limit_reached":
        cls = SpendLimitError
    elif status in _STATUS_CLASSES:
        cls = _STATUS_CLASSES[status]
    elif status == 504 or error_type == "timeout_error":
        cls = APITimeoutError
    else:
        cls = ServerError
    plain = _PLAIN.get(cls, "The service returned an error")
    message = f"{plain}: {api_message}" if api_message else f"{plain} (HTTP {status})."
    if not message.endswith((".", "?", "!")):
        message += "."
    if cls is RateLimitError or cls is SpendLimitError:
        rate_cls: type[RateLimitError] = (
            SpendLimitError if cls is SpendLimitError else RateLimitError
        )
        return rate_cls(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


def error_from_event(
    payload: Any,
    *,
    request_id: str | None,
    partial: Message | None,
    secret: str | None = None,
) -> StreamInterruptedError:
    """Build the error for an ``error`` event that arrived inside a 200 stream.

    The event's fields and ``request_id`` are cleaned with :func:`server_text`.
    """
    error_type: str | None = None
    api_message: str | None = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        error_type = server_text(error.get("type"), secret, TYPE_LIMIT)
        api_message = server_text(error.get("message"), secret)
    cause = _PLAIN.get(_TYPE_CLASSES.get(error_type or "", ServerError), "the service failed")
    message = f"The reply was interrupted. {cause}"
    if api_message:
        message += f" ({api_message})"
    message += ". What arrived is kept; retry to ask again."
    return StreamInterruptedError(
        message,
        status=200,
        error_type=error_type,
        request_id=server_text(request_id, secret, REQUEST_ID_LIMIT),
        api_message=api_message,
        partial=partial,
    )
