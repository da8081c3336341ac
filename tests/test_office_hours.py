"""Locations, office hours, the interpreter pool and the free-slot finder, on a real SQLite file.

The calendar around the tests: Monday 01.06.2026 is "now"; Thursday 04.06.2026 is Fronleichnam (a public
holiday in NRW), so the next Thursday office hours are on 11.06.2026. Summer time starts on Sunday 29.03.2026.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select

from kim_desktop.db.models import AuditEvent, Interpreter, Location, OfficeHours, UserAccount
from kim_desktop.errors import ConflictError, NotFoundError, UserError, ValidationError
from kim_desktop.services import appointments as ap
from kim_desktop.services import office_hours as oh

NOW = datetime(2026, 6, 1, 8, 0)  # Monday, office time
THU = 3
HOUR = timedelta(hours=1)


@pytest.fixture
def place(ctx):
    """Two case managers; Dülmen (a branch with two rooms) and Coesfeld; three interpreters; office hours:
    Anna Thu 9–12 in Dülmen room 2.14 and Tue 9–12 in Coesfeld, Ben Thu 14–16 in Coesfeld."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        duelmen = Location(
            name="Rathaus Dülmen", kind="branch", street="Markt 1", postcode="48249", city="Dülmen"
        )
        coesfeld = Location(name="Kreishaus Coesfeld", kind="office", postcode="48653", city="Coesfeld")
        session.add_all([anna, ben, duelmen, coesfeld])
        session.flush()
        ids = {"anna": anna.id, "ben": ben.id, "duelmen": duelmen.id, "coesfeld": coesfeld.id}
    ids["room"] = oh.save_location(ctx, oh.LocationData("Raum 2.14", "room", ids["duelmen"]))
    ids["room2"] = oh.save_location(ctx, {"name": "Raum 2.15", "kind": "room", "parent_id": ids["duelmen"]})
    ids["ahmadi"] = oh.save_interpreter(
        ctx, oh.InterpreterData("Ahmadi", "Farid", ["prs", "fa"], "0170 1234567")
    )
    ids["noori"] = oh.save_interpreter(
        ctx, oh.InterpreterData("Noori", "Sima", ["fa_AF"], email="s.noori@example.org")
    )
    ids["kaya"] = oh.save_interpreter(ctx, oh.InterpreterData("Kaya", "Elif", ["tr"]))
    ids["anna_thu"] = oh.save_office_hours(
        ctx, oh.OfficeHoursData(ids["room"], THU, time(9), time(12), ids["anna"])
    )
    ids["anna_tue"] = oh.save_office_hours(
        ctx, oh.OfficeHoursData(ids["coesfeld"], 1, "9:00", "12:00", ids["anna"])
    )
    ids["ben_thu"] = oh.save_office_hours(
        ctx, oh.OfficeHoursData(ids["coesfeld"], THU, "14", "16.00", ids["ben"])
    )
    return ids


def book(ctx, start: datetime, minutes: int = 60, **values) -> str:
    data = ap.AppointmentData(
        type="beratung", starts_at=start, ends_at=start + timedelta(minutes=minutes), **values
    )
    return ap.create_appointment(ctx, data)


def slots(ctx, **kwargs) -> list[oh.Slot]:
    kwargs.setdefault("after", NOW)
    kwargs.setdefault("duration", HOUR)
    kwargs.setdefault("now", NOW)
    with ctx.read() as session:
        return oh.find_slots(session, **kwargs)


def starts(found: list[oh.Slot]) -> list[str]:
    return [s.starts_at.strftime("%d.%m. %H:%M") for s in found]


# --- locations -------------------------------------------------------------------------------------------------


