"""Retention (Löschfristen), erasure on request (Art. 17 DSGVO) and restriction of processing (Art. 18 DSGVO).

**The period.** The office sets ``retention_years_after_closure`` (a ``setting`` row, default 3): a person's
data is kept until the end of the N-th calendar year after the closure of their last case (closed 15.03.2022
with 3 years → kept until 31.12.2025, due from 01.01.2026). A case's ``retention_until`` (last day to keep)
overrides the rule for that case. A person is due when every case they are the client or a member of is closed
and past its period; persons with an open case, under a restriction (``restricted_at``) or already anonymised
are never touched. Persons who never had a case are not handled here (open point, see ``docs/datenschutz.md``).

**What happens to a due person** (one transaction per person; an interrupted run leaves every person either
fully processed or untouched). The person row, the cases and the coded facts stay as an anonymous statistics
record; everything that identifies the person is deleted or emptied:

- kept: year of birth, sex, country of birth, nationalities, languages, residence status (and its history),
  case dates, phases and their history, closure reason, goal achievement, residence status at intake/closure,
  eligibility answers, life areas and need levels, goal status, contact types/dates/durations of journal
  entries, referral status/offer/provider/dates/outcome, appointment type/times/status.
- emptied: names, birth name, birth day and month, place of birth, address, phone, e-mail, note, restriction
  reason, entry/district dates, the file number (replaced by a neutral one), journal texts, assessment texts,
  goal titles/descriptions, step texts, phase-change and referral-status notes, referral texts, appointment
  titles and notes, change records' old/new values of every record of the person, sync conflict values.
- deleted: name variants, search keys, relations, household memberships, appointment participations,
  documents (content and title), consents (with their scans), follow-ups; tombstones of records merged into
  the person are anonymised with it.
- The access log (``audit_event``) keeps its rows with the person's id: it holds identifiers, actions and times
  only, never names, so "who saw this file?" stays answerable while the id no longer leads to a name.

The ``deletion_protocol`` gets, per person and transaction, counts per kind of record, the rule and the run id,
never an id or a name of the person. The anonymising writes are plain SQL statements so the change tracking
does not copy the old values into new change records.

**Permissions** (``services.permissions``): the preview (:func:`due`, :func:`preview`), the run
(:func:`apply`), the deletion protocol and the erasure on request (:func:`erase_on_request`, Art. 17) need
``retention.run`` – team lead and administration; the safety copy before a run (:func:`safety_backup`) belongs
to the run and needs ``retention.run``, not ``backup.run``. The period (:func:`set_retention_years`) is an
office setting: ``settings.manage``. Restricting processing (Art. 18, :func:`restrict`) is urgent and is often
asked of the counsellor: allowed with ``retention.run`` or to whoever may edit a case of the person
(``case.write`` and the person's case data visible). Lifting a restriction (:func:`lift_restriction`) needs
``retention.run``: whoever restricted must not simply undo it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..db.base import utcnow
from ..db.models import (
    Appointment,
    AppointmentParticipant,
    Assessment,
    Case,
    CaseMember,
    CasePhaseChange,
    ChangeRecord,
    Consent,
    DeletionProtocol,
    Document,
    FollowUp,
    Goal,
    HouseholdMember,
    JournalEntry,
    Person,
    PersonNameVariant,
    PersonRelation,
    Referral,
    ReferralStatusChange,
    SearchKey,
    Setting,
    Step,
    StructuralFinding,
    SyncConflict,
)
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit
from .context import ServiceContext
from .permissions import allowed, ensure_person_case_data_visible, require, require_session

SETTING_KEY = "retention_years_after_closure"
DEFAULT_YEARS = 3
RULE_RETENTION = "retention"
RULE_ART17 = "request_art17"
REASON_MAX = 500
ART17_REASONS = ("widerruf", "zweck_entfallen", "widerspruch", "unrechtmaessig", "rechtspflicht", "sonstiges")


# --- the period ------------------------------------------------------------------------------------------


def retention_years(session) -> int:
    row = session.get(Setting, SETTING_KEY)
    try:
        years = int(row.value) if row is not None and row.value is not None else DEFAULT_YEARS
    except (TypeError, ValueError):
        return DEFAULT_YEARS
    return years if 0 <= years <= 100 else DEFAULT_YEARS


def set_retention_years(ctx: ServiceContext, years: int) -> None:
    require(ctx.actor, "settings.manage")
    if not isinstance(years, int) or not 0 <= years <= 100:
        raise ValidationError({"years": _("Die Aufbewahrungsfrist muss zwischen 0 und 100 Jahren liegen.")})
    with ctx.write() as session:
        row = session.get(Setting, SETTING_KEY)
        if row is None:
            session.add(Setting(key=SETTING_KEY, value=years))
        else:
            row.value = years
        audit.record(session, "update", entity_type="setting", entity_id=SETTING_KEY, detail={"years": years})


def case_due_from(closed_on: date, retention_until: date | None, years: int) -> date:
    """First day on which a closed case's data may be deleted."""
    if retention_until is not None:
        return date.fromordinal(retention_until.toordinal() + 1)
    return date(closed_on.year + years + 1, 1, 1)


