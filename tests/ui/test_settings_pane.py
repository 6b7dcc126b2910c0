"""The settings pane, the settings store and the API key state, offscreen."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_app.core import secrets
from desktop_app.core.api.ratelimit import LimitFigures, RateLimitSnapshot, rate_limit_summary
from desktop_app.core.catalog import Catalog
from desktop_app.core.errors import KeychainUnavailableError
from desktop_app.core.paths import AppPaths
from desktop_app.core.settings import (
    SETTINGS_FILE,
    Settings,
    format_stop_sequences,
    load_settings,
    parse_stop_sequences,
    save_settings,
)
from desktop_app.ui import notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.settings import settings_store
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.api_key_section import (
    ENVIRONMENT_NOTE,
    NO_KEYCHAIN_NOTE,
    STILL_DEMO_NOTE,
)
from desktop_app.ui.settings.settings_pane import Page, SettingsPane
from desktop_app.ui.settings.settings_store import SettingsStore
from tests.conftest import MemoryKeyring
from tests.support.offline import FaultyServer
from tests.support.qt import arm, wait

KEY = "sk-ant-api03-TESTKEY-do-not-leak-0123456789"
KEYCHAIN_ENTRY = (secrets.SERVICE, secrets.USERNAME)

# objectName -> widget type; every one also needs an accessible name.
CONTROLS: dict[str, type[QWidget]] = {
    "settingsPageList": QListWidget,
    "modelSelector": QComboBox,
    "tierSelector": QComboBox,
    "customRpmOpus": QSpinBox,
    "customRpmSonnet": QSpinBox,
    "customRpmHaiku": QSpinBox,
    "maxTokensSpin": QSpinBox,
    "temperatureCheck": QCheckBox,
    "temperatureSpin": QDoubleSpinBox,
    "topPCheck": QCheckBox,
    "topPSpin": QDoubleSpinBox,
    "stopSequencesEdit": QLineEdit,
    "systemPromptEdit": QPlainTextEdit,
    "promptCachingCheck": QCheckBox,
    "baseUrlEdit": QLineEdit,
    "stallTimeoutSpin": QSpinBox,
    "apiKeyEdit": QLineEdit,
    "saveKeyButton": QAbstractButton,
    "sessionKeyButton": QAbstractButton,
    "forgetKeyButton": QAbstractButton,
    "leaveDemoButton": QAbstractButton,
    "textScaleSelector": QComboBox,
    "modelInfoLabel": QLabel,
    "rateLimitLabel": QLabel,
    "keyStatusLabel": QLabel,
}
# Controls a label names (the spin boxes next to a "Set" box are named by that box).
LABELLED = [
    "modelSelector",
    "tierSelector",
    "customRpmOpus",
    "customRpmSonnet",
    "customRpmHaiku",
    "maxTokensSpin",
    "temperatureCheck",
    "topPCheck",
    "stopSequencesEdit",
    "systemPromptEdit",
    "promptCachingCheck",
    "baseUrlEdit",
    "stallTimeoutSpin",
    "apiKeyEdit",
    "textScaleSelector",
]
# Each page's controls, top to bottom; Tab reaches them after the list of pages.
PAGE_TAB_ORDER: dict[Page, list[str]] = {
    Page.API_KEY: [
        "apiKeyEdit",
        "saveKeyButton",
        "sessionKeyButton",
        "forgetKeyButton",
        "leaveDemoButton",
        "baseUrlEdit",
        "stallTimeoutSpin",
    ],
    Page.MODELS: [
        "modelSelector",
        "tierSelector",
        "customRpmOpus",
        "customRpmSonnet",
        "customRpmHaiku",
    ],
    Page.REQUESTS: [
        "maxTokensSpin",
        "temperatureCheck",
        "temperatureSpin",
        "topPCheck",
        "topPSpin",
        "stopSequencesEdit",
        "systemPromptEdit",
        "promptCachingCheck",
    ],
    Page.APPEARANCE: ["textScaleSelector"],
}


@pytest.fixture
def shown(qapp: Any) -> Iterator[list[notify.UserMessage]]:
    """The messages sent to the user during the test."""
    received: list[notify.UserMessage] = []
    notify.bridge.reset()
    notify.bridge.shown.connect(received.append)
    notify.bridge.flush()
    yield received
    notify.bridge.shown.disconnect(received.append)
    notify.bridge.reset()


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def config_dir(user_dirs: dict[str, Path]) -> Path:
    return user_dirs["config"]


@pytest.fixture
def store(config_dir: Path) -> SettingsStore:
    return SettingsStore(config_dir)


@pytest.fixture
def key_state() -> ApiKeyState:
    state = ApiKeyState()
    state.load()
    return state


@pytest.fixture
def pane(
    qtbot: QtBot, store: SettingsStore, catalog: Catalog, key_state: ApiKeyState
) -> SettingsPane:
    widget = SettingsPane(store, catalog, key_state)
    qtbot.addWidget(widget)
    widget.resize(480, 900)
    widget.show()
    return widget


def child(pane: SettingsPane, name: str) -> Any:
    found = pane.findChild(QWidget, name)
    assert found is not None, name
    return found


def focusable(widget: QWidget, root: QWidget) -> bool:
    return (
        bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
        and widget.isVisibleTo(root)
        and widget.isEnabled()
        and widget.focusProxy() is None
    )


# -- structure ----------------------------------------------------------------------------


def test_controls_have_stable_names_accessible_names_and_labels(pane: SettingsPane) -> None:
    for name, kind in CONTROLS.items():
        widget = child(pane, name)
        assert isinstance(widget, kind), name
        assert widget.accessibleName(), name
    buddies = {label.buddy() for label in pane.findChildren(QLabel) if label.buddy() is not None}
    for name in LABELLED:
        assert child(pane, name) in buddies, name
    assert child(pane, "apiKeyEdit").echoMode() == QLineEdit.EchoMode.Password


def test_every_control_is_on_exactly_one_page(pane: SettingsPane) -> None:
    names = [name for names in PAGE_TAB_ORDER.values() for name in names]
    assert sorted(names) == sorted(
        n for n, kind in CONTROLS.items() if kind is not QLabel and n != "settingsPageList"
    )
    for page, names in PAGE_TAB_ORDER.items():
        for name in names:
            assert pane.page(page).isAncestorOf(child(pane, name)), name


def test_tab_goes_from_the_list_through_the_shown_page_top_to_bottom(
    pane: SettingsPane, qtbot: QtBot, key_state: ApiKeyState
) -> None:
    # Show everything that can be hidden or disabled, so every control takes part.
    pane.tier_selector.setCurrentIndex(pane.tier_selector.findData("custom"))
    pane.temperature_check.setChecked(True)
    pane.top_p_check.setChecked(True)
    key_state.use_for_session("sk-ant-session")  # enables Forget
    pane.set_demo_requested(True)  # with a key: offers to leave the demo
    qtbot.keyClicks(pane.api_key_edit, "x")
    pane.session_key_button.show()  # normally only without a keychain
    for page, names in PAGE_TAB_ORDER.items():
        pane.show_page(page)
        assert pane.pages.currentWidget() is pane.page(page)
        expected = {w for w in pane.findChildren(QWidget) if focusable(w, pane)}
        # Only the list and the shown page's controls take part; hidden pages do not.
        assert {child(pane, name) for name in ["settingsPageList", *names]} == expected

        start = pane.page_list
        visited: list[QWidget] = [start]
        widget: QWidget | None = start.nextInFocusChain()
        while widget is not None and widget is not start and len(visited) < 500:
            if focusable(widget, pane):
                visited.append(widget)
            widget = widget.nextInFocusChain()
        assert [w.objectName() for w in visited] == ["settingsPageList", *names], page


def page_of(pane: SettingsPane) -> Page:
    return pane.current_page


def test_the_list_of_pages_switches_pages(pane: SettingsPane, qtbot: QtBot) -> None:
    titles = [pane.page_list.item(i).text() for i in range(pane.page_list.count())]
    assert titles == [
        "API key and connection",
        "Models and rate limits",
        "Request defaults",
        "Appearance",
    ]
    assert page_of(pane) is Page.MODELS
    pane.page_list.setFocus()
    qtbot.keyClick(pane.page_list, Qt.Key.Key_Down)
    assert page_of(pane) is Page.REQUESTS
    assert pane.request_page.isVisibleTo(pane)
    assert not pane.model_page.isVisibleTo(pane)
    qtbot.keyClick(pane.page_list, Qt.Key.Key_Home)
    assert page_of(pane) is Page.API_KEY
    assert pane.api_key_edit.isVisibleTo(pane)
    # Ctrl+Page Down moves on from anywhere in the pane, round to the first page.
    pane.show_page(Page.APPEARANCE)
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(pane.text_scale_selector, Qt.Key.Key_PageDown, ctrl)
    assert page_of(pane) is Page.API_KEY
    qtbot.keyClick(pane.page_list, Qt.Key.Key_PageUp, ctrl)
    assert page_of(pane) is Page.APPEARANCE


def test_system_prompt_tab_moves_focus(
    pane: SettingsPane, qtbot: QtBot, store: SettingsStore
) -> None:
    edit = pane.system_prompt_edit
    assert edit.tabChangesFocus()
    qtbot.keyClicks(edit, "Be brief.")
    qtbot.keyClick(edit, Qt.Key.Key_Tab)
    assert "\t" not in edit.toPlainText()
    assert store.settings.system_prompt == "Be brief."


# -- model, tier, request options ------------------------------------------------------------


def test_model_change_updates_info_and_reclamps_max_tokens(
    qtbot: QtBot, config_dir: Path, catalog: Catalog, key_state: ApiKeyState
) -> None:
    store = SettingsStore(config_dir, Settings().with_changes(max_tokens=30_000))
    pane = SettingsPane(store, catalog, key_state)
    qtbot.addWidget(pane)
    info = child(pane, "modelInfoLabel")
    spin = child(pane, "maxTokensSpin")
    assert pane.model_selector.currentData() == "claude-sonnet-4-6"
    assert pane.model_selector.currentText() == "Claude Sonnet 4.6"
    assert info.text() == (
        "200K context · 8,192 max output (64,000 with extended output) · images up to 3.0 MP"
    )
    assert (spin.maximum(), spin.value()) == (64_000, 30_000)

    pane.model_selector.setCurrentIndex(pane.model_selector.findData("claude-haiku-4-5"))
    assert store.settings.model == "claude-haiku-4-5"
    assert store.settings.max_tokens == 8192
    assert (spin.maximum(), spin.value()) == (8192, 8192)
    assert info.text() == "200K context · 8,192 max output · images up to 2.0 MP"

    pane.model_selector.setCurrentIndex(pane.model_selector.findData("claude-sonnet-3-7"))
    assert "images up to 1.15 MP and 1,568 px on the long side" in info.text()


def test_store_changes_update_widgets_without_echo(
    pane: SettingsPane, qtbot: QtBot, store: SettingsStore
) -> None:
    store.update(max_tokens=50_000)
    emitted: list[str] = []
    store.changed.connect(emitted.append)
    store.update(model="claude-opus-4-7")  # from code: the pane re-clamps max_tokens
    assert emitted == ["model", "max_tokens"]
    assert pane.model_selector.currentData() == "claude-opus-4-7"
    assert store.settings.max_tokens == 8192
    assert pane.max_tokens_spin.value() == 8192

    emitted.clear()
    store.update(
        stop_sequences=("END", "a,b"),
        system_prompt="Be brief.",
        prompt_caching=False,
        base_url="http://127.0.0.1:9",
        top_p=0.5,
    )
    assert emitted == ["top_p", "stop_sequences", "system_prompt", "prompt_caching", "base_url"]
    assert pane.stop_sequences_edit.text() == "END, a\\,b"
    assert pane.system_prompt_edit.toPlainText() == "Be brief."
    assert not pane.prompt_caching_check.isChecked()
    assert pane.base_url_edit.text() == "http://127.0.0.1:9"
    assert pane.top_p_check.isChecked()
    assert pane.top_p_spin.value() == 0.5
    emitted.clear()
    store.update(system_prompt="Be brief.")
    assert emitted == []


def test_unknown_model_is_kept_selectable(
    qtbot: QtBot, config_dir: Path, catalog: Catalog, key_state: ApiKeyState
) -> None:
    store = SettingsStore(config_dir, Settings().with_changes(model="claude-future-9"))
    pane = SettingsPane(store, catalog, key_state)
    qtbot.addWidget(pane)
    assert pane.model_selector.currentData() == "claude-future-9"
    assert "limits guessed" in child(pane, "modelInfoLabel").text()
    assert store.settings.model == "claude-future-9"

    # The service later lists it: the pane shows its real limits.
    catalog.merge_remote([{"id": "claude-future-9", "display_name": "Claude Future 9"}])
    pane.refresh_models()
    assert pane.model_selector.currentText() == "Claude Future 9"
    assert pane.model_selector.count() == len(catalog.models)
    assert "limits guessed" not in child(pane, "modelInfoLabel").text()


def test_tier_and_custom_rpm(pane: SettingsPane, store: SettingsStore) -> None:
    rpm = child(pane, "tierRpmLabel")
    box = child(pane, "customRpmBox")
    assert pane.tier_selector.currentText() == "Tier 1"
    assert [pane.tier_selector.itemText(i) for i in range(pane.tier_selector.count())] == [
        "Tier 1",
        "Tier 2",
        "Tier 3",
        "Tier 4",
        "Custom",
    ]
    assert rpm.text() == "50 requests per minute for Sonnet"
    assert not box.isVisibleTo(pane)

    pane.tier_selector.setCurrentIndex(pane.tier_selector.findData("tier-3"))
    assert store.settings.tier == "tier-3"
    assert rpm.text() == "200 requests per minute for Sonnet"

    pane.tier_selector.setCurrentIndex(pane.tier_selector.findData("custom"))
    assert store.settings.tier == "custom"
    assert box.isVisibleTo(pane)
    child(pane, "customRpmSonnet").setValue(77)
    child(pane, "customRpmOpus").setValue(3)
    assert store.settings.custom_rpm_map == {"opus": 3, "sonnet": 77, "haiku": 100}
    assert rpm.text() == "77 requests per minute for Sonnet"
    pane.model_selector.setCurrentIndex(pane.model_selector.findData("claude-opus-4-7"))
    assert rpm.text() == "3 requests per minute for Opus"

    pane.tier_selector.setCurrentIndex(pane.tier_selector.findData("tier-1"))
    assert not box.isVisibleTo(pane)
    assert store.settings.custom_rpm_map["sonnet"] == 77  # kept for next time


def test_temperature_and_top_p_unset_means_none(pane: SettingsPane, store: SettingsStore) -> None:
    for check, spin, field in (
        (pane.temperature_check, pane.temperature_spin, "temperature"),
        (pane.top_p_check, pane.top_p_spin, "top_p"),
    ):
        assert not check.isChecked()
        assert not spin.isEnabled()
        assert getattr(store.settings, field) is None
        check.setChecked(True)
        assert spin.isEnabled()
        assert getattr(store.settings, field) == spin.value()
        spin.setValue(0.35)
        assert getattr(store.settings, field) == pytest.approx(0.35)
        assert (spin.minimum(), spin.maximum(), spin.singleStep()) == (0.0, 1.0, 0.05)
        check.setChecked(False)
        assert getattr(store.settings, field) is None
        assert not spin.isEnabled()


def test_stop_sequences_edit(pane: SettingsPane, qtbot: QtBot, store: SettingsStore) -> None:
    qtbot.keyClicks(pane.stop_sequences_edit, r"END, a\,b , \n\nHuman:")
    assert store.settings.stop_sequences == ("END", "a,b", "\n\nHuman:")


@pytest.mark.parametrize(
    ("text", "sequences"),
    [
        ("", ()),
        ("END", ("END",)),
        ("a, b,,c ,", ("a", "b", "c")),
        (r"a\,b", ("a,b",)),
        (r"\n\nHuman:", ("\n\nHuman:",)),
        (r"C:\path, x\\y", (r"C:\path", "x\\y")),
        (r"\sEND\s, tab\t", (" END ", "tab\t")),
        ("trailing\\", ("trailing\\",)),
    ],
)
def test_parse_stop_sequences(text: str, sequences: tuple[str, ...]) -> None:
    assert parse_stop_sequences(text) == sequences
    assert parse_stop_sequences(format_stop_sequences(sequences)) == sequences


def test_base_url_invalid_is_not_saved(
    pane: SettingsPane, qtbot: QtBot, store: SettingsStore
) -> None:
    pane.show_page(Page.API_KEY)
    edit = pane.base_url_edit
    message = child(pane, "baseUrlMessage")
    assert edit.placeholderText() == "https://api.anthropic.com"
    assert not message.isVisibleTo(pane)
    qtbot.keyClicks(edit, "ftp://example.com")
    assert message.isVisibleTo(pane)
    assert edit.accessibleDescription()
    assert store.settings.base_url == ""
    edit.clear()
    qtbot.keyClicks(edit, "http://localhost:8080")
    assert not message.isVisibleTo(pane)
    assert store.settings.base_url == "http://localhost:8080"


def test_plain_http_base_url_elsewhere_is_refused_with_its_reason(
    pane: SettingsPane, qtbot: QtBot, store: SettingsStore
) -> None:
    pane.show_page(Page.API_KEY)
    edit = pane.base_url_edit
    message = child(pane, "baseUrlMessage")
    qtbot.keyClicks(edit, "http://gateway.example.com")
    assert message.isVisibleTo(pane)
    assert "https://" in message.text()
    assert "unencrypted" in message.text()
    assert message.accessibleName()
    assert edit.accessibleDescription() == message.text()
    assert store.settings.base_url == ""
    edit.clear()
    qtbot.keyClicks(edit, "https://gateway.example.com")
    assert not message.isVisibleTo(pane)
    assert edit.accessibleDescription() == ""
    assert store.settings.base_url == "https://gateway.example.com"
    edit.clear()
    qtbot.keyClicks(edit, "http://[::1]:8080")
    assert not message.isVisibleTo(pane)
    assert store.settings.base_url == "http://[::1]:8080"


def test_stall_timeout_control(pane: SettingsPane, store: SettingsStore) -> None:
    spin = child(pane, "stallTimeoutSpin")
    assert spin.value() == 180
    assert (spin.minimum(), spin.maximum()) == (10, 3600)
    assert spin.suffix() == " s"
    assert "stalled" in spin.accessibleName()
    spin.setValue(45)
    assert store.settings.stall_timeout == 45.0
    store.update(stall_timeout=600.0)  # from code: the control follows
    assert spin.value() == 600


def test_stall_timeout_setting_reaches_the_windows_client(
    qloop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
) -> None:
    context = AppContext(paths)
    try:
        context.api_key.use_for_session(KEY)
        context.settings.update(base_url=server.base_url)
        pane = SettingsPane(context.settings, context.catalog, context.api_key)
        pane.stall_timeout_spin.setValue(45)
        assert context.client().stall_timeout == 45.0
        pane.stall_timeout_spin.setValue(70)
        assert context.client().stall_timeout == 70.0
        pane.deleteLater()
    finally:
        qloop.run_until_complete(context.aclose())


def test_base_url_placeholder_shows_environment_default(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    store: SettingsStore,
    catalog: Catalog,
    key_state: ApiKeyState,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://gateway.internal:8000/")
    pane = SettingsPane(store, catalog, key_state)
    qtbot.addWidget(pane)
    assert pane.base_url_edit.placeholderText() == "http://gateway.internal:8000"


def test_rate_limit_label() -> None:
    assert rate_limit_summary(None) == "No response yet"
    reset = datetime(2026, 4, 2, 10, 32, 5).astimezone()
    snapshot = RateLimitSnapshot(
        family="sonnet",
        tier_rpm=50,
        server={
            "requests": LimitFigures(50, 48, reset),
            "tokens": LimitFigures(80_000, 79_000, reset),
        },
        paused_for=0.0,
    )
    assert rate_limit_summary(snapshot) == (
        "Requests 48/50 left · tokens 79,000/80,000 · resets 10:32:05"
    )
    split = RateLimitSnapshot(
        "opus",
        20,
        {
            "input-tokens": LimitFigures(None, 5, None),
            "output-tokens": LimitFigures(9, None, None),
        },
        paused_for=12.4,
    )
    assert (
        rate_limit_summary(split) == "Input tokens 5 left · output tokens limit 9 · waiting 12 s"
    )


def test_show_rate_limits(pane: SettingsPane) -> None:
    label = child(pane, "rateLimitLabel")
    assert label.text() == "No response yet"
    pane.show_rate_limits(
        RateLimitSnapshot("sonnet", 50, {"requests": LimitFigures(50, 1, None)}, 0)
    )
    assert label.text() == "Requests 1/50 left"
    pane.show_rate_limits(None)
    assert label.text() == "No response yet"


def test_dark_palette_is_followed(pane: SettingsPane) -> None:
    dark = QPalette()
    light_text = QColor(230, 230, 230)
    for role, colour in (
        (QPalette.ColorRole.Window, QColor(30, 30, 30)),
        (QPalette.ColorRole.WindowText, light_text),
        (QPalette.ColorRole.Base, QColor(20, 20, 20)),
        (QPalette.ColorRole.Text, light_text),
        (QPalette.ColorRole.Button, QColor(45, 45, 45)),
        (QPalette.ColorRole.ButtonText, light_text),
    ):
        dark.setColor(role, colour)
    pane.setPalette(dark)
    pane.grab()  # paints every child
    widgets: list[QWidget] = [pane, *pane.findChildren(QWidget)]
    assert all(w.styleSheet() == "" for w in widgets)
    for label in pane.findChildren(QLabel):
        assert label.palette().color(label.foregroundRole()) == light_text, label.objectName()


# -- persistence ------------------------------------------------------------------------------


def test_changes_in_pane_persist(
    pane: SettingsPane, qtbot: QtBot, config_dir: Path, catalog: Catalog, store: SettingsStore
) -> None:
    pane.model_selector.setCurrentIndex(pane.model_selector.findData("claude-opus-4-7"))
    pane.tier_selector.setCurrentIndex(pane.tier_selector.findData("custom"))
    child(pane, "customRpmHaiku").setValue(12)
    pane.max_tokens_spin.setValue(2048)
    pane.temperature_check.setChecked(True)
    pane.temperature_spin.setValue(0.2)
    qtbot.keyClicks(pane.stop_sequences_edit, "STOP")
    qtbot.keyClicks(pane.system_prompt_edit, "Answer in French.")
    pane.prompt_caching_check.setChecked(False)
    qtbot.keyClicks(pane.base_url_edit, "https://proxy.example")
    pending = store.dirty
    store.flush()
    assert pending
    assert not store.dirty

    reloaded = SettingsStore(config_dir)
    assert reloaded.settings == store.settings
    s = reloaded.settings
    assert (s.model, s.tier, s.custom_rpm_map["haiku"], s.max_tokens) == (
        "claude-opus-4-7",
        "custom",
        12,
        2048,
    )
    assert s.temperature == pytest.approx(0.2)
    assert (s.top_p, s.stop_sequences) == (None, ("STOP",))
    assert (s.system_prompt, s.prompt_caching, s.base_url) == (
        "Answer in French.",
        False,
        "https://proxy.example",
    )
    # A new pane shows what was saved.
    again = SettingsPane(reloaded, catalog, ApiKeyState())
    qtbot.addWidget(again)
    assert again.model_selector.currentData() == "claude-opus-4-7"
    assert again.system_prompt_edit.toPlainText() == "Answer in French."
    assert again.temperature_check.isChecked()


def test_save_is_debounced_without_a_loop(
    qtbot: QtBot, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []

    def recording_save(directory: Path, settings: Settings) -> None:
        if directory == config_dir:  # not a store left over from an earlier test
            writes.append(settings.max_tokens)
        save_settings(directory, settings)

    monkeypatch.setattr(settings_store, "save_settings", recording_save)
    store = SettingsStore(config_dir, save_delay_ms=50)
    with qtbot.waitSignal(store.saved, timeout=5000):
        store.update(max_tokens=100)
        store.update(max_tokens=200)
        assert not (config_dir / SETTINGS_FILE).exists()  # nothing written on the spot
    assert writes == [200]  # one write for the burst
    assert not store.dirty
    assert load_settings(config_dir).max_tokens == 200


def test_save_runs_in_a_worker_thread_under_the_loop(
    qloop: asyncio.AbstractEventLoop, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []

    def recording_save(directory: Path, settings: Settings) -> None:
        if directory == config_dir:  # not a store left over from an earlier test
            threads.append(threading.current_thread())
        save_settings(directory, settings)

    monkeypatch.setattr(settings_store, "save_settings", recording_save)
    store = SettingsStore(config_dir, save_delay_ms=20)

    async def change_and_wait() -> None:
        saved = arm(store.saved)
        store.update(system_prompt="one")
        store.update(system_prompt="two")
        await saved
        assert not store.dirty

    qloop.run_until_complete(asyncio.wait_for(change_and_wait(), 5))
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()
    assert load_settings(config_dir).system_prompt == "two"


def test_save_errors_become_user_messages(
    qtbot: QtBot,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    shown: list[notify.UserMessage],
    qloop: asyncio.AbstractEventLoop,
) -> None:
    def failing_save(directory: Path, settings: Settings) -> None:
        raise PermissionError(13, "Permission denied", str(directory / SETTINGS_FILE))

    monkeypatch.setattr(settings_store, "save_settings", failing_save)
    store = SettingsStore(config_dir, save_delay_ms=10)
    saves: list[bool] = []
    store.saved.connect(lambda: saves.append(True))
    store.update(max_tokens=10)
    store.flush()  # no traceback
    assert [(m.level, m.text) for m in shown] == [
        (
            notify.Level.ERROR,
            f"Could not save settings: Permission denied ({config_dir / SETTINGS_FILE})",
        )
    ]
    assert store.dirty  # kept, so the next save tries again

    shown.clear()

    reported = arm(notify.bridge.shown)
    store.update(max_tokens=20)
    (message,) = wait(qloop, reported)
    assert message.level is notify.Level.ERROR
    assert message.text.startswith("Could not save settings: Permission denied")
    assert shown == [message]
    assert store.dirty
    assert saves == []  # a failed write is never announced as saved


def test_damaged_settings_file_is_reported_and_kept(
    config_dir: Path, shown: list[notify.UserMessage]
) -> None:
    (config_dir / SETTINGS_FILE).write_text("{oops", encoding="utf-8")
    store = SettingsStore(config_dir)
    assert store.settings == Settings()
    assert len(shown) == 1
    assert shown[0].level is notify.Level.WARNING
    assert "settings.json.corrupt-" in shown[0].text
    assert len(list(config_dir.glob("settings.json.corrupt-*"))) == 1


# -- API key -----------------------------------------------------------------------------


def _all_bytes(*roots: Path) -> Iterator[tuple[Path, bytes]]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                yield path, path.read_bytes()


def _assert_key_nowhere(pane: SettingsPane, roots: list[Path]) -> None:
    for path, data in _all_bytes(*roots):
        assert KEY.encode() not in data, path
    objects: list[QObject] = [pane, *pane.findChildren(QObject)]
    for obj in objects:
        assert KEY not in obj.objectName()
        if isinstance(obj, QWidget):
            for text in (obj.toolTip(), obj.accessibleName(), obj.accessibleDescription()):
                assert KEY not in text


def test_key_saved_to_keychain_and_never_to_disk(
    pane: SettingsPane,
    qtbot: QtBot,
    memory_keyring: MemoryKeyring,
    key_state: ApiKeyState,
    user_dirs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
    shown: list[notify.UserMessage],
    store: SettingsStore,
) -> None:
    caplog.set_level(logging.DEBUG)
    pane.show_page(Page.API_KEY)
    status = child(pane, "keyStatusLabel")
    assert status.text() == "No key: Iris runs the offline demo"
    assert not pane.save_key_button.isEnabled()
    assert not pane.forget_key_button.isEnabled()
    assert pane.api_key_edit.isVisibleTo(pane)
    assert not pane.session_key_button.isVisibleTo(pane)
    # A keychain is there and the key is ours: nothing needs explaining.
    assert not child(pane, "keyNoteLabel").isVisibleTo(pane)
    assert not child(pane, "demoNoteLabel").isVisibleTo(pane)

    qtbot.keyClicks(pane.api_key_edit, KEY)
    assert pane.save_key_button.isEnabled()
    with qtbot.waitSignal(key_state.changed, timeout=2000):
        qtbot.mouseClick(pane.save_key_button, Qt.MouseButton.LeftButton)
    assert memory_keyring.passwords[KEYCHAIN_ENTRY] == KEY
    assert (key_state.key(), key_state.source) == (KEY, "keychain")
    assert status.text() == "Key saved in the system keychain"
    assert pane.api_key_edit.text() == ""  # the key does not linger in the field
    assert pane.forget_key_button.isEnabled()

    # Make sure the settings are on disk too, then look for the key everywhere.
    qtbot.keyClicks(pane.system_prompt_edit, "hello")
    store.flush()
    assert (user_dirs["config"] / SETTINGS_FILE).exists()
    _assert_key_nowhere(pane, list(user_dirs.values()))
    assert KEY not in caplog.text
    assert all(KEY not in m.text for m in shown)
    assert KEY not in repr(key_state)

    # A fresh start finds it in the keychain.
    again = ApiKeyState()
    again.load()
    assert (again.key(), again.source) == (KEY, "keychain")

    qtbot.mouseClick(pane.forget_key_button, Qt.MouseButton.LeftButton)
    assert KEYCHAIN_ENTRY not in memory_keyring.passwords
    assert (key_state.key(), key_state.source) == (None, None)
    assert status.text() == "No key: Iris runs the offline demo"


def test_key_save_runs_off_the_ui_thread_under_the_loop(
    pane: SettingsPane,
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    memory_keyring: MemoryKeyring,
    key_state: ApiKeyState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[threading.Thread] = []
    real_store = secrets.store_api_key

    def recording_store(key: str) -> None:
        threads.append(threading.current_thread())
        real_store(key)

    monkeypatch.setattr(secrets, "store_api_key", recording_store)
    qtbot.keyClicks(pane.api_key_edit, KEY)

    async def click_and_wait() -> None:
        changed = arm(key_state.changed)
        pane.save_key_button.click()  # returns at once; the keychain call is in a thread
        assert KEYCHAIN_ENTRY not in memory_keyring.passwords
        await asyncio.wait_for(changed, 5)

    qloop.run_until_complete(click_and_wait())
    assert memory_keyring.passwords[KEYCHAIN_ENTRY] == KEY
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()
    assert child(pane, "keyStatusLabel").text() == "Key saved in the system keychain"

    forgotten = arm(key_state.changed)
    pane.forget_key_button.click()
    wait(qloop, forgotten)
    assert KEYCHAIN_ENTRY not in memory_keyring.passwords


def test_keychain_unavailable_offers_session_only(
    pane: SettingsPane,
    qtbot: QtBot,
    memory_keyring: MemoryKeyring,
    key_state: ApiKeyState,
    monkeypatch: pytest.MonkeyPatch,
    shown: list[notify.UserMessage],
    user_dirs: dict[str, Path],
    store: SettingsStore,
) -> None:
    def no_keychain(key: str) -> None:
        raise KeychainUnavailableError("No system keychain is available.")

    monkeypatch.setattr(secrets, "store_api_key", no_keychain)
    pane.show_page(Page.API_KEY)
    status = child(pane, "keyStatusLabel")
    note = child(pane, "keyNoteLabel")
    assert not note.isVisibleTo(pane)
    qtbot.keyClicks(pane.api_key_edit, KEY)
    qtbot.mouseClick(pane.save_key_button, Qt.MouseButton.LeftButton)

    assert not memory_keyring.passwords
    assert key_state.key() is None
    assert not key_state.keychain_available
    assert status.text() == "No key: Iris runs the offline demo"
    assert [m.level for m in shown] == [notify.Level.WARNING]
    assert "keychain" in shown[0].text
    # Said where the key is typed too, in plain text, not only in the passing notice.
    assert note.isVisibleTo(pane)
    assert note.text() == NO_KEYCHAIN_NOTE
    assert note.textFormat() is Qt.TextFormat.PlainText
    assert note.accessibleName() == NO_KEYCHAIN_NOTE
    assert NO_KEYCHAIN_NOTE in pane.api_key_edit.accessibleDescription()
    assert KEY not in note.text()
    assert pane.session_key_button.isVisibleTo(pane)
    assert pane.api_key_edit.text() == KEY  # still there for the session button

    qtbot.mouseClick(pane.session_key_button, Qt.MouseButton.LeftButton)
    assert (key_state.key(), key_state.source) == (KEY, "session")
    assert status.text().startswith("Key kept for this session only")
    assert pane.api_key_edit.text() == ""
    assert not memory_keyring.passwords
    store.update(max_tokens=5)
    store.flush()
    _assert_key_nowhere(pane, list(user_dirs.values()))

    pane.forget_key_button.click()
    assert key_state.key() is None


def test_no_keychain_at_start_shows_session_option(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    store: SettingsStore,
    catalog: Catalog,
) -> None:
    monkeypatch.setattr(secrets, "keychain_available", lambda: False)
    state = ApiKeyState()
    state.load()
    pane = SettingsPane(store, catalog, state)
    qtbot.addWidget(pane)
    pane.show()
    pane.show_page(Page.API_KEY)
    assert child(pane, "keyNoteLabel").text() == NO_KEYCHAIN_NOTE
    assert child(pane, "keyNoteLabel").isVisibleTo(pane)
    assert pane.session_key_button.isVisibleTo(pane)
    assert not pane.session_key_button.isEnabled()  # until a key is typed
    qtbot.keyClicks(pane.api_key_edit, KEY)
    assert pane.session_key_button.isEnabled()


def test_environment_key_is_shown(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    store: SettingsStore,
    catalog: Catalog,
    memory_keyring: MemoryKeyring,
    qloop: asyncio.AbstractEventLoop,
    shown: list[notify.UserMessage],
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    state = ApiKeyState()
    qloop.run_until_complete(state.load_async())
    assert (state.key(), state.source) == (KEY, "environment")
    pane = SettingsPane(store, catalog, state)
    qtbot.addWidget(pane)
    pane.show()
    pane.show_page(Page.API_KEY)
    assert child(pane, "keyStatusLabel").text() == "Using ANTHROPIC_API_KEY from the environment"
    assert child(pane, "keyNoteLabel").text() == ENVIRONMENT_NOTE
    assert child(pane, "keyNoteLabel").isVisibleTo(pane)

    # Saving another key stores it, but the environment still wins, and the user is told.
    qtbot.keyClicks(pane.api_key_edit, "sk-ant-other")
    pane.save_key_button.click()
    assert memory_keyring.passwords[KEYCHAIN_ENTRY] == "sk-ant-other"
    assert (state.key(), state.source) == (KEY, "environment")
    assert "ANTHROPIC_API_KEY" in shown[-1].text
    assert KEY not in shown[-1].text


def test_still_in_the_demo_with_a_key_is_explained_by_the_key_and_can_be_left(
    pane: SettingsPane, qtbot: QtBot, key_state: ApiKeyState
) -> None:
    pane.show_page(Page.API_KEY)
    note = child(pane, "demoNoteLabel")
    leave = pane.leave_demo_button
    pane.set_demo_requested(True)
    # No key: the status already says the demo runs; there is nothing to leave for.
    assert not note.isVisibleTo(pane)
    assert not leave.isVisibleTo(pane)
    key_state.use_for_session(KEY)
    assert note.isVisibleTo(pane)
    assert note.text() == STILL_DEMO_NOTE
    assert note.textFormat() is Qt.TextFormat.PlainText
    assert note.accessibleName() == STILL_DEMO_NOTE
    assert STILL_DEMO_NOTE in pane.api_key_edit.accessibleDescription()
    assert leave.isVisibleTo(pane)
    with qtbot.waitSignal(pane.demo_off_requested, timeout=1000):
        leave.click()
    pane.set_demo_requested(False)
    assert not note.isVisibleTo(pane)
    assert not leave.isVisibleTo(pane)
    assert pane.api_key_edit.accessibleDescription() == ""