def test_location_validation_messages(ctx, place):
    with pytest.raises(ValidationError) as err:
        oh.save_location(ctx, {"name": "  ", "kind": "room", "postcode": "4824"})
    errors = err.value.field_errors
    assert errors["name"] == "Bitte einen Namen für den Ort angeben."
    assert "bitte das Gebäude wählen" in errors["parent_id"]
    assert "fünf Ziffern" in errors["postcode"]
    with pytest.raises(ValidationError, match="Art des Ortes"):
        oh.save_location(ctx, {"name": "Zelt", "kind": "tent"})
    with pytest.raises(ValidationError, match="nicht in einem anderen Raum"):
        oh.save_location(ctx, oh.LocationData("Nische", "room", place["room"]))
    with pytest.raises(ValidationError, match="Nur Räume gehören zu einem Gebäude"):
        oh.save_location(ctx, oh.LocationData("Annex", "branch", place["duelmen"]))
    with pytest.raises(ValidationError, match="selbst kein Raum"):
        oh.save_location(ctx, oh.LocationData("Rathaus Dülmen", "room", place["coesfeld"]), place["duelmen"])
    with pytest.raises(ValidationError, match="gibt es hier schon"):
        oh.save_location(ctx, oh.LocationData("raum 2.14", "room", place["duelmen"]))
    with ctx.read() as session:
        assert len(session.scalars(select(Location)).all()) == 4


def test_locations_listed_as_buildings_with_their_rooms(ctx, place):
    oh.save_location(ctx, oh.LocationData("Familienzentrum Nord", "external", street="Weg 2", postcode="48249",
                                          city="Dülmen"))  # fmt: skip
    with ctx.read() as session:
        rows = oh.list_locations(session)
    assert [r.label for r in rows] == [
        "Familienzentrum Nord", "Kreishaus Coesfeld", "Rathaus Dülmen", "Rathaus Dülmen, Raum 2.14",
        "Rathaus Dülmen, Raum 2.15",
    ]  # fmt: skip
    assert rows[0].address == "Weg 2, 48249 Dülmen" and rows[3].kind_label == "Raum"
    # An edit with a stale version is refused.
    with pytest.raises(ConflictError):
        oh.save_location(ctx, rows[1].to_data(), rows[1].id, expected_version=rows[1].version + 1)
    oh.save_location(ctx, {"name": "Kreishaus Coesfeld", "kind": "office", "postcode": ""}, rows[1].id,
                     expected_version=rows[1].version)  # fmt: skip
    with ctx.read() as session:
        assert session.get(Location, rows[1].id).postcode is None
        assert (
            session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "location")).first()
            is not None
        )


def test_deactivation_refused_while_future_appointments_use_the_place(ctx, place):
    future = datetime.now().replace(microsecond=0) + timedelta(days=3)
    book(ctx, future, location_id=place["room"], case_manager_id=place["anna"])
    book(ctx, future - timedelta(days=30), location_id=place["coesfeld"])  # past: does not block
    with pytest.raises(oh.LocationInUseError) as err:
        oh.deactivate_location(ctx, place["duelmen"])  # the booking is in one of its rooms
    assert err.value.count == 1 and "noch 1 künftiger Termin eingetragen" in str(err.value)
    with ctx.read() as session:
        assert session.get(Location, place["duelmen"]).active
    assert oh.deactivate_location(ctx, place["coesfeld"]) == 0
    assert oh.deactivate_location(ctx, place["duelmen"], force=True) == 1
    with ctx.read() as session:
        assert [r.name for r in oh.list_locations(session)] == []
        assert {r.name for r in oh.list_locations(session, include_inactive=True)} == {
            "Rathaus Dülmen", "Raum 2.14", "Raum 2.15", "Kreishaus Coesfeld"
        }  # fmt: skip
        # Office hours at inactive places are neither drawn nor offered.
        assert oh.office_hours_on(session, date(2026, 6, 11)) == []
    with pytest.raises(UserError, match="zuerst das Gebäude"):
        oh.reactivate_location(ctx, place["room"])
    oh.reactivate_location(ctx, place["duelmen"])
    oh.reactivate_location(ctx, place["room"])
    with pytest.raises(NotFoundError):
        oh.deactivate_location(ctx, "no-such-id")


# --- office hours ----------------------------------------------------------------------------------------------


