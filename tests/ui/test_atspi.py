"""What a screen reader on Linux gets from the window, read over AT-SPI.

The window runs in a process of its own (``tests.support.atspi_window``) on a
private X server and session bus, with Qt's accessibility bridge on, busy with a
conversation; this test reads it over the accessibility bus as Orca would, and
listens to its focus events and announcements. Checked: no object a person can
reach has an empty name; every information label, in the window and in Settings,
gives its words; a reply's text comes without the document's markers; Tab goes
through the main controls in the order they show, each on screen and named when
it has the keyboard; refusals and errors say what they are, and are announced.

Skipped, with the reason, where Xvfb, dbus-daemon or at-spi-bus-launcher is
missing, or Qt's X libraries are.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.atspi import AtSpi, Extents, Node, Ref, application, iter_text_problems, poll
from tests.support.desktop import Driven, missing_tools, private_desktop
from tests.support.screen_order import Box, reading_order

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "Iris"
COMBO_BOX = "combo box"
# The main controls, as (role, name) on the bus. Qt names a combo box on Linux
# by the item it shows, here the model.
MAIN_CONTROLS: tuple[tuple[str, str | None], ...] = (
    ("text", "Search all conversations"),
    ("push button", "New conversation (Ctrl+N)"),
    ("list", "Conversations"),
    ("filler", "Conversation"),
    ("text", "Message to Claude"),
    ("push button", "Attach images"),
    (COMBO_BOX, None),
    ("push button", "Send message"),
    ("push button", "Conversation settings"),
)
# Qt's list views give screen readers their rows as children, never the widgets
# drawn over a row: the buttons of a conversation row reach a screen reader by
# their focus events, not in a review of the window.
OVER_A_ROW = ("Rename “", "Export “", "Delete “", "More actions for “")
BUTTON_ROLES = frozenset({"push button", "toggle button", "check box", "radio button"})
MAX_TABS = 80
XCB_MISSING = "Could not load the Qt platform plugin"

MISSING = missing_tools()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]


class Session:
    """The driven window and a screen reader's view of it."""

    def __init__(self, window: Driven, atspi: AtSpi, app: Ref) -> None:
        self.window = window
        self.atspi = atspi
        self.app = app

    def nodes(self) -> list[Node]:
        """Everything showing, now."""
        return self.atspi.walk(self.app)

    def focus_moves(self) -> list[Ref]:
        """Where the focus went since the last call, as the focus events say."""
        return self.atspi.focus_changes(self.atspi.events(self.app))


def is_main_control(node: Node, role: str, name: str | None) -> bool:
    return node.role == role and (name is None or node.name == name)


def main_control(node: Node) -> int | None:
    """Which of :data:`MAIN_CONTROLS` ``node`` is, by index."""
    for index, (role, name) in enumerate(MAIN_CONTROLS):
        if is_main_control(node, role, name):
            return index
    return None


def box(node: Node) -> Box:
    extents = extents_of(node)
    return extents.x, extents.y, extents.width, extents.height


def shows_start(view: Extents, part: Extents) -> bool:
    """True when ``view`` shows all of ``part`` across, and its top."""
    return view.x <= part.x and part.right <= view.right and view.y <= part.y < view.bottom


def extents_of(node: Node) -> Extents:
    assert node.extents is not None, str(node)
    return node.extents


def rect(info: dict[str, object]) -> Extents:
    """Where the window says a widget is (see ``atspi_window.widget_info``)."""
    values = info["rect"]
    assert isinstance(values, list)
    x, y, width, height = (int(value) for value in values)
    return Extents(x, y, width, height)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    home = tmp_path_factory.mktemp("atspi")
    with private_desktop(home) as env:
        for name in ("config", "data", "cache"):
            (home / name).mkdir()
            env[f"IRIS_{name.upper()}_DIR"] = str(home / name)
        env.update(
            QT_QPA_PLATFORM="xcb",
            QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            PYTHONFAULTHANDLER="1",
        )
        with AtSpi(env["DBUS_SESSION_BUS_ADDRESS"]) as atspi:
            atspi.listen()  # before the window starts, which reads the listeners then
            window = Driven(
                [sys.executable, "-m", "tests.support.atspi_window"],
                env,
                ROOT,
                home / "window.log",
            )
            try:
                try:
                    window.read(60)  # ready: busy, and idle
                except RuntimeError as exc:
                    if XCB_MISSING in str(exc):  # the X libraries Qt needs are not there
                        pytest.skip(f"Qt cannot open a window on X here: {XCB_MISSING} xcb")
                    raise
                app = poll("the window on the bus", lambda: application(atspi, APP_NAME))
                yield Session(window, atspi, app)
            finally:
                window.close()


def test_every_control_a_person_can_reach_has_a_name(session: Session) -> None:
    nameless = [
        str(node)
        for node in session.nodes()
        if ("focusable" in node.states or node.role in BUTTON_ROLES) and not node.name.strip()
    ]
    assert nameless == []


def silent_labels(session: Session, labels: list[dict[str, Any]]) -> list[str]:
    """The ``labels`` (as the window lists them) whose words do not reach the bus."""
    by_place = {(n.role, n.extents): n for n in session.nodes()}
    silent = []
    for label in labels:
        node = by_place.get(("label", rect(label)))
        if node is None:
            silent.append(f"#{label['objectName']} {label['text']!r}: not on the bus")
        elif label["text"] not in node.says():
            silent.append(f"#{label['objectName']} {label['text']!r}: says {node.says()!r}")
    return silent


