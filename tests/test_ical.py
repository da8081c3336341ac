""".ics exchange with Outlook and phones: export read back with icalendar (times across both summer-time
changes, initials only, stable UIDs, RFC 5545 line folding) and import of Outlook-style files as busy time
(Windows time zone, UTC, floating, weekly series, all-day), re-import, broken and huge files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from kim_desktop.db.models import Appointment, AuditEvent, Location, UserAccount
from kim_desktop.errors import NotFoundError, UserError
from kim_desktop.services import appointments as ap
from kim_desktop.services import cases, ical, persons

CRLF = b"\r\n"


@pytest.fixture
def office(ctx):
    """Two case managers, a room, a client (Zahra Haidari) with an open case and a second client."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        building = Location(name="Rathaus Dülmen", kind="branch")
        session.add_all([anna, ben, building])
        session.flush()
        room = Location(name="Raum 2.14", kind="room", parent_id=building.id)
        session.add(room)
        session.flush()
        ids = {"anna": anna.id, "ben": ben.id, "room": room.id}
    person = persons.create_person(
        ctx, {"family_name": "Haidari", "given_names": "Zahra", "sex": "f", "phone": "0157 7654321"}
    )
    other = persons.create_person(ctx, {"family_name": "Yıldırım", "given_names": "Ömer", "sex": "m"})
    case = cases.open_case(ctx, person.id, consent_on=date(2026, 1, 5))
    ids.update(person=person.id, other=other.id, case=case.id)
    return ids


def add(ctx, office, start: datetime, minutes: int = 60, **overrides) -> str:
    values = dict(
        type="beratung", starts_at=start, ends_at=start + timedelta(minutes=minutes), case_id=office["case"],
        case_manager_id=office["anna"], location_id=office["room"], note="vertraulich: Streit mit dem Vermieter",
    )  # fmt: skip
    values.update(overrides)
    return ap.create_appointment(ctx, ap.AppointmentData(**values), keep_conflicts=True)


def export(ctx, first=date(2026, 1, 1), last=date(2026, 12, 31), **kwargs) -> bytes:
    return ical.export_range(ctx, first, last, **kwargs).data


