"""The calendar: a custom-painted day / work-week / month view of appointments, and its list alternative.

Data: every period change (``set_period``, reached through ``set_mode``, ``set_date``, ``go``, ``go_today``)
reads ``appointments.calendar`` once; painting and hit tests use the geometry computed in ``_relayout`` from
the loaded items, never a query per paint. Times are office time (Europe/Berlin): ``CalendarItem`` carries
aware datetimes, the view hands out naive ones (``new_requested``) and passes naive ones to
``move_appointment`` (naive = office time).

Keyboard (day and week): the arrows walk through "stops" of a column in time order: the appointments and the
free 15-minute slots between them. Left/Right go to the next column (at the edge: the next period). Enter
opens the focused appointment, Insert or N creates one at the focused slot (after the focused appointment),
Alt+Up/Down moves it by 15 minutes, Alt+Shift+Up/Down changes its length, Alt+Left/Right moves it by a day
(in the work week Friday → Monday), PgUp/PgDn change the period, T goes to today. Month: the arrows move the day, Enter opens the day in the day view (or the clicked entry).

Screen readers: the widget is one focusable control named "Kalender"; its accessible description always
says in words what has the focus ("Beratung, Donnerstag 3. Dezember, 10:00 bis 11:00 Uhr, …"), and a
description-changed and focus event is sent on every change. ``CalendarListModel`` is the same period as a
table for those who prefer a list.

Colour is never the only sign: the type is in the tooltip, the description and the list; cancelled and
no-show appointments say so in words and are struck through; busy blocks read "Belegt"; an accepted
overlap carries a "!" badge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAccessible,
    QAccessibleEvent,
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QApplication, QMessageBox, QScrollBar, QToolTip, QWidget

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _, current_language, format_date, pgettext
from .widgets import RowsTableModel

log = logging.getLogger(__name__)

SLOT_MINUTES = 15
DAY_MINUTES = 24 * 60
DEFAULT_FIRST_HOUR, DEFAULT_LAST_HOUR = 7, 20  # what the day and week views show without scrolling
NEW_APPOINTMENT_HOUR = 9  # month view: "new" on a day starts here
MONTH_WEEKS = 6
MODES = ("day", "week", "month")

# Okabe–Ito palette (safe for the common colour-vision deficiencies); the text colour on each is chosen by
# WCAG contrast (``text_colour_for``), at least 4.5:1 (tested).
TYPE_COLOURS = {
    "beratung": "#0072B2",  # blue
    "sprechstunde": "#009E73",  # bluish green
    "hausbesuch": "#E69F00",  # orange
    "begleitung": "#CC79A7",  # reddish purple
    "fallkonferenz": "#D55E00",  # vermillion
    "gruppenangebot": "#56B4E9",  # sky blue
}
OTHER_COLOUR = "#F0E442"  # yellow: a type the office added
BUSY_FILL, BUSY_HATCH, BUSY_TEXT = "#E4E4E4", "#A6A6A6", "#1F1F1F"
PALE_TEXT = "#454545"
BADGE_COLOUR = "#B00020"
NOW_COLOUR = "#D0021B"
HOLIDAY_FILL, HOLIDAY_BODY, HOLIDAY_TEXT = "#FBE3D2", "#FDF3EC", "#7A2E00"
WEEKEND_FILL = "#F3F3F3"
TODAY_FILL, TODAY_BODY = "#D6E8F7", "#F2F8FD"
OUTSIDE_MONTH_TEXT = "#6B6B6B"
PALE_STATUSES = ("cancelled", "no_show")

_DAY_PATTERNS = {"de": "EEEE d. MMMM", "en": "EEEE d MMMM"}
_LONG_DAY_PATTERNS = {"de": "EEEE, d. MMMM y", "en": "EEEE, d MMMM y"}


# --- colours ---------------------------------------------------------------------------------------------


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio (1 … 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_for(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background``."""
    black, white = QColor("#000000"), QColor("#FFFFFF")
    return black if contrast_ratio(background, black) >= contrast_ratio(background, white) else white


def type_colour(kind: str) -> QColor:
    return QColor(TYPE_COLOURS.get(kind, OTHER_COLOUR))


def _blend(colour: QColor, other: QColor, share: float) -> QColor:
    """``share`` of ``colour`` over ``other``."""
    return QColor.fromRgbF(
        colour.redF() * share + other.redF() * (1 - share),
        colour.greenF() * share + other.greenF() * (1 - share),
        colour.blueF() * share + other.blueF() * (1 - share),
    )


def block_colours(item) -> tuple[QColor, QColor, QColor]:
    """(fill, text, accent) of an appointment block."""
    if item.busy_only:
        return QColor(BUSY_FILL), QColor(BUSY_TEXT), QColor(BUSY_HATCH)
    colour = type_colour(item.type)
    if item.status in PALE_STATUSES:
        return _blend(colour, QColor("#FFFFFF"), 0.18), QColor(PALE_TEXT), colour
    return colour, text_colour_for(colour), colour.darker(140)


# --- words -----------------------------------------------------------------------------------------------


def _hm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _short_date(day: date, with_year: bool = False) -> str:
    text = f"{day.day}.{day.month}."
    return f"{text}{day.year}" if with_year else text


def day_words(day: date) -> str:
    """ "Donnerstag 3. Dezember" (the UI language's day and month names)."""
    return format_date(day, _DAY_PATTERNS.get(current_language(), _DAY_PATTERNS["de"]))


def long_day_words(day: date) -> str:
    return format_date(day, _LONG_DAY_PATTERNS.get(current_language(), _LONG_DAY_PATTERNS["de"]))


def status_text(item) -> str:
    """The status in words as the calendar shows it ("" for planned)."""
    from ..services.appointments import status_labels

    if item.busy_only:
        return _("Belegt")
    return "" if item.status == "planned" else status_labels().get(item.status, item.status)


def describe_item(item, *, with_manager: bool = False) -> str:
    """An appointment in words, for screen readers and tooltips (no colour needed)."""
    parts = [
        _("Belegt") if item.busy_only else item.type_label,
        day_words(item.starts_at.date()),
        _("{start} bis {end} Uhr").format(start=_hm(item.starts_at), end=_hm(item.ends_at)),
    ]
    if not item.busy_only and item.label and item.label != item.type_label:
        parts.append(item.label)
    if item.location:
        parts.append(item.location)
    if with_manager and item.case_manager:
        parts.append(item.case_manager)
    if not item.busy_only and item.status != "planned":
        parts.append(status_text(item))
    if item.conflict_accepted:
        parts.append(_("Überschneidung bewusst behalten"))
    return ", ".join(p for p in parts if p)


def describe_slot(moment: datetime, column_title: str = "") -> str:
    text = _("Kein Termin, {day}, {time} Uhr").format(day=day_words(moment.date()), time=_hm(moment))
    return f"{text}, {column_title}" if column_title else text


def period_for(mode: str, day: date) -> tuple[date, date]:
    """The days a mode shows around ``day``: the day; Monday–Friday; the 6×7 month grid from a Monday."""
    if mode == "day":
        return day, day
    if mode == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=4)
    first_of_month = day.replace(day=1)
    start = first_of_month - timedelta(days=first_of_month.weekday())
    return start, start + timedelta(days=MONTH_WEEKS * 7 - 1)


def period_label(mode: str, first: date, last: date, anchor: date | None = None) -> str:
    """ "Donnerstag, 3. Dezember 2026" · "KW 49 · 30.11.–4.12.2026" · "Dezember 2026"."""
    if mode == "day":
        return long_day_words(first)
    if mode == "month":
        return format_date(anchor or first + timedelta(days=15), "LLLL y")
    same_year = first.year == last.year
    span = f"{_short_date(first, not same_year)}–{_short_date(last, True)}"
    return _("KW {week} · {span}").format(week=first.isocalendar().week, span=span)


