"""``ApiKeySection``: type a key, then save it in the keychain, use it for now, or forget it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLineEdit, QPushButton, QWidget

from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.form import buddy_label, form_for, info_label, named, set_note

NO_KEYCHAIN_NOTE = (
    "No system keychain is available here, so Iris cannot save a key. Use it for this "
    "session only (Iris forgets it when it quits), or set ANTHROPIC_API_KEY before "
    "starting Iris."
)
ENVIRONMENT_NOTE = (
    "ANTHROPIC_API_KEY is set, so Iris uses that key. A key saved here is used once "
    "ANTHROPIC_API_KEY is no longer set."
)
STILL_DEMO_NOTE = (
    "A key is set, but Iris is still in the offline demo because the demo was chosen "
    "(View › Offline demo, or --demo): replies are made up on this computer and "
    "nothing is sent to Claude."
)


class ApiKeySection(QGroupBox):
    """The API key's field, its buttons, where the key in use comes from, and why.

    The field is masked and cleared once its key is in use; the key itself is
    never shown, logged or put in a name or tooltip. What keeps a key from being
    saved or used (no keychain, the environment's key, the demo) is said right
    under the field, not only in a passing notice.

    Signals:
        demo_off_requested: The person asked to leave the offline demo and use their key.
    """

    demo_off_requested = Signal()

    def __init__(self, key_state: ApiKeyState, parent: QWidget | None = None) -> None:
        """Build the section on ``key_state``."""
        super().__init__("API key", parent)
        self.setObjectName("apiKeySection")
        self._key_state = key_state
        self._demo_requested = False
        form = form_for(self)
        self.api_key_edit = QLineEdit(self)
        named(self.api_key_edit, "apiKeyEdit", "API key")
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setPlaceholderText("sk-ant-…")
        form.addRow(buddy_label("API &key", self.api_key_edit, self), self.api_key_edit)
        self.key_note_label = info_label("keyNoteLabel", "", self)
        form.addRow(self.key_note_label)

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

        self.demo_note_label = info_label("demoNoteLabel", "", self)
        form.addRow(self.demo_note_label)
        self.leave_demo_button = QPushButton("Use my key, not the demo", self)
        named(self.leave_demo_button, "leaveDemoButton", "Leave the offline demo and use my key")
        self.leave_demo_button.setAutoDefault(False)
        demo_row = QHBoxLayout()
        demo_row.addWidget(self.leave_demo_button)
        demo_row.addStretch(1)
        form.addRow(demo_row)

        self._sync_key_state()
        self.api_key_edit.textChanged.connect(self._on_api_key_text_changed)
        self.save_key_button.clicked.connect(self._on_save_key_clicked)
        self.session_key_button.clicked.connect(self._on_session_key_clicked)
        self.forget_key_button.clicked.connect(self._on_forget_key_clicked)
        self.leave_demo_button.clicked.connect(self.demo_off_requested)
        key_state.changed.connect(self._sync_key_state)

    @property
    def tab_order(self) -> list[QWidget]:
        """The section's controls, top to bottom."""
        return [
            self.api_key_edit,
            self.save_key_button,
            self.session_key_button,
            self.forget_key_button,
            self.leave_demo_button,
        ]

    def set_demo_requested(self, requested: bool) -> None:
        """Say whether the offline demo was chosen (it then runs even with a key)."""
        self._demo_requested = requested
        self._sync_notes()

    def _sync_key_state(self) -> None:
        state = self._key_state
        source = state.source
        if source == "environment":
            text = "Using ANTHROPIC_API_KEY from the environment"
        elif source == "keychain":
            text = "Key saved in the system keychain"
        elif source == "session":
            text = "Key kept for this session only: Iris forgets it when it quits"
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
        self._sync_notes()

    def _sync_notes(self) -> None:
        state = self._key_state
        notes = []
        if state.source == "environment":
            notes.append(ENVIRONMENT_NOTE)
        elif not state.keychain_available:
            notes.append(NO_KEYCHAIN_NOTE)
        set_note(self.key_note_label, " ".join(notes))
        still_demo = self._demo_requested and state.key() is not None
        set_note(self.demo_note_label, STILL_DEMO_NOTE if still_demo else "")
        self.leave_demo_button.setVisible(still_demo)
        # The field itself says why, for whoever is typing in it.
        self.api_key_edit.setAccessibleDescription(
            " ".join(t for t in (self.key_note_label.text(), self.demo_note_label.text()) if t)
        )

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
