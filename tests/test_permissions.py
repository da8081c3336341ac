"""The role matrix ROLE × ACTION written out by hand, ``require`` and its German message, and
``can_see_case`` for own, shared, team and other cases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kim_desktop.db.models import Case, CaseShare, Team, UserAccount
from kim_desktop.errors import UserError
from kim_desktop.services import cases, permissions, persons
from kim_desktop.services.context import Actor
from kim_desktop.services.permissions import PermissionDeniedError, allowed, can_see_case, require

Y, N = True, False

#: action: (case_management, team_lead, reception, admin) – written out, not computed from the module.
EXPECTED = {
    "person.read_basic":     (Y, Y, Y, N),
    "person.read_case_data": (Y, Y, N, N),
    "person.write":          (Y, Y, N, N),
    "case.read":             (Y, Y, N, N),
    "case.write":            (Y, Y, N, N),
    "journal.read":          (Y, Y, N, N),
    "journal.write":         (Y, Y, N, N),
    "appointment.read":      (Y, Y, Y, N),
    "appointment.write":     (Y, Y, Y, N),
    "letter.make":           (Y, Y, N, N),
    "referral.write":        (Y, Y, N, N),
    "directory.write":       (Y, Y, N, Y),
    "consent.write":         (Y, Y, N, N),
    "audit.read":            (N, Y, N, N),
    "retention.run":         (N, Y, N, Y),
    "backup.run":            (N, N, N, Y),
    "users.manage":          (N, N, N, Y),
    "settings.manage":       (N, N, N, Y),
}  # fmt: skip
ROLE_ORDER = ("case_management", "team_lead", "reception", "admin")

TABLE = [
    pytest.param(role, action, EXPECTED[action][i], id=f"{role}-{action}")
    for action in EXPECTED
    for i, role in enumerate(ROLE_ORDER)
]


def actor(*roles: str, user_id: str | None = "u1") -> Actor:
    return Actor(user_id, "Test", frozenset(roles))


@pytest.mark.parametrize(("role", "action", "expected"), TABLE)
def test_matrix(role, action, expected):
    assert allowed(actor(role), action) is expected
    if expected:
        require(actor(role), action)
    else:
        with pytest.raises(PermissionDeniedError):
            require(actor(role), action)


def test_table_covers_every_action_and_role():
    assert set(EXPECTED) == set(permissions.ACTIONS)
    assert set(ROLE_ORDER) == set(permissions.ROLES)


@pytest.mark.parametrize("action", list(EXPECTED))
def test_local_actor_and_combined_roles(action):
    assert allowed(Actor.local(), action)
    combined = actor("admin", "case_management")
    assert allowed(combined, action) is (EXPECTED[action][0] or EXPECTED[action][3])
    assert not allowed(actor(), action)


def test_denied_message_is_german_and_a_user_error():
    with pytest.raises(UserError) as info:
        require(actor("reception"), "journal.read")
    assert str(info.value) == "Keine Berechtigung: Lesen des Verlaufs ist für Ihre Rolle nicht freigegeben."
    assert info.value.action == "journal.read"
    with pytest.raises(ValueError):
        allowed(actor("admin"), "no.such_action")


def test_labels():
    assert permissions.role_labels() == {
        "case_management": "Case Management",
        "team_lead": "Teamleitung",
        "reception": "Empfang/Verwaltung",
        "admin": "Administration",
    }
    assert set(permissions.action_labels()) == set(EXPECTED)


@pytest.fixture
def office(ctx):
    """Two teams; Anna (case management, team A), Bernd (team lead A), Carla (case management, team B),
    Dora (team lead B), Emil (reception, team A); one case each for Anna and Carla and one without manager."""
    with ctx.write() as session:
        team_a, team_b = Team(name="A"), Team(name="B")
        session.add_all([team_a, team_b])
        session.flush()
        users = {}
        for name, team in [
            ("anna", team_a),
            ("bernd", team_a),
            ("carla", team_b),
            ("dora", team_b),
            ("emil", team_a),
        ]:
            account = UserAccount(username=name, display_name=name.title(), team_id=team.id)
            session.add(account)
            session.flush()
            users[name] = account.id
    ids = {}
    for label, manager in [("anna_case", "anna"), ("carla_case", "carla"), ("orphan", None)]:
        person = persons.create_person(
            ctx, {"family_name": f"P{label}", "given_names": "X"}, allow_duplicate=True
        )
        case = cases.open_case(ctx, person.id, consent_on=date.today())
        with ctx.write() as session:
            session.get(Case, case.id).case_manager_id = users[manager] if manager else None
        ids[label] = case.id
    return users, ids


def _sees(ctx, who: Actor, case_id: str, today=None) -> bool:
    with ctx.read() as session:
        return can_see_case(session, who, session.get(Case, case_id), today=today)


def test_can_see_case_own_team_other(ctx, office):
    users, ids = office
    anna = actor("case_management", user_id=users["anna"])
    bernd = actor("team_lead", user_id=users["bernd"])
    carla = actor("case_management", user_id=users["carla"])
    dora = actor("team_lead", "case_management", user_id=users["dora"])
    emil = actor("reception", user_id=users["emil"])
    assert _sees(ctx, anna, ids["anna_case"]) and not _sees(ctx, anna, ids["carla_case"])
    assert _sees(ctx, carla, ids["carla_case"]) and not _sees(ctx, carla, ids["anna_case"])
    assert _sees(ctx, bernd, ids["anna_case"]) and not _sees(ctx, bernd, ids["carla_case"])
    assert _sees(ctx, dora, ids["carla_case"]) and not _sees(ctx, dora, ids["anna_case"])
    assert not _sees(ctx, emil, ids["anna_case"])
    for case_id in ids.values():
        assert _sees(ctx, Actor.local(), case_id)
    assert not any(_sees(ctx, who, ids["orphan"]) for who in (anna, bernd, carla, dora))


def test_can_see_shared_case_until_expiry(ctx, office):
    users, ids = office
    anna = actor("case_management", user_id=users["anna"])
    today = date(2026, 5, 1)
    with ctx.write() as session:
        session.add(CaseShare(case_id=ids["carla_case"], user_id=users["anna"], until=today))
    assert _sees(ctx, anna, ids["carla_case"], today=today)
    assert not _sees(ctx, anna, ids["carla_case"], today=today + timedelta(days=1))
    with ctx.write() as session:
        session.get(CaseShare, (ids["carla_case"], users["anna"])).until = None
    assert _sees(ctx, anna, ids["carla_case"], today=today + timedelta(days=400))


def test_team_lead_sees_case_assigned_to_team(ctx, office):
    users, ids = office
    with ctx.write() as session:
        team_b = session.get(UserAccount, users["dora"]).team_id
        session.get(Case, ids["orphan"]).team_id = team_b
    assert _sees(ctx, actor("team_lead", user_id=users["dora"]), ids["orphan"])
    assert not _sees(ctx, actor("team_lead", user_id=users["bernd"]), ids["orphan"])