def events(data: bytes) -> dict[str, object]:
    return {str(e["UID"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def unfold(data: bytes) -> bytes:
    return data.replace(b"\r\n ", b"").replace(b"\r\n\t", b"")


# --- export --------------------------------------------------------------------------------------------------

CHANGES = [
    datetime(2026, 3, 27, 10, 0),  # Friday before the spring change: CET, UTC+1
    datetime(2026, 3, 30, 10, 0),  # Monday after: CEST, UTC+2
    datetime(2026, 10, 23, 10, 0),  # Friday before the autumn change: CEST
    datetime(2026, 10, 26, 10, 0),  # Monday after: CET
]


def test_export_keeps_office_time_across_both_summer_time_changes(ctx, office):
    ids = [add(ctx, office, start) for start in CHANGES]
    data = export(ctx)
    cal = Calendar.from_ical(data)
    assert str(cal["PRODID"]) == "-//KIM Desktop//DE" and str(cal["VERSION"]) == "2.0"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    with ctx.read() as session:
        uids = {session.get(Appointment, i).ical_uid: i for i in ids}
        stored = {i: session.get(Appointment, i).starts_at.replace(tzinfo=UTC) for i in ids}
    found = events(data)
    assert set(found) == set(uids)
    for uid, appointment_id in uids.items():
        event = found[uid]
        start = event.decoded("DTSTART")
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert (start.hour, start.minute) == (10, 0)  # the wall clock, both sides of each change
        assert start.astimezone(UTC) == stored[appointment_id]
        assert event.decoded("DTEND") - start == timedelta(hours=1)
    utc_hours = sorted(s.hour for s in stored.values())
    assert utc_hours == [8, 8, 9, 9]


def test_the_files_own_vtimezone_gives_the_same_instants(ctx, office):
    """A client without a time-zone database relies on the VTIMEZONE: renamed, so the parser must use it."""
    for start in CHANGES:
        add(ctx, office, start)
    data = export(ctx)
    renamed = unfold(data).replace(b"Europe/Berlin", b"KIM Buero")
    original = {uid: e.decoded("DTSTART").astimezone(UTC) for uid, e in events(data).items()}
    via_vtimezone = events(renamed)
    for uid, event in via_vtimezone.items():
        start = event.decoded("DTSTART")
        assert "Europe/Berlin" not in repr(start.tzinfo)
        assert start.astimezone(UTC) == original[uid]


def test_summary_location_status_and_description_but_never_the_note(ctx, office):
    planned = add(ctx, office, datetime(2026, 12, 3, 10, 0), interpreter_language="ar")
    confirmed = add(ctx, office, datetime(2026, 12, 4, 10, 0), person_ids=[office["person"], office["other"]],
                    status="confirmed")  # fmt: skip
    cancelled = add(ctx, office, datetime(2026, 12, 7, 10, 0), status="cancelled")
    data = export(ctx)
    with ctx.read() as session:
        uid = {i: session.get(Appointment, i).ical_uid for i in (planned, confirmed, cancelled)}
    found = events(data)
    first = found[uid[planned]]
    assert str(first["SUMMARY"]) == "Beratung – Haidari, Zahra"
    assert str(first["LOCATION"]) == "Raum 2.14"
    assert str(first["STATUS"]) == "TENTATIVE"
    assert str(first["DESCRIPTION"]) == "Dolmetschung: Arabisch"
    assert str(found[uid[confirmed]]["SUMMARY"]) == "Beratung – Haidari, Zahra; Yıldırım, Ömer"
    assert str(found[uid[confirmed]]["STATUS"]) == "CONFIRMED" and "DESCRIPTION" not in found[uid[confirmed]]
    assert str(found[uid[cancelled]]["STATUS"]) == "CANCELLED"
    text = unfold(data).decode("utf-8")
    assert "Vermieter" not in text and "vertraulich" not in text and "0157" not in text
    assert office["case"] not in text


def test_initials_only_leaves_no_full_name_anywhere(ctx, office):
    add(ctx, office, datetime(2026, 12, 3, 10, 0), person_ids=[office["person"], office["other"]])
    add(ctx, office, datetime(2026, 12, 4, 10, 0))
    data = export(ctx, initials_only=True, calendar_name="Anna – Telefon")
    summaries = sorted(str(e["SUMMARY"]) for e in events(data).values())
    assert summaries == ["Beratung – Z. H.", "Beratung – Z. H., Ö. Y."]
    for needle in ("Haidari", "Zahra", "Yıldırım", "Ömer", "HAIDARI"):
        assert needle.encode() not in unfold(data)
        assert needle.encode() not in data


def test_uids_are_stable_across_exports_and_moves_raise_the_sequence(ctx, office):
    first = add(ctx, office, datetime(2026, 12, 3, 10, 0))
    add(ctx, office, datetime(2026, 12, 4, 10, 0))
    before = events(export(ctx))
    ap.move_appointment(ctx, first, datetime(2026, 12, 3, 14, 0))
    after = events(export(ctx))
    assert set(before) == set(after) and len(after) == 2
    with ctx.read() as session:
        uid = session.get(Appointment, first).ical_uid
    assert after[uid].decoded("DTSTART").hour == 14
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])


def test_busy_time_is_not_exported_and_the_export_is_audited(ctx, office):
    kept = add(ctx, office, datetime(2026, 12, 3, 10, 0))
    result = ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["anna"], today=date(2026, 3, 1))
    assert result.imported > 0
    exported = ical.export_range(ctx, date(2026, 1, 1), date(2026, 12, 31), case_manager_id=office["anna"])
    assert exported.count == 1 and len(events(exported.data)) == 1
    with ctx.read() as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert row.detail == {"count": 1, "format": "ics", "initials_only": False}
        assert row.entity_type == "appointment"
        assert session.get(Appointment, kept).ical_uid.encode() in exported.data


def test_export_by_ids_and_unknown_ids(ctx, office):
    one = add(ctx, office, datetime(2026, 3, 27, 10, 0))
    add(ctx, office, datetime(2026, 3, 30, 10, 0))
    three = add(ctx, office, datetime(2026, 10, 26, 10, 0))
    with ctx.write() as session:
        data = ical.export_ics(session, [three, one], initials_only=False, calendar_name="Auswahl")
        uids = {session.get(Appointment, i).ical_uid for i in (one, three)}
    assert set(events(data)) == uids
    assert b"X-WR-CALNAME:Auswahl" in data
    with pytest.raises(NotFoundError), ctx.write() as session:
        ical.export_ics(session, [one, "no-such-id"], initials_only=False, calendar_name="x")


