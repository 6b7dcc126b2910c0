"""The exception tree: mapping, wording, and the key never leaking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from desktop_app.core import errors
from desktop_app.core.api.retry import backoff_delay, parse_retry_after


def body(error_type: str, message: str = "msg", **details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": "req_body"}


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", errors.InvalidRequestError),
        (401, "authentication_error", errors.AuthenticationError),
        (402, "billing_error", errors.BillingError),
        (403, "permission_error", errors.PermissionDeniedError),
        (404, "not_found_error", errors.NotFoundError),
        (413, "request_too_large", errors.RequestTooLargeError),
        (429, "rate_limit_error", errors.RateLimitError),
        (500, "api_error", errors.ServerError),
        (504, "timeout_error", errors.APITimeoutError),
        (529, "overloaded_error", errors.OverloadedError),
        (418, "teapot_error", errors.ServerError),
    ],
)
def test_status_maps_to_class(status: int, error_type: str, cls: type[errors.APIError]) -> None:
    exc = errors.error_for_status(status, body(error_type, "why"), request_id="req_1")
    assert type(exc) is cls
    assert (exc.status, exc.error_type, exc.request_id) == (status, error_type, "req_1")
    assert exc.api_message == "why"
    assert "why" in str(exc)
    assert f"HTTP {status}" in exc.summary()
    assert "req_1" in exc.summary()


def test_spend_limit_is_its_own_class() -> None:
    exc = errors.error_for_status(
        429, body("rate_limit_error", error_code="enforced_spend_limit_reached")
    )
    assert isinstance(exc, errors.SpendLimitError)
    assert isinstance(exc, errors.RateLimitError)
    assert "waiting will not help" in str(exc)


def test_request_id_falls_back_to_body_and_non_json_bodies_work() -> None:
    assert errors.error_for_status(500, body("api_error")).request_id == "req_body"
    exc = errors.error_for_status(502, "<html>bad gateway</html>")
    assert isinstance(exc, errors.ServerError)
    assert "HTTP 502" in str(exc)


def test_key_is_scrubbed_from_service_text() -> None:
    key = "sk-ant-api03-SECRET-abcdef"
    exc = errors.error_for_status(
        401, body("authentication_error", f"invalid key {key}"), secret=key
    )
    assert key not in str(exc)
    assert key not in exc.summary()
    assert key not in repr(exc.args)
    assert "[redacted]" in str(exc)
    event = errors.error_from_event(
        {"type": "error", "error": {"type": "api_error", "message": key}},
        request_id=None,
        partial=None,
        secret=key,
    )
    assert key not in str(event)


def test_error_event_becomes_interruption_that_keeps_partial() -> None:
    from desktop_app.core.wire.message import Message

    partial = Message(id="m")
    exc = errors.error_from_event(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        request_id="req_9",
        partial=partial,
    )
    assert isinstance(exc, errors.StreamInterruptedError)
    assert exc.partial is partial
    assert exc.error_type == "overloaded_error"
    assert "interrupted" in str(exc)
    assert "overloaded" in str(exc).lower()


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0"}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    when = parse_retry_after(
        {"retry-after": "Wed, 25 Nov 2026 10:00:05 GMT"},
        now=datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC).timestamp(),
    )
    assert when == pytest.approx(5.0)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    for attempt, base in [(0, 0.5), (1, 1.0), (2, 2.0), (10, 8.0)]:
        samples = [backoff_delay(attempt) for _ in range(200)]
        assert min(samples) >= base * 0.75
        assert max(samples) <= base
        assert len(set(samples)) > 1
