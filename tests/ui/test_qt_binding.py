"""The Qt binding itself: PySide6 6.12.0 dropped a reference to None on every void call on Python 3.11
(PYSIDE-3474) and the program aborted after some ten thousand calls (the calendar repaints make ~700)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget


def test_void_calls_keep_the_reference_count_of_none(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(20_000):
        widget.setAccessibleName("x")
    assert sys.getrefcount(None) >= before - 100
