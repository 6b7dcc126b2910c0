"""``MemoryHistory``: the history port kept in memory, for ``iris ask`` and for tests.

It follows the same rules as the SQLite store (a message tree with versions, an
active path per conversation, drafts), so a run behaves the same on both.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.conversation.ports import (
    Draft,
    LoadedConversation,
    LoadedTurn,
    ReplySaver,
    StoredVersion,
)
from desktop_app.core.wire.blocks import ContentBlock
from desktop_app.core.wire.message import Message


@dataclasses.dataclass
class _Node:
    turn: Turn
    parent: int | None
    children: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Conversation:
    title: str
    model: str
    system: str
    leaf: int | None = None
    roots: list[int] = dataclasses.field(default_factory=list)
    draft: Draft = dataclasses.field(default_factory=lambda: Draft("", []))
    overrides: ConversationOverrides = dataclasses.field(default_factory=ConversationOverrides)


class MemorySaver:
    """Keeps the latest state of a streaming reply; counts its writes."""

    def __init__(self, history: MemoryHistory, message_id: int) -> None:
        """Save into ``history``'s message ``message_id``."""
        self._history = history
        self._message_id = message_id
        self.writes = 0
        self.finished = False

    def update(self, message: Message) -> None:
        """Note the latest state (kept at once: memory is cheap)."""
        self._history.nodes[self._message_id].turn.message = message

    def block_stopped(self, message: Message) -> None:
        """A block ended: count a write."""
        self.update(message)
        self.writes += 1

    def flush(self) -> None:
        """Count a write."""
        self.writes += 1

    async def finish(self, status: TurnStatus, message: Message | None, error: str | None) -> None:
        """Keep the final state."""
        turn = self._history.nodes[self._message_id].turn
        turn.status, turn.error = status, error
        if message is not None:
            turn.message = message
        self.finished = True