def test_office_hours_validation_messages(ctx, place):
    with pytest.raises(ValidationError) as err:
        oh.save_office_hours(ctx, oh.OfficeHoursData(None, 7, "12:00", "9:00", valid_from="01.09.2026",
                                                     valid_until="31.08.2026"))  # fmt: skip
    errors = err.value.field_errors
    assert errors["location_id"] == "Bitte einen Ort für die Sprechzeit wählen."
    assert "Wochentag" in errors["weekday"]
    assert "Ende der Sprechzeit liegt nicht nach dem Beginn" in errors["end_time"]
    assert "„Gültig bis“ liegt vor „gültig ab“" in errors["valid_until"]
    with pytest.raises(ValidationError) as err:
        oh.save_office_hours(
            ctx, oh.OfficeHoursData(place["coesfeld"], 0, "25:00", "9:10", valid_from="31.02.2026")
        )
    errors = err.value.field_errors
    assert "Uhrzeit" in errors["start_time"] and "31.02.2026 gibt es nicht" in errors["valid_from"]
    with pytest.raises(ValidationError, match="mindestens 15 Minuten"):
        oh.save_office_hours(ctx, oh.OfficeHoursData(place["coesfeld"], 0, "9:00", "9:10"))
    with pytest.raises(ValidationError, match="zwischen 2000 und 2100"):
        oh.save_office_hours(
            ctx, oh.OfficeHoursData(place["coesfeld"], 0, "9:00", "10:00", valid_from=date(1999, 1, 1))
        )
    with ctx.read() as session:
        assert len(session.scalars(select(OfficeHours)).all()) == 3


def test_office_hours_overlap_of_the_same_case_manager_is_refused(ctx, place):
    with pytest.raises(ValidationError) as err:  # Anna is in Dülmen on Thursday until 12
        oh.save_office_hours(ctx, oh.OfficeHoursData(place["coesfeld"], THU, "11:30", "13:00", place["anna"]))
    assert err.value.field_errors["start_time"] == (
        "Die Sprechzeit überschneidet sich mit einer anderen derselben Fachkraft: "
        "Donnerstag 09:00–12:00 Uhr, Rathaus Dülmen, Raum 2.14."
    )
    oh.save_office_hours(
        ctx, oh.OfficeHoursData(place["coesfeld"], THU, "12:00", "13:00", place["anna"])
    )  # after
    oh.save_office_hours(
        ctx, oh.OfficeHoursData(place["room2"], THU, "9:00", "12:00", place["ben"])
    )  # other person
    oh.save_office_hours(
        ctx, oh.OfficeHoursData(place["coesfeld"], 4, "9:00", "12:00", place["anna"])
    )  # Friday
    # Validity ranges that do not meet do not overlap; ranges that do, do.
    oh.save_office_hours(ctx, oh.OfficeHoursData(place["coesfeld"], 0, "9:00", "12:00", place["anna"],
                                                 valid_until=date(2026, 6, 30)))  # fmt: skip
    oh.save_office_hours(ctx, oh.OfficeHoursData(place["duelmen"], 0, "9:00", "12:00", place["anna"],
                                                 valid_from=date(2026, 7, 1)))  # fmt: skip
    with pytest.raises(ValidationError, match="überschneidet"):
        oh.save_office_hours(
            ctx,
            oh.OfficeHoursData(
                place["duelmen"],
                0,
                "10:00",
                "11:00",
                place["anna"],
                valid_from=date(2026, 6, 15),
                valid_until=date(2026, 7, 15),
            ),
        )
    # Open office hours of a place (no fixed person) must not be listed twice.
    oh.save_office_hours(ctx, oh.OfficeHoursData(place["duelmen"], 2, "9:00", "12:00"))
    with pytest.raises(ValidationError, match="desselben Ortes"):
        oh.save_office_hours(ctx, oh.OfficeHoursData(place["duelmen"], 2, "11:00", "13:00"))
    # Changing an entry does not clash with itself.
    with ctx.read() as session:
        row = next(
            r
            for r in oh.list_office_hours(session, case_manager_id=place["anna"])
            if r.id == place["anna_thu"]
        )
    changed = row.to_data()
    changed.end_time = time(11, 30)
    oh.save_office_hours(ctx, changed, row.id, expected_version=row.version)
    with pytest.raises(ConflictError):
        oh.save_office_hours(ctx, changed, row.id, expected_version=row.version)


