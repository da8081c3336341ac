"""Window layout remembered per workstation (QSettings): the main window's size, position and toolbars,
and the divider positions of the pages' splitters.

A layout saved on a larger or a disconnected screen is only taken over when it still fits: Qt's
``restoreGeometry`` moves a window that would lie off-screen back onto the available screen.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

PREFIX = "layout/"


def _bytes(value) -> QByteArray | None:
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, (bytes, bytearray)) and value:
        return QByteArray(bytes(value))
    return None


def restore_window(window: QMainWindow, key: str) -> bool:
    settings = QSettings()
    geometry = _bytes(settings.value(f"{PREFIX}{key}/geometry"))
    state = _bytes(settings.value(f"{PREFIX}{key}/state"))
    restored = bool(geometry) and window.restoreGeometry(geometry)
    if state:
        window.restoreState(state)
    return restored


def save_window(window: QMainWindow, key: str) -> None:
    settings = QSettings()
    settings.setValue(f"{PREFIX}{key}/geometry", window.saveGeometry())
    settings.setValue(f"{PREFIX}{key}/state", window.saveState())


def remember_splitter(splitter: QSplitter, key: str) -> QSplitter:
    """Restore the divider positions saved under ``key`` and save them whenever the user moves a divider."""
    state = _bytes(QSettings().value(f"{PREFIX}splitter/{key}"))
    if state:
        splitter.restoreState(state)
    splitter.splitterMoved.connect(
        lambda *_args: QSettings().setValue(f"{PREFIX}splitter/{key}", splitter.saveState())
    )
    return splitter
