"""Appointments service: validation, conflicts (case manager, interpreter, room), warnings (holidays, night),
summer-time change, moves, status with prefilled journal text, no-shows, call list, interpreter removal."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from kim_desktop.db.models import (
    Appointment,
    AppointmentParticipant,
    AuditEvent,
    Interpreter,
    Location,
    UserAccount,
)
from kim_desktop.errors import ConflictError, NotFoundError, UserError, ValidationError
from kim_desktop.services import appointments as ap
from kim_desktop.services import cases, persons


@pytest.fixture
def office(ctx):
    """Two case managers, a building with a room, an interpreter, a client with an open case."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        building = Location(name="Rathaus Dülmen", kind="branch", street="Markt 1", postcode="48249", city="Dülmen")
        session.add_all([anna, ben, building])
        session.flush()
        room = Location(name="Raum 2.14", kind="room", parent_id=building.id)
        dari = Interpreter(family_name="Ahmadi", given_names="Farid", languages=["prs", "fa"], phone="0170 1234567")
        session.add_all([room, dari])
        session.flush()
        ids = {"anna": anna.id, "ben": ben.id, "building": building.id, "room": room.id, "dari": dari.id}
    person = persons.create_person(
        ctx, {"family_name": "Haidari", "given_names": "Zahra", "sex": "f", "phone": "0157 7654321",
              "street": "Lindenweg 7", "postcode": "48249", "city": "Dülmen"},
    )  # fmt: skip
    case = cases.open_case(ctx, person.id, consent_on=date(2026, 1, 5))
    ids.update(person=person.id, case=case.id)
    return ids


def data(office, start: datetime, minutes: int = 60, **overrides) -> ap.AppointmentData:
    values = dict(
        type="beratung", starts_at=start, ends_at=start + timedelta(minutes=minutes), case_id=office["case"],
        case_manager_id=office["anna"], location_id=office["room"],
    )  # fmt: skip
    values.update(overrides)
    return ap.AppointmentData(**values)


THURSDAY = datetime(2026, 12, 3, 10, 0)  # a normal working day


def test_create_stores_utc_and_reads_back_office_time(ctx, office):
    appointment_id = ap.create_appointment(ctx, data(office, THURSDAY))
    with ctx.read() as session:
        row = session.get(Appointment, appointment_id)
        assert row.starts_at.replace(tzinfo=None) == datetime(2026, 12, 3, 9, 0)  # CET = UTC+1
        assert ap.participants(session, appointment_id) == [office["person"]]  # the case's person by default
        items = ap.calendar(session, date(2026, 12, 3), date(2026, 12, 3))
        assert [i.id for i in items] == [appointment_id]
        assert items[0].starts_at.hour == 10 and items[0].person_names == ("Haidari, Zahra",)
        assert items[0].location == "Raum 2.14" and items[0].case_manager == "Anna Becker"
        assert session.scalars(select(AuditEvent).where(AuditEvent.entity_id == appointment_id)).first() is not None


def test_summer_time_change_keeps_the_wall_clock(ctx, office):
    before = ap.create_appointment(ctx, data(office, datetime(2026, 3, 27, 10, 0)))  # Friday, CET
    after = ap.create_appointment(ctx, data(office, datetime(2026, 3, 30, 10, 0)))  # Monday, CEST
    with ctx.read() as session:
        utc_hours = {r.id: r.starts_at.hour for r in session.scalars(select(Appointment))}
        items = {i.id: i for i in ap.calendar(session, date(2026, 3, 27), date(2026, 3, 30))}
    assert utc_hours[before] == 9 and utc_hours[after] == 8
    assert items[before].starts_at.hour == 10 and items[after].starts_at.hour == 10


def test_end_before_start_and_unknown_type_are_refused(ctx, office):
    with pytest.raises(ValidationError) as err:
        ap.create_appointment(ctx, data(office, THURSDAY, minutes=-30, type="party"))
    assert "Ende liegt vor dem Beginn" in err.value.field_errors["ends_at"]
    assert "Terminart" in err.value.field_errors["type"]
    with pytest.raises(ValidationError, match="höchstens 12 Stunden"):
        ap.create_appointment(ctx, data(office, THURSDAY, minutes=60 * 13))
    with ctx.read() as session:
        assert session.scalars(select(Appointment)).all() == []


