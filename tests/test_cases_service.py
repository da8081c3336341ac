"""Cases through the service layer: file numbers, the phase rules of the case-management cycle, closure and
reopening, handover, the case list and the audit trail. Real SQLite, no mocks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import (
    AuditEvent,
    Case,
    CasePhaseChange,
    Goal,
    JournalEntry,
    Setting,
    UserAccount,
)
from kim_desktop.errors import NotFoundError, UserError, ValidationError
from kim_desktop.services import cases, journal, persons
from kim_desktop.services.search import search_persons

OPENED = date(2026, 1, 5)


# --- helpers --------------------------------------------------------------------------------------------


def make_person(ctx, family: str = "Haddad", given: str = "Rania", birth: str = "1990") -> str:
    view = persons.create_person(
        ctx, {"family_name": family, "given_names": given, "birth_date": birth}, allow_duplicate=True
    )
    return view.id


def set_setting(ctx, key: str, value) -> None:
    with ctx.write() as session:
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        else:
            row.value = value


def make_user(ctx, username: str, display_name: str, *, active: bool = True) -> str:
    with ctx.write() as session:
        user = UserAccount(username=username, display_name=display_name, active=active)
        session.add(user)
        session.flush()
        return user.id


def case_row(ctx, case_id: str) -> tuple[str, int, date | None, str | None]:
    with ctx.read() as session:
        case = session.get(Case, case_id)
        return case.phase, case.version, case.closed_on, case.closure_reason


def count(ctx, model, *where) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def open_with_consent(ctx, person_id: str | None = None, opened_on: date = OPENED) -> cases.CaseView:
    person_id = person_id or make_person(ctx)
    view = cases.open_case(ctx, person_id, access_channel="jobcenter", opened_on=opened_on)
    cases.record_consent(ctx, person_id, given_on=opened_on, case_id=view.id)
    return view


def to_planning(ctx, case_id: str) -> None:
    cases.change_phase(ctx, case_id, "assessment", on=date(2026, 1, 10))
    cases.change_phase(ctx, case_id, "planning", on=date(2026, 1, 20))


def to_implementation(ctx, case_id: str, goal_titles=("Deutschkurs B1 abschließen",)) -> list[str]:
    to_planning(ctx, case_id)
    goal_ids = [journal.add_goal(ctx, case_id, title, agreed_on=date(2026, 1, 20)) for title in goal_titles]
    cases.change_phase(ctx, case_id, "implementation", on=date(2026, 2, 1))
    return goal_ids


# --- file numbers ---------------------------------------------------------------------------------------


def test_default_pattern_counts_per_year(ctx):
    person_id = make_person(ctx)
    first = cases.open_case(ctx, person_id, opened_on=date(2026, 1, 5))
    second = cases.open_case(ctx, person_id, opened_on=date(2026, 2, 1))
    earlier_year = cases.open_case(ctx, person_id, opened_on=date(2025, 12, 30))
    third = cases.open_case(ctx, person_id, opened_on=date(2026, 3, 1))
    assert first.file_number == "KIM-2026-0001"
    assert second.file_number == "KIM-2026-0002"
    assert earlier_year.file_number == "KIM-2025-0001"
    assert third.file_number == "KIM-2026-0003"
    assert first.phase == "intake"
    assert [h.to_phase for h in first.history] == ["intake"]


def test_custom_pattern_from_setting(ctx):
    set_setting(ctx, "file_number_pattern", "MS/{Jahr}/{Nr:03}")
    person_id = make_person(ctx)
    assert cases.open_case(ctx, person_id, opened_on=OPENED).file_number == "MS/2026/001"
    assert cases.open_case(ctx, person_id, opened_on=OPENED).file_number == "MS/2026/002"


def test_pattern_with_month(ctx):
    set_setting(ctx, "file_number_pattern", "KI-{Jahr}{Monat}-{Nr}")
    view = cases.open_case(ctx, make_person(ctx), opened_on=date(2026, 3, 9))
    assert view.file_number == "KI-202603-1"


@pytest.mark.parametrize(
    ("pattern", "phrase"),
    [
        ("KIM-{Foo}", "Unbekannter Platzhalter"),
        ("KIM-{Jahr}", "laufende Nummer"),
        ("KIM-{Jahr-{Nr}", "fehlerhaft"),
    ],
)
def test_invalid_pattern_refused_in_german(ctx, pattern, phrase):
    person_id = make_person(ctx)
    set_setting(ctx, "file_number_pattern", pattern)
    with pytest.raises(UserError) as info:
        cases.open_case(ctx, person_id, opened_on=OPENED)
    assert phrase in str(info.value)
    assert count(ctx, Case) == 0


def test_validate_pattern_directly():
    cases.validate_pattern("KIM-{Jahr}-{Nr:04}")
    with pytest.raises(UserError, match="Unbekannter Platzhalter"):
        cases.validate_pattern("KIM-{Foo}-{Nr}")
    with pytest.raises(UserError, match="laufende Nummer"):
        cases.validate_pattern("KIM-{Jahr}")


def test_case_found_by_file_number(ctx):
    person_id = make_person(ctx, "Okonkwo", "Chidi")
    other_id = make_person(ctx, "Petrenko", "Olena")
    cases.open_case(ctx, other_id, opened_on=OPENED)
    view = cases.open_case(ctx, person_id, opened_on=OPENED)
    assert view.file_number == "KIM-2026-0002"
    with ctx.read() as session:
        hits = [h.id for h in search_persons(session, "KIM-2026-0002")]
    assert hits == [person_id]


def test_open_case_validation(ctx):
    person_id = make_person(ctx, birth="1990")
    with pytest.raises(ValidationError, match="Zukunft"):
        cases.open_case(ctx, person_id, opened_on=date.today() + timedelta(days=1))
    with pytest.raises(ValidationError, match="vor der Geburt"):
        cases.open_case(ctx, person_id, opened_on=date(1989, 12, 31))
    with pytest.raises(ValidationError, match="Unbekannter Zugangsweg"):
        cases.open_case(ctx, person_id, opened_on=OPENED, access_channel="brieftaube")
    with pytest.raises(NotFoundError, match="Keine Person"):
        cases.open_case(ctx, "no-such-person", opened_on=OPENED)
    assert count(ctx, Case) == 0


# --- phase rules ----------------------------------------------------------------------------------------


def test_assessment_needs_consent(ctx):
    person_id = make_person(ctx)
    view = cases.open_case(ctx, person_id, opened_on=OPENED)
    with pytest.raises(UserError) as info:
        cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10))
    assert "Einwilligung" in str(info.value)
    assert case_row(ctx, view.id)[:2] == ("intake", view.version)

    cases.record_consent(ctx, person_id, given_on=date(2026, 1, 8), case_id=view.id)
    changed = cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10))
    assert changed.phase == "assessment"
    assert case_row(ctx, view.id)[0] == "assessment"


def test_consent_given_after_change_date_does_not_count(ctx):
    person_id = make_person(ctx)
    view = cases.open_case(ctx, person_id, opened_on=OPENED)
    cases.record_consent(ctx, person_id, given_on=date(2026, 2, 1))
    with pytest.raises(UserError, match="Einwilligung"):
        cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10))
    assert cases.change_phase(ctx, view.id, "assessment", on=date(2026, 2, 1)).phase == "assessment"


def test_skipping_a_phase_refused_going_back_allowed(ctx):
    view = open_with_consent(ctx)
    cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10))
    with pytest.raises(UserError) as info:
        cases.change_phase(ctx, view.id, "monitoring", on=date(2026, 1, 11))
    assert "der Reihe nach" in str(info.value)
    assert case_row(ctx, view.id)[0] == "assessment"

    cases.change_phase(ctx, view.id, "planning", on=date(2026, 1, 12))
    back = cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 13), note="Neue Lage")
    assert back.phase == "assessment"
    assert back.history[-1].from_phase == "planning"
    assert back.history[-1].note == "Neue Lage"
    # back to the very first phase is allowed as well
    assert cases.change_phase(ctx, view.id, "intake", on=date(2026, 1, 14)).phase == "intake"


def test_same_phase_and_unknown_phase_refused(ctx):
    view = open_with_consent(ctx)
    with pytest.raises(UserError, match="bereits in der Phase"):
        cases.change_phase(ctx, view.id, "intake", on=date(2026, 1, 10))
    with pytest.raises(ValidationError, match="Unbekannte Phase"):
        cases.change_phase(ctx, view.id, "mond", on=date(2026, 1, 10))
    with pytest.raises(NotFoundError, match="Keine Fallakte"):
        cases.change_phase(ctx, "no-such-case", "assessment", on=date(2026, 1, 10))


def test_implementation_needs_a_goal(ctx):
    view = open_with_consent(ctx)
    to_planning(ctx, view.id)
    with pytest.raises(UserError) as info:
        cases.change_phase(ctx, view.id, "implementation", on=date(2026, 2, 1))
    assert "Ziel" in str(info.value)
    assert case_row(ctx, view.id)[0] == "planning"

    journal.add_goal(ctx, view.id, "Wohnung finden", agreed_on=date(2026, 1, 25))
    assert cases.change_phase(ctx, view.id, "implementation", on=date(2026, 2, 1)).phase == "implementation"


def test_closing_needs_reason_from_code_list(ctx):
    view = open_with_consent(ctx)
    with pytest.raises(ValidationError) as info:
        cases.change_phase(ctx, view.id, "closed", on=date(2026, 1, 10))
    assert "Abschlussgrund" in str(info.value)
    assert info.value.field_errors.keys() == {"closure_reason"}
    with pytest.raises(ValidationError, match="Unbekannter Abschlussgrund"):
        cases.change_phase(ctx, view.id, "closed", on=date(2026, 1, 10), closure_reason="lottogewinn")
    assert case_row(ctx, view.id) == ("intake", view.version, None, None)

    # closing is possible straight from Klärung
    closed = cases.change_phase(ctx, view.id, "closed", on=date(2026, 1, 10), closure_reason="kein_kontakt")
    assert closed.phase == "closed"
    assert closed.closed_on == date(2026, 1, 10)
    assert closed.closure_reason == "kein_kontakt"
    assert closed.goal_achievement is None  # no goals, nothing to derive


def test_closing_needs_every_open_goal_rated(ctx):
    view = open_with_consent(ctx)
    g1, g2 = to_implementation(ctx, view.id, ("Deutschkurs B1", "Ausbildungsplatz"))
    version_before = case_row(ctx, view.id)[1]

    with pytest.raises(ValidationError) as info:
        cases.change_phase(
            ctx,
            view.id,
            "closed",
            on=date(2026, 3, 1),
            closure_reason="ziele_erreicht",
            goal_ratings={g1: "achieved"},
        )
    assert "jedes Ziel" in str(info.value)
    assert "1 offen" in str(info.value)
    # nothing half-saved: the first goal's rating was rolled back with the refused closure
    with ctx.read() as session:
        assert {g.status for g in session.scalars(select(Goal))} == {"open"}
    assert case_row(ctx, view.id) == ("implementation", version_before, None, None)

    with pytest.raises(ValidationError, match="Unbekannte Bewertung"):
        cases.change_phase(
            ctx, view.id, "closed", on=date(2026, 3, 1), closure_reason="ziele_erreicht",
            goal_ratings={g1: "achieved", g2: "super"},
        )  # fmt: skip
    with ctx.read() as session:
        assert {g.status for g in session.scalars(select(Goal))} == {"open"}

    closed = cases.change_phase(
        ctx, view.id, "closed", on=date(2026, 3, 1), closure_reason="teilweise_erreicht",
        goal_ratings={g1: "achieved", g2: "partly"},
    )  # fmt: skip
    assert closed.goal_achievement == "partial"
    with ctx.read() as session:
        assert session.get(Goal, g1).status == "achieved"
        assert session.get(Goal, g2).status == "partly"


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        (("achieved", "achieved"), "full"),
        (("achieved", "not_achieved"), "partial"),
        (("partly", "not_achieved"), "partial"),
        (("not_achieved", "not_achieved"), "none"),
    ],
)
def test_goal_achievement_derived(ctx, ratings, expected):
    view = open_with_consent(ctx)
    goal_ids = to_implementation(ctx, view.id, ("Ziel A", "Ziel B"))
    closed = cases.change_phase(
        ctx, view.id, "closed", on=date(2026, 3, 1), closure_reason="sonstiges",
        goal_ratings=dict(zip(goal_ids, ratings, strict=True)),
    )  # fmt: skip
    assert closed.goal_achievement == expected
    with ctx.read() as session:
        assert session.get(Case, view.id).goal_achievement == expected


def test_closed_case_refuses_phase_change(ctx):
    view = open_with_consent(ctx)
    cases.change_phase(ctx, view.id, "closed", on=date(2026, 1, 10), closure_reason="wegzug")
    version = case_row(ctx, view.id)[1]
    with pytest.raises(UserError) as info:
        cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 11))
    assert "abgeschlossen" in str(info.value)
    assert case_row(ctx, view.id)[:2] == ("closed", version)


def test_reopen_returns_to_phase_before_closure(ctx):
    view = open_with_consent(ctx)
    (goal_id,) = to_implementation(ctx, view.id)
    cases.change_phase(
        ctx,
        view.id,
        "closed",
        on=date(2026, 3, 1),
        closure_reason="ziele_erreicht",
        goal_ratings={goal_id: "achieved"},
    )
    reopened = cases.reopen_case(ctx, view.id, on=date(2026, 4, 1))
    assert reopened.phase == "implementation"
    assert reopened.closed_on is None
    assert reopened.closure_reason is None
    assert reopened.goal_achievement is None
    assert reopened.history[-1].from_phase == "closed"
    assert reopened.history[-1].to_phase == "implementation"
    assert "wieder geöffnet" in reopened.history[-1].note
    assert case_row(ctx, view.id) == ("implementation", reopened.version, None, None)

    # a second closure from another phase: reopening follows the latest closure
    cases.change_phase(ctx, view.id, "monitoring", on=date(2026, 4, 2))
    cases.change_phase(ctx, view.id, "closed", on=date(2026, 5, 1), closure_reason="wegzug")
    assert cases.reopen_case(ctx, view.id, note="Rückkehr in den Kreis").phase == "monitoring"

    with pytest.raises(UserError, match="nicht abgeschlossen"):
        cases.reopen_case(ctx, view.id)


def test_history_records_every_change_in_order(ctx):
    view = open_with_consent(ctx)
    cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10))
    cases.change_phase(ctx, view.id, "planning", on=date(2026, 1, 20))
    cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 21))
    cases.change_phase(ctx, view.id, "closed", on=date(2026, 2, 1), closure_reason="abbruch_klient")
    cases.reopen_case(ctx, view.id, on=date(2026, 2, 15))
    history = cases.get_case(ctx, view.id).history
    assert [(h.from_phase, h.to_phase, h.changed_on) for h in history] == [
        (None, "intake", OPENED),
        ("intake", "assessment", date(2026, 1, 10)),
        ("assessment", "planning", date(2026, 1, 20)),
        ("planning", "assessment", date(2026, 1, 21)),
        ("assessment", "closed", date(2026, 2, 1)),
        ("closed", "assessment", date(2026, 2, 15)),
    ]
    assert count(ctx, CasePhaseChange, CasePhaseChange.case_id == view.id) == 6


def test_change_dated_before_opening_or_in_future_refused(ctx):
    view = open_with_consent(ctx)
    phase, version, _closed, _reason = case_row(ctx, view.id)
    changes = count(ctx, CasePhaseChange)
    events = count(ctx, AuditEvent)
    with pytest.raises(ValidationError, match="vor der Eröffnung"):
        cases.change_phase(ctx, view.id, "assessment", on=OPENED - timedelta(days=1))
    with pytest.raises(ValidationError, match="Zukunft"):
        cases.change_phase(ctx, view.id, "assessment", on=date.today() + timedelta(days=1))
    with pytest.raises(ValidationError, match="Zukunft"):
        cases.change_phase(
            ctx, view.id, "closed", on=date.today() + timedelta(days=1), closure_reason="wegzug"
        )
    # nothing half-saved
    assert case_row(ctx, view.id) == (phase, version, None, None)
    assert count(ctx, CasePhaseChange) == changes
    assert count(ctx, AuditEvent) == events


def test_refused_change_leaves_no_trace(ctx):
    view = open_with_consent(ctx)
    to_planning(ctx, view.id)
    phase, version, _closed, _reason = case_row(ctx, view.id)
    changes = count(ctx, CasePhaseChange)
    events = count(ctx, AuditEvent)
    for attempt in (
        lambda: cases.change_phase(ctx, view.id, "implementation", on=date(2026, 2, 1)),  # no goal
        lambda: cases.change_phase(ctx, view.id, "monitoring", on=date(2026, 2, 1)),  # skips
        lambda: cases.change_phase(ctx, view.id, "closed", on=date(2026, 2, 1)),  # no reason
    ):
        with pytest.raises(UserError):
            attempt()
    assert case_row(ctx, view.id) == (phase, version, None, None)
    assert count(ctx, CasePhaseChange) == changes
    assert count(ctx, AuditEvent) == events


def test_expected_version_conflict(ctx):
    view = open_with_consent(ctx)
    cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10), expected_version=view.version)
    with pytest.raises(UserError, match="anderen Sitzung"):
        cases.change_phase(ctx, view.id, "planning", on=date(2026, 1, 11), expected_version=view.version)
    assert case_row(ctx, view.id)[0] == "assessment"


# --- handover -------------------------------------------------------------------------------------------


def test_hand_over(ctx):
    maria = make_user(ctx, "mmueller", "Maria Müller")
    view = open_with_consent(ctx)
    assert view.case_manager_id is None

    handed = cases.hand_over(ctx, view.id, maria, note="Urlaubsvertretung dauerhaft")
    assert handed.case_manager_id == maria
    assert handed.case_manager == "Maria Müller"
    with ctx.read() as session:
        entries = [
            (e.system_generated, e.text)
            for e in session.scalars(select(JournalEntry).where(JournalEntry.case_id == view.id))
        ]
        assert session.get(Case, view.id).case_manager_id == maria
    assert len(entries) == 1
    system_generated, text = entries[0]
    assert system_generated is True
    assert "Fallübergabe" in text
    assert "Maria Müller" in text
    assert "Urlaubsvertretung" in text
    assert count(ctx, AuditEvent, AuditEvent.action == "handover", AuditEvent.case_id == view.id) == 1

    with pytest.raises(UserError, match="bereits"):
        cases.hand_over(ctx, view.id, maria)
    assert count(ctx, JournalEntry) == 1


def test_hand_over_needs_existing_active_user(ctx):
    inactive = make_user(ctx, "ausgeschieden", "Ehemalige Kollegin", active=False)
    view = open_with_consent(ctx)
    with pytest.raises(NotFoundError, match="nicht aktiv"):
        cases.hand_over(ctx, view.id, "no-such-user")
    with pytest.raises(NotFoundError, match="nicht aktiv"):
        cases.hand_over(ctx, view.id, inactive)
    assert case_row(ctx, view.id)[1] == view.version
    assert count(ctx, JournalEntry) == 0


def test_hand_over_between_two_managers_names_both(ctx):
    maria = make_user(ctx, "mmueller", "Maria Müller")
    ali = make_user(ctx, "ayilmaz", "Ali Yılmaz")
    view = cases.open_case(ctx, make_person(ctx), opened_on=OPENED, case_manager_id=maria)
    cases.hand_over(ctx, view.id, ali)
    with ctx.read() as session:
        text = session.scalar(select(JournalEntry.text).where(JournalEntry.case_id == view.id))
    assert "Maria Müller" in text and "Ali Yılmaz" in text


# --- list -----------------------------------------------------------------------------------------------


def test_list_cases_filters(ctx):
    maria = make_user(ctx, "mmueller", "Maria Müller")
    p1 = make_person(ctx, "Haddad", "Rania")
    p2 = make_person(ctx, "Okonkwo", "Chidi")
    a = open_with_consent(ctx, p1)
    b = cases.open_case(ctx, p2, opened_on=date(2026, 2, 1), case_manager_id=maria)
    c = cases.open_case(ctx, p2, opened_on=date(2026, 3, 1))
    cases.change_phase(ctx, a.id, "assessment", on=date(2026, 1, 10))
    cases.change_phase(ctx, c.id, "closed", on=date(2026, 3, 2), closure_reason="wegzug")

    with ctx.read() as session:
        all_ids = [r.id for r in cases.list_cases(session)]
        assert all_ids == [c.id, b.id, a.id]  # newest opened first
        assert {r.id for r in cases.list_cases(session, phase="assessment")} == {a.id}
        assert {r.id for r in cases.list_cases(session, phase="closed")} == {c.id}
        assert {r.id for r in cases.list_cases(session, phase="open")} == {a.id, b.id}
        by_id = cases.list_cases(session, manager=maria)
        by_name = cases.list_cases(session, manager="mmueller")
        assert [r.id for r in by_id] == [r.id for r in by_name] == [b.id]
        assert by_name[0].case_manager == "Maria Müller"
        assert cases.list_cases(session, manager="niemand") == []
        assert {r.id for r in cases.list_cases(session, person_id=p2)} == {b.id, c.id}
        assert [r.id for r in cases.list_cases(session, person_id=p2, phase="open")] == [b.id]
        summary = cases.list_cases(session, person_id=p1)[0]
        assert summary.person_name == "Haddad, Rania"
        assert summary.to_json()["file_number"] == a.file_number
        assert len(cases.list_cases(session, limit=2)) == 2
        assert [r.id for r in cases.list_cases(session, limit=2, offset=2)] == [a.id]


def test_list_cases_unknown_phase(ctx):
    with ctx.read() as session, pytest.raises(UserError) as info:
        cases.list_cases(session, phase="bogus")
    assert "Unbekannte Phase" in str(info.value)
    assert "intake" in str(info.value)


# --- audit ----------------------------------------------------------------------------------------------


def test_audit_events_carry_case_id(ctx):
    view = open_with_consent(ctx)
    cases.get_case(ctx, view.id)
    cases.change_phase(ctx, view.id, "assessment", on=date(2026, 1, 10))
    with ctx.read() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.person_id, AuditEvent.detail).where(
                AuditEvent.case_id == view.id, AuditEvent.entity_type == "case"
            )
        ).all()
    assert sorted(e.action for e in events) == ["create", "read", "update"]
    assert all(e.entity_id == view.id and e.person_id == view.person_id for e in events)
    update = next(e for e in events if e.action == "update")
    assert update.detail == {"phase": ["intake", "assessment"]}
    # the consent recorded for this case is audited with the case as well
    assert count(ctx, AuditEvent, AuditEvent.case_id == view.id, AuditEvent.entity_type == "consent") == 1
