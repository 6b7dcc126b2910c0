"""The HTTP side of the offline server: routing, headers, JSON and SSE framing.

It speaks real HTTP/1.1 over a loopback socket, so the app's network code runs
unchanged against it. Streams use chunked transfer encoding and go out one event
per write with Nagle's algorithm off, so a client sees each event as it is sent.

Subclasses of :class:`MessagesHandler` can change how a request is answered:
override :meth:`MessagesHandler.handle_api_request` to answer before the normal
route, or :meth:`MessagesHandler.transform_events` to rewrite a stream. The
framing primitives (:meth:`~MessagesHandler.begin_stream`,
:meth:`~MessagesHandler.write_chunk`, :meth:`~MessagesHandler.abort_connection`)
are public for that purpose.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import selectors
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self

from desktop_app.core.catalog import Catalog, ModelInfo
from desktop_app.offline.replies import (
    PromptCache,
    Reply,
    SseEvent,
    count_input_tokens,
    plan_reply,
)
from desktop_app.offline.validation import (
    OfflineApiError,
    check_headers,
    invalid,
    parse_body,
    validate_messages,
)

DEMO_API_KEY = "iris-demo-key"
DEFAULT_DELAY = 0.003
DEFAULT_RATE_LIMIT = 1000
RATE_WINDOW_SECONDS = 60.0
MAX_BODY_BYTES = 32 * 1024 * 1024
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Release dates for the page shape of GET /v1/models; other models get a fixed date.
_CREATED_AT = {
    "claude-opus-4-7": "2026-04-16T00:00:00Z",
    "claude-sonnet-4-6": "2026-02-17T00:00:00Z",
    "claude-haiku-4-5": "2025-10-15T00:00:00Z",
    "claude-sonnet-3-7": "2025-02-24T00:00:00Z",
}
_DEFAULT_CREATED_AT = "2026-01-01T00:00:00Z"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _random_id(prefix: str) -> str:
    # The service's ids look like msg_01 followed by 22 base-62 characters.
    # 17 random bytes (136 bits) cover 22 base-62 digits (131 bits).
    number = int.from_bytes(os.urandom(17), "big")
    digits = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        digits.append(_ID_ALPHABET[digit])
    return prefix + "01" + "".join(digits)


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class RateState(NamedTuple):
    """What the rate limiter decided for one request.

    Attributes:
        allowed: Whether the request fits in the window.
        limit: Requests allowed per window.
        remaining: Requests still allowed in the window after this one.
        reset: When a slot frees up, as RFC 3339.
        retry_after: Whole seconds until a slot frees up.
    """

    allowed: bool
    limit: int
    remaining: int
    reset: str
    retry_after: int

    def headers(self) -> dict[str, str]:
        """Return the ``anthropic-ratelimit-requests-*`` headers."""
        return {
            "anthropic-ratelimit-requests-limit": str(self.limit),
            "anthropic-ratelimit-requests-remaining": str(self.remaining),
            "anthropic-ratelimit-requests-reset": self.reset,
        }


class RateWindow:
    """A sliding window of request times, like the service's requests-per-minute limit."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS) -> None:
        """Allow ``limit`` requests in any ``window`` seconds."""
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> RateState:
        """Count one request if it fits and say what the headers should report."""
        now = time.monotonic()
        with self._lock:
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            allowed = len(self._times) < self.limit
            if allowed:
                self._times.append(now)
            remaining = self.limit - len(self._times)
            frees_at = self._times[0] + self.window if self._times else now + self.window
        wait = max(0.0, frees_at - now)
        return RateState(
            allowed, self.limit, remaining, _rfc3339(time.time() + wait), math.ceil(wait)
        )


