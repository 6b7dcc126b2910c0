"""What a turn's outcome means, in words: one place for the window and ``iris ask``.

Stop reasons, failures and refusals are explained here once, so the inline notice
on a turn and the line the command line prints never disagree.
"""

from __future__ import annotations

import dataclasses
import enum

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.wire.blocks import Role
from desktop_app.core.wire.message import Message

DEFAULT_REFUSAL = "the request was declined for safety reasons"


class NoticeKind(enum.Enum):
    """How a notice looks: its icon and tint, never colour alone."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    REFUSAL = "refusal"


@dataclasses.dataclass(frozen=True)
class Notice:
    """A short explanation shown on a turn, and what the person can do about it.

    Attributes:
        text: One or two plain sentences.
        kind: How serious it is.
        can_retry: Offer Retry (send the same prompt again).
        can_remove: Offer Remove (take a failed turn away).
        can_continue: Offer Continue (ask the model to go on).
    """

    text: str
    kind: NoticeKind = NoticeKind.INFO
    can_retry: bool = False
    can_remove: bool = False
    can_continue: bool = False


def refusal_explanation(message: Message | None) -> str:
    """Why the model declined, from ``stop_details``, or a general reason."""
    details = (message.stop_details if message is not None else None) or {}
    explanation = details.get("explanation")
    if isinstance(explanation, str) and explanation.strip(" ."):
        # Without its full stop: the sentences around it add their own.
        return explanation.strip().rstrip(" .")
    return DEFAULT_REFUSAL


def stop_notice(message: Message) -> Notice | None:
    """The notice a finished reply's stop reason calls for; None for a normal end."""
    reason = message.stop_reason
    if reason == "refusal":
        return Notice(
            f"Claude declined to answer: {refusal_explanation(message)}. "
            "This exchange is left out of the rest of the conversation.",
            NoticeKind.REFUSAL,
        )
    if reason == "max_tokens":
        return Notice(
            "The reply reached the max tokens limit.", NoticeKind.WARNING, can_continue=True
        )
    if reason == "model_context_window_exceeded":
        return Notice(
            "The conversation is longer than the model's context window.", NoticeKind.WARNING
        )
    if reason == "pause_turn":
        return Notice("The model paused a long turn.", NoticeKind.INFO, can_continue=True)
    return None


def turn_notice(turn: Turn) -> Notice | None:
    """The notice to show on ``turn`` now, or None."""
    status = turn.status
    if turn.role is Role.USER:
        if status is TurnStatus.FAILED:
            return Notice(
                turn.error or "The request failed.",
                NoticeKind.ERROR,
                can_retry=True,
                can_remove=True,
            )
        if status is TurnStatus.REFUSED:
            return Notice(
                "Left out of the conversation because Claude declined it. "
                "Edit it to ask differently.",
                NoticeKind.REFUSAL,
            )
        return None
    if status is TurnStatus.FAILED:
        return Notice(
            turn.error or "The request failed.", NoticeKind.ERROR, can_retry=True, can_remove=True
        )
    if status is TurnStatus.INTERRUPTED:
        return Notice(
            turn.error or "The reply was interrupted; what arrived is kept.",
            NoticeKind.WARNING,
            can_retry=True,
        )
    if status is TurnStatus.STOPPED:
        return Notice("Stopped. What arrived is kept.", NoticeKind.INFO)
    if turn.message is not None and status in (TurnStatus.DONE, TurnStatus.REFUSED):
        return stop_notice(turn.message)
    return None


def announcement(turn: Turn, seconds: float) -> str:
    """What a screen reader says when a reply ends."""
    status = turn.status
    if status is TurnStatus.REFUSED or turn.refused:
        return f"Claude declined to answer: {refusal_explanation(turn.message)}."
    if status is TurnStatus.DONE:
        notice = turn.message and stop_notice(turn.message)
        suffix = f" {notice.text}" if notice else ""
        whole = round(seconds)
        return f"Claude replied in {whole} second{'' if whole == 1 else 's'}.{suffix}"
    if status is TurnStatus.STOPPED:
        return "Reply stopped."
    # A failure says why, as its notice on the turn does.
    if status is TurnStatus.INTERRUPTED:
        return turn.error or "The reply was interrupted."
    if turn.error:
        return f"The message could not be sent: {turn.error}"
    return "The message could not be sent."


def is_setback(turn: Turn) -> bool:
    """True when ``turn`` ended in an error or a refusal: news to give at once."""
    notice = turn_notice(turn)
    return notice is not None and notice.kind in (NoticeKind.ERROR, NoticeKind.REFUSAL)
