"""Journal (Verlauf), assessment per life area, Hilfeplan goals and steps, structural findings.

Journal entries flagged *vertraulich/anvertraut* are kept out of every export, report and letter: every
function that feeds those uses ``shareable_entries``, never the raw table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from ..db.models import Assessment, Case, Goal, JournalEntry, Person, Step, StructuralFinding
from ..errors import NotFoundError, ValidationError
from ..i18n import _
from . import audit, retention
from .context import ServiceContext
from .permissions import (
    ensure_case_id_visible,
    ensure_case_visible,
    ensure_person_case_data_visible,
    require,
    require_session,
)

MAX_TEXT = 50_000
MAX_DURATION_MIN = 24 * 60


@dataclass
class JournalView:
    id: str
    entry_date: date
    contact_type: str | None
    duration_min: int | None
    interpreter_language: str | None
    location_id: str | None
    text: str
    confidential: bool
    system_generated: bool
    author_id: str | None


def _case(session, case_id: str, action: str) -> Case:
    """The live case, if the session's actor may do ``action`` on it (``PermissionDeniedError`` otherwise)."""
    case = session.get(Case, case_id)
    if case is None or case.deleted_at is not None:
        raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
    ensure_case_visible(session, case, action=action)
    return case


def _check_entry_access(session, entry: JournalEntry) -> None:
    """``journal.write`` on the entry's case (or, for an entry without a case, on the person's case data)."""
    if entry.case_id is not None:
        ensure_case_id_visible(session, entry.case_id, action="journal.write")
    elif entry.person_id is not None:
        ensure_person_case_data_visible(session, entry.person_id, action="journal.write")
    else:
        require_session(session, "journal.write")


def _check_entry_date(session, case: Case, entry_date: date, field: str = "entry_date") -> None:
    if entry_date > date.today():
        raise ValidationError({field: _("Das Datum liegt in der Zukunft.")})
    person = session.get(Person, case.person_id)
    if person is not None and person.birth_year is not None and entry_date.year < person.birth_year:
        raise ValidationError({field: _("Das Datum liegt vor der Geburt der Person.")})


def add_journal_entry(
    ctx: ServiceContext,
    case_id: str,
    *,
    text: str,
    entry_date: date | None = None,
    contact_type: str | None = "persoenlich",
    duration_min: int | None = None,
    interpreter_language: str | None = None,
    interpreter_id: str | None = None,
    location_id: str | None = None,
    confidential: bool = False,
    life_areas: list[str] | None = None,
) -> str:
    require(ctx.actor, "journal.write")
    entry_date = entry_date or date.today()
    text = (text or "").strip()
    errors = {}
    if not text:
        errors["text"] = _("Bitte schreiben Sie kurz, worum es ging.")
    elif len(text) > MAX_TEXT:
        errors["text"] = _("Der Text darf höchstens {limit} Zeichen lang sein.").format(limit=MAX_TEXT)
    if duration_min is not None and not 0 <= duration_min <= MAX_DURATION_MIN:
        errors["duration_min"] = _("Die Dauer muss zwischen 0 und 1440 Minuten liegen.")
    if errors:
        raise ValidationError(errors)
    with ctx.write() as session:
        case = _case(session, case_id, "journal.write")
        retention.ensure_not_restricted(session, case.person_id)  # Art. 18: storage only
        _check_entry_date(session, case, entry_date)
        entry = JournalEntry(
            case_id=case.id,
            person_id=case.person_id,
            entry_date=entry_date,
            contact_type=contact_type,
            duration_min=duration_min,
            interpreter_language=interpreter_language,
            interpreter_id=interpreter_id,
            location_id=location_id,
            text=text,
            confidential=confidential,
            life_areas=life_areas,
            author_id=ctx.actor.user_id,
        )
        session.add(entry)
        session.flush()
        audit.record(
            session, "create", entity_type="journal_entry", entity_id=entry.id, person_id=case.person_id,
            case_id=case.id,
        )  # fmt: skip
        return entry.id


def delete_journal_entry(ctx: ServiceContext, entry_id: str) -> None:
    """Soft delete (tombstone), so it can be undone and the deletion syncs."""
    require(ctx.actor, "journal.write")
    with ctx.write() as session:
        entry = session.get(JournalEntry, entry_id)
        if entry is None or entry.deleted_at is not None:
            raise NotFoundError(_("Diesen Eintrag gibt es nicht (mehr)."))
        _check_entry_access(session, entry)
        from ..db.base import utcnow

        entry.deleted_at = utcnow()
        audit.record(
            session, "delete", entity_type="journal_entry", entity_id=entry.id, person_id=entry.person_id,
            case_id=entry.case_id,
        )  # fmt: skip


