"""``SettingsDialog``: the app-wide settings in their own window (Ctrl+,).

It does not block the conversation: changes apply at once, as they are made,
and the dialog can stay open beside the window.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from desktop_app.core.catalog import Catalog
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.settings_pane import SettingsPane
from desktop_app.ui.settings.settings_store import SettingsStore


class SettingsDialog(QDialog):
    """Every setting, with a Close button; changes apply as they are made."""

    def __init__(
        self,
        store: SettingsStore,
        catalog: Catalog,
        key_state: ApiKeyState,
        parent: QWidget | None = None,
    ) -> None:
        """Build the dialog on the app's settings, catalog and key."""
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.setModal(False)
        self.pane = SettingsPane(store, catalog, key_state, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("settingsCloseButton")
        close.setAccessibleName("Close settings")
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pane, 1)
        layout.addWidget(buttons)
        self.resize(640, 720)

    def show_and_focus(self, focus: QWidget | None = None) -> None:
        """Show the dialog in front and put the keyboard on ``focus`` (the model, by default)."""
        self.show()
        self.raise_()
        self.activateWindow()
        (focus or self.pane.model_selector).setFocus()
