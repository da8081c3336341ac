"""Permission checks through the real services (issue 7): role × entry point on a real SQLite file, and the
row-level rule "only my cases, cases shared with me and – for a team lead – the cases of my team".

Users are real accounts (``users.add_user``); each acts through its own ``ServiceContext``. The local single
user (``Actor.local()``) is covered by every other test module: it keeps seeing everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import AuditEvent, CaseShare, JournalEntry
from kim_desktop.errors import UserError
from kim_desktop.services import (
    audit_trail,
    bulk_letters,
    cases,
    documents,
    followups,
    households,
    journal,
    letters,
    merge,
    persons,
    subject_access,
    users,
)
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError
from kim_desktop.services.person_list import SessionPersonList
from kim_desktop.services.search import search_persons

PASSWORD = "Sommerwiese-am-Fluss-2026"
ROLES = {
    "anna": (("case_management",), "Nord"),
    "bernd": (("team_lead",), "Nord"),
    "carla": (("case_management",), "Süd"),
    "emil": (("reception",), "Nord"),
    "ada": (("admin",), "Nord"),
}


@dataclass
class Client:
    person_id: str
    case_id: str
    entry_id: str
    goal_id: str
    follow_up_id: str
    document_id: str


@dataclass
class Office:
    ctx: ServiceContext  # the local single user who set the office up
    users: dict[str, ServiceContext]
    anna_client: Client
    carla_client: Client

    def __getitem__(self, name: str) -> ServiceContext:
        return self.users[name]


def _client(who: ServiceContext, family: str) -> Client:
    person = persons.create_person(
        who,
        {
            "family_name": family,
            "given_names": "Lina",
            "street": "Markt 3",
            "postcode": "48653",
            "city": "Coesfeld",
        },
        allow_duplicate=True,
    )
    case = cases.open_case(who, person.id, consent_on=date.today())
    entry_id = journal.add_journal_entry(who, case.id, text="Erstgespräch zur Wohnungssuche")
    goal_id = journal.add_goal(who, case.id, "Deutschkurs B1 beginnen")
    follow_up_id = followups.add_follow_up(who, "Unterlagen anfordern", date.today(), case_id=case.id)
    document_id = letters.make_letter(who, "plan", case_id=case.id).document_id
    return Client(person.id, case.id, entry_id, goal_id, follow_up_id, document_id)


@pytest.fixture
def office(ctx) -> Office:
    teams = {name: users.resolve_team(ctx, name, create=True)[0] for name in ("Nord", "Süd")}
    contexts = {}
    for name, (roles, team) in ROLES.items():
        view = users.add_user(ctx, name, name.title(), PASSWORD, roles, team_id=teams[team])
        contexts[name] = ServiceContext(ctx.database, Actor(view.id, view.display_name, frozenset(roles)))
    return Office(ctx, contexts, _client(contexts["anna"], "Nordmann"), _client(contexts["carla"], "Südmann"))


def _denied(call) -> bool:
    try:
        call()
    except PermissionDeniedError:
        return True
    return False


def _read(who: ServiceContext, fn, *args, **kwargs):
    with who.read() as session:
        return fn(session, *args, **kwargs)


# --- the matrix through the real entry points ----------------------------------------------------------

Y, N = True, False
#: entry point → allowed for (case management, team lead, reception, administration), on Anna's client
#: (Anna is case management in team Nord, Bernd the team lead of Nord, Emil reception, Ada administration).
EXPECTED = {
    "search_persons": (Y, Y, Y, N),
    "person_list": (Y, Y, Y, N),
    "get_person": (Y, Y, Y, N),
    "household_of": (Y, Y, Y, N),
    "create_person": (Y, Y, N, N),
    "update_person": (Y, Y, N, N),
    "get_case": (Y, Y, N, N),
    "open_case": (Y, Y, N, N),
    "change_phase": (Y, Y, N, N),
    "journal": (Y, Y, N, N),
    "journal_count": (Y, Y, N, N),
    "add_journal_entry": (Y, Y, N, N),
    "goals": (Y, Y, N, N),
    "add_goal": (Y, Y, N, N),
    "assessments": (Y, Y, N, N),
    "case_follow_ups": (Y, Y, N, N),
    "add_follow_up": (Y, Y, N, N),
    "list_documents": (Y, Y, N, N),
    "open_document": (Y, Y, N, N),
    "make_letter": (Y, Y, N, N),
    "bulk_invitations": (Y, Y, N, N),
    "export_person": (Y, Y, N, N),
    "read_trail": (N, Y, N, N),
    "export_for_dpo": (N, Y, N, N),
}


def _entry_points(office: Office, who: ServiceContext, tmp_path):
    c = office.anna_client
    return {
        "search_persons": lambda: _read(who, search_persons, "Nordmann"),
        "person_list": lambda: SessionPersonList(who).page(0, 10),
        "get_person": lambda: persons.get_person(who, c.person_id),
        "household_of": lambda: _read(who, households.household_of, c.person_id),
        "create_person": lambda: persons.create_person(who, {"family_name": "Neu"}, allow_duplicate=True),
        "update_person": lambda: persons.update_person(who, c.person_id, {"phone": "02541 12345"}),
        "get_case": lambda: cases.get_case(who, c.case_id),
        "open_case": lambda: cases.open_case(who, c.person_id),
        "change_phase": lambda: cases.change_phase(who, c.case_id, "assessment"),
        "journal": lambda: _read(who, journal.journal, c.case_id),
        "journal_count": lambda: _read(who, journal.journal_count, c.case_id),
        "add_journal_entry": lambda: journal.add_journal_entry(who, c.case_id, text="Telefonat"),
        "goals": lambda: _read(who, journal.goals, c.case_id),
        "add_goal": lambda: journal.add_goal(who, c.case_id, "Führerschein"),
        "assessments": lambda: _read(who, journal.assessments, c.case_id),
        "case_follow_ups": lambda: _read(who, followups.case_follow_ups, c.case_id),
        "add_follow_up": lambda: followups.add_follow_up(who, "Rückruf", date.today(), case_id=c.case_id),
        "list_documents": lambda: documents.list_documents(who, person_id=c.person_id),
        "open_document": lambda: documents.open_document(who, c.document_id),
        "make_letter": lambda: letters.make_letter(who, "plan", case_id=c.case_id),
        "bulk_invitations": lambda: bulk_letters.make_invitations(
            who, date.today(), tmp_path / "einladungen"
        ),
        "export_person": lambda: subject_access.export_person(who, c.person_id, tmp_path / "auskunft.zip"),
        "read_trail": lambda: audit_trail.read_trail(who, person_id=c.person_id),
        "export_for_dpo": lambda: audit_trail.export_for_dpo(who, case_id=c.case_id),
    }


@pytest.mark.parametrize(
    ("column", "name"), [(0, "anna"), (1, "bernd"), (2, "emil"), (3, "ada")], ids=lambda v: str(v)
)
def test_role_matrix_through_the_services(office, tmp_path, column, name):
    calls = _entry_points(office, office[name], tmp_path)
    assert set(calls) == set(EXPECTED)
    wrong = {}
    for entry, call in calls.items():
        allowed = EXPECTED[entry][column]
        if _denied(call) == allowed:
            wrong[entry] = "denied" if allowed else "allowed"
    assert wrong == {}


def test_a_denial_is_a_german_user_error_without_personal_data(office):
    with pytest.raises(PermissionDeniedError) as info:
        _read(office["emil"], journal.journal, office.anna_client.case_id)
    assert isinstance(info.value, UserError)
    assert info.value.action == "journal.read"
    message = str(info.value)
    assert "Keine Berechtigung" in message and "Verlauf" in message
    assert "Nordmann" not in message and office.anna_client.case_id not in message


def test_a_denied_action_changes_and_logs_nothing(office):
    c = office.anna_client

    def counts():
        with office.ctx.read() as session:
            entries = session.scalar(select(func.count()).select_from(JournalEntry))
            reads = session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == c.case_id)
            )
            return entries, reads

    before = counts()
    for call in (
        lambda: journal.add_journal_entry(office["emil"], c.case_id, text="Darf nicht gespeichert werden"),
        lambda: journal.add_journal_entry(office["carla"], c.case_id, text="Darf nicht gespeichert werden"),
        lambda: cases.get_case(office["carla"], c.case_id),
        lambda: journal.delete_journal_entry(office["carla"], c.entry_id),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert counts() == before


# --- row level: own cases, shared cases, team cases ----------------------------------------------------


def test_case_manager_cannot_open_another_case_managers_case_until_it_is_shared(office):
    anna, carla_case = office["anna"], office.carla_client
    reads = {
        "get_case": lambda: cases.get_case(anna, carla_case.case_id),
        "journal": lambda: _read(anna, journal.journal, carla_case.case_id),
        "goals": lambda: _read(anna, journal.goals, carla_case.case_id),
        "follow_ups": lambda: _read(anna, followups.case_follow_ups, carla_case.case_id),
        "documents": lambda: documents.list_documents(anna, case_id=carla_case.case_id),
        "document": lambda: documents.open_document(anna, carla_case.document_id),
        "person_documents": lambda: documents.list_documents(anna, person_id=carla_case.person_id),
        "letter": lambda: letters.make_letter(anna, "plan", case_id=carla_case.case_id),
        "write": lambda: journal.add_journal_entry(anna, carla_case.case_id, text="Vertretung"),
    }
    assert {name for name, call in reads.items() if not _denied(call)} == set()
    assert [c.id for c in _read(anna, cases.list_cases)] == [office.anna_client.case_id]
    # Names stay visible: Anna finds Carla's client and sees the person's basic data.
    assert [h.id for h in _read(anna, search_persons, "Südmann")] == [carla_case.person_id]
    assert persons.get_person(anna, carla_case.person_id).file_numbers == []

    with office.ctx.write() as session:  # Carla shares the case with Anna (holiday cover)
        session.add(CaseShare(case_id=carla_case.case_id, user_id=anna.actor.user_id, until=date.today()))
    assert {name for name, call in reads.items() if _denied(call)} == set()
    entries = _read(anna, journal.journal, carla_case.case_id)
    assert "Vertretung" in [e.text for e in entries]
    assert sorted(c.id for c in _read(anna, cases.list_cases)) == sorted(
        [office.anna_client.case_id, carla_case.case_id]
    )

    with office.ctx.write() as session:  # the share ran out yesterday
        session.get(CaseShare, (carla_case.case_id, anna.actor.user_id)).until = date.today() - timedelta(
            days=1
        )
    assert _denied(lambda: cases.get_case(anna, carla_case.case_id))
    assert _denied(lambda: _read(anna, journal.journal, carla_case.case_id))


def test_team_lead_sees_the_cases_of_the_team_only(office):
    bernd = office["bernd"]
    assert [c.id for c in _read(bernd, cases.list_cases)] == [office.anna_client.case_id]
    assert cases.get_case(bernd, office.anna_client.case_id).case_manager == "Anna"
    assert len(_read(bernd, journal.journal, office.anna_client.case_id)) == 1
    assert _denied(lambda: cases.get_case(bernd, office.carla_client.case_id))
    assert _denied(lambda: _read(bernd, journal.journal, office.carla_client.case_id))
    trail = audit_trail.read_trail(bernd, case_id=office.anna_client.case_id)
    assert trail.access  # Anna's reads and writes are in the log


def test_reception_sees_names_but_no_case_content(office):
    emil = office["emil"]
    hits = _read(emil, search_persons, "Lina")
    assert sorted(h.family_name for h in hits) == ["Nordmann", "Südmann"]
    assert {r.family_name for r in SessionPersonList(emil).page(0, 50)} == {"Nordmann", "Südmann"}
    view = persons.get_person(emil, office.anna_client.person_id)
    assert view.family_name == "Nordmann" and view.city == "Coesfeld"
    assert view.file_numbers == []
    assert _read(emil, cases.list_cases) == []
    assert _denied(lambda: _read(emil, journal.journal, office.anna_client.case_id))
    assert _denied(lambda: cases.get_case(emil, office.anna_client.case_id))
    start = _read(emil, followups.workplace, user_id=emil.actor.user_id)
    assert start.reminders == [] and start.cases_by_phase == {}


def test_administration_without_a_case_role_sees_no_case_content(office):
    ada = office["ada"]
    assert _read(ada, cases.list_cases) == []
    assert _read(ada, followups.reminders) == []
    assert _read(ada, followups.workplace).cases_by_phase == {}
    for call in (
        lambda: cases.get_case(ada, office.anna_client.case_id),
        lambda: _read(ada, journal.journal, office.anna_client.case_id),
        lambda: documents.list_documents(ada, person_id=office.anna_client.person_id),
        lambda: _read(ada, search_persons, "Nordmann"),
    ):
        assert _denied(call)


def test_lists_and_start_page_show_only_visible_cases(office):
    anna, carla = office["anna"], office["carla"]
    mine = _read(anna, followups.reminders)
    assert {r.follow_up_id for r in mine if r.kind == "follow_up"} == {office.anna_client.follow_up_id}
    assert sum(_read(anna, followups.workplace).cases_by_phase.values()) == 1
    assert sum(_read(carla, followups.workplace).cases_by_phase.values()) == 1
    # The local single user (no accounts) still sees every case.
    assert len(_read(office.ctx, cases.list_cases)) == 2
    assert sum(_read(office.ctx, followups.workplace).cases_by_phase.values()) == 2


def test_a_persons_documents_are_listed_only_for_visible_cases(office):
    """Carla opens a second case for Anna's client: each sees the person's letters of her own case only."""
    anna, carla, client = office["anna"], office["carla"], office.anna_client
    second = cases.open_case(carla, client.person_id)
    carla_letter = letters.make_letter(carla, "plan", case_id=second.id).document_id
    assert [d.id for d in documents.list_documents(anna, person_id=client.person_id)] == [client.document_id]
    assert [d.id for d in documents.list_documents(carla, person_id=client.person_id)] == [carla_letter]
    assert persons.get_person(anna, client.person_id).file_numbers == [
        cases.get_case(anna, client.case_id).file_number
    ]
    assert _denied(lambda: documents.open_document(anna, carla_letter))


def test_merge_and_subject_access_need_the_persons_case_data(office, tmp_path):
    anna = office["anna"]
    folder = tmp_path / "auskunft"
    folder.mkdir()
    out = folder / "auskunft.zip"
    assert _denied(lambda: subject_access.export_person(anna, office.carla_client.person_id, out))
    assert list(folder.iterdir()) == []  # no ZIP, no temporary file
    assert _denied(
        lambda: merge.merge_persons(anna, office.anna_client.person_id, office.carla_client.person_id)
    )
    assert persons.get_person(office.ctx, office.carla_client.person_id).family_name == "Südmann"
    subject_access.export_person(anna, office.anna_client.person_id, out)
    assert out.is_file()


def test_household_and_case_member_writes_follow_the_case(office):
    anna, carla = office["anna"], office["carla"]
    child = persons.create_person(
        anna, {"family_name": "Nordmann", "given_names": "Emil"}, allow_duplicate=True
    )
    households.add_member(anna, office.anna_client.person_id, child.id, "child")
    assert [
        m.person_id for m in _read(office["emil"], households.household_of, office.anna_client.person_id)
    ] == [child.id]
    assert _denied(
        lambda: households.add_member(office["emil"], child.id, office.carla_client.person_id, "other")
    )
    assert _denied(lambda: households.add_case_members(carla, office.anna_client.case_id, [child.id]))
    added = households.add_case_members(anna, office.anna_client.case_id, [child.id])
    assert child.id in added
    # The child is now a member of Anna's case: Carla cannot see the child's case content either.
    assert _denied(lambda: documents.list_documents(carla, person_id=child.id))
    assert documents.list_documents(anna, person_id=child.id) == []
