"""``ConversationSession``: the open conversation, its stored ids and versions, and branching.

The session owns the state of the conversation on screen; the window only
observes it. Every change to the list of turns goes through a method here and is
announced by an :class:`~desktop_app.core.observable.Event` before and after, so
a Qt list model can wrap it (``begin*``/``end*`` pairs) without the core knowing Qt.

Branching needs no special storage call: the active path is linear, so a turn is
always stored under the stored turn before it. Editing a prompt removes it and
everything after it from the screen and appends the new prompt in its place,
which stores it as a sibling (a new version); regenerating removes the reply and
asks again, which stores the new reply as the old one's sibling. The old branch
stays stored and can be shown again with :meth:`switch_version`.

A conversation may ask for some settings differently from the global ones
(:attr:`ConversationSession.overrides`: model, system prompt, max tokens,
temperature, top P). They are stored with it and come back when it is opened;
a new conversation starts with none.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from desktop_app.core.conversation.model import Conversation, Turn, TurnStatus, title_from
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.conversation.ports import Draft, HistoryPort, ReplySaver
from desktop_app.core.observable import Event
from desktop_app.core.wire.blocks import ContentBlock, Role, TextBlock
from desktop_app.core.wire.message import Message

CONTINUE_PROMPT = "Continue."


class ConversationSession:
    """The conversation being shown, and the operations that change it.

    Events (synchronous, on the event loop's thread):
        inserting(first, last): Rows ``first..last`` are about to be added.
        inserted(first, last): They were added.
        removing(first, last): Rows ``first..last`` are about to go.
        removed(first, last): They went.
        resetting(): The whole conversation is about to be replaced.
        reset(): It was replaced (another conversation opened, or a new one).
        changed(turn): A turn changed: text streamed in, status, error, usage.
        versions_changed(turn): The turn's version figures changed.
        stored(conversation_id): The conversation got its stored id (first message saved).
        overrides_changed(): :attr:`overrides` changed (set, or another conversation shown).
    """

    def __init__(self, history: HistoryPort) -> None:
        """Start with a new, empty conversation stored through ``history``."""
        self.inserting: Event[[int, int]] = Event()
        self.inserted: Event[[int, int]] = Event()
        self.removing: Event[[int, int]] = Event()
        self.removed: Event[[int, int]] = Event()
        self.resetting: Event[[]] = Event()
        self.reset: Event[[]] = Event()
        self.changed: Event[[Turn]] = Event()
        self.versions_changed: Event[[Turn]] = Event()
        self.stored: Event[[int]] = Event()
        self.overrides_changed: Event[[]] = Event()
        self.history = history
        self.conversation = Conversation()
        self.conversation_id: int | None = None
        self.model = ""
        self.system = ""
        self.overrides = ConversationOverrides()
        self._message_ids: dict[int, int] = {}  # Turn.id -> stored message id
        self._versions: dict[int, tuple[int, int]] = {}  # Turn.id -> (version, versions)

    # -- reading -------------------------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        """The turns on screen, oldest first."""
        return self.conversation.turns

    def row_of(self, turn: Turn) -> int:
        """The row of ``turn``, or -1."""
        for row, candidate in enumerate(self.conversation.turns):
            if candidate is turn:
                return row
        return -1

    def message_id(self, turn: Turn) -> int | None:
        """The stored id of ``turn``, or None while it is not stored."""
        return self._message_ids.get(turn.id)

    def versions(self, turn: Turn) -> tuple[int, int] | None:
        """``(version, versions)`` of ``turn``, or None when it is not stored."""
        return self._versions.get(turn.id)

    def prompt_before(self, turn: Turn) -> Turn | None:
        """The prompt a person typed that ``turn`` answers (tool results are skipped)."""
        row = self.row_of(turn)
        for earlier in reversed(self.turns[: max(row, 0)]):
            if earlier.role is Role.USER:
                return earlier
        return None

    # -- changing the list ---------------------------------------------------------------

    def append(self, turn: Turn) -> Turn:
        """Add ``turn`` at the end."""
        row = len(self.turns)
        self.inserting.emit(row, row)
        self.turns.append(turn)
        if turn.role is Role.USER and not self.conversation.title and turn.text.strip():
            self.conversation.title = title_from(turn.text)
        self.inserted.emit(row, row)
        return turn

    def add_prompt(self, prompt: Turn, *, editing: Turn | None = None) -> Turn:
        """Add ``prompt`` (see :func:`user_turn`); with ``editing``, as its new version."""
        if editing is not None:
            row = self.row_of(editing)
            if row >= 0:
                # Later turns stay stored on the old branch; the new branch starts here.
                self.truncate(row)
        return self.append(prompt)

    def add_continue_prompt(self) -> Turn:
        """Add the short prompt that asks the model to go on."""
        return self.append(
            Turn(Role.USER, [TextBlock(CONTINUE_PROMPT)], status=TurnStatus.PENDING)
        )

    def start_reply(self, model: str) -> Turn:
        """Add an empty reply that is about to stream."""
        return self.append(
            Turn(
                Role.ASSISTANT,
                message=Message(model=model),
                status=TurnStatus.STREAMING,
                model=model,
            )
        )

    def remove(self, turn: Turn) -> None:
        """Take ``turn`` off the screen (the stored copy stays; see :meth:`forget`)."""
        row = self.row_of(turn)
        if row < 0:
            return
        self.removing.emit(row, row)
        del self.turns[row]
        self.removed.emit(row, row)

    def truncate(self, row: int) -> None:
        """Take every turn from ``row`` on off the screen."""
        last = len(self.turns) - 1
        if row < 0 or row > last:
            return
        self.removing.emit(row, last)
        del self.turns[row:]
        self.removed.emit(row, last)

    def set_status(self, turn: Turn, status: TurnStatus, error: str | None = None) -> None:
        """Change a turn's status (and error text)."""
        turn.status = status
        turn.error = error
        self.changed.emit(turn)

    def touch(self, turn: Turn) -> None:
        """Announce that ``turn`` changed (new streamed text, usage)."""
        self.changed.emit(turn)

    def _replace(
        self,
        conversation: Conversation,
        conversation_id: int | None,
        message_ids: dict[int, int],
        versions: dict[int, tuple[int, int]],
        overrides: ConversationOverrides,
    ) -> None:
        self.resetting.emit()
        self.conversation = conversation
        self.conversation_id = conversation_id
        self._message_ids = message_ids
        self._versions = versions
        changed, self.overrides = overrides != self.overrides, overrides
        self.reset.emit()
        if changed:
            self.overrides_changed.emit()

    # -- storing -------------------------------------------------------------------------

    async def store(self, turn: Turn, settings: Mapping[str, Any] | None = None) -> int:
        """Store ``turn`` under the stored turn before it; return its stored id.

        The first stored turn creates the conversation in the history. A reply
        keeps the ``settings`` it was asked for with.

        Raises:
            StoreError: The history could not be written.
        """
        known = self._message_ids.get(turn.id)
        if known is not None:
            return known
        if self.conversation_id is None:
            title = self.conversation.title or title_from(turn.text)
            # What it starts with is recorded with the overrides applied.
            overrides = self.overrides
            self.conversation_id = await self.history.create_conversation(
                title=title,
                model=overrides.model or self.model,
                system=self.system if overrides.system is None else overrides.system,
                overrides=overrides,
            )
            self.stored.emit(self.conversation_id)
        parent_id = None
        for earlier in reversed(self.turns[: max(self.row_of(turn), 0)]):
            parent_id = self._message_ids.get(earlier.id)
            if parent_id is not None:
                break
        stored = await self.history.add_turn(self.conversation_id, turn, parent_id, settings)
        self._message_ids[turn.id] = stored.message_id
        self._versions[turn.id] = (stored.version, stored.versions)
        self.versions_changed.emit(turn)
        return stored.message_id

    async def save(self, turn: Turn) -> None:
        """Save the current state of a stored turn (status, error, reply)."""
        message_id = self._message_ids.get(turn.id)
        if message_id is not None:
            await self.history.update_turn(message_id, turn)

    async def forget(self, turn: Turn) -> None:
        """Delete the stored copy of ``turn`` and everything after it."""
        message_id = self._message_ids.pop(turn.id, None)
        self._versions.pop(turn.id, None)
        if message_id is not None:
            await self.history.remove_turn(message_id)

    async def reply_saver(
        self, reply: Turn, settings: Mapping[str, Any] | None = None
    ) -> ReplySaver:
        """Store ``reply`` (asked for with ``settings``) and return a saver for it.

        Raises:
            StoreError: The history could not be written.
        """
        return await self.history.reply_saver(await self.store(reply, settings))

    # -- the conversation's own settings -------------------------------------------------

    def set_overrides(self, overrides: ConversationOverrides) -> Coroutine[Any, Any, None]:
        """Use ``overrides`` for this conversation from now on, and store them.

        The change takes effect at once, for the next request; the returned
        coroutine stores it (await it). A conversation not stored yet keeps them
        until its first message creates it. Storing goes to the conversation
        shown now, even if another one is opened before the coroutine runs.

        The coroutine raises:
            StoreError: The history could not be written; the change still applies
                for as long as the conversation stays open.
        """
        changed = overrides != self.overrides
        self.overrides = overrides
        if changed:
            self.overrides_changed.emit()
        return self._store_overrides(self.conversation_id, overrides)

    async def _store_overrides(
        self, conversation_id: int | None, overrides: ConversationOverrides
    ) -> None:
        if conversation_id is not None:
            await self.history.set_overrides(conversation_id, overrides)

    # -- conversations -------------------------------------------------------------------

    def new(
        self, conversation: Conversation | None = None, *, model: str = "", system: str = ""
    ) -> None:
        """Show a new conversation, empty or with unsaved ``conversation``'s turns.

        It uses the global settings (no overrides). Nothing is stored until the
        first turn is.
        """
        self.model, self.system = model, system
        self._replace(conversation or Conversation(), None, {}, {}, ConversationOverrides())

    async def open(self, conversation_id: int) -> bool:
        """Show a stored conversation; False when it no longer exists.

        Raises:
            StoreError: The history could not be read.
        """
        loaded = await self.history.load_conversation(conversation_id)
        if loaded is None:
            return False
        turns = [item.turn for item in loaded.path]
        self._replace(
            Conversation(turns, title=loaded.title),
            conversation_id,
            {item.turn.id: item.message_id for item in loaded.path},
            {item.turn.id: (item.version, item.versions) for item in loaded.path},
            loaded.overrides,
        )
        return True

    async def switch_version(self, turn: Turn, step: int) -> bool:
        """Show the version of ``turn`` ``step`` away (-1 older, +1 newer); False if none.

        Raises:
            StoreError: The history could not be read or written.
        """
        message_id = self._message_ids.get(turn.id)
        conversation_id = self.conversation_id
        if message_id is None or conversation_id is None:
            return False
        if not await self.history.switch_version(message_id, step):
            return False
        return await self.open(conversation_id)

    # -- drafts --------------------------------------------------------------------------

    async def save_draft(self, text: str, attachments: Sequence[ContentBlock]) -> None:
        """Keep the composer's unsent text and attachments for this conversation."""
        await self.history.save_draft(self.conversation_id, text, attachments)

    async def load_draft(self) -> Draft:
        """The unsent text and attachments of this conversation."""
        return await self.history.load_draft(self.conversation_id)
