"""One wording for outcomes, one usage formatter, and estimates marked as estimates."""

from __future__ import annotations

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.notices import (
    DEFAULT_REFUSAL,
    NoticeKind,
    announcement,
    is_setback,
    stop_notice,
    turn_notice,
)
from desktop_app.core.conversation.usage import (
    conversation_usage,
    estimate_tokens,
    format_usage,
    reply_usage,
    summarise_usage,
)
from desktop_app.core.wire.blocks import Role, TextBlock
from desktop_app.core.wire.message import Message, Usage


def reply(
    text: str,
    *,
    status: TurnStatus = TurnStatus.DONE,
    stop_reason: str | None = "end_turn",
    usage: Usage | None = None,
    details: dict[str, object] | None = None,
) -> Turn:
    message = Message(
        content=[TextBlock(text)],
        stop_reason=stop_reason,
        stop_details=details,
        usage=usage or Usage(),
    )
    return Turn(Role.ASSISTANT, message=message, status=status)


def test_a_stopped_reply_shows_an_estimated_output_count_marked_as_such() -> None:
    # The stream stopped before its final usage: only message_start's "1" is known.
    stopped = reply("x" * 400, status=TurnStatus.STOPPED, stop_reason=None, usage=Usage(50, 1))
    figures = reply_usage(stopped)
    assert figures is not None
    assert figures.estimated
    assert figures.output_tokens == estimate_tokens("x" * 400) == 100
    assert format_usage(figures) == "in 50 · out ≈100 (estimate)"


def test_a_finished_reply_shows_the_service_s_own_figures() -> None:
    done = reply("x" * 400, usage=Usage(50, 7, 3, 9))
    figures = reply_usage(done)
    assert figures is not None
    assert not figures.estimated
    assert format_usage(figures) == "in 50 · out 7 · cache write 3 · cache read 9"
    # A stopped reply whose final usage did arrive is not an estimate either.
    late = reply("abc", status=TurnStatus.STOPPED, stop_reason="end_turn", usage=Usage(1, 2))
    assert reply_usage(late) == figures.__class__(1, 2, 0, 0, False)


def test_conversation_totals_add_up_and_carry_the_estimate_mark() -> None:
    turns = [
        Turn(Role.USER, [TextBlock("q")]),
        reply("a", usage=Usage(10, 5)),
        reply("y" * 40, status=TurnStatus.INTERRUPTED, stop_reason=None, usage=Usage(12, 1)),
    ]
    total = conversation_usage(turns)
    assert (total.input_tokens, total.output_tokens, total.estimated) == (22, 15, True)
    assert format_usage(conversation_usage([])) == ""
    # One number for the line under the composer: every token counted, the mark kept.
    assert summarise_usage(total) == "≈37 tokens used (estimate)"
    assert summarise_usage(reply_usage(reply("a", usage=Usage(1_000, 5, 20, 3_000)))) == (
        "4,025 tokens used"
    )
    assert summarise_usage(conversation_usage([])) == ""


def test_a_refusal_is_explained_in_one_place_for_every_surface() -> None:
    refused = reply(
        "",
        status=TurnStatus.REFUSED,
        stop_reason="refusal",
        details={"type": "refusal", "explanation": "Policy says no."},
    )
    notice = turn_notice(refused)
    assert notice is not None
    assert notice.kind is NoticeKind.REFUSAL
    assert "Policy says no. This exchange" in notice.text
    assert not (notice.can_retry)
    assert not (notice.can_continue)
    assert announcement(refused, 1.0) == "Claude declined to answer: Policy says no."
    assert refused.message is not None
    assert stop_notice(refused.message) == notice
    prompt = Turn(Role.USER, [TextBlock("?")], status=TurnStatus.REFUSED)
    prompt_notice = turn_notice(prompt)
    assert prompt_notice is not None
    assert "left out" in prompt_notice.text.lower()
    silent = reply("", status=TurnStatus.REFUSED, stop_reason="refusal")
    assert silent.message is not None
    assert DEFAULT_REFUSAL in (stop_notice(silent.message) or notice).text


def test_notices_offer_what_the_person_can_do() -> None:
    failed = Turn(Role.USER, [TextBlock("q")], status=TurnStatus.FAILED, error="Rejected.")
    notice = turn_notice(failed)
    assert notice is not None
    assert (notice.text, notice.can_retry, notice.can_remove) == ("Rejected.", True, True)
    cut = turn_notice(reply("long", stop_reason="max_tokens"))
    assert cut is not None
    assert cut.can_continue
    interrupted = turn_notice(reply("x", status=TurnStatus.INTERRUPTED, stop_reason=None))
    assert interrupted is not None
    assert interrupted.can_retry
    assert turn_notice(reply("fine")) is None
    assert announcement(reply("fine"), 3.2) == "Claude replied in 3 seconds."


def test_a_setback_is_announced_with_its_reason() -> None:
    failed = Turn(Role.USER, [TextBlock("q")], status=TurnStatus.FAILED, error="Rejected.")
    assert announcement(failed, 1.0) == "The message could not be sent: Rejected."
    assert is_setback(failed)
    unexplained = Turn(Role.USER, [TextBlock("q")], status=TurnStatus.FAILED)
    assert announcement(unexplained, 1.0) == "The message could not be sent."
    cut = reply("x", status=TurnStatus.INTERRUPTED, stop_reason=None)
    cut.error = "The reply was interrupted. The connection closed."
    assert announcement(cut, 1.0) == "The reply was interrupted. The connection closed."
    refused = reply("", status=TurnStatus.REFUSED, stop_reason="refusal")
    assert is_setback(refused)
    assert not is_setback(reply("fine"))
    assert not is_setback(reply("long", stop_reason="max_tokens"))
    assert announcement(reply("fine"), 1.2) == "Claude replied in 1 second."
