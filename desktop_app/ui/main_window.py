"""``MainWindow``: conversation, settings dock and image drop pane on one qasync loop."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.errors import HistoryFormatError, StoreClosedError, StoreError
from desktop_app.core.history.io import read_import_file
from desktop_app.ui import notify, style
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.asyncslot import async_slot
from desktop_app.ui.chat.chat_panel import ChatPanel
from desktop_app.ui.history.file_dialogs import DialogFolders, ask_export_path, ask_import_path
from desktop_app.ui.history.sidebar import Sidebar
from desktop_app.ui.notifications import NotificationArea
from desktop_app.ui.settings.conversation_settings import ConversationSettingsDialog

if TYPE_CHECKING:
    from desktop_app.core.api.ratelimit import RateLimitSnapshot
    from desktop_app.ui.settings.settings_dialog import SettingsDialog
    from desktop_app.ui.settings.settings_pane import SettingsPane


DEFAULT_SIZE = QSize(1180, 780)
# What a window manager's frame and title bar typically take, at most.
FRAME_ALLOWANCE = QSize(16, 48)


class FirstRunBanner(QFrame):
    """The welcome on the first start: try the offline demo, or enter a key.

    It shows while no key is set, until the person has chosen the demo or given
    a key once (``Settings.first_run_done``); then it is gone for good.

    Signals:
        demo_chosen: The user picked the demo.
        key_chosen: The user wants to enter a key.
    """

    demo_chosen = Signal()
    key_chosen = Signal()

    TITLE = "Welcome to Iris"
    TEXT = (
        "Try everything with the built-in offline demo: nothing leaves this computer. "
        "Or enter your Anthropic API key to talk to Claude; it is kept in the "
        "system keychain."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the banner."""
        super().__init__(parent)
        self.setObjectName("firstRunBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(self.TITLE)
        logo = QLabel()
        logo.setObjectName("firstRunIcon")
        logo.setPixmap(style.app_logo().pixmap(QSize(40, 40), self.devicePixelRatioF()))
        logo.setAccessibleName("Iris")
        title = QLabel(self.TITLE)
        title.setObjectName("firstRunTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setAccessibleName(self.TITLE)
        text = QLabel(self.TEXT)
        text.setObjectName("firstRunText")
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setWordWrap(True)
        text.setAccessibleName(self.TEXT)
        demo = QPushButton("Try the offline demo")
        demo.setObjectName("tryDemoButton")
        demo.setProperty("primary", True)
        demo.setAccessibleName("Try the offline demo")
        demo.clicked.connect(self.demo_chosen)
        key = QPushButton("Enter an API key…")
        key.setObjectName("enterKeyButton")
        key.setAccessibleName("Enter an API key")
        key.clicked.connect(self.key_chosen)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(demo)
        buttons.addWidget(key)
        buttons.addStretch(1)
        words = QVBoxLayout()
        words.setSpacing(4)
        words.addWidget(title)
        words.addWidget(text)
        words.addSpacing(6)
        words.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(14)
        layout.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(words, 1)


class MainWindow(QMainWindow):
    """The Iris main window: conversations on the left, the conversation in the middle.

    Settings open in their own window (Ctrl+,). Messages to the person appear in
    the notification area above the conversation. The window's size and place, and
    the conversation list's width and visibility, are remembered.
    """

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        """Build every pane on ``context``."""
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setAccessibleName("Iris")
        self.context = context
        self.resize(self._first_size())
        self.setAcceptDrops(True)

        self.chat = ChatPanel(context)
        self.banner = FirstRunBanner()
        self.banner.demo_chosen.connect(self._on_demo_chosen)
        self.banner.key_chosen.connect(self.show_key_settings)
        self.notifications = NotificationArea()
        self.sidebar = Sidebar(context.history)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.chat)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.notifications)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        # Both settings windows are built when first opened: a third of the
        # window's widgets, not needed to show it (see the properties below).
        self._settings_dialog: SettingsDialog | None = None
        self._conversation_settings: ConversationSettingsDialog | None = None
        self._rate_limits: RateLimitSnapshot | None = None
        self.chat.conversation_settings_requested.connect(self.show_conversation_settings)

        self.sidebar.open_requested.connect(self.chat.show_conversation)
        context.conversations_changed.connect(self.sidebar.refresh)
        self.sidebar.new_requested.connect(self.chat.new_conversation)
        self.sidebar.export_requested.connect(self.ask_and_export)
        self.dialog_folders = DialogFolders()
        self.chat.conversation_opened.connect(self.sidebar.set_current)

        self._build_menus()
        self._build_shortcuts()
        notify.bridge.shown.connect(self.notifications.show_message)
        notify.bridge.flush()
        context.rate_limits_updated.connect(self._on_rate_limits)
        context.mode_changed.connect(self._update_mode)
        self.chat.reply_finished.connect(self._on_reply_finished)
        context.catalog_refreshed.connect(self._on_catalog_refreshed)
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        self._restore_layout()
        self._update_mode()
        self.chat.prompt.setFocus()

    # -- structure -----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        new = QAction("&New conversation", self)
        new.setShortcut(QKeySequence("Ctrl+N"))
        new.triggered.connect(self.chat.new_conversation)
        file_menu.addAction(new)
        attach = QAction("&Attach images…", self)
        attach.setShortcut(QKeySequence("Ctrl+O"))
        attach.triggered.connect(
            lambda: self.chat.image_pane.add_files(self.chat.image_pane.choose_files())
        )
        file_menu.addAction(attach)
        file_menu.addSeparator()
        export = QAction("&Export conversation…", self)
        export.setShortcut(QKeySequence("Ctrl+Shift+E"))
        export.triggered.connect(self._on_export_triggered)
        file_menu.addAction(export)
        import_action = QAction("&Import conversation…", self)
        import_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        import_action.triggered.connect(self._on_import_triggered)
        file_menu.addAction(import_action)
        file_menu.addSeparator()
        settings = QAction("&Settings…", self)
        settings.setShortcut(QKeySequence("Ctrl+,"))
        settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        settings.triggered.connect(self.show_settings)
        file_menu.addAction(settings)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        sidebar = QAction("&Conversations", self)
        sidebar.setCheckable(True)
        sidebar.setShortcut(QKeySequence("Ctrl+Shift+S"))
        sidebar.toggled.connect(self.set_sidebar_visible)
        view_menu.addAction(sidebar)
        self.sidebar_action = sidebar
        demo = QAction("Offline &demo", self)
        demo.setCheckable(True)
        demo.toggled.connect(self.context.use_demo)
        view_menu.addAction(demo)
        self._demo_action = demo

        conversation_menu = self.menuBar().addMenu("&Conversation")
        own = QAction("Conversation &settings…", self)
        # Shift+, types "<" on many keyboards, so that spelling is bound too.
        own.setShortcuts([QKeySequence("Ctrl+Shift+,"), QKeySequence("Ctrl+Shift+<")])
        own.triggered.connect(self.show_conversation_settings)
        conversation_menu.addAction(own)
        self.conversation_settings_action = own

    def _build_shortcuts(self) -> None:
        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.setContext(Qt.ShortcutContext.WindowShortcut)
        stop.activated.connect(self.chat.escape)  # cancels an edit first, else stops

    @property
    def settings_dialog(self) -> SettingsDialog:
        """The Settings window, built the first time it is needed."""
        if self._settings_dialog is None:
            from desktop_app.ui.settings.settings_dialog import SettingsDialog

            context = self.context
            dialog = SettingsDialog(context.settings, context.catalog, context.api_key, self)
            dialog.pane.demo_off_requested.connect(lambda: context.use_demo(False))
            dialog.pane.set_demo_requested(context.demo_requested)
            if self._rate_limits is not None:
                dialog.pane.show_rate_limits(self._rate_limits)
            self._settings_dialog = dialog
        return self._settings_dialog

    @property
    def settings_pane(self) -> SettingsPane:
        """The pages of the Settings window."""
        return self.settings_dialog.pane

    @property
    def conversation_settings(self) -> ConversationSettingsDialog:
        """The panel of the shown conversation's own settings, built when first opened."""
        if self._conversation_settings is None:
            self._conversation_settings = ConversationSettingsDialog(
                self.chat.session, self.context.settings, self.context.catalog, self
            )
        return self._conversation_settings

    def _on_rate_limits(self, snapshot: RateLimitSnapshot | None) -> None:
        self._rate_limits = snapshot
        if self._settings_dialog is not None:
            self._settings_dialog.pane.show_rate_limits(snapshot)

    def _on_catalog_refreshed(self) -> None:
        if self._settings_dialog is not None:
            self._settings_dialog.pane.refresh_models()
        if self._conversation_settings is not None:
            self._conversation_settings.refresh_models()

    def show_settings(self) -> None:
        """Open the Settings window on the page that needs attention."""
        self.settings_dialog.open_page()

    def show_key_settings(self) -> None:
        """Open the Settings window on the API key, ready to type it."""
        from desktop_app.ui.settings.settings_pane import Page

        self.settings_dialog.open_page(Page.API_KEY, self.settings_pane.api_key_edit)

    def show_conversation_settings(self) -> None:
        """Open the settings of the conversation shown."""
        self.conversation_settings.open_for_conversation()

    def set_sidebar_visible(self, visible: bool) -> None:
        """Show or hide the conversation list (remembered for the next start)."""
        self.sidebar.setVisible(visible)
        if self.sidebar_action.isChecked() != visible:
            self.sidebar_action.setChecked(visible)
        if self.context.settings.settings.sidebar_visible != visible:
            self.context.settings.update(sidebar_visible=visible)
        if not visible and self.sidebar.isAncestorOf(self.focusWidget()):
            self.chat.prompt.setFocus()

    def _first_size(self) -> QSize:
        """The default size, made smaller where the screen is (a 1366×768 laptop)."""
        room = self.screen().availableGeometry()
        # The frame and title bar are the window manager's and cannot be measured
        # before the first show: leave them room, so the composer is never below
        # the bottom of the screen.
        return DEFAULT_SIZE.boundedTo(
            QSize(room.width() - FRAME_ALLOWANCE.width(), room.height() - FRAME_ALLOWANCE.height())
        )

    def _restore_layout(self) -> None:
        settings = self.context.settings.settings
        if settings.window_geometry:
            with contextlib.suppress(ValueError):
                self.restoreGeometry(QByteArray(base64.b64decode(settings.window_geometry)))
        self.splitter.setSizes(
            [settings.sidebar_width, max(1, self.width() - settings.sidebar_width)]
        )
        self.sidebar_action.setChecked(settings.sidebar_visible)
        self.sidebar.setVisible(settings.sidebar_visible)

    def _on_splitter_moved(self, _position: int, _index: int) -> None:
        width = self.splitter.sizes()[0]
        if width > 0:
            self.context.settings.update(sidebar_width=width)

    def _remember_geometry(self) -> None:
        geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii")
        if geometry != self.context.settings.settings.window_geometry:
            self.context.settings.update(window_geometry=geometry)

    # -- state ---------------------------------------------------------------------------------

    def _on_reply_finished(self, _turn: object) -> None:
        # A reply from the demo means the person has tried it: the welcome has done its work.
        if self.context.demo and not self.context.settings.settings.first_run_done:
            self.context.settings.update(first_run_done=True)
            self._update_mode()

    def _update_mode(self) -> None:
        demo = self.context.demo
        self._demo_action.blockSignals(True)
        self._demo_action.setChecked(demo)
        self._demo_action.blockSignals(False)
        no_key = self.context.api_key.key() is None
        settings = self.context.settings
        chosen = self.context.key_known and (not no_key or self.context.demo_requested)
        if chosen and not settings.settings.first_run_done:
            settings.update(first_run_done=True)  # the welcome has done its work
        self.banner.setVisible(self.context.key_known and not settings.settings.first_run_done)
        suffix = " — offline demo" if demo else ""
        self.setWindowTitle(f"Iris{suffix}")
        if self._settings_dialog is not None:
            self._settings_dialog.pane.set_demo_requested(self.context.demo_requested)

    def _on_demo_chosen(self) -> None:
        self.context.use_demo(True)
        self.chat.prompt.setFocus()

    # -- export and import --------------------------------------------------------------------

    def choose_export_path(self, suggested: str) -> str:
        """Ask where to export (in the folder last used); "" when cancelled."""
        return ask_export_path(self, suggested, self.dialog_folders)

    def choose_import_path(self) -> str:
        """Ask which file to import (in the folder last used); "" when cancelled."""
        return ask_import_path(self, self.dialog_folders)

    def _on_export_triggered(self) -> None:
        if self.chat.conversation_id is None:
            notify.info("Nothing to export yet: send a message first.")
            return
        self.ask_and_export(self.chat.conversation_id, self.chat.model.conversation.title)

    def ask_and_export(self, conversation_id: int, title: str) -> None:
        """Ask where to export conversation ``conversation_id``, then write it there."""
        # The dialog runs its own event loop, so it is opened outside any task.
        title = title or "conversation"
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip() or "chat"
        path = self.choose_export_path(f"{safe}.md")
        if path:
            self.export_conversation(Path(path), conversation_id)

    def _on_import_triggered(self) -> None:
        path = self.choose_import_path()
        if path:
            self.import_conversation(Path(path))

    @async_slot(object)
    async def export_conversation(self, path: Path, conversation_id: int | None = None) -> None:
        """Write a conversation (the open one by default) to ``path``.

        A ``.json`` file gets the Messages API shape; any other, Markdown.
        """
        if conversation_id is None:
            conversation_id = self.chat.conversation_id
        if conversation_id is None:
            return
        try:
            text = await self.context.history.export(
                conversation_id, as_json=path.suffix.lower() == ".json"
            )
        except StoreError as exc:
            notify.error(f"The conversation could not be read for export: {exc}")
            return
        try:
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        except OSError as exc:
            notify.error(f"Could not write {path.name}: {exc.strerror or exc}.")
            return
        notify.info(f"Exported to {path}.")

    @async_slot(object)
    async def import_conversation(self, path: Path) -> None:
        """Import a conversation file and open it; a bad file changes nothing."""
        try:
            # Read and parsed in a worker, under a size cap: never on the UI thread.
            data = await asyncio.to_thread(read_import_file, path)
        except OSError as exc:
            notify.error(
                f"Could not read {path.name}: {why_unreadable(exc)}. Nothing was imported."
            )
            return
        except HistoryFormatError as exc:
            notify.error(f"{path.name} cannot be imported: {exc}. Nothing was imported.")
            return
        try:
            conversation_id = await self.context.history.import_conversation(data)
        except HistoryFormatError as exc:
            notify.error(f"{path.name} cannot be imported: {exc}. Nothing was imported.")
            return
        await self.chat.open_conversation(conversation_id)
        notify.info(f"Imported {path.name}.")

    # -- drag and drop anywhere in the window goes to the image pane ---------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept what the image pane accepts."""
        self.chat.image_pane.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Hand drops to the image pane."""
        self.chat.image_pane.dropEvent(event)

    # -- closing -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop any reply; the caller's loop then closes the HTTP clients."""
        self._remember_geometry()
        for dialog in (self._settings_dialog, self._conversation_settings):
            if dialog is not None:
                dialog.close()
        self.chat.stop()
        self.context.settings.flush()
        super().closeEvent(event)
        self.closed.set()

    async def restore(self) -> None:
        """Reopen the last conversation and fill the history list."""
        await self.chat.restore_last()
        self.sidebar.refresh()

    async def aclose(self) -> None:
        """Save the draft, stop image workers, close HTTP clients and the demo server."""
        with contextlib.suppress(StoreClosedError):  # the history was already closed
            await self.chat.flush_draft()
        await self.chat.image_pane.aclose()
        await self.context.aclose()

    @property
    def closed(self) -> asyncio.Event:
        """Set once the window has closed."""
        event: asyncio.Event | None = getattr(self, "_closed_event", None)
        if event is None:
            event = asyncio.Event()
            self._closed_event = event
        return event


def why_unreadable(error: OSError | UnicodeDecodeError) -> str:
    """Say in words why a file could not be read as text, for people."""
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(error, FileNotFoundError):
        return "the file no longer exists"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "it is a folder, not a file"
    # The system's own wording ("Input/output error"), without the path or errno.
    return error.strerror.lower() if error.strerror else "the system could not read it"