def test_conflicts_for_manager_interpreter_and_room(ctx, office):
    first = ap.create_appointment(ctx, data(office, THURSDAY, interpreter_id=office["dari"], interpreter_language="prs"))
    # Same manager, overlapping by 15 minutes.
    with pytest.raises(ap.AppointmentConflictError) as err:
        ap.create_appointment(ctx, data(office, THURSDAY + timedelta(minutes=45), location_id=office["building"]))
    assert [c.kind for c in err.value.conflicts] == ["case_manager"]
    assert err.value.conflicts[0].appointment_id == first
    assert "03.12.2026 von 10:00 bis 11:00 Uhr" in str(err.value) and "Haidari" not in str(err.value)
    # Other manager, same interpreter and same room.
    with pytest.raises(ap.AppointmentConflictError) as err:
        ap.create_appointment(
            ctx, data(office, THURSDAY + timedelta(minutes=30), case_manager_id=office["ben"], interpreter_id=office["dari"])
        )
    assert sorted(c.kind for c in err.value.conflicts) == ["interpreter", "room"]
    # The building is not a room: two counsellors may meet clients there at the same time.
    ap.create_appointment(ctx, data(office, THURSDAY, case_manager_id=office["ben"], location_id=office["building"]))
    # Back to back is no conflict.
    ap.create_appointment(ctx, data(office, THURSDAY + timedelta(hours=1)))
    # Keeping both on purpose stores the flag.
    kept = ap.create_appointment(ctx, data(office, THURSDAY + timedelta(minutes=30)), keep_conflicts=True)
    with ctx.read() as session:
        assert session.get(Appointment, kept).conflict_accepted is True
        assert len(session.scalars(select(Appointment)).all()) == 4


def test_cancelled_appointments_do_not_block(ctx, office):
    first = ap.create_appointment(ctx, data(office, THURSDAY))
    ap.set_status(ctx, first, "cancelled")
    ap.create_appointment(ctx, data(office, THURSDAY))


def test_warnings_for_holiday_weekend_night_and_language(ctx, office):
    with ctx.read() as session:
        christmas = ap.check(session, data(office, datetime(2026, 12, 25, 10, 0)))
        assert [w.kind for w in christmas.warnings] == ["holiday"]
        assert "Erster Weihnachtstag" in christmas.warnings[0].message
        fronleichnam = ap.check(session, data(office, datetime(2026, 6, 4, 10, 0)))  # NRW, not every Land
        assert fronleichnam.warnings[0].kind == "holiday"
        night = ap.check(session, data(office, datetime(2026, 12, 3, 3, 0)))
        assert [w.kind for w in night.warnings] == ["night"]
        saturday = ap.check(session, data(office, datetime(2026, 12, 5, 10, 0)))
        assert [w.kind for w in saturday.warnings] == ["weekend"]
        language = ap.check(session, data(office, THURSDAY, interpreter_id=office["dari"], interpreter_language="ar"))
        assert [w.kind for w in language.warnings] == ["language"]
    assert ap.holiday_name(date(2026, 11, 1)) == "Allerheiligen"
    assert set(ap.holidays_between(date(2026, 12, 20), date(2027, 1, 2)).values()) >= {"Neujahr", "Zweiter Weihnachtstag"}


def test_move_keeps_duration_and_checks_conflicts(ctx, office):
    first = ap.create_appointment(ctx, data(office, THURSDAY, minutes=90))
    second = ap.create_appointment(ctx, data(office, THURSDAY + timedelta(hours=3)))
    ap.move_appointment(ctx, first, datetime(2026, 12, 4, 8, 30))
    with ctx.read() as session:
        moved = ap.data_of(session, first)
    assert moved.starts_at == datetime(2026, 12, 4, 8, 30) and moved.ends_at == datetime(2026, 12, 4, 10, 0)
    with pytest.raises(ap.AppointmentConflictError):
        ap.move_appointment(ctx, second, datetime(2026, 12, 4, 9, 0))
    ap.move_appointment(ctx, second, datetime(2026, 12, 4, 10, 0), datetime(2026, 12, 4, 10, 45))  # resize
    with ctx.read() as session:
        assert ap.data_of(session, second).ends_at == datetime(2026, 12, 4, 10, 45)


