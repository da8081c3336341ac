"""Households, family relations and case members through the service layer; the case-list filters by life
area and overdue items (``cases.list_cases``). Real SQLite, no mocks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import (
    AuditEvent,
    Case,
    CaseMember,
    Household,
    HouseholdMember,
    PersonRelation,
)
from kim_desktop.errors import NotFoundError, UserError, ValidationError
from kim_desktop.services import cases, followups, households, journal, persons

OPENED = date(2026, 1, 5)


def make_person(ctx, family: str, given: str, birth: str = "1985") -> str:
    values = {"family_name": family, "given_names": given, "birth_date": birth}
    return persons.create_person(ctx, values, allow_duplicate=True).id


def relations(ctx) -> set[tuple[str, str, str]]:
    with ctx.read() as session:
        return {(r.person_id, r.related_person_id, r.relation) for r in session.scalars(select(PersonRelation))}


def memberships(ctx) -> set[tuple[str, str, str | None]]:
    with ctx.read() as session:
        return {(m.household_id, m.person_id, m.role) for m in session.scalars(select(HouseholdMember))}


def audit_rows(ctx, entity_type: str) -> list[AuditEvent]:
    with ctx.read() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_type == entity_type)))
        session.expunge_all()
        return rows


@pytest.fixture
def family(ctx):
    return {
        "rania": make_person(ctx, "Haddad", "Rania", "12.03.1988"),
        "karim": make_person(ctx, "Haddad", "Karim", "1985"),
        "lina": make_person(ctx, "Haddad", "Lina", "2014"),
        "omar": make_person(ctx, "Haddad", "Omar", "2017"),
        "ivan": make_person(ctx, "Petrović", "Ivan", "1970"),
    }


# --- households and relations ---------------------------------------------------------------------------


def test_add_member_creates_household_and_both_relations(ctx, family):
    rania, karim = family["rania"], family["karim"]
    household_id = households.add_member(ctx, rania, karim, "spouse")
    with ctx.read() as session:
        assert session.get(Household, household_id).label == "Haushalt Haddad"
    assert memberships(ctx) == {(household_id, rania, "head"), (household_id, karim, "partner")}
    assert relations(ctx) == {(rania, karim, "spouse"), (karim, rania, "spouse")}

    lina = family["lina"]
    assert households.add_member(ctx, rania, lina, "child") == household_id  # joins the existing household
    assert (household_id, lina, "child") in memberships(ctx)
    assert {(rania, lina, "child"), (lina, rania, "parent")} <= relations(ctx)

    # from the child's side: the father is her parent, he joins nothing new (same household)
    assert households.add_member(ctx, lina, karim, "parent") == household_id
    assert {(lina, karim, "parent"), (karim, lina, "child")} <= relations(ctx)
    assert len(memberships(ctx)) == 3

    with ctx.read() as session:
        view = households.household_of(session, rania)
    assert [(m.name, m.relation, m.relation_label, m.role) for m in view] == [
        ("Haddad, Karim", "spouse", "Ehepartner/in", "partner"),
        ("Haddad, Lina", "child", "Kind", "child"),
    ]
    assert view[1].birth.german() == "2014" and view[0].household_id == household_id
    with ctx.read() as session:
        assert [(m.name, m.relation_label) for m in households.household_of(session, lina)] == [
            ("Haddad, Karim", "Elternteil"),
            ("Haddad, Rania", "Elternteil"),
        ]


def test_person_without_household_joins_the_members_household(ctx, family):
    rania, omar = family["rania"], family["omar"]
    household_id = households.add_member(ctx, rania, family["karim"], "spouse")
    # the child has no household yet, the parent (related person) has one: the child joins it
    assert households.add_member(ctx, omar, rania, "parent") == household_id
    assert (household_id, omar, "child") in memberships(ctx)
    assert {(omar, rania, "parent"), (rania, omar, "child")} <= relations(ctx)


def test_new_household_through_parent_makes_the_parent_head(ctx, family):
    lina, rania = family["lina"], family["rania"]
    household_id = households.add_member(ctx, lina, rania, "parent")
    assert memberships(ctx) == {(household_id, lina, "child"), (household_id, rania, "head")}


def test_guardian_and_ward(ctx, family):
    ward = make_person(ctx, "Rahimi", "Ahmad", "2009")
    guardian = family["ivan"]
    households.add_member(ctx, ward, guardian, "guardian")
    assert relations(ctx) == {(ward, guardian, "guardian"), (guardian, ward, "other")}
    with ctx.read() as session:
        assert [m.relation_label for m in households.household_of(session, ward)] == ["Vormund/in"]
        assert [m.relation_label for m in households.household_of(session, guardian)] == ["andere"]


def test_add_member_is_idempotent_and_audited_once(ctx, family):
    rania, karim = family["rania"], family["karim"]
    first = households.add_member(ctx, rania, karim, "spouse")
    before = (relations(ctx), memberships(ctx))
    assert households.add_member(ctx, rania, karim, "spouse") == first
    assert households.add_member(ctx, karim, rania, "spouse") == first
    assert (relations(ctx), memberships(ctx)) == before
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 1
    [event] = audit_rows(ctx, "household")
    assert (event.action, event.entity_id, event.person_id) == ("update", first, rania)
    assert event.detail == {"member": karim, "household": "created", "relation": "spouse"}


def test_a_different_relation_replaces_the_recorded_one(ctx, family):
    rania, karim = family["rania"], family["karim"]
    households.add_member(ctx, rania, karim, "sibling")
    households.add_member(ctx, rania, karim, "spouse")
    assert relations(ctx) == {(rania, karim, "spouse"), (karim, rania, "spouse")}
    assert len(audit_rows(ctx, "household")) == 2


def test_add_member_refusals(ctx, family):
    rania = family["rania"]
    with pytest.raises(UserError, match="nicht ihr eigenes Haushaltsmitglied"):
        households.add_member(ctx, rania, rania, "spouse")
    with pytest.raises(ValidationError) as exc:
        households.add_member(ctx, rania, family["karim"], "cousin")
    assert exc.value.field_errors == {
        "relation": "Unbekannte Beziehung: cousin (erlaubt: spouse, child, parent, sibling, guardian, other)."
    }
    with pytest.raises(NotFoundError, match="Keine Person"):
        households.add_member(ctx, rania, "no-such-person", "child")
    # two different households: refused, nothing changes
    households.add_member(ctx, rania, family["karim"], "spouse")
    other = households.add_member(ctx, family["ivan"], family["omar"], "guardian")
    before = (relations(ctx), memberships(ctx))
    with pytest.raises(UserError, match="verschiedenen Haushalten"):
        households.add_member(ctx, rania, family["omar"], "child")
    assert (relations(ctx), memberships(ctx)) == before
    with ctx.read() as session:
        with pytest.raises(UserError, match="verschiedenen Haushalten"):
            households.check_member(session, family["omar"], rania, "parent")
        preview = households.check_member(session, rania, family["lina"], "child")
    assert (preview.name, preview.relation_label) == ("Haddad, Lina", "Kind")
    assert other != households.add_member(ctx, rania, family["lina"], "child")
    assert not audit_rows(ctx, "case")


def test_household_of_leaves_out_deleted_and_merged_persons(ctx, family):
    from kim_desktop.db.base import utcnow
    from kim_desktop.db.models import Person

    rania = family["rania"]
    for key in ("karim", "lina", "omar"):
        households.add_member(ctx, rania, family[key], "child" if key != "karim" else "spouse")
    with ctx.write() as session:
        session.get(Person, family["omar"]).deleted_at = utcnow()
        session.get(Person, family["lina"]).merged_into_id = rania
    with ctx.read() as session:
        assert [m.name for m in households.household_of(session, rania)] == ["Haddad, Karim"]
        assert households.household_of(session, family["ivan"]) == []
    with pytest.raises(NotFoundError):
        households.add_member(ctx, rania, family["omar"], "child")


def test_remove_member_keeps_relations_and_removes_empty_household(ctx, family):
    rania, karim = family["rania"], family["karim"]
    household_id = households.add_member(ctx, rania, karim, "spouse")
    households.remove_member(ctx, household_id, karim)
    assert memberships(ctx) == {(household_id, rania, "head")}
    assert relations(ctx) == {(rania, karim, "spouse"), (karim, rania, "spouse")}, "family facts stay"
    with ctx.read() as session:
        assert households.household_of(session, rania) == []
        assert households.household_id_of(session, karim) is None
    with pytest.raises(NotFoundError, match="gehört nicht zu diesem Haushalt"):
        households.remove_member(ctx, household_id, karim)

    households.remove_member(ctx, household_id, rania)
    with ctx.read() as session:
        assert session.get(Household, household_id).deleted_at is not None
        assert households.household_id_of(session, rania) is None
    with pytest.raises(NotFoundError, match="Haushalt"):
        households.remove_member(ctx, household_id, rania)
    # a new household can be formed again
    assert households.add_member(ctx, karim, rania, "spouse") != household_id
    events = audit_rows(ctx, "household")
    assert [e.detail.get("removed") for e in events if "removed" in e.detail] == [karim, rania]


# --- case members ---------------------------------------------------------------------------------------


def test_open_case_with_members_in_one_transaction(ctx, family):
    rania = family["rania"]
    household_id = households.add_member(ctx, rania, family["karim"], "spouse")
    households.add_member(ctx, rania, family["lina"], "child")
    view = cases.open_case(ctx, rania, opened_on=OPENED, member_ids=[family["karim"], family["lina"], rania])
    with ctx.read() as session:
        assert households.case_members(session, view.id) == [rania, family["karim"], family["lina"]]
        assert session.get(Case, view.id).household_id == household_id
    [event] = [e for e in audit_rows(ctx, "case") if e.action == "create"]
    assert set(event.detail["members"]) == {rania, family["karim"], family["lina"]}


def test_open_case_with_unknown_member_opens_nothing(ctx, family):
    with pytest.raises(NotFoundError):
        cases.open_case(ctx, family["rania"], opened_on=OPENED, member_ids=["no-such-person"])
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(CaseMember)) == 0


def test_open_case_without_member_ids_is_unchanged(ctx, family):
    view = cases.open_case(ctx, family["rania"], opened_on=OPENED)
    with ctx.read() as session:
        assert households.case_members(session, view.id) == []
        assert session.get(Case, view.id).household_id is None
    only_client = cases.open_case(ctx, family["ivan"], opened_on=OPENED, member_ids=[])
    with ctx.read() as session:
        assert households.case_members(session, only_client.id) == [family["ivan"]]
        assert session.get(Case, only_client.id).household_id is None


def test_add_case_members_later(ctx, family):
    rania = family["rania"]
    household_id = households.add_member(ctx, rania, family["omar"], "child")
    case_id = cases.open_case(ctx, rania, opened_on=OPENED).id
    assert households.add_case_members(ctx, case_id, [family["omar"]]) == [rania, family["omar"]]
    assert households.add_case_members(ctx, case_id, [family["omar"], rania]) == [], "idempotent"
    with ctx.read() as session:
        assert session.get(Case, case_id).household_id == household_id
    updates = [e for e in audit_rows(ctx, "case") if e.action == "update"]
    assert [e.detail for e in updates] == [{"members_added": [rania, family["omar"]]}]
    with pytest.raises(NotFoundError, match="Fallakte"):
        households.add_case_members(ctx, "no-such-case", [rania])
    with pytest.raises(NotFoundError, match="Person"):
        households.add_case_members(ctx, case_id, ["no-such-person"])

    households.remove_case_member(ctx, case_id, family["omar"])
    with ctx.read() as session:
        assert households.case_members(session, case_id) == [rania]
    with pytest.raises(UserError, match="bleibt im Fall"):
        households.remove_case_member(ctx, case_id, rania)


# --- the case list: life area and overdue items ---------------------------------------------------------


def test_list_cases_by_life_area(ctx, family):
    by_assessment = cases.open_case(ctx, family["rania"], opened_on=OPENED).id
    by_goal = cases.open_case(ctx, family["karim"], opened_on=OPENED).id
    other_area = cases.open_case(ctx, family["ivan"], opened_on=OPENED).id
    journal.set_assessment(ctx, by_assessment, "sprache", needs="Deutschkurs")
    journal.add_goal(ctx, by_goal, "Sprachkurs B1 abschließen", life_area="sprache", agreed_on=OPENED)
    journal.set_assessment(ctx, other_area, "wohnen")
    journal.add_goal(ctx, other_area, "Wohnung finden", life_area="wohnen", agreed_on=OPENED)
    with ctx.read() as session:
        assert {c.id for c in cases.list_cases(session, life_area="sprache")} == {by_assessment, by_goal}
        assert {c.id for c in cases.list_cases(session, life_area="wohnen")} == {other_area}
        assert cases.list_cases(session, life_area="gesundheit") == []
        assert len(cases.list_cases(session, life_area=None)) == 3
        with pytest.raises(UserError, match="Unbekannter Lebensbereich: mond"):
            cases.list_cases(session, life_area="mond")


def test_list_cases_with_overdue_items(ctx, family):
    today = date(2026, 3, 1)
    follow_up = cases.open_case(ctx, family["rania"], opened_on=OPENED).id
    review = cases.open_case(ctx, family["karim"], opened_on=OPENED).id
    step = cases.open_case(ctx, family["ivan"], opened_on=OPENED).id
    nothing = cases.open_case(ctx, family["lina"], opened_on=OPENED).id
    done = cases.open_case(ctx, family["omar"], opened_on=OPENED).id

    followups.add_follow_up(ctx, "Rückruf Jobcenter", today - timedelta(days=1), case_id=follow_up)
    journal.add_goal(ctx, review, "Anerkennung beantragen", agreed_on=OPENED, review_on=today - timedelta(days=3))
    goal = journal.add_goal(ctx, step, "Kita-Platz", agreed_on=OPENED)
    journal.add_step(ctx, goal, "Anmeldung abgeben", due_on=today - timedelta(days=10))
    # due today or later, done, or of a finished goal: not overdue
    followups.add_follow_up(ctx, "Termin bestätigen", today, case_id=nothing)
    goal = journal.add_goal(ctx, nothing, "Wohnung", agreed_on=OPENED, review_on=today)
    journal.add_step(ctx, goal, "Wohnberechtigungsschein", due_on=today + timedelta(days=1))
    journal.add_step(ctx, goal, "Ohne Frist")
    done_step = journal.add_step(ctx, goal, "Unterlagen kopieren", due_on=today - timedelta(days=5))
    journal.complete_step(ctx, done_step, today - timedelta(days=6))
    done_follow_up = followups.add_follow_up(ctx, "Erledigt", today - timedelta(days=20), case_id=done)
    followups.complete_follow_up(ctx, done_follow_up)
    finished = journal.add_goal(ctx, done, "Sprachkurs", agreed_on=OPENED, review_on=today - timedelta(days=2))
    journal.add_step(ctx, finished, "Prüfung", due_on=today - timedelta(days=2))
    with ctx.write() as session:
        from kim_desktop.db.models import Goal

        session.get(Goal, finished).status = "achieved"

    with ctx.read() as session:
        overdue = {c.id for c in cases.list_cases(session, overdue_only=True, today=today)}
        assert overdue == {follow_up, review, step}
        assert len(cases.list_cases(session, overdue_only=False, today=today)) == 5
        # combined with the other filters
        assert [c.id for c in cases.list_cases(session, overdue_only=True, today=today, person_id=family["ivan"])] == [
            step
        ]
        assert cases.list_cases(session, overdue_only=True, today=today, phase="closed") == []
        # a day earlier, the follow-up was not overdue yet
        earlier = {c.id for c in cases.list_cases(session, overdue_only=True, today=today - timedelta(days=1))}
        assert earlier == {review, step}