def wrap_lines(text: str, font: QFont, width: float, max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines of ``width`` (at word boundaries where possible);
    the last line is elided when text is left over."""
    if not text or max_lines <= 0 or width <= 0:
        return []
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)  # names are not cut in the middle; too long: elided
    layout.setTextOption(option)
    spans = []
    layout.beginLayout()
    while len(spans) < max_lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        spans.append((line.textStart(), line.textLength()))
    layout.endLayout()
    fm = QFontMetrics(font)
    lines = [text[start : start + length].strip() for start, length in spans]
    if spans and spans[-1][0] + spans[-1][1] < len(text):
        lines[-1] = text[spans[-1][0] :].strip()
    return [fm.elidedText(line, Qt.TextElideMode.ElideRight, int(width)) for line in lines]


# --- geometry --------------------------------------------------------------------------------------------


@dataclass
class Column:
    day: date
    manager_id: str | None  # team day view: the case manager ("" = none); else None
    title: str
    holiday: str = ""
    rect: QRectF = field(default_factory=QRectF)  # body part (time area), widget coordinates
    header: QRectF = field(default_factory=QRectF)


@dataclass
class Block:
    item: object  # CalendarItem
    column: int
    lane: int
    lanes: int
    start_min: int
    end_min: int
    rect: QRectF = field(default_factory=QRectF)


@dataclass
class MonthCell:
    day: date
    rect: QRectF
    holiday: str
    in_month: bool
    items: list = field(default_factory=list)
    entries: list = field(default_factory=list)  # (item, QRectF)
    more: int = 0
    more_rect: QRectF | None = None
    number: str = ""
    holiday_below: list = field(default_factory=list)  # the holiday's name in lines under the number


@dataclass
class _Drag:
    item: object
    kind: str  # move | resize
    press: QPoint
    grab_min: float  # pointer minute − start minute at the press
    active: bool = False
    column: int = 0
    start: datetime | None = None  # naive office time
    end: datetime | None = None


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _end_minutes(item) -> int:
    """End minute on the start day (an appointment past midnight ends at 24:00 here)."""
    if item.ends_at.date() != item.starts_at.date():
        return DAY_MINUTES
    return max(_minutes(item.ends_at), _minutes(item.starts_at) + 1)


def assign_lanes(items: list) -> dict[str, tuple[int, int]]:
    """Overlapping appointments side by side: id → (lane, lanes in its group of overlapping ones)."""
    result: dict[str, tuple[int, int]] = {}
    group: list[tuple[str, int]] = []
    lane_ends: list[int] = []
    group_end = -1

    def close() -> None:
        for item_id, lane in group:
            result[item_id] = (lane, len(lane_ends))

    for item in sorted(items, key=lambda i: (i.starts_at, -_end_minutes(i), i.id)):
        start = _minutes(item.starts_at)
        end = max(_end_minutes(item), start + SLOT_MINUTES)  # a 5-minute block still needs room
        if group and start >= group_end:
            close()
            group, lane_ends, group_end = [], [], -1
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= start:
                lane_ends[lane] = end
                break
        else:
            lane = len(lane_ends)
            lane_ends.append(end)
        group.append((item.id, lane))
        group_end = max(group_end, end)
    if group:
        close()
    return result


def _snap(minutes: float) -> int:
    return int(round(minutes / SLOT_MINUTES)) * SLOT_MINUTES


# --- the list alternative --------------------------------------------------------------------------------

ID_ROLE = Qt.ItemDataRole.UserRole + 1


class CalendarListModel(RowsTableModel):
    """The period's appointments as rows: Datum, Uhrzeit, Art, Wer/Betreff, Ort, Fachkraft, Status."""

    COLUMNS = ("day", "time", "type", "label", "location", "case_manager", "status")

    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Datum"), _("Uhrzeit"), _("Art"), _("Wer / Betreff"), pgettext("Termin", "Ort"), _("Fachkraft"), _("Status")),
            parent,
        )

    def set_items(self, items: list) -> None:
        self.beginResetModel()
        self._rows = list(items)
        self.endResetModel()

    def item(self, row: int):
        return self.row_at(row)

    def row_of(self, item_id: str | None) -> int:
        for row, item in enumerate(self._rows):
            if item.id == item_id:
                return row
        return -1

    def _text(self, item, column: str) -> str:
        if column == "day":
            return format_date(item.starts_at, "EEE dd.MM.yyyy")
        if column == "time":
            return f"{_hm(item.starts_at)}–{_hm(item.ends_at)}"
        if column == "type":
            return _("Belegt") if item.busy_only else item.type_label
        if column == "label":
            return "" if item.busy_only else item.label
        if column == "location":
            return item.location
        if column == "case_manager":
            return item.case_manager
        if item.busy_only:
            return ""
        words = [status_text(item) or status_text_planned()]
        if item.conflict_accepted:
            words.append(_("Überschneidung bewusst behalten"))
        return ", ".join(words)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self.item(index.row())
        if item is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(item, self.COLUMNS[index.column()])
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return (
                describe_item(item, with_manager=True)
                if index.column() == 0
                else self._text(item, self.COLUMNS[index.column()])
            )
        if role == ID_ROLE:
            return item.id
        struck = item.status in PALE_STATUSES and self.COLUMNS[index.column()] != "status"
        if role == Qt.ItemDataRole.FontRole and struck:
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and item.status in PALE_STATUSES:
            return QColor(PALE_TEXT)
        return None


def status_text_planned() -> str:
    from ..services.appointments import status_labels

    return status_labels()["planned"]


# --- the view --------------------------------------------------------------------------------------------


