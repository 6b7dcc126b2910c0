"""An AT-SPI client: what a screen reader on Linux reads of another process's windows.

It finds the accessibility bus through the session bus (``org.a11y.Bus``), asks
the registry for the applications, and reads their objects: name, description,
role, states, screen extents and text. Every call is a blocking D-Bus call; the
application under test must run in another process, whose event loop answers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from tests.support.dbus import Connection, DBusError, Signal

REGISTRY = "org.a11y.atspi.Registry"
ROOT_PATH = "/org/a11y/atspi/accessible/root"
ACCESSIBLE = "org.a11y.atspi.Accessible"
COMPONENT = "org.a11y.atspi.Component"
TEXT = "org.a11y.atspi.Text"
PROPERTIES = "org.freedesktop.DBus.Properties"
REGISTRY_PATH = "/org/a11y/atspi/registry"
FOCUS_EVENT = "org.a11y.atspi.Event.Focus"
OBJECT_EVENT = "org.a11y.atspi.Event.Object"
SCREEN = 0  # ATSPI_COORD_TYPE_SCREEN

# AtspiStateType, in the order of its bits.
STATE_NAMES = [
    "invalid",
    "active",
    "armed",
    "busy",
    "checked",
    "collapsed",
    "defunct",
    "editable",
    "enabled",
    "expandable",
    "expanded",
    "focusable",
    "focused",
    "has-tooltip",
    "horizontal",
    "iconified",
    "modal",
    "multi-line",
    "multiselectable",
    "opaque",
    "pressed",
    "resizable",
    "selectable",
    "selected",
    "sensitive",
    "showing",
    "single-line",
    "stale",
    "transient",
    "vertical",
    "visible",
    "manages-descendants",
    "indeterminate",
    "required",
    "truncated",
    "animated",
    "invalid-entry",
    "supports-autocompletion",
    "selectable-text",
    "is-default",
    "visited",
    "checkable",
    "has-popup",
    "read-only",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Ref:
    """Where an accessible object lives: its application's bus name and its path."""

    bus: str
    path: str


