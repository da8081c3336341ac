"""PDF on screen, on paper and on disk: a page-by-page preview, printing and saving a copy.

PDFium (``pypdfium2``) rasterises the pages, Qt shows and prints the images. Everything here runs in the GUI
thread: a letter page renders in a few milliseconds, and PDFium must not be used from several threads.

Printing puts each page on the paper at its true size (full-page mode, no scaling for A4 on A4), because a
DIN 5008 letter has to sit exactly in the window of the envelope; other paper sizes get the page fitted in.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
from PySide6.QtCore import QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPagedPaintDevice,
    QPageSize,
    QPainter,
    QPalette,
    QShortcut,
)
from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _

ZOOM_STEPS = (25, 33, 50, 67, 75, 90, 100, 110, 125, 150, 175, 200, 250, 300, 400)  # percent of true size
PRINT_MAX_DPI = 300  # enough for text and logos; 600 dpi would mean 140 MB per A4 page in memory
PAGE_GAP = 12
MARGIN = 12
POINTS_PER_INCH = 72.0


def open_pdf(pdf: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise UserError(_("Die Datei ist kein lesbares PDF.")) from exc


def render_page(page: pdfium.PdfPage, scale: float) -> QImage:
    """One page as an image with ``scale`` pixels per PDF point (white background, no transparency)."""
    bitmap = page.render(scale=scale, rev_byteorder=True, prefer_bgrx=True)  # RGBx bytes
    image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGBX8888)
    return image.copy()  # the QImage above only borrows PDFium's buffer


# --- the preview -----------------------------------------------------------------------------------------


def render_pdf_page(pdf: bytes, index: int, scale: float) -> QImage:
    """Page ``index`` (0-based) of ``pdf`` at ``scale`` pixels per point; PDFium holds the file only meanwhile."""
    document = open_pdf(pdf)
    try:
        return render_page(document[index], scale)
    finally:
        document.close()


class _PageView(QWidget):
    """One page of one PDF; rendered when it is first painted at the current size (long documents stay cheap)."""

    def __init__(self, pdf: bytes, index: int, size_pt: tuple[float, float]) -> None:
        super().__init__()
        self._pdf, self.index, self.size_pt = pdf, index, size_pt
        self._image: QImage | None = None
        self._scale = 1.0
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_scale(self, pixels_per_point: float) -> None:
        self._scale = pixels_per_point
        self._image = None
        self.setFixedSize(
            round(self.size_pt[0] * pixels_per_point), round(self.size_pt[1] * pixels_per_point)
        )

    def image(self) -> QImage:
        ratio = self.devicePixelRatioF()
        if self._image is None or self._image.devicePixelRatio() != ratio:
            self._image = render_pdf_page(self._pdf, self.index, self._scale * ratio)
            self._image.setDevicePixelRatio(ratio)
        return self._image

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        try:
            painter.drawImage(QRectF(self.rect()), self.image())
        except (UserError, pdfium.PdfiumError):  # a page PDFium cannot draw stays blank, the others show
            painter.fillRect(self.rect(), QColor("white"))
        painter.setPen(QColor("#808080"))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()


class _ScrollArea(QScrollArea):
    resized = Signal()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.resized.emit()


class PdfPreview(QWidget):
    """Shows a PDF page by page: scrolling, Bild auf/ab for the pages, zoom (Strg+Plus/Minus) and Seitenbreite.

    ``set_pdf(bytes)`` shows a document, ``show_message(text)`` shows a sentence instead (e.g. why there is
    no letter to preview)."""

    page_changed = Signal(int, int)  # current page (1-based), page count

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pages: list[_PageView] = []
        self._fit = True
        self._percent = 100.0
        self._current = 0
        self._jumping = False

        self.previous_button = self._tool_button(
            _("Vorherige Seite"), _("Vorherige Seite (Bild auf)"), self.previous_page
        )
        self.previous_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowUp))
        self.next_button = self._tool_button(_("Nächste Seite"), _("Nächste Seite (Bild ab)"), self.next_page)
        self.next_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown))
        for button in (self.previous_button, self.next_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.page_label = QLabel()
        self.page_label.setAccessibleName(_("Seitenanzeige"))
        self.zoom_out_button = self._tool_button("−", _("Verkleinern (Strg+Minus)"), self.zoom_out)
        self.zoom_out_button.setAccessibleName(_("Verkleinern"))
        self.zoom_label = QLabel()
        self.zoom_label.setAccessibleName(_("Zoomstufe"))
        self.zoom_label.setMinimumWidth(self.zoom_label.fontMetrics().horizontalAdvance("400 %") + 8)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zoom_in_button = self._tool_button("+", _("Vergrößern (Strg+Plus)"), self.zoom_in)
        self.zoom_in_button.setAccessibleName(_("Vergrößern"))
        self.fit_button = self._tool_button(
            _("Seitenbreite"), _("Auf Seitenbreite einpassen (Strg+0)"), self.fit_width
        )
        self.fit_button.setCheckable(True)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.page_label)
        bar.addStretch(1)
        bar.addWidget(self.zoom_out_button)
        bar.addWidget(self.zoom_label)
        bar.addWidget(self.zoom_in_button)
        bar.addWidget(self.fit_button)

        self._container = QWidget()
        self._column = QVBoxLayout(self._container)
        self._column.setContentsMargins(MARGIN, MARGIN, MARGIN, MARGIN)
        self._column.setSpacing(PAGE_GAP)
        self._column.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroll = _ScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._container)
        self.scroll.setBackgroundRole(QPalette.ColorRole.Dark)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scroll.setAccessibleName(_("Vorschau"))
        self.scroll.setAccessibleDescription(
            _(
                "Bild auf und Bild ab blättern, Strg+Plus und Strg+Minus ändern die Größe, Strg+0 passt die Seitenbreite ein."
            )
        )
        self.scroll.resized.connect(self._scroll_resized)
        self.scroll.verticalScrollBar().valueChanged.connect(self._scrolled)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setMargin(24)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.message_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a screen reader can read it with Tab

        self.stack = QStackedWidget()
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(self.message_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

        keys = (
            (QKeySequence(Qt.Key.Key_PageDown), self.next_page),
            (QKeySequence(Qt.Key.Key_PageUp), self.previous_page),
            (QKeySequence(QKeySequence.StandardKey.ZoomIn), self.zoom_in),
            (QKeySequence("Ctrl+="), self.zoom_in),  # Strg and the "+" key without Shift on many layouts
            (QKeySequence(QKeySequence.StandardKey.ZoomOut), self.zoom_out),
            (QKeySequence("Ctrl+0"), self.fit_width),
        )
        for sequence, slot in keys:
            shortcut = QShortcut(sequence, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.setFocusProxy(self.scroll)
        self._update_controls()

    def _tool_button(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(text)
        button.setAccessibleDescription(tip)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.clicked.connect(slot)
        return button

    # --- content -----------------------------------------------------------------------------------------

    def set_pdf(self, pdf: bytes | None) -> None:
        """Show ``pdf`` from its first page (``None``: empty). An unreadable file shows a message."""
        self._clear_pages()
        if pdf is None:
            self.show_message("")
            return
        try:
            document = open_pdf(pdf)
        except UserError as exc:
            self.show_message(exc.message)
            return
        try:
            sizes = [tuple(document[index].get_size()) for index in range(len(document))]
        finally:
            document.close()
        for index, size in enumerate(sizes):
            page = _PageView(pdf, index, size)
            self._pages.append(page)
            self._column.addWidget(page)
        self.message_label.clear()
        self.stack.setCurrentWidget(self.scroll)
        self._current = 1 if self._pages else 0
        self._apply_zoom(keep_page=False)

    def show_message(self, text: str) -> None:
        """Instead of pages, one sentence (e.g. “Für diese Person ist keine vollständige Anschrift …”)."""
        self._clear_pages()
        self.message_label.setText(text)
        self.stack.setCurrentWidget(self.message_label)
        self._update_controls()

    def message(self) -> str:
        return self.message_label.text() if self.stack.currentWidget() is self.message_label else ""

    def _clear_pages(self) -> None:
        for page in self._pages:
            self._column.removeWidget(page)
            page.hide()  # never painted again before Qt deletes it
            page.deleteLater()
        self._pages = []
        self._current = 0

    def page_count(self) -> int:
        return len(self._pages)

    def current_page(self) -> int:
        """1-based; 0 when nothing is shown."""
        return self._current

    def page_image(self, number: int) -> QImage:
        """The rendered image of page ``number`` (1-based) at the current zoom."""
        return self._pages[number - 1].image()

    # --- pages -------------------------------------------------------------------------------------------

    def go_to_page(self, number: int) -> None:
        if not self._pages:
            return
        number = max(1, min(number, len(self._pages)))
        self._column.activate()
        self._jumping = True
        try:
            self.scroll.verticalScrollBar().setValue(max(0, self._pages[number - 1].y() - PAGE_GAP // 2))
        finally:
            self._jumping = False
        self._set_current(number)

    def next_page(self) -> None:
        self.go_to_page(self._current + 1)

    def previous_page(self) -> None:
        self.go_to_page(self._current - 1)

    def _scrolled(self, value: int) -> None:
        if self._jumping or not self._pages:
            return
        bar = self.scroll.verticalScrollBar()
        if value >= bar.maximum() > 0:
            self._set_current(len(self._pages))
            return
        probe = value + self.scroll.viewport().height() // 4
        current = 1
        for page in self._pages:
            if page.y() <= probe:
                current = page.index + 1
        self._set_current(current)

    def _set_current(self, number: int) -> None:
        changed = number != self._current
        self._current = number
        self._update_controls()
        if changed:
            self.page_changed.emit(number, len(self._pages))

    # --- zoom --------------------------------------------------------------------------------------------

    def zoom_percent(self) -> float:
        return self._percent

    def is_fit_width(self) -> bool:
        return self._fit

    def zoom_in(self) -> None:
        larger = [step for step in ZOOM_STEPS if step > self._percent + 0.5]
        self.set_zoom(larger[0] if larger else ZOOM_STEPS[-1])

    def zoom_out(self) -> None:
        smaller = [step for step in ZOOM_STEPS if step < self._percent - 0.5]
        self.set_zoom(smaller[-1] if smaller else ZOOM_STEPS[0])

    def set_zoom(self, percent: float) -> None:
        self._fit = False
        self._percent = float(max(ZOOM_STEPS[0], min(ZOOM_STEPS[-1], percent)))
        self._apply_zoom()

    def fit_width(self) -> None:
        self._fit = True
        self._apply_zoom()

    def _true_size_pixels_per_point(self) -> float:
        return self.logicalDpiX() / POINTS_PER_INCH

    def _fit_percent(self) -> float:
        widest = max((page.size_pt[0] for page in self._pages), default=595.0)
        bar = self.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        # the scroll bar's width is always reserved, so its appearing never changes the fit (no resize loop)
        available = self.scroll.width() - 2 * self.scroll.frameWidth() - bar - 2 * MARGIN
        percent = 100.0 * max(available, 100) / (widest * self._true_size_pixels_per_point())
        return max(ZOOM_STEPS[0], min(ZOOM_STEPS[-1], percent))

    def _apply_zoom(self, keep_page: bool = True) -> None:
        if self._fit:
            self._percent = self._fit_percent()
        pixels_per_point = self._percent / 100.0 * self._true_size_pixels_per_point()
        current = self._current
        for page in self._pages:
            page.set_scale(pixels_per_point)
        if self._pages:
            self.go_to_page(current if keep_page and current else 1)
        self._update_controls()

    def _scroll_resized(self) -> None:
        if self._fit and self._pages and abs(self._fit_percent() - self._percent) > 0.1:
            self._apply_zoom()

    def _update_controls(self) -> None:
        count = len(self._pages)
        self.page_label.setText(
            _("Seite {page} von {count}").format(page=self._current, count=count) if count else ""
        )
        self.zoom_label.setText(f"{round(self._percent)} %" if count else "")
        self.previous_button.setEnabled(self._current > 1)
        self.next_button.setEnabled(0 < self._current < count)
        self.zoom_in_button.setEnabled(count > 0 and self._percent < ZOOM_STEPS[-1] - 0.5)
        self.zoom_out_button.setEnabled(count > 0 and self._percent > ZOOM_STEPS[0] + 0.5)
        self.fit_button.setEnabled(count > 0)
        self.fit_button.setChecked(self._fit)


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize a dialog to read a page comfortably, but never beyond the screen (150 % on a laptop: 853×533)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        available = screen.availableGeometry()
        width = min(width, int(available.width() * 0.95))
        height = min(height, int(available.height() * 0.95))
    window.resize(width, height)


# --- printing ----------------------------------------------------------------------------------------------


def paint_pdf(
    pdf: bytes,
    device: QPagedPaintDevice,
    pages: Sequence[int] | None = None,
    *,
    copies: int = 1,
    collate: bool = True,
) -> int:
    """Paint the pages (0-based indices, default all) onto a printer or PDF writer; returns the pages painted.

    Each page is rendered at the device's resolution (at most ``PRINT_MAX_DPI``) and drawn at its true size
    from the top left of the paper (or fitted in, keeping its proportions, when the paper is smaller).
    The device should be in full-page mode (``QPrinter.setFullPage(True)``) so that (0, 0) is the paper corner.
    """
    document = open_pdf(pdf)
    try:
        indices = (
            list(range(len(document))) if pages is None else [i for i in pages if 0 <= i < len(document)]
        )
        copies = max(1, copies)
        order = indices * copies if collate else [i for i in indices for _copy in range(copies)]
        if not order:
            return 0
        painter = QPainter()
        if not painter.begin(device):
            raise UserError(
                _("Der Drucker konnte nicht angesprochen werden. Bitte Drucker und Einstellungen prüfen.")
            )
        try:
            dpi = device.logicalDpiX()
            for n, index in enumerate(order):
                if n and not device.newPage():
                    raise UserError(_("Der Drucker hat den Druck abgebrochen."))
                page = document[index]
                width_pt, height_pt = page.get_size()
                fit = min(device.width() / width_pt, device.height() / height_pt, dpi / POINTS_PER_INCH)
                image = render_page(page, min(fit, PRINT_MAX_DPI / POINTS_PER_INCH))
                painter.drawImage(QRectF(0, 0, width_pt * fit, height_pt * fit), image)
        finally:
            painter.end()
        return len(order)
    finally:
        document.close()


def selected_pages(printer: QPrinter, page_count: int, current_page: int | None = None) -> list[int]:
    """The 0-based pages the print dialog asked for: all, a range (“1-2, 4”) or the page on screen."""
    mode = printer.printRange()
    if mode == QPrinter.PrintRange.CurrentPage and current_page:
        return [current_page - 1] if 1 <= current_page <= page_count else []
    if mode == QPrinter.PrintRange.PageRange:
        ranges = printer.pageRanges()
        if not ranges.isEmpty():
            return [n - 1 for n in range(1, page_count + 1) if ranges.contains(n)]
        if printer.fromPage() > 0:
            last = printer.toPage() or page_count
            return list(range(printer.fromPage() - 1, min(last, page_count)))
    return list(range(page_count))


def make_printer(pdf: bytes, title: str = "") -> QPrinter:
    """A printer set up for ``pdf``: its first page's paper size, full-page mode, the title as job name."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setFullPage(True)
    document = open_pdf(pdf)
    try:
        width_pt, height_pt = document[0].get_size() if len(document) else (595.28, 841.89)
    finally:
        document.close()
    a4 = QPageSize(QPageSize.PageSizeId.A4)
    size = a4.size(QPageSize.Unit.Point)
    if abs(size.width() - width_pt) < 2 and abs(size.height() - height_pt) < 2:
        printer.setPageSize(a4)
    else:
        printer.setPageSize(QPageSize(QSizeF(width_pt, height_pt), QPageSize.Unit.Point))
    if title:
        printer.setDocName(title)  # the print queue shows it: the document's title, never a person's name
    return printer