# --- due persons -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionItem:
    person_id: str
    due_since: date
    counts: dict[str, int]  # records per kind that the run would delete or anonymise

    def to_json(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "due_since": self.due_since.isoformat(),
            "counts": dict(self.counts),
        }


def _person_case_ids(session, person_ids: list[str]) -> list[str]:
    own = select(Case.id).where(Case.person_id.in_(person_ids))
    member = select(CaseMember.case_id).where(CaseMember.person_id.in_(person_ids))
    return list(session.scalars(select(Case.id).where(or_(Case.id.in_(own), Case.id.in_(member)))))


def _due_since(session, person_id: str, years: int, today: date) -> date | None:
    """The day the person became due, or None when they are not (yet) due."""
    rows = session.execute(
        select(Case.closed_on, Case.retention_until).where(
            Case.id.in_(_person_case_ids(session, [person_id])), Case.deleted_at.is_(None)
        )
    ).all()
    if not rows or any(closed is None for closed, _until in rows):
        return None
    since = max(case_due_from(closed, until, years) for closed, until in rows)
    return since if since <= today else None


def _candidates(session):
    return select(Person.id).where(
        Person.deleted_at.is_(None),
        Person.merged_into_id.is_(None),
        Person.anonymised_at.is_(None),
        Person.restricted_at.is_(None),
        or_(
            Person.id.in_(select(Case.person_id).where(Case.closed_on.is_not(None))),
            Person.id.in_(select(CaseMember.person_id)),
        ),
    )


def due(session, today: date | None = None, *, with_counts: bool = True) -> list[RetentionItem]:
    """Persons whose retention period has ended, oldest first (a preview: nothing is changed)."""
    require_session(session, "retention.run")
    today = today or date.today()
    years = retention_years(session)
    items = []
    for person_id in session.scalars(_candidates(session)):
        since = _due_since(session, person_id, years, today)
        if since is not None:
            counts = _counts(session, person_id) if with_counts else {}
            items.append(RetentionItem(person_id, since, counts))
    items.sort(key=lambda item: (item.due_since, item.person_id))
    return items


def preview(ctx: ServiceContext, today: date | None = None) -> dict[str, Any]:
    """How many persons and records are due, per kind of record (nothing changed)."""
    require(ctx.actor, "retention.run")
    with ctx.read() as session:
        items = due(session, today)
    totals: Counter[str] = Counter()
    for item in items:
        totals.update(item.counts)
    return {"persons": len(items), "records": dict(sorted(totals.items())), "items": items}


# --- what belongs to a person ----------------------------------------------------------------------------


@dataclass
class _Scope:
    person_ids: list[str]  # the person and the tombstones merged into them
    case_ids: list[str]
    journal_ids: list[str]
    document_ids: list[str]
    consent_ids: list[str]
    referral_ids: list[str]
    appointment_ids: list[str]  # appointments of the cases or with only this person taking part
    shared_appointment_ids: list[
        str
    ]  # appointments with other participants too (only the participation goes)
    assessment_ids: list[str]
    goal_ids: list[str]
    step_ids: list[str]
    follow_up_ids: list[str]

    def entity_ids(self) -> list[str]:
        return [
            *self.person_ids, *self.case_ids, *self.journal_ids, *self.document_ids, *self.consent_ids,
            *self.referral_ids, *self.appointment_ids, *self.assessment_ids, *self.goal_ids, *self.step_ids,
            *self.follow_up_ids,
        ]  # fmt: skip


