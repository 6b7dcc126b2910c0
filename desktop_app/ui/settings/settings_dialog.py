"""``SettingsDialog``: the app-wide settings in their own window (Ctrl+,), a page at a time.

It does not block the conversation: changes apply at once, as they are made,
and the dialog can stay open beside the window.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from desktop_app.core.catalog import Catalog
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.form import fit_to_screen
from desktop_app.ui.settings.settings_pane import Page, SettingsPane
from desktop_app.ui.settings.settings_store import SettingsStore

#: The size the dialog opens at, when the screen has room.
PREFERRED_SIZE = (720, 560)
#: The smallest size it can be made: every page still wraps and scrolls, never cut off.
MINIMUM_SIZE = (520, 400)


class SettingsDialog(QDialog):
    """Every setting, a page at a time, with a Close button; changes apply as they are made."""

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
        close.setAutoDefault(False)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pane, 1)
        layout.addWidget(buttons)
        # Never so narrow that a page would be cut off at the side (see SettingsPage).
        width, height = MINIMUM_SIZE
        self.setMinimumSize(max(width, self.minimumSizeHint().width()), height)
        self.resize(max(PREFERRED_SIZE[0], self.minimumWidth()), PREFERRED_SIZE[1])
        self._placed = False

    def open_page(self, page: Page | None = None, focus: QWidget | None = None) -> None:
        """Show the dialog in front on ``page``, with the keyboard on ``focus``.

        Args:
            page: The page to show; by default the one that needs attention (the
                API key's while there is none, else the one shown last).
            focus: The control to put the keyboard on; by default the list of pages.
        """
        self.pane.show_page(page if page is not None else self.pane.page_needing_attention())
        if not self._placed:
            self._placed = True
            fit_to_screen(self)
        self.show()
        self.raise_()
        self.activateWindow()
        (focus or self.pane.page_list).setFocus()
