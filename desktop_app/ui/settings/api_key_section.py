"""``ApiKeySection``: type a key, then save it in the keychain, use it for now, or forget it."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QPushButton, QWidget

from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.form import buddy_label, info_label, named


class ApiKeySection(QGroupBox):
    """The API key's field, its buttons and where the key in use comes from.

    The field is masked and cleared once its key is in use; the key itself is
    never shown, logged or put in a name or tooltip.
    """

    def __init__(self, key_state: ApiKeyState, parent: QWidget | None = None) -> None:
        """Build the section on ``key_state``."""
        super().__init__("API key", parent)
        self._key_state = key_state
        form = QFormLayout(self)
        self.api_key_edit = QLineEdit(self)
        named(self.api_key_edit, "apiKeyEdit", "API key")
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setPlaceholderText("sk-ant-…")
        form.addRow(buddy_label("API &key", self.api_key_edit, self), self.api_key_edit)

        buttons = QWidget(self)
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        self.save_key_button = QPushButton("Save key", buttons)
        named(self.save_key_button, "saveKeyButton", "Save key in the system keychain")
        self.session_key_button = QPushButton("Use for this session only", buttons)
        named(self.session_key_button, "sessionKeyButton", "Use key for this session only")
        self.forget_key_button = QPushButton("Forget key", buttons)
        named(self.forget_key_button, "forgetKeyButton", "Forget key")
        for button in (self.save_key_button, self.session_key_button, self.forget_key_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        form.addRow(buttons)
        self.key_status_label = info_label("keyStatusLabel", "API key status", self)
        form.addRow(self.key_status_label)

        self._sync_key_state()
        self.api_key_edit.textChanged.connect(self._on_api_key_text_changed)
        self.save_key_button.clicked.connect(self._on_save_key_clicked)
        self.session_key_button.clicked.connect(self._on_session_key_clicked)
        self.forget_key_button.clicked.connect(self._on_forget_key_clicked)
        key_state.changed.connect(self._sync_key_state)

    def _sync_key_state(self) -> None:
        state = self._key_state
        source = state.source
        if source == "environment":
            text = "Using ANTHROPIC_API_KEY from the environment"
        elif source == "keychain":
            text = "Key saved in the system keychain"
        elif source == "session":
            text = "Key kept for this session only: Iris forgets it when it quits"
        elif not state.keychain_available:
            text = (
                "No system keychain is available here: the key will be kept for this session only"
            )
        else:
            text = "No key: Iris runs the offline demo"
        self.key_status_label.setText(text)
        self.session_key_button.setVisible(not state.keychain_available)
        self.forget_key_button.setEnabled(source is not None)
        typed = self.api_key_edit.text().strip()
        # Once the typed key is in use, it has no business staying in the field.
        if typed and typed == state.key():
            self.api_key_edit.clear()
        self._on_api_key_text_changed(self.api_key_edit.text())

    def _on_api_key_text_changed(self, text: str) -> None:
        has_text = bool(text.strip())
        self.save_key_button.setEnabled(has_text)
        self.session_key_button.setEnabled(has_text)

    def _on_save_key_clicked(self) -> None:
        self._key_state.save(self.api_key_edit.text())

    def _on_session_key_clicked(self) -> None:
        self._key_state.use_for_session(self.api_key_edit.text())

    def _on_forget_key_clicked(self) -> None:
        self.api_key_edit.clear()
        self._key_state.forget()
