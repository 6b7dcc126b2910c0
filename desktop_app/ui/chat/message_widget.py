"""``MessageWidget``: one turn of the transcript, with its notices and actions.

A prompt is a tinted bubble on the right, no wider than :data:`BUBBLE_SHARE` of the
column and no wider than its text needs; a reply is flowing text under a small
header (who, model, time). Thinking, tool calls and notices each have their own
box with an icon. The actions (copy, edit or regenerate, details) are small icon
buttons in a row of their own under the message, drawn while the pointer is over
the message or the keyboard focus is in it, and always on the Tab chain.

Nothing in a message asks for more width than a narrow column has: text and code
wrap, images wrap onto more rows, and the header and action row are short.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from typing import ClassVar

import shiboken6
from PySide6 import QtGui
from PySide6.QtCore import QDateTime, QEvent, QLocale, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QEnterEvent,
    QFont,
    QGuiApplication,
    QIcon,
    QImage,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
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
from desktop_app.core.wire.blocks import Base64Source, RedactedThinkingBlock, Role, ThinkingBlock
from desktop_app.ui import icons
from desktop_app.ui.chat.conversation_model import speaker as speaker_of
from desktop_app.ui.chat.image_viewer import ImageViewer, thumbnail
from desktop_app.ui.chat.message_body import AutoHeightBrowser, MessageBody, announce
from desktop_app.ui.chat.message_parts import (
    ICON_SIZE,
    ActionBar,
    FlowRow,
    NoticeBox,
    Tinted,
    icon_button,
    is_dark,
    retint,
)

__all__ = ["BUBBLE_SHARE", "THUMBNAIL_SIZE", "MessageWidget", "is_dark"]

THUMBNAIL_SIZE = 96
BUBBLE_SHARE = 0.8  # of the column, at most, for a prompt's bubble
COPIED_MS = 1500  # how long Copy shows its check mark


def tooltip_text(text: str) -> str:
    """``text`` as a tooltip that shows it literally, markup and all."""
    return QtGui.Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal)


def when(seconds: float) -> str:
    """A turn's time as people read it: the time today, else the date and time."""
    moment = QDateTime.fromSecsSinceEpoch(int(seconds))
    locale = QLocale()
    if moment.date() == QDateTime.currentDateTime().date():
        return locale.toString(moment.time(), QLocale.FormatType.ShortFormat)
    return locale.toString(moment, QLocale.FormatType.ShortFormat)


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
        model_name: Callable[[str], str] | None = None,
    ) -> None:
        """Build the widget for ``turn``.

        ``prerendered`` skips rendering it here; ``model_name`` turns a model id
        into the name a person knows it by.
        """
        super().__init__(parent)
        self._model_name = model_name or (lambda model_id: model_id)
        _FocusWatch.ensure()
        self.turn = turn
        self._prompt = turn.role is Role.USER and not turn.is_tool_results
        if self._prompt:
            self.setObjectName("userMessage")
        else:
            self.setObjectName(
                "assistantMessage" if turn.role is Role.ASSISTANT else "toolResultsMessage"
            )
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._streamed = ""
        self._rendered_final = False
        self._render_task: asyncio.Future[None] | None = None
        self._awaiting_render = False
        self._prerendered = prerendered
        self._hovered = False
        self._pinned = False
        self._usage_text = ""
        self._meta_text = ""
        self._meta_model = ""
        speaker = speaker_of(turn)
        self._speaker = speaker

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        self._meta: QLabel | None = None
        if not self._prompt:
            header = QHBoxLayout()
            header.setSpacing(8)
            who = QLabel(speaker)
            who.setObjectName("speakerLabel")
            who.setTextFormat(Qt.TextFormat.PlainText)
            bold = QFont(who.font())
            bold.setBold(True)
            who.setFont(bold)
            header.addWidget(who)
            # Model and time: text from outside (the service names the model).
            self._meta = QLabel()
            self._meta.setObjectName("messageMetaLabel")
            self._meta.setTextFormat(Qt.TextFormat.PlainText)
            self._meta.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            small = QFont(self._meta.font())
            small.setPointSizeF(small.pointSizeF() * 0.9)
            self._meta.setFont(small)
            header.addWidget(self._meta)
            header.addStretch(1)
            layout.addLayout(header)

        # Built on first use: most messages never think, fail or get versions, and a
        # long conversation has a thousand messages.
        self._thinking_box: Tinted | None = None
        self._thinking_toggle: QToolButton | None = None
        self._thinking: AutoHeightBrowser | None = None
        self._thinking_html = ""  # filled when first shown: mostly never opened
        self._notice_box: NoticeBox | None = None
        self._buttons: dict[str, QToolButton] = {}
        self._navigator: tuple[QToolButton, QLabel, QToolButton] | None = None
        self._details: QLabel | None = None
        if turn.status is TurnStatus.STREAMING or any(
            isinstance(b, ThinkingBlock | RedactedThinkingBlock) for b in turn.blocks
        ):
            # Made before the text, so it comes first on the Tab chain as on screen.
            self._make_thinking().hide()  # until there is thinking to show

        self.thumbnails = list(thumbnails or [])
        self._previews: dict[int, QImage] = {}  # drawn here, for images without a thumbnail
        self._preview_task: asyncio.Future[None] | None = None
        self._images = self._make_images()

        self.body = MessageBody(speaker)
        self.body.filled.connect(self._on_body_filled)
        self._notes = QLabel()
        self._notes.setTextFormat(Qt.TextFormat.PlainText)
        self._notes.setObjectName("imageNotes")
        self._notes.setWordWrap(True)
        self._notes.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._notes.hide()

        self._bubble: Tinted | None = None
        if self._prompt:
            self._bubble = Tinted("user")
            self._bubble.setObjectName("userBubble")
            inner = QVBoxLayout(self._bubble)
            inner.setContentsMargins(12, 8, 12, 8)
            inner.setSpacing(6)
            if self._images is not None:
                inner.addWidget(self._images)
            inner.addWidget(self.body)
            inner.addWidget(self._notes)
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            # The bubble takes what it needs up to its maximum width, the gap the rest.
            row.addStretch(1)
            row.addWidget(self._bubble, 100)
            layout.addLayout(row)
        else:
            if self._images is not None:
                layout.addWidget(self._images)
            layout.addWidget(self.body)
            layout.addWidget(self._notes)

        self._action_row = QWidget()
        self._action_row.setObjectName("messageActionRow")
        row_layout = QHBoxLayout(self._action_row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.setSpacing(2)
        self._actions = ActionBar()
        self.copy_button = icon_button(
            "copyMessageButton", "copy", f"Copy message from {speaker}", "Copy the whole message"
        )
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.edit_button: QToolButton | None = None
        self.regenerate_button: QToolButton | None = None
        self.info_button: QToolButton | None = None
        if self._prompt:
            self.edit_button = icon_button(
                "editMessageButton",
                "pencil",
                "Edit this message and branch",
                "Edit and send again: a new branch, the old one is kept",
            )
            self.edit_button.clicked.connect(lambda: self.edit_requested.emit(self.turn))
            self._actions.add(self.edit_button)
            self._actions.add(self.copy_button)
            row_layout.addStretch(1)
            row_layout.addWidget(self._actions)
        else:
            self._actions.add(self.copy_button)
            if turn.role is Role.ASSISTANT:
                self.regenerate_button = icon_button(
                    "regenerateButton",
                    "refresh-cw",
                    "Regenerate this reply",
                    "Ask again: a new version, the old one is kept",
                )
                self.regenerate_button.clicked.connect(
                    lambda: self.regenerate_requested.emit(self.turn)
                )
                self._actions.add(self.regenerate_button)
                self.info_button = icon_button(
                    "messageInfoButton", "info", "Details", "Model, time and token figures"
                )
                self.info_button.setCheckable(True)
                self.info_button.toggled.connect(self._on_info_toggled)
                self.info_button.hide()  # until there are figures to show
                self._actions.add(self.info_button)
            row_layout.addWidget(self._actions)
            row_layout.addStretch(1)
        layout.addWidget(self._action_row)
        self.setAccessibleName(f"Message from {speaker}")

        self.refresh()

    # -- parts, for the view and for tests -------------------------------------------------

    @property
    def notice(self) -> QLabel:
        """The text of the turn's notice (the box is made on first use)."""
        return self._notice().text

    @property
    def notice_box(self) -> NoticeBox | None:
        """The notice box, if one was ever needed."""
        return self._notice_box

    @property
    def thinking_toggle(self) -> QToolButton | None:
        """The button that shows or hides the thinking, for replies that have some."""
        return self._thinking_toggle

    @property
    def thinking_view(self) -> AutoHeightBrowser | None:
        """The thinking text, for replies that have some."""
        return self._thinking

    @property
    def details_label(self) -> QLabel | None:
        """The details line (token figures), once there are figures."""
        return self._details

    @property
    def image_buttons(self) -> list[QToolButton]:
        """The buttons that open the turn's images, in order."""
        if self._images is None:
            return []
        return [w for w in self._images.items if isinstance(w, QToolButton)]

    @property
    def actions_revealed(self) -> bool:
        """True while the action buttons are drawn."""
        return self._actions.revealed

    def action_buttons(self) -> list[QToolButton]:
        """Every action button made so far: the row under the message and the notice's."""
        found = [b for b in self._action_row.findChildren(QToolButton)]
        found += [b for b in self._buttons.values()]
        if self._thinking_toggle is not None:
            found.append(self._thinking_toggle)
        return found

    def tab_widgets(self) -> list[QWidget]:
        """The controls that take Tab focus, in the order they show on screen."""
        found: list[QWidget] = []
        if self._thinking_toggle is not None:
            found.append(self._thinking_toggle)
            if self._thinking is not None:
                found.append(self._thinking)
        found += self.image_buttons
        found += self.body.parts
        found += self._buttons.values()
        if self._navigator is not None:
            found += [self._navigator[0], self._navigator[2]]
        found += self._actions.findChildren(QToolButton)
        return found

    def tab_stops(self) -> list[QWidget]:
        """The controls Tab stops at now (shown and enabled), in screen order."""
        return [w for w in self.tab_widgets() if w.isVisibleTo(self) and w.isEnabled()]

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab go through the controls in the order they show on screen.

        A message's controls are not stops on the window's Tab chain: Qt puts a
        widget made later at the chain's end, and keeping a thousand messages in
        order there costs more than a key press. The message steps through its own
        controls, and the view (the conversation's one stop on the chain) from one
        message to the next.
        """
        focus = QApplication.focusWidget()
        controls = self.tab_stops()
        if focus in controls:
            step = controls.index(focus) + (1 if next else -1)
            if 0 <= step < len(controls):
                target = controls[step]
                target.setFocus(
                    Qt.FocusReason.TabFocusReason if next else Qt.FocusReason.BacktabFocusReason
                )
                area = self.parentWidget()
                while area is not None and not isinstance(area, QScrollArea):
                    area = area.parentWidget()
                if isinstance(area, QScrollArea):
                    area.ensureWidgetVisible(target)
                return True
        return super().focusNextPrevChild(next)

    # -- rendering ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the widget up to date with its turn."""
        turn = self.turn
        if turn.status is TurnStatus.STREAMING:
            self._show_streaming()
        else:
            self._show_final()
        self._show_meta()
        self._show_usage()
        # No new version while a reply is being written.
        if self.regenerate_button is not None:
            self.regenerate_button.setEnabled(turn.status is not TurnStatus.STREAMING)
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
        older = icon_button("olderVersionButton", "chevron-left", "Previous version", "Previous")
        older.clicked.connect(lambda: self.version_requested.emit(self.turn, -1))
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setObjectName("versionLabel")
        newer = icon_button("newerVersionButton", "chevron-right", "Next version", "Next")
        newer.clicked.connect(lambda: self.version_requested.emit(self.turn, 1))
        # Always drawn, unlike the other actions: it says there are other versions.
        row = self._action_row.layout()
        assert isinstance(row, QHBoxLayout)
        position = row.indexOf(self._actions)
        for offset, widget in enumerate((older, label, newer)):
            row.insertWidget(position + offset, widget)
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
        box = self._notice()
        box.show_notice("retrying", f"{reason} Retrying in {math.ceil(seconds)} s…".strip())
        box.show()

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
        # Nothing to read (a refusal, an image alone): no empty line for it.
        self.body.setVisible(any(parts))
        if rendered.thinking:
            self._make_thinking()
            self._thinking_html = "<br><br>".join(escape_plain(t) for t in rendered.thinking)
        if self.turn.notes:
            self._notes.setText(" · ".join(self.turn.notes))
            self._notes.show()
        self._fit_bubble()

    def _make_thinking(self) -> Tinted:
        if self._thinking_box is not None:
            self._thinking_box.show()
            return self._thinking_box
        box = Tinted("thinking", radius=6)
        box.setObjectName("thinkingBox")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(6, 2, 6, 2)
        inner.setSpacing(0)
        toggle = icon_button(
            "thinkingToggle",
            "brain",
            "Show thinking",
            "Show how Claude thought about the answer",
            text="Thinking",
        )
        toggle.setCheckable(True)
        toggle.toggled.connect(self._on_thinking_toggled)
        inner.addWidget(toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, box)  # under the header
        self._thinking_box, self._thinking_toggle = box, toggle
        return box

    def _show_meta(self) -> None:
        if self._meta is None or (self._meta_text and self._meta_model == self.turn.model):
            return  # refreshed on every streamed piece: only the model can change
        self._meta_model = self.turn.model
        model = self._model_name(self.turn.model) if self.turn.model else ""
        text = " · ".join(part for part in (model, when(self.turn.created)) if part)
        if text != self._meta_text:
            self._meta_text = text
            self._meta.setText(text)
            self._meta.setAccessibleName(text)
            # The exact id, for whoever needs it in a bug report or a request.
            self._meta.setToolTip(self.turn.model if model != self.turn.model else "")

    def _show_usage(self) -> None:
        if self.info_button is None:
            return
        figures = format_usage(reply_usage(self.turn))
        if figures == self._usage_text:
            return
        self._usage_text = figures
        self.info_button.setVisible(bool(figures))
        if not figures:
            return
        details = f"Tokens: {figures}"
        if self._details is None:
            # A details line under the actions, shown with the Details button; made
            # when there are figures, and kept as plain text (they come from outside).
            self._details = QLabel()
            self._details.setObjectName("usageLabel")
            self._details.setTextFormat(Qt.TextFormat.PlainText)
            self._details.setWordWrap(True)
            self._details.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._details.setVisible(self.info_button.isChecked())
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.addWidget(self._details)
        self._details.setText(details)
        self._details.setAccessibleName(details)
        summary = " · ".join(p for p in (self._meta_text, details) if p)
        self.info_button.setToolTip(tooltip_text(summary))

    def _show_notice(self) -> None:
        notice = turn_notice(self.turn)
        if notice is None:
            if self._notice_box is not None:
                self._notice_box.hide()
            for button in self._buttons.values():
                button.hide()
            return
        kind = notice.kind.value
        message = self.turn.message
        if message is not None and message.stop_reason == "max_tokens":
            kind = "max-tokens"
        elif self.turn.status is TurnStatus.STOPPED:
            kind = "stopped"
        box = self._notice()
        box.show_notice(kind, notice.text)
        box.show()
        for name, wanted in (
            ("retry", notice.can_retry),
            ("remove", notice.can_remove),
            ("continue", notice.can_continue),
        ):
            if wanted or name in self._buttons:
                self._button(name).setVisible(wanted)

    def _notice(self) -> NoticeBox:
        if self._notice_box is None:
            self._notice_box = NoticeBox()
            self._notice_box.hide()
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(layout.indexOf(self._action_row), self._notice_box)
        return self._notice_box

    _BUTTONS: ClassVar[dict[str, tuple[str, str, str, str, str]]] = {
        # name: text, object name, icon, accessible name, tooltip
        "retry": ("Retry", "retryButton", "rotate-ccw", "Retry this message", "Send it again"),
        "remove": (
            "Remove",
            "removeTurnButton",
            "trash-2",
            "Remove this message",
            "Take this message out of the conversation",
        ),
        "continue": (
            "Continue",
            "continueButton",
            "play",
            "Continue the reply",
            "Ask Claude to go on from where the reply stopped",
        ),
    }

    def _button(self, name: str) -> QToolButton:
        button = self._buttons.get(name)
        if button is None:
            text, object_name, icon_name, accessible, tip = self._BUTTONS[name]
            button = icon_button(object_name, icon_name, accessible, tip, text=text)
            button.setAutoRaise(False)
            signal = {
                "retry": self.retry_requested,
                "remove": self.remove_requested,
                "continue": self.continue_requested,
            }[name]
            button.clicked.connect(lambda: signal.emit(self.turn))
            button.hide()
            self._notice().add_button(button)
            self._buttons[name] = button
        return button

    @property
    def retry_button(self) -> QToolButton:
        """The Retry button (made on first use)."""
        return self._button("retry")

    @property
    def remove_button(self) -> QToolButton:
        """The Remove button (made on first use)."""
        return self._button("remove")

    @property
    def continue_button(self) -> QToolButton:
        """The Continue button (made on first use)."""
        return self._button("continue")

    # -- images ------------------------------------------------------------------------------

    def _make_images(self) -> FlowRow | None:
        count = max(len(self.thumbnails), len(self.turn.image_blocks))
        if not count:
            return None
        row = FlowRow(right=self._prompt)
        row.setObjectName("messageImages")
        for index in range(count):
            button = QToolButton()
            button.setObjectName("messageImage")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab: see focusNextPrevChild
            button.setAutoRaise(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setAccessibleName(f"Image {index + 1} of {count}: open it")
            button.setToolTip("Open the image")
            if index < len(self.thumbnails):
                pixmap = QPixmap.fromImage(self.thumbnails[index]).scaled(
                    THUMBNAIL_SIZE,
                    THUMBNAIL_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                button.setIcon(QIcon(pixmap))
                button.setIconSize(pixmap.size())
            else:
                # No preview kept (an opened conversation): a tile that still opens it.
                button.setProperty("iconName", "image")
                button.setIcon(icons.icon_for(button, "image"))
                button.setIconSize(QSize(2 * ICON_SIZE, 2 * ICON_SIZE))
                button.setText("Image")
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.clicked.connect(lambda _checked=False, i=index: self.open_image(i))
            row.add(button)
        sources = {
            index: block.source
            for index, block in enumerate(self.turn.image_blocks)
            if index >= len(self.thumbnails) and isinstance(block.source, Base64Source)
        }
        if sources:
            with contextlib.suppress(RuntimeError):  # no running loop: the tiles stay
                asyncio.get_running_loop()
                self._preview_task = asyncio.ensure_future(self._load_previews(sources))
        return row

    async def _load_previews(self, sources: dict[int, Base64Source]) -> None:
        """Draw the previews a reopened conversation has no copy of, in a worker."""
        previews = await asyncio.to_thread(
            lambda: {i: thumbnail(source, THUMBNAIL_SIZE) for i, source in sources.items()}
        )
        if not shiboken6.isValid(self) or self._images is None:
            return
        buttons = self.image_buttons
        for index, preview in previews.items():
            if preview.isNull() or index >= len(buttons):
                continue  # unreadable: the tile stays, and the viewer says so
            button = buttons[index]
            self._previews[index] = preview
            button.setProperty("iconName", None)  # a picture now, not a tinted icon
            button.setText("")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setIcon(QIcon(QPixmap.fromImage(preview)))
            button.setIconSize(preview.size())
        self._images.relayout()
        self._fit_bubble()

    @property
    def previews_loading(self) -> asyncio.Future[None] | None:
        """The drawing of previews in progress, to await; None when there is none."""
        return self._preview_task

    def open_image(self, index: int) -> ImageViewer:
        """Open image ``index`` of the turn in a viewer; returns the viewer."""
        blocks = self.turn.image_blocks
        preview = (
            self.thumbnails[index] if index < len(self.thumbnails) else self._previews.get(index)
        )
        source = blocks[index].source if index < len(blocks) else None
        title = f"Image {index + 1} from {self._speaker}"
        viewer = ImageViewer(title, preview, source, self.window())
        viewer.open()
        return viewer

    # -- width -------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Fit a prompt's bubble to the new width."""
        super().resizeEvent(event)
        if self._bubble is not None and event.size().width() != event.oldSize().width():
            self._fit_bubble()

    def _fit_bubble(self) -> None:
        """As wide as its text (or images) needs, at most :data:`BUBBLE_SHARE` of the row."""
        bubble = self._bubble
        if bubble is None or self.width() <= 0:
            return
        inner = bubble.layout()
        assert inner is not None
        margins = inner.contentsMargins()
        padding = margins.left() + margins.right()
        most = max(1, int(self.width() * BUBBLE_SHARE))
        wanted = 0
        if not self.body.isHidden():
            if len(self.turn.text) < LARGE_MESSAGE:
                wanted = math.ceil(self.body.ideal_width(max(1, most - padding))) + 2
            else:
                wanted = most  # a long text fills the bubble anyway; no need to measure
        if self._images is not None:
            wanted = max(wanted, self._images.natural_width())
        if not self._notes.isHidden():
            wanted = max(wanted, self._notes.fontMetrics().horizontalAdvance(self._notes.text()))
        bubble.setMaximumWidth(min(most, wanted + padding))

    # -- showing the actions -----------------------------------------------------------------

    def set_pinned(self, pinned: bool) -> None:
        """Always draw the actions (the newest message), or only on hover and focus."""
        self._pinned = pinned
        self._update_reveal()

    def enterEvent(self, event: QEnterEvent) -> None:
        """Draw the actions while the pointer is over the message."""
        self._hovered = True
        self._update_reveal()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        """Stop drawing them when it leaves (unless the focus is inside)."""
        self._hovered = False
        self._update_reveal()
        super().leaveEvent(event)

    def _update_reveal(self) -> None:
        focus = QApplication.focusWidget()
        inside = focus is not None and self.isAncestorOf(focus)
        self._actions.set_revealed(self._hovered or self._pinned or inside)

    def changeEvent(self, event: QEvent) -> None:
        """Draw the icons again in a new palette."""
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            retint(self)

    # -- actions -----------------------------------------------------------------------------

    def _on_body_filled(self) -> None:
        self._fit_bubble()
        if self._rendered_final and not self.rendering:
            self.rendered.emit()

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.turn.text)
        button = self.copy_button
        button.setProperty("iconName", "check")
        self._actions.draw(button)
        button.setToolTip("Copied")
        announce(button, "Copied")
        QTimer.singleShot(COPIED_MS, button, self._copy_done)

    def _copy_done(self) -> None:
        button = self.copy_button
        button.setProperty("iconName", "copy")
        self._actions.draw(button)
        button.setToolTip("Copy the whole message")

    def _on_info_toggled(self, shown: bool) -> None:
        if self._details is not None:
            self._details.setVisible(shown)

    def _on_thinking_toggled(self, shown: bool) -> None:
        toggle, box = self._thinking_toggle, self._thinking_box
        if toggle is None or box is None:
            return
        if shown and self._thinking is None:
            # Made and filled when first shown: thinking is often long, and mostly
            # never opened.
            self._thinking = AutoHeightBrowser()
            self._thinking.setObjectName("thinkingText")
            self._thinking.setAccessibleName("Thinking")
            self._thinking.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self._thinking.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            self._thinking.setHtml(self._thinking_html)
            inner = box.layout()
            assert inner is not None
            inner.addWidget(self._thinking)
        if self._thinking is not None:
            self._thinking.setVisible(shown)
        toggle.setAccessibleName("Hide thinking" if shown else "Show thinking")


class _FocusWatch(QObject):
    """Tells a message when the keyboard focus enters or leaves it (one for the app)."""

    _instance: ClassVar[_FocusWatch | None] = None

    @classmethod
    def ensure(cls) -> None:
        app = QApplication.instance()
        current = cls._instance
        if isinstance(app, QApplication) and (current is None or not shiboken6.isValid(current)):
            cls._instance = cls(app)

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        app.focusChanged.connect(self._on_focus_changed)

    @staticmethod
    def _on_focus_changed(old: QWidget | None, new: QWidget | None) -> None:
        for widget in (old, new):
            with contextlib.suppress(RuntimeError):  # a widget on its way out
                while widget is not None and shiboken6.isValid(widget):
                    if isinstance(widget, MessageWidget):
                        widget._update_reveal()
                        break
                    widget = widget.parentWidget()
