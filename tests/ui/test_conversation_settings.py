"""A conversation's own settings, from the window to the request and across a restart."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QCheckBox, QWidget

from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings.conversation_settings import (
    ConversationSettingsDialog,
    overrides_summary,
)
from tests.support.qt import eventually
from tests.support.qt import send_prompt as send
from tests.support.windows import Windows

CONTROLS = [
    "conversationModelDefault",
    "conversationModelSelector",
    "conversationSystemDefault",
    "conversationSystemEdit",
    "conversationMaxTokensDefault",
    "conversationMaxTokensSpin",
    "conversationTemperatureDefault",
    "conversationTemperatureSpin",
    "conversationTopPDefault",
    "conversationTopPSpin",
    "conversationSettingsResetButton",
    "conversationSettingsCloseButton",
]


def own_settings(window: MainWindow) -> ConversationSettingsDialog:
    """Open the conversation's settings as Ctrl+Shift+, does."""
    window.conversation_settings_action.trigger()
    dialog = window.conversation_settings
    assert dialog.isVisible()
    return dialog


def set_everything(dialog: ConversationSettingsDialog) -> None:
    """Give the conversation its own model, system prompt, max tokens and sampling."""
    dialog.model_default.setChecked(False)
    dialog.model_selector.setCurrentIndex(dialog.model_selector.findData("claude-opus-4-7"))
    dialog.system_default.setChecked(False)
    dialog.system_edit.setPlainText("Answer like a pirate.")
    dialog.max_tokens_default.setChecked(False)
    dialog.max_tokens_spin.setValue(300)
    dialog.temperature_default.setChecked(False)
    dialog.temperature_spin.setValue(0.25)
    dialog.top_p_default.setChecked(False)
    dialog.top_p_spin.setValue(0.8)


EVERYTHING = ConversationOverrides(
    model="claude-opus-4-7",
    system="Answer like a pirate.",
    max_tokens=300,
    temperature=0.25,
    top_p=0.8,
)


