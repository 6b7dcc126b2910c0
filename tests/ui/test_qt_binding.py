"""Guards against a broken Qt binding build reaching users."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox


@pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="None and the bools are immortal from Python 3.12: their reference counts "
    "never change, so a dropped reference can neither be seen nor do harm",
)
def test_calls_returning_nothing_keep_none_and_bools_alive(qtbot: Any) -> None:
    # Some PySide6 wheels drop a reference to None and the bools on every call
    # that returns nothing; on Python 3.11 that ends in a crash after a few
    # thousand calls. Those builds are excluded in pyproject.toml.
    box = QCheckBox()
    qtbot.addWidget(box)
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for _ in range(3000):
        box.setEnabled(True)
        box.setChecked(False)
        box.isEnabled()
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    assert all(abs(a - b) < 100 for a, b in zip(after, before, strict=True)), (before, after)
    assert box.isEnabled()
