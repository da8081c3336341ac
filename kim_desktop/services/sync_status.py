"""What the GUI shows about the database and its sync state (issue 9). No Qt.

* ``database_status``: the mode (single-user file, office server, laptop replica), where the data lies (never a
  password), whether it is encrypted, and on a replica the office server, the time of the last sync, the
  number of records changed here and not yet sent, and the number of open conflicts.
* ``inbox``: the open conflicts of ``services.sync.open_conflicts`` with German labels for the kind of record,
  the record itself and the field, and the three values readable (dates as TT.MM.JJJJ, yes/no).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..db.models import Case, ChangeRecord, Person, ReplicaState, SyncConflict
from ..i18n import _
from .context import ServiceContext

SINGLE, SERVER, REPLICA = "single", "server", "replica"


def mode_labels() -> dict[str, str]:
    return {SINGLE: _("Einzelplatz"), SERVER: _("Büro-Server"), REPLICA: _("Laptop-Replik")}


@dataclass(frozen=True)
class DatabaseStatus:
    mode: str  # single | server | replica
    location: str  # path or server address without password
    encrypted: bool
    server_url: str | None = None  # replica: the office it syncs with (no password)
    replica_name: str | None = None
    last_sync_at: datetime | None = None  # replica: the last complete sync (UTC)
    unsynced: int = 0  # replica: records changed here and not yet sent to the office
    conflicts: int = 0  # replica: open conflicts in the inbox

    @property
    def mode_label(self) -> str:
        return mode_labels()[self.mode]


def unsynced_count(session) -> int:
    """Records (not single fields) with a change made here that the next sync sends."""
    from .sync import _rank

    cr = ChangeRecord.__table__
    rows = (
        select(cr.c.entity_type, cr.c.entity_id)
        .where(cr.c.origin.is_(None), cr.c.synced.is_(False), cr.c.entity_type.in_(list(_rank())))
        .distinct()
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(rows)) or 0)


def database_status(ctx: ServiceContext) -> DatabaseStatus:
    database = ctx.database
    location = database.location
    encrypted = bool(getattr(database, "encrypted", False))
    if location.path is None:
        return DatabaseStatus(SERVER, location.display(), encrypted)
    with ctx.read() as session:
        state = session.scalar(select(ReplicaState))
        if state is None:
            return DatabaseStatus(SINGLE, location.display(), encrypted)
        conflicts = session.scalar(
            select(func.count()).select_from(SyncConflict).where(SyncConflict.resolved_at.is_(None))
        )
        return DatabaseStatus(
            REPLICA,
            location.display(),
            encrypted,
            server_url=state.server_url,
            replica_name=state.name,
            last_sync_at=state.last_sync_at,
            unsynced=unsynced_count(session),
            conflicts=int(conflicts or 0),
        )


# --- the conflict inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    id: str
    entity_type: str
    entity_id: str
    field: str
    kind: str  # "Person", "Fallakte", …
    title: str  # the record: a person's name, a file number; empty when there is none to show
    field_label: str
    base: str  # readable values ("" for empty)
    local: str
    remote: str
    local_raw: str | None  # the stored text, for editing a combined value
    remote_raw: str | None


def _person_names(session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Person.id, Person.family_name, Person.given_names).where(Person.id.in_(sorted(ids)))
    ).all()
    return {r.id: f"{r.family_name}, {r.given_names}" if r.given_names else r.family_name for r in rows}


def _titles(session, conflicts) -> dict[tuple[str, str], str]:
    """A title per record: persons by name, cases by file number, rows of a case by its file number."""
    from .sync import _tables

    tables = _tables()
    titles: dict[tuple[str, str], str] = {}
    persons = {c.entity_id for c in conflicts if c.entity_type == "person"}
    names = _person_names(session, persons)
    for c in conflicts:
        key = (c.entity_type, c.entity_id)
        if c.entity_type == "person":
            titles[key] = names.get(c.entity_id, "")
            continue
        table = tables.get(c.entity_type)
        if table is None:
            continue
        if c.entity_type == "case_file":
            case_id = c.entity_id
        elif "case_id" in table.c:
            case_id = session.scalar(select(table.c.case_id).where(table.c.id == c.entity_id))
        else:
            case_id = None
        if case_id:
            number = session.scalar(select(Case.file_number).where(Case.id == case_id))
            if number:
                titles[key] = _("Akte {number}").format(number=number)
                continue
        if "person_id" in table.c:
            person_id = session.scalar(select(table.c.person_id).where(table.c.id == c.entity_id))
            if person_id:
                titles[key] = _person_names(session, {person_id}).get(person_id, "")
    return titles


def readable(value: str | None) -> str:
    from .audit_trail import _display_value

    return _display_value(value) or ""


def inbox(ctx: ServiceContext) -> list[InboxItem]:
    """The open conflicts, oldest first, labelled for people."""
    from .audit_trail import entity_labels, field_labels
    from .sync import open_conflicts

    conflicts = open_conflicts(ctx)
    kinds, fields = entity_labels(), field_labels()
    with ctx.read() as session:
        titles = _titles(session, conflicts)
    return [
        InboxItem(
            c.id,
            c.entity_type,
            c.entity_id,
            c.field,
            kinds.get(c.entity_type, c.entity_type),
            titles.get((c.entity_type, c.entity_id), ""),
            _("ganzer Eintrag") if c.field == "*" else fields.get(c.field, c.field),
            readable(c.base_value),
            readable(c.local_value),
            readable(c.remote_value),
            c.local_value,
            c.remote_value,
        )
        for c in conflicts
    ]


__all__ = ["DatabaseStatus", "InboxItem", "database_status", "inbox", "mode_labels", "unsynced_count"]


# --- "Für unterwegs mitnehmen": which cases can be taken ------------------------------------------------


@dataclass(frozen=True)
class CaseChoice:
    id: str
    file_number: str
    person: str
    in_caseload: bool


def checkout_choices(ctx: ServiceContext, username: str | None = None, limit: int = 3000) -> list[CaseChoice]:
    """Open cases the user may see in this (office) database, the user's active caseload first and marked.
    ``username``: whose caseload (the signed-in user's by default; the local single user has none)."""
    from ..db.models import UserAccount
    from .permissions import visible_case_clause
    from .sync import caseload_case_ids
    from .users import normalise_username

    with ctx.read() as session:
        user_id = ctx.actor.user_id
        if username:
            user_id = (
                session.scalar(
                    select(UserAccount.id).where(
                        UserAccount.username == normalise_username(username), UserAccount.deleted_at.is_(None)
                    )
                )
                or user_id
            )
        caseload = set(caseload_case_ids(session.connection(), user_id)) if user_id else set()
        query = (
            select(Case.id, Case.file_number, Person.family_name, Person.given_names)
            .join(Person, Person.id == Case.person_id)
            .where(Case.phase != "closed", Case.deleted_at.is_(None))
            .order_by(Case.file_number)
            .limit(limit)
        )
        clause = visible_case_clause(ctx.actor)
        if clause is not None:
            query = query.where(clause)
        rows = session.execute(query).all()
    choices = [
        CaseChoice(
            r.id,
            r.file_number,
            f"{r.family_name}, {r.given_names}" if r.given_names else r.family_name,
            r.id in caseload,
        )  # fmt: skip
        for r in rows
    ]
    return sorted(choices, key=lambda c: (not c.in_caseload, c.file_number))
