"""What the conversation engine needs from the outside: the history and the tools.

The engine depends on these protocols, not on SQLite or on any tool runtime, so
a run can be tested with an in-memory history and scripted tools. The history
service (:mod:`desktop_app.core.history.service`) implements :class:`HistoryPort`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.wire.blocks import ContentBlock, ToolResultBlock, ToolUseBlock
from desktop_app.core.wire.message import Message


class StoredVersion(NamedTuple):
    """Where a stored turn sits: its id, and its place among its versions (1-based)."""

    message_id: int
    version: int
    versions: int


class LoadedTurn(NamedTuple):
    """A turn as loaded, with its id and its place among its versions."""

    turn: Turn
    message_id: int
    version: int
    versions: int


class LoadedConversation(NamedTuple):
    """A stored conversation's title, active path (oldest first) and own settings."""

    conversation_id: int
    title: str
    path: list[LoadedTurn]
    overrides: ConversationOverrides = ConversationOverrides()


class Draft(NamedTuple):
    """Unsent text and attachments of one conversation."""

    text: str
    attachments: list[ContentBlock]


class ReplySaver(Protocol):
    """Saves one streaming reply as it arrives; cheap to call on every event."""

    def update(self, message: Message) -> None:
        """Note the latest state; written at most about once a second."""

    def block_stopped(self, message: Message) -> None:
        """A content block ended: write now."""

    def flush(self) -> None:
        """Write the latest state if it changed since the last write."""

    async def finish(self, status: TurnStatus, message: Message | None, error: str | None) -> None:
        """Write the final state and stop.

        Raises:
            StoreError: The reply could not be saved.
        """


class HistoryPort(Protocol):
    """The durable history, as the conversation engine uses it.

    Every method may raise :class:`~desktop_app.core.errors.StoreError`.
    """

    async def create_conversation(
        self,
        *,
        title: str,
        model: str,
        system: str,
        overrides: ConversationOverrides | None = None,
    ) -> int:
        """Start a stored conversation; it takes over the unsent new-conversation draft.

        ``model`` and ``system`` record what it started with; ``overrides`` are
        the settings it asks for differently from the global ones.
        """

    async def set_overrides(self, conversation_id: int, overrides: ConversationOverrides) -> None:
        """Keep the settings a stored conversation asks for differently from the global ones."""

    async def add_turn(
        self,
        conversation_id: int,
        turn: Turn,
        parent_id: int | None,
        settings: Mapping[str, Any] | None = None,
    ) -> StoredVersion:
        """Store ``turn`` after ``parent_id`` (a new version when that already has children).

        A reply keeps the ``settings`` it was asked for with (see ``RequestOptions.record``).
        """

    async def update_turn(self, message_id: int, turn: Turn) -> None:
        """Save a stored turn's current state."""

    async def remove_turn(self, message_id: int) -> None:
        """Delete a stored turn and everything after it."""

    async def reply_saver(self, message_id: int) -> ReplySaver:
        """A saver for the stored reply ``message_id``."""

    async def load_conversation(self, conversation_id: int) -> LoadedConversation | None:
        """The conversation's active path; None when it does not exist or was deleted."""

    async def switch_version(self, message_id: int, step: int) -> bool:
        """Make the version ``step`` away from ``message_id`` active; False at either end."""

    async def save_draft(
        self, conversation_id: int | None, text: str, attachments: Sequence[ContentBlock]
    ) -> None:
        """Keep the unsent text and attachments (None: of a conversation not started)."""

    async def load_draft(self, conversation_id: int | None) -> Draft:
        """The unsent text and attachments of a conversation."""

    async def remember_conversation(self, conversation_id: int | None) -> None:
        """Note the open conversation, to reopen it next time."""


class ToolExecutor(Protocol):
    """Offers tools to the model and runs the calls a reply asks for.

    The runner guarantees the conversation stays sendable: every call gets a
    result, and a call that was stopped gets an error result.
    """

    def definitions(self) -> Sequence[Mapping[str, Any]]:
        """The tools offered with each request, in the Messages API ``tools`` shape."""

    async def run(self, calls: Sequence[ToolUseBlock]) -> list[ToolResultBlock]:
        """Run ``calls`` and return one result per call, in any order.

        Cancelling the task (the person pressed Stop) cancels the running calls.
        """
