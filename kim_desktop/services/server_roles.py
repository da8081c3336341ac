"""The office server (PostgreSQL): one database role per user, and the acting user of a server login. No Qt.

Every user logs in with their own PostgreSQL role ``kim_<username>`` (``user_account.db_role``), a member of
``kim_user`` and of the group role of each app role (``kim_case_management``, ``kim_team_lead``,
``kim_reception``, ``kim_admin``, made by migration 0011). The server checks the password; the program maps
the connected role (``session_user``) to its account and builds the ``Actor`` from the account's roles, and
row-level security in the database shows that role the same rows the program would (decision record 013).

Logins are made and changed through SECURITY DEFINER functions of the schema (``kim_create_login``,
``kim_set_login_password``, ``kim_disable_login``): administrators need no CREATEROLE themselves, the functions
touch only roles named ``kim_…`` that belong to KIM Desktop, and the password travels as a SCRAM-SHA-256
verifier computed by libpq on this computer, never as plain text (not in the server's statement log either).

The schema owner's connection (the URL's user owns the tables, or is a superuser) is the maintenance
connection: migrations, ``init``, the first administrator. It acts as ``Actor.local()``.
"""

from __future__ import annotations

import logging

from sqlalchemy import literal_column, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ..db.engine import DatabaseLocation, open_database
from ..db.models import UserAccount
from ..errors import UserError
from ..i18n import _
from . import audit
from .context import Actor, ServiceContext

log = logging.getLogger(__name__)

LOGIN_PREFIX = "kim_"


def login_role(username: str) -> str:
    """The PostgreSQL role of a KIM user name (``anna.b`` → ``kim_anna.b``; at most 44 characters)."""
    return LOGIN_PREFIX + (username or "").strip().lower()


def is_server(database) -> bool:
    return database.engine.dialect.name == "postgresql"


def _verifier(session, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` for ``role`` (libpq's PQencryptPasswordConn, with SASLprep)."""
    pgconn = session.connection().connection.dbapi_connection.pgconn
    return pgconn.encrypt_password(password.encode("utf-8"), role.encode("utf-8"), b"scram-sha-256").decode()


def _call(session, statement: str, params: dict) -> None:
    """Run a login function inside the caller's transaction; its refusals become one German line."""
    try:
        with session.begin_nested():
            session.execute(text(statement), params)
    except DBAPIError as exc:
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        log.warning("server login change refused (%s)", code)
        if code == "42710":
            raise UserError(
                _(
                    "Auf dem Datenbankserver gibt es schon eine Rolle mit diesem Namen, die nicht zu KIM Desktop "
                    "gehört. Bitte einen anderen Benutzernamen wählen oder die IT fragen."
                )
            ) from None
        if code == "42704":
            raise UserError(_("Für dieses Konto gibt es keine Anmeldung am Datenbankserver.")) from None
        if code == "42501":
            raise UserError(
                _(
                    "Keine Berechtigung, Anmeldungen am Datenbankserver anzulegen oder zu ändern. Das dürfen "
                    "Konten mit der Rolle Administration; die Datenbankrolle, der die Tabellen gehören, braucht "
                    "dafür das Recht CREATEROLE (bitte die IT fragen)."
                )
            ) from None
        raise


def create_login(session, role: str, password: str, app_roles) -> None:
    """A LOGIN role for a new account, member of ``kim_user`` and of the group role of each app role."""
    _call(
        session,
        "SELECT kim_create_login(:login, :verifier, :roles)",
        {"login": role, "verifier": _verifier(session, role, password), "roles": list(app_roles)},
    )


def set_password(session, role: str, password: str) -> None:
    _call(
        session,
        "SELECT kim_set_login_password(:login, :verifier)",
        {"login": role, "verifier": _verifier(session, role, password)},
    )


def disable_login(session, role: str) -> None:
    """The role can no longer connect (NOLOGIN); its open sessions see nothing more (the policies need an
    active account)."""
    _call(session, "SELECT kim_disable_login(:login)", {"login": role})


# --- logging in ---------------------------------------------------------------------------------------------


def _is_owner(session) -> bool:
    return bool(
        session.execute(
            text(
                "SELECT r.rolsuper OR pg_has_role(session_user, t.tableowner, 'MEMBER') "
                "FROM pg_roles r, pg_tables t WHERE r.rolname = session_user "
                "AND t.schemaname = current_schema() AND t.tablename = 'user_account'"
            )
        ).scalar()
    )


def server_actor(database) -> Actor:
    """The acting user of a server connection: the account whose ``db_role`` is the connected role (the login
    is written to the audit trail), ``Actor.local()`` for the schema owner."""
    from .users import AuthenticationError

    with database.session() as session:
        user = session.scalar(
            select(UserAccount).where(
                UserAccount.db_role == literal_column("session_user"), UserAccount.deleted_at.is_(None)
            )
        )
        if user is None:
            if _is_owner(session):
                return Actor.local()
            raise UserError(
                _(
                    "Diese Anmeldung am Datenbankserver gehört zu keinem Benutzerkonto von KIM Desktop. Bitte "
                    "mit dem eigenen Benutzernamen anmelden oder die Administration fragen."
                )
            )
        if not user.active:
            raise AuthenticationError()
        audit.record(session, "login", user_id=user.id, entity_type="user_account", entity_id=user.id)
        return Actor(user.id, user.display_name, frozenset(r.role for r in user.roles))


def server_url(location: DatabaseLocation, username: str | None, password: str | None) -> str:
    """The server URL with the user's own role and password (the URL names the server and the database)."""
    url = make_url(location.url)
    if username:
        url = url.set(username=login_role(username))
    if password is not None:
        url = url.set(password=password)
    return url.render_as_string(hide_password=False)


def open_server_context(
    location: DatabaseLocation,
    *,
    username: str | None = None,
    password: str | None = None,
    create: bool = False,
    migrate: bool = True,
) -> ServiceContext:
    """Connect as the user's own role (``KIM_USER``/``KIM_DB_PASSWORD`` or the login dialog), or as the URL's
    user when no user name is given, and find the acting user."""
    database = open_database(server_url(location, username, password), create=create, migrate=migrate)
    try:
        actor = server_actor(database)
    except BaseException:
        database.dispose()
        raise
    return ServiceContext(database, actor)
