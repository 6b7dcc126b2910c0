"""Settings › Request defaults: what every request asks for unless its conversation says otherwise.

How stop sequences are typed is described in :mod:`desktop_app.core.settings`.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from desktop_app.core.catalog import Catalog
from desktop_app.core.settings import Settings, format_stop_sequences, parse_stop_sequences
from desktop_app.ui.settings.form import (
    SettingsPage,
    buddy_label,
    form_for,
    named,
    note_label,
)
from desktop_app.ui.settings.settings_store import SettingsStore

DEFAULTS_NOTE = (
    "New conversations use these. A conversation can set its own model, system prompt, "
    "max tokens, temperature and top P: Conversation › Conversation settings (Ctrl+Shift+,)."
)


def unit_spin(parent: QWidget, object_name: str, accessible_name: str) -> QDoubleSpinBox:
    """A spin box for a sampling number from 0 to 1, in steps of 0.05."""
    spin = QDoubleSpinBox(parent)
    named(spin, object_name, accessible_name)
    spin.setRange(0.0, 1.0)
    spin.setSingleStep(0.05)
    spin.setDecimals(2)
    spin.setValue(1.0)
    return spin


class RequestPage(SettingsPage):
    """Max tokens, sampling, stop sequences, system prompt and prompt caching."""

    def __init__(
        self, store: SettingsStore, catalog: Catalog, parent: QWidget | None = None
    ) -> None:
        """Build the page on ``store``; ``catalog`` gives each model's output limit."""
        super().__init__("requestsPage", "Request defaults", parent)
        self._store = store
        self._catalog = catalog
        self.column.addWidget(note_label("requestDefaultsNote", DEFAULTS_NOTE, self.content))
        self.column.addWidget(self._build_group())
        self.finish()
        self._sync_all()
        self.max_tokens_spin.valueChanged.connect(self._on_max_tokens_changed)
        self.temperature_check.toggled.connect(self._on_temperature_changed)
        self.temperature_spin.valueChanged.connect(self._on_temperature_changed)
        self.top_p_check.toggled.connect(self._on_top_p_changed)
        self.top_p_spin.valueChanged.connect(self._on_top_p_changed)
        self.stop_sequences_edit.textEdited.connect(self._on_stop_sequences_edited)
        self.system_prompt_edit.textChanged.connect(self._on_system_prompt_changed)
        self.prompt_caching_check.toggled.connect(self._on_prompt_caching_toggled)
        store.changed.connect(self._on_store_changed)

    @property
    def tab_order(self) -> list[QWidget]:
        """The page's controls, top to bottom."""
        return [
            self.max_tokens_spin,
            self.temperature_check,
            self.temperature_spin,
            self.top_p_check,
            self.top_p_spin,
            self.stop_sequences_edit,
            self.system_prompt_edit,
            self.prompt_caching_check,
        ]

    def _build_group(self) -> QGroupBox:
        group = QGroupBox("Requests", self.content)
        form = form_for(group)

        self.max_tokens_spin = QSpinBox(group)
        named(self.max_tokens_spin, "maxTokensSpin", "Maximum output tokens")
        self.max_tokens_spin.setGroupSeparatorShown(True)
        form.addRow(buddy_label("Max &tokens", self.max_tokens_spin, group), self.max_tokens_spin)

        self.temperature_check, self.temperature_spin = self._optional_number(
            group, form, "Te&mperature", "temperature", "Temperature"
        )
        self.top_p_check, self.top_p_spin = self._optional_number(
            group, form, "Top &P", "topP", "Top P"
        )

        self.stop_sequences_edit = QLineEdit(group)
        named(self.stop_sequences_edit, "stopSequencesEdit", "Stop sequences")
        self.stop_sequences_edit.setPlaceholderText("None (comma-separated)")
        self.stop_sequences_edit.setToolTip(
            "Comma-separated. Type \\, for a comma, \\n for a new line, "
            "\\s for a space at either end and \\\\ for a backslash."
        )
        form.addRow(
            buddy_label("&Stop sequences", self.stop_sequences_edit, group),
            self.stop_sequences_edit,
        )

        self.system_prompt_edit = QPlainTextEdit(group)
        named(self.system_prompt_edit, "systemPromptEdit", "System prompt")
        # Tab must move on to the next control, as everywhere else in Settings.
        self.system_prompt_edit.setTabChangesFocus(True)
        self.system_prompt_edit.setPlaceholderText("None")
        # A few lines show; more scroll. The page stays within a small window.
        lines = self.system_prompt_edit.fontMetrics().lineSpacing()
        self.system_prompt_edit.setMinimumHeight(lines * 3 + 12)
        self.system_prompt_edit.setMaximumHeight(lines * 8 + 12)
        form.addRow(
            buddy_label("S&ystem prompt", self.system_prompt_edit, group), self.system_prompt_edit
        )

        self.prompt_caching_check = QCheckBox("Reuse the start of requests", group)
        named(self.prompt_caching_check, "promptCachingCheck", "Prompt caching")
        self.prompt_caching_check.setToolTip(
            "Marks where the unchanged start of each request ends, so the service can "
            "reuse it: cheaper and quicker for long conversations."
        )
        form.addRow(
            buddy_label("Prompt &caching", self.prompt_caching_check, group),
            self.prompt_caching_check,
        )
        return group

    def _optional_number(
        self, group: QGroupBox, form: QFormLayout, label: str, key: str, title: str
    ) -> tuple[QCheckBox, QDoubleSpinBox]:
        row = QWidget(group)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        check = QCheckBox("Set", row)
        named(check, f"{key}Check", f"Set {title.lower()}")
        spin = unit_spin(row, f"{key}Spin", title)
        spin.setToolTip("Unset: not sent, so the model's default applies.")
        layout.addWidget(check)
        layout.addWidget(spin, 1)
        form.addRow(buddy_label(label, check, group), row)
        return check, spin

    # -- widgets -> store --------------------------------------------------------------------

    @property
    def _settings(self) -> Settings:
        return self._store.settings

    def _on_max_tokens_changed(self, value: int) -> None:
        self._store.update(max_tokens=value)

    def _on_temperature_changed(self) -> None:
        self.temperature_spin.setEnabled(self.temperature_check.isChecked())
        value = self.temperature_spin.value() if self.temperature_check.isChecked() else None
        self._store.update(temperature=value)

    def _on_top_p_changed(self) -> None:
        self.top_p_spin.setEnabled(self.top_p_check.isChecked())
        value = self.top_p_spin.value() if self.top_p_check.isChecked() else None
        self._store.update(top_p=value)

    def _on_stop_sequences_edited(self, text: str) -> None:
        self._store.update(stop_sequences=parse_stop_sequences(text))

    def _on_system_prompt_changed(self) -> None:
        self._store.update(system_prompt=self.system_prompt_edit.toPlainText())

    def _on_prompt_caching_toggled(self, checked: bool) -> None:
        self._store.update(prompt_caching=checked)

    # -- store -> widgets --------------------------------------------------------------------

    def _on_store_changed(self, name: str) -> None:
        sync = {
            "model": self._sync_model_limit,
            "max_tokens": self._sync_max_tokens,
            "temperature": self._sync_sampling,
            "top_p": self._sync_sampling,
            "stop_sequences": self._sync_stop_sequences,
            "system_prompt": self._sync_system_prompt,
            "prompt_caching": self._sync_prompt_caching,
        }.get(name)
        if sync is not None:
            sync()

    def _sync_all(self) -> None:
        self._sync_model_limit()
        self._sync_sampling()
        self._sync_stop_sequences()
        self._sync_system_prompt()
        self._sync_prompt_caching()

    def _sync_model_limit(self) -> None:
        """Fit max tokens to the model's output limit (a lower limit lowers the setting)."""
        model = self._catalog.get(self._settings.model)
        with QSignalBlocker(self.max_tokens_spin):
            self.max_tokens_spin.setRange(1, model.output_ceiling)
        clamped = model.clamp_max_tokens(self._settings.max_tokens)
        if clamped != self._settings.max_tokens:
            self._store.update(max_tokens=clamped)
        else:
            self._sync_max_tokens()

    def _sync_max_tokens(self) -> None:
        with QSignalBlocker(self.max_tokens_spin):
            self.max_tokens_spin.setValue(self._settings.max_tokens)

    def _sync_sampling(self) -> None:
        for value, check, spin in (
            (self._settings.temperature, self.temperature_check, self.temperature_spin),
            (self._settings.top_p, self.top_p_check, self.top_p_spin),
        ):
            with QSignalBlocker(check), QSignalBlocker(spin):
                check.setChecked(value is not None)
                spin.setEnabled(value is not None)
                if value is not None:
                    spin.setValue(value)

    def _sync_stop_sequences(self) -> None:
        current = self._settings.stop_sequences
        # Leave the user's spelling alone while it means the same sequences once
        # validated: rewriting it mid-word (a lone "\n" is dropped as blank) would
        # wreck what they are typing.
        typed = Settings(stop_sequences=parse_stop_sequences(self.stop_sequences_edit.text()))
        if typed.validate().stop_sequences != current:
            with QSignalBlocker(self.stop_sequences_edit):
                self.stop_sequences_edit.setText(format_stop_sequences(current))

    def _sync_system_prompt(self) -> None:
        # Resetting the text would move the cursor, so only do it for outside changes.
        if self.system_prompt_edit.toPlainText() != self._settings.system_prompt:
            with QSignalBlocker(self.system_prompt_edit):
                self.system_prompt_edit.setPlainText(self._settings.system_prompt)

    def _sync_prompt_caching(self) -> None:
        with QSignalBlocker(self.prompt_caching_check):
            self.prompt_caching_check.setChecked(self._settings.prompt_caching)
