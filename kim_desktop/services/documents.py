"""Archived documents of a person or a case: list them, open one (checked against its SHA-256), log copies.

Letters are archived by ``letters.make_letter``; this module only reads the archive. Every read is logged in
the access log: the list (``document_list``) and each opened document. The content is never loaded for the
list, only when a document is opened, and then it must match the SHA-256 stored when it was archived: a
damaged file is refused with a German message rather than shown or printed as if it were the original.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from ..db.models import Case, Document, UserAccount
from ..errors import NotFoundError, UserError
from ..i18n import _, format_date
from . import audit
from .context import Actor, ServiceContext
from .permissions import (
    actor_of,
    ensure_case_id_visible,
    ensure_person_case_data_visible,
    require,
    visible_case_id_clause,
)

log = logging.getLogger(__name__)

# Letters made before user accounts exist carry no author id: they were made at the single workstation.
LOCAL_AUTHOR = Actor.local().display_name

OUTPUT_ACTIONS = ("print", "export")


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    title: str
    kind: str
    template_key: str | None
    template_version: int | None
    created_at: datetime  # UTC, timezone-aware
    author: str
    size: int | None
    sha256: str | None
    person_id: str | None
    case_id: str | None


_COLUMNS = (
    Document.id,
    Document.title,
    Document.kind,
    Document.template_key,
    Document.template_version,
    Document.created_at,
    UserAccount.display_name,
    Document.size,
    Document.sha256,
    Document.person_id,
    Document.case_id,
)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they are stored in UTC (db.base.utcnow).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _info(row) -> DocumentInfo:
    (doc_id, title, kind, key, version, created_at, author, size, sha256, person_id, case_id) = row
    return DocumentInfo(
        id=doc_id,
        title=title,
        kind=kind,
        template_key=key,
        template_version=version,
        created_at=_aware(created_at),
        author=author or LOCAL_AUTHOR,
        size=size,
        sha256=sha256,
        person_id=person_id,
        case_id=case_id,
    )


def _select():
    return (
        select(*_COLUMNS)
        .outerjoin(UserAccount, UserAccount.id == Document.created_by)
        .where(Document.deleted_at.is_(None))
    )


def _ensure_visible(session, person_id: str | None, case_id: str | None, action: str) -> None:
    """A document of a case needs that case visible; one without a case the person's case data."""
    if case_id is not None:
        ensure_case_id_visible(session, case_id, action=action)
    elif person_id is not None:
        ensure_person_case_data_visible(session, person_id, action=action)


def list_documents(
    ctx: ServiceContext, *, person_id: str | None = None, case_id: str | None = None
) -> list[DocumentInfo]:
    """The archived documents of a person (all of them, case letters included) or of a case, newest first.

    Metadata only, no content. Logged as a read of the list. Case content: the person's case data resp. the
    case must be visible to the actor; of a person's documents only those without a case or of a visible case
    are listed."""
    require(ctx.actor, "person.read_case_data")
    if not person_id and not case_id:
        raise UserError(
            _("Bitte eine Person oder einen Fall angeben, deren Dokumente angezeigt werden sollen.")
        )
    stmt = _select()
    if person_id:
        stmt = stmt.where(Document.person_id == person_id)
    if case_id:
        stmt = stmt.where(Document.case_id == case_id)
    stmt = stmt.order_by(Document.created_at.desc(), Document.id)
    with ctx.write() as session:
        if case_id:
            ensure_case_id_visible(session, case_id)
        if person_id:
            ensure_person_case_data_visible(session, person_id)
        visible = visible_case_id_clause(actor_of(session), Document.case_id)
        if visible is not None:
            stmt = stmt.where(visible)
        rows = [_info(row) for row in session.execute(stmt)]
        owner = person_id
        if owner is None and case_id:
            owner = session.scalar(select(Case.person_id).where(Case.id == case_id))
        audit.record(
            session, "read", entity_type="document_list", person_id=owner, case_id=case_id,
            detail={"count": len(rows)},
        )  # fmt: skip
    return rows


def open_document(ctx: ServiceContext, document_id: str) -> tuple[DocumentInfo, bytes]:
    """One archived document with its content (an audited read), checked against its SHA-256.

    Raises ``UserError`` when the stored content does not match the checksum taken when it was archived, and
    ``PermissionDeniedError`` unless the document's case (or person) is visible to the actor."""
    require(ctx.actor, "person.read_case_data")
    with ctx.write() as session:
        row = session.execute(_select().where(Document.id == document_id)).one_or_none()
        if row is None:
            raise NotFoundError(_("Kein archiviertes Dokument mit dieser Kennung gefunden."))
        info = _info(row)
        _ensure_visible(session, info.person_id, info.case_id, "person.read_case_data")
        content = session.scalar(select(Document.content).where(Document.id == document_id))
        intact = (
            content is not None
            and info.sha256 is not None
            and hashlib.sha256(content).hexdigest() == info.sha256.lower()
        )
        audit.record(
            session, "read", entity_type="document", entity_id=info.id, person_id=info.person_id,
            case_id=info.case_id, detail=None if intact else {"integrity": "failed"},
        )  # fmt: skip
    if not intact:
        log.warning("Archived document %s failed the SHA-256 check", document_id)  # an id, no personal data
        raise UserError(
            _(
                "Die archivierte Datei „{title}“ vom {date} ist beschädigt: ihr Inhalt stimmt nicht mehr mit der "
                "Prüfsumme überein, die beim Archivieren gespeichert wurde. Sie wird deshalb nicht angezeigt. "
                "Bitte wenden Sie sich an die Systembetreuung."
            ).format(title=info.title, date=format_date(info.created_at.astimezone()))
        )
    return info, bytes(content)


def record_output(ctx: ServiceContext, document_id: str, action: str) -> None:
    """Log that a copy of an archived document left the program (``print`` or ``export``)."""
    if action not in OUTPUT_ACTIONS:
        raise ValueError(f"unknown output action {action!r}")
    require(ctx.actor, "letter.make")
    with ctx.write() as session:
        row = session.execute(
            select(Document.person_id, Document.case_id).where(Document.id == document_id)
        ).one_or_none()
        if row is None:
            raise NotFoundError(_("Kein archiviertes Dokument mit dieser Kennung gefunden."))
        _ensure_visible(session, row.person_id, row.case_id, "letter.make")
        audit.record(
            session, action, entity_type="document", entity_id=document_id, person_id=row.person_id,
            case_id=row.case_id, detail={"copy": True},
        )  # fmt: skip