def test_controls_are_named_and_follow_the_defaults(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    window.context.settings.update(system_prompt="Be brief.", max_tokens=2048)
    dialog = own_settings(window)
    for name in CONTROLS:
        widget = dialog.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name
    assert dialog.focusWidget() is dialog.model_default
    # Every setting follows the default, which each box names.
    boxes = [dialog.findChild(QCheckBox, n) for n in CONTROLS if n.endswith("Default")]
    assert all(box is not None and box.isChecked() for box in boxes)
    assert dialog.model_default.text() == "Use the default: Claude Haiku 4.5"
    assert dialog.system_default.text() == "Use the default: “Be brief.”"
    assert dialog.max_tokens_default.text() == "Use the default: 2,048"
    assert not dialog.model_selector.isEnabled()
    assert not dialog.system_edit.isEnabled()
    assert dialog.system_edit.toPlainText() == "Be brief."
    assert dialog.max_tokens_spin.value() == 2048
    assert dialog.conversation_label.text() == "For the new conversation"
    # The default changes: the dialog shows the new one.
    window.context.settings.update(max_tokens=1000)
    assert dialog.max_tokens_default.text() == "Use the default: 1,000"
    assert dialog.max_tokens_spin.value() == 1000
    assert window.chat.settings_button.text() == "Defaults"
    assert window.chat.composer.model_picker.currentData() == "claude-haiku-4-5"


def test_tab_follows_the_dialog_top_to_bottom(windows: Windows, qtbot: Any) -> None:
    window = windows.start()
    dialog = own_settings(window)
    dialog.model_default.setChecked(False)
    dialog.top_p_default.setChecked(False)
    names = []
    for _ in range(20):
        focused = dialog.focusWidget()
        assert focused is not None
        names.append(focused.objectName())
        if focused.objectName() == "conversationSettingsCloseButton":
            break
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert names == [
        "conversationModelDefault",
        "conversationModelSelector",
        "conversationSystemDefault",
        "conversationMaxTokensDefault",
        "conversationTemperatureDefault",
        "conversationTopPDefault",
        "conversationTopPSpin",
        "conversationSettingsResetButton",
        "conversationSettingsCloseButton",
    ]


def test_a_request_carries_the_conversations_own_settings_and_a_new_one_the_defaults(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    server = windows.server
    window.context.settings.update(system_prompt="Default system.", max_tokens=2000)
    send(window, qloop, "first, with the defaults")
    body = server.received[-1].json
    assert (body["model"], body["max_tokens"]) == ("claude-haiku-4-5", 2000)
    assert "temperature" not in body
    assert "top_p" not in body

    dialog = own_settings(window)
    set_everything(dialog)
    assert window.chat.session.overrides == EVERYTHING
    button = window.chat.settings_button
    assert button.text() == "Own settings"
    assert window.chat.composer.model_picker.currentData() == "claude-opus-4-7"
    assert button.property("overridden") is True
    assert button.toolTip() == (
        "Conversation settings (Ctrl+Shift+,). "
        "Own model, system prompt, max tokens, temperature, top P."
    )
    # Images are prepared for the conversation's model.
    catalog = Catalog.load()
    assert window.chat.image_pane.model.limits == catalog.get("claude-opus-4-7").image

    send(window, qloop, "second, with its own")
    body = server.received[-1].json
    assert body["model"] == "claude-opus-4-7"
    assert body["max_tokens"] == 300
    assert (body["temperature"], body["top_p"]) == (0.25, 0.8)
    assert "Answer like a pirate." in str(body["system"])
    assert "Default system." not in str(body["system"])

    # A new conversation asks with the defaults, and the dialog says so.
    qloop.run_until_complete(window.chat.new_conversation())
    assert window.chat.session.overrides.is_empty
    assert dialog.model_default.isChecked()
    assert dialog.conversation_label.text() == "For the new conversation"
    assert window.chat.image_pane.model.limits == catalog.get("claude-haiku-4-5").image
    send(window, qloop, "third, new conversation")
    body = server.received[-1].json
    assert (body["model"], body["max_tokens"]) == ("claude-haiku-4-5", 2000)
    assert "temperature" not in body
    assert "top_p" not in body
    assert "Default system." in str(body["system"])


def test_own_settings_survive_a_restart(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "remember my settings")
    conversation_id = window.chat.conversation_id
    set_everything(own_settings(window))
    history = window.context.history

    async def stored() -> ConversationOverrides:
        assert conversation_id is not None
        loaded = await history.load_conversation(conversation_id)
        assert loaded is not None
        return loaded.overrides

    # The changes were handed to the history's one worker first, so this read
    # comes after them.
    assert qloop.run_until_complete(stored()) == EVERYTHING
    windows.stop(window)

    again = windows.start()
    assert again.chat.conversation_id == conversation_id
    assert again.chat.session.overrides == EVERYTHING
    dialog = own_settings(again)
    assert not dialog.model_default.isChecked()
    assert dialog.model_selector.currentData() == "claude-opus-4-7"
    assert dialog.system_edit.toPlainText() == "Answer like a pirate."
    assert dialog.conversation_label.text() == "For “remember my settings”"
    send(again, qloop, "and again")
    body = windows.server.received[-1].json
    assert (body["model"], body["max_tokens"], body["top_p"]) == ("claude-opus-4-7", 300, 0.8)


def test_settings_made_before_the_first_message_are_kept_with_it(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    dialog = own_settings(window)
    dialog.system_default.setChecked(False)
    dialog.system_edit.setPlainText("")  # none, though the default has one
    window.context.settings.update(system_prompt="Default system.")
    send(window, qloop, "no system prompt here")
    assert "system" not in windows.server.received[-1].json
    conversation_id = window.chat.conversation_id
    assert conversation_id is not None
    qloop.run_until_complete(window.chat.new_conversation())
    assert qloop.run_until_complete(window.chat.open_conversation(conversation_id))
    assert window.chat.session.overrides == ConversationOverrides(system="")
    assert not dialog.system_default.isChecked()
    assert dialog.system_edit.toPlainText() == ""


def test_use_all_defaults_and_switching_conversations(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "mine")
    mine = window.chat.conversation_id
    dialog = own_settings(window)
    set_everything(dialog)
    qloop.run_until_complete(window.chat.new_conversation())
    send(window, qloop, "plain")
    assert dialog.conversation_label.text() == "For “plain”"
    assert dialog.model_default.isChecked()
    assert mine is not None
    assert qloop.run_until_complete(window.chat.open_conversation(mine))
    assert dialog.conversation_label.text() == "For “mine”"
    assert not dialog.model_default.isChecked()
    assert dialog.max_tokens_spin.value() == 300

    dialog.reset_button.click()
    assert window.chat.session.overrides.is_empty
    assert all(
        box.isChecked()
        for box in (dialog.model_default, dialog.system_default, dialog.top_p_default)
    )
    assert not dialog.model_selector.isEnabled()
    assert window.chat.settings_button.text() == "Defaults"
    assert window.chat.composer.model_picker.currentData() == "claude-haiku-4-5"
    assert window.chat.settings_button.property("overridden") is False
    assert window.chat.settings_button.toolTip().endswith("The defaults.")
    send(window, qloop, "defaults again")
    assert windows.server.received[-1].json["model"] == "claude-haiku-4-5"


def test_ctrl_shift_comma_and_the_button_open_it(windows: Windows, qtbot: Any) -> None:
    window = windows.start()
    dialog = window.conversation_settings
    assert not dialog.isVisible()
    qtbot.keyClick(
        window,
        Qt.Key.Key_Comma,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert dialog.isVisible()
    dialog.close()
    button = window.chat.settings_button
    assert button.accessibleName() == "Conversation settings"
    assert "Ctrl+Shift+," in button.toolTip()
    button.click()
    assert dialog.isVisible()


def test_overrides_summary() -> None:
    assert overrides_summary(ConversationOverrides()) == ""
    assert overrides_summary(EVERYTHING) == (
        "Own model, system prompt, max tokens, temperature, top P"
    )


def test_the_button_and_the_usage_fit_a_640_pixel_window(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    send(window, qloop, "a reply, so the usage line is long")
    dialog = own_settings(window)
    dialog.model_default.setChecked(False)
    dialog.close()
    chat = window.chat
    chat.usage_label.setText(
        "Conversation: in 123,456 · out 654,321 · cache write 12,345 · cache read 99,999"
    )
    assert window.minimumSizeHint().width() <= 640
    window.resize(640, 560)
    eventually(qloop, lambda: window.width() == 640)
    for part in (chat.usage_label, chat.settings_button):
        place = QRect(part.mapTo(chat, QPoint(0, 0)), part.size())
        assert chat.rect().contains(place), part.objectName()
    assert chat.settings_button.width() >= chat.settings_button.sizeHint().width()
    label = chat.usage_label
    assert label.height() >= label.heightForWidth(label.width())


def test_the_composers_picker_changes_the_conversations_own_model_and_not_the_default(
    windows: Windows, qloop: asyncio.AbstractEventLoop
) -> None:
    window = windows.start()
    settings = window.context.settings
    picker = window.chat.composer.model_picker
    catalog = Catalog.load()
    # Following the defaults: the picker changes the default.
    picker.activated.emit(picker.findData("claude-sonnet-4-6"))
    assert settings.settings.model == "claude-sonnet-4-6"
    assert window.chat.session.overrides.is_empty
    assert "default" in picker.toolTip()

    # With a model of its own, the picker changes only that, and keeps its own limit
    # within what the new model allows.
    dialog = own_settings(window)
    dialog.model_default.setChecked(False)
    dialog.max_tokens_default.setChecked(False)
    dialog.max_tokens_spin.setValue(100_000)
    dialog.model_selector.setCurrentIndex(dialog.model_selector.findData("claude-opus-4-7"))
    assert window.chat.session.overrides.model == "claude-opus-4-7"
    assert picker.currentData() == "claude-opus-4-7"
    assert "own model" in picker.toolTip()

    picker.activated.emit(picker.findData("claude-haiku-4-5"))
    overrides = window.chat.session.overrides
    assert overrides.model == "claude-haiku-4-5"
    haiku = catalog.get("claude-haiku-4-5")
    assert overrides.max_tokens == haiku.clamp_max_tokens(100_000)
    assert settings.settings.model == "claude-sonnet-4-6"
    assert window.chat.image_pane.model.limits == haiku.image
    assert dialog.model_selector.currentData() == "claude-haiku-4-5"
    send(window, qloop, "with its own model")
    assert windows.server.received[-1].json["model"] == "claude-haiku-4-5"

    # A new conversation follows the default again.
    qloop.run_until_complete(window.chat.new_conversation())
    assert picker.currentData() == "claude-sonnet-4-6"
    assert window.chat.image_pane.model.limits == catalog.get("claude-sonnet-4-6").image