def _ids(session, stmt) -> list[str]:
    return list(dict.fromkeys(session.scalars(stmt)))


def _scope(session, person_id: str) -> _Scope:
    person_ids = [person_id]
    frontier = [person_id]
    while frontier:  # records merged into the person (possibly in chains)
        frontier = _ids(session, select(Person.id).where(Person.merged_into_id.in_(frontier)))
        frontier = [p for p in frontier if p not in person_ids]
        person_ids += frontier
    own_cases = _ids(session, select(Case.id).where(Case.person_id.in_(person_ids)))
    journal_ids = _ids(
        session,
        select(JournalEntry.id).where(
            or_(JournalEntry.person_id.in_(person_ids), JournalEntry.case_id.in_(own_cases))
        ),
    )
    document_ids = _ids(
        session,
        select(Document.id).where(or_(Document.person_id.in_(person_ids), Document.case_id.in_(own_cases))),
    )
    consent_ids = _ids(session, select(Consent.id).where(Consent.person_id.in_(person_ids)))
    referral_ids = _ids(
        session,
        select(Referral.id).where(or_(Referral.person_id.in_(person_ids), Referral.case_id.in_(own_cases))),
    )
    with_person = _ids(
        session,
        select(AppointmentParticipant.appointment_id).where(AppointmentParticipant.person_id.in_(person_ids)),
    )
    others = set(
        session.scalars(
            select(AppointmentParticipant.appointment_id).where(
                AppointmentParticipant.appointment_id.in_(with_person),
                AppointmentParticipant.person_id.not_in(person_ids),
            )
        )
    )
    of_cases = _ids(session, select(Appointment.id).where(Appointment.case_id.in_(own_cases)))
    appointment_ids = list(dict.fromkeys([*of_cases, *(a for a in with_person if a not in others)]))
    shared = [a for a in with_person if a in others and a not in appointment_ids]
    assessment_ids = _ids(session, select(Assessment.id).where(Assessment.case_id.in_(own_cases)))
    goal_ids = _ids(session, select(Goal.id).where(Goal.case_id.in_(own_cases)))
    step_ids = _ids(session, select(Step.id).where(Step.goal_id.in_(goal_ids)))
    follow_up_ids = _ids(
        session,
        select(FollowUp.id).where(
            or_(FollowUp.case_id.in_(own_cases), FollowUp.referral_id.in_(referral_ids))
        ),
    )
    return _Scope(
        person_ids, own_cases, journal_ids, document_ids, consent_ids, referral_ids, appointment_ids, shared,
        assessment_ids, goal_ids, step_ids, follow_up_ids,
    )  # fmt: skip


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _counts(session, person_id: str) -> dict[str, int]:
    s = _scope(session, person_id)
    counts = {
        "person": len(s.person_ids),
        "person_name_variant": _count(
            session, PersonNameVariant, PersonNameVariant.person_id.in_(s.person_ids)
        ),
        "search_key": _count(session, SearchKey, SearchKey.person_id.in_(s.person_ids)),
        "case_file": len(s.case_ids),
        "journal_entry": len(s.journal_ids),
        "document": len(s.document_ids),
        "consent": len(s.consent_ids),
        "referral": len(s.referral_ids),
        "appointment": len(s.appointment_ids),
        "appointment_participant": _count(
            session, AppointmentParticipant, AppointmentParticipant.person_id.in_(s.person_ids)
        ),
        "follow_up": len(s.follow_up_ids),
        "change_record": _count(session, ChangeRecord, ChangeRecord.entity_id.in_(s.entity_ids())),
    }
    return {kind: n for kind, n in counts.items() if n}


# --- applying --------------------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    run_id: str
    rule: str
    persons: int = 0
    failed: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # action -> entity type -> count
    errors: list[str] = field(default_factory=list)  # German messages, no personal data
    #: Stopped by the user; the persons not reached stay due and are picked up by the next run.
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "rule": self.rule, "persons": self.persons, "failed": self.failed,
            "counts": self.counts, "errors": self.errors, "cancelled": self.cancelled,
        }  # fmt: skip


