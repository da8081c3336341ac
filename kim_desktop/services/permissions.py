"""Roles and permissions: who may do what, as one declarative matrix ROLE × ACTION. No Qt.

Four roles (``user_role.role``): Case Management, Teamleitung, Empfang/Verwaltung, Administration.

* ``reception`` (Empfang/Verwaltung): names and contact data of persons and the appointment calendar, no case
  content.
* ``admin`` (Administration): user accounts, settings and backups, no case content unless the account also
  holds a case role.
* ``team_lead`` (Teamleitung): everything case management may do, for the cases of their team, plus reading
  the audit trail and running the retention (Löschfristen).
* ``case_management``: full data of their own cases and of cases shared with them (``case_share``).

A user with several roles may do what any of them allows. ``Actor.local()`` (the unencrypted single-user
database) holds every role and sees every case, so a one-person office never meets a permission check.

Services call ``require(ctx.actor, "case.write")`` before they act; ``can_see_case`` decides the row-level
question "is this case one of mine?". Messages name the action in German words, never a person or a record.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, false, or_, select
from sqlalchemy.orm import aliased

from ..db.models import Case, CaseShare, UserAccount
from ..errors import UserError
from ..i18n import _
from .context import Actor

CASE_MANAGEMENT = "case_management"
TEAM_LEAD = "team_lead"
RECEPTION = "reception"
ADMIN = "admin"

#: All roles, in the order the GUI lists them (matches the CHECK constraint on ``user_role.role``).
ROLES: tuple[str, ...] = (CASE_MANAGEMENT, TEAM_LEAD, RECEPTION, ADMIN)

#: Every action a permission check knows.
ACTIONS: tuple[str, ...] = (
    "person.read_basic",
    "person.read_case_data",
    "person.write",
    "case.read",
    "case.write",
    "journal.read",
    "journal.write",
    "appointment.read",
    "appointment.write",
    "letter.make",
    "referral.write",
    "directory.write",
    "consent.write",
    "audit.read",
    "retention.run",
    "backup.run",
    "users.manage",
    "settings.manage",
)

_CASE_WORK = frozenset(
    {
        "person.read_basic",
        "person.read_case_data",
        "person.write",
        "case.read",
        "case.write",
        "journal.read",
        "journal.write",
        "appointment.read",
        "appointment.write",
        "letter.make",
        "referral.write",
        "directory.write",
        "consent.write",
    }
)

#: The matrix: the actions each role allows. Anything not listed is denied.
MATRIX: dict[str, frozenset[str]] = {
    CASE_MANAGEMENT: _CASE_WORK,
    TEAM_LEAD: _CASE_WORK | {"audit.read", "retention.run"},
    RECEPTION: frozenset({"person.read_basic", "appointment.read", "appointment.write"}),
    ADMIN: frozenset({"directory.write", "retention.run", "backup.run", "users.manage", "settings.manage"}),
}


def role_labels() -> dict[str, str]:
    """German (translated) names of the roles."""
    return {
        CASE_MANAGEMENT: _("Case Management"),
        TEAM_LEAD: _("Teamleitung"),
        RECEPTION: _("Empfang/Verwaltung"),
        ADMIN: _("Administration"),
    }


def role_label(role: str) -> str:
    return role_labels().get(role, role)


def action_labels() -> dict[str, str]:
    """The actions in German words, as they complete "Keine Berechtigung zum/zur …"."""
    return {
        "person.read_basic": _("Ansehen von Namen und Kontaktdaten"),
        "person.read_case_data": _("Ansehen der Falldaten einer Person"),
        "person.write": _("Anlegen und Ändern von Personen"),
        "case.read": _("Ansehen von Fällen"),
        "case.write": _("Bearbeiten von Fällen"),
        "journal.read": _("Lesen des Verlaufs"),
        "journal.write": _("Schreiben im Verlauf"),
        "appointment.read": _("Ansehen von Terminen"),
        "appointment.write": _("Vergeben und Ändern von Terminen"),
        "letter.make": _("Erstellen von Briefen"),
        "referral.write": _("Bearbeiten von Vermittlungen"),
        "directory.write": _("Pflegen des Angebotsverzeichnisses"),
        "consent.write": _("Erfassen von Einwilligungen"),
        "audit.read": _("Einsehen des Protokolls"),
        "retention.run": _("Ausführen der Löschfristen"),
        "backup.run": _("Sichern und Wiederherstellen"),
        "users.manage": _("Verwalten der Benutzer"),
        "settings.manage": _("Ändern der Einstellungen"),
    }


def action_label(action: str) -> str:
    return action_labels().get(action, action)


class PermissionDeniedError(UserError):
    """The actor's roles do not allow the action. ``action`` is the technical name."""

    def __init__(self, action: str) -> None:
        super().__init__(
            _("Keine Berechtigung: {action} ist für Ihre Rolle nicht freigegeben.").format(
                action=action_label(action)
            )
        )
        self.action = action


