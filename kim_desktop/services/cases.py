"""Cases and the case journey: open (with file number), phase changes, closure, reopening, handover.

The DGCC case-management cycle as KIM uses it:
Klärung (intake) → Assessment → Hilfeplanung (planning) → Umsetzung (implementation) → Monitoring → Abschluss.

Rules (each with a German message when broken):
- forward only one phase at a time; going back to any earlier open phase is allowed (re-assessment);
- leaving Klärung needs a recorded consent to case management;
- leaving Hilfeplanung needs at least one goal;
- closing is possible from every phase, needs a closure reason from the office's list and a rating of every
  open goal (erreicht / teilweise / nicht erreicht);
- a closed case can be reopened; it returns to the phase it had before closure.
Every change is dated and attributed (``case_phase_change``) and written in one transaction.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, func, select

from ..db.models import (
    CASE_PHASES,
    Assessment,
    Case,
    CasePhaseChange,
    CodeEntry,
    Consent,
    Goal,
    JournalEntry,
    Person,
    Setting,
)
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit
from .context import ServiceContext
from .permissions import (
    actor_of,
    ensure_case_visible,
    ensure_person_case_data_visible,
    require,
    visible_case_clause,
)
from .search import reindex_persons

GOAL_RATINGS = ("achieved", "partly", "not_achieved")
PATTERN_FIELDS = {"Jahr", "Nr", "Monat"}
DEFAULT_PATTERN = "KIM-{Jahr}-{Nr:04}"


def phase_label(phase: str) -> str:
    return {
        "intake": _("Klärung"),
        "assessment": _("Assessment"),
        "planning": _("Hilfeplanung"),
        "implementation": _("Umsetzung"),
        "monitoring": _("Monitoring"),
        "closed": _("Abschluss"),
    }.get(phase, phase)


def rating_label(rating: str) -> str:
    return {
        "achieved": _("erreicht"),
        "partly": _("teilweise erreicht"),
        "not_achieved": _("nicht erreicht"),
    }.get(rating, rating)


# --- file numbers ---------------------------------------------------------------------------------------


def validate_pattern(pattern: str) -> None:
    """A file-number pattern may use {Jahr}, {Monat} and {Nr[:0N]} and must contain {Nr}."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        raise UserError(_("Das Muster für Aktenzeichen ist fehlerhaft (Klammern prüfen).")) from None
    names = {name for _text, name, _spec, _conv in parts if name is not None}
    unknown = names - PATTERN_FIELDS
    if unknown:
        raise UserError(
            _(
                "Unbekannter Platzhalter im Aktenzeichen-Muster: {{{name}}}. Erlaubt: {{Jahr}}, {{Monat}}, {{Nr}}."
            ).format(name=sorted(unknown)[0])
        )
    if "Nr" not in names:
        raise UserError(_("Das Muster für Aktenzeichen braucht eine laufende Nummer {Nr}."))
    format_file_number(pattern, 2026, 1, 1)


def format_file_number(pattern: str, year: int, month: int, number: int) -> str:
    try:
        return pattern.format(Jahr=f"{year:04d}", Monat=f"{month:02d}", Nr=number)
    except (ValueError, KeyError, IndexError):
        raise UserError(_("Das Muster für Aktenzeichen ist fehlerhaft.")) from None


def next_file_number(session, on: date) -> str:
    """The next free file number for ``on``'s year; the counter lives in ``setting`` (one per year)."""
    pattern = session.get(Setting, "file_number_pattern")
    pattern_text = (
        pattern.value if pattern is not None and isinstance(pattern.value, str) else DEFAULT_PATTERN
    )
    validate_pattern(pattern_text)
    key = f"file_number_counter:{on.year}"
    counter = session.get(Setting, key)
    if counter is None:
        counter = Setting(key=key, value=0)
        session.add(counter)
    number = int(counter.value or 0)
    while True:
        number += 1
        candidate = format_file_number(pattern_text, on.year, on.month, number)
        if not session.scalar(select(func.count()).select_from(Case).where(Case.file_number == candidate)):
            break
    counter.value = number
    return candidate


