"""Tests for kim_desktop.services.demo: synthetic demo data that is reproducible, additive and consistent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from kim_desktop.db.engine import open_database
from kim_desktop.db.models import (
    CASE_PHASES,
    LANGUAGE_LEVELS,
    AuditEvent,
    Case,
    CasePhaseChange,
    ChangeRecord,
    CodeEntry,
    Consent,
    FollowUp,
    Goal,
    Person,
    PersonLanguage,
    PersonNameVariant,
    PersonNationality,
    PersonRelation,
    ResidenceStatusChange,
    SearchKey,
    Step,
)
from kim_desktop.services import demo, search
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.dates import PartialDate
from kim_desktop.services.maintenance import check_database

TODAY = date(2026, 11, 27)


def _open(path) -> ServiceContext:
    return ServiceContext(open_database(path), Actor.local())


def _persons(ctx) -> list[tuple]:
    with ctx.read() as session:
        return session.execute(
            select(
                Person.id, Person.family_name, Person.given_names, Person.birth_year, Person.birth_month,
                Person.birth_day, Person.sex,
            ).order_by(Person.id)
        ).all()  # fmt: skip


@pytest.fixture(scope="module")
def demo_ctx(tmp_path_factory):
    """One database with 1,500 demo persons for the read-only checks."""
    ctx = _open(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    ctx.summary = demo.generate_demo_data(ctx, persons=1500, seed=7, batch_size=400, today=TODAY)
    yield ctx
    ctx.database.dispose()


# --- reproducible, additive, cancellable -----------------------------------------------------------------


def test_same_seed_gives_same_data_on_fresh_databases(tmp_path):
    first, second = _open(tmp_path / "a.sqlite3"), _open(tmp_path / "b.sqlite3")
    try:
        demo.generate_demo_data(first, persons=300, seed=42, today=TODAY)
        demo.generate_demo_data(second, persons=300, seed=42, today=TODAY)
        assert _persons(first) == _persons(second)
        with first.read() as s1, second.read() as s2:
            numbers = select(Case.id, Case.file_number, Case.phase).order_by(Case.id)
            assert s1.execute(numbers).all() == s2.execute(numbers).all()
    finally:
        first.database.dispose()
        second.database.dispose()


def test_another_seed_gives_other_people(tmp_path):
    first, second = _open(tmp_path / "a.sqlite3"), _open(tmp_path / "b.sqlite3")
    try:
        demo.generate_demo_data(first, persons=100, seed=1, today=TODAY)
        demo.generate_demo_data(second, persons=100, seed=2, today=TODAY)
        assert [p[1:] for p in _persons(first)] != [p[1:] for p in _persons(second)]
    finally:
        first.database.dispose()
        second.database.dispose()


def test_second_run_adds_without_collisions(ctx):
    one = demo.generate_demo_data(ctx, persons=400, seed=1, batch_size=150, today=TODAY)
    two = demo.generate_demo_data(ctx, persons=400, seed=1, batch_size=150, today=TODAY)
    assert one["persons"] == two["persons"] == 400
    assert one["providers"] > 0 and two["providers"] == 0  # reference records are reused, not duplicated
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 800
        numbers = session.scalars(select(Case.file_number)).all()
        assert len(numbers) == len(set(numbers)) == one["cases"] + two["cases"]
        assert all(n.startswith("KIM-") for n in numbers)
        runs = (
            session.execute(select(AuditEvent.detail).where(AuditEvent.action == "demo_import"))
            .scalars()
            .all()
        )
        assert runs == [{"persons": 400, "seed": 1}, {"persons": 400, "seed": 1}]
        # the same seed on a filled database adds other people, not look-alikes of the first run
        names = session.execute(select(Person.family_name, Person.given_names, Person.birth_year)).all()
        assert len(set(names)) > 600
    assert check_database(ctx.database) == []


def test_file_numbers_continue_after_the_highest(ctx):
    with ctx.write() as session:
        person_id = "00000000-0000-4000-8000-000000000001"
        session.add(
            Person(id=person_id, family_name="Beispiel", given_names="Erika", sort_name="beispiel erika")
        )
        session.flush()
        session.add(Case(file_number="KIM-2024-00917", person_id=person_id, opened_on=date(2024, 5, 2)))
    demo.generate_demo_data(ctx, persons=50, seed=3, today=TODAY)
    with ctx.read() as session:
        numbers = [int(n.rsplit("-", 1)[1]) for n in session.scalars(select(Case.file_number))]
    assert sorted(numbers)[0] == 917 and min(n for n in numbers if n != 917) == 918


def test_progress_reports_and_cancels_after_whole_batches(ctx):
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return len(calls) < 2  # cancel after the second batch

    summary = demo.generate_demo_data(
        ctx, persons=1000, seed=5, batch_size=120, progress=progress, today=TODAY
    )
    assert calls == [(120, 1000), (240, 1000)]
    assert summary["cancelled"] is True
    assert summary["persons"] == 240
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 240
        assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "demo_import")) == {
            "persons": 240,
            "seed": 5,
        }
    assert check_database(ctx.database) == []


def test_exact_person_count_even_with_small_batches(ctx):
    summary = demo.generate_demo_data(ctx, persons=37, seed=9, batch_size=5, today=TODAY)
    assert summary["persons"] == 37 and summary["cancelled"] is False
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 37


# --- consistency -----------------------------------------------------------------------------------------


def test_database_check_passes_and_no_change_history(demo_ctx):
    assert check_database(demo_ctx.database) == []
    with demo_ctx.database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    with demo_ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(ChangeRecord)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_summary_counts_match_the_tables(demo_ctx):
    summary = demo_ctx.summary
    with demo_ctx.read() as session:
        for table, key in (("person", "persons"), ("household", "households"), ("case_file", "cases"),
                           ("journal_entry", "journal_entries"), ("appointment", "appointments"),
                           ("referral", "referrals"), ("provider", "providers"), ("offer", "offers"),
                           ("assessment", "assessments"), ("goal", "goals"), ("step", "steps"),
                           ("follow_up", "follow_ups")):  # fmt: skip
            assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar() == summary[key], table
    assert summary["persons"] == 1500
    assert summary["households"] > 200 and summary["cases"] > 400 and summary["referrals"] > 50


def test_every_case_phase_is_present_with_history(demo_ctx):
    with demo_ctx.read() as session:
        phases = dict(session.execute(select(Case.phase, func.count()).group_by(Case.phase)).all())
        assert set(phases) == set(CASE_PHASES)
        closed = session.execute(
            select(Case.closed_on, Case.closure_reason, Case.opened_on).where(Case.phase == "closed")
        ).all()
        assert all(c.closed_on and c.closure_reason and c.closed_on >= c.opened_on for c in closed)
        assert (
            session.scalar(select(func.count()).where(Case.phase != "closed", Case.closed_on.is_not(None)))
            == 0
        )
        # the phase history ends in the current phase and starts with intake
        rows = session.execute(
            select(CasePhaseChange.case_id, CasePhaseChange.from_phase, CasePhaseChange.to_phase,
                   CasePhaseChange.changed_on)
        ).all()  # fmt: skip
        history: dict[str, list] = {}
        for row in rows:
            history.setdefault(row.case_id, []).append(row)
        for case_id, phase in session.execute(select(Case.id, Case.phase)):
            steps = sorted(history[case_id], key=lambda r: CASE_PHASES.index(r.to_phase))
            assert steps[0].from_phase is None and steps[0].to_phase == "intake"
            assert steps[-1].to_phase == phase
            assert [s.changed_on for s in steps] == sorted(s.changed_on for s in steps)
        # about 60 % of adults have a case (some cases are household cases, some persons have two)
        adults = session.scalar(select(func.count()).where(Person.birth_year <= TODAY.year - 19))
        with_case = session.scalar(select(func.count(func.distinct(Case.person_id))))
        assert 0.4 < with_case / adults < 0.8
        # every case has its consent to case management, except some still in intake
        without = session.scalar(
            select(func.count()).where(
                ~select(Consent.id)
                .where(Consent.case_id == Case.id, Consent.kind == "case_management")
                .exists()
            )
        )
        in_intake = phases["intake"]
        assert without <= in_intake


def test_partial_and_placeholder_birth_dates_are_present(demo_ctx):
    with demo_ctx.read() as session:

        def count(*where):
            return session.scalar(select(func.count()).select_from(Person).where(*where))

        assert count(Person.birth_year.is_(None)) > 0
        assert count(Person.birth_year.is_not(None), Person.birth_month.is_(None)) > 0
        assert count(Person.birth_month.is_not(None), Person.birth_day.is_(None)) > 0
        assert count(Person.birth_month == 1, Person.birth_day == 1) > 10
        assert count(Person.birth_day.is_not(None)) > 1500 * 0.7
        future = [
            p for p in session.execute(select(Person.birth_year, Person.birth_month, Person.birth_day))
            if p.birth_year is not None and PartialDate.from_parts(*p).earliest() > date.today()
        ]  # fmt: skip
        assert future == []
        sexes = set(session.scalars(select(Person.sex).distinct()))
        assert {"f", "m"} <= sexes and sexes & {"d", "u", "x"}


def test_names_look_like_german_documents_write_them(demo_ctx):
    with demo_ctx.read() as session:
        families = set(session.scalars(select(Person.family_name)))
        variants = session.execute(
            select(PersonNameVariant.family_name, PersonNameVariant.given_names, PersonNameVariant.kind)
        ).all()
    text_all = " ".join(families)
    assert any(ch in text_all for ch in "şğıçö")  # Turkish
    assert any(ch in text_all for ch in "ễạặđồ") or "Nguyễn" in families or "Trần" in families  # Vietnamese
    assert any(f.startswith(("Al-", "Al ")) for f in families)  # Arabic article
    assert not any("\u0400" <= ch <= "\u04ff" for ch in text_all)  # main names in Latin script
    natives = [v for v in variants if v.kind == "native"]
    assert natives and all(any("\u0400" <= ch <= "\u04ff" for ch in v.family_name) for v in natives)
    assert {"spelling", "passport"} <= {v.kind for v in variants}


def test_codes_are_known(demo_ctx):
    from kim_desktop.i18n import countries, languages

    with demo_ctx.read() as session:
        residence = set(
            session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == "residence_status"))
        )
        time_limited = set(
            session.scalars(
                select(CodeEntry.code).where(
                    CodeEntry.list_name == "residence_status", CodeEntry.time_limited.is_(True)
                )
            )
        )
        statuses = session.execute(select(Person.residence_status, Person.residence_valid_until)).all()
        assert {s for s, _ in statuses} - {None} <= residence
        assert all((until is not None) == (status in time_limited) for status, until in statuses)
        assert set(session.scalars(select(PersonNationality.country_code))) <= set(countries("de"))
        assert set(session.scalars(select(Person.country_of_birth))) - {None} <= set(countries("de"))
        assert set(session.scalars(select(PersonLanguage.language_code))) <= set(languages("de"))
        assert set(session.scalars(select(PersonLanguage.level))) <= set(LANGUAGE_LEVELS)
        for list_name, column in (
            ("access_channel", Case.access_channel),
            ("closure_reason", Case.closure_reason),
        ):
            known = set(session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == list_name)))
            assert set(session.scalars(select(column))) - {None} <= known
        for table, list_name, column in (("journal_entry", "contact_type", "contact_type"),
                                         ("appointment", "appointment_type", "type"),
                                         ("offer", "offer_category", "category"),
                                         ("referral", "referral_outcome", "outcome")):  # fmt: skip
            known = set(session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == list_name)))
            used = set(session.execute(text(f"SELECT DISTINCT {column} FROM {table}")).scalars()) - {None}
            assert used and used <= known, table
        # the initial residence status is in the history
        with_status = session.scalar(select(func.count()).where(Person.residence_status.is_not(None)))
        assert session.scalar(select(func.count()).select_from(ResidenceStatusChange)) == with_status


def test_all_language_and_country_codes_in_the_pools_are_known():
    from kim_desktop.i18n import countries, languages

    for origin in demo.ORIGINS:
        assert origin.code in countries("de")
        assert origin.transit is None or origin.transit in countries("de")
        for code, _p in origin.extra_languages:
            assert code in languages("de"), code
        for group in origin.groups:
            assert all(code in languages("de") for code in group.languages), group.languages


def test_relations_are_symmetric_and_within_households(demo_ctx):
    with demo_ctx.read() as session:
        rows = set(session.execute(select(PersonRelation.person_id, PersonRelation.related_person_id,
                                          PersonRelation.relation)).all())  # fmt: skip
        members = dict(session.execute(text("SELECT person_id, household_id FROM household_member")).all())
    inverse = {"spouse": "spouse", "parent": "child", "child": "parent", "sibling": "sibling"}
    assert rows
    for person, related, relation in rows:
        assert (related, person, inverse[relation]) in rows
        assert members[person] == members[related]


def test_address_and_phone_are_synthetic_in_kreis_coesfeld(demo_ctx):
    towns = {(t[0], t[1]) for t in demo.TOWNS}
    with demo_ctx.read() as session:
        places = set(session.execute(select(Person.city, Person.postcode)).all())
        phones = [p for p in session.scalars(select(Person.phone)) if p]
    assert places <= towns and len(places) == len(towns)
    assert phones and all(p.startswith("0") and p.replace(" ", "").isdigit() for p in phones)


# --- search index ----------------------------------------------------------------------------------------


def test_search_keys_and_sort_names_match_the_search_engine(demo_ctx):
    with demo_ctx.read() as session:
        persons = session.execute(select(Person).order_by(Person.id).limit(300)).scalars().all()
        for person in persons:
            variants = [(v.family_name, v.given_names) for v in person.name_variants]
            numbers = session.scalars(select(Case.file_number).where(Case.person_id == person.id)).all()
            expected = search.person_keys(
                person.family_name, person.given_names, person.birth_name, variants,
                PartialDate.from_parts(person.birth_year, person.birth_month, person.birth_day), person.phone,
                numbers,
            )  # fmt: skip
            stored = dict(
                session.execute(
                    select(SearchKey.key, SearchKey.weight).where(SearchKey.person_id == person.id)
                ).all()
            )
            assert stored == expected
            assert person.sort_name == search.sort_name(person.family_name, person.given_names)


def test_search_finds_generated_people(demo_ctx):
    with demo_ctx.read() as session:
        sample = session.execute(
            select(Person.id, Person.family_name, Person.given_names, Person.birth_year, Person.birth_month,
                   Person.birth_day).where(Person.birth_day.is_not(None)).order_by(Person.id).limit(25)
        ).all()  # fmt: skip
        for row in sample:
            hits = search.search_persons(session, f"{row.family_name} {row.given_names}", limit=50)
            assert row.id in [h.id for h in hits], row.family_name
            birth = f"{row.birth_day:02d}.{row.birth_month:02d}.{row.birth_year}"
            hits = search.search_persons(session, f"{row.family_name} {birth}", limit=50)
            assert row.id in [h.id for h in hits]
        # by file number and by the Cyrillic spelling on record
        case_person, number = session.execute(select(Case.person_id, Case.file_number).limit(1)).one()
        assert case_person in [h.id for h in search.search_persons(session, number)]
        native = session.execute(
            select(PersonNameVariant.person_id, PersonNameVariant.family_name).where(
                PersonNameVariant.kind == "native"
            )
        ).first()
        assert native.person_id in [
            h.id for h in search.search_persons(session, native.family_name, limit=200)
        ]


def test_female_forms():
    assert demo.female_form("Ivanov") == "Ivanova"
    assert demo.female_form("Kowalski") == "Kowalska"
    assert demo.female_form("Kovalskyi") == "Kovalska"
    assert demo.female_form("Ковальський") == "Ковальська"
    assert demo.female_form("Shevchenko") == "Shevchenko"


def test_generated_persons_pass_the_person_validation(ctx):
    from kim_desktop.services import persons

    demo.generate_demo_data(ctx, persons=200, seed=11, today=TODAY)
    with ctx.read() as session:
        ids = session.scalars(select(Person.id).order_by(Person.id)).all()
    for person_id in ids:
        view = persons.get_person(ctx, person_id)
        values = {name: getattr(view, name) for name in persons.PERSON_FIELDS if name != "birth_date"}
        values["birth_date"] = view.birth_date
        persons.validate_person(values)  # raises ValidationError with the field that is off


def test_assessments_goals_and_follow_ups_follow_the_phase(demo_ctx):
    from kim_desktop.db.models import Assessment

    with demo_ctx.read() as session:
        phase_of = dict(session.execute(select(Case.id, Case.phase)).all())
        assessed = set(session.scalars(select(Assessment.case_id)))
        planned = set(session.scalars(select(Goal.case_id)))
        assert assessed and planned
        assert all(CASE_PHASES.index(phase_of[c]) >= 1 for c in assessed)
        assert all(CASE_PHASES.index(phase_of[c]) >= 2 for c in planned)
        assert {c for c, p in phase_of.items() if CASE_PHASES.index(p) >= 1} == assessed
        open_goals_of_closed = session.scalar(
            select(func.count())
            .select_from(Goal)
            .join(Case, Case.id == Goal.case_id)
            .where(Case.phase == "closed", Goal.status == "open")
        )
        assert open_goals_of_closed == 0
        assert session.scalar(select(func.count()).select_from(Step)) >= len(planned)
        follow_ups = session.execute(select(FollowUp.case_id, FollowUp.due_on)).all()
        assert follow_ups and all(phase_of[c] != "closed" for c, _ in follow_ups)
        assert any(due < TODAY for _, due in follow_ups)  # some are overdue
