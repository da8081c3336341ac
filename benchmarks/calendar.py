"""Calendar targets with 400,000 appointments: week view of one case manager, conflict check, team month.

The demo database holds the appointments the demo generator made for its cases (about 1.3 per case). Before
measuring, the database is topped up to ``APPOINTMENTS`` appointments with synthetic ones (one Core
``INSERT`` per 50,000 rows; idempotent: only the missing number is added), spread over the demo's case
managers, ten years back and one year ahead, on working days 8–17 h, with interpreters and rooms.

``calendar_week_ms``
    ``services.appointments.calendar(session, monday, friday, case_manager_ids=[m])`` for 40 random weeks
    and case managers (median and p95) – everything the week view loads – plus, when the calendar widget is
    importable, the same with ``CalendarView.set_items`` and a paint into an offscreen pixmap.
``conflict_check_ms``
    ``services.appointments.check(session, data)`` for 200 random appointments (case manager, interpreter
    and room booked): the query the appointment dialog runs before saving.
``calendar_team_month_ms``
    ``calendar(session, first, last)`` for a whole month and all case managers (12 random months).
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from .queries import percentile

APPOINTMENTS = 400_000
_TYPES = ("beratung", "beratung", "beratung", "sprechstunde", "hausbesuch", "begleitung", "fallkonferenz",
          "gruppenangebot")  # fmt: skip


def top_up(ctx, total: int = APPOINTMENTS, seed: int = 7, log=print) -> int:
    """Add synthetic appointments until the database holds ``total``; returns how many were added."""
    from kim_desktop.db.models import (
        Appointment,
        AppointmentParticipant,
        Case,
        Interpreter,
        Location,
        UserAccount,
    )

    with ctx.read() as session:
        have = session.scalar(select(func.count()).select_from(Appointment)) or 0
        if have >= total:
            return 0
        managers = list(session.scalars(select(UserAccount.id)))
        cases = session.execute(select(Case.id, Case.person_id, Case.case_manager_id).limit(200_000)).all()
        interpreters = list(session.scalars(select(Interpreter.id)))
        rooms = list(session.scalars(select(Location.id)))
    missing = total - have
    log(f"Calendar: adding {missing:,} appointments (database holds {have:,}) …")
    rng = random.Random(seed)
    today = date.today()
    first_ord, last_ord = (today - timedelta(days=3650)).toordinal(), (today + timedelta(days=365)).toordinal()
    stamp = datetime.now(UTC).replace(tzinfo=None)
    done = 0
    while done < missing:
        batch, people = [], []
        for _ in range(min(50_000, missing - done)):
            case_id, person_id, manager = rng.choice(cases)
            day = date.fromordinal(rng.randint(first_ord, last_ord))
            if day.weekday() >= 5:
                day -= timedelta(days=day.weekday() - 4)
            starts = datetime(day.year, day.month, day.day, rng.randint(7, 15), rng.choice((0, 15, 30, 45)))
            ends = starts + timedelta(minutes=rng.choice((30, 45, 60, 60, 90)))
            appointment_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            future = day >= today
            batch.append({
                "id": appointment_id, "case_id": case_id, "type": rng.choice(_TYPES), "title": None,
                "location_id": rng.choice(rooms) if rooms and rng.random() < 0.7 else None,
                "starts_at": starts, "ends_at": ends, "case_manager_id": manager or rng.choice(managers),
                "interpreter_id": rng.choice(interpreters) if interpreters and rng.random() < 0.25 else None,
                "interpreter_language": None,
                "status": ("planned" if future else rng.choices(("held", "cancelled", "no_show"), (76, 12, 12))[0]),
                "note": None, "conflict_accepted": False, "ical_uid": f"{appointment_id}@kim-desktop",
                "busy_only": False, "created_at": stamp, "updated_at": stamp, "version": 1,
            })  # fmt: skip
            people.append({"appointment_id": appointment_id, "person_id": person_id})
        with ctx.write() as session:
            session.execute(insert(Appointment), batch)
            session.execute(insert(AppointmentParticipant), people)
        done += len(batch)
    return missing


def _weeks(rng: random.Random, n: int) -> list[date]:
    today = date.today()
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(weeks=rng.randint(-20, 8)) for _ in range(n)]


def measure(db: Path, log=print) -> dict:
    from kim_desktop.db.engine import open_database
    from kim_desktop.db.models import Appointment, Interpreter, Location, UserAccount
    from kim_desktop.services import appointments as ap
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(db)
    ctx = ServiceContext(database, Actor.local())
    try:
        added = top_up(ctx, log=log)
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE appointment")
            connection.commit()
        rng = random.Random(11)
        with ctx.read() as session:
            total = session.scalar(select(func.count()).select_from(Appointment))
            # The busiest case managers: their weeks are the worst case.
            managers = [m for m, _n in session.execute(
                select(Appointment.case_manager_id, func.count()).group_by(Appointment.case_manager_id)
                .order_by(func.count().desc()).limit(8))]  # fmt: skip
            interpreters = list(session.scalars(select(Interpreter.id)))
            rooms = list(session.scalars(select(Location.id).where(Location.kind == "room"))) or list(
                session.scalars(select(Location.id))
            )
            manager_names = dict(session.execute(select(UserAccount.id, UserAccount.display_name)).all())

            ap.calendar(session, date.today(), date.today() + timedelta(days=4), case_manager_ids=managers[:1])
            week_times, week_sizes = [], []
            for monday in _weeks(rng, 40):
                manager = rng.choice(managers)
                started = time.perf_counter()
                items = ap.calendar(session, monday, monday + timedelta(days=4), case_manager_ids=[manager])
                week_times.append((time.perf_counter() - started) * 1000)
                week_sizes.append(len(items))

            conflict_times, conflicts_found = [], 0
            for _ in range(200):
                day = date.today() + timedelta(days=rng.randint(-60, 60))
                start = datetime(day.year, day.month, day.day, rng.randint(8, 15), rng.choice((0, 30)))
                data = ap.AppointmentData(
                    type="beratung", starts_at=start, ends_at=start + timedelta(hours=1),
                    case_manager_id=rng.choice(managers), interpreter_id=rng.choice(interpreters) if interpreters else None,
                    location_id=rng.choice(rooms) if rooms else None,
                )  # fmt: skip
                started = time.perf_counter()
                result = ap.check(session, data)
                conflict_times.append((time.perf_counter() - started) * 1000)
                conflicts_found += bool(result.conflicts)

            month_times, month_sizes = [], []
            for _ in range(12):
                month = date.today().replace(day=1) + timedelta(days=31 * rng.randint(-6, 3))
                first = month.replace(day=1)
                last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
                started = time.perf_counter()
                items = ap.calendar(session, first, last)
                month_times.append((time.perf_counter() - started) * 1000)
                month_sizes.append(len(items))
        result = {
            "appointments": total,
            "appointments_added": added,
            "calendar_week_ms": round(statistics.median(week_times), 2),
            "calendar_week_p95_ms": round(percentile(week_times, 0.95), 2),
            "calendar_week_items": round(statistics.mean(week_sizes), 1),
            "conflict_check_ms": round(statistics.median(conflict_times), 2),
            "conflict_check_p95_ms": round(percentile(conflict_times, 0.95), 2),
            "conflict_checks_with_conflict": conflicts_found,
            "calendar_team_month_ms": round(statistics.median(month_times), 2),
            "calendar_team_month_max_ms": round(max(month_times), 2),
            "calendar_team_month_items": round(statistics.mean(month_sizes)),
            "case_managers": len(manager_names),
        }
        result.update(_measure_view(ctx, managers, rng))
        return result
    finally:
        database.dispose()


def _measure_view(ctx, managers, rng) -> dict:
    """The week view widget: load + layout + paint into a pixmap (only when the widget exists)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtGui import QPixmap
        from PySide6.QtWidgets import QApplication

        from kim_desktop.ui.calendar_view import CalendarView
    except ImportError:
        return {}
    app = QApplication.instance() or QApplication([])
    view = CalendarView(ctx)
    view.resize(1280, 800)
    times = []
    for monday in _weeks(rng, 20):
        started = time.perf_counter()
        view.set_filter([rng.choice(managers)])
        view.set_period(monday, monday + timedelta(days=4))
        pixmap = QPixmap(view.size())
        view.render(pixmap)
        app.processEvents()
        times.append((time.perf_counter() - started) * 1000)
    # The team's month view: load + layout + paint (the month grid shows a few entries per day).
    view.set_filter(None)
    view.set_mode("month")
    month_times = []
    for offset in range(-6, 4):
        day = (date.today().replace(day=15) + timedelta(days=30 * offset)).replace(day=1)
        started = time.perf_counter()
        view.set_date(day)
        pixmap = QPixmap(view.size())
        view.render(pixmap)
        app.processEvents()
        month_times.append((time.perf_counter() - started) * 1000)
    view.deleteLater()
    return {"calendar_week_view_ms": round(statistics.median(times[1:]), 2),
            "calendar_week_view_p95_ms": round(percentile(times[1:], 0.95), 2),
            "calendar_team_month_view_ms": round(statistics.median(month_times), 2),
            "calendar_team_month_view_max_ms": round(max(month_times), 2)}  # fmt: skip