# --- views ----------------------------------------------------------------------------------------------


@dataclass
class CaseSummary:
    id: str
    file_number: str
    person_id: str
    person_name: str
    phase: str
    case_manager_id: str | None
    case_manager: str | None
    opened_on: date
    closed_on: date | None
    closure_reason: str | None
    version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file_number": self.file_number,
            "person_id": self.person_id,
            "person_name": self.person_name,
            "phase": self.phase,
            "case_manager_id": self.case_manager_id,
            "case_manager": self.case_manager,
            "opened_on": self.opened_on.isoformat(),
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "closure_reason": self.closure_reason,
        }


@dataclass
class PhaseChangeView:
    from_phase: str | None
    to_phase: str
    changed_on: date
    changed_by: str | None
    note: str | None


@dataclass
class CaseView(CaseSummary):
    access_channel: str | None = None
    eligibility: dict | None = None
    goal_achievement: str | None = None
    history: list[PhaseChangeView] = field(default_factory=list)


def _summary_columns():
    from ..db.models import UserAccount

    return (
        select(Case, Person.family_name, Person.given_names, UserAccount.display_name)
        .join(Person, Person.id == Case.person_id)
        .outerjoin(UserAccount, UserAccount.id == Case.case_manager_id)
    )


def _summary(case: Case, family: str, given: str, manager: str | None) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        file_number=case.file_number,
        person_id=case.person_id,
        person_name=f"{family}, {given}" if given else family,
        phase=case.phase,
        case_manager_id=case.case_manager_id,
        case_manager=manager,
        opened_on=case.opened_on,
        closed_on=case.closed_on,
        closure_reason=case.closure_reason,
        version=case.version,
    )


# --- use cases ------------------------------------------------------------------------------------------


def _load_case(session, case_id: str, action: str = "case.read") -> Case:
    """The live case, if the session's actor may do ``action`` on it (``PermissionDeniedError`` otherwise)."""
    case = session.get(Case, case_id)
    if case is None or case.deleted_at is not None:
        raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
    ensure_case_visible(session, case, action=action)
    return case


def _check_code(session, list_name: str, code: str | None, field_name: str, message: str) -> None:
    if code is None:
        return
    found = session.scalar(
        select(func.count())
        .select_from(CodeEntry)
        .where(CodeEntry.list_name == list_name, CodeEntry.code == code)
    )
    if not found:
        raise ValidationError({field_name: message.format(code=code[:40])})


def open_case(
    ctx: ServiceContext,
    person_id: str,
    *,
    access_channel: str | None = None,
    case_manager_id: str | None = None,
    opened_on: date | None = None,
    eligibility: dict | None = None,
    consent_on: date | None = None,
    consent_form: str = "written",
    member_ids: Sequence[str] | None = None,
) -> CaseView:
    """Open a case in phase Klärung with the next file number; with ``consent_on`` the consent to case
    management is recorded in the same transaction.

    With ``member_ids`` (household members the case is also about) the client and those persons become the
    case's members (``case_member``) in the same transaction, and a case with further members becomes the
    case of the client's household. Needs ``case.write``."""
    require(ctx.actor, "case.write")
    opened_on = opened_on or date.today()
    if opened_on > date.today():
        raise ValidationError({"opened_on": _("Ein Fall kann nicht in der Zukunft eröffnet werden.")})
    with ctx.write() as session:
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None or person.merged_into_id is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        if person.birth_year is not None and opened_on.year < person.birth_year:
            raise ValidationError({"opened_on": _("Das Eröffnungsdatum liegt vor der Geburt.")})
        _check_code(
            session, "access_channel", access_channel, "access_channel", _("Unbekannter Zugangsweg: {code}")
        )
        case = Case(
            file_number=next_file_number(session, opened_on),
            person_id=person_id,
            phase="intake",
            case_manager_id=case_manager_id or ctx.actor.user_id,
            access_channel=access_channel,
            opened_on=opened_on,
            eligibility=eligibility,
            residence_status_at_intake=person.residence_status,
        )
        session.add(case)
        session.flush()
        session.add(
            CasePhaseChange(
                case_id=case.id,
                from_phase=None,
                to_phase="intake",
                changed_on=opened_on,
                changed_by=ctx.actor.user_id,
            )
        )
        if consent_on is not None:
            _add_consent(session, person_id, case.id, consent_on, consent_form, True, None)
        members = None
        if member_ids is not None:
            from .households import insert_case_members

            members = insert_case_members(session, case, member_ids)
        reindex_persons(session, [person_id])
        audit.record(
            session, "create", entity_type="case", entity_id=case.id, person_id=person_id, case_id=case.id,
            detail={"members": members} if members else None,
        )  # fmt: skip
        session.flush()
        return _case_view(session, case)