def test_office_hours_listed_with_names_and_a_building_includes_its_rooms(ctx, place):
    with ctx.read() as session:
        rows = oh.list_office_hours(session, location_id=place["duelmen"])
        assert [(r.weekday_label, r.location, r.case_manager) for r in rows] == [
            ("Donnerstag", "Rathaus Dülmen, Raum 2.14", "Anna Becker")
        ]
        assert len(oh.list_office_hours(session)) == 3
    oh.delete_office_hours(ctx, place["anna_thu"])
    with ctx.read() as session:
        assert oh.list_office_hours(session, location_id=place["duelmen"]) == []
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).first() is not None
    with pytest.raises(NotFoundError):
        oh.delete_office_hours(ctx, place["anna_thu"])


def test_office_hours_on_a_day_skip_nrw_holidays_and_respect_validity(ctx, place):
    with ctx.read() as session:
        assert ap.holiday_name(date(2026, 6, 4)) == "Fronleichnam"
        assert oh.office_hours_on(session, date(2026, 6, 4)) == []  # Thursday, Fronleichnam
        blocks = oh.office_hours_on(session, date(2026, 6, 11))
    assert [
        (b.starts_at.strftime("%H:%M"), b.ends_at.strftime("%H:%M"), b.location, b.case_manager)
        for b in blocks
    ] == [
        ("09:00", "12:00", "Rathaus Dülmen, Raum 2.14", "Anna Becker"),
        ("14:00", "16:00", "Kreishaus Coesfeld", "Ben Yıldız"),
    ]
    assert blocks[0].starts_at.utcoffset() == timedelta(hours=2)  # summer time
    oh.save_office_hours(ctx, oh.OfficeHoursData(place["duelmen"], 0, "8:00", "10:00", valid_from=date(2026, 6, 8),
                                                 valid_until=date(2026, 6, 15)))  # fmt: skip
    with ctx.read() as session:
        week = oh.office_hours_between(session, date(2026, 6, 1), date(2026, 6, 28))
    mondays = [d for d, items in week.items() if any(b.location == "Rathaus Dülmen" for b in items)]
    assert mondays == [date(2026, 6, 8), date(2026, 6, 15)]
    assert date(2026, 6, 4) not in week and date(2026, 6, 6) not in week


# --- interpreter pool ------------------------------------------------------------------------------------------


def test_interpreter_validation_messages(ctx, place):
    with pytest.raises(ValidationError) as err:
        oh.save_interpreter(
            ctx, {"family_name": " ", "languages": [], "phone": "ruf mich an", "email": "x@y"}
        )
    errors = err.value.field_errors
    assert errors["family_name"] == "Bitte den Familiennamen angeben."
    assert errors["languages"] == "Bitte mindestens eine Sprache angeben."
    assert "Ziffern" in errors["phone"] and "name@beispiel.de" in errors["email"]
    with pytest.raises(ValidationError, match="Unbekannter Sprachcode „klingon“"):
        oh.save_interpreter(ctx, oh.InterpreterData("Worf", languages=["ar", "klingon"]))
    with pytest.raises(ValidationError, match="Ziffern"):
        oh.save_interpreter(ctx, oh.InterpreterData("Kurz", languages=["ar"], phone="+-/()"))
    with ctx.read() as session:
        assert len(session.scalars(select(Interpreter)).all()) == 3


def test_interpreter_pool_languages_are_normalised_and_searchable(ctx, place):
    new_id = oh.save_interpreter(
        ctx, oh.InterpreterData("Haddad", "Lina", "ar, fa-af, AR", availability="Mo–Mi")
    )
    with ctx.read() as session:
        assert session.get(Interpreter, place["ahmadi"]).languages == ["fa_AF", "fa"]  # prs is Dari
        row = next(r for r in oh.list_interpreters(session) if r.id == new_id)
        assert row.languages == ("ar", "fa_AF") and row.language_names == "Arabisch, Dari"
        assert row.name == "Haddad, Lina"
        dari = [r.family_name for r in oh.list_interpreters(session, language="prs")]
        assert dari == [r.family_name for r in oh.list_interpreters(session, language="fa_AF")]
        assert dari == ["Ahmadi", "Haddad", "Noori"]
    assert oh.language_label("prs") == "Dari" and oh.normalize_language("FA-af") == "fa_AF"
    assert oh.is_known_language("kab") and not oh.is_known_language("xx")
    options = oh.language_options()
    assert options[0][2] and ("fa_AF", "Dari", True) in options and any(c == "rom" for c, _n, _c in options)
    # Paused interpreters stay in the pool but are not offered.
    data = row.to_data()
    data.active = False
    oh.save_interpreter(ctx, data, new_id, expected_version=row.version)
    with ctx.read() as session:
        assert "Haddad" not in [r.family_name for r in oh.list_interpreters(session, language="ar")]
        assert "Haddad" in [r.family_name for r in oh.list_interpreters(session, include_inactive=True)]
    ap.remove_interpreter(ctx, new_id)
    with ctx.read() as session:
        assert "Haddad" not in [r.family_name for r in oh.list_interpreters(session, include_inactive=True)]
    with pytest.raises(NotFoundError):
        oh.save_interpreter(ctx, data, new_id)


