"""The Messages API client: streaming, retries and pacing, on httpx.

One :class:`MessagesClient` owns one ``httpx.AsyncClient``. Requests always
stream. Failures before the first byte of a 200 are retried with exponential
backoff and jitter, honouring ``retry-after-ms``, ``retry-after`` and
``x-should-retry``; a stream that breaks after it started is never retried
behind the user's back: it raises :class:`StreamInterruptedError` carrying what
arrived. So does a stream that brings no new content for ``stall_timeout``
seconds, however much keep-alive traffic it sends.

The API key is sent only as a header on requests to the configured base URL
(redirects are never followed, plain ``http://`` only to this computer), is never
logged, and is scrubbed from any text that reaches an exception. What a server
sends is bounded in size: an event over the decoder's limit, a JSON reply over
:data:`MAX_JSON_BYTES` or an error body over :data:`MAX_ERROR_BYTES` is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

if "httpx" not in sys.modules:
    # httpx loads its optional command-line client (click and rich, ~100 ms here)
    # whenever those happen to be installed. Iris never uses it; a None entry makes
    # that import fail fast, which httpx handles.
    sys.modules["httpx._main"] = None  # type: ignore[assignment]

import httpx

from desktop_app import __version__
from desktop_app.core.api.ratelimit import RateLimiter
from desktop_app.core.api.retry import RetryNotice, backoff_delay, parse_retry_after
from desktop_app.core.catalog import ModelInfo
from desktop_app.core.errors import (
    REQUEST_ID_LIMIT,
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    ProtocolError,
    SpendLimitError,
    StreamInterruptedError,
    error_for_status,
    error_from_event,
    scrub,
    server_text,
)
from desktop_app.core.logs import register_secret
from desktop_app.core.settings import base_url_problem
from desktop_app.core.wire.blocks import replace_lone_surrogates
from desktop_app.core.wire.events import (
    ErrorEvent,
    MessageAccumulator,
    PingEvent,
    StreamEvent,
    UnknownEvent,
    parse_event,
    parse_events,
)
from desktop_app.core.wire.message import Message
from desktop_app.core.wire.request import (
    DEFAULT_API_VERSION,
    MessageRequest,
    base_url_from_env,
    build_body,
)
from desktop_app.core.wire.sse import ServerSentEvent, SSEDecoder

log = logging.getLogger("iris.api")

NEVER_RETRIED = frozenset({400, 401, 403, 404, 413})

#: The largest whole-message JSON reply accepted (a gateway's non-streamed answer).
MAX_JSON_BYTES = 16 * 1024 * 1024
#: The largest error body read; the API's are a few hundred bytes.
MAX_ERROR_BYTES = 64 * 1024
#: The default for ``stall_timeout``: seconds without new content before a reply stalls.
DEFAULT_STALL_TIMEOUT = 180.0


# What the system's error numbers mean, in the words a person would use.
_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "gaierror",
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo failed",
            "temporary failure in name resolution",
            "no address associated",
        ),
        "its address could not be found. Check the internet connection and the base URL.",
    ),
    (
        ("connection refused", "connectionrefusederror", "actively refused"),
        "nothing answered there (connection refused). Check the base URL.",
    ),
    (
        ("network is unreachable", "no route to host", "host is unreachable"),
        "the network is unreachable. Check the internet connection.",
    ),
    (
        ("certificate", "certverification"),
        "the secure connection failed: its certificate is not trusted here.",
    ),
    (
        ("sslerror", "ssl:", "[ssl", "tls"),
        "the secure connection could not be set up. Check that the base URL starts "
        "with the right http:// or https://.",
    ),
    (
        (
            "connection reset",
            "connectionreseterror",
            "server disconnected",
            "connection closed",
            "broken pipe",
            "incomplete",
            "peer closed",
        ),
        "the connection was closed before the answer came. Try again.",
    ),
)


def unreachable_reason(exc: BaseException, api_key: str | None = None) -> str:
    """Why a connection failed, in plain words, from ``exc`` and the errors it wraps.

    The library's message names the cause in the system's terms ("[Errno -2] Name or
    service not known"); a person needs to know what to check. Unknown causes keep
    the library's text, cleaned like any text from outside and without the errno.
    """
    texts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts.append(f"{type(current).__name__} {current}".lower())
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
    joined = " ".join(texts)
    for needles, reason in _REASONS:
        if any(needle in joined for needle in needles):
            return reason
    detail = re.sub(r"\[errno -?\d+\]\s*", "", str(exc), flags=re.IGNORECASE)
    cleaned = server_text(detail, api_key)
    return f"{cleaned.rstrip('.')}." if cleaned else "the connection failed."


class _TooLargeError(Exception):
    """A response body went over the size it was read with."""


async def _read_body(response: httpx.Response, limit: int, deadline: float) -> bytes:
    """Read the whole body, but no more than ``limit`` bytes and not past ``deadline``.

    Raises:
        _TooLargeError: The body is longer than ``limit``.
        TimeoutError: ``deadline`` (on the loop's clock) passed first.
        httpx.HTTPError: The connection failed.
    """
    parts: list[bytes] = []
    size = 0
    async with asyncio.timeout_at(deadline):
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _TooLargeError
            parts.append(chunk)
    return b"".join(parts)


def _parse_batch(
    batch: Sequence[ServerSentEvent],
) -> tuple[list[StreamEvent], ProtocolError | None]:
    """Parse a chunk's events; on a bad one, keep the events before it and its error."""
    try:
        return parse_events(batch), None
    except ProtocolError as exc:
        good: list[StreamEvent] = []
        for event in batch:
            try:
                good.append(parse_event(event.event, event.data))
            except ProtocolError as problem:
                return good, problem
        return good, exc


class MessageStream:
    """One streamed reply. Iterate it for events; ``message`` always holds what arrived.

    Raises from iteration:
        StreamInterruptedError: The stream broke off, stalled, or carried an error event.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        secret: str,
        idle_timeout: float,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    ) -> None:
        """Wrap an open 200 response.

        Args:
            response: The response, opened for streaming.
            secret: The API key, scrubbed from anything the server sends back.
            idle_timeout: The client's read timeout, named in the error when it strikes.
            stall_timeout: Seconds without a content event before the reply stalls.
        """
        self._response = response
        self._secret = secret
        self._idle_timeout = idle_timeout
        self._stall_timeout = stall_timeout
        self._accumulator = MessageAccumulator()
        self.request_id: str | None = server_text(
            response.headers.get("request-id"), secret, REQUEST_ID_LIMIT
        )

    @property
    def message(self) -> Message:
        """The reply as far as it arrived."""
        return self._accumulator.message

    @property
    def finished(self) -> bool:
        """True once ``message_stop`` arrived."""
        return self._accumulator.finished

    def _interrupted(self, why: str, *, error_type: str | None = None) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"The reply was interrupted: {why}. What arrived is kept; retry to ask again.",
            status=200,
            error_type=error_type,
            request_id=self.request_id,
            partial=self.message,
        )

    def _stalled(self) -> StreamInterruptedError:
        return self._interrupted(
            f"the service sent no new content for {self._stall_timeout:g} seconds"
        )

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        """Yield typed events as they arrive."""
        accumulator = self._accumulator
        loop = asyncio.get_running_loop()
        stall = self._stall_timeout
        # Only content moves the deadline on: pings, comments, unknown events and
        # stray bytes keep the connection open but do not keep the reply alive.
        deadline = loop.time() + stall
        content_type = self._response.headers.get("content-type", "")
        if "json" in content_type:
            # A gateway may answer a streaming request with the whole message at once.
            await self._read_whole_message(deadline)
            return
        decoder = SSEDecoder()
        chunks = aiter(self._response.aiter_bytes())
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError as exc:
                    raise self._stalled() from exc
                events, problem = _parse_batch(decoder.feed(chunk))
                now = loop.time()
                for event in events:
                    if isinstance(event, ErrorEvent):
                        raise error_from_event(
                            event.raw,
                            request_id=self.request_id,
                            partial=self.message,
                            secret=self._secret,
                        )
                    accumulator.feed(event)
                    if not isinstance(event, PingEvent | UnknownEvent):
                        deadline = now + stall
                    yield event
                if problem is not None:
                    raise problem
                if now >= deadline:
                    # Keep-alive traffic fast enough never to let the wait time out.
                    raise self._stalled()
            events, problem = _parse_batch(decoder.flush())
            for event in events:
                accumulator.feed(event)
                yield event
            if problem is not None:
                raise problem
        except httpx.ReadTimeout as exc:
            raise self._interrupted(
                f"the service sent nothing for {self._idle_timeout:g} seconds"
            ) from exc
        except httpx.TransportError as exc:
            raise self._interrupted("the connection was lost") from exc
        except ProtocolError as exc:
            raise self._interrupted(scrub(str(exc), self._secret)) from exc
        if not accumulator.finished:
            raise self._interrupted("the connection closed before the reply was complete")

    async def _read_whole_message(self, deadline: float) -> None:
        accumulator = self._accumulator
        try:
            raw = await _read_body(self._response, MAX_JSON_BYTES, deadline)
        except TimeoutError as exc:
            raise self._stalled() from exc
        except _TooLargeError as exc:
            raise self._interrupted("the service sent a reply larger than Iris accepts") from exc
        except httpx.ReadTimeout as exc:
            raise self._interrupted(
                f"the service sent nothing for {self._idle_timeout:g} seconds"
            ) from exc
        except httpx.TransportError as exc:
            raise self._interrupted("the connection was lost") from exc
        try:
            accumulator.message = Message.from_dict(replace_lone_surrogates(json.loads(raw)))
        except (ValueError, RecursionError) as exc:  # ProtocolError is a ValueError
            raise self._interrupted("the service sent a reply Iris could not read") from exc
        accumulator.finished = True

    async def until_done(self) -> Message:
        """Consume the rest of the stream and return the final message."""
        async for _event in self:
            pass
        return self.message

    async def aclose(self) -> None:
        """Close the HTTP response at once."""
        await self._response.aclose()


class MessagesClient:
    """An async client for the Messages API on one ``httpx.AsyncClient``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        max_retries: int = 2,
        max_retry_wait: float = 60.0,
        connect_timeout: float = 10.0,
        idle_timeout: float = 90.0,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Create the client.

        Args:
            api_key: The key; sent only to ``base_url``.
            base_url: The API root; ``ANTHROPIC_BASE_URL`` or the public API when None.
            api_version: The ``anthropic-version`` header.
            max_retries: Retries after the first attempt for retryable failures.
            max_retry_wait: A server-requested wait longer than this is not waited out;
                the error is raised at once so the user can decide.
            connect_timeout: Seconds to connect.
            idle_timeout: Seconds a stream may stay silent before it counts as broken.
            stall_timeout: Seconds a reply may bring no new content (only pings,
                comments or stray bytes) before it counts as stalled; also bounds
                reading an error body or a whole JSON reply.
            limiter: Client-side pacing for the user's tier, if any.
            transport: An httpx transport, for tests and embedding.

        Raises:
            ConfigurationError: No key, or a base URL that is refused (not http(s), or
                plain ``http://`` to anywhere but this computer).
        """
        if not api_key or not api_key.strip():
            raise ConfigurationError("No API key is set. Add one in Settings or use the demo.")
        self.base_url = base_url_from_env(base_url)
        problem = base_url_problem(self.base_url) if self.base_url else "The base URL is empty."
        if problem is not None:
            raise ConfigurationError(problem)
        self._api_key = api_key.strip()
        register_secret(api_key)  # whatever is logged from now on leaves it out
        self.api_version = api_version
        self.max_retries = max(0, max_retries)
        self.max_retry_wait = max_retry_wait
        self.idle_timeout = idle_timeout
        self.stall_timeout = stall_timeout
        self.limiter = limiter
        if transport is None and self.base_url.startswith("http://"):
            # A plain-HTTP base URL (the offline server, a local gateway) never does
            # TLS, and requests cannot leave it (no redirects), so skip building the
            # certificate store: that alone takes about 0.1 s at start-up.
            transport = httpx.AsyncHTTPTransport(verify=False)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(connect=connect_timeout, read=idle_timeout, write=60, pool=60),
            headers={"user-agent": f"iris-desktop/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"MessagesClient(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client and every connection it holds."""
        await self._http.aclose()

    async def __aenter__(self) -> MessagesClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _headers(self, betas: Sequence[str] = ()) -> dict[str, str]:
        headers = {
            "x-api-key": self._api_key,
            "anthropic-version": self.api_version,
            "content-type": "application/json",
            "accept": "text/event-stream",
        }
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return headers

    def _should_retry(self, response: httpx.Response | None, error: APIError) -> bool:
        if response is None:
            return True  # connection failures and timeouts before any reply
        status = response.status_code
        if status in NEVER_RETRIED or status < 400 or isinstance(error, SpendLimitError):
            return False
        flag = str(response.headers.get("x-should-retry", "")).lower()
        if flag in ("true", "false"):
            return flag == "true"
        return status in (408, 409, 429) or status >= 500

    @contextlib.asynccontextmanager
    async def stream(
        self,
        request: MessageRequest,
        model: ModelInfo,
        *,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> AsyncIterator[MessageStream]:
        """Send ``request`` and yield its :class:`MessageStream`; the response closes on exit.

        Raises:
            APIError: A subclass for the failure, once retries are used up.
        """
        body, betas = build_body(request, model)
        response = await self._send_with_retries(
            "POST", "/v1/messages", body, betas, model.family, on_retry
        )
        stream = MessageStream(
            response,
            secret=self._api_key,
            idle_timeout=self.idle_timeout,
            stall_timeout=self.stall_timeout,
        )
        try:
            yield stream
        finally:
            # Runs on Stop (cancellation) too: the socket closes at once.
            await response.aclose()

    async def create(
        self,
        request: MessageRequest,
        model: ModelInfo,
        *,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> Message:
        """Send ``request``, stream the whole reply and return the final message."""
        async with self.stream(request, model, on_retry=on_retry) as stream:
            return await stream.until_done()

    async def list_models(self) -> list[dict[str, Any]]:
        """Return every model entry from ``GET /v1/models``, following pages."""
        models: list[dict[str, Any]] = []
        after: str | None = None
        for _page in range(50):
            params = {"limit": "1000"} | ({"after_id": after} if after else {})
            response = await self._send_with_retries(
                "GET", "/v1/models", None, (), "unknown", None, params=params
            )
            deadline = asyncio.get_running_loop().time() + self.stall_timeout
            try:
                raw = await _read_body(response, MAX_JSON_BYTES, deadline)
                page = json.loads(raw)
                data = page["data"]
                if not isinstance(data, list):
                    raise TypeError("data is not a list")
            except (
                ValueError,
                KeyError,
                TypeError,
                RecursionError,
                TimeoutError,
                _TooLargeError,
                httpx.HTTPError,
            ) as exc:
                raise APIError(
                    "The service sent a model list Iris could not read.",
                    status=response.status_code,
                    request_id=server_text(
                        response.headers.get("request-id"), self._api_key, REQUEST_ID_LIMIT
                    ),
                ) from exc
            finally:
                await response.aclose()
            models.extend(d for d in data if isinstance(d, dict))
            if not page.get("has_more") or not page.get("last_id"):
                break
            after = str(page["last_id"])
        return models

    async def _error_body(self, response: httpx.Response) -> Any:
        """The decoded JSON of an error response, or None when it cannot be had.

        The body is read only up to :data:`MAX_ERROR_BYTES` and for at most
        ``stall_timeout`` seconds: an error answer is never worth waiting long for.
        """
        deadline = asyncio.get_running_loop().time() + self.stall_timeout
        try:
            return json.loads(await _read_body(response, MAX_ERROR_BYTES, deadline))
        except (ValueError, RecursionError, TimeoutError, _TooLargeError, httpx.HTTPError):
            return None
        finally:
            await response.aclose()

    async def _send_with_retries(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        betas: Sequence[str],
        family: str,
        on_retry: Callable[[RetryNotice], None] | None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            if self.limiter is not None and method == "POST":
                await self.limiter.acquire(family)
            response: httpx.Response | None = None
            try:
                http_request = self._http.build_request(
                    method,
                    path,
                    content=None if body is None else json.dumps(body).encode(),
                    headers=self._headers(betas),
                    params=params,
                )
                response = await self._http.send(http_request, stream=True)
            except httpx.TimeoutException as exc:
                error: APIError = APITimeoutError(
                    "The service did not answer in time. Check the network or try again."
                )
                error.__cause__ = exc
            except httpx.TransportError as exc:
                error = APIConnectionError(
                    f"Could not reach {self.base_url}: {unreachable_reason(exc, self._api_key)}"
                )
                error.__cause__ = exc
            else:
                request_id = server_text(
                    response.headers.get("request-id"), self._api_key, REQUEST_ID_LIMIT
                )
                if self.limiter is not None and method == "POST":
                    self.limiter.observe(family, response.headers)
                log.info("%s %s -> %s (%s)", method, path, response.status_code, request_id)
                if response.status_code < 300:
                    return response
                parsed = await self._error_body(response)
                error = error_for_status(
                    response.status_code,
                    parsed,
                    request_id=request_id,
                    retry_after=parse_retry_after(response.headers),
                    secret=self._api_key,
                    location=response.headers.get("location"),
                )
            if not self._should_retry(response, error) or attempt >= self.max_retries:
                raise error
            asked = parse_retry_after(response.headers) if response is not None else None
            delay = asked if asked is not None else backoff_delay(attempt)
            if delay > self.max_retry_wait:
                raise error
            if asked is not None and self.limiter is not None:
                self.limiter.pause(family, asked)
            attempt += 1
            log.info("retrying %s in %.2fs (attempt %d): %s", path, delay, attempt + 1, error.kind)
            if on_retry is not None:
                on_retry(RetryNotice(attempt + 1, delay, time.monotonic() + delay, error))
            await asyncio.sleep(delay)