class CalendarView(QWidget):
    """Day (one column per day, or per case manager in team mode), work week and month of appointments.

    Signals: ``open_requested(id)``, ``new_requested(datetime)`` (naive office time), ``current_changed``
    (the focused ``CalendarItem`` or None), ``period_changed(first, last)``, ``mode_changed(mode)``,
    ``items_changed()`` after each load, ``appointment_moved(id)`` after a stored move or resize.
    """

    open_requested = Signal(str)
    new_requested = Signal(object)
    current_changed = Signal(object)
    period_changed = Signal(object, object)
    mode_changed = Signal(str)
    items_changed = Signal()
    appointment_moved = Signal(str)

    def __init__(self, ctx=None, parent=None) -> None:
        super().__init__(parent)
        from ..services.localtime import OFFICE_TIMEZONE

        self.ctx = ctx
        self.now: Callable[[], datetime] = lambda: datetime.now(OFFICE_TIMEZONE)  # office time, aware
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAccessibleName(_("Kalender"))
        self.setMinimumSize(320, 260)

        self._mode = "week"
        self._day = self.now().date()  # the focused day (cursor)
        self._first = self._last = self._day
        self._loaded = False
        self._manager_ids: list[str] | None = None  # None = everyone
        self._team: list[tuple[str, str]] | None = None  # team mode: (id, name) of the case managers
        self._items: list = []
        self._holidays: dict[date, str] = {}
        self._columns: list[Column] = []
        self._blocks: list[Block] = []
        self._cells: list[MonthCell] = []
        self._focus_id: str | None = None
        self._cursor_column = 0
        self._cursor_min = 9 * 60
        self._top_min = DEFAULT_FIRST_HOUR * 60.0
        self._hour_h = 40.0
        self._body = QRect()
        self._drag: _Drag | None = None
        self.load_count = 0  # number of ``appointments.calendar`` calls (for tests and curiosity)

        self._vbar = QScrollBar(Qt.Orientation.Vertical, self)
        self._vbar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._vbar.setAccessibleName(_("Uhrzeit blättern"))
        self._vbar.valueChanged.connect(self._scrolled)
        self._clock = QTimer(self)
        self._clock.setInterval(60_000)
        self._clock.timeout.connect(self.update)  # the red now-line moves on

    # --- public API --------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def period(self) -> tuple[date, date]:
        return self._first, self._last

    @property
    def current_day(self) -> date:
        return self._day

    @property
    def items(self) -> list:
        return list(self._items)

    @property
    def holidays(self) -> dict[date, str]:
        return dict(self._holidays)

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    @property
    def team_mode(self) -> bool:
        return self._team is not None

    def set_context(self, ctx) -> None:
        self.ctx = ctx
        self.reload()

    def set_filter(
        self, case_manager_ids: list[str] | None, team: list[tuple[str, str]] | None = None
    ) -> None:
        """Whose appointments: ``case_manager_ids`` (None = all). ``team``: (id, name) of the case managers for
        the team day view (one column each); None = one column per day."""
        self._manager_ids = list(case_manager_ids) if case_manager_ids is not None else None
        self._team = list(team) if team is not None else None
        self.reload()

    def set_mode(self, mode: str, day: date | None = None) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        changed = mode != self._mode
        self._mode = mode
        self._vbar.setVisible(mode != "month")
        self._drag = None
        self.set_date(day or self._day, force=changed)
        if changed:
            self.mode_changed.emit(mode)

    def set_date(self, day: date, *, force: bool = False) -> None:
        """Show the period of the current mode that contains ``day`` and put the cursor on it."""
        if self._mode == "week" and day.weekday() >= 5:
            day = day - timedelta(days=day.weekday() - 4)  # the work week shows Friday for a weekend day
        self._day = day
        item = self.current_item()
        if self._mode == "month" and item is not None and item.starts_at.date() != day:
            self._focus_id = (
                None  # the month's cursor is a day: an appointment of another day loses the focus
            )
        first, last = period_for(self._mode, day)
        if force or not self._loaded or (first, last) != (self._first, self._last):
            self.set_period(first, last)
        else:
            self._cursor_to_day()
            self._relayout()
            self._emit_current()
            self._announce()

    def set_period(self, first: date, last: date) -> None:
        """Show ``first``..``last`` (one call of ``appointments.calendar``)."""
        self._first, self._last = first, last
        if not first <= self._day <= last:
            self._day = first
        if self._focus_id is not None and not any(
            i.id == self._focus_id and first <= i.starts_at.date() <= last for i in self._items
        ):
            self._focus_id = None
        self._load()
        self._cursor_to_day()
        self.period_changed.emit(first, last)
        self._relayout()
        self._cursor_to_free_slot()
        self._emit_current()
        self._announce()

    def reload(self) -> None:
        """Read the current period again (after a change elsewhere); keeps focus and scroll position."""
        if not self._loaded:
            self.set_date(self._day, force=True)
            return
        self._load()
        if self._focus_id is not None and self._item(self._focus_id) is None:
            self._focus_id = None
        self._relayout()
        self._emit_current()
        self._announce()

    def go(self, step: int) -> None:
        """Previous (−1) or next (+1) period."""
        if self._mode == "day":
            self.set_date(self._day + timedelta(days=step))
        elif self._mode == "week":
            self.set_date(self._day + timedelta(days=7 * step))
        else:
            month = self._day.month - 1 + step
            year = self._day.year + month // 12
            self.set_date(date(year, month % 12 + 1, 1))

    def go_today(self) -> None:
        self.set_date(self.now().date())

    def current_item(self):
        return self._item(self._focus_id) if self._focus_id else None

    def set_current(self, item_id: str | None) -> None:
        """Focus an appointment of the period (from the list), or the slot cursor (None)."""
        item = self._item(item_id) if item_id else None
        self._focus_id = item.id if item else None
        if item is not None:
            self._day = item.starts_at.date()
            column = self._column_of(item)
            if column is not None:
                self._cursor_column = column
            self._cursor_min = _minutes(item.starts_at)
            self._ensure_visible()
        self._emit_current()
        self._relayout()
        self._announce()

    def focused_slot(self) -> datetime | None:
        """The focused free slot (naive office time), None while an appointment has the focus."""
        if self._focus_id is not None or self._mode == "month" or not self._columns:
            return None
        column = self._columns[min(self._cursor_column, len(self._columns) - 1)]
        return datetime.combine(column.day, time(0)) + timedelta(minutes=self._cursor_min)

    def item_rects(self) -> dict[str, QRect]:
        """Appointment id → its block (day/week) or month entry, in widget coordinates (visible part)."""
        if self._mode == "month":
            return {item.id: rect.toAlignedRect() for cell in self._cells for item, rect in cell.entries}
        result = {}
        for block in self._blocks:
            visible = block.rect.intersected(QRectF(self._body))
            if not visible.isEmpty():
                result[block.item.id] = visible.toAlignedRect()
        return result

    def item_at(self, pos: QPoint) -> str | None:
        found = self._hit(pos)
        return found[1].id if found and found[0] in ("block", "entry") else None

    def slot_at(self, pos: QPoint) -> datetime | None:
        """The 15-minute slot under ``pos`` (naive office time); month: the day at 9:00."""
        if self._mode == "month":
            cell = self._cell_at(pos)
            return datetime.combine(cell.day, time(NEW_APPOINTMENT_HOUR)) if cell else None
        column = self._column_at(pos)
        if column is None or not self._body.contains(pos):
            return None
        minute = int(self._minute_at(pos.y()) // SLOT_MINUTES) * SLOT_MINUTES
        minute = min(max(minute, 0), DAY_MINUTES - SLOT_MINUTES)
        return datetime.combine(self._columns[column].day, time(0)) + timedelta(minutes=minute)

    def point_for(self, moment: datetime, column: int | None = None) -> QPoint:
        """The widget point of an office time (day/week), in the given or the moment's day column."""
        if column is None:
            column = next((i for i, c in enumerate(self._columns) if c.day == moment.date()), 0)
        rect = self._columns[column].rect
        return QPoint(int(rect.center().x()), int(round(self._y_of(_minutes(moment)))))

    def scroll_to_minute(self, minute: float) -> None:
        self._top_min = minute
        self._relayout()

    def month_cells(self) -> dict[date, MonthCell]:
        return {cell.day: cell for cell in self._cells}

    # --- data --------------------------------------------------------------------------------------------

    def _load(self) -> None:
        self._loaded = True
        if self.ctx is None:
            self._items, self._holidays = [], {}
        else:
            from ..services.appointments import calendar, holidays_between

            with self.ctx.read() as session:
                self._items = calendar(session, self._first, self._last, case_manager_ids=self._manager_ids)
            self._holidays = holidays_between(self._first, self._last)
            self.load_count += 1
        self.items_changed.emit()

    def _item(self, item_id: str | None):
        return next((i for i in self._items if i.id == item_id), None)

    def _emit_current(self) -> None:
        self.current_changed.emit(self.current_item())

    # --- layout --------------------------------------------------------------------------------------------

    def _line(self) -> int:
        return self.fontMetrics().lineSpacing()

    def _header_height(self) -> int:
        return 2 * self._line() + 12

    def _relayout(self) -> None:
        self._blocks, self._cells = [], []
        if self._mode == "month":
            self._layout_month()
        else:
            self._layout_time()
        self.update()

    def _make_columns(self) -> list[Column]:
        days = [self._first + timedelta(days=i) for i in range((self._last - self._first).days + 1)]
        if self._mode == "day" and self._team is not None:
            day = self._first
            holiday = self._holidays.get(day, "")
            team = list(self._team)
            if len(team) > 10:  # a large office: only who has appointments that day
                busy = {i.case_manager_id for i in self._items}
                team = [(i, n) for i, n in team if i in busy]
            known = {i for i, _n in team}
            columns = [Column(day, manager_id, name, holiday) for manager_id, name in team]
            if any((i.case_manager_id or "") not in known for i in self._items) or not columns:
                columns.append(
                    Column(day, "", _("Ohne Fachkraft") if columns else long_day_words(day), holiday)
                )
            return columns
        return [Column(d, None, "", self._holidays.get(d, "")) for d in days]

    def _column_of(self, item) -> int | None:
        for index, column in enumerate(self._columns):
            if column.manager_id is None:
                if column.day == item.starts_at.date():
                    return index
            elif column.manager_id == (item.case_manager_id or "") or (
                column.manager_id == ""
                and not any(c.manager_id == item.case_manager_id for c in self._columns)
            ):
                return index
        return None

    def _layout_time(self) -> None:
        line = self._line()
        fm = self.fontMetrics()
        gutter = fm.horizontalAdvance("00:00") + 16
        bar = self._vbar.sizeHint().width()
        header = self._header_height()
        self._body = QRect(
            gutter, header, max(1, self.width() - gutter - bar), max(1, self.height() - header)
        )
        visible_hours = DEFAULT_LAST_HOUR - DEFAULT_FIRST_HOUR
        self._hour_h = max(self._body.height() / visible_hours, 2.5 * line)
        content = 24 * self._hour_h
        max_top = max(0.0, (content - self._body.height()) / self._hour_h * 60)
        self._top_min = min(max(self._top_min, 0.0), max_top)
        self._vbar.setGeometry(self.width() - bar, header, bar, self._body.height())
        self._vbar.blockSignals(True)
        self._vbar.setRange(0, int(max(0.0, content - self._body.height())))
        self._vbar.setPageStep(self._body.height())
        self._vbar.setSingleStep(max(1, int(self._hour_h / 4)))
        self._vbar.setValue(int(round(self._top_min / 60 * self._hour_h)))
        self._vbar.blockSignals(False)

        self._columns = self._make_columns()
        n = max(1, len(self._columns))
        width = self._body.width() / n
        for index, column in enumerate(self._columns):
            left = self._body.left() + index * width
            column.rect = QRectF(left, self._body.top(), width, self._body.height())
            column.header = QRectF(left, 0, width, header)
        self._cursor_column = min(self._cursor_column, n - 1)

        by_column: dict[int, list] = {}
        for item in self._items:
            column = self._column_of(item)
            if column is not None:
                by_column.setdefault(column, []).append(item)
        for index, items in by_column.items():
            lanes = assign_lanes(items)
            rect = self._columns[index].rect
            usable = rect.width() - 8  # a strip on the right stays free for clicks on the empty column
            for item in items:
                lane, count = lanes[item.id]
                start, end = _minutes(item.starts_at), _end_minutes(item)
                lane_w = usable / count
                top, bottom = self._y_of(start), self._y_of(end)
                block = Block(item, index, lane, count, start, end)
                block.rect = QRectF(
                    rect.left() + 2 + lane * lane_w, top + 1, max(lane_w - 2, 4), max(bottom - top - 2, 6)
                )
                self._blocks.append(block)
        self._blocks.sort(key=lambda b: (b.column, b.start_min, b.lane))

    def _layout_month(self) -> None:
        self._columns = []
        line = self._line()
        header = line + 10
        width, height = self.width() / 7, max(1, self.height() - header) / MONTH_WEEKS
        self._body = QRect(0, header, self.width(), self.height() - header)
        by_day: dict[date, list] = {}
        for item in self._items:
            by_day.setdefault(item.starts_at.date(), []).append(item)
        entry_h = line + 3
        bold = QFont(self.font())
        bold.setBold(True)
        for index in range(MONTH_WEEKS * 7):
            day = self._first + timedelta(days=index)
            rect = QRectF((index % 7) * width, header + (index // 7) * height, width, height)
            items = by_day.get(day, [])
            cell = MonthCell(day, rect, self._holidays.get(day, ""), day.month == self._day.month, items)
            cell.number = str(day.day) if day.day != 1 else format_date(day, "d. MMM")
            top = rect.top() + line + 6
            if cell.holiday:  # beside the number if it fits there, else in (up to two) lines below it
                beside = width - QFontMetrics(bold).horizontalAdvance(cell.number) - 20
                if self.fontMetrics().horizontalAdvance(cell.holiday) > beside:
                    cell.holiday_below = wrap_lines(cell.holiday, self.font(), width - 10, 2)
                    top += len(cell.holiday_below) * line
            fit = max(0, int((rect.bottom() - top - 2) // entry_h))
            shown = len(items) if len(items) <= fit else max(0, fit - 1)
            for n, item in enumerate(items[:shown]):
                cell.entries.append(
                    (item, QRectF(rect.left() + 3, top + n * entry_h, width - 6, entry_h - 1))
                )
            if shown < len(items):
                cell.more = len(items) - shown
                cell.more_rect = QRectF(rect.left() + 3, top + shown * entry_h, width - 6, entry_h - 1)
            self._cells.append(cell)

    def _y_of(self, minute: float) -> float:
        return self._body.top() + (minute - self._top_min) / 60 * self._hour_h

    def _minute_at(self, y: float) -> float:
        return self._top_min + (y - self._body.top()) / self._hour_h * 60

    def _column_at(self, pos: QPoint) -> int | None:
        for index, column in enumerate(self._columns):
            if column.rect.left() <= pos.x() < column.rect.right() + 1:
                return index
        return None

    def _nearest_column(self, x: float) -> int:
        if not self._columns:
            return 0
        for index, column in enumerate(self._columns):
            if x < column.rect.right():
                return index
        return len(self._columns) - 1

    def _cell_at(self, pos: QPoint) -> MonthCell | None:
        return next((c for c in self._cells if c.rect.contains(QPointF(pos))), None)

    def _hit(self, pos: QPoint):
        """("block", item) | ("entry", item) | ("more", cell) | ("cell", cell) | ("slot", column) | None."""
        point = QPointF(pos)
        if self._mode == "month":
            cell = self._cell_at(pos)
            if cell is None:
                return None
            for item, rect in cell.entries:
                if rect.contains(point):
                    return "entry", item
            if cell.more_rect is not None and cell.more_rect.contains(point):
                return "more", cell
            return "cell", cell
        if not self._body.contains(pos):
            return None
        for block in reversed(self._blocks):  # the later lane is painted last, on top
            if block.rect.contains(point):
                return "block", block.item
        column = self._column_at(pos)
        return ("slot", column) if column is not None else None

    def _block(self, item_id: str | None) -> Block | None:
        return next((b for b in self._blocks if b.item.id == item_id), None)

    # --- keyboard --------------------------------------------------------------------------------------------

    def _stops(self, column: int) -> list[tuple[int, int, str | None]]:
        """(minute, lane, item id or None for a free slot) of a column, in time order."""
        blocks = [b for b in self._blocks if b.column == column]
        stops: list[tuple[int, int, str | None]] = [(b.start_min, b.lane, b.item.id) for b in blocks]
        covered = [(b.start_min, b.end_min) for b in blocks]
        for minute in range(0, DAY_MINUTES, SLOT_MINUTES):
            if not any(start <= minute < end for start, end in covered):
                stops.append((minute, -1, None))
        stops.sort(key=lambda s: (s[0], s[1]))
        return stops

    def _stop_at(self, column: int, minute: int) -> tuple[int, str | None]:
        """The stop of ``column`` at ``minute``: an appointment covering it, else the free slot."""
        blocks = [b for b in self._blocks if b.column == column]
        for b in blocks:
            if b.start_min <= minute < b.end_min:
                return b.start_min, b.item.id
        slot = minute // SLOT_MINUTES * SLOT_MINUTES
        for b in blocks:
            if b.start_min <= slot < b.end_min:
                return b.start_min, b.item.id
        return slot, None

    def _focus_stop(self, column: int, minute: int, item_id: str | None) -> None:
        self._cursor_column, self._cursor_min = column, minute
        self._focus_id = item_id
        if self._columns:
            self._day = self._columns[column].day
        self._ensure_visible()
        self._relayout()
        self._emit_current()
        self._announce()

    def _cursor_to_free_slot(self) -> None:
        """Without a focused appointment the cursor is on a free slot: the first one at or after it."""
        if self._mode == "month" or self._focus_id is not None or not self._columns:
            return
        free = [minute for minute, _lane, item_id in self._stops(self._cursor_column) if item_id is None]
        if not free or self._cursor_min in free:
            return
        later = [minute for minute in free if minute >= self._cursor_min]
        self._cursor_min = later[0] if later else free[-1]
        self._ensure_visible()
        self._relayout()

    def _current_minute(self) -> int:
        block = self._block(self._focus_id)
        return block.start_min if block is not None else self._cursor_min

    def _move_vertical(self, step: int) -> None:
        column = self._cursor_column
        block = self._block(self._focus_id)
        stops = self._stops(column)
        if block is not None:
            key = (block.start_min, block.lane, block.item.id)
        else:
            key = (self._cursor_min, -1, None)
        index = next((i for i, s in enumerate(stops) if s == key), None)
        if index is None:  # the cursor slot lies under an appointment now: take that one
            minute, item_id = self._stop_at(column, self._cursor_min)
            self._focus_stop(column, minute, item_id)
            return
        target = stops[min(max(index + step, 0), len(stops) - 1)]
        self._focus_stop(column, target[0], target[2])

    def _move_horizontal(self, step: int) -> None:
        minute = self._current_minute()
        target = self._cursor_column + step
        if not 0 <= target < len(self._columns):
            self._focus_id = None
            self._cursor_min = minute
            if self._mode == "week":
                # previous or next week, at its last or first day
                self.set_date(self._first + timedelta(days=7 * step + (4 if step < 0 else 0)))
            else:
                self.set_date(self._day + timedelta(days=step))
            target = len(self._columns) - 1 if step < 0 else 0
        minute_at, item_id = self._stop_at(target, minute)
        self._focus_stop(target, minute_at, item_id)

    def _move_month(self, days: int) -> None:
        day = self._day + timedelta(days=days)
        self._focus_id = None
        if self._first <= day <= self._last and day.month == self._day.month:
            self._day = day
            self._relayout()
            self._emit_current()
            self._announce()
        else:
            self.set_date(day)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        key = event.key()
        mods = event.modifiers()
        alt = bool(mods & Qt.KeyboardModifier.AltModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier):
            super().keyPressEvent(event)
            return
        arrows = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right)
        if alt:
            if key in arrows and self._mode != "month":
                self._keyboard_change(key, shift)
                event.accept()
                return
            super().keyPressEvent(event)  # Alt+letter: the page's accelerators
            return
        if key == Qt.Key.Key_PageUp:
            self.go(-1)
        elif key == Qt.Key.Key_PageDown:
            self.go(1)
        elif key == Qt.Key.Key_T and not shift:
            self.go_today()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._activate()
        elif key in (Qt.Key.Key_Insert, Qt.Key.Key_N):
            self._request_new()
        elif key in arrows and self._mode == "month":
            self._move_month(
                {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1, Qt.Key.Key_Up: -7, Qt.Key.Key_Down: 7}[key]
            )
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self._columns:
            self._move_vertical(-1 if key == Qt.Key.Key_Up else 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._columns:
            self._move_horizontal(-1 if key == Qt.Key.Key_Left else 1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _activate(self) -> None:
        if self._focus_id is not None:
            self.open_requested.emit(self._focus_id)
        elif self._mode == "month":
            self.set_mode("day", self._day)

    def _request_new(self) -> None:
        if self._mode == "month":
            self.new_requested.emit(datetime.combine(self._day, time(NEW_APPOINTMENT_HOUR)))
            return
        item = self.current_item()
        if item is not None:
            end = item.ends_at.replace(tzinfo=None)
            self.new_requested.emit(end.replace(minute=end.minute // SLOT_MINUTES * SLOT_MINUTES, second=0))
            return
        slot = self.focused_slot()
        if slot is not None:
            self.new_requested.emit(slot)

    def _keyboard_change(self, key, shift: bool) -> None:
        item = self.current_item()
        if item is None or item.busy_only:
            QApplication.beep()
            return
        start, end = item.starts_at.replace(tzinfo=None), item.ends_at.replace(tzinfo=None)
        step = timedelta(minutes=SLOT_MINUTES)
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            sign = -1 if key == Qt.Key.Key_Up else 1
            if shift:
                new_end = end + sign * step
                if new_end - start < step:
                    QApplication.beep()
                    return
                self.move_item(item, start, new_end)
            else:
                self.move_item(item, start + sign * step)
            return
        sign = -1 if key == Qt.Key.Key_Left else 1
        day = start.date() + timedelta(days=sign)
        if self._mode == "week":
            while day.weekday() >= 5:
                day += timedelta(days=sign)
        self.move_item(item, datetime.combine(day, start.time()))

    # --- storing a move ------------------------------------------------------------------------------------

    def move_item(self, item, starts_at: datetime, ends_at: datetime | None = None) -> bool:
        """Store a move (and resize) at once; on overlaps ask whether to keep both. True if stored."""
        if self.ctx is None:
            return False
        from ..services.appointments import AppointmentConflictError, move_appointment

        keep = False
        while True:
            try:
                move_appointment(
                    self.ctx, item.id, starts_at, ends_at, expected_version=item.version, keep_conflicts=keep
                )
                break
            except AppointmentConflictError as exc:
                if keep or not self._ask_keep_both(exc):
                    self.reload()
                    return False
                keep = True
            except UserError as exc:
                self._warn(exc.message)
                self.reload()
                return False
            except Exception as exc:  # noqa: BLE001 - never a traceback in front of the counsellor
                log.error("moving an appointment failed: %s", type(exc).__name__)
                self._warn(
                    _(
                        "Ein unerwarteter Fehler ist aufgetreten; Details stehen im Protokoll. Nichts wurde geändert."
                    )
                )
                self.reload()
                return False
        self._focus_id = item.id
        if self._first <= starts_at.date() <= self._last:
            self._day = starts_at.date()
            self.reload()
        else:
            self.set_date(starts_at.date())
            self._focus_id = item.id if self._item(item.id) else None
        block = self._block(item.id)
        if block is not None:
            self._cursor_column, self._cursor_min = block.column, block.start_min
            self._ensure_visible()
            self._relayout()
        self._emit_current()
        self._announce()
        self.appointment_moved.emit(item.id)
        return True

    def _ask_keep_both(self, exc) -> bool:
        conflicts = list(getattr(exc, "conflicts", []) or [])
        lines = ["• " + c.message() for c in conflicts[:8]]
        if len(conflicts) > 8:
            lines.append(_("… und {n} weitere Überschneidungen.").format(n=len(conflicts) - 8))
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(_("Terminüberschneidung"))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(
            _("Zur neuen Zeit gibt es schon andere Termine:") + "\n\n" + "\n".join(lines or [exc.message])
        )
        box.setInformativeText(_("Trotzdem beide behalten?"))
        yes = box.addButton(_("&Ja, beide behalten"), QMessageBox.ButtonRole.YesRole)
        no = box.addButton(_("&Nein"), QMessageBox.ButtonRole.NoRole)
        box.setDefaultButton(no)  # a quick Enter leaves the calendar as it was
        box.setEscapeButton(no)
        box.exec()
        return box.clickedButton() is yes

    def _warn(self, message: str) -> None:
        QMessageBox.warning(self, APP_NAME, message)

    # --- mouse ---------------------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = event.position().toPoint()
        hit = self._hit(pos)
        self._drag = None
        if hit is None:
            return
        kind, target = hit
        if kind in ("entry", "cell", "more"):
            cell = self._cell_at(pos)
            self._day = cell.day
            self._focus_id = target.id if kind == "entry" else None
        elif kind == "block":
            block = self._block(target.id)
            self._focus_id = target.id
            self._cursor_column, self._cursor_min = block.column, block.start_min
            self._day = self._columns[block.column].day
            if not target.busy_only:
                resize = pos.y() >= block.rect.bottom() - self._resize_margin(block)
                self._drag = _Drag(target, "resize" if resize else "move", pos,
                                   self._minute_at(pos.y()) - block.start_min, column=block.column)  # fmt: skip
        else:
            slot = self.slot_at(pos)
            if slot is not None:
                self._focus_id = None
                self._cursor_column, self._cursor_min = target, _minutes(slot)
                self._day = slot.date()
        self._relayout()
        self._emit_current()
        self._announce()

    def _resize_margin(self, block: Block) -> float:
        return min(6.0, block.rect.height() / 4)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        pos = event.position().toPoint()
        drag = self._drag
        if drag is None or not event.buttons() & Qt.MouseButton.LeftButton:
            self._update_cursor(pos)
            return
        if not drag.active:
            if (pos - drag.press).manhattanLength() < QApplication.startDragDistance():
                return
            drag.active = True
            self.setCursor(
                Qt.CursorShape.SizeVerCursor if drag.kind == "resize" else Qt.CursorShape.ClosedHandCursor
            )
        item = drag.item
        start, end = item.starts_at.replace(tzinfo=None), item.ends_at.replace(tzinfo=None)
        duration = end - start
        if drag.kind == "resize":
            start_min = _minutes(start)
            end_min = min(max(_snap(self._minute_at(pos.y())), start_min + SLOT_MINUTES), DAY_MINUTES)
            drag.column = self._column_of(item) or 0
            drag.start = start
            drag.end = datetime.combine(start.date(), time(0)) + timedelta(minutes=end_min)
        else:
            length = int(duration.total_seconds() // 60)
            minute = min(
                max(_snap(self._minute_at(pos.y()) - drag.grab_min), 0), max(0, DAY_MINUTES - length)
            )
            column = self._nearest_column(pos.x()) if self._columns[0].manager_id is None else drag.column
            drag.column = column
            drag.start = datetime.combine(self._columns[column].day, time(0)) + timedelta(minutes=minute)
            drag.end = drag.start + duration
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        drag, self._drag = self._drag, None
        self.unsetCursor()
        if drag is None or not drag.active or drag.start is None:
            self.update()
            return
        item = drag.item
        start, end = item.starts_at.replace(tzinfo=None), item.ends_at.replace(tzinfo=None)
        if (drag.start, drag.end) == (start, end):
            self.update()
            return
        if drag.kind == "resize":
            self.move_item(item, start, drag.end)
        else:
            self.move_item(item, drag.start)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._drag = None
        pos = event.position().toPoint()
        hit = self._hit(pos)
        if hit is None:
            return
        kind, target = hit
        if kind in ("block", "entry"):
            self.open_requested.emit(target.id)
        elif kind == "more":
            self.set_mode("day", target.day)
        else:
            slot = self.slot_at(pos)
            if slot is not None:
                self.new_requested.emit(slot)

    def _update_cursor(self, pos: QPoint) -> None:
        hit = self._hit(pos)
        if hit and hit[0] == "block" and not hit[1].busy_only:
            block = self._block(hit[1].id)
            near_edge = pos.y() >= block.rect.bottom() - self._resize_margin(block)
            self.setCursor(Qt.CursorShape.SizeVerCursor if near_edge else Qt.CursorShape.OpenHandCursor)
        else:
            self.unsetCursor()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._mode == "month":
            super().wheelEvent(event)
            return
        delta = event.angleDelta().y()
        self._top_min -= delta / 120 * SLOT_MINUTES * 2
        self._relayout()
        event.accept()

    def _scrolled(self, value: int) -> None:
        self._top_min = value / self._hour_h * 60
        self._relayout()

    def _ensure_visible(self) -> None:
        if self._mode == "month" or self._hour_h <= 0:
            return
        block = self._block(self._focus_id)
        start = block.start_min if block else self._cursor_min
        end = block.end_min if block else self._cursor_min + SLOT_MINUTES
        visible = self._body.height() / self._hour_h * 60
        if start < self._top_min:
            self._top_min = max(0.0, start - SLOT_MINUTES)
        elif end > self._top_min + visible:
            self._top_min = min(start - SLOT_MINUTES, end - visible + SLOT_MINUTES)

    def _cursor_to_day(self) -> None:
        if self._mode == "month":
            return
        columns = self._make_columns()
        self._columns = columns
        index = next((i for i, c in enumerate(columns) if c.day == self._day), 0)
        if columns and columns[0].manager_id is not None:
            index = min(self._cursor_column, len(columns) - 1)
        self._cursor_column = index
        if self._focus_id is None and self._day == self.now().date():
            now = self.now()
            self._cursor_min = _minutes(now) // SLOT_MINUTES * SLOT_MINUTES

    # --- accessibility -------------------------------------------------------------------------------------

    def description(self) -> str:
        """What has the focus, in words."""
        if self._mode == "month":
            return self._describe_day(self._day)
        item = self.current_item()
        if item is not None:
            return describe_item(item, with_manager=self._team is not None)
        slot = self.focused_slot()
        if slot is None:
            return ""
        column = self._columns[min(self._cursor_column, len(self._columns) - 1)]
        title = column.title if column.manager_id is not None else ""
        text = describe_slot(slot, title)
        holiday = self._holidays.get(slot.date())
        return _("{text}, Feiertag: {name}").format(text=text, name=holiday) if holiday else text

    def _describe_day(self, day: date) -> str:
        items = [i for i in self._items if i.starts_at.date() == day]
        parts = [long_day_words(day)]
        if day in self._holidays:
            parts.append(_("Feiertag: {name}").format(name=self._holidays[day]))
        item = self.current_item()
        if item is not None:
            parts.append(describe_item(item, with_manager=self._team is not None))
        elif not items:
            parts.append(_("keine Termine"))
        else:
            parts.append(_("1 Termin") if len(items) == 1 else _("{n} Termine").format(n=len(items)))
            busy = _("Belegt")
            parts.extend(
                f"{_hm(i.starts_at)} {busy if i.busy_only else i.type_label} {i.label}"
                for i in items[:8]
            )
        return ", ".join(parts)

    def _announce(self) -> None:
        text = self.description()
        if text == self.accessibleDescription():
            return
        self.setAccessibleDescription(text)
        if not self.hasFocus():
            return
        for kind in (QAccessible.Event.DescriptionChanged, QAccessible.Event.Focus):
            try:
                QAccessible.updateAccessibility(QAccessibleEvent(self, kind))
            except (AttributeError, TypeError, RuntimeError):  # an older binding without the event class
                break

    def focusInEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().focusInEvent(event)
        self._announce()
        self.update()

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().focusOutEvent(event)
        self.update()

    def event(self, event) -> bool:
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()
            hit = self._hit(pos)
            text = ""
            if hit and hit[0] in ("block", "entry"):
                text = describe_item(hit[1], with_manager=True)
            elif hit and hit[0] in ("cell", "more"):
                text = self._describe_day(hit[1].day)
            else:
                column = next((c for c in self._columns if c.header.contains(QPointF(pos))), None)
                if column is not None:
                    text = ", ".join(
                        t for t in (column.title, long_day_words(column.day), column.holiday) if t
                    )
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    # --- Qt plumbing -----------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(820, 600)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._relayout()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        from PySide6.QtCore import QEvent

        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange):
            self._relayout()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self._clock.start()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().hideEvent(event)
        self._clock.stop()

    # --- painting ------------------------------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        if self._mode == "month":
            self._paint_month(painter)
        else:
            self._paint_time(painter)
        painter.end()

    def _pen(self, colour, width: float = 1.0, style=Qt.PenStyle.SolidLine) -> QPen:
        pen = QPen(QColor(colour))
        pen.setWidthF(width)
        pen.setStyle(style)
        return pen

    def _grid_colour(self, light: bool = False) -> QColor:
        mid = self.palette().color(QPalette.ColorRole.Mid)
        return _blend(mid, self.palette().color(QPalette.ColorRole.Base), 0.35 if light else 0.8)

    def _paint_time(self, p: QPainter) -> None:
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.Text)
        fm = self.fontMetrics()
        line = fm.lineSpacing()
        today = self.now().date()
        body = QRectF(self._body)
        header_h = self._header_height()
        p.fillRect(QRectF(0, 0, self.width(), header_h), palette.color(QPalette.ColorRole.Window))

        # column backgrounds and headers
        bold = QFont(self.font())
        bold.setBold(True)
        for column in self._columns:
            fill = None
            if column.holiday:
                fill = QColor(HOLIDAY_BODY)
            elif column.day == today and column.manager_id is None:
                fill = QColor(TODAY_BODY)
            elif column.day.weekday() >= 5:
                fill = QColor(WEEKEND_FILL)
            if fill is not None:
                p.fillRect(column.rect, fill)
            head = column.header
            if column.holiday:
                p.fillRect(head, QColor(HOLIDAY_FILL))
            elif column.day == today and column.manager_id is None:
                p.fillRect(head, QColor(TODAY_FILL))
            p.setPen(text_colour)
            p.setFont(bold if column.day == today or column.manager_id is not None else self.font())
            title = column.title or self._day_title(column.day, head.width() - 8, p.fontMetrics())
            area = head.adjusted(4, 5, -4, 0)
            p.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                       p.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, int(area.width())))  # fmt: skip
            if column.day == today and column.manager_id is None:
                p.fillRect(
                    QRectF(head.left(), head.bottom() - 3, head.width(), 3),
                    palette.color(QPalette.ColorRole.Highlight),
                )
            if column.holiday:
                p.setFont(self.font())
                p.setPen(QColor(HOLIDAY_TEXT))
                p.drawText(area.adjusted(0, line, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                           fm.elidedText(column.holiday, Qt.TextElideMode.ElideRight, int(area.width())))  # fmt: skip
        p.setFont(self.font())

        # hour lines and labels
        p.save()
        p.setClipRect(QRectF(0, body.top(), self.width(), body.height()))
        first_hour = max(0, int(self._top_min // 60))
        last_hour = min(24, int(self._minute_at(body.bottom()) // 60) + 1)
        for hour in range(first_hour, last_hour + 1):
            y = self._y_of(hour * 60)
            p.setPen(self._pen(self._grid_colour()))
            p.drawLine(QPointF(body.left(), y), QPointF(body.right(), y))
            p.setPen(self._pen(self._grid_colour(light=True), 1, Qt.PenStyle.DotLine))
            half = self._y_of(hour * 60 + 30)
            p.drawLine(QPointF(body.left(), half), QPointF(body.right(), half))
            if hour < 24:  # below its line: the first visible hour is never cut in half
                p.setPen(text_colour)
                p.drawText(QRectF(0, y + 1, body.left() - 6, line),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{hour:02d}:00")  # fmt: skip
        p.restore()

        # column separators (through header and body)
        p.setPen(self._pen(self._grid_colour()))
        for column in self._columns:
            x = column.rect.left()
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.drawLine(QPointF(0, header_h - 0.5), QPointF(self.width(), header_h - 0.5))

        # appointments, the dragged ghost, the now-line, the keyboard focus
        p.save()
        p.setClipRect(body)
        for block in self._blocks:
            self._paint_block(p, block.item, block.rect, ghost=False)
        drag = self._drag
        if drag is not None and drag.active and drag.start is not None:
            column = self._columns[drag.column]
            source = self._block(drag.item.id)
            lane_rect = source.rect if source is not None else column.rect
            left = column.rect.left() + (
                lane_rect.left() - self._columns[source.column].rect.left() if source else 2
            )
            top, bottom = (
                self._y_of(_minutes(drag.start)),
                self._y_of(_minutes(drag.end) if drag.end.date() == drag.start.date() else DAY_MINUTES),
            )
            ghost = QRectF(left, top + 1, lane_rect.width(), max(bottom - top - 2, 6))
            self._paint_block(p, drag.item, ghost, ghost=True, times=(drag.start, drag.end))
        now = self.now()
        for column in self._columns:
            if column.day == now.date():
                y = self._y_of(_minutes(now) + now.second / 60)
                p.setPen(self._pen(NOW_COLOUR, 2))
                p.drawLine(QPointF(column.rect.left(), y), QPointF(column.rect.right(), y))
                p.setBrush(QColor(NOW_COLOUR))
                p.setPen(Qt.PenStyle.NoPen)
                p.drawEllipse(QPointF(column.rect.left() + 1, y), 4, 4)
        self._paint_focus(p)
        p.restore()

    def _day_title(self, day: date, width: float, fm: QFontMetrics) -> str:
        for pattern in ("EEEE, d.M.", "EEE d.M.", "d.M."):
            text = format_date(day, pattern)
            if fm.horizontalAdvance(text) <= width:
                return text
        return format_date(day, "d.M.")

    def _paint_block(self, p: QPainter, item, rect: QRectF, *, ghost: bool, times=None) -> None:
        fill, text, accent = block_colours(item)
        start, end = times or (item.starts_at, item.ends_at)
        pale = item.status in PALE_STATUSES
        p.save()
        path = QPainterPath()
        path.addRoundedRect(rect, 3, 3)
        if ghost:
            colour = QColor(fill)
            colour.setAlphaF(0.75)
            p.fillPath(path, colour)
        else:
            p.fillPath(path, fill)
            if item.busy_only:
                p.fillPath(path, QBrush(QColor(BUSY_HATCH), Qt.BrushStyle.BDiagPattern))
        p.setClipPath(path, Qt.ClipOperation.IntersectClip)
        stripe = QRectF(rect.left(), rect.top(), 4, rect.height())
        p.fillRect(stripe, accent)
        outline = self._pen(accent if pale or item.busy_only else fill.darker(125), 1)
        if ghost:
            outline = self._pen(self.palette().color(QPalette.ColorRole.Text), 2, Qt.PenStyle.DashLine)
        p.setPen(outline)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)

        font = QFont(self.font())
        line = QFontMetrics(font).lineSpacing()
        badge = item.conflict_accepted and not ghost
        badge_d = min(line * 0.95, rect.height() - 2, 18.0)
        inner = rect.adjusted(6, 2, -2, -1)
        lines = max(1, int(inner.height() // line))
        # the "!" sits top right; in a narrow lane it moves to the bottom row, where it hides less of the text
        badge_row = lines - 1 if badge and lines > 1 and inner.width() < 4 * badge_d else 0
        rows = self._block_rows(item, start, end, font, inner.width(), lines)
        p.setPen(text)
        for index, segments in enumerate(rows):
            width = inner.width() - (badge_d + 2 if badge and index == badge_row else 0)
            row_rect = QRectF(inner.left(), inner.top() + index * line, width, line)
            self._draw_segments(p, segments, row_rect, font, ground=fill if item.busy_only else None)
        if badge and badge_d >= 8:
            badge_top = inner.top() + badge_row * line + (line - badge_d) / 2 if badge_row else rect.top() + 1
            centre = QPointF(rect.right() - badge_d / 2 - 2, badge_top + badge_d / 2)
            p.setPen(self._pen("#FFFFFF", 1))
            p.setBrush(QColor(BADGE_COLOUR))
            p.drawEllipse(centre, badge_d / 2, badge_d / 2)
            mark = QFont(font)
            mark.setBold(True)
            mark.setPixelSize(max(7, int(badge_d * 0.8)))
            p.setFont(mark)
            p.setPen(QColor("#FFFFFF"))
            p.drawText(QRectF(centre.x() - badge_d / 2, centre.y() - badge_d / 2, badge_d, badge_d),
                       Qt.AlignmentFlag.AlignCenter, "!")  # fmt: skip
        p.restore()

    def _block_rows(self, item, start, end, font: QFont, width: float, lines: int) -> list[list[tuple]]:
        """The text of a block as rows of segments (text, bold, struck): the time (with the status, never
        struck) on top, then the label and the place, wrapped at word boundaries, the last row elided."""
        pale = item.status in PALE_STATUSES
        label = _("Belegt") if item.busy_only else item.label
        status = "" if item.busy_only else status_text(item)
        place = item.location
        if self._team is not None and self._mode == "week" and item.case_manager:
            place = " · ".join(t for t in (place, item.case_manager) if t)
        bold = QFont(font)
        bold.setBold(True)
        bold_fm = QFontMetrics(bold)
        if lines == 1:
            head = f"{status}: " if pale else ""
            rest = " · ".join(t for t in (f"{_hm(start)} {label}", "" if pale else status, place) if t)
            return [[(head, True, False), (rest, False, pale)]]
        span, span_bold = f"{_hm(start)}–{_hm(end)}", True
        if bold_fm.horizontalAdvance(span) > width:
            span = _hm(start)
        if bold_fm.horizontalAdvance(span) > width:  # a narrow lane: the start time at least, in full
            span_bold = False
            if QFontMetrics(font).horizontalAdvance(span) > width:
                span = f"{start.hour}:{start.minute:02d}"
        together = f"{_hm(start)} {label}"
        if lines == 2 and not status and bold_fm.horizontalAdvance(together) <= width:
            return (
                [[(together, True, False)], [(place, False, False)]] if place else [[(together, True, False)]]
            )
        rows: list[list[tuple]] = [[(f"{span} · {status}" if status else span, span_bold, False)]]
        free = lines - 1
        place_lines = 1 if place and free >= 2 else 0
        for text in wrap_lines(label, font, width, free - place_lines):
            rows.append([(text, False, pale)])
        for text in wrap_lines(place, font, width, lines - len(rows)):
            rows.append([(text, False, pale)])
        return rows

    def _draw_segments(
        self, p: QPainter, segments, rect: QRectF, font: QFont, *, ground: QColor | None
    ) -> None:
        x = rect.left()
        for index, (content, bold, struck) in enumerate(segments):
            if not content:
                continue
            segment_font = QFont(font)
            segment_font.setBold(bold)
            segment_font.setStrikeOut(struck)
            fm = QFontMetrics(segment_font)
            room = rect.right() - x
            if index == len(segments) - 1 or fm.horizontalAdvance(content) > room:
                content = fm.elidedText(content, Qt.TextElideMode.ElideRight, int(max(room, 0)))
            advance = fm.horizontalAdvance(content)
            if ground is not None:  # a solid ground under the text: hatching behind letters is hard to read
                p.fillRect(QRectF(x - 2, rect.top(), advance + 4, rect.height()), ground)
            p.setFont(segment_font)
            p.drawText(
                QRectF(x, rect.top(), room, rect.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                content,
            )
            x += advance
            if x >= rect.right():
                break

    def _paint_focus(self, p: QPainter) -> None:
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        block = self._block(self._focus_id)
        if block is not None:
            width = 3 if self.hasFocus() else 2
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(self._pen("#FFFFFF", width + 2))
            p.drawRoundedRect(block.rect.adjusted(-1, -1, 1, 1), 4, 4)
            p.setPen(
                self._pen(
                    highlight if self.hasFocus() else self.palette().color(QPalette.ColorRole.Text), width
                )
            )
            p.drawRoundedRect(block.rect.adjusted(-1, -1, 1, 1), 4, 4)
            return
        if not self.hasFocus() or not self._columns:
            return
        column = self._columns[min(self._cursor_column, len(self._columns) - 1)]
        top = self._y_of(self._cursor_min)
        rect = QRectF(column.rect.left() + 2, top + 1, column.rect.width() - 4, self._hour_h / 4 - 2)
        fill = QColor(highlight)
        fill.setAlphaF(0.18)
        p.fillRect(rect, fill)
        p.setPen(self._pen(highlight, 2, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(rect)

    def _paint_month(self, p: QPainter) -> None:
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.Text)
        fm = self.fontMetrics()
        line = fm.lineSpacing()
        today = self.now().date()
        header_h = self._body.top()
        width = self.width() / 7
        p.fillRect(QRectF(0, 0, self.width(), header_h), palette.color(QPalette.ColorRole.Window))
        p.setPen(text_colour)
        for index in range(7):
            day = self._first + timedelta(days=index)
            name = format_date(day, "EEEE")
            if fm.horizontalAdvance(name) > width - 8:
                name = format_date(day, "EEE")
            p.drawText(
                QRectF(index * width + 4, 0, width - 8, header_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
        bold = QFont(self.font())
        bold.setBold(True)
        small = QFont(self.font())
        for cell in self._cells:
            rect = cell.rect
            if cell.holiday:
                p.fillRect(rect, QColor(HOLIDAY_FILL))
            elif cell.day == today:
                p.fillRect(rect, QColor(TODAY_BODY))
            elif not cell.in_month or cell.day.weekday() >= 5:
                p.fillRect(rect, QColor(WEEKEND_FILL))
            p.setPen(self._pen(self._grid_colour()))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
            number = cell.number
            p.setFont(bold if cell.in_month else self.font())
            number_w = p.fontMetrics().horizontalAdvance(number) + 10
            number_rect = QRectF(rect.left() + 3, rect.top() + 3, number_w, line + 2)
            if cell.day == today:
                p.setBrush(palette.color(QPalette.ColorRole.Highlight))
                p.setPen(Qt.PenStyle.NoPen)
                p.drawRoundedRect(number_rect, 4, 4)
                p.setPen(palette.color(QPalette.ColorRole.HighlightedText))
            else:
                p.setPen(text_colour if cell.in_month else QColor(OUTSIDE_MONTH_TEXT))
            p.drawText(number_rect, Qt.AlignmentFlag.AlignCenter, number)
            if cell.holiday_below:
                p.setFont(small)
                p.setPen(QColor(HOLIDAY_TEXT))
                for n, text in enumerate(cell.holiday_below):
                    p.drawText(QRectF(rect.left() + 5, number_rect.bottom() + 1 + n * line, rect.width() - 10, line),
                               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)  # fmt: skip
            elif cell.holiday:
                p.setFont(small)
                p.setPen(QColor(HOLIDAY_TEXT))
                space = rect.width() - number_w - 10
                p.drawText(QRectF(number_rect.right() + 3, rect.top() + 3, space, line + 2),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           fm.elidedText(cell.holiday, Qt.TextElideMode.ElideRight, int(max(space, 0))))  # fmt: skip
            for item, entry in cell.entries:
                self._paint_entry(p, item, entry)
            if cell.more_rect is not None:
                p.setFont(small)
                p.setPen(palette.color(QPalette.ColorRole.Link))
                p.drawText(cell.more_rect.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           _("+ {n} weitere").format(n=cell.more))  # fmt: skip
            if cell.day == self._day and self.hasFocus() and self._focus_id is None:
                p.setPen(self._pen(palette.color(QPalette.ColorRole.Highlight), 3))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(rect.adjusted(2, 2, -2, -2))

    def _paint_entry(self, p: QPainter, item, rect: QRectF) -> None:
        fill, text, accent = block_colours(item)
        pale = item.status in PALE_STATUSES
        p.save()
        p.fillRect(rect, fill)
        if item.busy_only:
            p.fillRect(rect, QBrush(QColor(BUSY_HATCH), Qt.BrushStyle.BDiagPattern))
        p.fillRect(QRectF(rect.left(), rect.top(), 4, rect.height()), accent)
        font = QFont(self.font())
        font.setStrikeOut(pale)
        p.setFont(font)
        label = _("Belegt") if item.busy_only else item.label
        content = f"{_hm(item.starts_at)} {label}"
        badge = " !" if item.conflict_accepted else ""
        elided = QFontMetrics(font).elidedText(
            content, Qt.TextElideMode.ElideRight, int(rect.width() - 10 - (12 if badge else 0))
        )
        if item.busy_only:
            p.fillRect(
                QRectF(
                    rect.left() + 5,
                    rect.top(),
                    QFontMetrics(font).horizontalAdvance(elided) + 4,
                    rect.height(),
                ),
                fill,
            )
        p.setPen(text)
        p.drawText(
            rect.adjusted(7, 0, -2, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided
        )
        if badge:
            mark = QFont(self.font())
            mark.setBold(True)
            p.setFont(mark)
            p.setPen(QColor(BADGE_COLOUR) if contrast_ratio(fill, QColor(BADGE_COLOUR)) >= 3 else text)
            p.drawText(
                rect.adjusted(0, 0, -4, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "!"
            )
        if item.id == self._focus_id:
            p.setPen(self._pen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect.adjusted(-1, -1, 1, 1))
        p.restore()
