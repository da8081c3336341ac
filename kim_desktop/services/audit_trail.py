"""Reading the audit trail: "Wer hat diese Akte gesehen oder geändert?" per person or case. No Qt.

Two views of the same file:

- the **access log** (``audit_event``): who read, made, changed, printed, exported or merged which record, when;
- the **change history** (``change_record``): field, old value → new value, who, when – for the person and every
  record that hangs off them (cases, journal, assessments, goals and steps, appointments, referrals, consents,
  documents, follow-ups).

``access_log`` and ``change_history`` take a session and only query; ``read_trail`` and ``export_for_dpo`` are
the use cases the GUI and the CLI call: each of them is itself logged (``read`` resp. ``export`` of the
``audit_trail``), because looking at who looked at a file is an access to that file, too.

What is shown of a record is its kind in German plus a title only where the title is not itself case content
(a document title, a file number). The old and new text of a *confidential* journal entry is not shown here:
the trail tells that the entry changed, not what it says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select

from ..db.models import (
    Appointment,
    AppointmentParticipant,
    Assessment,
    AuditEvent,
    Case,
    CaseMember,
    ChangeRecord,
    Consent,
    Document,
    FollowUp,
    Goal,
    JournalEntry,
    Person,
    Referral,
    Step,
    UserAccount,
)
from ..errors import NotFoundError, UserError
from ..i18n import _
from . import audit
from .context import Actor, ServiceContext
from .localtime import day_bounds_utc, local_time
from .permissions import require, require_session

LOCAL_USER = Actor.local().display_name
CONFIDENTIAL_VALUE = "‹vertraulich›"
_CHUNK = 500  # SQLite's limit on bound parameters is far above this; keeps IN lists small


def action_labels() -> dict[str, str]:
    return {
        "read": _("gelesen"),
        "create": _("angelegt"),
        "update": _("geändert"),
        "delete": _("gelöscht"),
        "restore": _("wiederhergestellt"),
        "print": _("gedruckt"),
        "export": _("exportiert"),
        "merge": _("zusammengeführt"),
        "login": _("angemeldet"),
        "login_failed": _("Anmeldung fehlgeschlagen"),
        "lock": _("Bildschirm gesperrt"),
        "unlock": _("Bildschirm entsperrt"),
        "demo_import": _("Demodaten eingespielt"),
        "anonymise": _("anonymisiert"),
        "restrict": _("eingeschränkt"),
        "unrestrict": _("Einschränkung aufgehoben"),
        "consent_override": _("ohne Entbindung versendet (begründet)"),
        "handover": _("übergeben"),
        "import": _("importiert"),
        "import_undo": _("Import rückgängig gemacht"),
    }


def operation_labels() -> dict[str, str]:
    return {"insert": _("angelegt"), "update": _("geändert"), "delete": _("gelöscht")}


def entity_labels() -> dict[str, str]:
    return {
        "person": _("Person"),
        "case": _("Fallakte"),
        "case_file": _("Fallakte"),
        "journal_entry": _("Verlaufseintrag"),
        "assessment": _("Einschätzung"),
        "goal": _("Ziel"),
        "step": _("Schritt"),
        "appointment": _("Termin"),
        "referral": _("Vermittlung"),
        "referral_list": _("Liste der Vermittlungen"),
        "consent": _("Einwilligung"),
        "document": _("Dokument"),
        "document_list": _("Liste der Dokumente"),
        "follow_up": _("Wiedervorlage"),
        "household": _("Haushalt"),
        "structural_finding": _("Systemlücke"),
        "audit_trail": _("Protokoll der Zugriffe und Änderungen"),
        "subject_access": _("Auskunft nach Art. 15 DSGVO"),
        "provider": _("Träger"),
        "provider_contact": _("Ansprechperson beim Träger"),
        "offer": _("Angebot"),
        "directory": _("Angebotsverzeichnis"),
        "person_list": _("Personenliste"),
        "case_list": _("Fallliste"),
        "case_conference": _("Zusammenfassung für die Fallkonferenz"),
        "import_batch": _("Import aus Excel/CSV"),
        "interpreter": _("Dolmetscher*in"),
        "letter_template": _("Briefvorlage"),
        "location": _("Ort/Raum"),
        "office_hours": _("Sprechzeiten"),
        "setting": _("Einstellung"),
        "user_account": _("Benutzerkonto"),
    }


def field_labels() -> dict[str, str]:
    return {
        "family_name": _("Familienname"),
        "given_names": _("Vornamen"),
        "birth_name": _("Geburtsname"),
        "birth_year": _("Geburtsjahr"),
        "birth_month": _("Geburtsmonat"),
        "birth_day": _("Geburtstag"),
        "sex": _("Geschlecht"),
        "country_of_birth": _("Geburtsland"),
        "place_of_birth": _("Geburtsort"),
        "interpreter_needed": _("Dolmetschung nötig"),
        "interpreter_language": _("Sprache der Dolmetschung"),
        "street": _("Straße"),
        "postcode": _("PLZ"),
        "city": _("Ort"),
        "address_extra": _("Adresszusatz"),
        "phone": _("Telefon"),
        "email": _("E-Mail"),
        "residence_status": _("Aufenthaltsstatus"),
        "residence_valid_until": _("Aufenthalt gültig bis"),
        "entry_date": _("Einreise"),
        "district_since": _("Im Kreis seit"),
        "note": _("Notiz"),
        "phase": _("Phase"),
        "case_manager_id": _("Case Manager/in"),
        "closed_on": _("Abgeschlossen am"),
        "closure_reason": _("Abschlussgrund"),
        "text": _("Text"),
        "confidential": _("Vertraulich"),
        "title": _("Titel"),
        "status": _("Status"),
        "starts_at": _("Beginn"),
        "ends_at": _("Ende"),
        "valid_until": _("Gültig bis"),
        "revoked_on": _("Widerrufen am"),
        "deleted_at": _("Gelöscht am"),
        "description": _("Beschreibung"),
        "due_on": _("Fällig am"),
        "done_on": _("Erledigt am"),
    }


@dataclass(frozen=True)
class AccessRow:
    at: datetime  # UTC, timezone-aware
    user: str
    action: str
    action_label: str
    entity_type: str | None
    entity_id: str | None
    what: str
    person_id: str | None
    case_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "user": self.user,
            "action": self.action,
            "action_label": self.action_label,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "what": self.what,
            "person_id": self.person_id,
            "case_id": self.case_id,
        }


@dataclass(frozen=True)
class ChangeRow:
    at: datetime  # UTC, timezone-aware
    user: str
    entity_type: str
    entity_id: str
    what: str
    operation: str
    operation_label: str
    field: str | None
    field_label: str
    old_value: str | None
    new_value: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "user": self.user,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "what": self.what,
            "operation": self.operation,
            "field": self.field,
            "field_label": self.field_label,
            "old_value": self.old_value,
            "new_value": self.new_value,
        }


@dataclass(frozen=True)
class Trail:
    access: list[AccessRow]
    changes: list[ChangeRow]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _check_target(person_id: str | None, case_id: str | None) -> None:
    if bool(person_id) == bool(case_id):
        raise UserError(_("Bitte entweder eine Person oder einen Fall angeben."))


def _bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    return (day_bounds_utc(since)[0] if since else None, day_bounds_utc(until)[1] if until else None)


def _user_names(session, ids: Iterable[str | None]) -> dict[str | None, str]:
    wanted = {i for i in ids if i}
    names: dict[str | None, str] = {None: LOCAL_USER}
    if wanted:
        for user_id, name in session.execute(
            select(UserAccount.id, UserAccount.display_name).where(UserAccount.id.in_(wanted))
        ):
            names[user_id] = name
    for user_id in wanted - names.keys():
        names[user_id] = _("unbekanntes Benutzerkonto ({id})").format(id=user_id[:8])
    return names


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _case_ids_of_person(session, person_id: str) -> list[str]:
    own = set(session.scalars(select(Case.id).where(Case.person_id == person_id)))
    own |= set(session.scalars(select(CaseMember.case_id).where(CaseMember.person_id == person_id)))
    return sorted(own)


def _titles(session, pairs: set[tuple[str, str]]) -> dict[str, str]:
    """Safe titles: document titles and file numbers (no case content)."""
    doc_ids = [i for kind, i in pairs if kind == "document"]
    case_ids = [i for kind, i in pairs if kind in ("case", "case_file")]
    titles: dict[str, str] = {}
    for chunk in _chunks(doc_ids):
        titles.update(
            dict(session.execute(select(Document.id, Document.title).where(Document.id.in_(chunk))).all())
        )
    for chunk in _chunks(case_ids):
        titles.update(
            dict(session.execute(select(Case.id, Case.file_number).where(Case.id.in_(chunk))).all())
        )
    return titles


def _what(entity_type: str | None, entity_id: str | None, titles: dict[str, str]) -> str:
    labels = entity_labels()
    kind = labels.get(entity_type or "", entity_type or _("Akte"))
    title = titles.get(entity_id or "")
    return f"{kind} „{title}“" if title else kind


def access_log(
    session,
    *,
    person_id: str | None = None,
    case_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 1000,
) -> list[AccessRow]:
    """The access log of a person (including their cases) or of a case, newest first. Only queries;
    ``audit.read`` (Teamleitung)."""
    require_session(session, "audit.read")
    _check_target(person_id, case_id)
    stmt = select(AuditEvent)
    if person_id:
        cases = _case_ids_of_person(session, person_id)
        condition = AuditEvent.person_id == person_id
        if cases:
            condition = or_(condition, AuditEvent.case_id.in_(cases))
        stmt = stmt.where(condition)
    else:
        stmt = stmt.where(AuditEvent.case_id == case_id)
    first, end = _bounds(since, until)
    if first is not None:
        stmt = stmt.where(AuditEvent.at >= first)
    if end is not None:
        stmt = stmt.where(AuditEvent.at < end)
    events = list(session.scalars(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))
    names = _user_names(session, (e.user_id for e in events))
    titles = _titles(session, {(e.entity_type, e.entity_id) for e in events if e.entity_type and e.entity_id})
    actions = action_labels()
    return [
        AccessRow(
            at=_aware(e.at),
            user=names[e.user_id],
            action=e.action,
            action_label=actions.get(e.action, e.action),
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            what=_what(e.entity_type, e.entity_id, titles),
            person_id=e.person_id,
            case_id=e.case_id,
        )  # fmt: skip
        for e in events
    ]


def _case_dependants(session, case_ids: list[str]) -> dict[str, str]:
    """Ids of the records that belong to these cases → their table name."""
    found: dict[str, str] = {}
    for chunk in _chunks(case_ids):
        for model in (JournalEntry, Assessment, Goal, Appointment, Referral, FollowUp, Document, Consent):
            for row_id in session.scalars(select(model.id).where(model.case_id.in_(chunk))):
                found[row_id] = model.__tablename__
        goal_ids = list(session.scalars(select(Goal.id).where(Goal.case_id.in_(chunk))))
        for goal_chunk in _chunks(goal_ids):
            for row_id in session.scalars(select(Step.id).where(Step.goal_id.in_(goal_chunk))):
                found[row_id] = "step"
    return found


def _person_records(session, person_id: str) -> dict[str, str]:
    found = {person_id: "person"}
    case_ids = _case_ids_of_person(session, person_id)
    found.update({case: "case_file" for case in case_ids})
    found.update(_case_dependants(session, case_ids))
    for model in (JournalEntry, Referral, Consent, Document):
        for row_id in session.scalars(select(model.id).where(model.person_id == person_id)):
            found[row_id] = model.__tablename__
    for row_id in session.scalars(
        select(AppointmentParticipant.appointment_id).where(AppointmentParticipant.person_id == person_id)
    ):
        found[row_id] = "appointment"
    return found


def _display_value(value: str | None) -> str | None:
    if value == "true":
        return _("ja")
    if value == "false":
        return _("nein")
    if value and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            if len(value) == 10:
                return date.fromisoformat(value).strftime("%d.%m.%Y")
            return local_time(datetime.fromisoformat(value)).strftime("%d.%m.%Y %H:%M")
        except ValueError:
            return value
    return value


def change_history(
    session,
    *,
    person_id: str | None = None,
    case_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[ChangeRow]:
    """Field-level changes of a person and everything hanging off them, or of a case and its parts; newest
    first. Only queries; ``audit.read`` (Teamleitung)."""
    require_session(session, "audit.read")
    _check_target(person_id, case_id)
    if person_id:
        records = _person_records(session, person_id)
    else:
        records = {case_id: "case_file", **_case_dependants(session, [case_id])}
    first, end = _bounds(since, until)
    rows: list[ChangeRecord] = []
    for chunk in _chunks(sorted(records)):
        stmt = select(ChangeRecord).where(ChangeRecord.entity_id.in_(chunk))
        if first is not None:
            stmt = stmt.where(ChangeRecord.at >= first)
        if end is not None:
            stmt = stmt.where(ChangeRecord.at < end)
        rows.extend(session.scalars(stmt))
    rows.sort(key=lambda r: (_aware(r.at), r.seq), reverse=True)
    confidential = {
        entry_id
        for chunk in _chunks([i for i, kind in records.items() if kind == "journal_entry"])
        for entry_id in session.scalars(
            select(JournalEntry.id).where(JournalEntry.id.in_(chunk), JournalEntry.confidential.is_(True))
        )
    }
    names = _user_names(session, (r.user_id for r in rows))
    titles = _titles(session, {(r.entity_type, r.entity_id) for r in rows})
    fields, operations = field_labels(), operation_labels()
    result = []
    for r in rows:
        old, new = _display_value(r.old_value), _display_value(r.new_value)
        if r.entity_id in confidential and r.field == "text":
            old = CONFIDENTIAL_VALUE if old is not None else None
            new = CONFIDENTIAL_VALUE if new is not None else None
        result.append(
            ChangeRow(
                at=_aware(r.at),
                user=names[r.user_id],
                entity_type=r.entity_type,
                entity_id=r.entity_id,
                what=_what(r.entity_type, r.entity_id, titles),
                operation=r.operation,
                operation_label=operations.get(r.operation, r.operation),
                field=r.field,
                field_label=fields.get(r.field or "", r.field or ""),
                old_value=old,
                new_value=new,
            )  # fmt: skip
        )
    return result


def _owner(session, person_id: str | None, case_id: str | None) -> tuple[str | None, str | None]:
    """Check the target exists; the person the file belongs to (for the log of this read)."""
    _check_target(person_id, case_id)
    if person_id:
        if session.get(Person, person_id) is None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        return person_id, None
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
    return case.person_id, case.id


def read_trail(
    ctx: ServiceContext,
    *,
    person_id: str | None = None,
    case_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 1000,
) -> Trail:
    """Access log and change history of a person or a case (an audited read of the audit trail); ``audit.read``."""
    require(ctx.actor, "audit.read")
    with ctx.write() as session:
        owner, case = _owner(session, person_id, case_id)
        trail = Trail(
            access_log(session, person_id=person_id, case_id=case_id, since=since, until=until, limit=limit),
            change_history(session, person_id=person_id, case_id=case_id, since=since, until=until),
        )
        audit.record(
            session, "read", entity_type="audit_trail", entity_id=person_id or case_id, person_id=owner,
            case_id=case, detail={"access": len(trail.access), "changes": len(trail.changes)},
        )  # fmt: skip
    return trail


CSV_HEADER = (
    "Art", "Zeitpunkt", "Benutzer/in", "Aktion", "Objekt", "Kennung", "Feld", "alter Wert", "neuer Wert",
)  # fmt: skip


def trail_csv(trail: Trail) -> bytes:
    """The trail as CSV for a spreadsheet (semicolons, UTF-8 with BOM: Excel in German opens it right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for a in trail.access:
        writer.writerow(
            ["Zugriff", local_time(a.at).strftime("%d.%m.%Y %H:%M:%S"), a.user, a.action_label, a.what,
             a.entity_id or "", "", "", ""]
        )  # fmt: skip
    for c in trail.changes:
        writer.writerow(
            ["Änderung", local_time(c.at).strftime("%d.%m.%Y %H:%M:%S"), c.user, c.operation_label, c.what,
             c.entity_id, c.field_label, c.old_value or "", c.new_value or ""]
        )  # fmt: skip
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_for_dpo(
    ctx: ServiceContext,
    *,
    person_id: str | None = None,
    case_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> bytes:
    """CSV of the access log and the change history for the data protection officer (an audited export);
    ``audit.read``."""
    require(ctx.actor, "audit.read")
    with ctx.write() as session:
        owner, case = _owner(session, person_id, case_id)
        trail = Trail(
            access_log(
                session, person_id=person_id, case_id=case_id, since=since, until=until, limit=100_000
            ),
            change_history(session, person_id=person_id, case_id=case_id, since=since, until=until),
        )
        audit.record(
            session, "export", entity_type="audit_trail", entity_id=person_id or case_id, person_id=owner,
            case_id=case, detail={"access": len(trail.access), "changes": len(trail.changes), "format": "csv"},
        )  # fmt: skip
    return trail_csv(trail)
