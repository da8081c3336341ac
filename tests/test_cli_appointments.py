"""``kim-desktop appointments``, ``ics`` and ``ics-import``: JSON fields, the German table, .ics files written
atomically and read back, busy time imported, one German line and exit 1 for bad input (never a traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from kim_desktop import cli
from kim_desktop.db.models import Appointment, AuditEvent, Location, UserAccount
from kim_desktop.services import appointments as ap
from kim_desktop.services import cases, persons

PROJECT = Path(__file__).resolve().parent.parent


def call(capsys, *args: str) -> tuple[int, str, str]:
    """``kim_desktop.cli.main`` in-process; returns exit code, stdout, stderr."""
    try:
        code = cli.main(list(args))
    except SystemExit as exc:  # argparse: wrong usage
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(code: int, out: str, err: str) -> str:
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Fehler: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def world(ctx, tmp_db_path):
    """Anna with three appointments around the spring summer-time change, Ben with one."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        room = Location(name="Raum 2.14", kind="room")
        session.add_all([anna, ben, room])
        session.flush()
        ids = {"anna": anna.id, "ben": ben.id, "room": room.id}
    zahra = persons.create_person(ctx, {"family_name": "Haidari", "given_names": "Zahra", "sex": "f"}).id
    case = cases.open_case(ctx, zahra, consent_on=date(2026, 1, 5)).id

    def add(start: datetime, manager: str, **extra) -> str:
        data = ap.AppointmentData(
            type="beratung", starts_at=start, ends_at=start + timedelta(minutes=45), case_id=case,
            case_manager_id=ids[manager], location_id=ids["room"], note="vertraulich", **extra,
        )  # fmt: skip
        return ap.create_appointment(ctx, data, keep_conflicts=True)

    ids.update(
        person=zahra, case=case,
        friday=add(datetime(2026, 3, 27, 10, 0), "anna", interpreter_language="fa"),
        monday=add(datetime(2026, 3, 30, 10, 0), "anna", status="confirmed"),
        office_hours=ap.create_appointment(ctx, ap.AppointmentData(
            type="sprechstunde", starts_at=datetime(2026, 3, 31, 14, 0), ends_at=datetime(2026, 3, 31, 16, 0),
            case_manager_id=ids["anna"], title="Offene Sprechstunde")),
        bens=add(datetime(2026, 3, 30, 10, 0), "ben"),
    )  # fmt: skip
    return str(tmp_db_path), ids


def test_appointments_json_fields_in_office_time(capsys, ctx, world):
    db, ids = world
    code, out, err = call(
        capsys, "appointments", "--db", db, "--from", "2026-03-27", "--to", "2026-03-31", "--json"
    )
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert rows[0]["id"] == ids["friday"] and rows[-1]["id"] == ids["office_hours"]  # sorted by start
    assert {r["id"] for r in rows[1:3]} == {ids["monday"], ids["bens"]}
    friday = next(r for r in rows if r["id"] == ids["friday"])
    assert friday["start"] == "2026-03-27T10:00:00+01:00" and friday["end"] == "2026-03-27T10:45:00+01:00"
    assert friday["type"] == "beratung" and friday["status"] == "planned"
    assert friday["person_id"] == ids["person"] and friday["person_ids"] == [ids["person"]]
    assert friday["case_id"] == ids["case"] and friday["case_manager"] == "Anna Becker"
    assert friday["location"] == "Raum 2.14" and friday["interpreter_language"] == "fa"
    monday = next(r for r in rows if r["id"] == ids["monday"])
    assert monday["start"] == "2026-03-30T10:00:00+02:00" and monday["status"] == "confirmed"
    hours = next(r for r in rows if r["id"] == ids["office_hours"])
    assert hours["person_id"] is None and hours["person_ids"] == [] and hours["case_id"] is None
    assert "vertraulich" not in out  # the note is not part of the list
    with ctx.read() as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "read")).all()
        assert [a.detail for a in audit if a.entity_type == "appointment"] == [
            {"count": 4, "from": "2026-03-27", "to": "2026-03-31"}
        ]


def test_manager_by_user_name_or_id(capsys, ctx, world):
    db, ids = world
    by_name = json.loads(
        call(capsys, "appointments", "--db", db, "--from", "2026-03-01", "--to", "2026-03-31", "--manager", "ben",
             "--json")[1]
    )  # fmt: skip
    by_id = json.loads(
        call(capsys, "appointments", "--db", db, "--from", "2026-03-01", "--to", "2026-03-31", "--manager",
             ids["ben"], "--json")[1]
    )  # fmt: skip
    assert [r["id"] for r in by_name] == [r["id"] for r in by_id] == [ids["bens"]]
    assert by_name[0]["case_manager"] == "Ben Yıldız"


