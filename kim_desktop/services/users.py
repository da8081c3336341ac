"""User accounts: add, list, disable, reset a password, log in. No Qt.

Passwords are stored as Argon2id hashes (argon2-cffi ``PasswordHasher``) and rehashed at the next login when
the hasher's parameters change. After failed logins the account is locked for a growing time: the first three
failures cost nothing, then 30 s, 60 s, 120 s, … up to 15 minutes. Every failure gives the same German line,
whether the user exists, the password was wrong or the account is locked or disabled.

Every write requires ``users.manage`` (``Actor.local()``, the single user of an unencrypted database, has it).
The audit trail gets ``login`` and ``login_failed`` events with the user id when it is known, never the
username or a password. Password hashes and the login counters are written with plain UPDATE statements so
they never land in the field-level change history (``change_record``); a password reset is logged as an
``update`` event naming the field only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from ..db.models import Team, UserAccount, UserRole
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit, login, server_roles
from .context import Actor, ServiceContext
from .permissions import ADMIN, ROLES, require

#: Argon2id with the library's current defaults; tests may swap it to check rehashing.
hasher = PasswordHasher()

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD_LENGTH = 10
FREE_FAILURES = 3
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=15)

_dummy_hash: str | None = None


class AuthenticationError(UserError):
    """Login refused. The message is the same for every reason (unknown user, wrong password, locked)."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Anmeldung nicht möglich: Benutzername oder Passwort ist falsch, oder die Anmeldung ist "
                "vorübergehend gesperrt. Bitte prüfen und später erneut versuchen."
            )
        )


@dataclass(frozen=True)
class UserView:
    id: str
    username: str
    display_name: str
    email: str | None
    phone: str | None
    team_id: str | None
    team_name: str | None
    roles: tuple[str, ...]
    active: bool
    locked_until: datetime | None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "phone": self.phone,
            "team_id": self.team_id,
            "team": self.team_name,
            "roles": list(self.roles),
            "active": self.active,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
        }


# --- rules ------------------------------------------------------------------------------------------------


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise ValidationError(
            {
                "username": _(
                    "Der Benutzername muss 2 bis 40 Zeichen lang sein und darf nur Kleinbuchstaben a–z, "
                    "Ziffern, Punkt, Bindestrich und Unterstrich enthalten (am Anfang ein Buchstabe oder eine Ziffer)."
                )
            }
        )
    return name


def check_password(password: str, username: str) -> None:
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            {
                "password": _("Das Passwort muss mindestens {n} Zeichen lang sein.").format(
                    n=MIN_PASSWORD_LENGTH
                )
            }
        )
    if not password.strip():
        raise ValidationError({"password": _("Das Passwort darf nicht nur aus Leerzeichen bestehen.")})
    if password.strip().lower() == normalise_username(username):
        raise ValidationError({"password": _("Das Passwort darf nicht gleich dem Benutzernamen sein.")})


def _check_roles(roles: Iterable[str]) -> list[str]:
    result = []
    for role in roles:
        if role not in ROLES:
            raise ValidationError(
                {
                    "roles": _("Unbekannte Rolle: {role} (erlaubt: {roles}).").format(
                        role=role, roles=", ".join(ROLES)
                    )
                }
            )
        if role not in result:
            result.append(role)
    if not result:
        raise ValidationError({"roles": _("Mindestens eine Rolle angeben.")})
    return result


def lock_duration(failed_logins: int) -> timedelta | None:
    """How long the account is locked after ``failed_logins`` consecutive failures (None: not at all)."""
    if failed_logins <= FREE_FAILURES:
        return None
    exponent = failed_logins - FREE_FAILURES - 1
    if exponent >= 10:  # 30 s · 2**10 is far beyond the cap
        return MAX_LOCK
    return min(FIRST_LOCK * (2**exponent), MAX_LOCK)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# --- queries ----------------------------------------------------------------------------------------------


def _view(user: UserAccount, team_names: dict[str, str]) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        phone=user.phone,
        team_id=user.team_id,
        team_name=team_names.get(user.team_id) if user.team_id else None,
        roles=tuple(r for r in ROLES if r in {ur.role for ur in user.roles}),
        active=bool(user.active),
        locked_until=_aware(user.locked_until),
    )


def _team_names(session) -> dict[str, str]:
    return dict(session.execute(select(Team.id, Team.name).where(Team.deleted_at.is_(None))).all())