@dataclasses.dataclass(frozen=True)
class Extents:
    """A rectangle on the screen."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    def contains(self, other: Extents) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )


@dataclasses.dataclass(frozen=True)
class Node:
    """One accessible object as a screen reader sees it at one moment."""

    ref: Ref
    name: str
    description: str
    role: str
    states: frozenset[str]
    interfaces: frozenset[str]
    extents: Extents | None
    text: str | None
    depth: int
    parent: Ref | None = None

    @property
    def showing(self) -> bool:
        return "showing" in self.states and "visible" in self.states

    def says(self) -> str:
        """Everything it exposes as words: name, description and text."""
        return "\n".join(part for part in (self.name, self.description, self.text) if part)

    def __str__(self) -> str:
        return f"{self.role} {self.name!r} at {self.extents}"


class AtSpi:
    """A connection to the accessibility bus of the session at ``session_address``."""

    def __init__(self, session_address: str, timeout: float = 10.0) -> None:
        with Connection(session_address, timeout) as session:
            (address,) = session.call(
                "org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus", "GetAddress"
            )
        self.bus = Connection(address, timeout)

    def close(self) -> None:
        self.bus.close()

    def __enter__(self) -> AtSpi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- events -------------------------------------------------------------------------------

    def listen(self) -> None:
        """Ask applications for focus changes and announcements, as a screen reader does.

        Applications read the listeners when they start and hear of new ones; so
        call this before starting one, or give it time.
        """
        self.bus.add_match(f"type='signal',interface='{FOCUS_EVENT}'")
        self.bus.add_match(f"type='signal',interface='{OBJECT_EVENT}',member='Announcement'")
        for event in ("Focus:", "Object:Announcement"):
            self.bus.call(
                REGISTRY, REGISTRY_PATH, REGISTRY, "RegisterEvent", "sass", (event, [], "")
            )

    def events(self, app: Ref) -> list[Signal]:
        """The events ``app`` sent since the last call, in order.

        A call to the application first: its reply comes after every event it sent
        before it (one connection keeps its order), so none is still on its way.
        """
        self.role(app)
        events, self.bus.signals = self.bus.signals, []
        return [event for event in events if event.sender == app.bus]

    @staticmethod
    def focus_changes(events: list[Signal]) -> list[Ref]:
        return [Ref(e.sender, e.path) for e in events if e.interface == FOCUS_EVENT]

    @staticmethod
    def announcements(events: list[Signal]) -> list[tuple[str, int]]:
        """What was announced, with its politeness (1 polite, 2 assertive)."""
        return [
            (str(e.values[3]), int(e.values[1]))
            for e in events
            if e.interface == OBJECT_EVENT and e.member == "Announcement"
        ]

    # -- one object ---------------------------------------------------------------------------

    def _call(
        self, ref: Ref, interface: str, member: str, signature: str = "", *args: object
    ) -> list[object]:
        return self.bus.call(ref.bus, ref.path, interface, member, signature, args)

    def _property(self, ref: Ref, interface: str, name: str) -> object:
        return self._call(ref, PROPERTIES, "Get", "ss", interface, name)[0]

    def applications(self) -> list[Ref]:
        return self.children(Ref(REGISTRY, ROOT_PATH))

    def children(self, ref: Ref) -> list[Ref]:
        found = self._call(ref, ACCESSIBLE, "GetChildren")[0]
        assert isinstance(found, list)
        return [Ref(bus, path) for bus, path in found]

    def name(self, ref: Ref) -> str:
        return str(self._property(ref, ACCESSIBLE, "Name"))

    def description(self, ref: Ref) -> str:
        return str(self._property(ref, ACCESSIBLE, "Description"))

    def role(self, ref: Ref) -> str:
        return str(self._call(ref, ACCESSIBLE, "GetRoleName")[0])

    def states(self, ref: Ref) -> frozenset[str]:
        words = self._call(ref, ACCESSIBLE, "GetState")[0]
        assert isinstance(words, list)
        bits = sum(int(word) << (32 * index) for index, word in enumerate(words))
        return frozenset(name for index, name in enumerate(STATE_NAMES) if bits >> index & 1)

    def interfaces(self, ref: Ref) -> frozenset[str]:
        names = self._call(ref, ACCESSIBLE, "GetInterfaces")[0]
        assert isinstance(names, list)
        return frozenset(str(name) for name in names)

    def extents(self, ref: Ref) -> Extents:
        box = self._call(ref, COMPONENT, "GetExtents", "u", SCREEN)[0]
        assert isinstance(box, tuple)
        x, y, width, height = (int(value) for value in box)
        return Extents(x, y, width, height)

    def text(self, ref: Ref, start: int = 0, end: int = -1) -> str:
        """What the Text interface holds (all of it by default)."""
        return str(self._call(ref, TEXT, "GetText", "ii", start, end)[0])

    def string_at(self, ref: Ref, offset: int, granularity: int) -> tuple[str, int, int]:
        """``GetStringAtOffset``: the character (0), word (1), sentence (2) or line (3) there."""
        text, start, end = self._call(ref, TEXT, "GetStringAtOffset", "uu", offset, granularity)
        return str(text), int(str(start)), int(str(end))

    def node(self, ref: Ref, depth: int = 0, parent: Ref | None = None) -> Node:
        interfaces = self.interfaces(ref)
        return Node(
            ref=ref,
            name=self.name(ref),
            description=self.description(ref),
            role=self.role(ref),
            states=self.states(ref),
            interfaces=interfaces,
            extents=self.extents(ref) if COMPONENT in interfaces else None,
            text=self.text(ref) if TEXT in interfaces else None,
            depth=depth,
            parent=parent,
        )

    # -- trees --------------------------------------------------------------------------------

    def walk(self, root: Ref, *, showing_only: bool = True) -> list[Node]:
        """``root`` and everything under it, depth first in the order of the children.

        With ``showing_only``, what is not showing is left out with all it holds.
        """
        found: list[Node] = []
        stack: list[tuple[Ref, int, Ref | None]] = [(root, 0, None)]
        while stack:
            ref, depth, parent = stack.pop()
            try:
                node = self.node(ref, depth, parent)
                children = self.children(ref)
            except DBusError as exc:
                if "UnknownObject" in exc.name or "UnknownMethod" in exc.name:
                    continue  # gone since its parent listed it
                raise
            if showing_only and depth > 0 and not node.showing:
                continue
            found.append(node)
            stack.extend((child, depth + 1, ref) for child in reversed(children))
        return found


def application(atspi: AtSpi, name: str) -> Ref | None:
    """The application called ``name`` on the bus, once it has a window."""
    for ref in atspi.applications():
        try:
            if atspi.name(ref) == name and atspi.children(ref):
                return ref
        except DBusError:
            continue
    return None


def poll(what: str, probe: Callable[[], T | None], seconds: float = 15.0) -> T:
    """Call ``probe`` until it returns something, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.01
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f} s")
        # Nothing to wait on: the other process owes no signal here.
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def iter_text_problems(text: str) -> Iterator[str]:
    """Characters a screen reader should never get: the document's own separators."""
    for char, what in (
        ("\ufdd0", "U+FDD0 (start of a table or frame)"),
        ("\ufdd1", "U+FDD1 (end of a table or frame)"),
        ("\u2028", "U+2028 (line separator)"),
        ("\u2029", "U+2029 (paragraph separator)"),
    ):
        if char in text:
            yield what
