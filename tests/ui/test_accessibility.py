"""What assistive technology gets from the window: names, label text, the Tab order, text.

Qt's accessibility bridge (AT-SPI on Linux) hands out what
``QAccessible.queryAccessibleInterface`` returns, so these checks read the same
interfaces a screen reader would, in process and offscreen: they run where there
is no accessibility bus. ``test_atspi.py`` reads the real bus where there is one.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QToolButton, QWidget

from desktop_app.ui.chat import message_body
from desktop_app.ui.chat.message_body import AutoHeightBrowser
from desktop_app.ui.chat.message_parts import ActionBar
from desktop_app.ui.chat.run_controller import RunController
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.settings_pane import Page
from tests.support.atspi import iter_text_problems
from tests.support.offline import Fault, FaultyServer
from tests.support.qt import eventually
from tests.support.qt import send_prompt as send
from tests.support.screen_order import Box, reading_order
from tests.support.windows import Windows

# The main controls by object name, in the order they read on screen.
MAIN_CONTROLS = (
    "historySearchEdit",
    "newConversationButton",
    "conversationList",
    "conversationView",
    "promptEdit",
    "attachButton",
    "modelPicker",
    "sendButton",
    "conversationSettingsButton",
)


def interface(widget: QWidget) -> QAccessibleInterface:
    found = QAccessible.queryAccessibleInterface(widget)
    assert found is not None, widget.objectName()
    return found


def accessible_text(widget: QWidget) -> str:
    """Everything a screen reader can say of ``widget``: name, description, value."""
    found = interface(widget)
    parts = (
        found.text(QAccessible.Text.Name),
        found.text(QAccessible.Text.Description),
        found.text(QAccessible.Text.Value),
    )
    return "\n".join(p for p in parts if p)


def focusable(window: QWidget) -> list[QWidget]:
    return [
        w
        for w in window.findChildren(QWidget)
        if w.isVisibleTo(window) and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]


def silent_labels(window: QWidget) -> list[str]:
    """The labels shown in ``window`` that tell something a screen reader does not get."""
    silent = []
    for label in window.findChildren(QLabel):
        text = label.text().strip()
        # A label that names a control (a buddy) is that control's name, not information.
        if not text or not label.isVisibleTo(window) or label.buddy() is not None:
            continue
        if label.textFormat() is not Qt.TextFormat.PlainText and "<" in text:
            continue  # rich text: its plain form is checked where it is made
        if text not in accessible_text(label):
            silent.append(f"#{label.objectName()}: {text[:40]!r}")
    return silent


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def busy_window(
    windows: Windows, loop: asyncio.AbstractEventLoop, server: FaultyServer
) -> MainWindow:
    """A conversation with a Markdown reply, thinking, a refusal and an error; an image."""
    window = windows.start()
    window.activateWindow()
    send(window, loop, "/markdown")
    send(window, loop, "/think")
    send(window, loop, "/refuse")
    server.push(Fault.status(400, "invalid_request_error", message="bad image"))
    send(window, loop, "this one fails")
    details = window.findChildren(QToolButton, "messageInfoButton")
    next(button for button in details if button.isVisibleTo(window)).click()
    pane = window.chat.image_pane
    pane.add_bytes("Blue square.png", png())
    eventually(loop, lambda: not pane.is_busy())
    eventually(loop, lambda: not window.chat.view.busy)
    return window


@pytest.fixture
def busy(windows: Windows, qloop: asyncio.AbstractEventLoop, server: FaultyServer) -> MainWindow:
    return busy_window(windows, qloop, server)


def test_every_control_a_person_can_reach_has_a_name(busy: MainWindow) -> None:
    nameless = [
        f"{type(widget).__name__}#{widget.objectName()}"
        for widget in focusable(busy)
        if not interface(widget).text(QAccessible.Text.Name).strip()
    ]
    assert nameless == []


def test_information_labels_expose_their_text(busy: MainWindow) -> None:
    shown = {label.objectName() for label in busy.findChildren(QLabel) if label.isVisibleTo(busy)}
    assert {"attachmentSummary", "conversationUsageLabel", "usageLabel", "turnNotice"} <= shown
    assert silent_labels(busy) == []


@pytest.mark.parametrize("page", list(Page))
def test_settings_labels_expose_their_text(windows: Windows, page: Page) -> None:
    window = windows.start()
    window.settings_dialog.open_page(page)
    assert silent_labels(window.settings_dialog) == []


def test_info_labels_keep_their_words_in_step(windows: Windows) -> None:
    pane = windows.start().settings_pane
    status = pane.findChild(QLabel, "keyStatusLabel")
    assert status is not None
    assert interface(status).text(QAccessible.Text.Name) == "API key status"
    assert interface(status).text(QAccessible.Text.Description) == status.text()
    status.setText("Something else")
    assert interface(status).text(QAccessible.Text.Description) == "Something else"


def test_buttons_with_only_an_icon_say_what_they_do(busy: MainWindow) -> None:
    mute = [
        f"#{button.objectName()}"
        for button in busy.findChildren(QAbstractButton)
        if button.isVisibleTo(busy)
        and not button.text().strip()
        and not (button.accessibleName().strip() and button.toolTip().strip())
    ]
    assert mute == []


def global_box(widget: QWidget) -> Box:
    origin = widget.mapToGlobal(QPoint(0, 0))
    return origin.x(), origin.y(), widget.width(), widget.height()


def tab_stops(start: QWidget, visit: Callable[[QWidget], None] = lambda _w: None) -> list[QWidget]:
    """Where Tab takes the keyboard from ``start``, once round; ``visit`` sees each stop."""
    start.setFocus()
    stops: list[QWidget] = []
    for _ in range(120):
        focus = QApplication.focusWidget()
        assert focus is not None
        if stops and focus is start:
            return stops
        if not stops or focus is not stops[-1]:  # Tab also goes to the links in a text
            stops.append(focus)
            visit(focus)
        QTest.keyClick(focus, Qt.Key.Key_Tab)
    pytest.fail(f"Tab never came back: {[w.objectName() for w in stops]}")


def test_tab_goes_through_the_main_controls_in_screen_order(busy: MainWindow) -> None:
    stops = tab_stops(busy.sidebar.search_edit)
    names = [w.objectName() for w in stops]
    assert set(MAIN_CONTROLS) <= set(names), names
    first = sorted({name: names.index(name) for name in MAIN_CONTROLS}.items(), key=lambda i: i[1])
    tab_order = [next(w for w in stops if w.objectName() == name) for name, _ in first]
    view = busy.chat.view
    screen_order = reading_order(tab_order, global_box, boundary=view.mapToGlobal(QPoint()).x())
    assert [w.objectName() for w in tab_order] == [w.objectName() for w in screen_order]
    # The chip of an image comes before the text, right after the conversation.
    chip = names.index("removeAttachmentButton")
    assert names.index("conversationView") < chip < names.index("promptEdit")


def test_every_tab_stop_shows_when_it_has_the_keyboard(busy: MainWindow) -> None:
    hidden = []

    def check(stop: QWidget) -> None:
        if stop.visibleRegion().isEmpty():
            hidden.append(f"{type(stop).__name__}#{stop.objectName()}: off screen")
        bar = stop.parentWidget()
        if isinstance(bar, ActionBar) and not bar.revealed:
            hidden.append(f"#{stop.objectName()}: its icon is not drawn")

    assert len(tab_stops(busy.sidebar.search_edit, check)) > len(MAIN_CONTROLS)
    assert hidden == []


def reply_parts(window: MainWindow) -> list[AutoHeightBrowser]:
    return [
        part
        for part in window.findChildren(AutoHeightBrowser)
        if part.isVisibleTo(window) and part.toPlainText().strip()
    ]


def test_message_text_reaches_screen_readers_without_document_markers(busy: MainWindow) -> None:
    parts = reply_parts(busy)
    assert any("A table" in part.toPlainText() for part in parts)
    for part in parts:
        found = interface(part)
        text_interface = found.textInterface()
        assert text_interface is not None
        count = text_interface.characterCount()
        text = text_interface.text(0, count)
        assert list(iter_text_problems(text)) == []
        # One character for each position of the document: offsets, the caret
        # and character boxes stay Qt's.
        assert len(text) == count == part.document().characterCount() - 1
        assert found.text(QAccessible.Text.Value) == text
        assert found.state().readOnly
        assert found.state().multiLine


def test_a_table_reads_row_by_row_with_its_cells_apart(busy: MainWindow) -> None:
    (part,) = [p for p in reply_parts(busy) if "A table" in p.toPlainText()]
    text_interface = interface(part).textInterface()
    text = text_interface.text(0, text_interface.characterCount())
    lines = text.splitlines()
    for line in (
        "Markdown in the offline demo",
        "A table",
        "Feature\tOffline demo\tClaude",
        "Cost\tfree\tbilled per token",
        "The Messages API reference describes the protocol.",
        "python\tCopy",
        "def greet(name: str) -> str:",
    ):
        assert line in lines


def test_a_character_box_is_where_the_character_shows(busy: MainWindow) -> None:
    (part,) = [p for p in reply_parts(busy) if "A table" in p.toPlainText()]
    text_interface = interface(part).textInterface()
    offset = text_interface.text(0, text_interface.characterCount()).index("Feature")
    box = text_interface.characterRect(offset)
    assert box.width() > 0
    assert part.viewport().rect().contains(part.viewport().mapFromGlobal(box.center()))
    assert text_interface.offsetAtPoint(box.center()) in (offset, offset + 1)


def test_setbacks_are_announced_at_once_and_say_why(
    windows: Windows,
    qloop: asyncio.AbstractEventLoop,
    server: FaultyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[tuple[str, bool]] = []

    def record(_runs: RunController, text: str, *, urgent: bool = False) -> None:
        said.append((text, urgent))

    monkeypatch.setattr(RunController, "_announce", record)
    window = windows.start()
    send(window, qloop, "hello")
    send(window, qloop, "/refuse")
    server.push(Fault.status(400, "invalid_request_error", message="bad image"))
    send(window, qloop, "this one fails")
    (replied, replied_urgent), (declined, declined_urgent), (failed, failed_urgent) = said
    assert replied.startswith("Claude replied in ")
    assert not replied_urgent
    assert declined.startswith("Claude declined to answer: ")
    assert declined_urgent
    assert failed == "The message could not be sent: The service rejected the request: bad image."
    assert failed_urgent
    names = [widget.accessibleName() for widget in window.findChildren(QWidget)]
    assert any(name.startswith("Declined: Claude declined to answer") for name in names)
    assert "Error: The service rejected the request: bad image." in names


def test_the_conversation_list_says_it_is_empty_only_while_it_is(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    conversations = window.sidebar.list_view
    eventually(qloop, lambda: conversations.placeholder != "")
    assert interface(conversations).text(QAccessible.Text.Description) == "No conversations yet."
    send(window, qloop, "hello")
    eventually(qloop, lambda: conversations.model().rowCount() > 0)
    assert interface(conversations).text(QAccessible.Text.Description) == ""


def test_the_model_picker_says_what_it_picks(windows: Windows) -> None:
    picker = windows.start().chat.composer.model_picker
    # On Linux Qt names a combo box by the item it shows: the description says the rest.
    assert interface(picker).text(QAccessible.Text.Description).startswith("Model. ")


def test_a_link_reached_with_tab_is_announced(
    busy: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    monkeypatch.setattr(message_body, "announce", lambda _widget, text: said.append(text))
    (part,) = [p for p in reply_parts(busy) if "A table" in p.toPlainText()]
    part.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(part, Qt.Key.Key_Tab)
    QTest.keyClick(part, Qt.Key.Key_Tab)
    assert said == ["Link: Messages API reference", "Link: Copy"]
    QTest.keyClick(part, Qt.Key.Key_Tab)  # past the last link: on to the next control
    assert len(said) == 2
