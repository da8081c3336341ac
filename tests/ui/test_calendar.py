"""The calendar page: week, day and month views, keyboard and mouse moves stored at once, the conflict
question, the list alternative and what screen readers are told.

Real SQLite file, real services, real widgets offscreen. "Now" is fixed to Thursday 3 December 2026, 8:00
(office time), so today's highlight and the T key do not depend on the day the tests run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QApplication, QComboBox, QWidget

from kim_desktop.db.models import Appointment, Location, UserAccount
from kim_desktop.services import appointments as ap
from kim_desktop.services import cases, persons
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.localtime import OFFICE_TIMEZONE, from_local

THURSDAY = datetime(2026, 12, 3, 10, 0)  # KW 49: Monday 30.11. – Friday 4.12.2026
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=OFFICE_TIMEZONE)


@pytest.fixture
def office(ctx):
    """Two case managers, a building with a room, a client with an open case."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        building = Location(name="Rathaus Dülmen", kind="branch", city="Dülmen")
        session.add_all([anna, ben, building])
        session.flush()
        room = Location(name="Raum 2.14", kind="room", parent_id=building.id)
        session.add(room)
        session.flush()
        ids = {"anna": anna.id, "ben": ben.id, "building": building.id, "room": room.id}
    person = persons.create_person(ctx, {"family_name": "Haidari", "given_names": "Zahra"})
    ids.update(person=person.id, case=cases.open_case(ctx, person.id, consent_on=date(2026, 1, 5)).id)
    return ids


def add(ctx, office, start: datetime, minutes: int = 60, **overrides) -> str:
    values = dict(
        type="beratung", starts_at=start, ends_at=start + timedelta(minutes=minutes), case_id=office["case"],
        case_manager_id=office["anna"], location_id=office["room"],
    )  # fmt: skip
    values.update(overrides)
    return ap.create_appointment(ctx, ap.AppointmentData(**values))


def stored(ctx, appointment_id: str) -> tuple[datetime, datetime]:
    with ctx.read() as session:
        data = ap.data_of(session, appointment_id)
    return data.starts_at, data.ends_at


def make_page(qtbot, ctx, *, day: date = date(2026, 12, 3), mode: str = "week"):
    from kim_desktop.ui.calendar_page import CalendarPage

    page = CalendarPage(ctx)
    page.use_dialog = False  # the appointment dialog is not part of these tests
    page.view.now = lambda: NOW
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitExposed(page)
    page.set_mode(mode)
    page.view.set_date(day)
    page.view.scroll_to_minute(7 * 60)
    return page


@pytest.fixture
def page(qtbot, ctx, office):
    return make_page(qtbot, ctx)


def focus_item(qtbot, view, appointment_id: str) -> None:
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    view.set_current(appointment_id)
    assert view.current_item().id == appointment_id


# --- what the views show ------------------------------------------------------------------------------------


def test_week_view_shows_the_weeks_appointments_side_by_side(qtbot, ctx, office):
    monday = add(ctx, office, datetime(2026, 11, 30, 9, 0))
    first = add(ctx, office, THURSDAY)
    overlap = add(
        ctx, office, THURSDAY + timedelta(minutes=30), case_manager_id=office["ben"], location_id=None
    )
    add(ctx, office, datetime(2026, 12, 7, 9, 0))  # next week
    page = make_page(qtbot, ctx)
    view = page.view

    assert page.period_label.text() == "KW 49 · 30.11.–4.12.2026"
    assert view.period == (date(2026, 11, 30), date(2026, 12, 4))
    assert [c.day for c in view.columns] == [date(2026, 11, 30) + timedelta(days=i) for i in range(5)]
    rects = view.item_rects()
    assert set(rects) == {monday, first, overlap}
    for appointment_id, rect in rects.items():
        assert view.item_at(rect.center()) == appointment_id
    # Monday's block in the first column, at 9:00
    assert view.columns[0].rect.contains(rects[monday].center().toPointF())
    assert view.slot_at(rects[monday].topLeft() + QPoint(2, 3)) == datetime(2026, 11, 30, 9, 0)
    # the overlapping pair shares Thursday's column side by side: no common x, common y
    a, b = rects[first], rects[overlap]
    assert view.columns[3].rect.contains(a.center().toPointF()) and view.columns[3].rect.contains(
        b.center().toPointF()
    )
    assert a.right() < b.left() and a.top() < b.top() < a.bottom()
    # one query per period, none per paint
    loads = view.load_count
    for _ in range(3):
        view.repaint()
    assert view.load_count == loads