def list_users(session) -> list[UserView]:
    """All user accounts (active and disabled), by username. Never the password hash."""
    users = session.scalars(
        select(UserAccount).where(UserAccount.deleted_at.is_(None)).order_by(UserAccount.username)
    ).all()
    names = _team_names(session)
    return [_view(u, names) for u in users]


def find_user(session, username_or_id: str) -> UserAccount:
    text = (username_or_id or "").strip()
    user = session.scalar(
        select(UserAccount).where(
            UserAccount.deleted_at.is_(None),
            (UserAccount.username == text.lower()) | (UserAccount.id == text),
        )
    )
    if user is None:
        raise NotFoundError(_("Benutzer nicht gefunden."))
    return user


def resolve_team(ctx: ServiceContext, name_or_id: str, *, create: bool = False) -> tuple[str, bool]:
    """The id of the team with this id or name; with ``create`` a new team of that name. Returns (id, created)."""
    text = (name_or_id or "").strip()
    if not text:
        raise ValidationError({"team": _("Teamname fehlt.")})
    with ctx.read() as session:
        team_id = session.scalar(
            select(Team.id).where(Team.deleted_at.is_(None), (Team.id == text) | (Team.name == text))
        )
    if team_id is not None:
        return team_id, False
    if not create:
        raise NotFoundError(_("Team nicht gefunden."))
    require(ctx.actor, "users.manage")
    with ctx.write() as session:
        team = Team(name=text)
        session.add(team)
        session.flush()
        return team.id, True


MAX_DISPLAY_NAME = 200


def validate_account(
    username: str, display_name: str, password: str, roles: Iterable[str], repeat: str | None = None
) -> tuple[str, str, list[str]]:
    """Check every field of a new account at once: one ``ValidationError`` naming all wrong fields (so a form
    can mark them together). Returns the normalised user name, display name and roles."""
    errors: dict[str, str] = {}
    name = normalise_username(username)
    display = (display_name or "").strip()
    role_list: list[str] = []
    for check in (
        lambda: check_username(username),
        lambda: check_password(password, name),
        lambda: role_list.extend(_check_roles(roles)),
    ):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if repeat is not None and password != repeat and "password" not in errors:
        errors["password"] = _("Die beiden Passwörter stimmen nicht überein.")
    if not display:
        errors["display_name"] = _("Der Anzeigename fehlt.")
    elif len(display) > MAX_DISPLAY_NAME:
        errors["display_name"] = _("Der Anzeigename darf höchstens {n} Zeichen lang sein.").format(
            n=MAX_DISPLAY_NAME
        )
    if errors:
        raise ValidationError(errors)
    return name, display, role_list


# --- writes -----------------------------------------------------------------------------------------------


def add_user(
    ctx: ServiceContext,
    username: str,
    display_name: str,
    password: str,
    roles: Iterable[str],
    team_id: str | None = None,
    email: str | None = None,
) -> UserView:
    require(ctx.actor, "users.manage")
    name, display, role_list = validate_account(username, display_name, password, roles)
    password_hash = None if server_roles.is_server(ctx.database) else hasher.hash(password)
    with ctx.write() as session:
        taken = session.scalar(
            select(func.count()).select_from(UserAccount).where(UserAccount.username == name)
        )
        if taken:
            raise ValidationError({"username": _("Dieser Benutzername ist bereits vergeben.")})
        if team_id is not None and session.get(Team, team_id) is None:
            raise NotFoundError(_("Team nicht gefunden."))
        user = UserAccount(
            username=name,
            display_name=display,
            email=(email or "").strip() or None,
            team_id=team_id,
            active=True,
            failed_logins=0,
        )
        user.roles = [UserRole(role=r) for r in role_list]
        server = server_roles.is_server(ctx.database)
        if server:
            # The office server checks the password itself (the account's own database role); no hash here.
            user.db_role = server_roles.login_role(name)
        session.add(user)
        session.flush()
        if server:
            server_roles.create_login(session, user.db_role, password, role_list)
        else:
            # The hash goes in with a plain UPDATE: never into the change history.
            session.execute(
                update(UserAccount).where(UserAccount.id == user.id).values(password_hash=password_hash)
            )
        # Encrypted database: the new account's key slot (before the commit; an orphan slot of a rolled-back
        # account opens nothing the administrator could not open anyway and is replaced on a retry).
        login.write_slot(ctx.database, user.id, name, password)
        return _view(user, _team_names(session))


