"""``Event``: plain typed callbacks, so core objects can be observed without Qt.

The core never imports Qt (see the import-linter contracts), yet the window has
to follow what the core does. Each observable thing is an :class:`Event` that
listeners connect to; the UI's adapters turn them into Qt signals or model calls.
Listeners run synchronously, on the thread that emits, in the order they connected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Event(Generic[P]):
    """A list of listeners called with the same arguments on every :meth:`emit`."""

    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        """Start with no listeners."""
        self._listeners: list[Callable[P, object]] = []

    def connect(self, listener: Callable[P, object]) -> Callable[[], None]:
        """Call ``listener`` on every emit; return a function that disconnects it."""
        self._listeners.append(listener)

        def disconnect() -> None:
            self.disconnect(listener)

        return disconnect

    def disconnect(self, listener: Callable[P, object]) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener; a listener that disconnects itself meanwhile is fine."""
        for listener in list(self._listeners):
            listener(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._listeners)
