"""``kim-desktop letters invitation``: the invitations of a day into a folder, one German summary line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from kim_desktop import cli
from kim_desktop.db.models import Appointment, AppointmentParticipant, Document
from kim_desktop.services import bulk_letters, cases, persons

PROJECT = Path(__file__).resolve().parent.parent
DAY = date(2026, 3, 10)  # CET: local = UTC + 1


def call(capsys, *args: str) -> tuple[int, str, str]:
    """``kim_desktop.cli.main`` in-process; returns exit code, stdout, stderr."""
    try:
        code = cli.main(list(args))
    except SystemExit as exc:  # argparse: wrong usage
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def day_db(ctx, tmp_db_path):
    """Three invitations on DAY (a family of two, one person without an address) and one on the next day."""

    def person(family: str, given: str, address: bool = True) -> str:
        values = {"family_name": family, "given_names": given, "sex": "m"}
        if address:
            values.update(street="Bahnhofstraße 1", postcode="52349", city="Düren")
        return persons.create_person(ctx, values, allow_duplicate=True).id

    hadi, rana, lost = person("Haddad", "Karim"), person("Haddad", "Rana"), person("Unbekannt", "Omid", False)
    ids = {"hadi": hadi, "rana": rana, "lost": lost}
    case_hadi = cases.open_case(ctx, hadi, consent_on=DAY).id
    case_lost = cases.open_case(ctx, lost, consent_on=DAY).id
    with ctx.write() as session:
        for starts, case_id, participants in (
            (datetime(2026, 3, 10, 8, 0, tzinfo=UTC), case_hadi, (hadi, rana)),  # 09:00 local, both invited
            (datetime(2026, 3, 10, 13, 30, tzinfo=UTC), case_lost, ()),  # 14:30 local, no address
            (datetime(2026, 3, 11, 8, 0, tzinfo=UTC), case_hadi, ()),  # the next day
        ):
            appointment = Appointment(
                case_id=case_id, type="beratung", starts_at=starts, ends_at=starts + timedelta(minutes=45)
            )
            session.add(appointment)
            session.flush()
            for p in participants:
                session.add(AppointmentParticipant(appointment_id=appointment.id, person_id=p))
    return tmp_db_path, ids


def test_invitations_of_a_day_in_process(capsys, ctx, day_db, tmp_path):
    db, ids = day_db
    out = tmp_path / "briefe"
    code, stdout, stderr = call(
        capsys, "letters", "invitation", "--date", "2026-03-10", "--out", str(out), "--db", str(db)
    )
    assert code == 0, stderr
    assert stderr == ""
    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"2 Einladungen erstellt in {out}, 1 übersprungen: Termin 10.03.2026 14:30, Person "
    )
    assert (
        "keine vollständige Anschrift" in lines[0] and "Omid" not in lines[0] and "Unbekannt" not in lines[0]
    )
    files = sorted(out.iterdir())
    assert [f.name for f in files] == sorted(
        [
            f"Einladung_2026-03-10_0900_Haddad_{ids['hadi'][:8]}.pdf",
            f"Einladung_2026-03-10_0900_Haddad_{ids['rana'][:8]}.pdf",
        ]
    )
    texts = ["".join(p.extract_text() for p in PdfReader(io.BytesIO(f.read_bytes())).pages) for f in files]
    assert sorted(n for n in ("Karim Haddad", "Rana Haddad") for t in texts if n in t) == [
        "Karim Haddad",
        "Rana Haddad",
    ]
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 2


def test_a_single_invitation_and_german_dates(capsys, ctx, day_db, tmp_path):
    db, _ids = day_db
    code, stdout, _err = call(
        capsys, "letters", "invitation", "--date", "11.03.2026", "--out", str(tmp_path / "x"), "--db", str(db)
    )
    assert code == 0 and stdout.strip() == f"1 Einladung erstellt in {tmp_path / 'x'}"


def test_no_appointments_is_not_an_error(capsys, ctx, day_db, tmp_path):
    db, _ids = day_db
    code, stdout, stderr = call(
        capsys,
        "letters",
        "invitation",
        "--date",
        "2026-03-12",
        "--out",
        str(tmp_path / "leer"),
        "--db",
        str(db),
    )
    assert (code, stderr) == (0, "")
    assert stdout.strip() == "Keine Termine am 12.03.2026: keine Einladungen erstellt."


@pytest.mark.parametrize("bad", ["2026-02-30", "10/03/2026", "morgen", "2026-3-1x", "31.02.2026"])
def test_bad_date_is_one_german_line(capsys, ctx, day_db, tmp_path, bad):
    db, _ids = day_db
    code, stdout, stderr = call(
        capsys, "letters", "invitation", "--date", bad, "--out", str(tmp_path / "o"), "--db", str(db)
    )
    assert code == 1 and stdout == ""
    assert stderr.startswith("Fehler: Ungültiges Datum") and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_unwritable_folder_and_usage(capsys, ctx, day_db, tmp_path):
    db, _ids = day_db
    blocker = tmp_path / "datei"
    blocker.write_text("x")
    code, _out, stderr = call(
        capsys, "letters", "invitation", "--date", "2026-03-10", "--out", str(blocker), "--db", str(db)
    )
    assert (
        code == 1
        and stderr.startswith("Fehler: Der Zielordner ist eine Datei")
        and len(stderr.splitlines()) == 1
    )
    code, _out, stderr = call(
        capsys,
        "letters",
        "invitation",
        "--date",
        "2026-03-10",
        "--out",
        str(tmp_path),
        "--lang",
        "xx",
        "--db",
        str(db),
    )
    assert code == 2 and stderr.startswith("Aufruf fehlerhaft")
    code, _out, _err = call(capsys, "letters", "invitation", "--out", str(tmp_path), "--db", str(db))
    assert code == 2
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_cli_and_service_offer_the_same_languages():
    assert cli.BULK_LANGUAGES == bulk_letters.BULK_LANGUAGES


def test_real_program_once(ctx, day_db, tmp_path):
    db, _ids = day_db
    env = dict(os.environ, KIM_DESKTOP_NO_LOG_FILE="1", QT_QPA_PLATFORM="offscreen", PYTHONIOENCODING="utf-8")
    base = [
        sys.executable,
        "-m",
        "kim_desktop",
        "letters",
        "invitation",
        "--db",
        str(db),
        "--out",
        str(tmp_path / "p"),
    ]
    done = subprocess.run(
        [*base, "--date", "2026-03-10"], capture_output=True, text=True, encoding="utf-8", env=env, cwd=PROJECT,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 Einladungen erstellt in") and len(done.stdout.strip().splitlines()) == 1
    assert len(list((tmp_path / "p").glob("Einladung_*.pdf"))) == 2
    bad = subprocess.run(
        [*base, "--date", "2026-13-01"], capture_output=True, text=True, encoding="utf-8", env=env, cwd=PROJECT,
        timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert (
        bad.stderr.strip()
        == "Fehler: Ungültiges Datum „2026-13-01“: bitte als JJJJ-MM-TT angeben, z. B. 2026-03-14."
    )