def restore_journal_entry(ctx: ServiceContext, entry_id: str) -> None:
    require(ctx.actor, "journal.write")
    with ctx.write() as session:
        entry = session.get(JournalEntry, entry_id)
        if entry is None or entry.deleted_at is None:
            raise NotFoundError(_("Dieser Eintrag kann nicht wiederhergestellt werden."))
        _check_entry_access(session, entry)
        entry.deleted_at = None
        audit.record(
            session, "restore", entity_type="journal_entry", entity_id=entry.id, person_id=entry.person_id,
            case_id=entry.case_id,
        )  # fmt: skip


def journal(session, case_id: str, *, offset: int = 0, limit: int = 200, include_confidential: bool = True):
    """Entries newest first (paged: a case may hold thousands). ``journal.read`` and a visible case."""
    ensure_case_id_visible(session, case_id, action="journal.read")
    stmt = select(JournalEntry).where(JournalEntry.case_id == case_id, JournalEntry.deleted_at.is_(None))
    if not include_confidential:
        stmt = stmt.where(JournalEntry.confidential.is_(False))
    stmt = (
        stmt.order_by(JournalEntry.entry_date.desc(), JournalEntry.created_at.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        JournalView(
            e.id,
            e.entry_date,
            e.contact_type,
            e.duration_min,
            e.interpreter_language,
            e.location_id,
            e.text,
            e.confidential,
            e.system_generated,
            e.author_id,
        )  # fmt: skip
        for e in session.scalars(stmt)
    ]


def journal_count(session, case_id: str) -> int:
    ensure_case_id_visible(session, case_id, action="journal.read")
    return session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.case_id == case_id, JournalEntry.deleted_at.is_(None))
    )


def shareable_entries(session, case_id: str, **kwargs):
    """Entries that may leave the case file (exports, reports, letters): never the confidential ones."""
    kwargs["include_confidential"] = False
    return journal(session, case_id, **kwargs)


# --- assessment -----------------------------------------------------------------------------------------


def set_assessment(
    ctx: ServiceContext,
    case_id: str,
    life_area: str,
    *,
    situation: str | None = None,
    resources: str | None = None,
    needs: str | None = None,
    priority: int | None = None,
    need_level: int | None = None,
    assessed_on: date | None = None,
) -> str:
    require(ctx.actor, "case.write")
    if priority is not None and priority not in (1, 2, 3):
        raise ValidationError({"priority": _("Priorität: 1 (hoch), 2 (mittel) oder 3 (niedrig).")})
    if need_level is not None and need_level not in (0, 1, 2, 3):
        raise ValidationError({"need_level": _("Handlungsbedarf: 0 (keiner) bis 3 (dringend).")})
    with ctx.write() as session:
        case = _case(session, case_id, "case.write")
        from .cases import _check_code

        _check_code(session, "life_area", life_area, "life_area", _("Unbekannter Lebensbereich: {code}"))
        row = session.scalar(
            select(Assessment).where(Assessment.case_id == case.id, Assessment.life_area == life_area)
        )
        if row is None:
            row = Assessment(case_id=case.id, life_area=life_area)
            session.add(row)
        row.situation = (situation or "").strip() or None
        row.resources = (resources or "").strip() or None
        row.needs = (needs or "").strip() or None
        row.priority = priority
        row.need_level = need_level
        row.assessed_on = assessed_on or date.today()
        session.flush()
        audit.record(
            session, "update", entity_type="assessment", entity_id=row.id, person_id=case.person_id, case_id=case.id,
            detail={"life_area": life_area},
        )  # fmt: skip
        return row.id


def assessments(session, case_id: str) -> list[Assessment]:
    ensure_case_id_visible(session, case_id, action="case.read")
    return list(
        session.scalars(
            select(Assessment).where(Assessment.case_id == case_id, Assessment.deleted_at.is_(None))
        )
    )


# --- Hilfeplan ------------------------------------------------------------------------------------------