def _active_admins(session) -> int:
    return session.scalar(
        select(func.count(func.distinct(UserAccount.id)))
        .join(UserRole, UserRole.user_id == UserAccount.id)
        .where(UserRole.role == ADMIN, UserAccount.active.is_(True), UserAccount.deleted_at.is_(None))
    )


def disable_user(ctx: ServiceContext, user_id: str) -> UserView:
    """Disable an account (it can no longer log in; its cases and history stay). Never the last active admin."""
    require(ctx.actor, "users.manage")
    with ctx.write() as session:
        user = session.get(UserAccount, user_id)
        if user is None or user.deleted_at is not None:
            raise NotFoundError(_("Benutzer nicht gefunden."))
        if user.active:
            if ADMIN in {r.role for r in user.roles} and _active_admins(session) <= 1:
                raise UserError(
                    _(
                        "Das letzte aktive Konto mit der Rolle Administration kann nicht deaktiviert werden. "
                        "Zuerst einem anderen Konto diese Rolle geben."
                    )
                )
            user.active = False
            session.flush()
            if user.db_role and server_roles.is_server(ctx.database):
                server_roles.disable_login(session, user.db_role)
            login.remove_slot(ctx.database, user.id)
        return _view(user, _team_names(session))


def reset_password(ctx: ServiceContext, user_id: str, new_password: str) -> None:
    """Set a new password for an account (admin action); also lifts a login lock."""
    require(ctx.actor, "users.manage")
    with ctx.write() as session:
        user = session.get(UserAccount, user_id)
        if user is None or user.deleted_at is not None:
            raise NotFoundError(_("Benutzer nicht gefunden."))
        check_password(new_password, user.username)
        if server_roles.is_server(ctx.database):
            # The server's role gets the password; an account from before server logins gets its role now.
            if user.db_role:
                server_roles.set_password(session, user.db_role, new_password)
            else:
                role = server_roles.login_role(user.username)
                session.execute(update(UserAccount).where(UserAccount.id == user_id).values(db_role=role))
                server_roles.create_login(session, role, new_password, [r.role for r in user.roles])
                if not user.active:
                    server_roles.disable_login(session, role)
            new_hash = None
        else:
            new_hash = hasher.hash(new_password)
        session.execute(
            update(UserAccount)
            .where(UserAccount.id == user_id)
            .values(password_hash=new_hash, failed_logins=0, locked_until=None)
        )
        audit.record(
            session, "update", entity_type="user_account", entity_id=user_id, detail={"field": "password"}
        )
        if user.active:
            login.write_slot(ctx.database, user.id, user.username, new_password)


# --- login ------------------------------------------------------------------------------------------------


def _verify(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = hasher.hash("kim-desktop-dummy-password")
        password_hash = _dummy_hash
        try:  # same work as for a real account, so the time taken does not tell
            hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(database, username: str, password: str, now: datetime | None = None) -> Actor:
    """Check username and password; the acting user on success, ``AuthenticationError`` otherwise."""
    now = _aware(now) or datetime.now(UTC)
    name = normalise_username(username)
    actor: Actor | None = None
    with database.session() as session:
        session.info["user_id"] = None
        user = session.scalar(
            select(UserAccount).where(UserAccount.username == name, UserAccount.deleted_at.is_(None))
        )
        usable = user is not None and user.active and user.password_hash is not None
        locked = usable and user.locked_until is not None and _aware(user.locked_until) > now
        ok = _verify(user.password_hash if usable else None, password or "")
        if usable and ok and not locked:
            values: dict = {"failed_logins": 0, "locked_until": None}
            if hasher.check_needs_rehash(user.password_hash):
                values["password_hash"] = hasher.hash(password)
            session.execute(update(UserAccount).where(UserAccount.id == user.id).values(**values))
            audit.record(session, "login", user_id=user.id, entity_type="user_account", entity_id=user.id)
            actor = Actor(user.id, user.display_name, frozenset(r.role for r in user.roles))
        elif user is not None:
            detail = None
            if usable and not locked:
                failures = (user.failed_logins or 0) + 1
                duration = lock_duration(failures)
                session.execute(
                    update(UserAccount)
                    .where(UserAccount.id == user.id)
                    .values(failed_logins=failures, locked_until=now + duration if duration else None)
                )
                detail = {"failures": failures}
            elif locked:
                detail = {"locked": True}
            audit.record(
                session,
                "login_failed",
                user_id=user.id,
                entity_type="user_account",
                entity_id=user.id,
                detail=detail,
            )
        else:
            audit.record(session, "login_failed", user_id=None)
    if actor is None:
        raise AuthenticationError()
    return actor