def test_team_day_view_has_a_column_per_case_manager(qtbot, ctx, office):
    mine = add(ctx, office, THURSDAY)
    bens = add(ctx, office, THURSDAY, case_manager_id=office["ben"], location_id=None)
    page = make_page(qtbot, ctx, mode="day")
    view = page.view
    assert page.manager_combo.currentText() == "Team (alle)"  # single-user office: no own account
    assert page.period_label.text() == "Donnerstag, 3. Dezember 2026"
    titles = [c.title for c in view.columns]
    assert titles == ["Anna Becker", "Ben Yıldız"]
    rects = view.item_rects()
    assert view.columns[0].rect.contains(rects[mine].center().toPointF())
    assert view.columns[1].rect.contains(rects[bens].center().toPointF())


def test_my_calendar_shows_only_my_appointments(qtbot, ctx, office):
    mine = add(ctx, office, THURSDAY)
    bens = add(ctx, office, THURSDAY, case_manager_id=office["ben"], location_id=None)
    anna_ctx = ServiceContext(
        ctx.database, Actor(office["anna"], "Anna Becker", frozenset({"case_management"}))
    )
    page = make_page(qtbot, anna_ctx)
    combo = page.manager_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["Mein Kalender", "Ben Yıldız", "Team (alle)"]
    assert set(page.view.item_rects()) == {mine}
    combo.setCurrentIndex(1)
    assert set(page.view.item_rects()) == {bens}
    combo.setCurrentIndex(2)
    assert set(page.view.item_rects()) == {mine, bens}


def test_month_view_marks_holidays(qtbot, ctx, office):
    christmas_eve = add(ctx, office, datetime(2026, 12, 24, 10, 0))
    page = make_page(qtbot, ctx, day=date(2026, 12, 1), mode="month")
    view = page.view
    assert page.period_label.text() == "Dezember 2026"
    assert view.period == (date(2026, 11, 30), date(2027, 1, 10))  # 6 weeks from a Monday
    cells = view.month_cells()
    assert cells[date(2026, 12, 25)].holiday == "Erster Weihnachtstag"
    assert cells[date(2026, 12, 26)].holiday == "Zweiter Weihnachtstag"
    assert cells[date(2026, 12, 24)].holiday == ""
    assert [item.id for item, _rect in cells[date(2026, 12, 24)].entries] == [christmas_eve]
    # the holiday is shaded (a pixel in the empty lower part of the cell) and a normal day is not
    from kim_desktop.ui.calendar_view import HOLIDAY_FILL

    image = view.grab().toImage()
    ratio = image.devicePixelRatio()

    def pixel(day: date) -> str:
        rect = cells[day].rect
        return image.pixelColor(int((rect.right() - 6) * ratio), int((rect.bottom() - 6) * ratio)).name()

    assert pixel(date(2026, 12, 25)) == QColor(HOLIDAY_FILL).name()
    assert pixel(date(2026, 12, 23)) != QColor(HOLIDAY_FILL).name()
    # the keyboard walks the days; the screen reader hears the holiday's name
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    for _ in range(3):  # 1.12. → 22.12.
        qtbot.keyClick(view, Qt.Key.Key_Down)
    for _ in range(3):  # → 25.12.
        qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.current_day == date(2026, 12, 25)
    assert "Feiertag: Erster Weihnachtstag" in view.accessibleDescription()
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert "1 Termin" in view.accessibleDescription() and "Haidari, Zahra" in view.accessibleDescription()
    view.set_current(christmas_eve)
    view.set_date(date(2026, 12, 10))  # another day of the same month: the appointment loses the focus
    assert view.current_item() is None and view.accessibleDescription().startswith(
        "Donnerstag, 10. Dezember 2026"
    )
    view.set_date(date(2026, 12, 24))
    qtbot.keyClick(view, Qt.Key.Key_Return)  # Enter opens the day
    assert view.mode == "day" and view.period == (date(2026, 12, 24), date(2026, 12, 24))
    assert page.mode_buttons["day"].isChecked()