def test_stale_version_is_refused(ctx, office):
    appointment_id = ap.create_appointment(ctx, data(office, THURSDAY))
    with ctx.read() as session:
        version = session.get(Appointment, appointment_id).version
    ap.move_appointment(ctx, appointment_id, THURSDAY + timedelta(hours=1), expected_version=version)
    with pytest.raises(ConflictError, match="inzwischen"):
        ap.move_appointment(ctx, appointment_id, THURSDAY + timedelta(hours=2), expected_version=version)


def test_held_offers_a_journal_text_and_no_shows_are_counted(ctx, office):
    first = ap.create_appointment(ctx, data(office, THURSDAY, interpreter_id=office["dari"]))
    text = ap.set_status(ctx, first, "held")
    assert text.startswith("Beratung am 03.12.2026, 10:00–11:00 Uhr, Ort: Raum 2.14, mit Dolmetschung.")
    assert ap.set_status(ctx, first, "confirmed") is None
    for days in (1, 8):
        missed = ap.create_appointment(ctx, data(office, THURSDAY + timedelta(days=days)))
        ap.set_status(ctx, missed, "no_show")
    with ctx.read() as session:
        assert ap.no_show_count(session, office["person"]) == 2
        assert ap.no_show_counts(session) == {office["person"]: 2}
    with pytest.raises(UserError):
        ap.set_status(ctx, first, "vielleicht")


def test_household_participants_and_call_list(ctx, office):
    partner = persons.create_person(ctx, {"family_name": "Haidari", "given_names": "Reza", "phone": "0157 1111111"})
    appointment_id = ap.create_appointment(ctx, data(office, THURSDAY, person_ids=[office["person"], partner.id]))
    cancelled = ap.create_appointment(ctx, data(office, THURSDAY + timedelta(hours=2)))
    ap.set_status(ctx, cancelled, "cancelled")
    with ctx.read() as session:
        entries = ap.call_list(session, THURSDAY.date())
        assert [(e.time, e.name, e.phone) for e in entries] == [
            ("10:00", "Haidari, Reza", "0157 1111111"),
            ("10:00", "Haidari, Zahra", "0157 7654321"),
        ]
        assert len(session.scalars(select(AppointmentParticipant).where(
            AppointmentParticipant.appointment_id == appointment_id)).all()) == 2  # fmt: skip


def test_removing_a_booked_interpreter_needs_a_decision(ctx, office):
    future = datetime.now().replace(microsecond=0, second=0, minute=0) + timedelta(days=7)
    appointment_id = ap.create_appointment(
        ctx, data(office, future.replace(hour=10), interpreter_id=office["dari"], interpreter_language="prs")
    )
    with pytest.raises(UserError, match="noch für 1 künftige Termine gebucht"):
        ap.remove_interpreter(ctx, office["dari"])
    with ctx.read() as session:
        assert session.get(Appointment, appointment_id).interpreter_id == office["dari"]
    assert ap.remove_interpreter(ctx, office["dari"], release_bookings=True) == 1
    with ctx.read() as session:
        row = session.get(Appointment, appointment_id)
        assert row.interpreter_id is None and row.interpreter_language == "prs"  # still needs an interpreter
        assert ap.interpreters(session) == []
    # Booking the removed interpreter again is refused clearly.
    with pytest.raises(ValidationError, match="nicht mehr im Pool"):
        ap.create_appointment(ctx, data(office, future.replace(hour=14), interpreter_id=office["dari"]))


def test_delete_and_not_found(ctx, office):
    appointment_id = ap.create_appointment(ctx, data(office, THURSDAY))
    ap.delete_appointment(ctx, appointment_id)
    with ctx.read() as session:
        assert ap.calendar(session, THURSDAY.date(), THURSDAY.date()) == []
    with pytest.raises(NotFoundError):
        ap.set_status(ctx, appointment_id, "held")