def ask_printer(parent, pdf: bytes, *, title: str = "", current_page: int | None = None) -> QPrinter | None:
    """The print dialog (printer, pages, copies); ``None`` when cancelled."""
    printer = make_printer(pdf, title)
    document = open_pdf(pdf)
    count = len(document)
    document.close()
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(_("Drucken"))
    dialog.setMinMax(1, max(1, count))
    dialog.setFromTo(1, max(1, count))
    option = QAbstractPrintDialog.PrintDialogOption
    options = (
        option.PrintToFile | option.PrintPageRange | option.PrintCollateCopies | option.PrintShowPageSize
    )
    if current_page:
        options |= option.PrintCurrentPage
    dialog.setOptions(options)  # no "Selection": a document has none
    return printer if dialog.exec() == QPrintDialog.DialogCode.Accepted else None


def print_on(printer: QPrinter, pdf: bytes, parent=None, *, current_page: int | None = None) -> bool:
    """Print ``pdf`` on a printer chosen with ``ask_printer``: its pages, copies and collation."""
    try:
        document = open_pdf(pdf)
        count = len(document)
        document.close()
        pages = selected_pages(printer, count, current_page)
        if not pages:
            raise UserError(_("Der gewählte Seitenbereich enthält keine Seite dieses Dokuments."))
        # A driver that makes the copies itself gets the pages once; otherwise they are painted n times.
        copies = 1 if printer.supportsMultipleCopies() else printer.copyCount()
        paint_pdf(pdf, printer, pages, copies=copies, collate=printer.collateCopies())
    except UserError as exc:
        QMessageBox.warning(parent, _("Drucken"), exc.message)
        return False
    return True


