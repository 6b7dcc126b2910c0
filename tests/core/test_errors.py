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


# -- the key in odd places, and text that is not safe to show --------------------------------

SECRET = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-0123456789"


def leaked(text: str) -> list[str]:
    """Runs of MIN_KEY_ECHO characters of SECRET found in ``text``, in any case."""
    low, key = text.lower(), SECRET.lower()
    width = errors.MIN_KEY_ECHO
    return [key[i : i + width] for i in range(len(key) - width + 1) if key[i : i + width] in low]


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        SECRET.upper(),
        SECRET.lower(),
        SECRET.swapcase(),
        SECRET[:20],  # a prefix
        SECRET[-12:],  # a suffix
        SECRET[13 : 13 + errors.MIN_KEY_ECHO],  # the shortest piece that counts
        f"{SECRET[:15]}...{SECRET[30:]}",  # two pieces
    ],
    ids=["whole", "upper", "lower", "swapcase", "prefix", "suffix", "shortest", "two-pieces"],
)
def test_scrub_removes_any_long_enough_piece_in_any_case(echo: str) -> None:
    scrubbed = errors.scrub(f"your key «{echo}» is wrong", SECRET)
    assert leaked(scrubbed) == []
    assert scrubbed.startswith("your key «[redacted]")
    assert scrubbed.endswith("» is wrong")


def test_scrub_leaves_text_without_the_key_alone() -> None:
    text = "invalid x-api-key: see https://docs.anthropic.com/en/api/errors (sk-ant)"
    assert errors.scrub(text, SECRET) == text
    assert errors.scrub(text, None) == text
    # Short secrets (tests, demo keys) are still matched whole, in any case.
    assert errors.scrub("demo KEY1 and key1", "key1") == "demo [redacted] and [redacted]"


def test_key_echoed_in_type_request_id_and_details_is_scrubbed() -> None:
    exc = errors.error_for_status(
        401,
        {
            "type": "error",
            "error": {
                "type": f"authentication_error {SECRET.upper()}",
                "message": f"bad key {SECRET[:24]}",
                "details": {"key": SECRET, "error_code": "x", "nested": {"k": SECRET}},
            },
        },
        request_id=f"req_{SECRET}",
        secret=SECRET,
    )
    for text in (
        str(exc),
        exc.summary(),
        repr(exc.args),
        str(exc.error_type),
        str(exc.request_id),
        str(exc.api_message),
        repr(exc.details),
    ):
        assert leaked(text) == [], text
    assert exc.details == {"key": "[redacted]", "error_code": "x"}  # nested values dropped
    assert exc.request_id == "req_[redacted]"
    assert isinstance(exc, errors.AuthenticationError)

    event = errors.error_from_event(
        {"type": "error", "error": {"type": SECRET.lower(), "message": SECRET[5:30]}},
        request_id=SECRET.upper(),
        partial=None,
        secret=SECRET,
    )
    assert leaked(event.summary()) == []
    assert leaked(str(event)) == []


def test_a_request_id_from_the_body_is_scrubbed_too() -> None:
    body = {"type": "error", "error": {"type": "api_error"}, "request_id": SECRET}
    exc = errors.error_for_status(500, body, secret=SECRET)
    assert exc.request_id == "[redacted]"


def test_service_fields_are_capped_and_stripped_of_control_characters() -> None:
    exc = errors.error_for_status(
        500,
        {
            "type": "error",
            "error": {
                "type": "api_error\x1b[2J" + "t" * 5000,
                "message": "\x1b[31mred\x1b[0m\r\nsecond line\x07" + "m" * 100_000,
                "details": {f"k{i}": "v" * 10_000 for i in range(100)},
            },
        },
        request_id="req_1\x1b]0;title\x07" + "r" * 5000,
    )
    assert exc.api_message is not None
    assert exc.api_message.startswith("red second line")
    assert len(exc.api_message) <= errors.MESSAGE_LIMIT
    assert exc.error_type is not None
    assert len(exc.error_type) <= errors.TYPE_LIMIT
    assert exc.request_id is not None
    assert exc.request_id.startswith("req_1r")
    assert len(exc.request_id) <= errors.REQUEST_ID_LIMIT
    assert len(exc.details) == errors.DETAILS_MAX_ENTRIES
    assert all(len(v) <= errors.DETAIL_LIMIT for v in exc.details.values())
    for text in (str(exc), exc.summary()):
        assert "\x1b" not in text
        assert "\n" not in text
        assert "\x07" not in text
        assert len(text) < 1500


def test_summary_is_terminal_safe_even_for_an_error_built_by_hand() -> None:
    exc = errors.APIError("bad\x1b[1A", error_type="x\ny", request_id="r\x9b2J")
    assert exc.summary() == "API error · x y · request-id r: bad"


@pytest.mark.parametrize(
    ("status", "location", "where"),
    [
        (301, "https://api.example.com/v1/messages", " to api.example.com,"),
        (302, "http://10.0.0.7:8080/x", " to 10.0.0.7,"),
        (307, "https://[::1]/v1", " to ::1,"),
        (308, None, ","),
        (303, "/relative/path", ","),
        (302, f"https://{SECRET.lower()}.example/", ","),  # never shows the key
        (302, "https://evil\x1b[2J.example/", ","),
        (302, "https://xn--bcher-kva.example/ok", " to xn--bcher-kva.example,"),
    ],
)
def test_a_redirect_is_reported_as_one(status: int, location: str | None, where: str) -> None:
    exc = errors.error_for_status(
        status, "<html>Moved</html>", request_id="req_r", secret=SECRET, location=location
    )
    assert type(exc) is errors.APIStatusError
    assert exc.status == status
    assert str(exc) == (
        f"The service answered with a redirect (HTTP {status}){where} which Iris never "
        "follows. Check the base URL."
    )
    assert "internal error" not in str(exc)
    assert f"HTTP {status}" in exc.summary()
    assert leaked(exc.summary()) == []