# --- free-slot finder --------------------------------------------------------------------------------------


def test_next_thursday_in_duelmen_with_dari_skips_fronleichnam(ctx, place):
    found = slots(ctx, weekday=THU, location_id=place["duelmen"], interpreter_language="prs")
    assert starts(found) == ["11.06. 09:00", "11.06. 09:15", "11.06. 09:30", "11.06. 09:45", "11.06. 10:00"]
    first = found[0]
    assert first.ends_at == datetime(2026, 6, 11, 10, 0)
    assert first.location_id == place["room"]  # the room of the building where the office hours are held
    assert first.case_manager_id == place["anna"] and first.interpreter_id == place["ahmadi"]
    assert first.starts_at.tzinfo is None  # office time, as AppointmentData wants it
    # The slot can be booked as it is.
    book(ctx, first.starts_at, case_manager_id=first.case_manager_id, location_id=first.location_id,
         interpreter_id=first.interpreter_id, interpreter_language="fa_AF")  # fmt: skip


def test_slots_respect_the_case_managers_bookings(ctx, place):
    book(ctx, datetime(2026, 6, 11, 9, 30), case_manager_id=place["anna"], location_id=place["coesfeld"])
    cancelled = book(ctx, datetime(2026, 6, 11, 10, 30), case_manager_id=place["anna"])
    ap.set_status(ctx, cancelled, "cancelled")  # does not block
    found = slots(ctx, weekday=THU, case_manager_id=place["anna"], limit=4)
    assert starts(found) == ["11.06. 10:30", "11.06. 10:45", "11.06. 11:00", "18.06. 09:00"]
    assert all(s.case_manager_id == place["anna"] for s in found)


def test_slots_need_a_free_interpreter_of_the_language(ctx, place):
    book(ctx, datetime(2026, 6, 11, 9, 0), 90, case_manager_id=place["ben"], interpreter_id=place["ahmadi"])
    found = slots(ctx, weekday=THU, location_id=place["duelmen"], interpreter_language="fa_AF", limit=1)
    assert starts(found) == ["11.06. 09:00"] and found[0].interpreter_id == place["noori"]  # the other one
    book(ctx, datetime(2026, 6, 11, 8, 0), 180, interpreter_id=place["noori"])
    found = slots(ctx, weekday=THU, location_id=place["duelmen"], interpreter_language="fa_AF", limit=3)
    assert starts(found) == ["11.06. 10:30", "11.06. 10:45", "11.06. 11:00"]
    assert [s.interpreter_id for s in found] == [place["ahmadi"]] * 3
    turkish = slots(ctx, weekday=THU, location_id=place["duelmen"], interpreter_language="tr", limit=1)
    assert turkish[0].interpreter_id == place["kaya"] and starts(turkish) == ["11.06. 09:00"]
    assert slots(ctx, interpreter_language="so") == []  # nobody in the pool speaks Somali


