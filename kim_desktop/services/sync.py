"""Laptop replica and sync ("Für unterwegs mitnehmen", issue 9). No Qt.

* ``checkout`` copies the chosen cases (default: the user's active caseload) with their persons and rows, the
  directory, code lists, settings and templates from the office database into a new encrypted SQLite file
  with its own random key, wrapped with the user's password: login works offline.
* ``sync`` first pulls the office's changes since the replica's cursor (``change_record.seq`` of the office,
  never a clock), then pushes the replica's own changes (its ``change_record`` rows that are not yet synced).
  Changes travel field by field with their base value: a field changed on one side is taken over; a field
  changed on both sides since the common base goes to the conflict inbox (``sync_conflict``) with both
  values. Deletions are tombstones (``deleted_at``) and travel as fields.
* Every step is one transaction per side, and every step is idempotent: the pull cursor moves in the same
  local transaction that applies the pulled rows; a push is recorded on the office side per replica change
  (``sync_receipt``) in the transaction that applies it, so a push repeated after a dropped connection
  returns the recorded outcome instead of applying twice.

See docs/decisions/014-sync.md for the design and its limits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    Time,
    and_,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from ..db.base import Base, Entity
from ..db.engine import Database, open_database, resolve_location, translate_db_error
from ..db.models import (
    Case,
    CaseShare,
    ChangeRecord,
    ReplicaState,
    Setting,
    SyncConflict,
    SyncReceipt,
    UserAccount,
)
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _
from .context import Actor, ServiceContext

log = logging.getLogger(__name__)

OFFICE_ID_KEY = "office_id"
DEFAULT_BATCH = 2000
_CHUNK = 500

#: Tables that never leave the office database or never enter it from a replica.
_NOT_SYNCED = {
    "alembic_version", "audit_event", "deletion_protocol", "change_record", "key_slot", "replica_state",
    "sync_conflict", "sync_receipt", "import_batch", "import_batch_person", "search_key",
}  # fmt: skip
#: Copied whole: the directory, code lists, settings, templates, accounts and places.
GLOBAL_TABLES = (
    "team", "user_account", "user_role", "code_entry", "setting", "provider", "provider_contact", "offer",
    "location", "office_hours", "interpreter", "letter_template", "import_mapping",
)  # fmt: skip
#: Rows without a change history that follow their parent: (child table, column naming the parent, kind).
#: ``set``: the child rows are replaced by the other side's when the parent travels; ``log``: append-only,
#: rows missing on one side are added.
CHILD_ROWS = {
    "person": [
        ("person_name_variant", "person_id", "set"),
        ("person_nationality", "person_id", "set"),
        ("person_language", "person_id", "set"),
        ("residence_status_change", "person_id", "log"),
    ],
    "case_file": [
        ("case_member", "case_id", "set"),
        ("case_share", "case_id", "set"),
        ("case_phase_change", "case_id", "log"),
    ],
    "appointment": [("appointment_participant", "appointment_id", "set")],
    "referral": [("referral_status_change", "referral_id", "log")],
    "household": [("household_member", "household_id", "set")],
}
#: Never compared or copied field by field (bookkeeping, secrets, login counters).
_SKIP_FIELDS = {"id", "version", "created_at", "updated_at", "password_hash", "failed_logins", "locked_until"}
#: Derived from other fields: copied along whenever a row's fields are applied.
_DERIVED_FIELDS = {"sort_name"}
#: Bookkeeping of who saved last: the later sync wins, never a conflict.
_LAST_WRITER_FIELDS = {"updated_by"}

Hook = Callable[[str], None]


def _tables():
    return {t.name: t for t in Base.metadata.sorted_tables}


def _rank() -> dict[str, int]:
    return {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


def _entity_tables() -> set[str]:
    return {m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, Entity)}


# --- values: one canonical text per value, typed values from text --------------------------------------


def canonical(column, value) -> str | None:
    """The value as text, equal on SQLite and PostgreSQL (datetimes in UTC without zone, JSON sorted)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if column is not None and isinstance(column.type, JSON) and isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def same(column, a, b) -> bool:
    """Equal values; two tombstones count as one deletion, whenever each side deleted."""
    if column is not None and column.name == "deleted_at":
        return (a is None) == (b is None)
    return canonical(column, a) == canonical(column, b)


def from_text(column, value: str | None):
    """The typed value of a change record's text for ``column``."""
    if value is None:
        return None
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            return value == "true"
        if isinstance(kind, Integer):
            return int(value)
        if isinstance(kind, DateTime):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(kind, Date):
            return date.fromisoformat(value[:10])
        if isinstance(kind, Time):
            return time.fromisoformat(value)
        if isinstance(kind, JSON):
            return json.loads(value)
    except (ValueError, TypeError):
        return value
    return value


def canonical_text(column, value: str | None) -> str | None:
    if column is not None and isinstance(column.type, LargeBinary):
        return value
    return canonical(column, from_text(column, value))


def _for_target(row: dict, table, dialect: str) -> dict:
    """PostgreSQL reads a naive timestamp in its session zone: KIM stores UTC, so say so."""
    if dialect != "postgresql":
        return row
    out = dict(row)
    for name, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is None and isinstance(table.c[name].type, DateTime):
            out[name] = value.replace(tzinfo=UTC)
    return out


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rows_where_in(conn, table, column: str, ids: Iterable) -> list[dict]:
    ids = [i for i in set(ids) if i is not None]
    out: list[dict] = []
    for chunk in _chunks(ids):
        out += [dict(r._mapping) for r in conn.execute(select(table).where(table.c[column].in_(chunk)))]
    return out