def test_plain_output_is_a_german_table(capsys, ctx, world):
    db, _ids = world
    code, out, _err = call(capsys, "appointments", "--db", db, "--from", "27.03.2026", "--to", "2026-03-31",
                           "--manager", "anna")  # fmt: skip
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["Tag", "Zeit", "Art", "Status", "Ort", "Fachkraft", "Teilnehmende"]
    assert lines[1].startswith("Fr 27.03.2026  10:00–10:45  Beratung")
    assert "geplant" in lines[1] and "Raum 2.14" in lines[1] and lines[1].endswith("Haidari, Zahra")
    assert lines[2].startswith("Mo 30.03.2026  10:00–10:45") and "bestätigt" in lines[2]
    assert lines[3].startswith("Di 31.03.2026  14:00–16:00  Sprechstunde") and lines[3].endswith("–")
    assert lines[-1] == "3 Termine"
    code, out, _err = call(capsys, "appointments", "--db", db, "--from", "2026-05-01", "--to", "2026-05-31")
    assert (code, out.strip()) == (0, "Keine Termine im Zeitraum.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-02-30", "--to", "2026-03-31"], "Ungültiges Datum"),
        (["--from", "morgen", "--to", "2026-03-31"], "Ungültiges Datum"),
        (["--from", "2026-03-31", "--to", "2026-03-01"], "Ende des Zeitraums liegt vor dem Anfang"),
        (["--from", "2026-03-01", "--to", "2026-03-31", "--manager", "carla"], "Fachkraft gibt es nicht"),
    ],
)
def test_appointments_bad_input_is_one_german_line(capsys, ctx, world, args, message):
    db, _ids = world
    line = one_error_line(*call(capsys, "appointments", "--db", db, *args))
    assert message in line


def test_appointments_usage_error_exits_2(capsys, ctx, world):
    db, _ids = world
    code, _out, err = call(capsys, "appointments", "--db", db, "--from", "2026-03-01")
    assert code == 2 and err.startswith("Aufruf fehlerhaft:")


def test_ics_export_writes_a_file_that_reads_back(capsys, ctx, world, tmp_path):
    db, ids = world
    target = tmp_path / "anna.ics"
    code, out, err = call(capsys, "ics", "--db", db, "--manager", "anna", "--from", "2026-03-01", "--to",
                          "2026-03-31", "--out", str(target))  # fmt: skip
    assert (code, err) == (0, "")
    assert out.strip() == f"3 Termine exportiert: {target}"
    cal = Calendar.from_ical(target.read_bytes())
    assert str(cal["X-WR-CALNAME"]) == "KIM – Anna Becker"
    starts = sorted((e.decoded("DTSTART").isoformat(), str(e["SUMMARY"])) for e in cal.walk("VEVENT"))
    assert starts == [
        ("2026-03-27T10:00:00+01:00", "Beratung – Haidari, Zahra"),
        ("2026-03-30T10:00:00+02:00", "Beratung – Haidari, Zahra"),
        ("2026-03-31T14:00:00+02:00", "Sprechstunde"),
    ]
    assert not list(tmp_path.glob(".kim-*.tmp"))  # no temporary file left behind
    # All case managers, initials only, on the same file name: replaced.
    code, out, _err = call(capsys, "ics", "--db", db, "--from", "2026-03-01", "--to", "2026-03-31",
                           "--initials-only", "--out", str(target))  # fmt: skip
    assert code == 0 and out.startswith("4 Termine exportiert")
    assert b"Haidari" not in target.read_bytes() and "Beratung – Z. H." in target.read_bytes().decode()
    with ctx.read() as session:
        exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert [e.detail["count"] for e in exports] == [3, 4]


def test_ics_default_range(capsys, ctx, world, tmp_path):
    """Without --from/--to: from 30 days ago to 180 days ahead."""
    db, ids = world
    today = datetime.combine(date.today(), datetime.min.time())

    def add(start: datetime) -> str:
        data = ap.AppointmentData(
            type="beratung", starts_at=start, ends_at=start + timedelta(hours=1), case_id=ids["case"]
        )
        return ap.create_appointment(ctx, data, keep_conflicts=True)

    inside = {add(today - timedelta(days=29, hours=-9)), add(today + timedelta(days=180, hours=9))}
    outside = {add(today - timedelta(days=31, hours=-9)), add(today + timedelta(days=181, hours=9))}
    target = tmp_path / "standard.ics"
    code, _out, _err = call(capsys, "ics", "--db", db, "--out", str(target))
    assert code == 0
    with ctx.read() as session:
        uid = {i: session.get(Appointment, i).ical_uid for i in inside | outside}
    exported = {str(e["UID"]) for e in Calendar.from_ical(target.read_bytes()).walk("VEVENT")}
    assert {uid[i] for i in inside} <= exported
    assert not {uid[i] for i in outside} & exported


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-03-32"], "Ungültiges Datum"),
        (["--manager", "carla"], "Fachkraft gibt es nicht"),
        (["--from", "2026-03-31", "--to", "2026-03-01"], "Ende des Zeitraums"),
    ],
)
def test_ics_bad_input(capsys, ctx, world, tmp_path, args, message):
    db, _ids = world
    target = tmp_path / "x.ics"
    line = one_error_line(*call(capsys, "ics", "--db", db, *args, "--out", str(target)))
    assert message in line
    assert not target.exists()