def print_pdf(pdf: bytes, parent, *, title: str = "", current_page: int | None = None) -> bool:
    """Ask for a printer and print ``pdf``; ``False`` when cancelled or failed (the user was told why)."""
    try:
        printer = ask_printer(parent, pdf, title=title, current_page=current_page)
    except UserError as exc:
        QMessageBox.warning(parent, _("Drucken"), exc.message)
        return False
    return printer is not None and print_on(printer, pdf, parent, current_page=current_page)


# --- saving ------------------------------------------------------------------------------------------------

_last_directory: Path | None = None


def safe_file_name(text: str, suffix: str = ".pdf") -> str:
    """A file name from a title: no path separators or characters Windows refuses, not too long."""
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', "_", text).strip(" ._") or _("Dokument")
    return name[:120] + suffix


def default_directory() -> Path:
    if _last_directory is not None and _last_directory.is_dir():
        return _last_directory
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.home()


def ask_save_path(parent, suggested_name: str) -> Path | None:
    """The save dialog (it asks before replacing a file); ``None`` when cancelled. Adds ``.pdf``."""
    name, _filter = QFileDialog.getSaveFileName(
        parent, _("Als PDF speichern"), str(default_directory() / suggested_name), _("PDF-Dateien (*.pdf)")
    )
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file next to ``path`` and move it into place: never a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".~kim-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_pdf(path: Path, pdf: bytes, parent=None) -> bool:
    """Save ``pdf`` at ``path``; on failure a German message and ``False``."""
    global _last_directory
    try:
        write_file_atomically(path, pdf)
    except OSError as exc:
        QMessageBox.warning(
            parent,
            _("Als PDF speichern"),
            _("Das PDF konnte nicht gespeichert werden:\n{path}\n\nGrund: {reason}").format(
                path=path, reason=exc.strerror or type(exc).__name__
            ),
        )
        return False
    _last_directory = path.parent
    return True


def save_pdf(pdf: bytes, parent, suggested_name: str) -> Path | None:
    """Ask where and save a copy of ``pdf``; the path, or ``None`` when cancelled or failed."""
    path = ask_save_path(parent, suggested_name)
    if path is None:
        return None
    return path if write_pdf(path, pdf, parent) else None