def test_more_entries_than_fit_say_how_many_more(qtbot, ctx, office):
    for hour in range(8, 17):
        add(ctx, office, datetime(2026, 12, 9, hour, 0), minutes=30)
    page = make_page(qtbot, ctx, day=date(2026, 12, 9), mode="month")
    cell = page.view.month_cells()[date(2026, 12, 9)]
    assert cell.more > 0 and len(cell.entries) + cell.more == 9
    qtbot.mouseDClick(page.view, Qt.MouseButton.LeftButton, pos=cell.more_rect.center().toPoint())
    assert page.view.mode == "day" and page.view.current_day == date(2026, 12, 9)


# --- keyboard -----------------------------------------------------------------------------------------------


def test_alt_arrows_move_and_resize_the_appointment_in_the_database(qtbot, page, ctx, office):
    appointment_id = add(ctx, office, THURSDAY)
    view = page.view
    view.reload()
    focus_item(qtbot, view, appointment_id)

    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert stored(ctx, appointment_id) == (datetime(2026, 12, 3, 10, 15), datetime(2026, 12, 3, 11, 15))
    assert view.current_item().id == appointment_id and view.current_item().starts_at.minute == 15

    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stored(ctx, appointment_id) == (datetime(2026, 12, 3, 10, 15), datetime(2026, 12, 3, 11, 30))

    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert stored(ctx, appointment_id) == (datetime(2026, 12, 3, 10, 0), datetime(2026, 12, 3, 11, 15))

    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)  # Thursday → Friday
    assert stored(ctx, appointment_id)[0] == datetime(2026, 12, 4, 10, 0)
    qtbot.keyClick(
        view, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier
    )  # Friday → Monday, the view follows
    assert stored(ctx, appointment_id)[0] == datetime(2026, 12, 7, 10, 0)
    assert view.period == (date(2026, 12, 7), date(2026, 12, 11))
    assert view.current_item().id == appointment_id


def test_shortening_below_15_minutes_and_busy_blocks_are_refused(qtbot, page, ctx, office):
    short = add(ctx, office, THURSDAY, minutes=15)
    with ctx.write() as session:  # an imported busy time (.ics): only the time is known
        busy = Appointment(type="beratung", starts_at=from_local(datetime(2026, 12, 3, 14, 0)),
                           ends_at=from_local(datetime(2026, 12, 3, 15, 0)), case_manager_id=office["anna"],
                           busy_only=True)  # fmt: skip
        session.add(busy)
        session.flush()
        busy_id = busy.id
    view = page.view
    view.reload()
    focus_item(qtbot, view, short)
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stored(ctx, short) == (THURSDAY, THURSDAY + timedelta(minutes=15))
    focus_item(qtbot, view, busy_id)
    assert view.accessibleDescription().startswith("Belegt, Donnerstag 3. Dezember, 14:00 bis 15:00 Uhr")
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert stored(ctx, busy_id)[0] == datetime(2026, 12, 3, 14, 0)


