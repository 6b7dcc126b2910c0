"""Settings › API key and connection: the key, the base URL and how long to wait for a reply."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QGroupBox, QLineEdit, QSpinBox, QWidget

from desktop_app.core.settings import MAX_STALL_TIMEOUT, MIN_STALL_TIMEOUT, base_url_problem
from desktop_app.core.wire.request import base_url_from_env
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.api_key_section import ApiKeySection
from desktop_app.ui.settings.form import (
    SettingsPage,
    buddy_label,
    form_for,
    info_label,
    named,
    note_label,
)
from desktop_app.ui.settings.settings_store import SettingsStore

KEY_SAFETY = (
    "Your key is sent only to the base URL below. Iris never shows it, logs it or "
    "writes it to a file; a saved key goes to the system keychain."
)


class KeyPage(SettingsPage):
    """The API key (with why it can or cannot be saved), the base URL and the stall timeout."""

    def __init__(
        self, store: SettingsStore, key_state: ApiKeyState, parent: QWidget | None = None
    ) -> None:
        """Build the page on ``store`` and ``key_state``."""
        super().__init__("apiKeyPage", "API key and connection", parent)
        self._store = store
        self.column.addWidget(note_label("keySafetyLabel", KEY_SAFETY, self.content))
        self.key_section = ApiKeySection(key_state, self.content)
        self.column.addWidget(self.key_section)
        self.column.addWidget(self._build_connection_group())
        self.finish()
        self._sync_base_url()
        self._sync_stall_timeout()
        self.base_url_edit.textEdited.connect(self._on_base_url_edited)
        self.stall_timeout_spin.valueChanged.connect(self._on_stall_timeout_changed)
        store.changed.connect(self._on_store_changed)

    @property
    def tab_order(self) -> list[QWidget]:
        """The page's controls, top to bottom."""
        return [*self.key_section.tab_order, self.base_url_edit, self.stall_timeout_spin]

    def _build_connection_group(self) -> QGroupBox:
        group = QGroupBox("Connection", self.content)
        form = form_for(group)
        self.base_url_edit = QLineEdit(group)
        named(self.base_url_edit, "baseUrlEdit", "Base URL")
        self.base_url_edit.setPlaceholderText(base_url_from_env(""))
        form.addRow(buddy_label("&Base URL", self.base_url_edit, group), self.base_url_edit)
        self.base_url_message = info_label("baseUrlMessage", "Base URL problem", group)
        self.base_url_message.hide()
        form.addRow(self.base_url_message)

        self.stall_timeout_spin = QSpinBox(group)
        named(
            self.stall_timeout_spin,
            "stallTimeoutSpin",
            "Seconds to wait for new content before a reply counts as stalled",
        )
        self.stall_timeout_spin.setRange(int(MIN_STALL_TIMEOUT), int(MAX_STALL_TIMEOUT))
        self.stall_timeout_spin.setSuffix(" s")
        self.stall_timeout_spin.setToolTip(
            "A reply that brings no new text for this long (only keep-alive traffic, "
            "or nothing) is ended; what arrived is kept."
        )
        form.addRow(
            buddy_label("Wait for &new content", self.stall_timeout_spin, group),
            self.stall_timeout_spin,
        )
        return group

    # -- widgets -> store --------------------------------------------------------------------

    def _on_base_url_edited(self, text: str) -> None:
        url = text.strip()
        problem = base_url_problem(url)
        hint = "" if problem is None else f"Not saved. {problem}"
        if problem is not None:
            self.base_url_message.setText(hint)
        self.base_url_message.setVisible(problem is not None)
        # Screen readers hear the problem on the field itself, not only in the label.
        self.base_url_edit.setAccessibleDescription(hint)
        if problem is None:
            self._store.update(base_url=url)

    def _on_stall_timeout_changed(self, value: int) -> None:
        self._store.update(stall_timeout=float(value))

    # -- store -> widgets --------------------------------------------------------------------

    def _on_store_changed(self, name: str) -> None:
        if name == "base_url":
            self._sync_base_url()
        elif name == "stall_timeout":
            self._sync_stall_timeout()

    def _sync_base_url(self) -> None:
        settings = self._store.settings
        if self.base_url_edit.text().strip() != settings.base_url:
            with QSignalBlocker(self.base_url_edit):
                self.base_url_edit.setText(settings.base_url)
        self.base_url_message.hide()
        self.base_url_edit.setAccessibleDescription("")

    def _sync_stall_timeout(self) -> None:
        with QSignalBlocker(self.stall_timeout_spin):
            self.stall_timeout_spin.setValue(round(self._store.settings.stall_timeout))