def _case_view(session, case: Case) -> CaseView:
    from ..db.models import UserAccount

    person = session.get(Person, case.person_id)
    manager = session.get(UserAccount, case.case_manager_id) if case.case_manager_id else None
    summary = _summary(
        case, person.family_name, person.given_names, manager.display_name if manager else None
    )
    history = [
        PhaseChangeView(c.from_phase, c.to_phase, c.changed_on, c.changed_by, c.note)
        for c in session.scalars(
            select(CasePhaseChange)
            .where(CasePhaseChange.case_id == case.id)
            .order_by(CasePhaseChange.changed_at, CasePhaseChange.id)
        )
    ]
    return CaseView(
        **summary.__dict__,
        access_channel=case.access_channel,
        eligibility=case.eligibility,
        goal_achievement=case.goal_achievement,
        history=history,
    )


def get_case(ctx: ServiceContext, case_id: str) -> CaseView:
    """Open a case (an audited read): ``case.read`` and a case the actor may see."""
    require(ctx.actor, "case.read")
    with ctx.write() as session:
        case = _load_case(session, case_id)
        audit.record(
            session, "read", entity_type="case", entity_id=case.id, person_id=case.person_id, case_id=case.id
        )
        return _case_view(session, case)


def _has_case_consent(session, case: Case, on: date) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Consent)
            .where(
                Consent.person_id == case.person_id,
                Consent.kind == "case_management",
                Consent.deleted_at.is_(None),
                Consent.revoked_on.is_(None),
                Consent.given_on <= on,
                (Consent.valid_until.is_(None)) | (Consent.valid_until >= on),
            )
        )
    )


def _open_goals(session, case_id: str) -> list[Goal]:
    return list(
        session.scalars(
            select(Goal).where(Goal.case_id == case_id, Goal.deleted_at.is_(None)).order_by(Goal.sort_order)
        )
    )