def test_ics_out_folder_problems(capsys, ctx, world, tmp_path):
    db, _ids = world
    line = one_error_line(*call(capsys, "ics", "--db", db, "--out", str(tmp_path)))
    assert "kein Ordner" in line
    line = one_error_line(*call(capsys, "ics", "--db", db, "--out", str(tmp_path / "fehlt" / "x.ics")))
    assert "Den Ordner für die Datei gibt es nicht" in line
    with ctx.read() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all() == []


OUTLOOK = """BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
VERSION:2.0
BEGIN:VTIMEZONE
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
BEGIN:VEVENT
UID:dentist@example.org
DTSTART;TZID="W. Europe Standard Time":{day}T100000
DTEND;TZID="W. Europe Standard Time":{day}T110000
SUMMARY:Zahnarzt
END:VEVENT
BEGIN:VEVENT
UID:training@example.org
DTSTART:{next_day}T090000
DTEND:{next_day}T160000
SUMMARY:Fortbildung
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def test_ics_import_as_busy_time(capsys, ctx, world, tmp_path):
    db, ids = world
    day = date.today() + timedelta(days=30)  # the import takes the next 365 days
    source = tmp_path / "outlook.ics"
    text = OUTLOOK.format(day=f"{day:%Y%m%d}", next_day=f"{day + timedelta(days=1):%Y%m%d}")
    source.write_text(text, encoding="utf-8", newline="")
    code, out, err = call(capsys, "ics-import", str(source), "--db", db, "--manager", "ben")
    assert (code, err) == (0, "")
    assert out.strip() == "Belegte Zeiten übernommen: 2 neu, 0 aktualisiert, 0 entfernt, 0 übersprungen."
    code, out, _err = call(capsys, "ics-import", str(source), "--db", db, "--manager", "ben")
    assert out.strip() == "Belegte Zeiten übernommen: 0 neu, 2 aktualisiert, 0 entfernt, 0 übersprungen."
    listed = json.loads(
        call(
            capsys,
            "appointments",
            "--db",
            db,
            "--from",
            day.isoformat(),
            "--to",
            f"{day + timedelta(days=1)}",
            "--json",
        )[1]  # fmt: skip
    )
    assert [(r["start"][11:16], r["end"][11:16], r["busy_only"], r["title"]) for r in listed] == [
        ("10:00", "11:00", True, "Belegt (importiert)"),
        ("09:00", "16:00", True, "Belegt (importiert)"),  # floating time = office time
    ]
    assert all(r["case_manager_id"] == ids["ben"] for r in listed)
    assert "Zahnarzt" not in json.dumps(listed) and "Fortbildung" not in json.dumps(listed)


def test_ics_import_bad_files(capsys, ctx, world, tmp_path):
    db, _ids = world
    line = one_error_line(*call(capsys, "ics-import", str(tmp_path / "fehlt.ics"), "--db", db))
    assert "kann nicht gelesen werden" in line
    broken = tmp_path / "kaputt.ics"
    broken.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n")
    assert "beschädigt" in one_error_line(*call(capsys, "ics-import", str(broken), "--db", db))
    text = tmp_path / "liste.csv"
    text.write_text("Betreff;Beginn\nZahnarzt;15.07.2026\n", encoding="utf-8")
    assert "keine Kalenderdatei" in one_error_line(*call(capsys, "ics-import", str(text), "--db", db))
    huge = tmp_path / "riesig.ics"
    with huge.open("wb") as out:
        out.write(b"BEGIN:VCALENDAR\r\n" + b"X" * (10 * 1024 * 1024) + b"\r\nEND:VCALENDAR\r\n")
    assert "zu groß" in one_error_line(*call(capsys, "ics-import", str(huge), "--db", db))
    line = one_error_line(*call(capsys, "ics-import", str(broken), "--db", db, "--manager", "carla"))
    assert "Fachkraft gibt es nicht" in line
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment).where(Appointment.busy_only)) == 0


def test_real_program_once(ctx, world, tmp_path):
    """The exit-code contract on the real program: JSON on stdout, and one German line for a broken file."""
    db, ids = world
    env = dict(os.environ, KIM_DESKTOP_NO_LOG_FILE="1", QT_QPA_PLATFORM="offscreen", PYTHONIOENCODING="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "kim_desktop", *args, "--db", db], capture_output=True, text=True,
            encoding="utf-8", env=env, cwd=PROJECT, timeout=120,
        )  # fmt: skip

    done = run("appointments", "--from", "2026-03-30", "--to", "2026-03-30", "--manager", "anna", "--json")
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == [ids["monday"]]
    broken = tmp_path / "kaputt.ics"
    broken.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    bad = run("ics-import", str(broken))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == (
        "Fehler: Die Kalenderdatei ist beschädigt und kann nicht gelesen werden. Es wurde nichts übernommen."
    )
