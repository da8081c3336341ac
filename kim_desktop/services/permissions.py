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

from sqlalchemy import select

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