def test_slots_by_weekday_and_any_case_manager_holding_office_hours_there(ctx, place):
    found = slots(ctx, location_id=place["coesfeld"], limit=10)
    # Tuesday 9–12 with Anna: 9 start times (09:00 … 11:00); Thursday 04.06 is a holiday; then next Tuesday.
    assert [s.starts_at.date() for s in found] == [date(2026, 6, 2)] * 9 + [date(2026, 6, 9)]
    assert {s.case_manager_id for s in found} == {place["anna"]}
    later = slots(ctx, location_id=place["coesfeld"], weekday=THU, limit=3)
    assert starts(later) == ["11.06. 14:00", "11.06. 14:15", "11.06. 14:30"]
    assert {s.case_manager_id for s in later} == {place["ben"]}
    anywhere = slots(ctx, limit=1, after=datetime(2026, 6, 11, 13, 0))
    assert starts(anywhere) == ["11.06. 14:00"] and anywhere[0].location_id == place["coesfeld"]


def test_slots_in_a_building_consider_its_rooms_and_room_bookings(ctx, place):
    # Someone else uses room 2.14 on Thursday morning: Anna's office hours there are blocked.
    book(ctx, datetime(2026, 6, 11, 8, 30), 120, case_manager_id=place["ben"], location_id=place["room"])
    found = slots(ctx, location_id=place["duelmen"], weekday=THU, limit=2)
    assert starts(found) == ["11.06. 10:30", "11.06. 10:45"] and found[0].location_id == place["room"]
    assert (
        slots(ctx, location_id=place["room2"], weekday=1) == []
    )  # no office hours in room 2.15 or Dülmen on Tue
    # A room may be searched for itself: its building's office hours count, the slot is in that room.
    oh.save_office_hours(ctx, oh.OfficeHoursData(place["duelmen"], 1, "13:00", "15:00", place["ben"]))
    in_room = slots(ctx, location_id=place["room2"], weekday=1, limit=1)
    assert starts(in_room) == ["02.06. 13:00"] and in_room[0].location_id == place["room2"]


def test_slots_lie_on_the_15_minute_grid_and_never_in_the_past(ctx, place):
    found = slots(ctx, after=datetime(2026, 6, 11, 9, 7), weekday=THU, location_id=place["duelmen"], limit=3)
    assert starts(found) == ["11.06. 09:15", "11.06. 09:30", "11.06. 09:45"]
    odd = slots(
        ctx, after=NOW, duration=timedelta(minutes=50), weekday=THU, location_id=place["duelmen"], limit=20
    )
    assert all(s.starts_at.minute % 15 == 0 and s.starts_at.second == 0 for s in odd)
    assert odd[0].ends_at == datetime(2026, 6, 11, 9, 50)
    assert starts(odd)[-1] == "25.06. 09:15"  # 11:00 + 50 min still fits before 12:00: 9 + 9 + 2
    # "after" in the past starts now (rounded up to the grid).
    now = datetime(2026, 6, 11, 10, 5, 30)
    past = slots(ctx, after=datetime(2026, 1, 1), now=now, weekday=THU, location_id=place["duelmen"], limit=1)
    assert starts(past) == ["11.06. 10:15"]
    # A zone-aware "after" counts in office time.
    from kim_desktop.services.localtime import from_local

    aware = slots(ctx, after=from_local(datetime(2026, 6, 11, 10, 0)), weekday=THU, location_id=place["duelmen"],
                  limit=1)  # fmt: skip
    assert starts(aware) == ["11.06. 10:00"]


def test_slots_across_the_summer_time_change(ctx, place):
    oh.save_office_hours(ctx, oh.OfficeHoursData(place["coesfeld"], 0, "9:00", "11:00", place["ben"]))
    before = datetime(2026, 3, 23, 9, 0)  # Monday, CET
    book(ctx, before, case_manager_id=place["ben"])
    book(ctx, datetime(2026, 3, 30, 9, 0), case_manager_id=place["ben"])  # Monday after the change, CEST
    found = slots(ctx, after=datetime(2026, 3, 23, 7, 0), now=datetime(2026, 3, 20, 8, 0), weekday=0,
                  case_manager_id=place["ben"], limit=4)  # fmt: skip
    # 06.04.2026 is Easter Monday: the third Monday offered is 13.04.
    assert starts(found) == ["23.03. 10:00", "30.03. 10:00", "13.04. 09:00", "13.04. 09:15"]