def _existing_ids(conn, table, ids: Iterable) -> set:
    ids = [i for i in set(ids) if i is not None]
    found: set = set()
    for chunk in _chunks(ids):
        found.update(conn.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
    return found


def _pk(table, row: dict) -> tuple:
    return tuple(row[c.name] for c in table.primary_key.columns)


# --- messages -------------------------------------------------------------------------------------------


def _already_running() -> UserError:
    return UserError(
        _(
            "Für diese Replik läuft bereits eine Synchronisierung. Bitte warten Sie, bis sie fertig ist, "
            "und starten Sie sie dann erneut; nichts wurde geändert."
        )
    )


def _foreign_office() -> UserError:
    return UserError(
        _(
            "Diese Replik stammt aus einer anderen Dienststelle als die angegebene Datenbank. Es wurde nichts "
            "übertragen; bitte prüfen Sie die Serveradresse."
        )
    )


def _not_a_replica() -> UserError:
    return UserError(
        _(
            "Diese Datenbank ist keine Replik für unterwegs. Bitte zuerst mit „kim-desktop checkout“ Fälle "
            "mitnehmen."
        )
    )


# --- locks ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock beside the replica; released by the OS if the process dies."""
    lock_path = path.with_name(path.name + ".sync-lock")
    handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the whole sync
    try:
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise _already_running() from None
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def _server_lock(remote: Database, replica_id: str) -> Iterator[None]:
    """On PostgreSQL: an advisory lock per replica for the whole sync (two copies of one replica, two
    programs). A SQLite office file is guarded by its own write lock per transaction."""
    if remote.engine.dialect.name != "postgresql":
        yield
        return
    key = int.from_bytes(hashlib.sha256(f"kim-sync:{replica_id}".encode()).digest()[:8], "big", signed=True)
    connection = remote.engine.connect()
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        connection.commit()
        if not got:
            raise _already_running()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()
    finally:
        connection.close()


# --- office side helpers --------------------------------------------------------------------------------


def office_id_of(database: Database, *, create: bool = False) -> str | None:
    with database.session() as session:
        value = session.scalar(select(Setting.value).where(Setting.key == OFFICE_ID_KEY))
        if isinstance(value, str) and value:
            return value
        if not create:
            return None
        value = uuid.uuid4().hex
        session.add(Setting(key=OFFICE_ID_KEY, value=value))
        try:
            session.flush()
        except DBAPIError:
            raise UserError(
                _(
                    "Die Bürodatenbank hat noch keine Kennung der Dienststelle. Bitte einmal als Administrator/in "
                    "Fälle mitnehmen oder eine Sicherung anlegen; danach geht es für alle."
                )
            ) from None
        return value


#: How long a pull waits for office transactions that were writing when it looked (seconds).
PG_WAIT_S = 20.0


def _safe_max_seq(remote: Database, floor: int = 0) -> int:
    """The highest change number below which every office transaction has committed.

    PostgreSQL hands out sequence numbers before commit, so a later number can commit first and an earlier
    one would be skipped for good. The highest visible number is read together with the snapshot's ``xmax``;
    every transaction that could still commit a lower number has an id below it, so the pull waits until the
    oldest running transaction is past it (a moment; no lock, no privilege beyond reading the change log).

    With the user's own role, row security shows only the change records of rows the user may see (migration
    0012): the highest *visible* number is the right bound, a hidden change is outside this replica's scope.
    Only numbers above ``floor`` (the replica's cursor) are looked at, so the search for the highest visible
    number never walks back over hidden records older than the cursor; nothing visible above it gives
    ``floor``.
    """
    import time as _time

    with remote.engine.connect() as connection:
        if remote.engine.dialect.name != "postgresql":
            value = connection.execute(select(func.max(ChangeRecord.seq))).scalar() or 0
            connection.commit()
            return max(int(value), floor)
        horizon, value = connection.execute(
            text(
                "SELECT pg_snapshot_xmax(pg_current_snapshot())::text,"
                " (SELECT max(seq) FROM change_record WHERE seq > :floor)"
            ),
            {"floor": floor},
        ).one()
        connection.commit()
        deadline = _time.monotonic() + PG_WAIT_S
        while True:
            oldest = connection.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")).scalar()
            connection.commit()
            if int(oldest) >= int(horizon):
                return max(int(value or 0), floor)
            if _time.monotonic() > deadline:
                raise UserError(
                    _(
                        "Im Büro wird gerade eine längere Änderung gespeichert. Bitte in einer Minute erneut "
                        "synchronisieren; nichts wurde verändert."
                    )
                )
            _time.sleep(0.05)


#: Migration 0012: the policy that lets a case role read the change records of the rows it may see.
FEED_FUNCTION = "kim_visible_entity(text, character varying)"
FEED_POLICY = "kim_sync_feed"


def _check_feed_readable(remote: Database) -> None:
    """With the user's own database role, row security (decision 013) shows only part of the server's change
    log. That is enough when the server has the sync feed of migration 0012 (the change records of every row
    the user may see, whoever changed it); without it a sync would quietly miss the colleagues' changes of the
    user's cases. Refuse then, before anything is read or written."""
    if remote.engine.dialect.name != "postgresql":
        return
    with remote.engine.connect() as connection:
        limited, feed = connection.execute(
            text(
                "SELECT c.relrowsecurity AND NOT (pg_has_role(c.relowner, 'USAGE') OR r.rolsuper OR r.rolbypassrls),"
                " to_regprocedure(:function) IS NOT NULL"
                " AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = :policy)"
                " FROM pg_class c, pg_roles r WHERE c.oid = 'change_record'::regclass AND r.rolname = current_user"
            ),
            {"function": FEED_FUNCTION, "policy": FEED_POLICY},
        ).one()
        connection.commit()
    if limited and not feed:
        raise UserError(
            _(
                "Der Abgleich mit Ihrer eigenen Anmeldung braucht auf dem Server eine neuere Fassung der "
                "Bürodatenbank (Lesezugriff auf das Änderungsprotokoll Ihrer Fälle). Die Administration oder die "
                "IT kann sie mit „kim-desktop init“ aktualisieren; nichts wurde geändert."
            )
        )


def _open_remote(remote_url: str, username: str | None = None, password: str | None = None) -> Database:
    """The office database; on the server as the user's own database role when the URL names no database
    user and a user name is given (row security then applies, decision 013)."""
    from sqlalchemy.engine import make_url

    location = resolve_location(remote_url)
    from .login import is_encrypted, is_server_url

    if username and password and is_server_url(location) and not make_url(location.url).username:
        from .server_roles import server_url

        remote_url = server_url(location, username, password)

    if is_encrypted(location):
        raise UserError(
            _(
                "Die Bürodatenbank ist eine verschlüsselte Einzelplatzdatei. Für unterwegs mitnehmen und "
                "synchronisieren geht nur mit der Bürodatenbank auf dem Server (PostgreSQL) oder einer "
                "unverschlüsselten Datei."
            )
        )
    database = open_database(remote_url, create=False, migrate=False)
    try:
        _check_feed_readable(database)
        with database.read_session() as session:
            if database.engine.dialect.name != "postgresql" and session.scalar(
                select(func.count()).select_from(ReplicaState)
            ):
                raise UserError(
                    _("Die angegebene Gegenstelle ist selbst eine Replik, nicht die Bürodatenbank.")
                )
    except BaseException:
        database.dispose()
        raise
    return database


# --- the scope of a replica -----------------------------------------------------------------------------


def caseload_case_ids(conn, user_id: str, today: date | None = None) -> list[str]:
    """The user's active caseload: own open cases and cases shared with the user (not expired)."""
    today = today or date.today()
    cases = Case.__table__
    shares = CaseShare.__table__
    shared = select(shares.c.case_id).where(
        shares.c.user_id == user_id, or_(shares.c.until.is_(None), shares.c.until >= today)
    )
    return list(
        conn.execute(
            select(cases.c.id)
            .where(
                or_(cases.c.case_manager_id == user_id, cases.c.id.in_(shared)),
                cases.c.phase != "closed",
                cases.c.deleted_at.is_(None),
            )
            .order_by(cases.c.id)
        ).scalars()
    )


def collect_scope(conn, case_ids: Iterable[str], *, with_global: bool = True) -> dict[str, list[dict]]:
    """Every row a replica of ``case_ids`` holds, per table (references outside are fixed by the caller)."""
    t = _tables()
    rows: dict[str, list[dict]] = defaultdict(list)
    cases = _rows_where_in(conn, t["case_file"], "id", case_ids)
    case_set = {c["id"] for c in cases}
    rows["case_file"] = cases
    members = _rows_where_in(conn, t["case_member"], "case_id", case_set)
    person_set = {c["person_id"] for c in cases} | {m["person_id"] for m in members}
    rows["case_member"] = members
    rows["person"] = _rows_where_in(conn, t["person"], "id", person_set)
    for name in ("person_name_variant", "person_nationality", "person_language", "residence_status_change",
                 "consent", "search_key"):  # fmt: skip
        rows[name] = _rows_where_in(conn, t[name], "person_id", person_set)
    rows["person_relation"] = [
        r for r in _rows_where_in(conn, t["person_relation"], "person_id", person_set)
        if r["related_person_id"] in person_set
    ]  # fmt: skip
    household_members = _rows_where_in(conn, t["household_member"], "person_id", person_set)
    household_ids = {c["household_id"] for c in cases if c["household_id"]} | {
        m["household_id"] for m in household_members
    }
    rows["household"] = _rows_where_in(conn, t["household"], "id", household_ids)
    rows["household_member"] = household_members
    for name in ("case_share", "case_phase_change", "assessment", "goal", "follow_up", "structural_finding",
                 "appointment", "referral"):  # fmt: skip
        rows[name] = _rows_where_in(conn, t[name], "case_id", case_set)
    for name in ("journal_entry", "document"):
        by_case = _rows_where_in(conn, t[name], "case_id", case_set)
        by_person = [
            r for r in _rows_where_in(conn, t[name], "person_id", person_set) if r["case_id"] is None
        ]
        rows[name] = by_case + by_person
    rows["step"] = _rows_where_in(conn, t["step"], "goal_id", {g["id"] for g in rows["goal"]})
    rows["appointment_participant"] = [
        r
        for r in _rows_where_in(
            conn, t["appointment_participant"], "appointment_id", {a["id"] for a in rows["appointment"]}
        )
        if r["person_id"] in person_set
    ]
    rows["referral_status_change"] = _rows_where_in(
        conn, t["referral_status_change"], "referral_id", {r["id"] for r in rows["referral"]}
    )
    if with_global:
        for name in GLOBAL_TABLES:
            rows[name] = [dict(r._mapping) for r in conn.execute(select(t[name]))]
    return rows


def _fix_references(rows: dict[str, list[dict]], known: Callable[[str, set], set]) -> dict[str, list[dict]]:
    """Rows whose references point outside the copy: a nullable reference becomes empty, a row whose
    required parent is missing stays behind. ``known(table, ids)`` says which ids exist on the target."""
    t = _tables()
    ids = {name: {r["id"] for r in rs} for name, rs in rows.items() if "id" in t[name].c}
    changed = True
    while changed:
        changed = False
        for name, table in t.items():
            if not rows.get(name):
                continue
            kept = []
            for row in rows[name]:
                ok = True
                for column in table.c:
                    for fk in column.foreign_keys:
                        value = row.get(column.name)
                        target = fk.column.table.name
                        if value is None or value in ids.get(target, ()):
                            continue
                        if value in known(target, {value}):
                            continue
                        if column.nullable:
                            row[column.name] = None
                        else:
                            ok = False
                if ok:
                    kept.append(row)
            if len(kept) != len(rows[name]):
                changed = True
                rows[name] = kept
                if name in ids:
                    ids[name] = {r["id"] for r in kept}
    return rows


# --- checkout -------------------------------------------------------------------------------------------


@dataclass
class CheckoutResult:
    path: Path
    replica_id: str
    cases: int
    persons: int
    rows: int

    def to_json(self) -> dict:
        return {"path": str(self.path), "replica_id": self.replica_id, "cases": self.cases,
                "persons": self.persons, "rows": self.rows}  # fmt: skip


def _authenticate_remote(remote: Database, username: str | None, password: str | None) -> Actor:
    from .users import AuthenticationError, _verify, normalise_username

    if not username or not password:
        raise UserError(
            _(
                "Bitte Benutzername und Passwort angeben (KIM_USER und KIM_DB_PASSWORD): mit ihnen wird die "
                "Replik verschlüsselt und die Anmeldung unterwegs geprüft."
            )
        )
    with remote.read_session() as session:
        user = session.scalar(
            select(UserAccount).where(
                UserAccount.username == normalise_username(username), UserAccount.deleted_at.is_(None)
            )
        )
        active = user is not None and user.active
        if (
            active
            and user.db_role
            and remote.engine.dialect.name == "postgresql"
            and session.scalar(select(literal_column("session_user"))) == user.db_role
        ):
            return Actor(user.id, user.display_name, frozenset(r.role for r in user.roles))  # server checked
        if (
            active
            and user.password_hash is None
            and user.db_role
            and remote.engine.dialect.name == "postgresql"
        ):
            # The office server: accounts log in with their own database role (decision record 013).
            if not _server_login_works(remote, user.db_role, password):
                raise AuthenticationError()
        elif not (_verify(user.password_hash if active else None, password) and active):
            raise AuthenticationError()
        return Actor(user.id, user.display_name, frozenset(r.role for r in user.roles))


def _server_login_works(remote: Database, role: str, password: str) -> bool:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(remote.location.url).set(username=role, password=password)
    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except DBAPIError as exc:
        message = str(getattr(exc, "orig", exc)).lower()
        if "password" in message or "authentication" in message or "not permitted to log in" in message:
            return False
        raise translate_db_error(exc) from None
    finally:
        engine.dispose()


def checkout(
    remote_url: str,
    replica: str | os.PathLike,
    username: str | None,
    password: str | None,
    *,
    case_ids: Iterable[str] | None = None,
    person_ids: Iterable[str] | None = None,
    name: str | None = None,
) -> CheckoutResult:
    """Make the encrypted replica ``replica`` of the chosen cases (default: the user's active caseload)."""
    from ..db.keyslots import KeyFile, keyfile_path, new_database_key
    from .permissions import allowed, visible_case_clause

    location = resolve_location(replica)
    if location.path is None:
        raise UserError(_("Eine Replik ist immer eine lokale Datei; bitte mit --db einen Dateipfad angeben."))
    path = location.path
    if path.exists() and path.stat().st_size > 0:
        raise UserError(
            _(
                "Die Replik gibt es schon: {path}. Bitte synchronisieren oder eine andere Datei wählen."
            ).format(path=path)
        )
    remote = _open_remote(remote_url, username, password)
    created: list[Path] = []
    try:
        actor = _authenticate_remote(remote, username, password)
        if not allowed(actor, "case.read"):
            raise UserError(_("Ihr Benutzerkonto darf keine Fälle sehen; es gibt nichts mitzunehmen."))
        office = office_id_of(remote, create=True)
        cursor = _safe_max_seq(remote)
        chosen = list(dict.fromkeys(case_ids or []))
        persons = list(dict.fromkeys(person_ids or []))
        with remote.read_session() as session:
            conn = session.connection()
            scope_kind = "chosen" if chosen or persons else "caseload"
            if persons:
                cases_t = Case.__table__
                members_t = _tables()["case_member"]
                chosen += list(
                    conn.execute(
                        select(cases_t.c.id).where(
                            or_(
                                cases_t.c.person_id.in_(persons),
                                cases_t.c.id.in_(
                                    select(members_t.c.case_id).where(members_t.c.person_id.in_(persons))
                                ),
                            ),
                            cases_t.c.deleted_at.is_(None),
                        )
                    ).scalars()
                )
                if not chosen:
                    raise NotFoundError(_("Zu den angegebenen Personen gibt es keine Fälle."))
            if not chosen and scope_kind == "caseload":
                chosen = caseload_case_ids(conn, actor.user_id)
            chosen = list(dict.fromkeys(chosen))
            clause = visible_case_clause(actor)
            query = select(Case.id).where(Case.id.in_(chosen), Case.deleted_at.is_(None))
            if clause is not None:
                query = query.where(clause)
            visible = set(session.scalars(query))
            missing = [c for c in chosen if c not in visible]
            if missing:
                raise NotFoundError(
                    _("{n} der gewählten Fälle gibt es nicht oder Sie dürfen sie nicht sehen.").format(
                        n=len(missing)
                    )
                )
            rows = collect_scope(conn, chosen)
        rows = _fix_references(rows, lambda _t, _ids: set())
        for account in rows["user_account"]:  # only the owner's password hash travels
            if account["id"] != actor.user_id:
                account["password_hash"] = None
            account["failed_logins"], account["locked_until"] = 0, None

        key = new_database_key()
        keys = KeyFile.new(keyfile_path(path))
        user_row = next(a for a in rows["user_account"] if a["id"] == actor.user_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys.set_slot(key, actor.user_id, user_row["username"], password)
        keys.save()
        created.append(keys.path)
        database = open_database(path, create=True, key=key)
        created.append(path)
        replica_id = str(uuid.uuid4())
        total = 0
        try:
            with database.session() as session:
                conn = session.connection()
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
                conn.execute(delete(_tables()["code_entry"]))  # the seeded lists give way to the office's
                conn.execute(delete(_tables()["setting"]))
                for table in Base.metadata.sorted_tables:
                    batch = rows.get(table.name)
                    if batch:
                        conn.execute(insert(table), batch)
                        total += len(batch)
                record_child_base(conn)
                conn.execute(
                    insert(ReplicaState.__table__),
                    [{
                        "id": replica_id, "name": name or _("Laptop"), "server_url": _display_url(remote_url),
                        "last_pushed_seq": 0, "last_pulled_seq": cursor, "case_ids": sorted(r["id"] for r in rows["case_file"]),
                        "office_id": office, "user_id": actor.user_id,
                        "person_ids": sorted(r["id"] for r in rows["person"]), "scope": scope_kind,
                        "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC),
                    }],
                )  # fmt: skip
        finally:
            database.dispose()
        log.info("replica made: %d cases, %d rows", len(rows["case_file"]), total)
        return CheckoutResult(path, replica_id, len(rows["case_file"]), len(rows["person"]), total)
    except DBAPIError as exc:
        _remove(created, path)
        raise translate_db_error(exc) from None
    except BaseException:
        _remove(created, path)
        raise
    finally:
        remote.dispose()


def _remove(created: list[Path], path: Path) -> None:
    for leftover in [*created, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]:
        if leftover.exists():
            leftover.unlink()


def _display_url(url: str) -> str:
    return resolve_location(url).display()


# --- sync -----------------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    purged_cases: int = 0
    added_cases: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"pushed": self.pushed, "pulled": self.pulled, "conflicts": self.conflicts}


def _replica_state(session) -> ReplicaState:
    state = session.scalar(select(ReplicaState))
    if state is None:
        raise _not_a_replica()
    return state


def sync(
    ctx: ServiceContext,
    remote_url: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    hook: Hook | None = None,
    username: str | None = None,
    password: str | None = None,
) -> SyncResult:
    """Pull the office's changes, push the replica's; see the module docstring. ``username``/``password``:
    on the office server, connect as the user's own database role."""
    local = ctx.database
    if local.location.path is None:
        raise _not_a_replica()
    with local.read_session() as session:
        state = _replica_state(session)
        replica_id, office = state.id, state.office_id
    result = SyncResult()
    with _file_lock(local.location.path):
        remote = _open_remote(remote_url, username, password)
        try:
            if office_id_of(remote) != office:
                raise _foreign_office()
            with _server_lock(remote, replica_id):
                _clock_check(remote, result)
                _reconcile(ctx, remote, replica_id, result)
                _pull(ctx, remote, replica_id, office, batch_size, hook, result)
                _push(ctx, remote, replica_id, batch_size, hook, result)
                _sync_children(ctx, remote, result)
                _follow_caseload(ctx, remote, result)
                with ctx.write() as session:
                    session.execute(
                        update(ReplicaState.__table__)
                        .where(ReplicaState.__table__.c.id == replica_id)
                        .values(last_sync_at=datetime.now(UTC))
                    )
        except DBAPIError as exc:
            raise translate_db_error(exc) from None
        finally:
            remote.dispose()
    return result


def _clock_check(remote: Database, result: SyncResult) -> None:
    """Order never depends on clocks; a wrong clock only gets a warning (the times it writes are wrong)."""
    now = datetime.now(UTC)
    with remote.engine.connect() as connection:
        if remote.engine.dialect.name == "postgresql":
            office_now = connection.execute(text("SELECT now()")).scalar()
        else:
            office_now = connection.execute(select(func.max(ChangeRecord.at))).scalar()
            if office_now is not None and office_now.replace(tzinfo=UTC) <= now:
                office_now = None  # a file's newest change only tells when this clock is behind it
    if office_now is None:
        return
    office_now = office_now if office_now.tzinfo else office_now.replace(tzinfo=UTC)
    if abs(office_now - now) > timedelta(minutes=10):
        result.warnings.append(
            _(
                "Die Uhr dieses Rechners weicht deutlich von der des Büros ab. Die Synchronisierung ist davon "
                "nicht betroffen, aber Zeitangaben neuer Einträge können falsch sein: bitte Datum und Uhrzeit "
                "prüfen."
            )
        )


# --- pull -----------------------------------------------------------------------------------------------


def _pending(conn, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[dict]]:
    """The replica's own unsynced changes of the given rows, oldest first."""
    cr = ChangeRecord.__table__
    by_row: dict[tuple[str, str], list[dict]] = defaultdict(list)
    ids = list({k[1] for k in keys})
    for chunk in _chunks(ids):
        for r in conn.execute(
            select(cr)
            .where(cr.c.entity_id.in_(chunk), cr.c.origin.is_(None), cr.c.synced.is_(False))
            .order_by(cr.c.seq)
        ):
            by_row[(r.entity_type, r.entity_id)].append(dict(r._mapping))
    return by_row


def _upsert_conflict(conn, table_name, entity_id, field_name, base, local_value, remote_value) -> bool:
    """One open conflict per field: a new one, or the open one with the newest values. True if new."""
    sc = SyncConflict.__table__
    now = datetime.now(UTC)
    existing = conn.execute(
        select(sc.c.id).where(
            sc.c.entity_type == table_name, sc.c.entity_id == entity_id, sc.c.field == field_name,
            sc.c.resolved_at.is_(None),
        )
    ).scalar()  # fmt: skip
    if existing is not None:
        conn.execute(
            update(sc)
            .where(sc.c.id == existing)
            .values(local_value=local_value, remote_value=remote_value, updated_at=now)
        )
        return False
    conn.execute(
        insert(sc).values(
            id=str(uuid.uuid4()), entity_type=table_name, entity_id=entity_id, field=field_name,
            base_value=base, local_value=local_value, remote_value=remote_value, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return True


def _mark_synced(conn, seqs: Iterable[int]) -> None:
    cr = ChangeRecord.__table__
    for chunk in _chunks(sorted(set(seqs))):
        conn.execute(update(cr).where(cr.c.seq.in_(chunk)).values(synced=True))


def _in_scope(name: str, row: dict, case_ids: set, person_ids: set, local_exists) -> bool:
    if name in GLOBAL_TABLES:
        return True
    if name == "person":
        return row["id"] in person_ids
    if name == "case_file":
        return row["id"] in case_ids
    if row.get("case_id") in case_ids:
        return True
    if name in ("journal_entry", "document") and row.get("case_id") is None:
        return row.get("person_id") in person_ids
    if name == "consent":
        return row.get("person_id") in person_ids
    if name == "step":
        return bool(local_exists("goal", {row["goal_id"]}))
    return name == "provider_contact"


def _pull(
    ctx, remote: Database, replica_id: str, office: str, batch_size: int, hook, result: SyncResult
) -> None:
    cr = ChangeRecord.__table__
    entity_tables = _entity_tables()
    t = _tables()
    while True:
        with ctx.database.read_session() as session:
            cursor = _replica_state(session).last_pulled_seq
        safe = _safe_max_seq(remote, cursor)
        if safe <= cursor:
            break
        # Office side: what changed, and the rows as they are now.
        with remote.read_session() as rsession:
            rconn = rsession.connection()
            records = rconn.execute(
                select(cr.c.seq, cr.c.entity_type, cr.c.entity_id, cr.c.field, cr.c.operation)
                .where(
                    cr.c.seq > cursor, cr.c.seq <= safe, or_(cr.c.origin.is_(None), cr.c.origin != replica_id)
                )
                .order_by(cr.c.seq)
                .limit(batch_size)
            ).all()
            end = records[-1].seq if len(records) == batch_size else safe
            touched: dict[str, dict[str, set | None]] = defaultdict(dict)
            for r in records:
                if r.entity_type not in entity_tables:
                    continue
                fields = touched[r.entity_type].setdefault(r.entity_id, set())
                if fields is None:
                    continue
                if r.operation == "update" and r.field:
                    fields.add(r.field)
                else:
                    touched[r.entity_type][r.entity_id] = None  # insert/delete: the whole row
            office_rows = {
                name: {row["id"]: row for row in _rows_where_in(rconn, t[name], "id", ids)}
                for name, ids in touched.items()
            }
            office_children = {
                (name, child): _rows_where_in(rconn, t[child], column, touched[name])
                for name in touched
                for child, column, _kind in CHILD_ROWS.get(name, ())
            }
            globals_now = {
                name: [dict(r._mapping) for r in rconn.execute(select(t[name]))]
                for name in ("code_entry", "setting")
            }
        if hook:
            hook("pull_fetched")
        with ctx.write() as session:
            conn = session.connection()
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            state = _replica_state(session)
            case_ids, person_ids = set(state.case_ids or []), set(state.person_ids or [])
            pending = _pending(conn, [(n, i) for n, ids in touched.items() for i in ids])
            inserted: dict[str, set] = defaultdict(set)

            def local_exists(name, ids, _conn=conn, _inserted=inserted):
                return (set(ids) & _inserted[name]) | _existing_ids(_conn, t[name], ids)

            new_records: list[dict] = []
            reindex: set[str] = set()
            now = datetime.now(UTC)
            for table in Base.metadata.sorted_tables:
                name = table.name
                if name not in touched:
                    continue
                ids = list(touched[name])
                local_rows = {row["id"]: row for row in _rows_where_in(conn, table, "id", ids)}
                new_rows = []
                for entity_id in ids:
                    office_row, local_row = office_rows[name].get(entity_id), local_rows.get(entity_id)
                    mine = pending.get((name, entity_id), [])
                    if office_row is None:
                        if local_row is None:
                            continue
                        if mine:  # removed in the office, changed here: keep it and ask
                            for rec in mine:
                                if rec["field"]:
                                    column = table.c.get(rec["field"])
                                    if _upsert_conflict(conn, name, entity_id, rec["field"], rec["old_value"],
                                                        canonical(column, local_row.get(rec["field"])), None):  # fmt: skip
                                        result.conflicts += 1
                            _mark_synced(conn, [rec["seq"] for rec in mine])
                            continue
                        conn.execute(delete(table).where(table.c.id == entity_id))
                        new_records.append(_record(name, entity_id, "delete", None, None, None, office, now))
                        result.pulled += 1
                        continue
                    if local_row is None:
                        if _in_scope(name, office_row, case_ids, person_ids, local_exists):
                            new_rows.append(dict(office_row))
                        continue
                    fields = touched[name][entity_id]
                    names = (
                        [c.name for c in table.c if c.name not in _SKIP_FIELDS]
                        if fields is None
                        else sorted(fields)
                    )
                    mine_by_field: dict[str, list[dict]] = defaultdict(list)
                    for rec in mine:
                        mine_by_field[rec["field"]].append(rec)
                    values = {}
                    for field_name in names:
                        if field_name not in table.c or field_name in _SKIP_FIELDS:
                            continue
                        column = table.c[field_name]
                        office_value, local_value = office_row[field_name], local_row[field_name]
                        own = mine_by_field.get(field_name, [])
                        if same(column, office_value, local_value):
                            if own:
                                _mark_synced(conn, [rec["seq"] for rec in own])
                            continue
                        if own and field_name in _LAST_WRITER_FIELDS:
                            continue  # stays pending: the push that follows sets it
                        if own:
                            if _upsert_conflict(conn, name, entity_id, field_name, own[0]["old_value"],
                                                canonical(column, local_value), canonical(column, office_value)):  # fmt: skip
                                result.conflicts += 1
                            _mark_synced(conn, [rec["seq"] for rec in own])
                            continue
                        values[field_name] = office_value
                        new_records.append(
                            _record(
                                name,
                                entity_id,
                                "update",
                                field_name,
                                canonical(column, local_value),
                                canonical(column, office_value),
                                office,
                                now,
                            )  # fmt: skip
                        )
                    if values:
                        result.pulled += len(values)
                        for derived in _DERIVED_FIELDS & set(table.c.keys()):
                            values[derived] = office_row[derived]
                        stmt = update(table).where(table.c.id == entity_id).values(**values)
                        if "version" in table.c:
                            stmt = stmt.values(version=table.c.version + 1)
                        conn.execute(stmt)
                        if name == "person":
                            reindex.add(entity_id)
                if new_rows:
                    new_rows = _fix_references({name: new_rows}, local_exists)[name]
                    if name == "user_account":
                        for row in new_rows:
                            row["password_hash"], row["failed_logins"], row["locked_until"] = None, 0, None
                    if new_rows:
                        conn.execute(insert(table), new_rows)
                        inserted[name].update(r["id"] for r in new_rows)
                        new_records += [
                            _record(name, r["id"], "insert", None, None, None, office, now) for r in new_rows
                        ]
                        result.pulled += len(new_rows)
                        if name == "person":
                            reindex.update(r["id"] for r in new_rows)
                            person_ids.update(r["id"] for r in new_rows)
                        if name == "case_file":
                            reindex.update(r["person_id"] for r in new_rows)
            # Child rows follow a parent that the office changed and this replica did not.
            for (name, child), office_child in office_children.items():
                kind = next(k for c, _col, k in CHILD_ROWS[name] if c == child)
                # New parents bring their child rows; later changes of a set are compared by _sync_children.
                parents = sorted(inserted[name]) if kind == "set" else [
                    i for i in touched[name] if i in inserted[name] or local_exists(name, {i})
                ]  # fmt: skip
                column = next(col for c, col, _k in CHILD_ROWS[name] if c == child)
                _replace_children(conn, t[child], column, parents, office_child, kind, local_exists)
                if child == "person_name_variant":
                    reindex.update(parents)
            # Code lists and settings: the office's version counts (they are not edited on the road).
            _mirror_globals(conn, t, globals_now)
            if new_records:
                conn.execute(insert(ChangeRecord.__table__), new_records)
            if reindex:
                from .search import reindex_persons

                reindex_persons(session, sorted(reindex))
            session.execute(
                update(ReplicaState.__table__)
                .where(ReplicaState.__table__.c.id == replica_id)
                .values(last_pulled_seq=end, person_ids=sorted(person_ids))
            )
        if hook:
            hook("pull_committed")
        if end >= safe:
            break


def _record(
    name, entity_id, operation, field_name, old, new, origin, now, user_id=None, base_version=None
) -> dict:
    return {
        "at": now, "user_id": user_id, "entity_type": name, "entity_id": entity_id, "operation": operation,
        "field": field_name, "old_value": old, "new_value": new, "base_version": base_version, "origin": origin,
        "synced": True,
    }  # fmt: skip


def _replace_children(
    conn, table, column: str, parents: list, source_rows: list[dict], kind: str, exists
) -> None:
    if not parents:
        return
    wanted = [r for r in source_rows if r[column] in set(parents)]
    wanted = _fix_references({table.name: wanted}, exists)[table.name]
    if kind == "set":
        for chunk in _chunks(parents):
            conn.execute(delete(table).where(table.c[column].in_(chunk)))
        if wanted:
            conn.execute(insert(table), wanted)
        return
    have = {_pk(table, r) for r in _rows_where_in(conn, table, column, parents)}
    missing = [r for r in wanted if _pk(table, r) not in have]
    if missing:
        conn.execute(insert(table), missing)


def _mirror_globals(conn, t, rows_by_table: dict[str, list[dict]]) -> None:
    for name, rows in rows_by_table.items():
        table = t[name]
        local = {_pk(table, r): r for r in (dict(x._mapping) for x in conn.execute(select(table)))}
        office = {_pk(table, r): r for r in rows}
        if name == "setting":  # settings of this laptop stay; only the office's keys are taken over
            for key, row in office.items():
                if key not in local:
                    conn.execute(insert(table), [row])
                elif canonical(None, local[key]["value"]) != canonical(None, row["value"]):
                    conn.execute(update(table).where(table.c.key == key[0]).values(value=row["value"]))
            continue
        changed = [r for k, r in office.items() if k in local and any(
            canonical(table.c[c], r[c]) != canonical(table.c[c], local[k][c]) for c in r if c not in ("created_at", "updated_at"))]  # fmt: skip
        for row in changed:
            conn.execute(
                update(table)
                .where(table.c.id == row["id"])
                .values(**{c: v for c, v in row.items() if c != "id"})
            )
        new = [r for k, r in office.items() if k not in local]
        if new:
            # A code that the office re-created under a new id replaces the old entry of the same code.
            if "list_name" in table.c:
                for row in new:
                    conn.execute(
                        delete(table).where(
                            table.c.list_name == row["list_name"], table.c.code == row["code"]
                        )
                    )
            conn.execute(insert(table), new)


# --- push -----------------------------------------------------------------------------------------------


@dataclass
class _Op:
    table: str
    entity_id: str
    kind: str  # insert|update|delete
    records: list[dict]

    @property
    def seqs(self) -> list[int]:
        return [r["seq"] for r in self.records]


def _plan_push(conn) -> list[_Op]:
    """The replica's unsynced changes as operations per row: a new row travels whole, changes of an existing
    row field by field, in an order the office's foreign keys accept."""
    cr = ChangeRecord.__table__
    rank = _rank()
    by_row: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in conn.execute(select(cr).where(cr.c.origin.is_(None), cr.c.synced.is_(False)).order_by(cr.c.seq)):
        by_row[(r.entity_type, r.entity_id)].append(dict(r._mapping))
    inserts, updates, deletes = [], [], []
    for (name, entity_id), records in by_row.items():
        operations = {r["operation"] for r in records}
        if name not in rank:
            continue
        if "insert" in operations:
            kind = "local" if "delete" in operations else "insert"
            inserts.append(_Op(name, entity_id, kind, records))
        elif "delete" in operations:
            deletes.append(_Op(name, entity_id, "delete", records))
        else:
            updates.append(_Op(name, entity_id, "update", records))
    inserts.sort(key=lambda op: (rank[op.table], op.records[0]["seq"]))
    updates.sort(key=lambda op: op.records[0]["seq"])
    deletes.sort(key=lambda op: (-rank[op.table], op.records[0]["seq"]))
    return inserts + updates + deletes


def _batches(ops: list[_Op], size: int) -> Iterator[list[_Op]]:
    batch: list[_Op] = []
    count = 0
    for op in ops:
        if batch and count + len(op.records) > size:
            yield batch
            batch, count = [], 0
        batch.append(op)
        count += len(op.records)
    if batch:
        yield batch


def _push(ctx, remote: Database, replica_id: str, batch_size: int, hook, result: SyncResult) -> None:
    t = _tables()
    rc = SyncReceipt.__table__
    with ctx.database.read_session() as session:
        ops = _plan_push(session.connection())
        oldest_pending = min((op.records[0]["seq"] for op in ops), default=None)
    # Receipts of changes the replica has confirmed are no longer needed.
    with remote.session() as rsession:
        stmt = delete(rc).where(rc.c.replica_id == replica_id)
        if oldest_pending is not None:
            stmt = stmt.where(rc.c.seq < oldest_pending)
        rsession.execute(stmt)
    for batch in _batches(ops, batch_size):
        local_ops = [op for op in batch if op.kind == "local"]
        batch = [op for op in batch if op.kind != "local"]
        # Replica side: the current rows and child rows of what travels.
        with ctx.database.read_session() as session:
            conn = session.connection()
            local_rows = {
                name: {r["id"]: r for r in _rows_where_in(conn, t[name], "id", [op.entity_id for op in batch if op.table == name])}
                for name in {op.table for op in batch}
            }  # fmt: skip
            local_children = {
                (name, child): _rows_where_in(conn, t[child], column, [op.entity_id for op in batch if op.table == name])
                for name in {op.table for op in batch}
                for child, column, _kind in CHILD_ROWS.get(name, ())
            }  # fmt: skip
        outcomes = _apply_on_office(remote, replica_id, batch, local_rows, local_children)
        if hook:
            hook("push_remote_committed")
        with ctx.write() as session:
            _record_outcomes(session.connection(), [r for op in batch for r in op.records], outcomes, result)
            _mark_synced(session.connection(), [s for op in local_ops for s in op.seqs])
        if hook:
            hook("push_local_committed")


def _record_outcomes(conn, records: list[dict], outcomes: dict, result: SyncResult) -> None:
    """Replica side of a push: applied changes are synced; refused ones go to the conflict inbox with the
    laptop's current value and the office's value (and are not sent again)."""
    t = _tables()
    done: list[int] = []
    for rec in records:
        if rec["seq"] not in outcomes:
            continue
        outcome, office_value = outcomes[rec["seq"]]
        done.append(rec["seq"])
        if outcome == "applied":
            result.pushed += 1
            continue
        table = t.get(rec["entity_type"])
        field_name = rec["field"] or "*"
        local_value = rec["new_value"]
        if table is not None and rec["field"] in table.c:
            current = conn.execute(
                select(table.c[rec["field"]]).where(table.c.id == rec["entity_id"])
            ).first()
            if current is not None:
                local_value = canonical(table.c[rec["field"]], current[0])
        if _upsert_conflict(
            conn,
            rec["entity_type"],
            rec["entity_id"],
            field_name,
            rec["old_value"],
            local_value,
            office_value,
        ):
            result.conflicts += 1
    _mark_synced(conn, done)


def _reconcile(ctx, remote: Database, replica_id: str, result: SyncResult) -> None:
    """A push whose answer never arrived (dropped connection): the office's receipts say what happened to
    each change; the replica takes that over before anything else, so nothing is applied or asked twice."""
    rc, cr = SyncReceipt.__table__, ChangeRecord.__table__
    with remote.read_session() as rsession:
        receipts = {
            r.seq: (r.outcome, r.value)
            for r in rsession.execute(
                select(rc.c.seq, rc.c.outcome, rc.c.value).where(rc.c.replica_id == replica_id)
            )
        }
    if not receipts:
        return
    with ctx.write() as session:
        conn = session.connection()
        records = []
        for chunk in _chunks(sorted(receipts)):
            records += [
                dict(r._mapping)
                for r in conn.execute(
                    select(cr)
                    .where(cr.c.seq.in_(chunk), cr.c.origin.is_(None), cr.c.synced.is_(False))
                    .order_by(cr.c.seq)
                )
            ]
        _record_outcomes(conn, records, receipts, result)


def _apply_on_office(remote: Database, replica_id: str, batch: list[_Op], local_rows, local_children) -> dict:
    """One transaction on the office database: every change applied, refused as a conflict, or answered
    from its receipt. Returns {seq: (outcome, office value)}."""
    t = _tables()
    rc = SyncReceipt.__table__
    dialect = remote.engine.dialect.name
    outcomes: dict[int, tuple[str, str | None]] = {}
    now = datetime.now(UTC)
    with remote.session() as session:
        conn = session.connection()
        seqs = [s for op in batch for s in op.seqs]
        for chunk in _chunks(seqs):
            for r in conn.execute(
                select(rc.c.seq, rc.c.outcome, rc.c.value).where(
                    rc.c.replica_id == replica_id, rc.c.seq.in_(chunk)
                )
            ):
                outcomes[r.seq] = (r.outcome, r.value)
        office_rows = {
            name: {r["id"]: r for r in _rows_where_in(conn, t[name], "id", [op.entity_id for op in batch if op.table == name])}
            for name in {op.table for op in batch}
        }  # fmt: skip
        inserted: dict[str, set] = defaultdict(set)

        def exists(name, ids):
            return (set(ids) & inserted[name]) | _existing_ids(conn, t[name], ids)

        receipts, records = [], []
        reindex: set[str] = set()
        travelled: dict[str, list[str]] = defaultdict(list)  # parents whose child rows follow
        for op in batch:
            table = t[op.table]
            todo = [rec for rec in op.records if rec["seq"] not in outcomes]
            if not todo:
                continue
            current = office_rows[op.table].get(op.entity_id)
            mine = local_rows.get(op.table, {}).get(op.entity_id)
            if op.kind == "insert":
                if current is None and mine is not None:
                    row = dict(mine)
                    _fix_references({op.table: [row]}, exists)
                    if any(row.get(c.name) is None and not c.nullable and c.foreign_keys for c in table.c):
                        outcome = ("rejected", None)
                    else:
                        conn.execute(insert(table), [_for_target(row, table, dialect)])
                        inserted[op.table].add(op.entity_id)
                        records.append(_record(op.table, op.entity_id, "insert", None, None, None, replica_id, now,
                                               todo[0]["user_id"]))  # fmt: skip
                        travelled[op.table].append(op.entity_id)
                        outcome = ("applied", None)
                else:
                    outcome = ("applied", None)  # already there (same id): nothing to add
                for rec in todo:
                    outcomes[rec["seq"]] = outcome
                if op.table == "person" or op.table == "case_file":
                    reindex.add(op.entity_id if op.table == "person" else (mine or {}).get("person_id"))
                continue
            if op.kind == "delete":
                if current is not None:
                    try:
                        with conn.begin_nested():
                            conn.execute(delete(table).where(table.c.id == op.entity_id))
                        records.append(
                            _record(
                                op.table,
                                op.entity_id,
                                "delete",
                                None,
                                None,
                                None,
                                replica_id,
                                now,
                                todo[0]["user_id"],
                            )
                        )
                        outcome = ("applied", None)
                    except DBAPIError:
                        outcome = ("rejected", None)
                else:
                    outcome = ("applied", None)
                for rec in todo:
                    outcomes[rec["seq"]] = outcome
                continue
            if current is None:
                for rec in todo:
                    outcomes[rec["seq"]] = ("conflict", None)  # removed in the office
                continue
            values: dict = {}
            for rec in todo:
                name = rec["field"]
                if name not in table.c or name in _SKIP_FIELDS:
                    outcomes[rec["seq"]] = ("applied", None)
                    continue
                column = table.c[name]
                office_value = values.get(name, current[name])
                office_text = canonical(column, office_value)
                if (
                    name not in _LAST_WRITER_FIELDS
                    and not isinstance(column.type, LargeBinary)
                    and same(column, office_value, from_text(column, rec["new_value"]))
                ):
                    outcomes[rec["seq"]] = ("applied", None)  # the office has it already
                    continue
                if name in _LAST_WRITER_FIELDS or office_text in (
                    canonical_text(column, rec["old_value"]),
                    canonical_text(column, rec["new_value"]),
                ):
                    if isinstance(column.type, LargeBinary):
                        new_value = (mine or {}).get(name)
                    else:
                        new_value = from_text(column, rec["new_value"])
                    values[name] = new_value
                    outcomes[rec["seq"]] = ("applied", None)
                    records.append(_record(op.table, op.entity_id, "update", name, office_text,
                                           canonical(column, new_value), replica_id, now, rec["user_id"],
                                           current.get("version")))  # fmt: skip
                else:
                    outcomes[rec["seq"]] = ("conflict", office_text)
            if values:
                for derived in _DERIVED_FIELDS & set(table.c.keys()):
                    if mine is not None:
                        values[derived] = mine[derived]
                stmt = (
                    update(table)
                    .where(table.c.id == op.entity_id)
                    .values(**_for_target(values, table, dialect))
                )
                if "version" in table.c:
                    stmt = stmt.values(version=table.c.version + 1)
                conn.execute(stmt)
                if op.table == "person":
                    reindex.add(op.entity_id)
            if all(outcomes[rec["seq"]][0] == "applied" for rec in op.records):
                travelled[op.table].append(op.entity_id)
        for (name, child), rows in local_children.items():
            kind = next(k for c, _col, k in CHILD_ROWS[name] if c == child)
            column = next(col for c, col, _k in CHILD_ROWS[name] if c == child)
            rows = [_for_target(r, t[child], dialect) for r in rows]
            parents = sorted(inserted[name]) if kind == "set" else travelled.get(name, [])
            _replace_children(conn, t[child], column, parents, rows, kind, exists)
            if child == "person_name_variant":
                reindex.update(parents)
        receipts = [
            {
                "replica_id": replica_id,
                "seq": s,
                "outcome": outcomes[s][0],
                "value": outcomes[s][1],
                "at": now,
            }
            for s in seqs
        ]
        existing = set()
        for chunk in _chunks(seqs):
            existing.update(
                conn.execute(
                    select(rc.c.seq).where(rc.c.replica_id == replica_id, rc.c.seq.in_(chunk))
                ).scalars()
            )
        receipts = [r for r in receipts if r["seq"] not in existing]
        if receipts:
            conn.execute(insert(rc), receipts)
        if records:
            for r in records:
                r["synced"] = False
            conn.execute(insert(ChangeRecord.__table__), records)
        reindex.discard(None)
        if reindex:
            from .search import reindex_persons

            reindex_persons(session, sorted(reindex))
    return outcomes


# --- child rows without a change history ------------------------------------------------------------------

CHILD_BASE_KEY = "sync.child_sets"
CHILD_SETS = [
    (parent, child, column)
    for parent, items in CHILD_ROWS.items()
    for child, column, kind in items
    if kind == "set"
]


def _child_sets(conn, parents: dict[str, list[str]]) -> dict[str, dict[str, list[dict]]]:
    """{child table: {parent id: rows}} for the given parents (an empty list for a parent without rows)."""
    t = _tables()
    out: dict[str, dict[str, list[dict]]] = {}
    for parent, child, column in CHILD_SETS:
        groups: dict[str, list[dict]] = {pid: [] for pid in parents.get(parent, [])}
        for row in _rows_where_in(conn, t[child], column, parents.get(parent, [])):
            groups.setdefault(row[column], []).append(row)
        out[child] = groups
    return out


def _set_text(table, rows: list[dict]) -> str:
    items = [{k: canonical(table.c[k], v) for k, v in row.items()} for row in rows]
    return json.dumps(
        sorted(items, key=lambda i: json.dumps(i, sort_keys=True)), ensure_ascii=False, sort_keys=True
    )


def _set_hash(text_value: str) -> str:
    return hashlib.sha256(text_value.encode()).hexdigest()[:24]


def _rows_from_text(table, text_value: str) -> list[dict]:
    return [{k: from_text(table.c[k], v) for k, v in item.items()} for item in json.loads(text_value)]


def _load_base(conn) -> dict:
    st = Setting.__table__
    value = conn.execute(select(st.c.value).where(st.c.key == CHILD_BASE_KEY)).scalar()
    return value if isinstance(value, dict) else {}


def _store_base(conn, base: dict) -> None:
    st = Setting.__table__
    now = datetime.now(UTC)
    if conn.execute(select(st.c.key).where(st.c.key == CHILD_BASE_KEY)).first() is None:
        conn.execute(insert(st).values(key=CHILD_BASE_KEY, value=base, created_at=now, updated_at=now))
    else:
        conn.execute(update(st).where(st.c.key == CHILD_BASE_KEY).values(value=base, updated_at=now))


def record_child_base(conn) -> None:
    """The child sets as they are now become the common base (after checkout)."""
    t = _tables()
    parents = {p: list(conn.execute(select(t[p].c.id)).scalars()) for p in {p for p, _c, _col in CHILD_SETS}}
    sets = _child_sets(conn, parents)
    base = {
        child: {pid: _set_hash(_set_text(t[child], rows)) for pid, rows in groups.items()}
        for child, groups in sets.items()
    }
    _store_base(conn, base)


def _sync_children(ctx, remote: Database, result: SyncResult) -> None:
    """Name variants, nationalities, languages, case members, shares, participants and household members
    have no change history of their own: each parent's set is compared with the set at the last sync (a hash
    kept in the replica). Changed here only: sent; changed in the office only: taken over; changed on both
    sides: both sets go to the conflict inbox (field = the child table)."""
    t = _tables()
    with ctx.database.read_session() as session:
        conn = session.connection()
        parents = {
            p: list(conn.execute(select(t[p].c.id)).scalars()) for p in {p for p, _c, _col in CHILD_SETS}
        }
        local_sets = _child_sets(conn, parents)
        base = _load_base(conn)
    with remote.read_session() as rsession:
        rconn = rsession.connection()
        present = {p: _existing_ids(rconn, t[p], ids) for p, ids in parents.items()}
        parents = {p: [i for i in ids if i in present[p]] for p, ids in parents.items()}
        office_sets = _child_sets(rconn, parents)
    to_push: list[tuple[str, str, str, list[dict]]] = []
    to_pull: list[tuple[str, str, str, list[dict]]] = []
    conflicts: list[tuple[str, str, str, str, str | None]] = []
    new_base = {child: dict(base.get(child, {})) for _p, child, _c in CHILD_SETS}
    for parent, child, column in CHILD_SETS:
        table = t[child]
        for pid in parents.get(parent, []):
            local_rows, office_rows = local_sets[child].get(pid, []), office_sets[child].get(pid, [])
            lt, ot = _set_text(table, local_rows), _set_text(table, office_rows)
            lh, oh, bh = _set_hash(lt), _set_hash(ot), base.get(child, {}).get(pid)
            if lh == oh:
                new_base[child][pid] = lh
            elif (bh is not None and oh == bh) or (bh is None and not office_rows):
                to_push.append((child, column, pid, local_rows))
                new_base[child][pid] = lh
            elif (bh is not None and lh == bh) or (bh is None and not local_rows):
                to_pull.append((child, column, pid, office_rows))
                new_base[child][pid] = oh
            else:
                conflicts.append((child, pid, lt, ot, None))
    if to_push:
        dialect = remote.engine.dialect.name
        with remote.session() as rsession:
            rconn = rsession.connection()
            names = set()
            for child, column, pid, rows in to_push:
                rconn.execute(delete(t[child]).where(t[child].c[column] == pid))
                if rows:
                    rconn.execute(insert(t[child]), [_for_target(r, t[child], dialect) for r in rows])
                if child == "person_name_variant":
                    names.add(pid)
            if names:
                from .search import reindex_persons

                reindex_persons(rsession, sorted(names))
        result.pushed += len(to_push)
    if to_pull or conflicts or new_base != base:
        with ctx.write() as session:
            conn = session.connection()
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            names = set()
            for child, column, pid, rows in to_pull:
                conn.execute(delete(t[child]).where(t[child].c[column] == pid))
                if rows:
                    conn.execute(insert(t[child]), rows)
                if child == "person_name_variant":
                    names.add(pid)
            for child, pid, lt, ot, _ in conflicts:
                parent_table = next(p for p, c, _col in CHILD_SETS if c == child)
                if _upsert_conflict(conn, parent_table, pid, child, None, lt, ot):
                    result.conflicts += 1
            _store_base(conn, new_base)
            if names:
                from .search import reindex_persons

                reindex_persons(session, sorted(names))
        result.pulled += len(to_pull)


# --- following the caseload ------------------------------------------------------------------------------


def _follow_caseload(ctx, remote: Database, result: SyncResult) -> None:
    """After a successful sync: cases newly assigned come onto the laptop, cases no longer assigned leave it
    (unless something of them is still unsynced or in the conflict inbox)."""
    with ctx.database.read_session() as session:
        state = _replica_state(session)
        if state.scope != "caseload" or not state.user_id:
            return
        have = set(state.case_ids or [])
        user_id = state.user_id
    with remote.read_session() as rsession:
        now_cases = set(caseload_case_ids(rsession.connection(), user_id))
        added = sorted(now_cases - have)
        add_rows = collect_scope(rsession.connection(), added, with_global=False) if added else {}
    removed = sorted(have - now_cases)
    t = _tables()
    with ctx.write() as session:
        conn = session.connection()
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        keep = set(now_cases & have) | set(added)
        if removed:
            gone = collect_scope(conn, removed, with_global=False)
            stay = collect_scope(conn, sorted(keep), with_global=False)
            stay_keys = {name: {_pk(t[name], r) for r in rows} for name, rows in stay.items()}
            leave = {
                name: [r for r in rows if _pk(t[name], r) not in stay_keys.get(name, set())]
                for name, rows in gone.items()
            }
            ids = {r["id"] for rows in leave.values() for r in rows if "id" in r}
            cr, sc = ChangeRecord.__table__, SyncConflict.__table__
            blocked = set()
            for chunk in _chunks(sorted(ids)):
                blocked.update(conn.execute(select(cr.c.entity_id).where(
                    cr.c.entity_id.in_(chunk), cr.c.origin.is_(None), cr.c.synced.is_(False))).scalars())  # fmt: skip
                blocked.update(conn.execute(select(sc.c.entity_id).where(
                    sc.c.entity_id.in_(chunk), sc.c.resolved_at.is_(None))).scalars())  # fmt: skip
            if blocked:
                log.info("sync: %d rows of unassigned cases kept (unsynced or in conflict)", len(blocked))
                removed = []
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    rows = leave.get(table.name) or []
                    for chunk in _chunks(rows):
                        keys = [c for c in table.primary_key.columns]
                        if len(keys) == 1:
                            conn.execute(delete(table).where(keys[0].in_([r[keys[0].name] for r in chunk])))
                        else:
                            for r in chunk:
                                conn.execute(delete(table).where(and_(*(k == r[k.name] for k in keys))))
                for chunk in _chunks(sorted(ids)):
                    conn.execute(delete(cr).where(cr.c.entity_id.in_(chunk)))
                    conn.execute(delete(sc).where(sc.c.entity_id.in_(chunk)))
                result.purged_cases = len(removed)
        if add_rows:
            fresh = {}
            for name, rows in add_rows.items():
                table = t[name]
                have_keys = {_pk(table, r) for r in _rows_where_in(conn, table, table.primary_key.columns[0].name,
                                                                  [r[table.primary_key.columns[0].name] for r in rows])}  # fmt: skip
                fresh[name] = [r for r in rows if _pk(table, r) not in have_keys]

            def local_exists(name, ids, _conn=conn):
                return _existing_ids(_conn, t[name], ids) if "id" in t[name].c else set()

            _fix_references(fresh, local_exists)
            for table in Base.metadata.sorted_tables:
                if fresh.get(table.name):
                    conn.execute(insert(table), fresh[table.name])
            result.added_cases = len(added)
        final_cases = sorted((have - set(removed)) | set(added))
        persons = set(conn.execute(select(t["person"].c.id)).scalars())
        session.execute(
            update(ReplicaState.__table__).values(case_ids=final_cases, person_ids=sorted(persons))
        )


# --- the conflict inbox ---------------------------------------------------------------------------------


@dataclass
class ConflictView:
    id: str
    entity_type: str
    entity_id: str
    field: str
    base_value: str | None
    local_value: str | None
    remote_value: str | None
    created_at: datetime

    def to_json(self) -> dict:
        return {
            "id": self.id, "entity_type": self.entity_type, "entity_id": self.entity_id, "field": self.field,
            "base_value": self.base_value, "local_value": self.local_value, "remote_value": self.remote_value,
            "created_at": self.created_at.isoformat(),
        }  # fmt: skip


def open_conflicts(ctx: ServiceContext) -> list[ConflictView]:
    with ctx.read() as session:
        rows = session.scalars(
            select(SyncConflict)
            .where(SyncConflict.resolved_at.is_(None))
            .order_by(SyncConflict.created_at, SyncConflict.id)
        ).all()
        return [
            ConflictView(
                r.id,
                r.entity_type,
                r.entity_id,
                r.field,
                r.base_value,
                r.local_value,
                r.remote_value,
                r.created_at,
            )
            for r in rows
        ]


def resolve_conflict(
    ctx: ServiceContext, conflict_id: str, *, choice: str | None = None, value: str | None = None
) -> ConflictView:
    """Choose the laptop's value (``local``), the office's (``remote``) or a combined ``value``. The result is
    a new change of this replica that the next sync takes to the office."""
    if (choice is None) == (value is None) or choice not in (None, "local", "remote"):
        raise ValidationError({"choice": _("Bitte „local“, „remote“ oder einen eigenen Wert angeben.")})
    t = _tables()
    with ctx.write() as session:
        conflict = session.get(SyncConflict, conflict_id)
        if conflict is None or conflict.resolved_at is not None:
            raise NotFoundError(_("Diesen offenen Konflikt gibt es nicht."))
        table = t.get(conflict.entity_type)
        if any(conflict.field == c for _p, c, _col in CHILD_SETS):
            return _resolve_child_conflict(session, conflict, choice, value)
        if table is None or (conflict.field != "*" and conflict.field not in table.c):
            raise NotFoundError(_("Diesen offenen Konflikt gibt es nicht."))
        chosen = {"local": conflict.local_value, "remote": conflict.remote_value}.get(choice, value)
        conn = session.connection()
        row = conn.execute(select(table).where(table.c.id == conflict.entity_id)).first()
        if conflict.field != "*" and row is not None:
            column = table.c[conflict.field]
            if isinstance(column.type, LargeBinary):
                raise ValidationError({"value": _("Dateiinhalte können nur als Ganzes übernommen werden.")})
            typed = from_text(column, chosen)
            if chosen is None and not column.nullable:
                raise ValidationError({"value": _("Dieses Feld darf nicht leer sein.")})
            stmt = update(table).where(table.c.id == conflict.entity_id).values({conflict.field: typed})
            if "version" in table.c:
                stmt = stmt.values(version=table.c.version + 1)
            conn.execute(stmt)
            # The office holds the remote value: the new change is based on it, so the next sync applies it
            # unless the office changed the field yet again (then it is a new conflict).
            conn.execute(
                insert(ChangeRecord.__table__).values(
                    at=datetime.now(UTC), user_id=ctx.actor.user_id, entity_type=conflict.entity_type,
                    entity_id=conflict.entity_id, operation="update", field=conflict.field,
                    old_value=conflict.remote_value, new_value=canonical(column, typed),
                    base_version=row._mapping.get("version"), origin=None, synced=choice == "remote",
                )
            )  # fmt: skip
            if conflict.entity_type == "person":
                from .search import reindex_persons

                reindex_persons(session, [conflict.entity_id])
        conflict.resolved_at = datetime.now(UTC)
        conflict.resolution = choice or "value"
        conflict.resolved_value = chosen
        return ConflictView(conflict.id, conflict.entity_type, conflict.entity_id, conflict.field,
                            conflict.base_value, conflict.local_value, conflict.remote_value, conflict.created_at)  # fmt: skip


def _resolve_child_conflict(
    session, conflict: SyncConflict, choice: str | None, value: str | None
) -> ConflictView:
    """A set of child rows: the laptop's set (sent at the next sync) or the office's (taken over now)."""
    if choice is None:
        raise ValidationError({"value": _("Hier bitte „local“ oder „remote“ wählen.")})
    t = _tables()
    table = t[conflict.field]
    column = next(col for _p, c, col in CHILD_SETS if c == conflict.field)
    conn = session.connection()
    base = _load_base(conn)
    base.setdefault(conflict.field, {})[conflict.entity_id] = _set_hash(conflict.remote_value or "[]")
    if choice == "remote":
        conn.execute(delete(table).where(table.c[column] == conflict.entity_id))
        rows = _rows_from_text(table, conflict.remote_value or "[]")
        if rows:
            conn.execute(insert(table), rows)
        if conflict.field == "person_name_variant":
            from .search import reindex_persons

            reindex_persons(session, [conflict.entity_id])
    _store_base(conn, base)
    conflict.resolved_at = datetime.now(UTC)
    conflict.resolution = choice
    conflict.resolved_value = conflict.local_value if choice == "local" else conflict.remote_value
    return ConflictView(
        conflict.id, conflict.entity_type, conflict.entity_id, conflict.field, conflict.base_value,
        conflict.local_value, conflict.remote_value, conflict.created_at,
    )  # fmt: skip
