"""Journal (Verlauf), assessment per life area, Hilfeplan goals and steps, structural findings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import Assessment, AuditEvent, JournalEntry, StructuralFinding
from kim_desktop.errors import NotFoundError, ValidationError
from kim_desktop.services import cases, journal, persons

OPENED = date(2026, 1, 5)


@pytest.fixture
def case(ctx):
    person = persons.create_person(
        ctx, {"family_name": "Haddad", "given_names": "Rania", "birth_date": "1990"}, allow_duplicate=True
    )
    return cases.open_case(ctx, person.id, opened_on=OPENED)


def count(ctx, model, *where) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# --- journal entries ------------------------------------------------------------------------------------


def test_add_entry_round_trip(ctx, case):
    entry_id = journal.add_journal_entry(
        ctx, case.id, text="  Erstgespräch mit Dolmetscherin  ", entry_date=date(2026, 1, 6), duration_min=90,
        interpreter_language="ar", life_areas=["sprache", "wohnen"],
    )  # fmt: skip
    with ctx.read() as session:
        [view] = journal.journal(session, case.id)
        row = session.get(JournalEntry, entry_id)
        assert row.person_id == case.person_id
        assert row.life_areas == ["sprache", "wohnen"]
    assert view.id == entry_id
    assert view.text == "Erstgespräch mit Dolmetscherin"
    assert (view.entry_date, view.duration_min, view.interpreter_language) == (date(2026, 1, 6), 90, "ar")
    assert view.contact_type == "persoenlich"
    assert view.confidential is False and view.system_generated is False
    assert count(ctx, AuditEvent, AuditEvent.entity_id == entry_id, AuditEvent.case_id == case.id) == 1


@pytest.mark.parametrize(
    ("kwargs", "field", "phrase"),
    [
        ({"text": ""}, "text", "worum es ging"),
        ({"text": "   \n "}, "text", "worum es ging"),
        ({"text": "x" * (journal.MAX_TEXT + 1)}, "text", "höchstens 50000 Zeichen"),
        ({"text": "Telefonat", "duration_min": -1}, "duration_min", "zwischen 0 und 1440 Minuten"),
        ({"text": "Telefonat", "duration_min": 1441}, "duration_min", "zwischen 0 und 1440 Minuten"),
        ({"text": "Telefonat", "entry_date": date.today() + timedelta(days=1)}, "entry_date", "Zukunft"),
        ({"text": "Telefonat", "entry_date": date(1989, 12, 31)}, "entry_date", "vor der Geburt"),
    ],
)
def test_add_entry_validation(ctx, case, kwargs, field, phrase):
    with pytest.raises(ValidationError) as info:
        journal.add_journal_entry(ctx, case.id, **kwargs)
    assert phrase in info.value.field_errors[field]
    assert phrase in str(info.value)
    assert count(ctx, JournalEntry) == 0


def test_add_entry_limits_accepted(ctx, case):
    journal.add_journal_entry(ctx, case.id, text="x" * journal.MAX_TEXT, duration_min=0)
    journal.add_journal_entry(ctx, case.id, text="Ganztägige Begleitung", duration_min=1440)
    journal.add_journal_entry(ctx, case.id, text="Im Geburtsjahr", entry_date=date(1990, 1, 1))
    assert count(ctx, JournalEntry) == 3


def test_add_entry_several_errors_reported_together(ctx, case):
    with pytest.raises(ValidationError) as info:
        journal.add_journal_entry(ctx, case.id, text="", duration_min=5000)
    assert set(info.value.field_errors) == {"text", "duration_min"}


def test_add_entry_unknown_case(ctx):
    with pytest.raises(NotFoundError, match="Keine Fallakte"):
        journal.add_journal_entry(ctx, "no-such-case", text="Telefonat")


def test_confidential_entries_never_shareable(ctx, case):
    public = journal.add_journal_entry(
        ctx, case.id, text="Termin beim Jobcenter vereinbart", entry_date=date(2026, 1, 7)
    )
    secret = journal.add_journal_entry(
        ctx, case.id, text="Anvertraut: Gewalterfahrung", entry_date=date(2026, 1, 8), confidential=True
    )
    with ctx.read() as session:
        everything = journal.journal(session, case.id)
        shareable = journal.shareable_entries(session, case.id)
        # even an explicit request cannot bring confidential entries into the shareable list
        forced = journal.shareable_entries(session, case.id, include_confidential=True)
        assert journal.journal_count(session, case.id) == 2
    assert [e.id for e in everything] == [secret, public]
    assert everything[0].confidential is True
    assert [e.id for e in shareable] == [public]
    assert [e.id for e in forced] == [public]


def test_soft_delete_and_restore(ctx, case):
    keep = journal.add_journal_entry(ctx, case.id, text="Bleibt", entry_date=date(2026, 1, 6))
    gone = journal.add_journal_entry(ctx, case.id, text="Versehentlich angelegt", entry_date=date(2026, 1, 7))

    journal.delete_journal_entry(ctx, gone)
    with ctx.read() as session:
        assert [e.id for e in journal.journal(session, case.id)] == [keep]
        assert journal.journal_count(session, case.id) == 1
        assert session.get(JournalEntry, gone).deleted_at is not None  # tombstone, row still there
    assert count(ctx, JournalEntry) == 2
    with pytest.raises(NotFoundError, match="nicht"):
        journal.delete_journal_entry(ctx, gone)

    journal.restore_journal_entry(ctx, gone)
    with ctx.read() as session:
        assert [e.id for e in journal.journal(session, case.id)] == [gone, keep]
        assert journal.journal_count(session, case.id) == 2
    with pytest.raises(NotFoundError, match="wiederhergestellt"):
        journal.restore_journal_entry(ctx, gone)
    with ctx.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == gone).order_by(AuditEvent.id)
        ).all()
    assert actions == ["create", "delete", "restore"]


def test_same_day_entries_newest_first(ctx, case):
    first = journal.add_journal_entry(ctx, case.id, text="Vormittag", entry_date=date(2026, 2, 2))
    second = journal.add_journal_entry(ctx, case.id, text="Nachmittag", entry_date=date(2026, 2, 2))
    older = journal.add_journal_entry(ctx, case.id, text="Vortag", entry_date=date(2026, 2, 1))
    with ctx.read() as session:
        assert [e.id for e in journal.journal(session, case.id)] == [second, first, older]


def test_journal_paging_with_thousands_of_entries(ctx, case):
    total = 2_500
    start = date(2019, 1, 1)
    with ctx.write() as session:
        session.add_all(
            JournalEntry(
                case_id=case.id,
                person_id=case.person_id,
                entry_date=start + timedelta(days=i),
                contact_type="telefon",
                text=f"Eintrag {i:04d}",
                confidential=(i % 10 == 0),
            )
            for i in range(total)
        )
    page_size = 200
    seen = []
    with ctx.read() as session:
        assert journal.journal_count(session, case.id) == total
        offset = 0
        while True:
            page = journal.journal(session, case.id, offset=offset, limit=page_size)
            if not page:
                break
            assert len(page) <= page_size
            seen.extend(page)
            offset += page_size
        last_page = journal.journal(session, case.id, offset=2_400, limit=page_size)
        shareable_count = len(journal.shareable_entries(session, case.id, limit=total))
    assert len(seen) == total
    assert len({e.id for e in seen}) == total  # no entry twice, none lost between pages
    dates = [e.entry_date for e in seen]
    assert dates == sorted(dates, reverse=True)
    assert seen[0].text == f"Eintrag {total - 1:04d}"
    assert seen[-1].text == "Eintrag 0000"
    assert len(last_page) == 100
    assert last_page[-1].entry_date == start
    assert shareable_count == total - total // 10


# --- assessment -----------------------------------------------------------------------------------------


def test_set_assessment_upserts_per_life_area(ctx, case):
    first = journal.set_assessment(
        ctx, case.id, "sprache", situation="A1", needs="Integrationskurs", priority=1, need_level=3,
        assessed_on=date(2026, 1, 10),
    )  # fmt: skip
    again = journal.set_assessment(
        ctx, case.id, "sprache", situation="A2 erreicht", resources="lernt abends", priority=2, need_level=2
    )
    other = journal.set_assessment(ctx, case.id, "wohnen", situation="Gemeinschaftsunterkunft", priority=3)
    assert again == first
    assert other != first
    with ctx.read() as session:
        rows = {a.life_area: a for a in journal.assessments(session, case.id)}
        sprache = rows["sprache"]
        assert set(rows) == {"sprache", "wohnen"}
        assert (sprache.situation, sprache.resources, sprache.priority, sprache.need_level) == (
            "A2 erreicht", "lernt abends", 2, 2,
        )  # fmt: skip
        assert sprache.needs is None  # the form sends every field: an empty one clears it
        assert sprache.assessed_on == date.today()
    assert count(ctx, Assessment) == 2


def test_set_assessment_validation(ctx, case):
    with pytest.raises(ValidationError, match="Unbekannter Lebensbereich"):
        journal.set_assessment(ctx, case.id, "mondfahrt", situation="?")
    for bad in (0, 4, -1):
        with pytest.raises(ValidationError) as info:
            journal.set_assessment(ctx, case.id, "sprache", priority=bad)
        assert "Priorität" in info.value.field_errors["priority"]
    with pytest.raises(ValidationError, match="Handlungsbedarf"):
        journal.set_assessment(ctx, case.id, "sprache", need_level=4)
    assert count(ctx, Assessment) == 0
    for good in (1, 2, 3):
        journal.set_assessment(ctx, case.id, "sprache", priority=good)
    with ctx.read() as session:
        assert [a.priority for a in journal.assessments(session, case.id)] == [3]


# --- Hilfeplan ------------------------------------------------------------------------------------------


def test_add_goal_validation(ctx, case):
    with pytest.raises(ValidationError) as info:
        journal.add_goal(ctx, case.id, "   ")
    assert "Ziel braucht einen Text" in str(info.value)
    with pytest.raises(ValidationError, match="höchstens 300 Zeichen"):
        journal.add_goal(ctx, case.id, "z" * 301)
    with pytest.raises(ValidationError) as info:
        journal.add_goal(
            ctx, case.id, "Wohnung finden", agreed_on=date(2026, 2, 1), review_on=date(2026, 1, 31)
        )
    assert "vor der Vereinbarung" in info.value.field_errors["review_on"]
    with pytest.raises(NotFoundError):
        journal.add_goal(ctx, "no-such-case", "Wohnung finden")
    with ctx.read() as session:
        assert journal.goals(session, case.id) == []


def test_goals_and_steps(ctx, case):
    g1 = journal.add_goal(
        ctx,
        case.id,
        " Deutschkurs B1 ",
        life_area="sprache",
        agreed_on=date(2026, 2, 1),
        review_on=date(2026, 2, 1),
    )
    g2 = journal.add_goal(ctx, case.id, "Wohnung finden", agreed_on=date(2026, 2, 1))

    with pytest.raises(ValidationError, match="Beschreibung"):
        journal.add_step(ctx, g1, "  ")
    with pytest.raises(ValidationError, match="Verantwortlich"):
        journal.add_step(ctx, g1, "Anmelden", responsible="chef")
    with pytest.raises(NotFoundError, match="Ziel"):
        journal.add_step(ctx, "no-such-goal", "Anmelden")

    s1 = journal.add_step(ctx, g1, "Beim Kursträger anmelden", responsible="client", due_on=date(2026, 2, 15))
    s2 = journal.add_step(ctx, g1, "BAMF-Berechtigung beantragen", responsible="case_manager")
    s3 = journal.add_step(
        ctx, g1, "Kinderbetreuung klären", responsible="other", responsible_note="Jugendamt"
    )

    journal.complete_step(ctx, s1, done_on=date(2026, 2, 10))
    journal.complete_step(ctx, s2)
    with pytest.raises(NotFoundError, match="Schritt"):
        journal.complete_step(ctx, "no-such-step")

    with ctx.read() as session:
        plan = journal.goals(session, case.id)
        result = [
            (
                goal.id,
                goal.title,
                goal.status,
                [(s.id, s.responsible, s.responsible_note, s.done_on) for s in steps],
            )
            for goal, steps in plan
        ]
    assert result == [
        (
            g1,
            "Deutschkurs B1",
            "open",
            [
                (s1, "client", None, date(2026, 2, 10)),
                (s2, "case_manager", None, date.today()),
                (s3, "other", "Jugendamt", None),
            ],
        ),
        (g2, "Wohnung finden", "open", []),
    ]


# --- structural findings --------------------------------------------------------------------------------


def test_structural_findings(ctx, case):
    with pytest.raises(ValidationError, match="Unbekannte Kategorie"):
        journal.add_structural_finding(ctx, "beschwerden", "Lange Wartezeiten", case_id=case.id)
    with pytest.raises(ValidationError, match="Systemlücke"):
        journal.add_structural_finding(ctx, "wohnraum", "  ")
    assert count(ctx, StructuralFinding) == 0

    finding_id = journal.add_structural_finding(
        ctx, "wartezeiten_behoerde", "Termine bei der Ausländerbehörde erst nach 4 Monaten", case_id=case.id,
        observed_on=date(2026, 2, 3),
    )  # fmt: skip
    with ctx.read() as session:
        row = session.get(StructuralFinding, finding_id)
        assert (row.category, row.case_id, row.observed_on) == (
            "wartezeiten_behoerde",
            case.id,
            date(2026, 2, 3),
        )
    assert count(ctx, AuditEvent, AuditEvent.entity_id == finding_id, AuditEvent.action == "create") == 1