class IncomingRequest(NamedTuple):
    """One request as the handler read it.

    Attributes:
        method: ``GET``, ``POST``, ...
        path: The URL path without the query.
        query: The parsed query string.
        headers: The request headers with lower-case names.
        body: The raw body.
    """

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # handle_request() runs only once the socket is readable; the timeout merely bounds
    # the wait if the waiting client vanished before accept().
    timeout = 0.1

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[MessagesHandler],
        owner: OfflineServer,
    ) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Condition()
        super().__init__(address, handler_class)

    def register(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def unregister(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)
            self._connections_lock.notify_all()

    def close_connections(self, timeout: float) -> None:
        """Cut every open connection and wait for their threads to let go."""
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections_lock.wait_for(lambda: not self._connections, timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away is normal; only a verbose server reports anything else.
        error = sys.exc_info()[1]
        if isinstance(error, OSError) or not self.owner.verbose:
            return
        traceback.print_exc()


class MessagesHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests the way the Messages API does.

    Attributes:
        request_id: The ``request-id`` of the current request.
        delay: Seconds to wait before each streamed delta of the current request.
        header_overrides: Headers that replace or extend the current response's.
        aborted: True once :meth:`abort_connection` cut the connection.
    """

    protocol_version = "HTTP/1.1"
    server_version = "iris-offline/1"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _HTTPServer

    request_id: str = ""
    delay: float = 0.0
    header_overrides: dict[str, str]
    aborted: bool = False
    _started: bool = False
    _rate: RateState | None = None

    # -- connection life cycle -------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.unregister(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            # The client disconnected or the server is stopping: nothing to answer.
            self.close_connection = True

    def handle_one_request(self) -> None:
        self._reset()
        super().handle_one_request()

    def _reset(self) -> None:
        self.request_id = _random_id("req_")
        self.delay = self.server.owner.delay
        self.header_overrides = {}
        self.aborted = False
        self._started = False
        self._rate = None

    # -- methods ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self._rate = self.server.owner.rate.admit()
        try:
            body = self._read_body()
            split = urllib.parse.urlsplit(self.path)
            request = IncomingRequest(
                method=self.command,
                path=split.path,
                query=urllib.parse.parse_qs(split.query),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            self.handle_api_request(request)
        except OfflineApiError as error:
            if not self._started:
                self.send_api_error(error)
            else:
                self.abort_connection()
        except OSError:
            self.close_connection = True
        except Exception as exc:
            if self.server.owner.verbose:
                traceback.print_exc()
            if self._started:
                self.abort_connection()
            else:
                self.send_api_error(
                    OfflineApiError(
                        500, "api_error", f"Internal error in the offline server: {exc!r}"
                    )
                )

    def _read_body(self) -> bytes:
        length_header = self.headers.get("content-length")
        if length_header is None:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                self.close_connection = True
                raise invalid("chunked request bodies are not supported; send Content-Length")
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise invalid("Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            # The body stays unread, so this connection cannot carry another request.
            self.close_connection = True
            raise OfflineApiError(
                413, "request_too_large", "Request exceeds the maximum allowed size."
            )
        return self.rfile.read(length) if length > 0 else b""

    # -- routing (the hook for subclasses) -------------------------------------------------

    def handle_api_request(self, request: IncomingRequest) -> None:
        """Answer one request. Subclasses may answer differently, then call this.

        Args:
            request: The request, its body already read.

        Raises:
            OfflineApiError: Turned into the API's JSON error response.
        """
        route = self._route(request)
        if route is None:
            raise OfflineApiError(
                404, "not_found_error", f"{request.method} {request.path} does not exist"
            )
        check_headers(request.headers)
        if self._rate is not None and not self._rate.allowed:
            raise OfflineApiError(
                429,
                "rate_limit_error",
                f"This request would exceed the rate limit of {self._rate.limit} requests "
                "per minute for the offline server. Please try again later.",
                headers={"retry-after": str(max(1, self._rate.retry_after))},
            )
        route(request)

    def _route(self, request: IncomingRequest) -> Callable[[IncomingRequest], None] | None:
        if request.method == "POST" and request.path == "/v1/messages":
            return self._messages
        if request.method == "POST" and request.path == "/v1/messages/count_tokens":
            return self._count_tokens
        if request.method == "GET" and request.path == "/v1/models":
            return self._models
        if request.method == "GET" and request.path.startswith("/v1/models/"):
            return self._model
        return None

    def _messages(self, request: IncomingRequest) -> None:
        owner = self.server.owner
        checked = validate_messages(parse_body(request.body), request.headers, owner.catalog)
        usage = owner.prompt_cache.usage(checked)
        reply = plan_reply(checked, _random_id("msg_"), usage)
        if checked.stream:
            self.stream_reply(reply)
        else:
            self.send_json(200, reply.message())

    def _count_tokens(self, request: IncomingRequest) -> None:
        checked = validate_messages(
            parse_body(request.body), request.headers, self.server.owner.catalog, count_only=True
        )
        self.send_json(200, {"input_tokens": count_input_tokens(checked)})

    def _models(self, request: IncomingRequest) -> None:
        models = self.server.owner.catalog.models
        ids = [m.id for m in models]
        limit_text = request.query.get("limit", ["20"])[-1]
        try:
            limit = int(limit_text)
        except ValueError:
            raise invalid("limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise invalid("limit: Input should be between 1 and 1000")
        start, end = 0, len(models)
        if "after_id" in request.query:
            start = self._position(ids, request.query["after_id"][-1]) + 1
        if "before_id" in request.query:
            end = self._position(ids, request.query["before_id"][-1])
            start = max(start, end - limit) if "after_id" not in request.query else start
        page = models[start:end][:limit]
        data = [_model_json(m) for m in page]
        self.send_json(
            200,
            {
                "data": data,
                "has_more": start + len(page) < end,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )

    @staticmethod
    def _position(ids: list[str], model_id: str) -> int:
        if model_id not in ids:
            raise OfflineApiError(404, "not_found_error", f"model: {model_id}")
        return ids.index(model_id)

    def _model(self, request: IncomingRequest) -> None:
        model_id = urllib.parse.unquote(request.path.removeprefix("/v1/models/"))
        catalog = self.server.owner.catalog
        if model_id not in catalog:
            raise OfflineApiError(404, "not_found_error", f"model: {model_id}")
        self.send_json(200, _model_json(catalog.get(model_id)))

    # -- responses -------------------------------------------------------------------------

    def response_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Return the headers every response carries, then ``extra``, then the overrides."""
        headers = {"request-id": self.request_id}
        if self._rate is not None:
            headers.update(self._rate.headers())
        for source in (extra or {}, self.header_overrides):
            headers.update({name.lower(): value for name, value in source.items()})
        return headers

    def _send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self._started = True
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a complete JSON response.

        Args:
            status: The HTTP status code.
            payload: The JSON object.
            headers: Extra response headers.
        """
        body = json.dumps(payload, ensure_ascii=False).encode()
        base = {"content-type": "application/json", "content-length": str(len(body))}
        self._send_head(status, {**base, **self.response_headers(headers)})
        self.wfile.write(body)
        self.wfile.flush()

    def send_api_error(self, error: OfflineApiError) -> None:
        """Send ``error`` as the API's JSON error object."""
        detail: dict[str, Any] = {"type": error.error_type, "message": error.message}
        if error.details is not None:
            detail["details"] = error.details
        payload = {"type": "error", "error": detail, "request_id": self.request_id}
        self.send_json(error.status, payload, error.headers)

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        # http.server calls this for malformed requests and unknown methods; answer in
        # the API's JSON shape instead of an HTML page.
        if not self.request_id:
            self._reset()
        self.close_connection = True
        # A request line too broken to parse leaves the version at HTTP/0.9, which
        # would suppress the status line; answer as HTTP/1.1 regardless.
        self.request_version = "HTTP/1.1"
        error_type = _ERROR_TYPES.get(
            code, "api_error" if code >= 500 else "invalid_request_error"
        )
        text = message or self.responses.get(code, ("Error",))[0]
        with contextlib.suppress(OSError):
            self.send_api_error(OfflineApiError(code, error_type, text))

    def begin_stream(
        self,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = "text/event-stream; charset=utf-8",
    ) -> None:
        """Send the head of a chunked response; follow with :meth:`write_chunk` calls.

        Args:
            status: The HTTP status code.
            headers: Extra response headers.
            content_type: The ``content-type`` header.
        """
        base = {
            "content-type": content_type,
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
        }
        self._send_head(status, {**base, **self.response_headers(headers)})

    def write_chunk(self, data: bytes) -> None:
        """Send ``data`` as one HTTP chunk, in one write, at once."""
        if data:
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))
            self.wfile.flush()

    def end_stream(self) -> None:
        """Send the last chunk, which ends a chunked response cleanly."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort_connection(self) -> None:
        """Cut the connection at once, leaving any response unfinished."""
        self.aborted = True
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; return True if it did."""
        return self.server.owner.stopping.wait(seconds)

    def transform_events(self, events: Iterator[SseEvent]) -> Iterator[SseEvent]:
        """Return the events to stream; the hook where a subclass may rewrite them.

        The returned iterator may call :meth:`abort_connection` and stop, which ends
        the response without its last chunk.
        """
        return events

    def stream_reply(self, reply: Reply) -> None:
        """Stream ``reply`` as server-sent events, ``delay`` seconds before each delta."""
        self.begin_stream()
        for event in self.transform_events(reply.events()):
            if self.aborted:
                return
            if event.name == "content_block_delta" and self.delay > 0 and self.wait(self.delay):
                self.abort_connection()
                return
            self.write_chunk(event.encode())
        if not self.aborted:
            self.end_stream()

    # -- logging ---------------------------------------------------------------------------

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        # Silent unless asked; the request line never holds the key, headers are never logged.
        if self.server.owner.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def _model_json(model: ModelInfo) -> dict[str, Any]:
    # max_tokens is the ceiling without a beta header, which is what the service reports.
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": _CREATED_AT.get(model.id, _DEFAULT_CREATED_AT),
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "line": model.family if model.family != "unknown" else None,
        "max_input_tokens": model.context_window,
        "max_tokens": model.max_output,
        "capabilities": {
            "image_input": {"supported": True},
            "pdf_input": {"supported": True},
            "citations": {"supported": True},
            "thinking": {"supported": True},
        },
    }


