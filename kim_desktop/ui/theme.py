"""Light and dark: the app follows the system's colour scheme and keeps its signal colours readable in both.

Qt 6.5+ reports the system's scheme (``QStyleHints.colorScheme``) and gives a dark palette where the platform
style supports one; on Windows only the Fusion style does, so a dark Windows gets Fusion. The few colours the
UI sets itself (red error lines, green confirmations, amber warnings, the yellow warning bars) come from here,
in a light and a dark variant, each with a contrast of at least 4.5:1 against the window background.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

LIGHT = {
    "error": "#b00020",
    "ok": "#1b5e20",
    "warning": "#6d4c00",
    "muted": "#6b6b6b",
    "banner_bg": "#fff3cd",
    "banner_fg": "#4d3800",
    "banner_border": "#c9a227",
}
DARK = {
    "error": "#ff8a80",
    "ok": "#81c784",
    "warning": "#ffd180",
    "muted": "#a8a8a8",
    "banner_bg": "#4a3b00",
    "banner_fg": "#fff3cd",
    "banner_border": "#c9a227",
}


def is_dark(palette: QPalette | None = None) -> bool:
    """Is the current palette dark (light text on a dark window)?"""
    if palette is None:
        app = QGuiApplication.instance()
        if app is None:
            return False
        palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colour(name: str) -> str:
    return (DARK if is_dark() else LIGHT)[name]


def error_style() -> str:
    return f"color: {colour('error')};"


def ok_style() -> str:
    return f"color: {colour('ok')};"


def warning_style() -> str:
    return f"color: {colour('warning')};"


def banner_style(selector: str = "QLabel", extra: str = "padding: 6px;") -> str:
    """The yellow warning bar (dark amber in dark mode)."""
    return (
        f"{selector} {{ background: {colour('banner_bg')}; color: {colour('banner_fg')}; "
        f"border: 1px solid {colour('banner_border')}; {extra} }}"
    )


def system_prefers_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A dark palette for Fusion (used on Windows and for the offscreen screenshots)."""
    p = QPalette()
    window, base, text = QColor("#2b2b2b"), QColor("#1f1f1f"), QColor("#eeeeee")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#282828"),
        QPalette.ColorRole.ToolTipBase: QColor("#3a3a3a"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#9e9e9e"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#353535"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff8a80"),
        QPalette.ColorRole.Highlight: QColor("#2f6fa8"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#8ab4f8"),
        QPalette.ColorRole.Light: QColor("#4a4a4a"),
        QPalette.ColorRole.Midlight: QColor("#3e3e3e"),
        QPalette.ColorRole.Mid: QColor("#333333"),
        QPalette.ColorRole.Dark: QColor("#191919"),
        QPalette.ColorRole.Shadow: QColor("#000000"),
    }
    for role, value in roles.items():
        p.setColor(role, value)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def apply_system_theme(app, *, force: str | None = None) -> str:
    """Follow the system's light/dark choice (``force``: "dark" or "light", e.g. ``KIM_DESKTOP_THEME``);
    returns the scheme in use."""
    import os

    wanted = force or os.environ.get("KIM_DESKTOP_THEME") or ("dark" if system_prefers_dark() else "light")
    if wanted == "dark":
        if sys.platform == "win32" or force or os.environ.get("KIM_DESKTOP_THEME") or not is_dark():
            # The platform gave no dark palette (Windows' native style has none; offscreen has none either).
            app.setStyle("Fusion")
            app.setPalette(dark_palette())
        return "dark"
    return "light"