class MemoryHistory:
    """A :class:`~desktop_app.core.conversation.ports.HistoryPort` in memory."""

    def __init__(self) -> None:
        """Start empty."""
        self.nodes: dict[int, _Node] = {}
        self.conversations: dict[int, _Conversation] = {}
        self.savers: list[MemorySaver] = []
        self.settings: dict[int, dict[str, Any]] = {}
        self.new_draft = Draft("", [])
        self.last_conversation: int | None = None
        self._next_id = 1

    def _id(self) -> int:
        value, self._next_id = self._next_id, self._next_id + 1
        return value

    def _conversation_of(self, message_id: int) -> _Conversation:
        for conversation in self.conversations.values():
            if message_id in self._subtree_ids(conversation):
                return conversation
        raise KeyError(message_id)

    def _subtree_ids(self, conversation: _Conversation) -> set[int]:
        seen: set[int] = set()
        stack = list(conversation.roots)
        while stack:
            node_id = stack.pop()
            seen.add(node_id)
            stack.extend(self.nodes[node_id].children)
        return seen

    def _siblings(self, conversation: _Conversation, message_id: int) -> list[int]:
        parent = self.nodes[message_id].parent
        return conversation.roots if parent is None else self.nodes[parent].children

    def _newest_leaf(self, message_id: int) -> int:
        # Ids grow, so the largest id below a message is the newest end of that branch.
        best, stack = message_id, [message_id]
        while stack:
            node_id = stack.pop()
            best = max(best, node_id)
            stack.extend(self.nodes[node_id].children)
        return best

    async def create_conversation(
        self,
        *,
        title: str,
        model: str,
        system: str,
        overrides: ConversationOverrides | None = None,
    ) -> int:
        """Start a conversation; it takes over the new-conversation draft."""
        conversation_id = self._id()
        self.conversations[conversation_id] = _Conversation(
            title, model, system, overrides=overrides or ConversationOverrides()
        )
        self.new_draft = Draft("", [])
        self.last_conversation = conversation_id
        return conversation_id

    async def add_turn(
        self,
        conversation_id: int,
        turn: Turn,
        parent_id: int | None,
        settings: Mapping[str, Any] | None = None,
    ) -> StoredVersion:
        """Store a copy of ``turn`` after ``parent_id``, with its ``settings``."""
        conversation = self.conversations[conversation_id]
        message_id = self._id()
        self.settings[message_id] = dict(settings or {})
        self.nodes[message_id] = _Node(copy.copy(turn), parent_id)
        siblings = conversation.roots if parent_id is None else self.nodes[parent_id].children
        siblings.append(message_id)
        conversation.leaf = message_id
        return StoredVersion(message_id, len(siblings), len(siblings))

    async def set_overrides(self, conversation_id: int, overrides: ConversationOverrides) -> None:
        """Keep a conversation's own settings (nothing happens for one that is gone)."""
        conversation = self.conversations.get(conversation_id)
        if conversation is not None:
            conversation.overrides = overrides

    async def update_turn(self, message_id: int, turn: Turn) -> None:
        """Keep a copy of the turn's current state."""
        self.nodes[message_id].turn = copy.copy(turn)

    async def remove_turn(self, message_id: int) -> None:
        """Delete a message and everything after it."""
        conversation = self._conversation_of(message_id)
        node = self.nodes[message_id]
        self._siblings(conversation, message_id).remove(message_id)
        stack = [message_id]
        while stack:
            node_id = stack.pop()
            stack.extend(self.nodes.pop(node_id).children)
        if node.parent is not None:
            conversation.leaf = self._newest_leaf(node.parent)
        else:
            conversation.leaf = max(conversation.roots, default=None)
            if conversation.leaf is not None:
                conversation.leaf = self._newest_leaf(conversation.leaf)

    async def reply_saver(self, message_id: int) -> ReplySaver:
        """A saver for the reply ``message_id``."""
        saver = MemorySaver(self, message_id)
        self.savers.append(saver)
        return saver

    async def load_conversation(self, conversation_id: int) -> LoadedConversation | None:
        """The active path of a conversation."""
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return None
        path: list[LoadedTurn] = []
        node_id = conversation.leaf
        while node_id is not None:
            node = self.nodes[node_id]
            siblings = self._siblings(conversation, node_id)
            stored = copy.copy(node.turn)
            stored.id = Turn(stored.role).id  # a fresh on-screen identity, as a reload gives
            path.append(LoadedTurn(stored, node_id, siblings.index(node_id) + 1, len(siblings)))
            node_id = node.parent
        path.reverse()
        return LoadedConversation(
            conversation_id, conversation.title, path, conversation.overrides
        )

    async def switch_version(self, message_id: int, step: int) -> bool:
        """Make a sibling of ``message_id`` active."""
        conversation = self._conversation_of(message_id)
        siblings = self._siblings(conversation, message_id)
        target = siblings.index(message_id) + step
        if not 0 <= target < len(siblings):
            return False
        conversation.leaf = self._newest_leaf(siblings[target])
        return True

    async def save_draft(
        self, conversation_id: int | None, text: str, attachments: Sequence[ContentBlock]
    ) -> None:
        """Keep a draft."""
        draft = Draft(text, list(attachments))
        if conversation_id is None:
            self.new_draft = draft
        else:
            self.conversations[conversation_id].draft = draft

    async def load_draft(self, conversation_id: int | None) -> Draft:
        """A kept draft."""
        if conversation_id is None:
            return self.new_draft
        conversation = self.conversations.get(conversation_id)
        return conversation.draft if conversation is not None else Draft("", [])

    async def remember_conversation(self, conversation_id: int | None) -> None:
        """Note the open conversation."""
        self.last_conversation = conversation_id

    def stored_path(self, conversation_id: int) -> list[Turn]:
        """The stored turns of the active path, oldest first (for checks)."""
        conversation = self.conversations[conversation_id]
        turns: list[Turn] = []
        node_id = conversation.leaf
        while node_id is not None:
            turns.append(self.nodes[node_id].turn)
            node_id = self.nodes[node_id].parent
        return turns[::-1]
