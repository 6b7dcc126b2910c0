"""Rendered Markdown loaded into a real QTextDocument, the way the chat view shows it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument, QTextFragment, QTextTable

from desktop_app.core.render import markdown
from desktop_app.core.render.markdown import COPY_SCHEME, escape_plain, render_markdown

MESSAGE = textwrap.dedent("""\
    # Results

    Prices as of *today*, see [the source](https://example.com/prices):

    | Fruit | Qty | Price |
    |:------|:---:|------:|
    | apple | 1 | 0.50 |
    | pear | 12 | 1.00 |

    ```python

    def total(items):
    \treturn sum(i.price for i in items)  # <all> & "more"

    ```

    ![chart](https://example.com/chart.png)

        plain  indented
    """)


def load(html: str) -> QTextDocument:
    document = QTextDocument()
    document.setHtml(html)
    return document


def tables(document: QTextDocument) -> list[QTextTable]:
    found: list[QTextTable] = []
    pending = [document.rootFrame()]
    while pending:
        frame = pending.pop(0)
        if isinstance(frame, QTextTable):
            found.append(frame)
        pending.extend(frame.childFrames())
    return found


def cell_text(table: QTextTable, row: int, column: int) -> str:
    cell = table.cellAt(row, column)
    cursor = cell.firstCursorPosition()
    cursor.setPosition(cell.lastCursorPosition().position(), QTextCursor.MoveMode.KeepAnchor)
    return cursor.selection().toPlainText()


def blocks(document: QTextDocument) -> Iterator[QTextBlock]:
    block = document.begin()
    while block.isValid():
        yield block
        block = block.next()


def fragments(document: QTextDocument) -> Iterator[QTextFragment]:
    for block in blocks(document):
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid():
                yield fragment
            it += 1


def anchors(document: QTextDocument) -> dict[str, str]:
    """Anchor href -> its text, over every fragment of the document."""
    found: dict[str, str] = {}
    for fragment in fragments(document):
        href = fragment.charFormat().anchorHref()
        if href:
            found[href] = found.get(href, "") + fragment.text()
    return found


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def dark(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_markdown_table_has_its_cells_and_alignment(qapp: Any, dark: bool) -> None:
    document = load(render_markdown(MESSAGE, dark=dark).html)
    table = next(t for t in tables(document) if cell_text(t, 0, 0) == "Fruit")
    assert (table.rows(), table.columns()) == (3, 3)
    assert [[cell_text(table, r, c) for c in range(3)] for r in range(3)] == [
        ["Fruit", "Qty", "Price"],
        ["apple", "1", "0.50"],
        ["pear", "12", "1.00"],
    ]
    assert table.format().border() == 1
    assert table.format().cellPadding() == 4
    assert table.cellAt(1, 2).firstCursorPosition().blockFormat().alignment() & (
        Qt.AlignmentFlag.AlignRight
    )
    assert table.cellAt(1, 1).firstCursorPosition().blockFormat().alignment() & (
        Qt.AlignmentFlag.AlignHCenter
    )


def test_code_round_trips_exactly(qapp: Any, dark: bool) -> None:
    rendered = render_markdown(MESSAGE, dark=dark)
    document = load(rendered.html)
    assert rendered.code_blocks == (
        '\ndef total(items):\n\treturn sum(i.price for i in items)  # <all> & "more"\n',
        "plain  indented",
    )
    code_tables = [t for t in tables(document) if cell_text(t, 0, 1) == "Copy"]
    assert len(code_tables) == 2
    for table, code in zip(code_tables, rendered.code_blocks, strict=True):
        assert cell_text(table, 1, 0) == code
        assert code in document.toPlainText()
    assert cell_text(code_tables[0], 0, 0) == "python"
    assert cell_text(code_tables[1], 0, 0) == ""


def test_code_block_backgrounds_come_from_the_theme(qapp: Any, dark: bool) -> None:
    theme = markdown._DARK if dark else markdown._LIGHT
    document = load(render_markdown("```python\nx = 1\n```\n", dark=dark).html)
    (table,) = tables(document)
    assert table.format().width().rawValue() == 100
    assert table.cellAt(0, 0).format().background().color().name() == theme.header_bg
    assert table.format().background().color().name() == theme.code_bg
    code_font = table.cellAt(1, 0).firstCursorPosition().charFormat().font()
    assert code_font.fixedPitch() or "mono" in code_font.family().lower()


def test_copy_links_and_safe_links_reach_the_document(qapp: Any, dark: bool) -> None:
    document = load(render_markdown(MESSAGE, dark=dark).html)
    assert anchors(document) == {
        "https://example.com/prices": "the source",
        f"{COPY_SCHEME}:0": "Copy",
        f"{COPY_SCHEME}:1": "Copy",
        "https://example.com/chart.png": "\N{FRAME WITH PICTURE} chart",
    }


def test_nothing_becomes_an_image_or_a_script_link(qapp: Any) -> None:
    source = (
        "![a](http://example.com/a.png) ![b](data:image/png;base64,iVBORw0KGgo=) "
        '<img src="http://example.com/c.png"> [x](javascript:alert(1))\n'
    )
    document = load(render_markdown(source).html)
    assert not any(f.charFormat().isImageFormat() for f in fragments(document))
    assert set(anchors(document)) == {
        "http://example.com/a.png",
        "data:image/png;base64,iVBORw0KGgo=",
    }
    assert '<img src="http://example.com/c.png">' in document.toPlainText()


def test_nested_lists_become_nested_qt_lists(qapp: Any) -> None:
    document = load(render_markdown("- one\n  1. two\n     - three\n- four\n").html)
    indents = {
        block.text().strip(): block.textList().format().indent()
        for block in blocks(document)
        if block.textList() is not None
    }
    assert indents["one"] == indents["four"] < indents["two"] < indents["three"]


def test_streaming_plain_text_keeps_its_layout(qapp: Any) -> None:
    text = 'def f():\n\treturn "<x>" &  y\n\n  done'
    document = load(escape_plain(text))
    assert document.toPlainText() == text