def allowed(actor: Actor, action: str) -> bool:
    """Whether any of the actor's roles allows ``action``. Unknown actions are a programming error."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return any(action in MATRIX.get(role, ()) for role in actor.roles)


def require(actor: Actor, action: str) -> None:
    """Raise ``PermissionDeniedError`` unless the actor may do ``action``."""
    if not allowed(actor, action):
        raise PermissionDeniedError(action)


def can_see_case(session, actor: Actor, case: Case, *, today: date | None = None) -> bool:
    """Whether the actor may see the full data of ``case``.

    The single user of an unencrypted database (``user_id`` None) sees every case their roles allow;
    otherwise a case is visible when it is the actor's own (``case_manager_id``), shared with them and not
    expired (``case_share.until``), or – for a team lead – a case of their team (the case's ``team_id`` or
    the team of its case manager).
    """
    if not allowed(actor, "case.read"):
        return False
    if actor.user_id is None:
        return True
    if case.case_manager_id == actor.user_id:
        return True
    today = today or date.today()
    share = session.execute(
        select(CaseShare.until).where(CaseShare.case_id == case.id, CaseShare.user_id == actor.user_id)
    ).first()
    if share is not None and (share[0] is None or share[0] >= today):
        return True
    if TEAM_LEAD in actor.roles:
        team_id = session.scalar(select(UserAccount.team_id).where(UserAccount.id == actor.user_id))
        if team_id is None:
            return False
        if case.team_id == team_id:
            return True
        if case.case_manager_id is not None:
            manager_team = session.scalar(
                select(UserAccount.team_id).where(UserAccount.id == case.case_manager_id)
            )
            return manager_team == team_id
    return False


# --- the actor of a session and row-level visibility ----------------------------------------------------


def actor_of(session) -> Actor:
    """The actor a ``ServiceContext`` attached to ``session`` (``ctx.read()``/``ctx.write()``).

    The GUI and the CLI only ever reach the database through a ``ServiceContext``; a bare session (internal
    maintenance code, migrations) acts as the local single user.
    """
    return session.info.get("actor") or Actor.local()


def require_session(session, action: str) -> Actor:
    """``require`` for functions that receive a session; returns the actor."""
    actor = actor_of(session)
    require(actor, action)
    return actor


def sees_all_cases(actor: Actor) -> bool:
    """The single user of an unencrypted database sees every case (if a case role allows cases at all)."""
    return actor.user_id is None and allowed(actor, "case.read")


def visible_case_clause(actor: Actor, *, today: date | None = None):
    """A WHERE clause on ``Case`` (``case_file``) selecting the cases whose full data ``actor`` may see.

    Mirrors ``can_see_case`` in SQL, for lists and counts: own cases, shared cases (not expired), and for a
    team lead the cases of their team (the case's team or its case manager's team). Returns ``None`` when
    every case is visible, and a false clause when no case is (reception, administration).
    """
    if not allowed(actor, "case.read"):
        return false()
    if actor.user_id is None:
        return None
    today = today or date.today()
    share = exists().where(
        CaseShare.case_id == Case.id,
        CaseShare.user_id == actor.user_id,
        or_(CaseShare.until.is_(None), CaseShare.until >= today),
    )
    parts = [Case.case_manager_id == actor.user_id, share]
    if TEAM_LEAD in actor.roles:
        # Aliases: a query that joins ``user_account`` itself (the case lists) must not swallow these.
        me, manager = aliased(UserAccount), aliased(UserAccount)
        my_team = select(me.team_id).where(me.id == actor.user_id).scalar_subquery()
        manager_team = select(manager.team_id).where(manager.id == Case.case_manager_id).scalar_subquery()
        parts.append(Case.team_id == my_team)
        parts.append(manager_team == my_team)
    return or_(*parts)


def _person_in_case(person_id):
    """The enclosing ``Case`` is about the person: its client (``case_file.person_id``) or a further member
    (``case_member``). Cases opened without household members have no ``case_member`` row for the client."""
    from ..db.models import CaseMember

    return or_(
        Case.person_id == person_id,
        exists().where(CaseMember.case_id == Case.id, CaseMember.person_id == person_id),
    )


def visible_person_clause(actor: Actor, person_id_column, *, today: date | None = None):
    """A WHERE clause on a person id column: persons that are the client or a member of a (live) case ``actor``
    may see.

    ``None`` when the actor sees every person's case data. Used to hide case content (journal, goals,
    referrals, documents) of persons outside the caseload; names and contact data stay visible to every role
    with ``person.read_basic``.
    """
    clause = visible_case_clause(actor, today=today)
    if clause is None:
        return None
    # ``correlate_except``: the case stays inside the EXISTS even when the outer query selects cases, too.
    return exists(
        select(Case.id)
        .where(Case.deleted_at.is_(None), _person_in_case(person_id_column), clause)
        .correlate_except(Case)
    )


def visible_case_id_clause(actor: Actor, case_id_column, *, today: date | None = None):
    """A WHERE clause on a case id column (``follow_up.case_id``, ``document.case_id``): rows without a case
    or of a case ``actor`` may see. ``None`` when every case is visible."""
    clause = visible_case_clause(actor, today=today)
    if clause is None:
        return None
    inner = select(Case.id).where(Case.id == case_id_column, clause).correlate_except(Case)
    return or_(case_id_column.is_(None), exists(inner))


def ensure_case_visible(session, case: Case, *, action: str = "case.read") -> Actor:
    """Raise ``PermissionDeniedError(action)`` unless the session's actor may do ``action`` and see ``case``."""
    actor = require_session(session, action)
    if not can_see_case(session, actor, case):
        raise PermissionDeniedError(action)
    return actor


def ensure_case_id_visible(session, case_id: str | None, *, action: str = "case.read") -> Actor:
    """``ensure_case_visible`` for a case id. An unknown id needs only the action: the caller reports it."""
    actor = require_session(session, action)
    case = session.get(Case, case_id) if case_id else None
    if case is not None and not can_see_case(session, actor, case):
        raise PermissionDeniedError(action)
    return actor


def ensure_person_case_data_visible(
    session, person_id: str, *, action: str = "person.read_case_data"
) -> Actor:
    """Raise unless the actor may see case content of the person (the client or a member of one of their
    visible cases, or a person without any case yet, which every case role may work on)."""
    actor = require_session(session, action)
    clause = visible_person_clause(actor, person_id)
    if clause is None:
        return actor
    has_case = session.scalar(select(exists().where(Case.deleted_at.is_(None), _person_in_case(person_id))))
    if not has_case:
        return actor
    if not session.scalar(select(clause)):
        raise PermissionDeniedError(action)
    return actor
