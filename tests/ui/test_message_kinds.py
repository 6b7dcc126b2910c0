"""How each kind of turn looks: notices, thinking, tool calls, details, copy, images."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QEnterEvent,
    QGuiApplication,
    QImage,
    QImageWriter,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.model import Turn, TurnStatus
from desktop_app.core.render.markdown import COPIED_LABEL, COPY_LABEL
from desktop_app.core.wire.blocks import (
    Base64Source,
    ImageBlock,
    Role,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from desktop_app.core.wire.message import Message, Usage
from desktop_app.ui.chat.image_viewer import ImageViewer
from desktop_app.ui.chat.message_parts import NOTICE_ICONS, NoticeBox, is_dark, palette_is_dark
from desktop_app.ui.chat.message_widget import MessageWidget
from tests.support.qt import eventually


def reply(
    blocks: list[Any],
    *,
    status: TurnStatus = TurnStatus.DONE,
    stop: str | None = "end_turn",
    usage: Usage | None = None,
    model: str = "claude-haiku-4-5",
) -> Turn:
    message = Message(content=blocks, stop_reason=stop, usage=usage or Usage())
    return Turn(Role.ASSISTANT, message=message, status=status, model=model)


def notice_box(widget: MessageWidget) -> NoticeBox | None:
    return widget.notice_box


def revealed(widget: MessageWidget) -> bool:
    return widget.actions_revealed


def made(qtbot: Any, turn: Turn, thumbnails: list[QImage] | None = None) -> MessageWidget:
    widget = MessageWidget(turn, thumbnails)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    return widget


@pytest.mark.parametrize(
    ("turn", "kind", "buttons"),
    [
        (
            Turn(Role.USER, [TextBlock("q")], status=TurnStatus.FAILED, error="Bad image."),
            "error",
            {"retry", "remove"},
        ),
        (
            Turn(Role.USER, [TextBlock("q")], status=TurnStatus.REFUSED),
            "refusal",
            set(),
        ),
        (reply([], status=TurnStatus.REFUSED, stop="refusal"), "refusal", set()),
        (reply([TextBlock("Long")], stop="max_tokens"), "max-tokens", {"continue"}),
        (reply([TextBlock("Half")], status=TurnStatus.STOPPED, stop=None), "stopped", set()),
        (reply([TextBlock("Ha")], status=TurnStatus.INTERRUPTED, stop=None), "warning", {"retry"}),
        (reply([TextBlock("Paused")], stop="pause_turn"), "info", {"continue"}),
    ],
    ids=["failed", "refused prompt", "refusal", "max tokens", "stopped", "interrupted", "paused"],
)
def test_each_notice_has_its_kind_icon_words_and_actions(
    qtbot: Any, turn: Turn, kind: str, buttons: set[str]
) -> None:
    widget = made(qtbot, turn)
    box = widget.notice_box
    assert box is not None
    assert box.isVisibleTo(widget)
    assert box.property("kind") == kind
    assert kind in NOTICE_ICONS
    pixmap = box.mark.pixmap()
    assert not pixmap.isNull()  # an icon, never the tint alone
    assert box.mark.accessibleName()
    assert widget.notice.text()
    assert box.accessibleName().endswith(widget.notice.text())
    offered = {
        name
        for name, button in (
            ("retry", widget.retry_button),
            ("remove", widget.remove_button),
            ("continue", widget.continue_button),
        )
        if button.isVisibleTo(widget)
    }
    assert offered == buttons
    for name in offered:
        button = {
            "retry": widget.retry_button,
            "remove": widget.remove_button,
            "continue": widget.continue_button,
        }[name]
        assert button.accessibleName()
        assert button.toolTip()
        assert not button.icon().isNull()
        assert button in widget.tab_widgets()


def test_a_countdown_then_the_ordinary_notice(qtbot: Any) -> None:
    turn = reply([TextBlock("")], status=TurnStatus.STREAMING, stop=None)
    widget = made(qtbot, turn)
    assert notice_box(widget) is None  # made only when a turn needs one
    widget.set_countdown(2.2, "Overloaded.")
    box = notice_box(widget)
    assert box is not None
    assert box.property("kind") == "retrying"
    assert widget.notice.text() == "Overloaded. Retrying in 3 s…"
    widget.set_countdown(None)
    assert not box.isVisibleTo(widget)  # a streaming turn has no notice


def test_a_prompt_is_a_bubble_and_a_reply_has_a_small_header(qtbot: Any) -> None:
    prompt = made(qtbot, Turn(Role.USER, [TextBlock("Hello there")]))
    assert prompt.objectName() == "userMessage"
    assert prompt.findChild(QWidget, "userBubble") is not None
    assert prompt.findChild(QLabel, "speakerLabel") is None
    assert prompt.edit_button is not None
    assert prompt.regenerate_button is None
    answer = made(qtbot, reply([TextBlock("Hi")], model="claude-opus-4-7"))
    assert answer.objectName() == "assistantMessage"
    assert answer.findChild(QWidget, "userBubble") is None
    speaker = answer.findChild(QLabel, "speakerLabel")
    meta = answer.findChild(QLabel, "messageMetaLabel")
    assert speaker is not None
    assert meta is not None
    assert speaker.text() == "Claude"
    assert meta.text().startswith("claude-opus-4-7 · ")
    assert meta.textFormat() is Qt.TextFormat.PlainText  # the model name is outside text
    assert "in " not in meta.text()  # no token figures on the header
    assert answer.edit_button is None
    assert answer.regenerate_button is not None


def test_the_header_names_the_model_as_people_know_it(qtbot: Any) -> None:
    catalog = Catalog.load()
    turn = reply([TextBlock("Hi")], model="claude-sonnet-4-6")
    widget = MessageWidget(turn, model_name=lambda model_id: catalog.get(model_id).display_name)
    qtbot.addWidget(widget)
    meta = widget.findChild(QLabel, "messageMetaLabel")
    assert meta is not None
    assert meta.text().startswith("Claude Sonnet 4.6 · ")
    assert meta.toolTip() == "claude-sonnet-4-6"  # the exact id stays findable
    unknown = MessageWidget(
        reply([TextBlock("Hi")], model="claude-future-9"),
        model_name=lambda model_id: catalog.get(model_id).display_name,
    )
    qtbot.addWidget(unknown)
    unknown_meta = unknown.findChild(QLabel, "messageMetaLabel")
    assert unknown_meta is not None
    assert unknown_meta.text().startswith("claude-future-9 · ")
    assert unknown_meta.toolTip() == ""


def test_token_figures_are_in_the_details_not_on_the_header(qtbot: Any) -> None:
    hostile = "<b>model</b>"
    widget = made(qtbot, reply([TextBlock("Hi")], usage=Usage(1234, 5678, 9, 10), model=hostile))
    info = widget.info_button
    assert info is not None
    assert info.isVisibleTo(widget)
    assert info.accessibleName() == "Details"
    details = widget.details_label
    assert details is not None
    assert details.objectName() == "usageLabel"
    assert not details.isVisibleTo(widget)
    figures = "in 1,234 · out 5,678 · cache write 9 · cache read 10"
    assert details.text() == f"Tokens: {figures}"
    # The tooltip shows the model's name as it is written, markup and all.
    tip = QTextDocument()
    tip.setHtml(info.toolTip())
    assert hostile in tip.toPlainText()
    assert figures in tip.toPlainText()
    info.click()
    assert details.isVisibleTo(widget)
    info.click()
    assert not details.isVisibleTo(widget)
    # A reply still streaming has no figures yet: no Details button.
    streaming = made(qtbot, reply([TextBlock("")], status=TurnStatus.STREAMING, stop=None))
    assert streaming.info_button is not None
    assert not streaming.info_button.isVisibleTo(streaming)


def test_thinking_and_tool_calls_have_their_own_look(qtbot: Any) -> None:
    widget = made(
        qtbot,
        reply(
            [
                ThinkingBlock("pondering", "sig"),
                TextBlock("Let me look."),
                ToolUseBlock("toolu_1", "get_weather", {"city": "Paris"}),
            ],
            stop="tool_use",
        ),
    )
    box = widget.findChild(QWidget, "thinkingBox")
    assert box is not None
    assert box.property("kind") == "thinking"
    toggle = widget.thinking_toggle
    assert toggle is not None
    assert toggle.text() == "Thinking"
    assert not toggle.icon().isNull()
    shown = widget.body.toPlainText()
    assert "\N{GEAR} Tool call \N{MIDDLE DOT} get_weather" in shown
    assert '"city": "Paris"' in shown
    # The tool call's input copies as its JSON, like a code block.
    widget.body.link_clicked.emit(QUrl("iris-copy:0"))
    assert QGuiApplication.clipboard().text() == '{\n  "city": "Paris"\n}'


def test_a_code_block_copy_says_copied_for_a_moment(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    widget = made(qtbot, reply([TextBlock("Run:\n\n```sh\necho hi\n```\n")]))
    part = widget.body.parts[0]
    assert part.link_label("iris-copy:0") == COPY_LABEL
    part.anchorClicked.emit(QUrl("iris-copy:0"))  # what a click on the link does
    assert QGuiApplication.clipboard().text() == "echo hi"
    assert part.link_label("iris-copy:0") == COPIED_LABEL
    assert "echo hi" in part.toPlainText()  # the code itself is untouched
    eventually(qloop, lambda: part.link_label("iris-copy:0") == COPY_LABEL, seconds=5)
    # Copied again, it says so again.
    part.anchorClicked.emit(QUrl("iris-copy:0"))
    assert part.link_label("iris-copy:0") == COPIED_LABEL


def test_the_copy_button_shows_it_copied(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> None:
    widget = made(qtbot, reply([TextBlock("Some *text*")]))
    assert widget.copy_button.icon().isNull()  # not drawn until revealed
    widget.set_pinned(True)
    assert not widget.copy_button.icon().isNull()
    before = widget.copy_button.icon().cacheKey()
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == "Some *text*"
    assert widget.copy_button.toolTip() == "Copied"
    assert widget.copy_button.icon().cacheKey() != before
    eventually(qloop, lambda: widget.copy_button.toolTip() != "Copied", seconds=5)
    assert widget.copy_button.icon().cacheKey() == before
    assert widget.copy_button.accessibleName() == "Copy message from Claude"


def test_actions_show_on_hover_and_the_row_keeps_its_place(qtbot: Any) -> None:
    widget = made(qtbot, reply([TextBlock("Hi")]))
    row = widget.findChild(QWidget, "messageActionRow")
    assert row is not None
    height = widget.height()
    assert not revealed(widget)
    assert widget.copy_button.isVisibleTo(widget)  # there, only not drawn
    QApplication.sendEvent(widget, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert revealed(widget)
    QApplication.sendEvent(widget, QEvent(QEvent.Type.Leave))
    assert not revealed(widget)
    assert widget.height() == height
    widget.set_pinned(True)
    assert revealed(widget)


def png(width: int, height: int) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert QImageWriter(buffer, QByteArray(b"PNG")).write(image)
    return bytes(data.data())


def image_turn(data: bytes) -> Turn:
    source = Base64Source("image/png", base64.b64encode(data).decode("ascii"))
    return Turn(Role.USER, [ImageBlock(source), TextBlock("What is this?")])


def test_a_thumbnail_opens_the_image_in_a_viewer(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    turn = image_turn(png(900, 600))
    preview = QImage(96, 64, QImage.Format.Format_RGB32)
    preview.fill(QColor("#3366cc"))

    async def build() -> MessageWidget:
        return made(qtbot, turn, [preview])

    widget = qloop.run_until_complete(build())
    (button,) = widget.image_buttons
    assert button.accessibleName() == "Image 1 of 1: open it"
    assert not button.icon().isNull()

    async def click() -> None:  # as in the app: on the running loop
        button.click()

    qloop.run_until_complete(click())
    viewers = [w for w in QApplication.topLevelWidgets() if isinstance(w, ImageViewer)]
    assert len(viewers) == 1
    viewer = viewers[0]
    assert viewer.isVisible()
    assert viewer.accessibleName() == "Image 1 from You"
    assert viewer.image.size() == preview.size()  # the preview, at once
    loading = viewer.loading
    assert loading is not None
    qloop.run_until_complete(asyncio.wait_for(loading, 10))
    assert viewer.loaded
    assert (viewer.image.width(), viewer.image.height()) == (900, 600)
    shown = viewer.picture.pixmap()
    assert shown.width() <= viewer.picture.width()
    assert shown.height() <= viewer.picture.height()
    assert shown.width() <= 900
    assert "900 × 600" in viewer.caption.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.isVisible()


def test_an_image_without_a_preview_still_opens_and_a_broken_one_says_so(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    async def build(turn: Turn) -> MessageWidget:
        return made(qtbot, turn)

    good = qloop.run_until_complete(build(image_turn(png(40, 30))))
    (button,) = good.image_buttons
    assert button.text() == "Image"  # a tile at once, the preview drawn in a worker
    loading = good.previews_loading
    assert loading is not None
    qloop.run_until_complete(asyncio.wait_for(loading, 10))
    assert button.text() == ""
    assert button.iconSize() == QSize(40, 30)
    assert not button.icon().isNull()
    viewer = qloop.run_until_complete(build_viewer(good))
    assert viewer.image.width() == 40  # the drawn preview, until the image is decoded
    assert viewer.loading is not None
    qloop.run_until_complete(asyncio.wait_for(viewer.loading, 10))
    assert viewer.loaded
    assert viewer.image.width() == 40
    # Never blown up past the size it was sent at.
    assert viewer.picture.pixmap().width() == 40
    viewer.close()

    broken = qloop.run_until_complete(build(image_turn(b"not an image at all")))
    loading = broken.previews_loading
    assert loading is not None
    qloop.run_until_complete(asyncio.wait_for(loading, 10))
    assert broken.image_buttons[0].text() == "Image"  # no preview: the tile stays
    viewer = qloop.run_until_complete(build_viewer(broken))
    assert viewer.loading is not None
    qloop.run_until_complete(asyncio.wait_for(viewer.loading, 10))
    assert not viewer.loaded
    assert viewer.caption.text() == "This image could not be read."
    viewer.close()


async def build_viewer(widget: MessageWidget) -> ImageViewer:
    return widget.open_image(0)


def test_a_transparent_window_colour_is_judged_by_its_text() -> None:
    palette = QPalette(QColor("#f5f5f5"))
    palette.setColor(QPalette.ColorRole.Window, QColor(0, 0, 0, 0))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#1a1a1a"))
    assert not palette_is_dark(palette)
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
    assert palette_is_dark(palette)
    assert palette_is_dark(QPalette(QColor("#202020")))
    assert not palette_is_dark(QPalette(QColor("#f0f0f0")))


def test_a_reply_in_a_light_styled_window_is_rendered_light(
    qtbot: Any, qapp: QApplication, styled: None
) -> None:
    before = QPalette(qapp.palette())
    try:
        qapp.setPalette(QPalette(QColor("#f0f0f0")))
        widget = made(qtbot, reply([TextBlock(text="`code` and text")]))
        widget.show()
        qtbot.waitExposed(widget)
        assert not is_dark(widget)
        qapp.setPalette(QPalette(QColor("#202020")))
        assert is_dark(widget)
    finally:
        qapp.setPalette(before)