def test_conflict_question_no_leaves_the_database_unchanged_yes_keeps_both(qtbot, page, ctx, office, ui):
    first = add(ctx, office, THURSDAY)
    second = add(ctx, office, THURSDAY + timedelta(hours=1))
    view = page.view
    view.reload()
    focus_item(qtbot, view, second)

    record = ui.on_modal(qtbot, lambda dialog: ui.click_button(dialog, "Nein"))
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert record["error"] is None and record["dialog"] is not None
    assert record["title"] == "Terminüberschneidung"
    assert (
        "Die Fachkraft hat zur selben Zeit einen anderen Termin: Beratung am 03.12.2026 von 10:00 bis 11:00 Uhr."
        in record["text"]
    )
    assert record["dialog"].informativeText() == "Trotzdem beide behalten?"
    assert "Haidari" not in record["text"]  # the question names no person
    assert stored(ctx, second)[0] == THURSDAY + timedelta(hours=1)
    assert view.current_item().id == second

    record = ui.on_modal(qtbot, lambda dialog: ui.click_button(dialog, "Ja, beide behalten"))
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert record["error"] is None and record["dialog"] is not None
    assert stored(ctx, second)[0] == datetime(2026, 12, 3, 10, 45)
    assert view.current_item().conflict_accepted
    assert stored(ctx, first)[0] == THURSDAY


def test_a_change_by_someone_else_is_reported_not_overwritten(qtbot, page, ctx, office, ui):
    appointment_id = add(ctx, office, THURSDAY)
    view = page.view
    view.reload()
    focus_item(qtbot, view, appointment_id)
    ap.move_appointment(ctx, appointment_id, datetime(2026, 12, 3, 12, 0))  # another workstation
    record = ui.on_modal(qtbot, lambda dialog: dialog.accept())
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert "inzwischen von jemand anderem geändert" in record["text"]
    assert stored(ctx, appointment_id)[0] == datetime(2026, 12, 3, 12, 0)
    assert view.current_item().starts_at.hour == 12  # reloaded


def test_page_keys_and_t_change_the_period(qtbot, page, ctx, office):
    later = add(ctx, office, datetime(2026, 12, 8, 9, 0))
    view = page.view
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    loads = view.load_count
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert view.period == (date(2026, 12, 7), date(2026, 12, 11))
    assert page.period_label.text() == "KW 50 · 7.12.–11.12.2026"
    assert set(view.item_rects()) == {later}
    assert view.load_count == loads + 1
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert page.period_label.text() == "KW 48 · 23.11.–27.11.2026"
    qtbot.keyClick(view, Qt.Key.Key_T)
    assert view.period == (date(2026, 11, 30), date(2026, 12, 4)) and view.current_day == NOW.date()
    page.next_button.click()
    assert view.period[0] == date(2026, 12, 7)
    page.today_button.click()
    assert view.period[0] == date(2026, 11, 30)


def test_arrows_walk_slots_and_appointments_and_the_description_follows(qtbot, page, ctx, office):
    appointment_id = add(ctx, office, THURSDAY)
    view = page.view
    view.reload()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    # "now" is Thursday 8:00: the cursor starts on that free slot
    assert view.focused_slot() == datetime(2026, 12, 3, 8, 0)
    assert view.accessibleDescription() == "Kein Termin, Donnerstag 3. Dezember, 08:00 Uhr"
    for _ in range(7):  # 8:15 … 9:45
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.focused_slot() == datetime(2026, 12, 3, 9, 45)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.current_item().id == appointment_id
    assert view.accessibleName() == "Kalender"
    spoken = "Beratung, Donnerstag 3. Dezember, 10:00 bis 11:00 Uhr, Haidari, Zahra, Raum 2.14"
    assert view.accessibleDescription() == spoken + ", Anna Becker"  # the team calendar also says whose
    assert "Haidari, Zahra" in page.details.text() and page.open_button.isEnabled()
    qtbot.keyClick(view, Qt.Key.Key_Down)  # past the appointment: the free slot at its end
    assert view.current_item() is None and view.focused_slot() == datetime(2026, 12, 3, 11, 0)
    assert view.accessibleDescription() == "Kein Termin, Donnerstag 3. Dezember, 11:00 Uhr"
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.focused_slot() == datetime(2026, 12, 2, 11, 0)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.current_item().id == appointment_id
    qtbot.keyClick(view, Qt.Key.Key_Right)  # Friday at 10:00: free
    assert view.focused_slot() == datetime(2026, 12, 4, 10, 0)