def _anonymise(session, person_id: str) -> dict[str, Counter[str]]:
    """Delete or empty everything identifying about one person inside the caller's transaction."""
    s = _scope(session, person_id)
    done: dict[str, Counter[str]] = {"deleted": Counter(), "anonymised": Counter()}

    def run(action: str, kind: str, stmt) -> None:
        n = session.execute(stmt, execution_options={"synchronize_session": False}).rowcount or 0
        if n:
            done[action][kind] += n

    pids, cids, entity_ids = s.person_ids, s.case_ids, s.entity_ids()
    # Change history and sync conflicts first: the values of every record of the person.
    run("anonymised", "change_record", update(ChangeRecord).where(
        ChangeRecord.entity_id.in_(entity_ids), or_(ChangeRecord.old_value.is_not(None), ChangeRecord.new_value.is_not(None))
    ).values(old_value=None, new_value=None))  # fmt: skip
    run("deleted", "sync_conflict", delete(SyncConflict).where(SyncConflict.entity_id.in_(entity_ids)))

    # Identifying satellites.
    run("deleted", "search_key", delete(SearchKey).where(SearchKey.person_id.in_(pids)))
    run(
        "deleted",
        "person_name_variant",
        delete(PersonNameVariant).where(PersonNameVariant.person_id.in_(pids)),
    )
    run("deleted", "person_relation", delete(PersonRelation).where(
        or_(PersonRelation.person_id.in_(pids), PersonRelation.related_person_id.in_(pids))
    ))  # fmt: skip
    run("deleted", "household_member", delete(HouseholdMember).where(HouseholdMember.person_id.in_(pids)))
    run("deleted", "appointment_participant", delete(AppointmentParticipant).where(
        AppointmentParticipant.person_id.in_(pids)
    ))  # fmt: skip

    # Documents and consents (with their scans); references to them are cut first.
    session.execute(update(Consent).where(Consent.document_id.in_(s.document_ids)).values(document_id=None))
    session.execute(
        update(Referral).where(Referral.release_consent_id.in_(s.consent_ids)).values(release_consent_id=None)
    )
    run("deleted", "follow_up", delete(FollowUp).where(FollowUp.id.in_(s.follow_up_ids)))
    run("deleted", "consent", delete(Consent).where(Consent.id.in_(s.consent_ids)))
    run("deleted", "document", delete(Document).where(Document.id.in_(s.document_ids)))

    # Free texts of the case work; the coded facts stay for the statistics.
    run("anonymised", "journal_entry", update(JournalEntry).where(JournalEntry.id.in_(s.journal_ids)).values(
        text="", interpreter_id=None, version=JournalEntry.version + 1, updated_at=utcnow()
    ))  # fmt: skip
    session.execute(update(StructuralFinding).where(
        or_(StructuralFinding.case_id.in_(cids), StructuralFinding.journal_entry_id.in_(s.journal_ids))
    ).values(case_id=None, journal_entry_id=None))  # fmt: skip
    run("anonymised", "assessment", update(Assessment).where(Assessment.id.in_(s.assessment_ids)).values(
        situation=None, resources=None, needs=None, version=Assessment.version + 1
    ))  # fmt: skip
    run("anonymised", "goal", update(Goal).where(Goal.id.in_(s.goal_ids)).values(
        title="", description=None, version=Goal.version + 1
    ))  # fmt: skip
    run("anonymised", "step", update(Step).where(Step.id.in_(s.step_ids)).values(
        description="", responsible_note=None, version=Step.version + 1
    ))  # fmt: skip
    run("anonymised", "case_phase_change", update(CasePhaseChange).where(
        CasePhaseChange.case_id.in_(cids), CasePhaseChange.note.is_not(None)
    ).values(note=None))  # fmt: skip
    run("anonymised", "referral", update(Referral).where(Referral.id.in_(s.referral_ids)).values(
        reason=None, rejection_reason=None, feedback=None, consent_override_reason=None, version=Referral.version + 1
    ))  # fmt: skip
    run("anonymised", "referral_status_change", update(ReferralStatusChange).where(
        ReferralStatusChange.referral_id.in_(s.referral_ids), ReferralStatusChange.note.is_not(None)
    ).values(note=None))  # fmt: skip
    run("anonymised", "appointment", update(Appointment).where(Appointment.id.in_(s.appointment_ids)).values(
        title=None, note=None, interpreter_id=None, version=Appointment.version + 1
    ))  # fmt: skip
    for case_id in cids:  # a neutral file number (the old one leads to paper files and letters)
        session.execute(update(Case).where(Case.id == case_id).values(
            file_number=f"ANON-{case_id}", version=Case.version + 1
        ))  # fmt: skip
    if cids:
        done["anonymised"]["case_file"] += len(cids)

    now = utcnow()
    run("anonymised", "person", update(Person).where(Person.id.in_(pids)).values(
        family_name="", given_names="", birth_name=None, sort_name="", birth_month=None, birth_day=None,
        place_of_birth=None, street=None, postcode=None, city=None, address_extra=None, phone=None, email=None,
        note=None, entry_date=None, district_since=None, residence_valid_until=None, restriction_reason=None,
        anonymised_at=now, deleted_at=func.coalesce(Person.deleted_at, now), version=Person.version + 1,
    ))  # fmt: skip
    return done


