"""``ConversationSettingsDialog``: the settings one conversation asks for differently.

Model, system prompt, max tokens, temperature and top P can each follow the
global setting ("Use the default", which names it) or be this conversation's
own. Changes apply at once, to the next request of the conversation shown, and
are stored with it; a new conversation starts with the defaults. The dialog
follows the conversation shown: opening another one shows its settings.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.catalog import Catalog
from desktop_app.core.conversation.options import ConversationOverrides
from desktop_app.core.conversation.session import ConversationSession
from desktop_app.core.settings import Settings
from desktop_app.ui import notify
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.settings.form import (
    buddy_label,
    fit_to_screen,
    form_for,
    info_label,
    named,
    note_label,
)
from desktop_app.ui.settings.model_page import fill_models, select_model
from desktop_app.ui.settings.request_page import unit_spin
from desktop_app.ui.settings.settings_store import SettingsStore

# A default system prompt is named by its start in the "Use the default" box.
_PROMPT_PREVIEW = 40
EXPLANATION = (
    "What this conversation asks for differently from Settings › Request defaults. "
    "Changes apply to its next message."
)


def _preview(prompt: str) -> str:
    line = " ".join(prompt.split())
    if not line:
        return "none"
    if len(line) > _PROMPT_PREVIEW:
        line = line[: _PROMPT_PREVIEW - 1].rstrip() + "…"
    return f"“{line}”"


def _sampling(value: float | None) -> str:
    return "not sent (the model's own)" if value is None else f"{value:.2f}"


class ConversationSettingsDialog(QDialog):
    """The open conversation's own model, system prompt, max tokens, temperature and top P.

    The controls are public attributes with stable object names: for each
    setting a "use the default" box (``conversationModelDefault``, ...) and its
    control (``conversationModelSelector``, ``conversationSystemEdit``,
    ``conversationMaxTokensSpin``, ``conversationTemperatureSpin``,
    ``conversationTopPSpin``), disabled while the default is used.
    """

    def __init__(
        self,
        session: ConversationSession,
        store: SettingsStore,
        catalog: Catalog,
        parent: QWidget | None = None,
    ) -> None:
        """Build the dialog for the conversation ``session`` shows."""
        super().__init__(parent)
        self.setObjectName("conversationSettingsDialog")
        self.setWindowTitle("Conversation settings")
        self.setAccessibleName("Conversation settings")
        self.setModal(False)
        self._session = session
        self._store = store
        self._catalog = catalog

        self.conversation_label = info_label("conversationSettingsTitle", "Conversation", self)
        explanation = note_label("conversationSettingsNote", EXPLANATION, self)
        group = QGroupBox("This conversation", self)
        form = form_for(group)

        self.model_default = self._default_box(group, "conversationModelDefault", "model")
        self.model_selector = QComboBox(group)
        named(self.model_selector, "conversationModelSelector", "Model for this conversation")
        fill_models(self.model_selector, catalog)
        self._add_row(form, group, "&Model", self.model_default, self.model_selector)

        self.system_default = self._default_box(
            group, "conversationSystemDefault", "system prompt"
        )
        self.system_edit = QPlainTextEdit(group)
        named(self.system_edit, "conversationSystemEdit", "System prompt for this conversation")
        self.system_edit.setTabChangesFocus(True)
        self.system_edit.setPlaceholderText("None")
        lines = self.system_edit.fontMetrics().lineSpacing()
        self.system_edit.setMinimumHeight(lines * 3 + 12)
        self.system_edit.setMaximumHeight(lines * 6 + 12)
        self._add_row(form, group, "S&ystem prompt", self.system_default, self.system_edit)

        self.max_tokens_default = self._default_box(
            group, "conversationMaxTokensDefault", "max tokens"
        )
        self.max_tokens_spin = QSpinBox(group)
        named(
            self.max_tokens_spin,
            "conversationMaxTokensSpin",
            "Maximum output tokens for this conversation",
        )
        self.max_tokens_spin.setGroupSeparatorShown(True)
        self._add_row(form, group, "Max &tokens", self.max_tokens_default, self.max_tokens_spin)

        self.temperature_default = self._default_box(
            group, "conversationTemperatureDefault", "temperature"
        )
        self.temperature_spin = unit_spin(
            group, "conversationTemperatureSpin", "Temperature for this conversation"
        )
        self._add_row(form, group, "Te&mperature", self.temperature_default, self.temperature_spin)

        self.top_p_default = self._default_box(group, "conversationTopPDefault", "top P")
        self.top_p_spin = unit_spin(group, "conversationTopPSpin", "Top P for this conversation")
        self._add_row(form, group, "Top &P", self.top_p_default, self.top_p_spin)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.reset_button = QPushButton("Use all defaults", self)
        named(
            self.reset_button,
            "conversationSettingsResetButton",
            "Use the defaults for every setting of this conversation",
        )
        buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        named(close, "conversationSettingsCloseButton", "Close conversation settings")
        for button in (self.reset_button, close):
            button.setAutoDefault(False)
        buttons.rejected.connect(self.close)
        self.reset_button.clicked.connect(self._on_reset_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(self.conversation_label)
        layout.addWidget(explanation)
        layout.addWidget(group)
        layout.addStretch(1)
        layout.addWidget(buttons)

        order: list[QWidget] = [
            self.model_default,
            self.model_selector,
            self.system_default,
            self.system_edit,
            self.max_tokens_default,
            self.max_tokens_spin,
            self.temperature_default,
            self.temperature_spin,
            self.top_p_default,
            self.top_p_spin,
            self.reset_button,
            close,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

        self._sync()
        for box in self._default_boxes:
            box.toggled.connect(self._on_changed)
        self.model_selector.currentIndexChanged.connect(self._on_changed)
        self.system_edit.textChanged.connect(self._on_changed)
        self.max_tokens_spin.valueChanged.connect(self._on_changed)
        self.temperature_spin.valueChanged.connect(self._on_changed)
        self.top_p_spin.valueChanged.connect(self._on_changed)
        session.overrides_changed.connect(self._sync)
        session.reset.connect(self._sync)
        session.stored.connect(self._on_stored)
        store.changed.connect(self._on_setting_changed)
        self.resize(520, 560)
        self._placed = False

    @property
    def _default_boxes(self) -> tuple[QCheckBox, ...]:
        return (
            self.model_default,
            self.system_default,
            self.max_tokens_default,
            self.temperature_default,
            self.top_p_default,
        )

    @staticmethod
    def _default_box(parent: QWidget, object_name: str, what: str) -> QCheckBox:
        box = QCheckBox("Use the default", parent)
        named(box, object_name, f"Use the default {what}")
        return box

    @staticmethod
    def _add_row(
        form: QFormLayout, parent: QWidget, label: str, box: QCheckBox, control: QWidget
    ) -> None:
        cell = QWidget(parent)
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(box)
        column.addWidget(control)
        form.addRow(buddy_label(label, box, parent), cell)

    # -- public ------------------------------------------------------------------------------

    def open_for_conversation(self) -> None:
        """Show the dialog in front, with the keyboard on its first control."""
        self._sync()
        if not self._placed:
            self._placed = True
            fit_to_screen(self)
        self.show()
        self.raise_()
        self.activateWindow()
        self.model_default.setFocus()

    def refresh_models(self) -> None:
        """List the catalog's models again (after it was refreshed from the service)."""
        with QSignalBlocker(self.model_selector):
            fill_models(self.model_selector, self._catalog)
        self._sync()

    # -- widgets -> session ------------------------------------------------------------------

    def _read(self) -> ConversationOverrides:
        model = self.model_selector.currentData()
        own_model = not self.model_default.isChecked() and isinstance(model, str)
        own_system = not self.system_default.isChecked()
        own_tokens = not self.max_tokens_default.isChecked()
        own_temperature = not self.temperature_default.isChecked()
        own_top_p = not self.top_p_default.isChecked()
        return ConversationOverrides(
            model=model if own_model else None,
            system=self.system_edit.toPlainText() if own_system else None,
            max_tokens=self.max_tokens_spin.value() if own_tokens else None,
            temperature=self.temperature_spin.value() if own_temperature else None,
            top_p=self.top_p_spin.value() if own_top_p else None,
        )

    def _on_changed(self) -> None:
        self._apply(self._read())

    def _on_reset_clicked(self) -> None:
        self._apply(ConversationOverrides())

    def _apply(self, overrides: ConversationOverrides) -> None:
        if overrides == self._session.overrides:
            self._sync()  # a control was enabled or disabled, nothing else changed
            return
        self._save(self._session.set_overrides(overrides))
        self._sync()

    @async_slot(object)
    async def _save(self, storing: Coroutine[Any, Any, None]) -> None:
        await notify.saved_or_said(
            storing, "The conversation's settings apply for now, but they could not be saved"
        )

    # -- session and settings -> widgets -----------------------------------------------------

    def _on_stored(self, _conversation_id: int) -> None:
        self._sync_title()

    def _on_setting_changed(self, name: str) -> None:
        if name in ("model", "system_prompt", "max_tokens", "temperature", "top_p"):
            self._sync()

    def _sync_title(self) -> None:
        title = self._session.conversation.title
        if self._session.conversation_id is None and not title:
            text = "For the new conversation"
        else:
            text = f"For “{title or 'Untitled conversation'}”"
        self.conversation_label.setText(text)
        self.conversation_label.setAccessibleName(text)

    def _sync(self) -> None:
        """Show the session's overrides, and what each default is."""
        self._sync_title()
        defaults: Settings = self._store.settings
        own = self._session.overrides
        effective = own.apply(defaults)
        model = self._catalog.get(effective.model)
        default_model = self._catalog.get(defaults.model)
        rows: list[tuple[QCheckBox, QWidget, object, str]] = [
            (self.model_default, self.model_selector, own.model, default_model.display_name),
            (self.system_default, self.system_edit, own.system, _preview(defaults.system_prompt)),
            (
                self.max_tokens_default,
                self.max_tokens_spin,
                own.max_tokens,
                f"{default_model.clamp_max_tokens(defaults.max_tokens):,}",
            ),
            (
                self.temperature_default,
                self.temperature_spin,
                own.temperature,
                _sampling(defaults.temperature),
            ),
            (self.top_p_default, self.top_p_spin, own.top_p, _sampling(defaults.top_p)),
        ]
        for box, control, value, default_text in rows:
            with QSignalBlocker(box):
                box.setChecked(value is None)
                box.setText(f"Use the default: {default_text}")
            control.setEnabled(value is not None)
            # What the default is, for whoever hears the control rather than sees the box.
            control.setAccessibleDescription(
                f"The default is {default_text}." if value is None else ""
            )
        with QSignalBlocker(self.model_selector):
            select_model(self.model_selector, model)
        system = effective.system_prompt
        if self.system_edit.toPlainText() != system:
            with QSignalBlocker(self.system_edit):
                self.system_edit.setPlainText(system)
        with QSignalBlocker(self.max_tokens_spin):
            self.max_tokens_spin.setRange(1, model.output_ceiling)
            self.max_tokens_spin.setValue(model.clamp_max_tokens(effective.max_tokens))
        for spin, value in (
            (self.temperature_spin, effective.temperature),
            (self.top_p_spin, effective.top_p),
        ):
            with QSignalBlocker(spin):
                # The model's own default is 1.0 for both: where a change starts from.
                spin.setValue(1.0 if value is None else value)


def overrides_summary(overrides: ConversationOverrides) -> str:
    """Which settings a conversation sets itself, in words ("" for none)."""
    names = {
        "model": "model",
        "system": "system prompt",
        "max_tokens": "max tokens",
        "temperature": "temperature",
        "top_p": "top P",
    }
    own = [
        names[f.name]
        for f in dataclasses.fields(overrides)
        if getattr(overrides, f.name) is not None
    ]
    return "Own " + ", ".join(own) if own else ""
