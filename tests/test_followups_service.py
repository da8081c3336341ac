"""Wiedervorlagen, computed reminders and the start page counts, always against a fixed ``today``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kim_desktop.db.models import FollowUp, Referral, Setting
from kim_desktop.errors import NotFoundError, ValidationError
from kim_desktop.services import cases, followups, journal, persons

TODAY = date(2026, 6, 1)
OPENED = date(2026, 1, 5)


def make_person(ctx, family: str, given: str = "", **values) -> str:
    return persons.create_person(
        ctx,
        {"family_name": family, "given_names": given, "birth_date": "1985", **values},
        allow_duplicate=True,
    ).id


def open_case(ctx, person_id: str, opened_on: date = OPENED) -> str:
    return cases.open_case(ctx, person_id, opened_on=opened_on).id


def close(ctx, case_id: str) -> None:
    with ctx.read() as session:
        goal_ids = [g.id for g, _steps in journal.goals(session, case_id)]
    cases.change_phase(
        ctx,
        case_id,
        "closed",
        on=TODAY,
        closure_reason="wegzug",
        goal_ratings=dict.fromkeys(goal_ids, "partly"),
    )


def set_setting(ctx, key: str, value) -> None:
    with ctx.write() as session:
        session.merge(Setting(key=key, value=value))


def add_referral(ctx, case_id: str, person_id: str, *, sent_on: date, status: str = "sent", **extra) -> str:
    with ctx.write() as session:
        row = Referral(case_id=case_id, person_id=person_id, status=status, sent_on=sent_on, **extra)
        session.add(row)
        session.flush()
        return row.id


def reminders(ctx, **kwargs):
    with ctx.read() as session:
        return followups.reminders(session, today=TODAY, **kwargs)


def of_kind(items, kind: str):
    return [r for r in items if r.kind == kind]


# --- stored follow-ups ----------------------------------------------------------------------------------


def test_add_and_complete_follow_up(ctx):
    case_id = open_case(ctx, make_person(ctx, "Haddad", "Rania"))
    overdue = followups.add_follow_up(
        ctx, "Bescheid Jobcenter nachfragen", TODAY - timedelta(days=3), case_id=case_id
    )
    due = followups.add_follow_up(ctx, "  Kursbeginn prüfen  ", TODAY + timedelta(days=5), case_id=case_id)
    later = followups.add_follow_up(ctx, "Jahresgespräch", TODAY + timedelta(days=60))
    general = followups.add_follow_up(ctx, "Teamsitzung vorbereiten", TODAY)  # without a case

    found = of_kind(reminders(ctx), "follow_up")
    assert [r.follow_up_id for r in found] == [overdue, general, due]
    assert found[0].due_on < TODAY  # overdue relative to the given day
    assert found[0].case_id == case_id and found[0].title == "Bescheid Jobcenter nachfragen"
    assert found[2].title == "Kursbeginn prüfen"
    assert found[1].case_id is None and found[1].person_id is None
    assert later not in [r.follow_up_id for r in found]
    # a wider horizon brings the later one in
    with ctx.read() as session:
        wide = followups.reminders(session, today=TODAY, horizon_days=90)
    assert later in [r.follow_up_id for r in wide]

    followups.complete_follow_up(ctx, overdue)
    assert overdue not in [r.follow_up_id for r in reminders(ctx)]
    with ctx.read() as session:
        assert session.get(FollowUp, overdue).done_at is not None
    with pytest.raises(NotFoundError, match="Wiedervorlage"):
        followups.complete_follow_up(ctx, "no-such-follow-up")


def test_follow_up_validation(ctx):
    with pytest.raises(ValidationError, match="worum es bei der Wiedervorlage geht"):
        followups.add_follow_up(ctx, "   ", TODAY)
    with pytest.raises(ValidationError, match="höchstens 300 Zeichen"):
        followups.add_follow_up(ctx, "t" * 301, TODAY)
    with pytest.raises(NotFoundError, match="Keine Fallakte"):
        followups.add_follow_up(ctx, "Anruf", TODAY, case_id="no-such-case")
    assert reminders(ctx) == []


def test_follow_ups_filtered_by_assignee(ctx):
    from kim_desktop.db.models import UserAccount

    with ctx.write() as session:
        user = UserAccount(username="mmueller", display_name="Maria Müller")
        session.add(user)
        session.flush()
        maria = user.id
    mine = followups.add_follow_up(ctx, "Für Maria", TODAY, assigned_to=maria)
    followups.add_follow_up(ctx, "Für niemanden", TODAY)
    assert [r.follow_up_id for r in reminders(ctx, user_id=maria)] == [mine]
    assert len(reminders(ctx)) == 2


# --- residence status -----------------------------------------------------------------------------------


def test_residence_status_expiring_only_for_open_cases(ctx):
    soon = make_person(ctx, "Haddad", "Rania", residence_valid_until=TODAY + timedelta(weeks=6))
    expired = make_person(ctx, "Okonkwo", "Chidi", residence_valid_until=TODAY - timedelta(days=10))
    far = make_person(ctx, "Petrenko", "Olena", residence_valid_until=TODAY + timedelta(weeks=20))
    no_case = make_person(ctx, "Nasser", "Omar", residence_valid_until=TODAY + timedelta(weeks=1))
    closed = make_person(ctx, "Said", "Amal", residence_valid_until=TODAY + timedelta(weeks=1))
    case_soon = open_case(ctx, soon)
    open_case(ctx, expired)
    open_case(ctx, far)
    close(ctx, open_case(ctx, closed))

    found = of_kind(reminders(ctx), "residence")
    assert [(r.person_id, r.due_on) for r in found] == [
        (expired, TODAY - timedelta(days=10)),
        (soon, TODAY + timedelta(weeks=6)),
    ]
    assert found[1].case_id == case_soon
    assert "Aufenthaltstitel läuft ab" in found[1].title and "Haddad, Rania" in found[1].title
    assert no_case not in [r.person_id for r in found]

    set_setting(ctx, "reminder_residence_weeks", 4)
    assert [r.person_id for r in of_kind(reminders(ctx), "residence")] == [expired]
    set_setting(ctx, "reminder_residence_weeks", 26)
    assert {r.person_id for r in of_kind(reminders(ctx), "residence")} == {expired, soon, far}
    set_setting(ctx, "reminder_residence_weeks", "kaputt")  # unreadable setting: the default applies
    assert {r.person_id for r in of_kind(reminders(ctx), "residence")} == {expired, soon}


# --- consents, goal reviews, referrals ------------------------------------------------------------------


def test_consent_expiring(ctx):
    person = make_person(ctx, "Haddad", "Rania")
    case_id = open_case(ctx, person)
    cases.record_consent(
        ctx, person, given_on=OPENED, valid_until=TODAY + timedelta(days=10), case_id=case_id
    )
    other = make_person(ctx, "Okonkwo", "Chidi")
    open_case(ctx, other)
    cases.record_consent(ctx, other, given_on=OPENED, valid_until=TODAY + timedelta(days=100))

    found = of_kind(reminders(ctx), "consent")
    assert [(r.person_id, r.case_id, r.due_on) for r in found] == [
        (person, case_id, TODAY + timedelta(days=10))
    ]
    assert "Einwilligung läuft ab" in found[0].title

    set_setting(ctx, "reminder_consent_weeks", 1)
    assert of_kind(reminders(ctx), "consent") == []


def test_renewed_consent_ends_the_reminder(ctx):
    person = make_person(ctx, "Haddad", "Rania")
    case_id = open_case(ctx, person)
    cases.record_consent(
        ctx, person, given_on=OPENED, valid_until=TODAY - timedelta(days=30), case_id=case_id
    )
    assert [r.due_on for r in of_kind(reminders(ctx), "consent")] == [TODAY - timedelta(days=30)]

    # renewed for a short time only: the old one is silenced, the new one reminds in its turn
    cases.record_consent(
        ctx, person, given_on=TODAY - timedelta(days=31), valid_until=TODAY + timedelta(days=7)
    )
    assert [r.due_on for r in of_kind(reminders(ctx), "consent")] == [TODAY + timedelta(days=7)]

    # renewed without end date: nothing left to remind of
    cases.record_consent(ctx, person, given_on=TODAY - timedelta(days=1))
    assert of_kind(reminders(ctx), "consent") == []


def test_goal_reviews(ctx):
    case_id = open_case(ctx, make_person(ctx, "Haddad", "Rania"))
    journal.add_goal(ctx, case_id, "Deutschkurs B1", agreed_on=OPENED, review_on=TODAY + timedelta(days=7))
    journal.add_goal(ctx, case_id, "Führerschein", agreed_on=OPENED, review_on=TODAY - timedelta(days=2))
    journal.add_goal(ctx, case_id, "Ausbildungsplatz", agreed_on=OPENED, review_on=TODAY + timedelta(days=30))
    journal.add_goal(ctx, case_id, "Wohnung", agreed_on=OPENED)  # no review date

    found = of_kind(reminders(ctx), "goal_review")
    assert [(r.title, r.due_on) for r in found] == [
        ("Ziel überprüfen: Führerschein", TODAY - timedelta(days=2)),
        ("Ziel überprüfen: Deutschkurs B1", TODAY + timedelta(days=7)),
    ]
    assert all(r.case_id == case_id for r in found)


def test_referrals_without_feedback(ctx):
    person = make_person(ctx, "Haddad", "Rania")
    case_id = open_case(ctx, person)
    waiting = add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=30))
    add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=2))  # still within the feedback time
    add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=30), status="accepted")  # answered
    add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=30), status="draft")
    assert waiting

    found = of_kind(reminders(ctx), "referral")
    assert [(r.case_id, r.person_id, r.due_on) for r in found] == [
        (case_id, person, TODAY - timedelta(days=9))
    ]
    assert "Keine Rückmeldung" in found[0].title and "Haddad, Rania" in found[0].title

    set_setting(ctx, "referral_feedback_days", 60)
    assert of_kind(reminders(ctx), "referral") == []
    set_setting(ctx, "referral_feedback_days", 10)
    assert [r.due_on for r in of_kind(reminders(ctx), "referral")] == [
        TODAY - timedelta(days=20),
        TODAY + timedelta(days=8),
    ]


def test_referral_own_follow_up_days_win(ctx):
    person = make_person(ctx, "Haddad", "Rania")
    case_id = open_case(ctx, person)
    add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=30), follow_up_days=60)
    add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=2), follow_up_days=3)
    assert [r.due_on for r in of_kind(reminders(ctx), "referral")] == [TODAY + timedelta(days=1)]


def test_closed_cases_produce_no_automatic_reminders(ctx):
    person = make_person(ctx, "Haddad", "Rania", residence_valid_until=TODAY + timedelta(weeks=2))
    case_id = open_case(ctx, person)
    cases.record_consent(ctx, person, given_on=OPENED, valid_until=TODAY + timedelta(days=5), case_id=case_id)
    journal.add_goal(ctx, case_id, "Deutschkurs B1", agreed_on=OPENED, review_on=TODAY + timedelta(days=3))
    add_referral(ctx, case_id, person, sent_on=TODAY - timedelta(days=30))
    assert {r.kind for r in reminders(ctx)} == {"residence", "consent", "goal_review", "referral"}

    close(ctx, case_id)
    assert reminders(ctx) == []

    cases.reopen_case(ctx, case_id)
    # reopened: the reminders are back (the goal was rated at closure, so its review no longer reminds)
    assert {r.kind for r in reminders(ctx)} == {"residence", "consent", "referral"}


def test_reminders_sorted_by_due_date(ctx):
    person = make_person(ctx, "Haddad", "Rania", residence_valid_until=TODAY + timedelta(days=4))
    case_id = open_case(ctx, person)
    followups.add_follow_up(ctx, "Anruf", TODAY + timedelta(days=2), case_id=case_id)
    journal.add_goal(ctx, case_id, "Kurs", agreed_on=OPENED, review_on=TODAY - timedelta(days=1))
    found = reminders(ctx)
    assert [r.kind for r in found] == ["goal_review", "follow_up", "residence"]
    assert [r.due_on for r in found] == sorted(r.due_on for r in found)


# --- workplace ------------------------------------------------------------------------------------------


def test_workplace_counts_cases_by_phase(ctx):
    a = make_person(ctx, "Haddad", "Rania")
    b = make_person(ctx, "Okonkwo", "Chidi")
    open_case(ctx, a)
    open_case(ctx, b)
    assessed = open_case(ctx, b)
    cases.record_consent(ctx, b, given_on=OPENED)
    cases.change_phase(ctx, assessed, "assessment", on=date(2026, 1, 10))
    close(ctx, open_case(ctx, a))
    followups.add_follow_up(ctx, "Anruf", TODAY)

    with ctx.read() as session:
        page = followups.workplace(session, today=TODAY)
        mine = followups.workplace(session, user_id="someone-else", today=TODAY)
    assert page.cases_by_phase == {"intake": 2, "assessment": 1, "closed": 1}
    assert [r.kind for r in page.reminders] == ["follow_up"]
    assert mine.cases_by_phase == {}
    assert mine.reminders == []
