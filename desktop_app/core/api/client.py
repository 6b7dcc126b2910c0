"""The Messages API client: streaming, retries and pacing, on httpx.

One :class:`MessagesClient` owns one ``httpx.AsyncClient``. Requests always
stream. Failures before the first byte of a 200 are retried with exponential
backoff and jitter, honouring ``retry-after-ms``, ``retry-after`` and
``x-should-retry``; a stream that breaks after it started is never retried
behind the user's back: it raises :class:`StreamInterruptedError` carrying what
arrived.

The API key is sent only as a header on requests to the configured base URL
(redirects are never followed), is never logged, and is scrubbed from any text
that reaches an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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
)
from desktop_app.core.logs import register_secret
from desktop_app.core.wire.events import ErrorEvent, MessageAccumulator, StreamEvent, parse_events
from desktop_app.core.wire.message import Message
from desktop_app.core.wire.request import (
    DEFAULT_API_VERSION,
    MessageRequest,
    base_url_from_env,
    build_body,
)
from desktop_app.core.wire.sse import SSEDecoder

log = logging.getLogger("iris.api")

NEVER_RETRIED = frozenset({400, 401, 403, 404, 413})


class MessageStream:
    """One streamed reply. Iterate it for events; ``message`` always holds what arrived.

    Raises from iteration:
        StreamInterruptedError: The stream broke off, stalled, or carried an error event.
    """

    def __init__(self, response: httpx.Response, *, secret: str, idle_timeout: float) -> None:
        """Wrap an open 200 response."""
        self._response = response
        self._secret = secret
        self._idle_timeout = idle_timeout
        self._accumulator = MessageAccumulator()
        self.request_id: str | None = response.headers.get("request-id")

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

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        """Yield typed events as they arrive."""
        accumulator = self._accumulator
        content_type = self._response.headers.get("content-type", "")
        if "json" in content_type:
            # A gateway may answer a streaming request with the whole message at once.
            raw = await self._response.aread()
            try:
                accumulator.message = Message.from_dict(json.loads(raw))
            except (ValueError, TypeError, AttributeError) as exc:
                raise self._interrupted("the service sent a reply Iris could not read") from exc
            accumulator.finished = True
            return
        decoder = SSEDecoder()
        try:
            async for chunk in self._response.aiter_bytes():
                for event in parse_events(decoder.feed(chunk)):
                    if isinstance(event, ErrorEvent):
                        raise error_from_event(
                            event.raw,
                            request_id=self.request_id,
                            partial=self.message,
                            secret=self._secret,
                        )
                    accumulator.feed(event)
                    yield event
            for event in parse_events(decoder.flush()):
                accumulator.feed(event)
                yield event
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
            limiter: Client-side pacing for the user's tier, if any.
            transport: An httpx transport, for tests and embedding.
        """
        if not api_key or not api_key.strip():
            raise ConfigurationError("No API key is set. Add one in Settings or use the demo.")
        self.base_url = base_url_from_env(base_url)
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"The base URL must start with http:// or https:// (got {self.base_url!r})."
            )
        self._api_key = api_key.strip()
        register_secret(api_key)  # whatever is logged from now on leaves it out
        self.api_version = api_version
        self.max_retries = max(0, max_retries)
        self.max_retry_wait = max_retry_wait
        self.idle_timeout = idle_timeout
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
        if status in NEVER_RETRIED or isinstance(error, SpendLimitError):
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
        stream = MessageStream(response, secret=self._api_key, idle_timeout=self.idle_timeout)
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
            try:
                raw = await response.aread()
            finally:
                await response.aclose()
            try:
                page = json.loads(raw)
                data = page["data"]
            except (ValueError, KeyError, TypeError) as exc:
                raise APIError(
                    "The service sent a model list Iris could not read.",
                    status=response.status_code,
                    request_id=response.headers.get("request-id"),
                ) from exc
            models.extend(d for d in data if isinstance(d, dict))
            if not page.get("has_more") or not page.get("last_id"):
                break
            after = str(page["last_id"])
        return models

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
                    f"Could not reach {self.base_url}: {scrub(str(exc), self._api_key)}"
                    if str(exc)
                    else f"Could not reach {self.base_url}."
                )
                error.__cause__ = exc
            else:
                request_id = response.headers.get("request-id")
                if self.limiter is not None and method == "POST":
                    self.limiter.observe(family, response.headers)
                log.info("%s %s -> %s (%s)", method, path, response.status_code, request_id)
                if response.status_code < 300:
                    return response
                raw = await response.aread()
                await response.aclose()
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = None
                error = error_for_status(
                    response.status_code,
                    parsed,
                    request_id=request_id,
                    retry_after=parse_retry_after(response.headers),
                    secret=self._api_key,
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