def change_phase(
    ctx: ServiceContext,
    case_id: str,
    to_phase: str,
    *,
    on: date | None = None,
    note: str | None = None,
    closure_reason: str | None = None,
    goal_ratings: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> CaseView:
    """Move a case to another phase under the rules in the module docstring."""
    require(ctx.actor, "case.write")
    on = on or date.today()
    if to_phase not in CASE_PHASES:
        raise ValidationError({"phase": _("Unbekannte Phase: {phase}").format(phase=str(to_phase)[:30])})
    with ctx.write() as session:
        case = _load_case(session, case_id, "case.write")
        if expected_version is not None and case.version != expected_version:
            from .conflicts import stale_record_error

            raise stale_record_error(
                session,
                "case_file",
                case.id,
                expected_version=expected_version,
                current_version=case.version,
                yours={"phase": to_phase},
                theirs={"phase": case.phase},
            )
        current = case.phase
        if current == "closed":
            raise UserError(_("Der Fall ist abgeschlossen. Bitte öffnen Sie ihn zuerst wieder."))
        if to_phase == current:
            raise UserError(
                _("Der Fall ist bereits in der Phase {phase}.").format(phase=phase_label(current))
            )
        if on < case.opened_on:
            raise ValidationError({"on": _("Das Datum liegt vor der Eröffnung des Falls.")})
        if on > date.today():
            raise ValidationError({"on": _("Ein Phasenwechsel kann nicht in der Zukunft liegen.")})
        last = session.scalar(
            select(func.max(CasePhaseChange.changed_on)).where(CasePhaseChange.case_id == case.id)
        )
        if last is not None and on < last:
            raise ValidationError(
                {
                    "on": _("Das Datum liegt vor dem letzten Phasenwechsel ({date}).").format(
                        date=last.strftime("%d.%m.%Y")
                    )
                }
            )
        order = CASE_PHASES.index
        if to_phase != "closed" and order(to_phase) > order(current) + 1:
            raise UserError(
                _("Phasen werden der Reihe nach durchlaufen: nach {current} folgt {next}.").format(
                    current=phase_label(current), next=phase_label(CASE_PHASES[order(current) + 1])
                )
            )
        if current == "intake" and to_phase != "closed" and not _has_case_consent(session, case, on):
            raise UserError(_("Vor dem Assessment muss die Einwilligung in das Fallmanagement erfasst sein."))
        goals = _open_goals(session, case.id)
        if current == "planning" and order(to_phase) > order(current) and to_phase != "closed" and not goals:
            raise UserError(_("Bitte vereinbaren Sie mindestens ein Ziel, bevor die Umsetzung beginnt."))
        if to_phase == "closed":
            _close(session, case, on, closure_reason, goal_ratings or {}, goals)
        case.phase = to_phase
        session.add(
            CasePhaseChange(
                case_id=case.id,
                from_phase=current,
                to_phase=to_phase,
                changed_on=on,
                changed_by=ctx.actor.user_id,
                note=(note or "").strip() or None,
            )
        )
        audit.record(
            session,
            "update",
            entity_type="case",
            entity_id=case.id,
            person_id=case.person_id,
            case_id=case.id,
            detail={"phase": [current, to_phase]},
        )
        session.flush()
        return _case_view(session, case)


def _close(
    session, case: Case, on: date, reason: str | None, ratings: dict[str, str], goals: list[Goal]
) -> None:
    if not reason:
        raise ValidationError({"closure_reason": _("Bitte wählen Sie einen Abschlussgrund.")})
    _check_code(session, "closure_reason", reason, "closure_reason", _("Unbekannter Abschlussgrund: {code}"))
    missing = []
    for goal in goals:
        if goal.status in GOAL_RATINGS or goal.status == "dropped":
            continue
        rating = ratings.get(goal.id)
        if rating is None:
            missing.append(goal.title)
            continue
        if rating not in GOAL_RATINGS:
            raise ValidationError(
                {"goal_ratings": _("Unbekannte Bewertung: {rating}").format(rating=rating[:20])}
            )
        goal.status = rating
    if missing:
        raise ValidationError(
            {
                "goal_ratings": _("Bitte bewerten Sie jedes Ziel vor dem Abschluss ({n} offen).").format(
                    n=len(missing)
                )
            }
        )
    rated = [g.status for g in goals if g.status in GOAL_RATINGS]
    if rated:
        if all(s == "achieved" for s in rated):
            case.goal_achievement = "full"
        elif any(s in ("achieved", "partly") for s in rated):
            case.goal_achievement = "partial"
        else:
            case.goal_achievement = "none"
    case.closed_on = on
    case.closure_reason = reason
    person = session.get(Person, case.person_id)
    case.residence_status_at_closure = person.residence_status if person else None


def reopen_case(
    ctx: ServiceContext, case_id: str, *, note: str | None = None, on: date | None = None
) -> CaseView:
    """Reopen a closed case; it returns to the phase it had before closure."""
    require(ctx.actor, "case.write")
    on = on or date.today()
    with ctx.write() as session:
        case = _load_case(session, case_id, "case.write")
        if case.phase != "closed":
            raise UserError(_("Der Fall ist nicht abgeschlossen."))
        if on > date.today() or (case.closed_on is not None and on < case.closed_on):
            raise ValidationError({"on": _("Das Datum muss zwischen Abschluss und heute liegen.")})
        before = session.scalar(
            select(CasePhaseChange.from_phase)
            .where(CasePhaseChange.case_id == case.id, CasePhaseChange.to_phase == "closed")
            .order_by(CasePhaseChange.changed_at.desc())
            .limit(1)
        )
        target = before if before in CASE_PHASES and before != "closed" else "monitoring"
        case.phase = target
        case.closed_on = None
        case.closure_reason = None
        case.goal_achievement = None
        session.add(
            CasePhaseChange(
                case_id=case.id,
                from_phase="closed",
                to_phase=target,
                changed_on=on,
                changed_by=ctx.actor.user_id,
                note=(note or "").strip() or _("Fall wieder geöffnet"),
            )
        )
        audit.record(
            session, "update", entity_type="case", entity_id=case.id, person_id=case.person_id, case_id=case.id,
            detail={"phase": ["closed", target]},
        )  # fmt: skip
        session.flush()
        return _case_view(session, case)


def hand_over(ctx: ServiceContext, case_id: str, new_manager_id: str, *, note: str | None = None) -> CaseView:
    """Fallübergabe: another case manager takes the case; recorded in the journal."""
    from ..db.models import UserAccount

    require(ctx.actor, "case.write")
    with ctx.write() as session:
        case = _load_case(session, case_id, "case.write")
        manager = session.get(UserAccount, new_manager_id)
        if manager is None or not manager.active:
            raise NotFoundError(_("Diese Case Manager/in gibt es nicht oder sie ist nicht aktiv."))
        if case.case_manager_id == new_manager_id:
            raise UserError(_("Der Fall liegt bereits bei dieser Case Manager/in."))
        previous = session.get(UserAccount, case.case_manager_id) if case.case_manager_id else None
        case.case_manager_id = new_manager_id
        text = _("Fallübergabe von {old} an {new}.").format(
            old=previous.display_name if previous else _("niemand"), new=manager.display_name
        )
        if note and note.strip():
            text += " " + note.strip()
        session.add(
            JournalEntry(
                case_id=case.id,
                person_id=case.person_id,
                entry_date=date.today(),
                contact_type="notiz",
                text=text,
                system_generated=True,
                author_id=ctx.actor.user_id,
            )
        )
        audit.record(
            session, "handover", entity_type="case", entity_id=case.id, person_id=case.person_id, case_id=case.id,
            detail={"to": new_manager_id},
        )  # fmt: skip
        session.flush()
        return _case_view(session, case)


def list_cases(
    session,
    *,
    phase: str | None = None,
    manager: str | None = None,
    person_id: str | None = None,
    limit: int = 500,
    offset: int = 0,
    life_area: str | None = None,
    overdue_only: bool = False,
    today: date | None = None,
) -> list[CaseSummary]:
    """Cases filtered by phase (``open`` = all but closed), case manager (id or user name) or person.

    ``life_area`` (a code of the list ``life_area``) keeps the cases with an assessment or a goal in that
    life area; ``overdue_only`` the cases with something overdue on ``today`` (default: the current date):
    an open Wiedervorlage, the review date of an open goal or an unfinished step of an open goal due before
    today.

    Only the cases the session's actor may see (own, shared, team; none for reception and administration).
    """
    from ..db.models import UserAccount

    stmt = _summary_columns().where(Case.deleted_at.is_(None))
    visible = visible_case_clause(actor_of(session))
    if visible is not None:
        stmt = stmt.where(visible)
    if phase == "open":
        stmt = stmt.where(Case.phase != "closed")
    elif phase:
        if phase not in CASE_PHASES:
            raise UserError(
                _("Unbekannte Phase: {phase} (erlaubt: {allowed}, open).").format(
                    phase=phase[:30], allowed=", ".join(CASE_PHASES)
                )
            )
        stmt = stmt.where(Case.phase == phase)
    if manager:
        stmt = stmt.where((Case.case_manager_id == manager) | (UserAccount.username == manager))
    if person_id:
        stmt = stmt.where(Case.person_id == person_id)
    if life_area:
        _check_code(session, "life_area", life_area, "life_area", _("Unbekannter Lebensbereich: {code}"))
        stmt = stmt.where(_in_life_area(life_area))
    if overdue_only:
        stmt = stmt.where(_has_overdue(today or date.today()))
    stmt = stmt.order_by(Case.opened_on.desc(), Case.file_number).offset(offset).limit(limit)
    return [_summary(case, family, given, name) for case, family, given, name in session.execute(stmt)]


def _in_life_area(life_area: str):
    """SQL condition: the case has an assessment or a goal in ``life_area``."""
    return exists().where(
        Assessment.case_id == Case.id, Assessment.life_area == life_area, Assessment.deleted_at.is_(None)
    ) | exists().where(Goal.case_id == Case.id, Goal.life_area == life_area, Goal.deleted_at.is_(None))


def _has_overdue(today: date):
    """SQL condition: the case has an open Wiedervorlage, goal review or step due before ``today``."""
    from ..db.models import FollowUp, Step

    open_goal = (Goal.case_id == Case.id, Goal.status == "open", Goal.deleted_at.is_(None))
    follow_up = exists().where(
        FollowUp.case_id == Case.id,
        FollowUp.done_at.is_(None),
        FollowUp.deleted_at.is_(None),
        FollowUp.due_on < today,
    )
    review = exists().where(*open_goal, Goal.review_on.is_not(None), Goal.review_on < today)
    step = exists().where(
        *open_goal,
        Step.goal_id == Goal.id,
        Step.deleted_at.is_(None),
        Step.done_on.is_(None),
        Step.due_on.is_not(None),
        Step.due_on < today,
    )
    return follow_up | review | step


def record_consent(
    ctx: ServiceContext,
    person_id: str,
    *,
    given_on: date,
    form: str = "written",
    case_id: str | None = None,
    includes_special_categories: bool = True,
    valid_until: date | None = None,
) -> str:
    """Record that the person was informed and consented to case management (Art. 6, 9 DSGVO)."""
    require(ctx.actor, "consent.write")
    with ctx.write() as session:
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        if case_id is not None:
            _load_case(session, case_id, "consent.write")
        else:
            ensure_person_case_data_visible(session, person_id, action="consent.write")
        return _add_consent(
            session, person_id, case_id, given_on, form, includes_special_categories, valid_until
        )


def _add_consent(
    session, person_id, case_id, given_on, form, includes_special_categories, valid_until
) -> str:
    if form not in ("written", "oral", "electronic"):
        raise ValidationError({"form": _("Form der Einwilligung: schriftlich, mündlich oder elektronisch.")})
    if given_on > date.today():
        raise ValidationError({"given_on": _("Eine Einwilligung kann nicht in der Zukunft liegen.")})
    if valid_until is not None and valid_until < given_on:
        raise ValidationError({"valid_until": _("„gültig bis“ liegt vor dem Datum der Einwilligung.")})
    consent = Consent(
        person_id=person_id,
        case_id=case_id,
        kind="case_management",
        form=form,
        given_on=given_on,
        valid_until=valid_until,
        includes_special_categories=includes_special_categories,
    )
    session.add(consent)
    session.flush()
    audit.record(
        session, "create", entity_type="consent", entity_id=consent.id, person_id=person_id, case_id=case_id
    )
    return consent.id
