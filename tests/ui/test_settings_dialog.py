"""The Settings window: which page opens, Tab order, room at small sizes, and the text size."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_app.core.catalog import Catalog
from desktop_app.core.paths import AppPaths
from desktop_app.core.settings import TEXT_SCALES
from desktop_app.ui import notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.appearance import TEXT_SIZES, apply_text_scale, conversation_font
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.form import set_note
from desktop_app.ui.settings.settings_dialog import SettingsDialog
from desktop_app.ui.settings.settings_pane import Page
from desktop_app.ui.settings.settings_store import SettingsStore
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows

KEY = "sk-ant-settings-dialog-test-000111222"


@pytest.fixture
def store(paths: AppPaths) -> SettingsStore:
    return SettingsStore(paths.config)


@pytest.fixture
def key_state() -> ApiKeyState:
    state = ApiKeyState()
    state.load()
    return state


@pytest.fixture
def dialog(qtbot: QtBot, store: SettingsStore, key_state: ApiKeyState) -> Iterator[SettingsDialog]:
    made = SettingsDialog(store, Catalog.load(), key_state)
    qtbot.addWidget(made)
    yield made
    made.close()


def shown(dialog: SettingsDialog) -> Page:
    return dialog.pane.current_page


def tab_stops(dialog: SettingsDialog, qtbot: QtBot, last: QWidget) -> list[str]:
    """Press Tab from the focused control until ``last`` has the focus; their names."""
    names = []
    for _ in range(40):
        focused = dialog.focusWidget()
        assert focused is not None
        names.append(focused.objectName())
        if focused is last:
            return names
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {last.objectName()}: {names}")


# -- which page opens first -------------------------------------------------------------------


def test_without_a_key_the_api_key_page_opens_first(
    dialog: SettingsDialog, key_state: ApiKeyState
) -> None:
    assert key_state.key() is None
    dialog.pane.show_page(Page.APPEARANCE)  # shown last time
    dialog.open_page()
    assert dialog.pane.current_page is Page.API_KEY
    assert dialog.pane.api_key_edit.isVisibleTo(dialog)
    # The keyboard is on the list of pages, which says where it is.
    assert dialog.focusWidget() is dialog.pane.page_list


def test_with_a_key_the_page_shown_last_opens(
    dialog: SettingsDialog, key_state: ApiKeyState
) -> None:
    key_state.use_for_session(KEY)
    dialog.open_page()
    assert shown(dialog) is Page.MODELS  # the first time
    dialog.pane.show_page(Page.APPEARANCE)
    dialog.close()
    dialog.open_page()
    assert shown(dialog) is Page.APPEARANCE


def test_enter_an_api_key_opens_the_key_page_ready_to_type(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, paths: AppPaths
) -> None:
    notify.bridge.reset()
    context = AppContext(paths)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    try:
        qloop.run_until_complete(context.start())
        assert window.banner.isVisible()
        window.settings_pane.show_page(Page.REQUESTS)
        enter = window.banner.findChild(QAbstractButton, "enterKeyButton")
        assert enter is not None
        enter.click()
        dialog = window.settings_dialog
        assert dialog.isVisible()
        assert window.settings_pane.current_page is Page.API_KEY
        assert dialog.focusWidget() is window.settings_pane.api_key_edit
        assert window.settings_pane.api_key_edit.echoMode() is not None
    finally:
        window.close()
        qloop.run_until_complete(window.aclose())
        notify.bridge.reset()


def test_leaving_the_demo_from_the_key_page_talks_to_claude(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    window.context.use_demo(True)
    pane = window.settings_pane
    window.settings_dialog.open_page(Page.API_KEY)
    assert pane.demo_note_label.isVisibleTo(pane)
    pane.leave_demo_button.click()
    assert not window.context.demo
    assert not pane.demo_note_label.isVisibleTo(pane)
    assert "offline demo" not in window.windowTitle()


# -- Tab order ---------------------------------------------------------------------------------


def test_tab_follows_the_key_page_top_to_bottom_then_close(
    dialog: SettingsDialog, qtbot: QtBot, key_state: ApiKeyState
) -> None:
    key_state.use_for_session(KEY)  # Forget is enabled
    dialog.open_page(Page.API_KEY)
    qtbot.keyClicks(dialog.pane.api_key_edit, "sk-ant-typed")  # Save is enabled
    dialog.pane.page_list.setFocus()
    close = dialog.findChild(QWidget, "settingsCloseButton")
    assert isinstance(close, QWidget)
    assert tab_stops(dialog, qtbot, close) == [
        "settingsPageList",
        "apiKeyEdit",
        "saveKeyButton",
        "forgetKeyButton",
        "baseUrlEdit",
        "stallTimeoutSpin",
        "settingsCloseButton",
    ]


def test_tab_follows_the_request_page_top_to_bottom_then_close(
    dialog: SettingsDialog, qtbot: QtBot
) -> None:
    dialog.open_page(Page.REQUESTS)
    dialog.pane.temperature_check.setChecked(True)
    close = dialog.findChild(QWidget, "settingsCloseButton")
    assert isinstance(close, QWidget)
    assert tab_stops(dialog, qtbot, close) == [
        "settingsPageList",
        "maxTokensSpin",
        "temperatureCheck",
        "temperatureSpin",
        "topPCheck",  # its spin box is off until it is set
        "stopSequencesEdit",
        "systemPromptEdit",
        "promptCachingCheck",
        "settingsCloseButton",
    ]


# -- room ----------------------------------------------------------------------------------------


def _visible_parts(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if w.isVisibleTo(root)]


def assert_nothing_cut_off(dialog: SettingsDialog, *, fits_without_scrolling: bool) -> None:
    pane = dialog.pane
    list_view = pane.page_list
    assert list_view.sizeHintForColumn(0) <= list_view.viewport().width()
    for row in range(list_view.count()):
        rect = list_view.visualItemRect(list_view.item(row))
        assert list_view.viewport().rect().contains(rect), row
    for page in Page:
        pane.show_page(page)
        QApplication.processEvents()  # lays out the page just shown
        scroll = pane.page(page)
        viewport = scroll.viewport()
        content = scroll.content
        assert content.minimumSizeHint().width() <= viewport.width(), page
        if fits_without_scrolling:
            assert content.height() <= viewport.height(), page
        for part in _visible_parts(content):
            place = QRect(part.mapTo(viewport, QPoint(0, 0)), part.size())
            where = (page, part.objectName() or type(part).__name__)
            assert place.left() >= 0, where
            assert place.right() < viewport.width(), where
            if isinstance(part, QLabel) and part.wordWrap():
                assert part.height() >= part.heightForWidth(part.width()), part.text()
            elif isinstance(part, QLabel | QAbstractButton):
                assert part.width() >= part.minimumSizeHint().width(), part.objectName()
    close = dialog.findChild(QWidget, "settingsCloseButton")
    assert isinstance(close, QWidget)
    assert dialog.rect().contains(QRect(close.mapTo(dialog, QPoint(0, 0)), close.size()))


def test_nothing_is_cut_off_at_640_by_560(
    dialog: SettingsDialog, qtbot: QtBot, key_state: ApiKeyState
) -> None:
    dialog.open_page()
    dialog.resize(640, 560)
    qtbot.waitUntil(lambda: dialog.size().width() == 640)
    assert_nothing_cut_off(dialog, fits_without_scrolling=True)

    # Everything that can appear at once: the custom tier, every note on the key page.
    pane = dialog.pane
    pane.tier_selector.setCurrentIndex(pane.tier_selector.findData("custom"))
    pane.temperature_check.setChecked(True)
    key_state.use_for_session(KEY)
    pane.set_demo_requested(True)
    pane.key_section.session_key_button.show()
    set_note(pane.key_section.key_note_label, "A long note " * 30)
    assert_nothing_cut_off(dialog, fits_without_scrolling=False)


def test_the_smallest_size_still_cuts_nothing_off(dialog: SettingsDialog, qtbot: QtBot) -> None:
    dialog.open_page()
    dialog.resize(dialog.minimumSize())
    qtbot.waitUntil(lambda: dialog.size() == dialog.minimumSize())
    assert_nothing_cut_off(dialog, fits_without_scrolling=False)


def test_it_opens_within_a_small_screen(dialog: SettingsDialog) -> None:
    room = QGuiApplication.primaryScreen().availableGeometry()
    assert dialog.minimumWidth() <= 800
    assert dialog.minimumHeight() <= 600 - 40
    dialog.resize(2000, 2000)  # larger than any screen the test runs on
    dialog._placed = False
    dialog.open_page()
    assert dialog.width() <= room.width()
    assert dialog.height() <= room.height() - 8


# -- text size ---------------------------------------------------------------------------------


def test_the_text_size_is_chosen_on_the_appearance_page(
    dialog: SettingsDialog, store: SettingsStore
) -> None:
    selector = dialog.pane.text_scale_selector
    assert selector.currentData() == 1.0
    assert selector.currentText() == "Default (100%)"
    assert [selector.itemData(i) for i in range(selector.count())] == list(TEXT_SIZES)
    selector.setCurrentIndex(selector.findData(1.3))
    assert store.settings.text_scale == 1.3
    # A size written into the file by hand stays selectable, in its place.
    store.update(text_scale=1.2)
    assert selector.currentData() == 1.2
    assert selector.currentText() == "120%"
    assert selector.itemData(selector.currentIndex() - 1) == 1.15
    store.update(text_scale=50.0)
    assert selector.currentData() == TEXT_SCALES[1]


def test_apply_text_scale_never_compounds(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    base = QApplication.font(widget)
    apply_text_scale(widget, 1.5)
    apply_text_scale(widget, 1.5)
    assert widget.font().pointSizeF() == pytest.approx(base.pointSizeF() * 1.5)
    apply_text_scale(widget, 1.0)
    assert widget.font().pointSizeF() == pytest.approx(base.pointSizeF())
    pixel = base
    pixel.setPixelSize(10)
    assert conversation_font(pixel, 2.0).pixelSize() == 20


def test_the_text_size_reaches_the_messages(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    reply = send(window, qloop, "hello there, a few words to wrap")
    widget = window.chat.view.widget_for(reply)
    assert widget is not None
    body = widget.body.parts[0]
    base = QApplication.font(window.chat.view).pointSizeF()
    assert body.font().pointSizeF() == pytest.approx(base)
    before = body.document().defaultFont().pointSizeF()

    window.settings_pane.text_scale_selector.setCurrentIndex(
        window.settings_pane.text_scale_selector.findData(1.5)
    )
    assert window.context.settings.settings.text_scale == 1.5
    assert body.font().pointSizeF() == pytest.approx(base * 1.5)
    assert body.document().defaultFont().pointSizeF() == pytest.approx(before * 1.5)
    # The composer keeps the system's size.
    assert window.chat.prompt.font().pointSizeF() == pytest.approx(
        QApplication.font(window.chat.prompt).pointSizeF()
    )

    # The next start shows the conversation at the chosen size.
    windows.stop(window)
    again = windows.start()
    assert again.chat.view.font().pointSizeF() == pytest.approx(base * 1.5)