def test_lines_are_folded_as_rfc_5545_requires(ctx, office):
    """Second check besides icalendar (vobject is not installed): CRLF, ≤ 75 octets, no split UTF-8."""
    with ctx.write() as session:
        session.get(Location, office["room"]).name = (
            "Beratungsraum im Erdgeschoss, Zugang über den Innenhof " * 3
        )
    many = []
    for n in range(6):
        many.append(
            persons.create_person(
                ctx, {"family_name": f"Öztürk-Çelik{n}", "given_names": "Şükrü Ümran"}, allow_duplicate=True
            ).id
        )
    add(ctx, office, datetime(2026, 12, 3, 10, 0), person_ids=many)
    data = export(ctx)
    assert data.endswith(CRLF)
    lines = data.split(CRLF)[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    assert any(len(line) > 70 for line in lines)  # the test really folded something
    for line in lines:
        line.decode("utf-8")  # a fold never cuts a multi-byte character
    logical = unfold(data).split(CRLF)[:-1]
    assert logical[0] == b"BEGIN:VCALENDAR" and logical[-1] == b"END:VCALENDAR"
    for line in logical:
        name = line.split(b":", 1)[0].split(b";", 1)[0]
        assert name and name.replace(b"-", b"").isalnum() and b":" in line
    summary = next(line for line in logical if line.startswith(b"SUMMARY"))
    assert summary.decode("utf-8").count("Şükrü Ümran") == 6


# --- import --------------------------------------------------------------------------------------------------

OUTLOOK_TIMEZONE = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
"""

OUTLOOK_EVENTS = {
    # 27.03. 10:00–11:30 Berlin (CET) = 09:00–10:30 UTC
    "before": """BEGIN:VEVENT
CLASS:PUBLIC
CREATED:20260301T120000Z
DTEND;TZID="W. Europe Standard Time":20260327T113000
DTSTAMP:20260301T120000Z
DTSTART;TZID="W. Europe Standard Time":20260327T100000
LAST-MODIFIED:20260301T120000Z
PRIORITY:5
SEQUENCE:0
SUMMARY;LANGUAGE=de:Arzttermin Frau Müller
LOCATION:Praxis Dr. Schmidt
DESCRIPTION:Bitte Versichertenkarte mitbringen
TRANSP:OPAQUE
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5060700000000000000001000000012345678
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
END:VEVENT
""",
    # 30.03. 10:00–11:00 Berlin (CEST) = 08:00–09:00 UTC
    "after": """BEGIN:VEVENT
DTSTART;TZID="W. Europe Standard Time":20260330T100000
DTEND;TZID="W. Europe Standard Time":20260330T110000
DTSTAMP:20260301T120000Z
UID:outlook-after@example.org
SUMMARY:Elternabend
END:VEVENT
""",
    "utc": """BEGIN:VEVENT
DTSTART:20260401T120000Z
DTEND:20260401T130000Z
DTSTAMP:20260301T120000Z
UID:utc@example.org
SUMMARY:Telefonkonferenz
STATUS:TENTATIVE
END:VEVENT
""",
    # floating = office time: 02.04. 09:00 CEST = 07:00 UTC
    "floating": """BEGIN:VEVENT
DTSTART:20260402T090000
DTEND:20260402T100000
DTSTAMP:20260301T120000Z
UID:floating@example.org
SUMMARY:Supervision
END:VEVENT
""",
    # Mondays 09:00 Berlin from 23.03.: 08:00 UTC, then 07:00 UTC after the change
    "weekly": """BEGIN:VEVENT
DTSTART;TZID="W. Europe Standard Time":20260323T090000
DTEND;TZID="W. Europe Standard Time":20260323T100000
RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO
DTSTAMP:20260301T120000Z
UID:weekly@example.org
SUMMARY:Teamsitzung
END:VEVENT
""",
    "allday": """BEGIN:VEVENT
DTSTART;VALUE=DATE:20260403
DTEND;VALUE=DATE:20260404
DTSTAMP:20260301T120000Z
UID:allday@example.org
SUMMARY:Urlaub
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE
END:VEVENT
""",
    "free": """BEGIN:VEVENT
DTSTART:20260405T090000Z
DTEND:20260405T100000Z
DTSTAMP:20260301T120000Z
UID:free@example.org
SUMMARY:Mittag (frei)
TRANSP:TRANSPARENT
X-MICROSOFT-CDO-BUSYSTATUS:FREE
END:VEVENT
""",
    "cancelled": """BEGIN:VEVENT
DTSTART:20260406T090000Z
DTEND:20260406T100000Z
DTSTAMP:20260301T120000Z
UID:cancelled@example.org
SUMMARY:Abgesagt
STATUS:CANCELLED
END:VEVENT
""",
}


def outlook_file(**replace: str) -> bytes:
    body = {**OUTLOOK_EVENTS, **replace}
    text = (
        "BEGIN:VCALENDAR\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\nVERSION:2.0\nMETHOD:PUBLISH\n"
        + OUTLOOK_TIMEZONE
        + "".join(v for v in body.values() if v)
        + "END:VCALENDAR\n"
    )
    return text.replace("\n", "\r\n").encode("utf-8")


def busy(ctx) -> list[tuple[datetime, datetime, str]]:
    with ctx.read() as session:
        rows = session.scalars(
            select(Appointment).where(Appointment.deleted_at.is_(None)).order_by(Appointment.starts_at)
        ).all()
        assert all(r.busy_only and r.title == "Belegt (importiert)" and r.type == "beratung" for r in rows)
        assert all(r.note is None and r.location_id is None and r.case_id is None for r in rows)
        return [(r.starts_at.replace(tzinfo=UTC), r.ends_at.replace(tzinfo=UTC), r.status) for r in rows]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


EXPECTED = [
    (utc(2026, 3, 23, 8), utc(2026, 3, 23, 9), "confirmed"),  # weekly, CET
    (utc(2026, 3, 27, 9), utc(2026, 3, 27, 10, 30), "confirmed"),  # Outlook zone, CET
    (utc(2026, 3, 30, 7), utc(2026, 3, 30, 8), "confirmed"),  # weekly, CEST
    (utc(2026, 3, 30, 8), utc(2026, 3, 30, 9), "confirmed"),  # Outlook zone, CEST
    (utc(2026, 4, 1, 12), utc(2026, 4, 1, 13), "planned"),  # UTC, tentative
    (utc(2026, 4, 2, 7), utc(2026, 4, 2, 8), "confirmed"),  # floating = office time
    (utc(2026, 4, 3, 4), utc(2026, 4, 3, 12), "confirmed"),  # all day: 06–14 office time
    (utc(2026, 4, 3, 12), utc(2026, 4, 3, 20), "confirmed"),  # and 14–22
    (utc(2026, 4, 6, 7), utc(2026, 4, 6, 8), "confirmed"),  # weekly
    (utc(2026, 4, 13, 7), utc(2026, 4, 13, 8), "confirmed"),  # weekly, 4th and last
]


def test_outlook_file_becomes_busy_time_at_the_right_utc_times(ctx, office, tmp_db_path):
    result = ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["anna"], today=date(2026, 3, 1))
    assert result == ical.ImportResult(imported=10, updated=0, skipped=2, removed=0)
    assert busy(ctx) == EXPECTED
    with ctx.read() as session:
        managers = set(session.scalars(select(Appointment.case_manager_id)))
        assert managers == {office["anna"]}
        audit_row = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert audit_row.detail["imported"] == 10 and audit_row.detail["skipped"] == 2
    # Nothing of the third-party text reaches the database file.
    ctx.database.dispose()
    stored = b"".join(
        p.read_bytes() for p in tmp_db_path.parent.iterdir() if p.name.startswith(tmp_db_path.name)
    )
    for text in (
        "Arzttermin",
        "Müller",
        "Praxis",
        "Versichertenkarte",
        "Teamsitzung",
        "Urlaub",
        "example.org",
    ):
        assert text.encode() not in stored


def test_busy_time_blocks_the_case_manager_in_the_conflict_check(ctx, office):
    ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["anna"], today=date(2026, 3, 1))
    values = dict(type="beratung", starts_at=datetime(2026, 3, 27, 10, 30), ends_at=datetime(2026, 3, 27, 11, 0),
                  case_id=office["case"], case_manager_id=office["anna"])  # fmt: skip
    with pytest.raises(ap.AppointmentConflictError):
        ap.create_appointment(ctx, ap.AppointmentData(**values))
    values["case_manager_id"] = office["ben"]
    ap.create_appointment(ctx, ap.AppointmentData(**values))  # Ben's calendar is free


def test_reimport_updates_instead_of_duplicating(ctx, office):
    ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["anna"], today=date(2026, 3, 1))
    again = ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["anna"], today=date(2026, 3, 1))
    assert again == ical.ImportResult(imported=0, updated=10, skipped=2, removed=0)
    assert busy(ctx) == EXPECTED
    # Moved in Outlook, one Monday taken out of the series, the UTC meeting cancelled.
    moved = (
        OUTLOOK_EVENTS["after"]
        .replace("20260330T100000", "20260330T140000")
        .replace("20260330T110000", "20260330T150000")
    )
    weekly = OUTLOOK_EVENTS["weekly"].replace(
        "RRULE", 'EXDATE;TZID="W. Europe Standard Time":20260406T090000\nRRULE'
    )
    cancelled = OUTLOOK_EVENTS["utc"].replace("STATUS:TENTATIVE", "STATUS:CANCELLED")
    third = ical.import_busy_ics(
        ctx, outlook_file(after=moved, weekly=weekly, utc=cancelled), case_manager_id=office["anna"],
        today=date(2026, 3, 1),
    )  # fmt: skip
    assert third == ical.ImportResult(imported=0, updated=8, skipped=3, removed=2)
    now = busy(ctx)
    assert (utc(2026, 3, 30, 12), utc(2026, 3, 30, 13), "confirmed") in now
    assert (utc(2026, 3, 30, 8), utc(2026, 3, 30, 9), "confirmed") not in now
    assert (utc(2026, 4, 6, 7), utc(2026, 4, 6, 8), "confirmed") not in now
    assert all(start != utc(2026, 4, 1, 12) for start, _end, _status in now)
    # Another case manager importing the same file gets entries of her own.
    ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["ben"], today=date(2026, 3, 1))
    with ctx.read() as session:
        count = session.scalar(
            select(func.count()).select_from(Appointment).where(
                Appointment.case_manager_id == office["ben"], Appointment.deleted_at.is_(None)
            )
        )  # fmt: skip
    assert count == 10


def test_changed_occurrence_replaces_the_one_of_the_series(ctx, office):
    changed = """BEGIN:VEVENT
UID:weekly@example.org
RECURRENCE-ID;TZID="W. Europe Standard Time":20260330T090000
DTSTART;TZID="W. Europe Standard Time":20260330T130000
DTEND;TZID="W. Europe Standard Time":20260330T140000
DTSTAMP:20260301T120000Z
SUMMARY:Teamsitzung (verschoben)
END:VEVENT
"""
    data = outlook_file(
        before="", after="", utc="", floating="", allday="", free="", cancelled="", changed=changed
    )
    result = ical.import_busy_ics(ctx, data, case_manager_id=office["anna"], today=date(2026, 3, 1))
    assert result.imported == 4
    starts = [s for s, _e, _st in busy(ctx)]
    assert starts == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 11), utc(2026, 4, 6, 7), utc(2026, 4, 13, 7)]


def test_endless_series_only_within_the_next_365_days(ctx, office):
    endless = """BEGIN:VEVENT
UID:jour-fixe@example.org
DTSTART;TZID=Europe/Berlin:20200106T090000
DTEND;TZID=Europe/Berlin:20200106T093000
RRULE:FREQ=WEEKLY;BYDAY=MO
DTSTAMP:20200101T120000Z
SUMMARY:Jour fixe
END:VEVENT
"""
    data = outlook_file(
        before="", after="", utc="", floating="", allday="", free="", cancelled="", weekly=endless
    )
    result = ical.import_busy_ics(ctx, data, case_manager_id=None, today=date(2026, 3, 1))
    starts = [s for s, _e, _st in busy(ctx)]
    assert result.imported == len(starts) == 52
    assert starts[0] == utc(2026, 3, 2, 8) and starts[-1] == utc(2027, 2, 22, 8)
    assert all(s.hour in (7, 8) for s in starts)  # 09:00 office time, summer and winter


def test_past_events_are_skipped(ctx, office):
    result = ical.import_busy_ics(ctx, outlook_file(), case_manager_id=office["anna"], today=date(2026, 4, 4))
    assert result == ical.ImportResult(imported=2, updated=0, skipped=7, removed=0)  # two Mondays are left
    assert busy(ctx) == EXPECTED[-2:]


def test_kims_own_appointments_coming_back_are_not_busy_time(ctx, office):
    add(ctx, office, datetime(2026, 12, 3, 10, 0))
    add(ctx, office, datetime(2026, 12, 4, 10, 0))
    data = export(ctx)
    result = ical.import_busy_ics(ctx, data, case_manager_id=office["anna"], today=date(2026, 11, 1))
    assert result == ical.ImportResult(imported=0, updated=0, skipped=2, removed=0)
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 2


def _nothing_stored(ctx) -> None:
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7\n1 0 obj\n", "keine Kalenderdatei"),
        (b"", "keine Kalenderdatei"),
        ("Betreff;Beginnt am\nTermin Ärztin;27.03.2026\n".encode(), "keine Kalenderdatei"),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260401T100000Z\r\n",
            "beschädigt",
        ),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nthis is not a content line\r\nEND:VCALENDAR\r\n", "beschädigt"),
    ],
)
def test_not_an_ics_or_broken_structure(ctx, office, data, message):
    with pytest.raises(UserError, match=message) as err:
        ical.import_busy_ics(ctx, data, case_manager_id=office["anna"], today=date(2026, 3, 1))
    assert "Traceback" not in str(err.value)
    _nothing_stored(ctx)


def test_one_bad_date_stores_nothing(ctx, office):
    broken = OUTLOOK_EVENTS["floating"].replace("20260402T090000", "2026-04-02 09:00")
    with pytest.raises(UserError, match="Eintrag Nr. 4 hat kein gültiges Datum"):
        ical.import_busy_ics(
            ctx, outlook_file(floating=broken), case_manager_id=office["anna"], today=date(2026, 3, 1)
        )
    _nothing_stored(ctx)


def test_huge_files_are_refused(ctx, office):
    head = outlook_file()[: -len(b"END:VCALENDAR\r\n")]
    with pytest.raises(UserError, match="zu groß"):
        ical.import_busy_ics(
            ctx, head + b"X" * (10 * 1024 * 1024) + b"\r\nEND:VCALENDAR\r\n", case_manager_id=None
        )
    event = b"BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20260401T100000Z\r\nDTEND:20260401T110000Z\r\nEND:VEVENT\r\n"
    many = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
        + b"".join(event % n for n in range(20_001))
        + b"END:VCALENDAR\r\n"
    )
    assert len(many) < 10 * 1024 * 1024
    with pytest.raises(UserError, match="zu viele Termine"):
        ical.import_busy_ics(ctx, many, case_manager_id=None)
    _nothing_stored(ctx)


def test_unknown_case_manager(ctx, office):
    with pytest.raises(NotFoundError, match="Fachkraft"):
        ical.import_busy_ics(ctx, outlook_file(), case_manager_id="nobody", today=date(2026, 3, 1))
    _nothing_stored(ctx)


def test_all_day_and_duration_variants(ctx, office):
    variants = {
        # three days of holiday (DTEND is exclusive): 3 × (06–14, 14–22) office time
        "holiday": "BEGIN:VEVENT\nUID:h\nDTSTART;VALUE=DATE:20260504\nDTEND;VALUE=DATE:20260507\nEND:VEVENT\n",
        # no DTEND: one day; DTEND = DTSTART (some exporters): one day as well
        "one": "BEGIN:VEVENT\nUID:o\nDTSTART;VALUE=DATE:20260511\nEND:VEVENT\n",
        "same": "BEGIN:VEVENT\nUID:s\nDTSTART;VALUE=DATE:20260512\nDTEND;VALUE=DATE:20260512\nEND:VEVENT\n",
        # DURATION instead of DTEND
        "duration": "BEGIN:VEVENT\nUID:d\nDTSTART;TZID=Europe/Berlin:20260513T150000\nDURATION:PT45M\nEND:VEVENT\n",
        # no duration at all: blocks no time
        "instant": "BEGIN:VEVENT\nUID:i\nDTSTART:20260514T150000Z\nEND:VEVENT\n",
    }
    data = outlook_file(
        before="", after="", utc="", floating="", weekly="", allday="", free="", cancelled="", **variants
    )
    result = ical.import_busy_ics(ctx, data, case_manager_id=office["anna"], today=date(2026, 5, 1))
    assert result == ical.ImportResult(imported=11, updated=0, skipped=1, removed=0)
    entries = busy(ctx)
    days = [(s, e) for s, e, _st in entries if s.day in (4, 5, 6)]
    assert days == [
        (utc(2026, 5, d, h1), utc(2026, 5, d, h2)) for d in (4, 5, 6) for h1, h2 in ((4, 12), (12, 20))
    ]
    assert all(e - s <= ap.MAX_DURATION for s, e, _st in entries)
    assert (utc(2026, 5, 13, 13), utc(2026, 5, 13, 13, 45), "confirmed") in entries
    assert sum(1 for s, _e, _st in entries if s.day in (11, 12)) == 4