def test_enter_insert_and_double_clicks_ask_to_open_or_create(qtbot, page, ctx, office):
    appointment_id = add(ctx, office, THURSDAY)
    view = page.view
    view.reload()
    focus_item(qtbot, view, appointment_id)
    with qtbot.waitSignal(page.open_requested, timeout=2000) as opened:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened.args == [appointment_id]
    qtbot.keyClick(view, Qt.Key.Key_Down)  # the free slot at 11:00
    with qtbot.waitSignal(page.new_requested, timeout=2000) as created:
        qtbot.keyClick(view, Qt.Key.Key_Insert)
    assert created.args == [datetime(2026, 12, 3, 11, 0)]
    with qtbot.waitSignal(view.new_requested, timeout=2000) as created:
        qtbot.keyClick(view, Qt.Key.Key_N)
    assert created.args == [datetime(2026, 12, 3, 11, 0)]

    block = view.item_rects()[appointment_id]
    with qtbot.waitSignal(view.open_requested, timeout=2000) as opened:
        qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=block.center())
    assert opened.args == [appointment_id]
    empty = view.point_for(datetime(2026, 12, 2, 14, 20))  # Wednesday 14:20 → the 14:15 slot
    with qtbot.waitSignal(view.new_requested, timeout=2000) as created:
        qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=empty)
    assert created.args == [datetime(2026, 12, 2, 14, 15)]


# --- mouse --------------------------------------------------------------------------------------------------


