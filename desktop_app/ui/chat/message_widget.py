"""``MessageWidget``: one turn of the transcript, with its notices and actions."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import ClassVar

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.conversation.notices import turn_notice
from desktop_app.core.conversation.usage import format_usage, reply_usage
from desktop_app.core.render.markdown import escape_plain
from desktop_app.core.render.turn_html import LARGE_MESSAGE, RenderedTurn, build_html
from desktop_app.core.wire.blocks import Role
from desktop_app.ui.chat.conversation_model import speaker as speaker_of
from desktop_app.ui.chat.message_body import AutoHeightBrowser, MessageBody

THUMBNAIL_SIZE = 96


def is_dark(widget: QWidget) -> bool:
    """True when the widget's palette is dark (follows the system theme)."""
    return widget.palette().window().color().lightnessF() < 0.5


class MessageWidget(QFrame):
    """One user or assistant turn.

    Signals:
        retry_requested: The user asked to send a failed or interrupted turn again.
        continue_requested: The user asked to continue a reply cut at max_tokens.
        regenerate_requested: The user asked for another version of a reply.
        edit_requested: The user wants to edit this prompt and branch from it.
        version_requested: Show another version of this turn (turn, -1 or +1).
        remove_requested: The user wants a failed turn gone.
        rendered: The finished turn's text is on screen, fully rendered.
    """

    retry_requested = Signal(object)
    continue_requested = Signal(object)
    regenerate_requested = Signal(object)
    edit_requested = Signal(object)
    remove_requested = Signal(object)
    version_requested = Signal(object, int)
    rendered = Signal()

    def __init__(
        self,
        turn: Turn,
        thumbnails: list[QImage] | None = None,
        parent: QWidget | None = None,
        *,
        prerendered: RenderedTurn | None = None,
    ) -> None:
        """Build the widget for ``turn``; ``prerendered`` skips rendering it here."""
        super().__init__(parent)
        self.turn = turn
        self.setObjectName("userMessage" if turn.role is Role.USER else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._streamed = ""
        self._rendered_final = False
        self._render_task: asyncio.Future[None] | None = None
        self._awaiting_render = False
        self._prerendered = prerendered

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)

        header = QHBoxLayout()
        speaker = speaker_of(turn)
        self._who = QLabel(f"<b>{speaker}</b>")
        self._who.setTextFormat(Qt.TextFormat.RichText)
        header.addWidget(self._who)
        header.addStretch(1)
        # Every label that shows text from outside (the service, an imported file)
        # is plain text: Qt would otherwise read markup in it, and load <img> sources.
        self._usage = QLabel()
        self._usage.setTextFormat(Qt.TextFormat.PlainText)
        self._usage.setObjectName("usageLabel")
        self._usage.setAccessibleName("Token usage")
        self._usage.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self._usage)
        # Built on first use: most messages never need them, and a long
        # conversation has a thousand messages.
        self._header = header
        self._navigator: tuple[QToolButton, QLabel, QToolButton] | None = None
        self._action = QToolButton()
        if turn.role is Role.USER:
            self._action.setText("Edit")
            self._action.setObjectName("editMessageButton")
            self._action.setAccessibleName("Edit this message and branch")
            self._action.setToolTip("Edit and send again: a new branch, the old one is kept")
            self._action.clicked.connect(lambda: self.edit_requested.emit(self.turn))
        else:
            self._action.setText("Regenerate")
            self._action.setObjectName("regenerateButton")
            self._action.setAccessibleName("Regenerate this reply")
            self._action.setToolTip("Ask again: a new version, the old one is kept")
            self._action.clicked.connect(lambda: self.regenerate_requested.emit(self.turn))
        header.addWidget(self._action)
        self._copy = QToolButton()
        self._copy.setText("Copy")
        self._copy.setObjectName("copyMessageButton")
        self._copy.setAccessibleName(f"Copy message from {speaker}")
        self._copy.setToolTip("Copy the whole message")
        self._copy.clicked.connect(self._on_copy_clicked)
        header.addWidget(self._copy)
        layout.addLayout(header)

        self.thumbnails = list(thumbnails or [])
        if thumbnails:
            row = QHBoxLayout()
            for image in thumbnails:
                label = QLabel()
                label.setAccessibleName("Attached image")
                label.setPixmap(
                    QPixmap.fromImage(image).scaled(
                        THUMBNAIL_SIZE,
                        THUMBNAIL_SIZE,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
                row.addWidget(label)
            row.addStretch(1)
            layout.addLayout(row)

        self._thinking_button = QToolButton()
        self._thinking_button.setObjectName("thinkingToggle")
        self._thinking_button.setAccessibleName("Show thinking")
        self._thinking_button.setCheckable(True)
        self._thinking_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._thinking_button.setArrowType(Qt.ArrowType.RightArrow)
        self._thinking_button.setText("Thinking")
        self._thinking_button.toggled.connect(self._on_thinking_toggled)
        self._thinking_button.hide()
        layout.addWidget(self._thinking_button)
        # Built only for replies that have thinking: a text browser is not cheap,
        # and a long conversation has many messages.
        self._thinking: AutoHeightBrowser | None = None
        # Filled when first shown: thinking is often long, and mostly never opened.
        self._thinking_html = ""

        self.body = MessageBody(speaker)
        self.body.filled.connect(self._on_body_filled)
        layout.addWidget(self.body)

        self._notes = QLabel()
        self._notes.setTextFormat(Qt.TextFormat.PlainText)
        self._notes.setObjectName("imageNotes")
        self._notes.setWordWrap(True)
        self._notes.hide()
        layout.addWidget(self._notes)

        notice_row = QHBoxLayout()
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)  # the service's error text
        self.notice.setObjectName("turnNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        notice_row.addWidget(self.notice, 1)
        self._notice_row = notice_row
        self._buttons: dict[str, QPushButton] = {}
        layout.addLayout(notice_row)

        self.refresh()

    # -- rendering ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the widget up to date with its turn."""
        turn = self.turn
        if turn.status is TurnStatus.STREAMING:
            self._show_streaming()
        else:
            self._show_final()
        self._usage.setText(format_usage(reply_usage(turn)))
        # No new version while a reply is being written.
        self._action.setEnabled(turn.status is not TurnStatus.STREAMING)
        self._show_notice()

    @property
    def rendering(self) -> bool:
        """True while the final text is still being rendered or filled in."""
        return self._awaiting_render or self.body.filling

    def set_versions(self, version: int, versions: int) -> None:
        """Show ``‹ version/versions ›`` when the turn has more than one version."""
        shown = versions > 1
        if self._navigator is None:
            if not shown:
                return
            self._navigator = self._make_navigator()
        older, label, newer = self._navigator
        label.setText(f"{version}/{versions}")
        label.setAccessibleName(f"Version {version} of {versions}")
        for widget in (older, label, newer):
            widget.setVisible(shown)
        older.setEnabled(version > 1)
        newer.setEnabled(version < versions)

    def _make_navigator(self) -> tuple[QToolButton, QLabel, QToolButton]:
        older = QToolButton()
        older.setObjectName("olderVersionButton")
        older.setText("‹")
        older.setAccessibleName("Previous version")
        older.clicked.connect(lambda: self.version_requested.emit(self.turn, -1))
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setObjectName("versionLabel")
        newer = QToolButton()
        newer.setObjectName("newerVersionButton")
        newer.setText("›")
        newer.setAccessibleName("Next version")
        newer.clicked.connect(lambda: self.version_requested.emit(self.turn, 1))
        # Before the usage label, the Edit/Regenerate and Copy buttons.
        position = self._header.indexOf(self._usage)
        for offset, widget in enumerate((older, label, newer)):
            self._header.insertWidget(position + offset, widget)
        return older, label, newer

    @property
    def version_text(self) -> str:
        """``2/3`` when the turn has versions, else ``""``."""
        return self._navigator[1].text() if self._navigator is not None else ""

    def show_version(self, step: int) -> None:
        """Press ‹ (-1) or › (+1)."""
        if self._navigator is not None:
            (self._navigator[0] if step < 0 else self._navigator[2]).click()

    def set_countdown(self, seconds: float | None, reason: str = "") -> None:
        """Show (or clear, with None) a visible retry countdown on this turn."""
        if seconds is None:
            self._show_notice()
            return
        self.notice.setText(f"{reason} Retrying in {math.ceil(seconds)} s…".strip())
        self.notice.show()

    def _show_streaming(self) -> None:
        text = self.turn.text
        if not self._streamed and not text:
            self.body.set_plain_text("…")
            return
        if text.startswith(self._streamed) and self._streamed:
            # Append only what is new: a long reply stays cheap to stream.
            self.body.append_plain_text(text[len(self._streamed) :])
        else:
            self.body.set_plain_text(text)
        self._streamed = text

    def restyle(self) -> None:
        """Render a finished message again, for a palette that turned light or dark."""
        if not self._rendered_final or self.turn.status is TurnStatus.STREAMING:
            return  # rendered with the current palette once it finishes
        self._prerendered = None
        self._rendered_final = False
        self._show_final()

    def _show_final(self) -> None:
        if self._rendered_final:
            return
        self._rendered_final = True
        turn = self.turn
        dark = is_dark(self)
        if self._prerendered is not None:
            self._apply(self._prerendered)
            self._prerendered = None
            return
        if len(turn.text) < LARGE_MESSAGE:
            self._apply(build_html(turn, dark))
            return
        # A long reply is rendered in a worker thread, so finishing it never
        # freezes the window; the streamed plain text stays until then. Only
        # pure Python runs there: PySide keeps the GIL while a QTextDocument
        # parses HTML, so parsing in a worker would stall this thread as much.
        with contextlib.suppress(RuntimeError):  # no running loop: render here
            asyncio.get_running_loop()
            self._awaiting_render = True
            self._render_task = asyncio.ensure_future(self._render_off_thread(turn, dark))
            return
        self._apply(build_html(turn, dark))

    async def _render_off_thread(self, turn: Turn, dark: bool) -> None:
        try:
            rendered = await asyncio.to_thread(build_html, turn, dark)
        finally:
            if shiboken6.isValid(self):
                self._awaiting_render = False
        if shiboken6.isValid(self):
            self._apply(rendered)

    def _apply(self, rendered: RenderedTurn) -> None:
        parts = rendered.parts
        if not any(parts):
            parts = (escape_plain(self.turn.text),)
        self.body.set_html(parts, rendered.code_blocks)
        if rendered.thinking:
            if self._thinking is None:
                self._thinking = AutoHeightBrowser()
                self._thinking.setAccessibleName("Thinking")
                self._thinking.hide()
                layout = self.layout()
                assert isinstance(layout, QVBoxLayout)
                layout.insertWidget(layout.indexOf(self._thinking_button) + 1, self._thinking)
            self._thinking_html = "<br><br>".join(escape_plain(t) for t in rendered.thinking)
            self._thinking_button.show()
        if self.turn.notes:
            self._notes.setText(" · ".join(self.turn.notes))
            self._notes.show()

    def _show_notice(self) -> None:
        notice = turn_notice(self.turn)
        text = notice.text if notice is not None else ""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        for name, wanted in (
            ("retry", notice is not None and notice.can_retry),
            ("remove", notice is not None and notice.can_remove),
            ("continue", notice is not None and notice.can_continue),
        ):
            if wanted or name in self._buttons:
                self._button(name).setVisible(wanted)

    _BUTTONS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "retry": ("Retry", "retryButton", "Retry this message"),
        "remove": ("Remove", "removeTurnButton", "Remove this message"),
        "continue": ("Continue", "continueButton", "Continue the reply"),
    }

    def _button(self, name: str) -> QPushButton:
        button = self._buttons.get(name)
        if button is None:
            text, object_name, accessible = self._BUTTONS[name]
            button = QPushButton(text)
            button.setObjectName(object_name)
            button.setAccessibleName(accessible)
            signal = {
                "retry": self.retry_requested,
                "remove": self.remove_requested,
                "continue": self.continue_requested,
            }[name]
            button.clicked.connect(lambda: signal.emit(self.turn))
            button.hide()
            self._notice_row.addWidget(button)
            self._buttons[name] = button
        return button

    @property
    def retry_button(self) -> QPushButton:
        """The Retry button (made on first use)."""
        return self._button("retry")

    @property
    def remove_button(self) -> QPushButton:
        """The Remove button (made on first use)."""
        return self._button("remove")

    @property
    def continue_button(self) -> QPushButton:
        """The Continue button (made on first use)."""
        return self._button("continue")

    # -- actions -------------------------------------------------------------------------------

    def _on_body_filled(self) -> None:
        if self._rendered_final and not self.rendering:
            self.rendered.emit()

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.turn.text)

    def _on_thinking_toggled(self, shown: bool) -> None:
        if self._thinking is not None:
            if shown and self._thinking.document().isEmpty():
                self._thinking.setHtml(self._thinking_html)
            self._thinking.setVisible(shown)
        self._thinking_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self._thinking_button.setAccessibleName("Hide thinking" if shown else "Show thinking")
