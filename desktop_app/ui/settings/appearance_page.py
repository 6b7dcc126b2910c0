"""Settings › Appearance: the theme follows the system; the conversation's text size is ours."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QGroupBox, QWidget

from desktop_app.ui.appearance import TEXT_SIZES, text_size_label
from desktop_app.ui.settings.form import (
    SettingsPage,
    buddy_label,
    form_for,
    named,
    note_label,
)
from desktop_app.ui.settings.settings_store import SettingsStore

THEME_NOTE = (
    "Iris follows your system's theme: light or dark, its colours and its fonts. "
    "Change them in your system's settings."
)
TEXT_SIZE_NOTE = (
    "The size of the messages in the conversation; the rest of the window follows the system."
)


class AppearancePage(SettingsPage):
    """A note on the theme, and the conversation's text size."""

    def __init__(self, store: SettingsStore, parent: QWidget | None = None) -> None:
        """Build the page on ``store``."""
        super().__init__("appearancePage", "Appearance", parent)
        self._store = store
        self.column.addWidget(note_label("themeNoteLabel", THEME_NOTE, self.content))
        group = QGroupBox("Conversation", self.content)
        form = form_for(group)
        self.text_scale_selector = QComboBox(group)
        named(self.text_scale_selector, "textScaleSelector", "Conversation text size")
        self.text_scale_selector.setAccessibleDescription(TEXT_SIZE_NOTE)
        for factor in TEXT_SIZES:
            self.text_scale_selector.addItem(text_size_label(factor), factor)
        form.addRow(
            buddy_label("Text &size", self.text_scale_selector, group), self.text_scale_selector
        )
        form.addRow(note_label("textSizeNoteLabel", TEXT_SIZE_NOTE, group))
        self.column.addWidget(group)
        self.finish()
        self._sync_text_scale()
        self.text_scale_selector.currentIndexChanged.connect(self._on_text_scale_selected)
        store.changed.connect(self._on_store_changed)

    @property
    def tab_order(self) -> list[QWidget]:
        """The page's controls, top to bottom."""
        return [self.text_scale_selector]

    def _on_text_scale_selected(self, index: int) -> None:
        factor = self.text_scale_selector.itemData(index)
        if isinstance(factor, float):
            self._store.update(text_scale=factor)

    def _on_store_changed(self, name: str) -> None:
        if name == "text_scale":
            self._sync_text_scale()

    def _sync_text_scale(self) -> None:
        factor = self._store.settings.text_scale
        selector = self.text_scale_selector
        with QSignalBlocker(selector):
            index = selector.findData(factor)
            if index < 0:
                # A size between the offered ones (typed into the file) stays selectable,
                # in its place by size.
                index = next(
                    (i for i in range(selector.count()) if selector.itemData(i) > factor),
                    selector.count(),
                )
                selector.insertItem(index, text_size_label(factor), factor)
            selector.setCurrentIndex(index)