def test_information_labels_expose_their_text(session: Session) -> None:
    labels = session.window.ask("labels")["labels"]
    assert {"attachmentSummary", "conversationUsageLabel", "usageLabel", "turnNotice"} <= {
        label["objectName"] for label in labels
    }
    assert silent_labels(session, labels) == []


@pytest.mark.parametrize(
    ("page", "label"), [("API_KEY", "keyStatusLabel"), ("MODELS", "modelInfoLabel")]
)
def test_settings_labels_expose_their_text(session: Session, page: str, label: str) -> None:
    try:
        labels = session.window.ask(f"settings {page}")["labels"]
        assert label in {shown["objectName"] for shown in labels}
        assert silent_labels(session, labels) == []
    finally:
        session.window.ask("close")


def test_reply_text_is_clean_words(session: Session) -> None:
    nodes = session.nodes()
    dirty = {str(n): list(iter_text_problems(n.text)) for n in nodes if n.text is not None}
    assert {node: problems for node, problems in dirty.items() if problems} == {}
    (reply,) = [
        n for n in nodes if n.name == "Message from Claude" and "A table" in (n.text or "")
    ]
    assert reply.text is not None
    # Headings, list items and paragraphs on lines of their own; a table row per
    # line with its cells apart; the link's words; the code as it is.
    lines = reply.text.splitlines()
    for line in (
        "Markdown in the offline demo",
        "A list",
        "second item",
        "Feature\tOffline demo\tClaude",
        "Cost\tfree\tbilled per token",
        "The Messages API reference describes the protocol.",
        "def greet(name: str) -> str:",
    ):
        assert line in lines
    # A screen reader reads it line by line.
    offset = reply.text.index("Feature")
    line, start, end = session.atspi.string_at(reply.ref, offset, 3)
    assert line.strip() == "Feature\tOffline demo\tClaude"
    assert reply.text[start:end] == line


def test_tab_goes_through_the_main_controls_in_screen_order(session: Session) -> None:
    window = session.window
    answer = window.ask("focus historySearchEdit")
    qt_focus = answer["focus"]
    (focus, *_) = reversed(session.focus_moves())
    nodes = session.nodes()
    (frame,) = [extents_of(n) for n in nodes if n.depth == 1 and n.role == "frame"]
    in_tree = {n.ref for n in nodes}
    view = next(n for n in nodes if is_main_control(n, "filler", "Conversation"))
    stops: list[Node] = []
    links: list[str] = []
    problems: list[str] = []
    for _ in range(MAX_TABS):
        node = session.atspi.node(focus)
        stops.append(node)
        # A message's control is scrolled into view when it takes the keyboard (a
        # tall message's text, its start).
        if answer["in_conversation"] and not shows_start(extents_of(view), extents_of(node)):
            problems.append(f"{node}: outside the conversation's view {view.extents}")
        # The bus and Qt agree on where the keyboard is, and it is on screen, named,
        # and where a screen reader's review of the window finds it.
        if node.extents != rect(qt_focus):
            problems.append(f"{node}: Qt has the focus on {qt_focus}")
        if not ("focused" in node.states and node.showing and node.name.strip()):
            problems.append(f"{node}: focused, but {sorted(node.states)}")
        if not frame.contains(extents_of(node)):
            problems.append(f"{node}: outside the window {frame}")
        if node.ref not in in_tree and not node.name.startswith(OVER_A_ROW):
            in_tree |= {n.ref for n in session.nodes()}  # shown since
            if node.ref not in in_tree:
                problems.append(f"{node}: not in the window's tree")
        for _ in range(MAX_TABS):
            answer = window.ask("tab")
            qt_focus = answer["focus"]
            events = session.atspi.events(session.app)
            moves = session.atspi.focus_changes(events)
            if moves or rect(qt_focus) != node.extents:
                break
            # Tab went to a link inside a message: the same object keeps the focus,
            # and the link is announced.
            links += [said for said, _ in session.atspi.announcements(events)]
        if not moves:
            problems.append(f"no focus event when Qt moved the focus to {qt_focus}")
            break
        focus = moves[-1]
        if focus == stops[0].ref:
            break
    else:
        problems.append("Tab never came back to the search field")
    assert problems == [], "\n".join(problems)

    inside = [n for n in stops if extents_of(view).contains(extents_of(n))]
    assert len(inside) > 5  # the messages' controls
    assert links == ["Link: Messages API reference", "Link: Copy"]
    first_visits: dict[int, Node] = {}
    for node in stops:
        index = main_control(node)
        if index is not None:
            first_visits.setdefault(index, node)
    assert sorted(first_visits) == list(range(len(MAIN_CONTROLS))), [str(n) for n in stops]
    tab_order = list(first_visits.values())
    screen_order = reading_order(tab_order, box, boundary=extents_of(view).x)
    assert [str(n) for n in tab_order] == [str(n) for n in screen_order]


def test_refusals_and_errors_say_what_they_are(session: Session) -> None:
    names = [n.name for n in session.nodes()]
    assert any(name.startswith("Declined: Claude declined to answer") for name in names)
    assert "Error: The service rejected the request: The image is bad." in names
    session.atspi.events(session.app)
    session.window.ask("fail", 30)
    said = session.atspi.announcements(session.atspi.events(session.app))
    assert (
        "The message could not be sent: The service rejected the request: No, again.",
        2,
    ) in said