def add_goal(
    ctx: ServiceContext,
    case_id: str,
    title: str,
    *,
    life_area: str | None = None,
    description: str | None = None,
    review_on: date | None = None,
    agreed_on: date | None = None,
) -> str:
    require(ctx.actor, "case.write")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Ein Ziel braucht einen Text.")})
    if len(title) > 300:
        raise ValidationError(
            {"title": _("Das Ziel darf höchstens 300 Zeichen lang sein (Details bitte in die Beschreibung).")}
        )
    with ctx.write() as session:
        case = _case(session, case_id, "case.write")
        agreed_on = agreed_on or date.today()
        if review_on is not None and review_on < agreed_on:
            raise ValidationError({"review_on": _("Die Überprüfung liegt vor der Vereinbarung des Ziels.")})
        count = session.scalar(select(func.count()).select_from(Goal).where(Goal.case_id == case.id)) or 0
        goal = Goal(
            case_id=case.id, life_area=life_area, title=title, description=(description or "").strip() or None,
            agreed_on=agreed_on, review_on=review_on, sort_order=count,
        )  # fmt: skip
        session.add(goal)
        session.flush()
        audit.record(
            session,
            "create",
            entity_type="goal",
            entity_id=goal.id,
            person_id=case.person_id,
            case_id=case.id,
        )
        return goal.id


def add_step(
    ctx: ServiceContext,
    goal_id: str,
    description: str,
    *,
    responsible: str = "client",
    responsible_note: str | None = None,
    due_on: date | None = None,
) -> str:
    require(ctx.actor, "case.write")
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Ein Schritt braucht eine Beschreibung (wer macht was).")})
    if responsible not in ("client", "case_manager", "other"):
        raise ValidationError(
            {"responsible": _("Verantwortlich: Klient*in, Case Manager/in oder andere Stelle.")}
        )
    with ctx.write() as session:
        goal = session.get(Goal, goal_id)
        if goal is None or goal.deleted_at is not None:
            raise NotFoundError(_("Dieses Ziel gibt es nicht (mehr)."))
        ensure_case_id_visible(session, goal.case_id, action="case.write")
        count = session.scalar(select(func.count()).select_from(Step).where(Step.goal_id == goal.id)) or 0
        step = Step(
            goal_id=goal.id, description=description, responsible=responsible,
            responsible_note=(responsible_note or "").strip() or None, due_on=due_on, sort_order=count,
        )  # fmt: skip
        session.add(step)
        session.flush()
        case = session.get(Case, goal.case_id)
        audit.record(
            session,
            "create",
            entity_type="step",
            entity_id=step.id,
            person_id=case.person_id,
            case_id=case.id,
        )
        return step.id


def complete_step(ctx: ServiceContext, step_id: str, done_on: date | None = None) -> None:
    require(ctx.actor, "case.write")
    with ctx.write() as session:
        step = session.get(Step, step_id)
        if step is None or step.deleted_at is not None:
            raise NotFoundError(_("Diesen Schritt gibt es nicht (mehr)."))
        goal = session.get(Goal, step.goal_id)
        ensure_case_id_visible(session, goal.case_id if goal else None, action="case.write")
        step.done_on = done_on or date.today()


def goals(session, case_id: str) -> list[tuple[Goal, list[Step]]]:
    """The Hilfeplan of a case: goals with their steps. ``case.read`` and a visible case."""
    ensure_case_id_visible(session, case_id, action="case.read")
    result = []
    for goal in session.scalars(
        select(Goal).where(Goal.case_id == case_id, Goal.deleted_at.is_(None)).order_by(Goal.sort_order)
    ):
        steps = list(
            session.scalars(
                select(Step)
                .where(Step.goal_id == goal.id, Step.deleted_at.is_(None))
                .order_by(Step.sort_order)
            )
        )
        result.append((goal, steps))
    return result


# --- structural findings --------------------------------------------------------------------------------


def add_structural_finding(
    ctx: ServiceContext,
    category: str,
    description: str,
    *,
    case_id: str | None = None,
    observed_on: date | None = None,
) -> str:
    require(ctx.actor, "case.write")
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Bitte beschreiben Sie die Systemlücke kurz (ohne Namen).")})
    with ctx.write() as session:
        if case_id is not None:
            ensure_case_id_visible(session, case_id, action="case.write")
        from .cases import _check_code

        _check_code(session, "finding_category", category, "category", _("Unbekannte Kategorie: {code}"))
        finding = StructuralFinding(
            category=category, description=description, case_id=case_id, observed_on=observed_on or date.today(),
            author_id=ctx.actor.user_id,
        )  # fmt: skip
        session.add(finding)
        session.flush()
        audit.record(
            session, "create", entity_type="structural_finding", entity_id=finding.id, case_id=case_id
        )
        return finding.id
