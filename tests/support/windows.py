"""Windows opened on the same folders, as restarts of the app would open them."""

from __future__ import annotations

import asyncio
from typing import Any

from desktop_app.core.paths import AppPaths
from desktop_app.ui import notify
from desktop_app.ui.app_context import AppContext
from desktop_app.ui.history.sidebar import UNDO_KEY
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.notifications import Notice
from tests.support.offline import FaultyServer

KEY = "sk-ant-history-ui-test-0987654321"


class Windows:
    """Opens windows on the same folders, as restarts of the app would."""

    def __init__(
        self, qtbot: Any, loop: asyncio.AbstractEventLoop, paths: AppPaths, server: FaultyServer
    ) -> None:
        self.qtbot, self.loop, self.paths, self.server = qtbot, loop, paths, server
        self.open: list[MainWindow] = []

    def start(self) -> MainWindow:
        notify.bridge.reset()
        context = AppContext(self.paths)
        context.api_key.use_for_session(KEY)
        context.settings.update(base_url=self.server.base_url, model="claude-haiku-4-5")
        window = MainWindow(context)
        self.qtbot.addWidget(window)
        window.show()
        self.loop.run_until_complete(window.restore())
        self.open.append(window)
        return window

    def stop(self, window: MainWindow) -> None:
        window.close()
        self.loop.run_until_complete(window.aclose())
        self.open.remove(window)


def undo_notice(window: MainWindow) -> Notice | None:
    """The notice offering to undo a delete, if one is shown."""
    for notice in window.notifications.notices:
        if notice.message.key == UNDO_KEY and notice.isVisibleTo(window):
            return notice
    return None
