"""Wiedervorlagen and automatic reminders; the data of the start page "Mein Arbeitsplatz".

Stored follow-ups are rows (``follow_up``). Automatic reminders are *computed* on every call, never stored,
so they can never go stale: residence statuses running out within the configured number of weeks, consents
running out, goal review dates reached, referrals sent without feedback for the configured number of days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from ..db.base import utcnow
from ..db.models import Case, Consent, FollowUp, Goal, Person, Referral, Setting
from ..errors import NotFoundError, ValidationError
from ..i18n import _
from . import audit
from .context import ServiceContext
from .permissions import (
    actor_of,
    ensure_case_id_visible,
    ensure_case_visible,
    require,
    visible_case_clause,
    visible_case_id_clause,
)

DEFAULTS = {"reminder_residence_weeks": 8, "reminder_consent_weeks": 4, "referral_feedback_days": 21}


@dataclass
class Reminder:
    kind: str  # follow_up | residence | consent | goal_review | referral
    due_on: date
    title: str
    case_id: str | None = None
    person_id: str | None = None
    follow_up_id: str | None = None
    today: date = field(default_factory=date.today)

    @property
    def overdue(self) -> bool:
        return self.due_on < self.today


@dataclass
class Workplace:
    reminders: list[Reminder] = field(default_factory=list)
    cases_by_phase: dict[str, int] = field(default_factory=dict)


def _setting(session, key: str) -> int:
    row = session.get(Setting, key)
    try:
        return int(row.value) if row is not None and row.value is not None else DEFAULTS[key]
    except (TypeError, ValueError):
        return DEFAULTS[key]


def add_follow_up(
    ctx: ServiceContext,
    title: str,
    due_on: date,
    *,
    case_id: str | None = None,
    assigned_to: str | None = None,
) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Bitte geben Sie an, worum es bei der Wiedervorlage geht.")})
    if len(title) > 300:
        raise ValidationError({"title": _("Der Titel darf höchstens 300 Zeichen lang sein.")})
    require(ctx.actor, "case.write")
    with ctx.write() as session:
        if case_id is not None:
            case = session.get(Case, case_id)
            if case is None or case.deleted_at is not None:
                raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
            ensure_case_visible(session, case, action="case.write")
        row = FollowUp(
            case_id=case_id, title=title, due_on=due_on, assigned_to=assigned_to or ctx.actor.user_id
        )
        session.add(row)
        session.flush()
        audit.record(session, "create", entity_type="follow_up", entity_id=row.id, case_id=case_id)
        return row.id


def complete_follow_up(ctx: ServiceContext, follow_up_id: str) -> None:
    require(ctx.actor, "case.write")
    with ctx.write() as session:
        row = session.get(FollowUp, follow_up_id)
        if row is None or row.deleted_at is not None:
            raise NotFoundError(_("Diese Wiedervorlage gibt es nicht (mehr)."))
        ensure_case_id_visible(session, row.case_id, action="case.write")
        row.done_at = utcnow()


def _name(family: str, given: str) -> str:
    return f"{family}, {given}" if given else family


def reminders(
    session, *, user_id: str | None = None, today: date | None = None, horizon_days: int = 14
) -> list[Reminder]:
    """Everything due up to ``horizon_days`` ahead (and everything overdue), for open cases.

    Only of the cases the session's actor may see: reception and administration get their own Wiedervorlagen
    without a case, no case reminders."""
    today = today or date.today()
    until = today + timedelta(days=horizon_days)
    result: list[Reminder] = []
    actor = actor_of(session)
    mine = (Case.case_manager_id == user_id) if user_id else True
    visible = visible_case_clause(actor)
    if visible is None:
        visible = True
    follow_up_visible = visible_case_id_clause(actor, FollowUp.case_id)

    stmt = (
        select(FollowUp.id, FollowUp.title, FollowUp.due_on, FollowUp.case_id, Case.person_id)
        .outerjoin(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.done_at.is_(None), FollowUp.deleted_at.is_(None), FollowUp.due_on <= until)
    )
    if user_id:
        stmt = stmt.where(FollowUp.assigned_to == user_id)
    if follow_up_visible is not None:
        stmt = stmt.where(follow_up_visible)
    for fid, title, due, case_id, person_id in session.execute(stmt.order_by(FollowUp.due_on).limit(500)):
        result.append(Reminder("follow_up", due, title, case_id, person_id, fid))

    open_cases = (
        select(Case.id, Case.person_id)
        .where(Case.phase != "closed", Case.deleted_at.is_(None), mine, visible)
        .subquery()
    )

    weeks = _setting(session, "reminder_residence_weeks")
    for person_id, case_id, family, given, valid_until in session.execute(
        select(
            Person.id, open_cases.c.id, Person.family_name, Person.given_names, Person.residence_valid_until
        )
        .join(open_cases, open_cases.c.person_id == Person.id)
        .where(
            Person.residence_valid_until.is_not(None),
            Person.residence_valid_until <= today + timedelta(weeks=weeks),
        )
        .order_by(Person.residence_valid_until)
        .limit(500)
    ):
        title = _("Aufenthaltstitel läuft ab: {name}").format(name=_name(family, given))
        result.append(Reminder("residence", valid_until, title, case_id, person_id))

    weeks = _setting(session, "reminder_consent_weeks")
    # A renewed consent (same kind and recipient, running longer) ends the reminder for the old one.
    successor = aliased(Consent)
    renewed = exists().where(
        successor.person_id == Consent.person_id,
        successor.kind == Consent.kind,
        successor.recipient_provider_id.is_not_distinct_from(Consent.recipient_provider_id),
        successor.recipient_name.is_not_distinct_from(Consent.recipient_name),
        successor.revoked_on.is_(None),
        successor.deleted_at.is_(None),
        successor.given_on <= today,
        successor.valid_until.is_(None) | (successor.valid_until > Consent.valid_until),
    )
    for person_id, case_id, family, given, valid_until in session.execute(
        select(Person.id, open_cases.c.id, Person.family_name, Person.given_names, Consent.valid_until)
        .join(open_cases, open_cases.c.person_id == Person.id)
        .join(Consent, Consent.person_id == Person.id)
        .where(
            Consent.revoked_on.is_(None),
            Consent.deleted_at.is_(None),
            Consent.valid_until.is_not(None),
            Consent.valid_until <= today + timedelta(weeks=weeks),
            ~renewed,
        )
        .limit(500)
    ):
        title = _("Einwilligung läuft ab: {name}").format(name=_name(family, given))
        result.append(Reminder("consent", valid_until, title, case_id, person_id))

    for goal_title, review_on, case_id, person_id in session.execute(
        select(Goal.title, Goal.review_on, open_cases.c.id, open_cases.c.person_id)
        .join(open_cases, open_cases.c.id == Goal.case_id)
        .where(
            Goal.status == "open",
            Goal.deleted_at.is_(None),
            Goal.review_on.is_not(None),
            Goal.review_on <= until,
        )
        .limit(500)
    ):
        result.append(
            Reminder(
                "goal_review",
                review_on,
                _("Ziel überprüfen: {goal}").format(goal=goal_title),
                case_id,
                person_id,
            )
        )

    days = _setting(session, "referral_feedback_days")
    for sent_on, follow_days, case_id, person_id, family, given in session.execute(
        select(
            Referral.sent_on,
            Referral.follow_up_days,
            open_cases.c.id,
            Person.id,
            Person.family_name,
            Person.given_names,
        )
        .join(open_cases, open_cases.c.id == Referral.case_id)
        .join(Person, Person.id == Referral.person_id)
        .where(Referral.status == "sent", Referral.deleted_at.is_(None), Referral.sent_on.is_not(None))
        .limit(2000)
    ):
        due = sent_on + timedelta(days=follow_days or days)
        if due <= until:
            title = _("Keine Rückmeldung zur Vermittlung: {name}").format(name=_name(family, given))
            result.append(Reminder("referral", due, title, case_id, person_id))

    # One reminder per person and matter, even if the person has several open cases.
    unique: dict[tuple, Reminder] = {}
    for reminder in result:
        reminder.today = today
        key = (reminder.kind, reminder.follow_up_id or reminder.person_id, reminder.due_on, reminder.title)
        unique.setdefault(key, reminder)
    return sorted(unique.values(), key=lambda r: (r.due_on, r.kind, r.title))


def workplace(session, *, user_id: str | None = None, today: date | None = None) -> Workplace:
    """The start page: reminders and case counts per phase, of the cases the session's actor may see."""
    visible = visible_case_clause(actor_of(session))
    counts = dict(
        session.execute(
            select(Case.phase, func.count())
            .where(
                Case.deleted_at.is_(None),
                (Case.case_manager_id == user_id) if user_id else True,
                True if visible is None else visible,
            )
            .group_by(Case.phase)
        ).all()
    )
    return Workplace(reminders(session, user_id=user_id, today=today), counts)


def case_follow_ups(session, case_id: str, *, include_done: bool = False) -> list[FollowUp]:
    """The Wiedervorlagen of one case, open ones first by due date. ``case.read`` and a visible case."""
    ensure_case_id_visible(session, case_id, action="case.read")
    stmt = select(FollowUp).where(FollowUp.case_id == case_id, FollowUp.deleted_at.is_(None))
    if not include_done:
        stmt = stmt.where(FollowUp.done_at.is_(None))
    return list(session.scalars(stmt.order_by(FollowUp.done_at.is_not(None), FollowUp.due_on)))