class OfflineServer:
    """A local stand-in for the Messages API, served from a daemon thread.

    The socket is bound when the object is created, so :attr:`base_url` is known
    at once; :meth:`start` begins answering. Always :meth:`stop` it (or use it as a
    context manager), which closes the socket and every open connection.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``, without ``/v1`` or a trailing slash.
        delay: Seconds between streamed deltas.
        verbose: Whether request lines and unexpected errors go to stderr.
        catalog: The models the server accepts.
        rate: The requests-per-minute window.
        prompt_cache: The simulated prompt cache.
        stopping: Set once :meth:`stop` was called.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        delay: float = DEFAULT_DELAY,
        handler_class: type[MessagesHandler] = MessagesHandler,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        verbose: bool = False,
        catalog: Catalog | None = None,
    ) -> None:
        """Bind the listening socket.

        Args:
            host: The IPv4 address to listen on; keep the loopback default.
            port: The port, or 0 for any free one.
            delay: Seconds between streamed deltas; 0 streams as fast as possible.
            handler_class: The request handler, a :class:`MessagesHandler` subclass.
            rate_limit: Requests allowed in any 60 seconds before answering 429.
            verbose: Print request lines and unexpected errors to stderr.
            catalog: The model catalog; the shipped one when omitted.
        """
        self.delay = delay
        self.verbose = verbose
        self.catalog = catalog if catalog is not None else Catalog.load()
        self.rate = RateWindow(rate_limit)
        self.prompt_cache = PromptCache()
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), handler_class, self)
        bound_host, bound_port = self._httpd.server_address[:2]
        self.base_url = f"http://{bound_host!s}:{bound_port}"
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stop_lock = threading.Lock()

    def start(self) -> Self:
        """Start answering requests in a daemon thread and return ``self``."""
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._serve,
                name=f"iris-offline-server:{self._httpd.server_address[1]}",
                daemon=True,
            )
            self._thread.start()
        return self

    def _serve(self) -> None:
        # Like serve_forever, but woken at once by stop() instead of polling, so that
        # stopping takes no noticeable time.
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._httpd.socket and not self.stopping.is_set():
                        self._httpd.handle_request()

    def stop(self) -> None:
        """Stop serving, cut open connections and close the socket. Safe to repeat."""
        with self._stop_lock:
            if self._closed:
                return
            self._closed = True
            self.stopping.set()
            with contextlib.suppress(OSError):
                self._wake_writer.send(b"\0")
            if self._thread is not None:
                self._thread.join()
            self._httpd.close_connections(timeout=2.0)
            self._httpd.server_close()
            self._wake_reader.close()
            self._wake_writer.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_demo(delay: float = DEFAULT_DELAY) -> tuple[OfflineServer, str]:
    """Start a demo server on loopback; return it and the key it accepts."""
    return OfflineServer(delay=delay).start(), DEMO_API_KEY
