"""The settings pane: a list of pages on the left, the page on the right.

The pages are API key and connection, Models and rate limits, Request
defaults and Appearance. Every control writes straight to the
:class:`SettingsStore` (there is no Apply button), and every store change is
written back into the controls with their signals blocked, so a change never
echoes back.
"""

from __future__ import annotations

import enum
import itertools

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QStackedWidget, QWidget

from desktop_app.core.api.ratelimit import RateLimitSnapshot
from desktop_app.core.catalog import Catalog
from desktop_app.ui import icons
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.appearance_page import AppearancePage
from desktop_app.ui.settings.form import SettingsPage
from desktop_app.ui.settings.key_page import KeyPage
from desktop_app.ui.settings.model_page import ModelPage
from desktop_app.ui.settings.request_page import RequestPage
from desktop_app.ui.settings.settings_store import SettingsStore


class Page(enum.IntEnum):
    """The pages of Settings, in the order the list shows them."""

    API_KEY = 0
    MODELS = 1
    REQUESTS = 2
    APPEARANCE = 3


_ICONS = {
    Page.API_KEY: "key-round",
    Page.MODELS: "brain",
    Page.REQUESTS: "sliders-horizontal",
    Page.APPEARANCE: "sun",
}


class SettingsPane(QWidget):
    """Every setting, a page at a time; changes apply at once.

    The controls are public attributes (``model_selector``, ``tier_selector``,
    ``max_tokens_spin``, ...) and carry stable object names (``modelSelector``,
    ``tierSelector``, ``maxTokensSpin``, ...) for tests and accessibility tools.
    The list of pages is ``page_list`` (``settingsPageList``); Ctrl+Page Down and
    Ctrl+Page Up also move between pages.

    Signals:
        demo_off_requested: The person asked to leave the offline demo and use their key.
    """

    demo_off_requested = Signal()

    def __init__(
        self,
        store: SettingsStore,
        catalog: Catalog,
        key_state: ApiKeyState,
        parent: QWidget | None = None,
    ) -> None:
        """Build the pages, fill them from ``store`` and ``key_state``, and connect them."""
        super().__init__(parent)
        self.setObjectName("settingsPane")
        self.setAccessibleName("Settings")
        self._key_state = key_state

        self.key_page = KeyPage(store, key_state)
        self.model_page = ModelPage(store, catalog)
        self.request_page = RequestPage(store, catalog)
        self.appearance_page = AppearancePage(store)
        self._pages: dict[Page, SettingsPage] = {
            Page.API_KEY: self.key_page,
            Page.MODELS: self.model_page,
            Page.REQUESTS: self.request_page,
            Page.APPEARANCE: self.appearance_page,
        }

        self.page_list = QListWidget(self)
        self.page_list.setObjectName("settingsPageList")
        self.page_list.setAccessibleName("Settings pages")
        self.pages = QStackedWidget(self)
        self.pages.setObjectName("settingsPages")
        for page, widget in self._pages.items():
            item = QListWidgetItem(icons.icon_for(self.page_list, _ICONS[page]), widget.title)
            item.setToolTip(widget.title)
            self.page_list.addItem(item)
            self.pages.addWidget(widget)
        self.page_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # As wide as its longest name, so no name is cut off and the page gets the rest.
        frame = 2 * self.page_list.frameWidth()
        self.page_list.setFixedWidth(self.page_list.sizeHintForColumn(0) + frame + 12)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.page_list)
        layout.addWidget(self.pages, 1)
        self.page_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.page_list.setCurrentRow(Page.MODELS)

        # Each page's controls, as attributes of the pane like before the pages.
        key_section = self.key_page.key_section
        self.key_section = key_section
        self.api_key_edit = key_section.api_key_edit
        self.save_key_button = key_section.save_key_button
        self.session_key_button = key_section.session_key_button
        self.forget_key_button = key_section.forget_key_button
        self.key_status_label = key_section.key_status_label
        self.key_note_label = key_section.key_note_label
        self.demo_note_label = key_section.demo_note_label
        self.leave_demo_button = key_section.leave_demo_button
        self.base_url_edit = self.key_page.base_url_edit
        self.base_url_message = self.key_page.base_url_message
        self.stall_timeout_spin = self.key_page.stall_timeout_spin
        self.model_selector = self.model_page.model_selector
        self.model_info_label = self.model_page.model_info_label
        self.tier_selector = self.model_page.tier_selector
        self.custom_rpm_box = self.model_page.custom_rpm_box
        self.custom_rpm_spins = self.model_page.custom_rpm_spins
        self.tier_rpm_label = self.model_page.tier_rpm_label
        self.rate_limit_label = self.model_page.rate_limit_label
        self.max_tokens_spin = self.request_page.max_tokens_spin
        self.temperature_check = self.request_page.temperature_check
        self.temperature_spin = self.request_page.temperature_spin
        self.top_p_check = self.request_page.top_p_check
        self.top_p_spin = self.request_page.top_p_spin
        self.stop_sequences_edit = self.request_page.stop_sequences_edit
        self.system_prompt_edit = self.request_page.system_prompt_edit
        self.prompt_caching_check = self.request_page.prompt_caching_check
        self.text_scale_selector = self.appearance_page.text_scale_selector

        # The list, then the shown page top to bottom (hidden pages are skipped).
        order: list[QWidget] = [self.page_list]
        for widget in self._pages.values():
            order.extend(widget.tab_order)
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

        for keys, step in (("Ctrl+PgDown", 1), ("Ctrl+PgUp", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda step=step: self._step_page(step))
        key_section.demo_off_requested.connect(self.demo_off_requested)

    # -- pages -------------------------------------------------------------------------------

    def page(self, page: Page) -> SettingsPage:
        """The widget of ``page`` (a scroll area holding the page)."""
        return self._pages[page]

    @property
    def current_page(self) -> Page:
        """The page shown."""
        return Page(max(0, self.page_list.currentRow()))

    def show_page(self, page: Page) -> None:
        """Show ``page`` and select it in the list."""
        self.page_list.setCurrentRow(page)

    def page_needing_attention(self) -> Page:
        """The page to open on: the API key's while there is none, else the one last shown."""
        if self._key_state.key() is None:
            return Page.API_KEY
        return self.current_page

    def first_control(self, page: Page) -> QWidget:
        """Where the keyboard starts on ``page``."""
        return self._pages[page].tab_order[0]

    def _step_page(self, step: int) -> None:
        count = self.page_list.count()
        self.show_page(Page((self.current_page + step) % count))
        self.page_list.setFocus()

    # -- public ------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """List the catalog's models again (after it was refreshed from the service)."""
        self.model_page.refresh_models()

    def show_rate_limits(self, snapshot: RateLimitSnapshot | None) -> None:
        """Show the service's latest remaining/limit figures (None: no response yet)."""
        self.model_page.show_rate_limits(snapshot)

    def set_demo_requested(self, requested: bool) -> None:
        """Say whether the offline demo was chosen, so the key page can explain it."""
        self.key_section.set_demo_requested(requested)
