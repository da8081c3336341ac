"""Export of the person list and the case list to XLSX or CSV, respecting roles. No Qt.

- Persons: every role with ``person.read_basic`` exports names and contact data; columns with case data
  (nationalities, residence status, file numbers) only come with ``person.read_case_data``, and then only for
  persons in the actor's visible cases or without any case (the rule of ``ensure_person_case_data_visible``).
  Empfang/Verwaltung therefore gets names and contact data only.
- Cases: the cases the actor may see (``visible_case_clause``).
- Never exported: persons whose processing is restricted (Art. 18 DSGVO), anonymised, merged or deleted
  records, and anything confidential: contact counts and the date of the last contact are computed from
  non-confidential journal entries only, and no journal text, note or document leaves at all.
- Every export is written to the audit trail with the number of rows and the format (no personal data).

Text cells that a spreadsheet would take for a formula (starting with ``= + - @``) are defused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..db.models import Case, CaseMember, JournalEntry, Person, PersonNationality, Team, UserAccount
from ..errors import UserError
from ..i18n import _, country_name, format_date
from . import audit
from .context import ServiceContext
from .dates import PartialDate
from .permissions import allowed, require, visible_case_clause

FORMATS = ("csv", "xlsx")
KINDS = ("persons", "cases")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list]


def _live_person():
    return [
        Person.deleted_at.is_(None),
        Person.merged_into_id.is_(None),
        Person.anonymised_at.is_(None),
        Person.restricted_at.is_(None),
    ]


def person_table(ctx: ServiceContext) -> Table:
    require(ctx.actor, "person.read_basic")
    case_data = allowed(ctx.actor, "person.read_case_data")
    headers = [_("Familienname"), _("Vornamen"), _("Geburtsdatum"), _("Geschlecht"), _("Straße"), _("PLZ"),
               _("Ort"), _("Telefon"), _("E-Mail")]  # fmt: skip
    if case_data:
        headers += [_("Staatsangehörigkeiten"), _("Aufenthaltsstatus"), _("gültig bis"), _("Aktenzeichen")]
    with ctx.read() as session:
        from .codes import code_labels
        from .statistics import sex_labels

        sexes = sex_labels()
        stmt = select(
            Person.id, Person.family_name, Person.given_names, Person.birth_year, Person.birth_month,
            Person.birth_day, Person.sex, Person.street, Person.postcode, Person.city, Person.phone, Person.email,
            Person.residence_status, Person.residence_valid_until,
        ).where(*_live_person()).order_by(Person.sort_name, Person.id)  # fmt: skip
        rows = session.execute(stmt).all()
        visible: set[str] | None = None
        nationalities: dict[str, list[str]] = {}
        numbers: dict[str, list[str]] = {}
        statuses = {}
        if case_data:
            statuses = code_labels(session, "residence_status")
            clause = visible_case_clause(ctx.actor)
            if clause is not None:
                # the client of a case (case_file.person_id) or a member of it (case_member)
                member = select(CaseMember.case_id).where(CaseMember.person_id == Person.id)
                of_person = (Case.person_id == Person.id) | Case.id.in_(member)
                live_case = [Case.deleted_at.is_(None), of_person]
                has_case = select(Case.id).where(*live_case).exists()
                sees = select(Case.id).where(*live_case, clause).exists()
                visible = set(session.scalars(select(Person.id).where(*_live_person(), sees | ~has_case)))
            for person_id, code in session.execute(
                select(PersonNationality.person_id, PersonNationality.country_code).order_by(
                    PersonNationality.person_id, PersonNationality.sort_order
                )
            ):
                nationalities.setdefault(person_id, []).append(code)
            case_clause = visible_case_clause(ctx.actor)
            case_stmt = select(Case.person_id, Case.file_number).where(Case.deleted_at.is_(None))
            if case_clause is not None:
                case_stmt = case_stmt.where(case_clause)
            for person_id, number in session.execute(case_stmt.order_by(Case.opened_on)):
                numbers.setdefault(person_id, []).append(number)
    out = []
    for r in rows:
        birth = PartialDate.from_parts(r.birth_year, r.birth_month, r.birth_day)
        line = [r.family_name, r.given_names, birth.german() if birth else "", sexes.get(r.sex, r.sex), r.street,
                r.postcode, r.city, r.phone, r.email]  # fmt: skip
        if case_data:
            if visible is None or r.id in visible:
                line += [
                    ", ".join(country_name(c) for c in nationalities.get(r.id, [])),
                    statuses.get(r.residence_status, r.residence_status or ""),
                    r.residence_valid_until,
                    ", ".join(numbers.get(r.id, [])),
                ]
            else:
                line += ["", "", None, ""]
        out.append(line)
    return Table(_("Personen"), headers, out)


def case_table(ctx: ServiceContext, *, phase: str | None = None) -> Table:
    """Cases visible to the actor; ``phase`` a phase code or ``open`` (every phase but Abschluss)."""
    require(ctx.actor, "case.read")
    from ..db.models import CASE_PHASES

    if phase is not None and phase != "open" and phase not in CASE_PHASES:
        raise UserError(_("Unbekannte Phase: {phase}").format(phase=str(phase)[:30]))
    headers = [_("Aktenzeichen"), _("Familienname"), _("Vornamen"), _("Phase"), _("Case Manager/in"), _("Team"),
               _("Zugangsweg"), _("eröffnet am"), _("abgeschlossen am"), _("Abschlussgrund"), _("Zielerreichung"),
               _("Kontakte"), _("letzter Kontakt")]  # fmt: skip
    with ctx.read() as session:
        from .cases import phase_label
        from .codes import code_labels
        from .statistics import goal_achievement_labels

        contacts = (
            select(
                JournalEntry.case_id.label("case_id"),
                func.count().label("n"),
                func.max(JournalEntry.entry_date).label("last"),
            )
            .where(
                JournalEntry.deleted_at.is_(None),
                JournalEntry.confidential.is_(False),
                JournalEntry.system_generated.is_(False),
                JournalEntry.contact_type.is_not(None),
            )
            .group_by(JournalEntry.case_id)
            .subquery()
        )
        # an alias: permission clauses correlate subqueries on ``user_account`` with the case
        manager = aliased(UserAccount)
        stmt = (
            select(
                Case.file_number, Person.family_name, Person.given_names, Case.phase, manager.display_name,
                Team.name, Case.access_channel, Case.opened_on, Case.closed_on, Case.closure_reason,
                Case.goal_achievement, contacts.c.n, contacts.c.last,
            )
            .join(Person, Person.id == Case.person_id)
            .outerjoin(manager, manager.id == Case.case_manager_id)
            .outerjoin(Team, Team.id == func.coalesce(Case.team_id, manager.team_id))
            .outerjoin(contacts, contacts.c.case_id == Case.id)
            .where(Case.deleted_at.is_(None), *_live_person())
            .order_by(Case.opened_on, Case.file_number)
        )  # fmt: skip
        clause = visible_case_clause(ctx.actor)
        if clause is not None:
            stmt = stmt.where(clause)
        if phase == "open":
            stmt = stmt.where(Case.phase != "closed")
        elif phase:
            stmt = stmt.where(Case.phase == phase)
        rows = session.execute(stmt).all()
        channels = code_labels(session, "access_channel")
        reasons = code_labels(session, "closure_reason")
    achievements = goal_achievement_labels()
    out = [
        [
            r[0],
            r[1],
            r[2],
            phase_label(r[3]),
            r[4] or "",
            r[5] or "",
            channels.get(r[6], r[6] or ""),
            r[7],
            r[8],
            reasons.get(r[9], r[9] or ""),
            achievements.get(r[10], r[10] or ""),
            r[11] or 0,
            r[12],
        ]  # fmt: skip
        for r in rows
    ]
    return Table(_("Fälle"), headers, out)


def _defuse(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(
            ["" if v is None else format_date(v) if isinstance(v, date) else _defuse(v) for v in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in table.headers]
    for row in table.rows:
        sheet.append([_defuse(v) for v in row])
        for i, value in enumerate(row):
            if value is not None:
                widths[i] = max(widths[i], len(format_date(value) if isinstance(value, date) else str(value)))
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_list(ctx: ServiceContext, kind: str, fmt: str, path: Path, *, phase: str | None = None) -> int:
    """Write the person or case list to ``path``; returns the number of rows. Audited (count and format)."""
    from ..reports.statistics_report import write_bytes

    if kind not in KINDS:
        raise UserError(_("Unbekannte Liste: {kind} (möglich: persons, cases)").format(kind=str(kind)[:20]))
    if fmt not in FORMATS:
        raise UserError(_("Unbekanntes Format: {fmt} (möglich: csv, xlsx)").format(fmt=str(fmt)[:10]))
    table = person_table(ctx) if kind == "persons" else case_table(ctx, phase=phase)
    data = to_csv(table) if fmt == "csv" else to_xlsx(table)
    write_bytes(Path(path), data)
    with ctx.write() as session:
        audit.record(
            session, "export", entity_type=f"{kind[:-1]}_list",
            detail={"rows": len(table.rows), "format": fmt, "columns": len(table.headers)},
        )  # fmt: skip
    return len(table.rows)
