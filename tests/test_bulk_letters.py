"""Bulk invitations: who is invited on a local day, letters archived and audited, files written whole."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from kim_desktop.db.models import Appointment, AppointmentParticipant, AuditEvent, Document
from kim_desktop.errors import UserError
from kim_desktop.services import bulk_letters, cases, persons
from kim_desktop.services.bulk_letters import invitations_for_day, make_invitations
from kim_desktop.services.localtime import day_bounds_utc

WINTER_DAY = date(2026, 1, 15)  # CET, UTC+1
SUMMER_DAY = date(2026, 7, 15)  # CEST, UTC+2


def text_of(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def utc(y, m, d, hh, mm) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def add_person(ctx, family: str, given: str, *, address: bool = True, sex: str = "f") -> str:
    values = {"family_name": family, "given_names": given, "sex": sex}
    if address:
        values.update(street="Marktstraße 4", postcode="48249", city="Dülmen")
    return persons.create_person(ctx, values, allow_duplicate=True).id


def add_appointment(ctx, case_id, starts: datetime, *, participants=(), status="planned", busy_only=False,
                    deleted=False) -> str:  # fmt: skip
    with ctx.write() as session:
        appointment = Appointment(
            case_id=case_id, type="beratung", title="Beratung", starts_at=starts, ends_at=starts + timedelta(hours=1),
            status=status, busy_only=busy_only, deleted_at=starts if deleted else None,
        )  # fmt: skip
        session.add(appointment)
        session.flush()
        for person_id in participants:
            session.add(AppointmentParticipant(appointment_id=appointment.id, person_id=person_id))
        return appointment.id


@pytest.fixture
def day_plan(ctx):
    """Appointments around WINTER_DAY (15.01.2026, local = UTC+1)."""
    kaya = add_person(ctx, "Kaya", "Elif")
    nowak = add_person(ctx, "Nowak", "Piotr", sex="m")
    nowak_child = add_person(ctx, "Nowak", "Ada")
    homeless = add_person(ctx, "Ohneadresse", "Sami", address=False)
    early = add_person(ctx, "Öztürk/Al-Hassan", "Zeynep")
    case_kaya = cases.open_case(ctx, kaya, consent_on=WINTER_DAY).id
    case_nowak = cases.open_case(ctx, nowak, consent_on=WINTER_DAY).id
    case_early = cases.open_case(ctx, early, consent_on=WINTER_DAY).id
    ids = {
        # 00:30 local on the day = 23:30 UTC the day before: belongs to the day.
        "early": add_appointment(ctx, case_early, utc(2026, 1, 14, 23, 30)),
        # 23:30 local the day before (22:30 UTC): not this day.
        "day_before": add_appointment(ctx, case_kaya, utc(2026, 1, 14, 22, 30)),
        # 09:00 local, no participants: the case's person.
        "kaya": add_appointment(ctx, case_kaya, utc(2026, 1, 15, 8, 0)),
        # 10:00 local, three participants: one letter each; the third has no address (skipped).
        "family": add_appointment(
            ctx, case_nowak, utc(2026, 1, 15, 9, 0), participants=(nowak_child, nowak, homeless)
        ),
        # 23:45 local on the day (22:45 UTC): still this day.
        "late": add_appointment(ctx, case_kaya, utc(2026, 1, 15, 22, 45)),
        # 00:15 local the next day (23:15 UTC on the day): not this day.
        "next_day": add_appointment(ctx, case_kaya, utc(2026, 1, 15, 23, 15)),
        "cancelled": add_appointment(ctx, case_kaya, utc(2026, 1, 15, 11, 0), status="cancelled"),
        "busy": add_appointment(ctx, case_kaya, utc(2026, 1, 15, 12, 0), busy_only=True),
        "deleted": add_appointment(ctx, case_kaya, utc(2026, 1, 15, 13, 0), deleted=True),
    }
    people = {"kaya": kaya, "nowak": nowak, "nowak_child": nowak_child, "homeless": homeless, "early": early}
    return ids, people


def test_day_bounds_follow_berlin_time():
    assert day_bounds_utc(WINTER_DAY) == (utc(2026, 1, 14, 23, 0), utc(2026, 1, 15, 23, 0))
    assert day_bounds_utc(SUMMER_DAY) == (utc(2026, 7, 14, 22, 0), utc(2026, 7, 15, 22, 0))
    # The day summer time starts has 23 hours, the day it ends 25.
    start, end = day_bounds_utc(date(2026, 3, 29))
    assert end - start == timedelta(hours=23)
    start, end = day_bounds_utc(date(2026, 10, 25))
    assert end - start == timedelta(hours=25)


def test_invitations_of_a_day(ctx, day_plan):
    ids, people = day_plan
    with ctx.read() as session:
        entries = invitations_for_day(session, WINTER_DAY)
    assert entries == [
        (ids["early"], people["early"]),
        (ids["kaya"], people["kaya"]),
        # same appointment: by name (Nowak Ada, Nowak Piotr, Ohneadresse)
        (ids["family"], people["nowak_child"]),
        (ids["family"], people["nowak"]),
        (ids["family"], people["homeless"]),
        (ids["late"], people["kaya"]),
    ]
    with ctx.read() as session:
        assert invitations_for_day(session, date(2026, 1, 16)) == [(ids["next_day"], people["kaya"])]
        assert invitations_for_day(session, date(2026, 1, 14)) == [(ids["day_before"], people["kaya"])]
        assert invitations_for_day(session, date(2026, 2, 1)) == []


def test_make_invitations_writes_archives_and_audits(ctx, day_plan, tmp_path):
    ids, people = day_plan
    out = tmp_path / "neu" / "einladungen"  # created when missing
    seen = []
    result = make_invitations(ctx, WINTER_DAY, out, progress=lambda done, total: seen.append((done, total)))
    assert not result.cancelled
    assert seen == [(n, 6) for n in range(7)]
    assert len(result.written) == 5
    assert [reason for _ref, reason in result.skipped] == [
        "Für diese Person ist keine vollständige Anschrift gespeichert. Bitte zuerst Straße, PLZ und Ort erfassen."
    ]
    reference = result.skipped[0][0]
    assert "Ohneadresse" not in reference and "Sami" not in reference
    assert reference == f"Termin 15.01.2026 10:00, Person {people['homeless'][:8]}"

    names = [p.name for p in result.written]
    assert names[0] == f"Einladung_2026-01-15_0030_Ozturk_Al-Hassan_{people['early'][:8]}.pdf"
    assert names[1] == f"Einladung_2026-01-15_0900_Kaya_{people['kaya'][:8]}.pdf"
    assert names[4] == f"Einladung_2026-01-15_2345_Kaya_{people['kaya'][:8]}.pdf"
    assert all(p.parent == out and p.name.isascii() for p in result.written)
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left behind

    expected_names = ["Zeynep Öztürk/Al-Hassan", "Elif Kaya", "Ada Nowak", "Piotr Nowak", "Elif Kaya"]
    for path, name in zip(result.written, expected_names, strict=True):
        text = text_of(path)
        assert name in text and "Marktstraße 4" in text and "48249 Dülmen" in text
    assert "Sehr geehrter Herr Nowak," in text_of(result.written[3])

    with ctx.read() as session:
        documents = session.scalars(select(Document).order_by(Document.created_at)).all()
        assert [(d.kind, d.appointment_id, d.person_id) for d in documents] == [
            ("invitation", ids["early"], people["early"]),
            ("invitation", ids["kaya"], people["kaya"]),
            ("invitation", ids["family"], people["nowak_child"]),
            ("invitation", ids["family"], people["nowak"]),
            ("invitation", ids["late"], people["kaya"]),
        ]
        assert [d.content for d in documents] == [p.read_bytes() for p in result.written]
        printed = session.scalars(select(AuditEvent).where(AuditEvent.action == "print")).all()
        assert {e.entity_id for e in printed} == {d.id for d in documents}
        assert all(e.detail["template"] == "invitation" and e.person_id for e in printed)


def test_cancel_stops_between_letters(ctx, day_plan, tmp_path):
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 2  # two letters, then stop

    out = tmp_path / "out"
    result = make_invitations(ctx, WINTER_DAY, out, cancelled=cancelled)
    assert result.cancelled and len(result.written) == 2 and result.skipped == []
    assert sorted(out.iterdir()) == sorted(result.written)
    for path in result.written:
        assert PdfReader(path).pages  # complete PDFs
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 2


def test_unwritable_folder_is_refused_before_any_letter(ctx, day_plan, tmp_path):
    blocker = tmp_path / "datei.txt"
    blocker.write_text("x")
    with pytest.raises(UserError, match="Zielordner ist eine Datei"):
        make_invitations(ctx, WINTER_DAY, blocker)
    with pytest.raises(UserError, match="kann nicht geschrieben werden"):
        make_invitations(ctx, WINTER_DAY, blocker / "unter")
    with pytest.raises(UserError, match="Sprache"):
        make_invitations(ctx, WINTER_DAY, tmp_path / "ok", language="xx")
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_a_day_without_appointments_makes_nothing(ctx, tmp_path):
    result = make_invitations(ctx, WINTER_DAY, tmp_path / "leer")
    assert result.written == [] and result.skipped == [] and not result.cancelled
    assert (tmp_path / "leer").is_dir()


def test_same_person_twice_in_the_same_minute_gets_two_files(ctx, tmp_path):
    person = add_person(ctx, "Kaya", "Elif")
    case_id = cases.open_case(ctx, person, consent_on=WINTER_DAY).id
    add_appointment(ctx, case_id, utc(2026, 1, 15, 8, 0))
    add_appointment(ctx, case_id, utc(2026, 1, 15, 8, 0))
    result = make_invitations(ctx, WINTER_DAY, tmp_path / "out")
    assert [p.name for p in result.written] == [
        f"Einladung_2026-01-15_0900_Kaya_{person[:8]}.pdf",
        f"Einladung_2026-01-15_0900_Kaya_{person[:8]}-2.pdf",
    ]


def test_file_names_are_safe():
    invitation = bulk_letters.Invitation(
        "a" * 36, "12345678-aaaa", datetime(2026, 1, 15, 9, 5), "../../etc/Şahin \\ Nguyễn:*?"
    )
    name = bulk_letters.file_name(invitation)
    assert name == "Einladung_2026-01-15_0905_etc_Sahin_Nguyen_12345678.pdf"
    empty = bulk_letters.Invitation("a", "b", datetime(2026, 1, 15, 9, 5), "   ")
    assert bulk_letters.file_name(empty) == "Einladung_2026-01-15_0905_Person_b.pdf"


def test_invitation_shows_the_local_time(ctx, day_plan, tmp_path):
    result = make_invitations(ctx, WINTER_DAY, tmp_path / "out")
    assert "09:00" in text_of(result.written[1])


def test_bilingual_invitations(ctx, tmp_path):
    person = add_person(ctx, "Kowalenko", "Olena")
    case_id = cases.open_case(ctx, person, consent_on=WINTER_DAY).id
    add_appointment(ctx, case_id, utc(2026, 1, 15, 8, 0))
    result = make_invitations(ctx, WINTER_DAY, tmp_path / "en", language="en")
    assert len(result.written) == 1
    text = text_of(result.written[0])
    assert "Ihr Beratungstermin am 15.01.2026" in text and "Your counselling appointment on" in text