def drag(qtbot, widget: QWidget, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    steps = 4
    for step in range(1, steps + 1):
        point = start + (end - start) * step / steps
        qtbot.mouseMove(widget, pos=QPoint(int(point.x()), int(point.y())))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def test_drag_moves_an_appointment_to_another_day_and_time(qtbot, page, ctx, office):
    appointment_id = add(ctx, office, THURSDAY)
    view = page.view
    view.reload()
    block = view.item_rects()[appointment_id]
    grab = QPoint(block.center().x(), block.top() + 8)  # near the top: 10:00 + a few minutes
    offset = grab.y() - view.point_for(THURSDAY).y()
    target = view.point_for(datetime(2026, 12, 2, 14, 0))  # Wednesday 14:00
    drag(qtbot, view, grab, QPoint(target.x(), target.y() + offset))
    assert stored(ctx, appointment_id) == (datetime(2026, 12, 2, 14, 0), datetime(2026, 12, 2, 15, 0))
    assert view.current_item().id == appointment_id
    assert view.columns[2].rect.contains(view.item_rects()[appointment_id].center().toPointF())


def test_dragging_the_bottom_edge_changes_the_length(qtbot, page, ctx, office):
    appointment_id = add(ctx, office, THURSDAY)
    view = page.view
    view.reload()
    block = view.item_rects()[appointment_id]
    edge = QPoint(block.center().x(), block.bottom() - 1)
    target = view.point_for(datetime(2026, 12, 3, 11, 30))
    drag(qtbot, view, edge, QPoint(edge.x(), target.y()))
    assert stored(ctx, appointment_id) == (THURSDAY, datetime(2026, 12, 3, 11, 30))


def test_a_drag_into_a_conflict_answered_no_changes_nothing(qtbot, page, ctx, office, ui):
    add(ctx, office, THURSDAY)
    other = add(ctx, office, datetime(2026, 12, 3, 13, 0))
    view = page.view
    view.reload()
    block = view.item_rects()[other]
    grab = QPoint(block.center().x(), block.top() + 8)
    offset = grab.y() - view.point_for(datetime(2026, 12, 3, 13, 0)).y()
    target = view.point_for(datetime(2026, 12, 3, 10, 30))
    record = ui.on_modal(qtbot, lambda dialog: ui.click_button(dialog, "Nein"))
    drag(qtbot, view, grab, QPoint(target.x(), target.y() + offset))
    assert record["dialog"] is not None and record["error"] is None
    assert stored(ctx, other)[0] == datetime(2026, 12, 3, 13, 0)
    assert view.item_at(view.point_for(datetime(2026, 12, 3, 13, 30))) == other  # drawn back in its place


# --- list alternative and accessibility ---------------------------------------------------------------------


def test_list_alternative_lists_the_same_appointments(qtbot, page, ctx, office):
    ids = [add(ctx, office, THURSDAY), add(ctx, office, datetime(2026, 12, 1, 9, 0))]
    cancelled = add(ctx, office, datetime(2026, 12, 2, 9, 0))
    ap.set_status(ctx, cancelled, "cancelled")
    view = page.view
    view.reload()
    page.list_toggle.click()
    assert page.stack.currentWidget() is page.table and page.table.hasFocus()
    model = page.list_model
    listed = [model.index(row, 0).data(Qt.ItemDataRole.UserRole + 1) for row in range(model.rowCount())]
    assert listed == [item.id for item in view.items] and set(listed) == {*ids, cancelled}
    row = listed.index(cancelled)
    assert model.index(row, 6).data() == "abgesagt"
    assert model.index(row, 3).data(Qt.ItemDataRole.FontRole).strikeOut()
    assert (
        model.index(row, 0)
        .data(Qt.ItemDataRole.AccessibleTextRole)
        .startswith("Beratung, Mittwoch 2. Dezember")
    )
    # choosing a row chooses the appointment in the calendar (and the other way round)
    page.table.selectRow(listed.index(ids[0]))
    assert view.current_item().id == ids[0]
    view.set_current(ids[1])
    assert page.table.currentIndex().row() == listed.index(ids[1])
    with qtbot.waitSignal(page.open_requested, timeout=2000) as opened:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened.args == [ids[1]]
    # the list follows the period
    qtbot.keyClick(page.table, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: page.stack.currentWidget() is view, timeout=2000)
    view.go(1)
    assert model.rowCount() == 0


def test_page_controls_are_named_and_reachable_with_tab(qtbot, page):
    controls = [
        w for w in page.findChildren(QWidget)
        if w.isVisible() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and isinstance(w, (QAbstractButton, QComboBox, QAbstractItemView, type(page.view)))
    ]  # fmt: skip
    unnamed = [type(w).__name__ for w in controls if not w.accessibleName().strip()]
    assert not unnamed
    names = [w.accessibleName() for w in controls]
    assert len(names) == len(set(names)), names
    page.manager_combo.setFocus()
    qtbot.waitUntil(page.manager_combo.hasFocus, timeout=2000)
    reached = []
    for _ in range(20):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.append(QApplication.focusWidget())
    assert page.view in reached and page.new_button in reached and page.mode_buttons["month"] in reached
    # Alt+M chooses the month (an accelerator "clicks" the button a moment later)
    qtbot.keyClick(page.view, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: page.view.mode == "month", timeout=2000)
    assert [b.isChecked() for b in page.mode_buttons.values()] == [False, False, True]


def test_type_colours_keep_the_text_readable():
    from kim_desktop.ui.calendar_view import (
        TYPE_COLOURS,
        block_colours,
        contrast_ratio,
    )

    class Item:
        busy_only = False
        status = "planned"

        def __init__(self, kind: str, **kw) -> None:
            self.type = kind
            self.__dict__.update(kw)

    kinds = [*TYPE_COLOURS, "unbekannt"]
    for kind in kinds:
        for status in ("planned", "cancelled", "no_show"):
            fill, text, _accent = block_colours(Item(kind, status=status))
            assert contrast_ratio(fill, text) >= 4.5, (kind, status, fill.name(), text.name())
    fill, text, _accent = block_colours(Item("beratung", busy_only=True))
    assert contrast_ratio(fill, text) >= 4.5
    assert len({QColor(c).name() for c in TYPE_COLOURS.values()}) == len(TYPE_COLOURS)


def test_the_page_opens_the_appointment_dialog_when_it_is_there(qtbot, page, ctx, office, ui):
    pytest.importorskip("kim_desktop.ui.appointment_dialog")
    appointment_id = add(ctx, office, THURSDAY)
    page.use_dialog = True
    page.view.reload()
    seen = []

    def close(dialog) -> None:
        seen.append((type(dialog).__name__, dialog.appointment_id))
        dialog.reject()

    def is_appointment_dialog(dialog) -> bool:
        return type(dialog).__name__ == "AppointmentDialog"

    record = ui.when_modal(qtbot, is_appointment_dialog, close)
    page.open_appointment(appointment_id)
    assert record["error"] is None
    record = ui.when_modal(qtbot, is_appointment_dialog, close)
    page.new_appointment(datetime(2026, 12, 3, 11, 0))
    assert record["error"] is None
    assert seen == [("AppointmentDialog", appointment_id), ("AppointmentDialog", None)]
    assert set(page.view.item_rects()) == {appointment_id}  # reloaded, nothing changed


SCALED_CALENDAR_SCRIPT = r'''
"""Run in a separate process: QT_SCALE_FACTOR must be set before the QApplication exists."""
import json
import sys
from datetime import date, datetime

from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox

from kim_desktop.db.engine import open_database
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.localtime import OFFICE_TIMEZONE
from kim_desktop.ui.calendar_page import CalendarPage

db_path, png_prefix, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
app = QApplication([sys.argv[0]])
database = open_database(db_path)
page = CalendarPage(ServiceContext(database, Actor.local()))
page.use_dialog = False
page.view.now = lambda: datetime(2026, 12, 3, 8, 0, tzinfo=OFFICE_TIMEZONE)
page.resize(width, height)
page.show()
page.view.set_date(date(2026, 12, 3))
page.view.scroll_to_minute(7 * 60)
result = {"device_pixel_ratio": page.devicePixelRatio(), "page": [page.width(), page.height()],
          "minimum": [page.minimumSizeHint().width(), page.minimumSizeHint().height()], "clipped": []}
for mode in ("week", "day", "month"):
    page.set_mode(mode)
    page.view.scroll_to_minute(7 * 60)
    for _ in range(3):
        app.processEvents()
    page.grab().save(f"{png_prefix}_{mode}.png")
    for widget in [*page.findChildren(QAbstractButton), *page.findChildren(QComboBox)]:
        if widget.isVisible() and widget.width() < widget.minimumSizeHint().width():
            result["clipped"].append([mode, widget.accessibleName(), widget.width(), widget.minimumSizeHint().width()])
    result[mode] = {"view": [page.view.width(), page.view.height()], "items": len(page.view.item_rects())}
print(json.dumps(result))
sys.stdout.flush()
database.dispose()
# No interpreter finalization: PySide6 6.12.0 on CPython 3.11 drops references to None on Qt calls and a
# process that made many of them can abort while shutting down ("deallocating None").
import os

os._exit(0)
'''


def test_calendar_at_150_percent(tmp_path, tmp_db_path, ctx, office, screenshot_dir):
    """150 % on a 1280×800 laptop (853×533 logical pixels): the page fits, no control is cut off, the views
    still show the appointments. Screenshots for review: ``ui_calendar_150_{week,day,month}.png``."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    add(ctx, office, THURSDAY)
    add(ctx, office, THURSDAY + timedelta(minutes=30), case_manager_id=office["ben"], location_id=None)
    add(ctx, office, datetime(2026, 12, 1, 14, 0), minutes=90, type="hausbesuch", location_id=None)
    script = tmp_path / "render_calendar.py"
    script.write_text(SCALED_CALENDAR_SCRIPT, encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="1.5", KIM_DESKTOP_NO_LOG_FILE="1")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    prefix = screenshot_dir / "ui_calendar_150"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_db_path), str(prefix), "853", "533"],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(root),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    metrics = json.loads(lines[-1])
    assert metrics["device_pixel_ratio"] == 1.5
    assert metrics["page"] == [853, 533]
    assert metrics["minimum"][0] <= 853 and metrics["minimum"][1] <= 533, metrics
    assert metrics["clipped"] == [], metrics["clipped"]
    assert metrics["week"]["items"] == 3 and metrics["day"]["items"] == 2 and metrics["month"]["items"] == 3
    assert metrics["week"]["view"][0] >= 500, metrics  # five usable day columns
    for mode in ("week", "day", "month"):
        assert (screenshot_dir / f"ui_calendar_150_{mode}.png").stat().st_size > 10_000