def _check_erasable(session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None or person.merged_into_id is not None or person.anonymised_at is not None:
        raise NotFoundError(_("Keine Person mit dieser Kennung gefunden (oder bereits gelöscht)."))
    if person.restricted_at is not None:
        raise UserError(
            _(
                "Die Verarbeitung dieser Person ist nach Art. 18 DSGVO eingeschränkt; die Daten dürfen nur "
                "gespeichert, nicht gelöscht werden. Heben Sie die Einschränkung zuerst auf."
            )
        )
    open_cases = _count(
        session, Case, Case.id.in_(_person_case_ids(session, [person_id])), Case.closed_on.is_(None),
        Case.deleted_at.is_(None),
    )  # fmt: skip
    if open_cases:
        raise UserError(
            _(
                "Die Person ist in einem offenen Fall. Bitte schließen Sie den Fall zuerst ab (Phase "
                "„Abgeschlossen“) und löschen Sie dann erneut."
            )
        )
    return person


def _protocol(session, ctx: ServiceContext, run_id: str, rule: str, done: dict[str, Counter[str]]) -> None:
    for action, counts in done.items():
        for kind, n in sorted(counts.items()):
            session.add(
                DeletionProtocol(
                    user_id=ctx.actor.user_id,
                    rule=rule,
                    action=action,
                    entity_type=kind,
                    count=n,
                    run_id=run_id,
                )
            )


def _merge_into(report: RetentionReport, done: dict[str, Counter[str]]) -> None:
    for action, counts in done.items():
        bucket = report.counts.setdefault(action, {})
        for kind, n in counts.items():
            bucket[kind] = bucket.get(kind, 0) + n


def _process(ctx: ServiceContext, person_id: str, run_id: str, rule: str, today: date | None) -> dict:
    """One person in one transaction; re-checks inside it that the person is (still) erasable/due."""
    require(ctx.actor, "retention.run")
    with ctx.write() as session:
        _check_erasable(session, person_id)
        if today is not None and _due_since(session, person_id, retention_years(session), today) is None:
            raise UserError(_("Die Aufbewahrungsfrist dieser Person ist (inzwischen) nicht abgelaufen."))
        done = _anonymise(session, person_id)
        _protocol(session, ctx, run_id, rule, done)
        audit.record(
            session,
            "anonymise",
            entity_type="person",
            entity_id=person_id,
            detail={"rule": rule, "run": run_id},
        )
        return done


def apply(
    ctx: ServiceContext,
    today: date | None = None,
    *,
    rule: str = RULE_RETENTION,
    progress: Callable[[int, int], Any] | None = None,
) -> RetentionReport:
    """Delete or anonymise every due person, each in its own transaction.

    A person whose transaction fails stays untouched (the failure is counted, with a German message, and the
    run goes on); running again picks up whoever is still due. ``progress(done, total)`` is called before
    each person and at the end; returning ``False`` stops the run between two persons (``cancelled``)."""
    require(ctx.actor, "retention.run")
    today = today or date.today()
    report = RetentionReport(run_id=str(uuid.uuid4()), rule=rule)
    with ctx.read() as session:
        person_ids = [item.person_id for item in due(session, today, with_counts=False)]
    for number, person_id in enumerate(person_ids):
        if progress is not None and progress(number, len(person_ids)) is False:
            report.cancelled = True
            break
        try:
            done = _process(ctx, person_id, report.run_id, rule, today)
        except (UserError, SQLAlchemyError) as exc:
            report.failed += 1
            message = exc.message if isinstance(exc, UserError) else _("Die Datenbank meldet einen Fehler.")
            if message not in report.errors:
                report.errors.append(message)
            continue
        report.persons += 1
        _merge_into(report, done)
    if progress is not None and not report.cancelled:
        progress(len(person_ids), len(person_ids))
    return report


def erase_on_request(ctx: ServiceContext, person_id: str, *, reason_code: str) -> RetentionReport:
    """Art. 17 DSGVO: erase a person now through the retention machinery (refused in an open case or under
    a restriction, with a German message saying what to do)."""
    require(ctx.actor, "retention.run")
    if reason_code not in ART17_REASONS:
        raise ValidationError(
            {
                "reason_code": _("Unbekannter Löschgrund. Erlaubt: {codes}").format(
                    codes=", ".join(ART17_REASONS)
                )
            }
        )
    report = RetentionReport(run_id=str(uuid.uuid4()), rule=RULE_ART17)
    done = _process(ctx, person_id, report.run_id, f"{RULE_ART17}:{reason_code}", None)
    report.rule = f"{RULE_ART17}:{reason_code}"
    report.persons = 1
    _merge_into(report, done)
    return report


def protocol(session, run_id: str | None = None) -> list[DeletionProtocol]:
    require_session(session, "retention.run")
    stmt = select(DeletionProtocol).order_by(DeletionProtocol.id)
    if run_id is not None:
        stmt = stmt.where(DeletionProtocol.run_id == run_id)
    return list(session.scalars(stmt))


# --- restriction of processing (Art. 18) -----------------------------------------------------------------


def ensure_not_restricted(session, person_id: str | None) -> None:
    """Raise ``UserError`` if the person's processing is restricted (only storage is allowed then)."""
    if person_id is None:
        return
    restricted = session.scalar(select(Person.restricted_at).where(Person.id == person_id))
    if restricted is not None:
        raise UserError(
            _(
                "Die Verarbeitung ist nach Art. 18 DSGVO eingeschränkt: die Daten dieser Person dürfen nur "
                "gespeichert, nicht geändert oder verwendet werden. Die Einschränkung hebt die Administration auf "
                "(kim-desktop person unrestrict)."
            )
        )


def ensure_case_not_restricted(session, case_id: str | None) -> None:
    if case_id is not None:
        ensure_not_restricted(session, session.scalar(select(Case.person_id).where(Case.id == case_id)))


def safety_backup(ctx: ServiceContext, target):
    """A verified backup before a run (``backup.make_backup``), part of the run: needs ``retention.run``."""
    from . import backup

    require(ctx.actor, "retention.run")
    return backup.make_backup(ctx.database, target)


def restrict(ctx: ServiceContext, person_id: str, reason: str) -> None:
    """Art. 18: only storage from now on. ``retention.run``, or ``case.write`` with the person's case data
    visible (see the module doc)."""
    if not allowed(ctx.actor, "retention.run"):
        require(ctx.actor, "case.write")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Bitte geben Sie an, warum die Verarbeitung eingeschränkt wird.")})
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": _("Der Grund darf höchstens {limit} Zeichen lang sein.").format(limit=REASON_MAX)}
        )
    with ctx.write() as session:
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None or person.anonymised_at is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        if not allowed(ctx.actor, "retention.run"):
            ensure_person_case_data_visible(session, person_id, action="case.write")
        if person.restricted_at is not None:
            raise UserError(_("Die Verarbeitung dieser Person ist bereits eingeschränkt."))
        person.restricted_at = utcnow()
        person.restriction_reason = reason
        audit.record(session, "restrict", entity_type="person", entity_id=person_id, person_id=person_id)


def lift_restriction(ctx: ServiceContext, person_id: str) -> None:
    """End an Art. 18 restriction: ``retention.run`` (team lead, administration)."""
    require(ctx.actor, "retention.run")
    with ctx.write() as session:
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None or person.anonymised_at is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        if person.restricted_at is None:
            raise UserError(_("Die Verarbeitung dieser Person ist nicht eingeschränkt."))
        person.restricted_at = None
        person.restriction_reason = None
        audit.record(session, "unrestrict", entity_type="person", entity_id=person_id, person_id=person_id)