def test_slots_outside_office_hours_use_the_working_day(ctx, place):
    saturday = datetime(2026, 6, 13, 10, 0)
    found = slots(ctx, after=saturday, within_office_hours=False, case_manager_id=place["ben"], limit=2)
    assert starts(found) == ["15.06. 08:00", "15.06. 08:15"]
    late = slots(ctx, after=datetime(2026, 6, 15, 16, 20), within_office_hours=False, case_manager_id=place["ben"],
                 duration=timedelta(minutes=45), limit=1)  # fmt: skip
    assert starts(late) == ["16.06. 08:00"]  # 16:30 + 45 min would end after 17:00
    # Without a case manager: those holding office hours at the place, with their bookings.
    book(ctx, datetime(2026, 6, 3, 8, 0), 240, case_manager_id=place["anna"])
    book(ctx, datetime(2026, 6, 3, 8, 0), 240, case_manager_id=place["ben"])
    found = slots(ctx, after=datetime(2026, 6, 3, 7, 0), within_office_hours=False, location_id=place["coesfeld"],
                  limit=1)  # fmt: skip
    assert starts(found) == ["03.06. 12:00"] and found[0].location_id == place["coesfeld"]
    # Fronleichnam is skipped here too.
    holiday = slots(ctx, after=datetime(2026, 6, 4, 7, 0), within_office_hours=False, limit=1)
    assert starts(holiday) == ["05.06. 08:00"]


def test_limit_horizon_and_bad_input(ctx, place):
    assert len(slots(ctx, limit=1)) == 1
    assert len(slots(ctx, limit=12)) == 12
    assert slots(ctx, weekday=THU, horizon_days=3) == []  # Mon–Wed only
    assert slots(ctx, weekday=5) == []  # no office hours on Saturdays
    with pytest.raises(UserError, match="Dauer"):
        slots(ctx, duration=timedelta(hours=13))
    with pytest.raises(UserError, match="Wochentag"):
        slots(ctx, weekday=9)
    with pytest.raises(NotFoundError):
        slots(ctx, location_id="no-such-place")


def test_busy_times_are_loaded_per_week_not_per_candidate(ctx, place):
    for day in range(1, 30):  # Anna is booked every morning for weeks: many candidates are checked
        book(ctx, datetime(2026, 6, day, 8, 0), 240, case_manager_id=place["anna"])
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "appointment" in statement:
            statements.append(statement)

    engine = ctx.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = slots(ctx, case_manager_id=place["anna"], weekday=THU, horizon_days=60, limit=1)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert starts(found) == ["02.07. 09:00"]
    assert 1 <= len(statements) <= 9  # one per searched week


def test_interpreter_language_of_the_person_or_the_cases_person(ctx):
    from kim_desktop.services import cases, persons

    needs = persons.create_person(
        ctx,
        {
            "family_name": "Haidari",
            "given_names": "Zahra",
            "interpreter_needed": True,
            "interpreter_language": "fa_AF",
        },
    )
    fluent = persons.create_person(
        ctx, {"family_name": "Berger", "given_names": "Tom", "interpreter_language": "en"}
    )
    case = cases.open_case(ctx, needs.id, consent_on=date(2026, 1, 5))
    with ctx.read() as session:
        assert oh.interpreter_language_for(session, person_id=needs.id) == "fa_AF"
        assert oh.interpreter_language_for(session, case_id=case.id) == "fa_AF"
        assert oh.interpreter_language_for(session, person_id=fluent.id) is None  # no interpreter needed
        assert oh.interpreter_language_for(session) is None


def test_single_user_office_without_accounts_gets_slots_without_a_case_manager(ctx):
    place = oh.save_location(ctx, oh.LocationData("Beratungsstelle", "office"))
    oh.save_office_hours(
        ctx, oh.OfficeHoursData(place, 0, "9:00", "10:00")
    )  # open office hours, no one fixed
    found = slots(ctx, limit=2)
    assert starts(found) == ["01.06. 09:00", "08.06. 09:00"]
    assert {(s.case_manager_id, s.location_id) for s in found} == {(None, place)}
    plain = slots(ctx, within_office_hours=False, limit=1)
    assert (
        starts(plain) == ["01.06. 08:00"]
        and plain[0].case_manager_id is None
        and plain[0].location_id is None
    )
