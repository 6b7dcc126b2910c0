"""The order in which things read on screen, for checking the Tab order against it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Box = tuple[int, int, int, int]  # x, y, width, height, in screen pixels


def reading_order(items: Sequence[T], box: Callable[[T], Box], boundary: int) -> list[T]:
    """``items`` as they read: what lies left of ``boundary`` (a side column) first.

    In each column, top to bottom; along a row (items whose heights overlap), left
    to right.
    """
    ordered: list[T] = []
    for left in (True, False):
        column = [item for item in items if (box(item)[0] + box(item)[2] <= boundary) == left]
        column.sort(key=lambda item: box(item)[1])
        rows: list[list[T]] = []
        for item in column:
            top = box(item)[1]
            if rows and top < max(box(other)[1] + box(other)[3] for other in rows[-1]):
                rows[-1].append(item)
            else:
                rows.append([item])
        for row in rows:
            ordered += sorted(row, key=lambda item: box(item)[0])
    return ordered
