"""Referrals (Vermittlungen): closed-loop referrals to offers of the directory, with a consent gate. No Qt.

Workflow (as in Primero): Entwurf → Versendet → Angenommen | Abgelehnt (with reason) → Abgeschlossen (with the
provider's feedback and the outcome); Widerrufen at any time before a final state. Every transition is a dated,
attributed ``referral_status_change`` row and an audit event.

The consent gate: a referral carries personal data to the provider, so sending it needs a valid
Schweigepflichtentbindung (consent of kind ``release``) naming that provider as recipient – given, not revoked,
not run out. Without one :func:`send_referral` raises :class:`ConsentRequiredError` (the caller offers to make
the release form, :func:`release_form`) unless the counsellor gives a written reason (at least
``OVERRIDE_MIN_LENGTH`` characters). The reason is case data: it is stored on the referral
(``consent_override_reason``), and the fact of the override is audited as ``consent_override`` (referral,
provider, length of the reason – never the text, which stays in the encrypted database).

Feedback is expected ``follow_up_days`` (per referral) or the office setting ``referral_feedback_days`` days after
sending; the start page's computed reminders (``followups.reminders``) use the same rule (:func:`feedback_due`).

Permissions (``services.permissions``): every write needs ``referral.write`` *and* a case the actor may see
(``ensure_case_visible``: own, shared or – for a team lead – the team's cases). Recording or revoking a
Schweigepflichtentbindung is a consent write: ``consent.write`` and the person's case data visible
(``ensure_person_case_data_visible``). Reading the referrals of one case, one referral or its history needs
``case.read`` and that case visible (``PermissionDeniedError`` otherwise); lists and counts over several cases
(a person's referrals, overdue feedback, by offer or provider, the filtered list, statistics) need
``case.read`` and are narrowed to the visible cases with ``visible_case_clause``. The local single user sees
everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from ..db.base import utcnow
from ..db.models import (
    Case,
    CodeEntry,
    Consent,
    FollowUp,
    Goal,
    Offer,
    Person,
    Provider,
    Referral,
    ReferralStatusChange,
    Step,
    UserAccount,
)
from ..errors import ConflictError, NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit, retention
from .context import ServiceContext
from .permissions import (
    ensure_case_visible,
    ensure_person_case_data_visible,
    require,
    require_session,
    visible_case_clause,
)

STATUSES = ("draft", "sent", "accepted", "rejected", "completed", "revoked")
FINAL_STATUSES = ("rejected", "completed", "revoked")
OPEN_STATUSES = ("draft", "sent", "accepted")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("sent", "revoked"),
    "sent": ("accepted", "rejected", "revoked"),
    "accepted": ("completed", "revoked"),
    "rejected": (),
    "completed": (),
    "revoked": (),
}
SENT_VIA = ("post", "email", "personal")
OVERRIDE_MIN_LENGTH = 10
TEXT_MAX = 4000
FOLLOW_UP_DAYS_MAX = 365


def status_labels() -> dict[str, str]:
    return {
        "draft": _("Entwurf"),
        "sent": _("Versendet"),
        "accepted": _("Angenommen"),
        "rejected": _("Abgelehnt"),
        "completed": _("Abgeschlossen"),
        "revoked": _("Widerrufen"),
    }


def sent_via_labels() -> dict[str, str]:
    return {"post": _("Post"), "email": _("E-Mail"), "personal": _("persönlich mitgegeben")}


def outcome_labels(session) -> dict[str, str]:
    from .codes import code_labels

    return code_labels(session, "referral_outcome")


def default_feedback_days(session) -> int:
    from .followups import _setting

    return _setting(session, "referral_feedback_days")


def feedback_due(sent_on: date | None, follow_up_days: int | None, default_days: int) -> date | None:
    """When the provider's answer is expected (the rule of the start page's reminders)."""
    if sent_on is None:
        return None
    return sent_on + timedelta(days=follow_up_days or default_days)


class ConsentRequiredError(UserError):
    """No valid Schweigepflichtentbindung for the recipient: sending is blocked.

    ``state`` is ``missing``, ``expired`` or ``revoked``; ``person_id``, ``provider_id`` and ``referral_id``
    let the caller offer the release form (:func:`release_form`) or ask for a written reason.
    """

    def __init__(
        self,
        state: str,
        *,
        referral_id: str,
        person_id: str,
        provider_id: str | None,
        reason_too_short: bool = False,
    ) -> None:
        first = {
            "revoked": _("Die Schweigepflichtentbindung für diese Stelle wurde widerrufen."),
            "expired": _("Die Schweigepflichtentbindung für diese Stelle ist abgelaufen."),
        }.get(state, _("Für diese Stelle liegt keine gültige Schweigepflichtentbindung vor."))
        message = (
            first
            + " "
            + _(
                "Ohne sie darf die Vermittlung nicht versendet werden. Bitte eine Schweigepflichtentbindung erstellen "
                "und unterschreiben lassen oder, wenn es anders nicht geht, eine schriftliche Begründung angeben "
                "(mindestens {n} Zeichen); sie wird protokolliert."
            ).format(n=OVERRIDE_MIN_LENGTH)
        )
        #: for a dialog: the reason field's message when a reason was given but is too short
        self.field_errors: dict[str, str] = {}
        if reason_too_short:
            message = _(
                "Die Begründung für den Versand ohne Schweigepflichtentbindung ist zu kurz (mindestens {n} Zeichen)."
            ).format(n=OVERRIDE_MIN_LENGTH)
            self.field_errors["override_reason"] = message
        details = {
            "state": state,
            "referral_id": referral_id,
            "person_id": person_id,
            "provider_id": provider_id,
        }
        super().__init__(message, details=details)
        self.state = state
        self.referral_id = referral_id
        self.person_id = person_id
        self.provider_id = provider_id


class TransitionError(UserError):
    pass


# --- rows ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralRow:
    id: str
    case_id: str
    person_id: str
    offer_title: str
    provider_name: str
    status: str
    status_label: str
    sent_on: date | None
    answered_on: date | None
    due_on: date | None  # feedback expected (status "sent" only)
    overdue: bool
    outcome_label: str
    goal_title: str
    sent_via: str | None
    has_release: bool  # a valid release for this provider exists today
    override: bool  # sent without a release, with a logged reason
    offer_id: str | None = None
    provider_id: str | None = None
    goal_id: str | None = None
    step_id: str | None = None
    outcome: str | None = None
    person_name: str = ""
    file_number: str = ""
    case_manager_id: str | None = None
    created_on: date | None = None
    version: int = 1

    def to_json(self) -> dict:
        return {
            "id": self.id, "case_id": self.case_id, "person_id": self.person_id, "offer": self.offer_title or None,
            "offer_id": self.offer_id, "provider": self.provider_name or None, "provider_id": self.provider_id,
            "status": self.status, "status_label": self.status_label,
            "sent_on": self.sent_on.isoformat() if self.sent_on else None,
            "answered_on": self.answered_on.isoformat() if self.answered_on else None,
            "due_on": self.due_on.isoformat() if self.due_on else None, "overdue": self.overdue,
            "outcome": self.outcome, "outcome_label": self.outcome_label or None, "goal_id": self.goal_id,
            "sent_via": self.sent_via, "has_release": self.has_release, "override": self.override,
            "file_number": self.file_number or None,
        }  # fmt: skip


@dataclass(frozen=True)
class StatusChangeRow:
    from_status: str | None
    to_status: str
    from_label: str
    to_label: str
    changed_on: date
    changed_at: datetime
    changed_by: str | None
    changed_by_name: str
    note: str | None


@dataclass(frozen=True)
class ReferralView:
    row: ReferralRow
    reason: str | None
    rejection_reason: str | None
    feedback: str | None
    follow_up_days: int | None
    consent_override_reason: str | None
    release_consent_id: str | None
    history: list[StatusChangeRow]
    allowed: tuple[str, ...]  # statuses reachable from here


@dataclass(frozen=True)
class ReferralStats:
    by_status: dict[str, int]
    by_outcome: dict[str, int]  # outcome code → count ("" = none recorded)
    outcome_labels: dict[str, str]
    status_labels: dict[str, str]
    overrides: int
    total: int


# --- consent -------------------------------------------------------------------------------------------------


def _valid_release_filter(today: date):
    return (
        Consent.kind == "release",
        Consent.deleted_at.is_(None),
        Consent.revoked_on.is_(None),
        Consent.given_on <= today,
        Consent.valid_until.is_(None) | (Consent.valid_until >= today),
    )


def release_for(session, referral_or_pair, today: date | None = None) -> Consent | None:
    """The valid Schweigepflichtentbindung for a referral's person and provider (or a ``(person_id,
    provider_id)`` pair): kind ``release``, recipient = that provider, given, not revoked, not run out.
    The one valid longest is returned; None when there is none."""
    today = today or date.today()
    if isinstance(referral_or_pair, tuple):
        person_id, provider_id = referral_or_pair
    else:
        referral = session.get(Referral, referral_or_pair)
        if referral is None:
            raise NotFoundError(_("Diese Vermittlung gibt es nicht (mehr)."))
        person_id, provider_id = referral.person_id, _provider_of(session, referral)
    if not person_id or not provider_id:
        return None
    candidates = session.scalars(
        select(Consent).where(
            Consent.person_id == person_id,
            Consent.recipient_provider_id == provider_id,
            *_valid_release_filter(today),
        )
    ).all()
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.valid_until is None, c.valid_until or date.max, c.given_on))


def _release_state(session, person_id: str, provider_id: str | None, today: date) -> str:
    """Why there is no valid release: ``revoked`` / ``expired`` when the latest one is, else ``missing``."""
    if not provider_id:
        return "missing"
    latest = session.scalars(
        select(Consent)
        .where(
            Consent.person_id == person_id,
            Consent.recipient_provider_id == provider_id,
            Consent.kind == "release",
            Consent.deleted_at.is_(None),
        )
        .order_by(Consent.given_on.desc(), Consent.created_at.desc())
    ).first()
    if latest is None:
        return "missing"
    if latest.revoked_on is not None:
        return "revoked"
    if latest.valid_until is not None and latest.valid_until < today:
        return "expired"
    return "missing"


def record_release(
    ctx: ServiceContext,
    *,
    person_id: str,
    provider_id: str,
    given_on: date | None = None,
    valid_until: date | None = None,
    scope: str | None = None,
    case_id: str | None = None,
    includes_special_categories: bool = False,
    form: str = "written",
    document_id: str | None = None,
) -> str:
    """Record a signed Schweigepflichtentbindung towards a provider of the directory."""
    require(ctx.actor, "consent.write")
    given_on = given_on or date.today()
    errors: dict[str, str] = {}
    if given_on > date.today():
        errors["given_on"] = _("Das Datum der Unterschrift kann nicht in der Zukunft liegen.")
    if valid_until is not None and valid_until < given_on:
        errors["valid_until"] = _("„Gültig bis“ liegt vor dem Datum der Unterschrift.")
    if form not in ("written", "oral", "electronic"):
        errors["form"] = _("Unbekannte Form der Erklärung.")
    if errors:
        raise ValidationError(errors)
    with ctx.write() as session:
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        ensure_person_case_data_visible(session, person_id, action="consent.write")
        provider = session.get(Provider, provider_id)
        if provider is None or provider.deleted_at is not None:
            raise NotFoundError(_("Diesen Träger gibt es nicht (mehr)."))
        row = Consent(
            person_id=person_id, case_id=case_id, kind="release", recipient_provider_id=provider_id,
            recipient_name=provider.name, scope=(scope or "").strip() or None,
            includes_special_categories=includes_special_categories, form=form, given_on=given_on,
            valid_until=valid_until, document_id=document_id,
        )  # fmt: skip
        session.add(row)
        session.flush()
        audit.record(session, "create", entity_type="consent", entity_id=row.id, person_id=person_id, case_id=case_id,
                     detail={"kind": "release", "provider_id": provider_id})  # fmt: skip
        return row.id


def revoke_release(ctx: ServiceContext, consent_id: str, *, on: date | None = None) -> None:
    """The person revokes a Schweigepflichtentbindung (from ``on``, default today): no more sending under it."""
    require(ctx.actor, "consent.write")
    on = on or date.today()
    if on > date.today():
        raise UserError(_("Der Widerruf kann nicht in der Zukunft liegen."))
    with ctx.write() as session:
        row = session.get(Consent, consent_id)
        if row is None or row.deleted_at is not None or row.kind != "release":
            raise NotFoundError(_("Diese Schweigepflichtentbindung gibt es nicht (mehr)."))
        ensure_person_case_data_visible(session, row.person_id, action="consent.write")
        if row.revoked_on is not None:
            raise UserError(_("Diese Schweigepflichtentbindung ist bereits widerrufen."))
        row.revoked_on = on
        audit.record(session, "update", entity_type="consent", entity_id=row.id, person_id=row.person_id,
                     case_id=row.case_id, detail={"revoked": True})  # fmt: skip


def release_form(ctx: ServiceContext, referral_id: str, *, language: str = "de"):
    """The Schweigepflichtentbindung towards the referral's provider as a letter (``letters.MadeLetter``)."""
    from .letters import make_letter

    return make_letter(ctx, "release", referral_id=referral_id, language=language)


def referral_letter(ctx: ServiceContext, referral_id: str, *, language: str = "de"):
    """The referral letter with reply slip (``referral`` template), archived with the case."""
    from .letters import make_letter

    return make_letter(ctx, "referral", referral_id=referral_id, language=language)


# --- writes --------------------------------------------------------------------------------------------------


def _require_write(ctx: ServiceContext) -> None:
    require(ctx.actor, "referral.write")


def _ensure_case(session, case_id: str | None, action: str = "case.read") -> None:
    """``action`` allowed and the case visible to the session's actor (``PermissionDeniedError`` otherwise)."""
    case = session.get(Case, case_id) if case_id else None
    if case is None:
        require_session(session, action)
        return
    ensure_case_visible(session, case, action=action)


def _visible(session, stmt):
    """``stmt`` (on ``_row_select``, which joins ``Case``) narrowed to the cases the actor may see."""
    actor = require_session(session, "case.read")
    clause = visible_case_clause(actor)
    return stmt if clause is None else stmt.where(clause)


def _provider_of(session, referral: Referral) -> str | None:
    if referral.provider_id:
        return referral.provider_id
    if referral.offer_id:
        return session.scalar(select(Offer.provider_id).where(Offer.id == referral.offer_id))
    return None


def _load(session, referral_id: str, action: str = "case.read") -> Referral:
    """The referral; ``action`` allowed and its case visible to the actor (else ``PermissionDeniedError``)."""
    row = session.get(Referral, referral_id) if referral_id else None
    if row is None or row.deleted_at is not None:
        require_session(session, action)
        raise NotFoundError(_("Diese Vermittlung gibt es nicht (mehr)."))
    _ensure_case(session, row.case_id, action)
    return row


def _text(value: str | None, field: str, errors: dict[str, str], *, limit: int = TEXT_MAX) -> str | None:
    text = (value or "").strip() or None
    if text and len(text) > limit:
        errors[field] = _("Der Text darf höchstens {n} Zeichen lang sein.").format(n=limit)
    return text


def _check_day(
    on: date | None, field: str, errors: dict[str, str], *, not_before: date | None = None
) -> date:
    on = on or date.today()
    if not isinstance(on, date):
        errors[field] = _("Bitte ein Datum angeben (TT.MM.JJJJ).")
        return date.today()
    if on > date.today():
        errors[field] = _("Das Datum kann nicht in der Zukunft liegen.")
    elif not_before is not None and on < not_before:
        errors[field] = _("Das Datum liegt vor dem Versand der Vermittlung ({day}).").format(
            day=not_before.strftime("%d.%m.%Y")
        )
    return on


def _resolve_target(
    session, offer_id, provider_id, on: date, errors: dict[str, str]
) -> tuple[str | None, str | None]:
    from .directory import is_expired

    if offer_id:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.deleted_at is not None:
            errors["offer_id"] = _("Dieses Angebot gibt es nicht (mehr) im Verzeichnis.")
            return offer_id, provider_id
        if is_expired(offer.valid_until, on):
            errors["offer_id"] = _(
                "Das Angebot ist abgelaufen (gültig bis {day}). Bitte ein aktuelles Angebot wählen oder das "
                "Angebot im Verzeichnis aktualisieren."
            ).format(day=offer.valid_until.strftime("%d.%m.%Y"))
        if provider_id and provider_id != offer.provider_id:
            errors["provider_id"] = _("Das Angebot gehört zu einem anderen Träger.")
        provider_id = provider_id or offer.provider_id
    if not provider_id:
        errors.setdefault("offer_id", _("Bitte ein Angebot oder einen Träger aus dem Verzeichnis wählen."))
        return offer_id, provider_id
    provider = session.get(Provider, provider_id)
    if provider is None or provider.deleted_at is not None:
        errors["provider_id"] = _("Diesen Träger gibt es nicht (mehr) im Verzeichnis.")
    return offer_id, provider_id


def _check_plan(session, case_id: str, goal_id: str | None, step_id: str | None, errors: dict[str, str]):
    if step_id:
        step = session.get(Step, step_id)
        goal_of_step = session.get(Goal, step.goal_id) if step is not None else None
        if (
            step is None
            or step.deleted_at is not None
            or goal_of_step is None
            or goal_of_step.case_id != case_id
        ):
            errors["step_id"] = _("Dieser Schritt gehört nicht zum Hilfeplan dieses Falls.")
        elif goal_id and goal_id != step.goal_id:
            errors["step_id"] = _("Der Schritt gehört zu einem anderen Ziel.")
        else:
            goal_id = step.goal_id
    if goal_id:
        goal = session.get(Goal, goal_id)
        if goal is None or goal.deleted_at is not None or goal.case_id != case_id:
            errors["goal_id"] = _("Dieses Ziel gehört nicht zum Hilfeplan dieses Falls.")
    return goal_id, step_id


def _check_follow_up_days(days: int | None, errors: dict[str, str]) -> None:
    if days is not None and (not isinstance(days, int) or not 1 <= days <= FOLLOW_UP_DAYS_MAX):
        errors["follow_up_days"] = _(
            "Die Frist für die Rückmeldung muss zwischen 1 und {n} Tagen liegen."
        ).format(n=FOLLOW_UP_DAYS_MAX)


def _change(
    session, ctx: ServiceContext, row: Referral, to_status: str, on: date, note: str | None = None
) -> None:
    session.add(
        ReferralStatusChange(
            referral_id=row.id,
            from_status=row.status,
            to_status=to_status,
            changed_on=on,
            changed_by=ctx.actor.user_id,
            note=note,
        )  # fmt: skip
    )
    previous = row.status
    row.status = to_status
    audit.record(
        session, "update", entity_type="referral", entity_id=row.id, person_id=row.person_id, case_id=row.case_id,
        detail={"status": to_status, "from": previous},
    )  # fmt: skip


def _transition(row: Referral, to_status: str) -> None:
    if to_status not in TRANSITIONS.get(row.status, ()):
        labels = status_labels()
        raise TransitionError(
            _("Eine Vermittlung im Status „{current}“ kann nicht „{target}“ werden.").format(
                current=labels.get(row.status, row.status), target=labels[to_status]
            )
        )


def _close_follow_ups(session, referral_id: str) -> None:
    """The provider answered (or the referral ended): its open Wiedervorlagen are done."""
    session.execute(
        update(FollowUp)
        .where(FollowUp.referral_id == referral_id, FollowUp.done_at.is_(None), FollowUp.deleted_at.is_(None))
        .values(done_at=utcnow(), version=FollowUp.version + 1)
        .execution_options(synchronize_session=False)
    )


def create_referral(
    ctx: ServiceContext,
    *,
    case_id: str,
    offer_id: str | None = None,
    provider_id: str | None = None,
    goal_id: str | None = None,
    step_id: str | None = None,
    reason: str | None = None,
    follow_up_days: int | None = None,
) -> str:
    """A new referral (Entwurf) of the case's person to an offer (its provider is taken) or a provider."""
    _require_write(ctx)
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors)
    _check_follow_up_days(follow_up_days, errors)
    with ctx.write() as session:
        case = session.get(Case, case_id) if case_id else None
        if case is None or case.deleted_at is not None:
            raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
        ensure_case_visible(session, case, action="referral.write")
        if case.phase == "closed":
            raise UserError(
                _("Der Fall ist abgeschlossen. Für eine neue Vermittlung bitte den Fall wieder öffnen.")
            )
        offer_id, provider_id = _resolve_target(session, offer_id, provider_id, date.today(), errors)
        goal_id, step_id = _check_plan(session, case_id, goal_id, step_id, errors)
        if errors:
            raise ValidationError(errors)
        row = Referral(
            case_id=case_id, person_id=case.person_id, offer_id=offer_id, provider_id=provider_id, goal_id=goal_id,
            step_id=step_id, status="draft", reason=reason, follow_up_days=follow_up_days,
            created_by=ctx.actor.user_id,
        )  # fmt: skip
        session.add(row)
        session.flush()
        session.add(
            ReferralStatusChange(
                referral_id=row.id,
                from_status=None,
                to_status="draft",
                changed_on=date.today(),
                changed_by=ctx.actor.user_id,
            )  # fmt: skip
        )
        audit.record(session, "create", entity_type="referral", entity_id=row.id, person_id=case.person_id,
                     case_id=case_id, detail={"offer_id": offer_id, "provider_id": provider_id})  # fmt: skip
        return row.id


def update_referral(
    ctx: ServiceContext,
    referral_id: str,
    *,
    offer_id: str | None = None,
    provider_id: str | None = None,
    goal_id: str | None = None,
    step_id: str | None = None,
    reason: str | None = None,
    follow_up_days: int | None = None,
    expected_version: int | None = None,
) -> None:
    """Change a draft (offer, provider, plan link, reason, feedback period); a sent referral is history."""
    _require_write(ctx)
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors)
    _check_follow_up_days(follow_up_days, errors)
    with ctx.write() as session:
        row = _load(session, referral_id, "referral.write")
        if expected_version is not None and row.version != expected_version:
            raise ConflictError(
                _("Die Vermittlung wurde inzwischen von jemand anderem geändert. Bitte neu laden.")
            )
        if row.status != "draft":
            raise TransitionError(_("Nur ein Entwurf kann geändert werden."))
        offer_id, provider_id = _resolve_target(session, offer_id, provider_id, date.today(), errors)
        goal_id, step_id = _check_plan(session, row.case_id, goal_id, step_id, errors)
        if errors:
            raise ValidationError(errors)
        row.offer_id, row.provider_id, row.goal_id, row.step_id = offer_id, provider_id, goal_id, step_id
        row.reason, row.follow_up_days = reason, follow_up_days
        audit.record(session, "update", entity_type="referral", entity_id=row.id, person_id=row.person_id,
                     case_id=row.case_id)  # fmt: skip


def delete_draft(ctx: ServiceContext, referral_id: str) -> None:
    """Discard a draft that never went out (soft delete). Anything sent is revoked instead."""
    _require_write(ctx)
    with ctx.write() as session:
        row = _load(session, referral_id, "referral.write")
        if row.status != "draft":
            raise TransitionError(
                _("Nur ein Entwurf kann gelöscht werden; eine versendete Vermittlung bitte widerrufen.")
            )
        row.deleted_at = utcnow()
        audit.record(session, "delete", entity_type="referral", entity_id=row.id, person_id=row.person_id,
                     case_id=row.case_id)  # fmt: skip


def send_referral(
    ctx: ServiceContext,
    referral_id: str,
    *,
    sent_via: str,
    sent_on: date | None = None,
    override_reason: str | None = None,
) -> None:
    """Entwurf → Versendet, through the consent gate (see the module doc).

    Raises ``ConsentRequiredError`` when no valid release for the provider exists on ``sent_on`` and no
    override reason of at least ``OVERRIDE_MIN_LENGTH`` characters is given; nothing is written then.
    """
    _require_write(ctx)
    errors: dict[str, str] = {}
    if sent_via not in SENT_VIA:
        errors["sent_via"] = _("Bitte angeben, wie die Vermittlung versendet wurde: {ways}.").format(
            ways=", ".join(sent_via_labels().values())
        )
    sent_on = _check_day(sent_on, "sent_on", errors)
    override = (override_reason or "").strip() or None
    if override is not None and len(override) > TEXT_MAX:
        errors["override_reason"] = _("Der Text darf höchstens {n} Zeichen lang sein.").format(n=TEXT_MAX)
    with ctx.write() as session:
        row = _load(session, referral_id, "referral.write")
        retention.ensure_not_restricted(session, row.person_id)  # Art. 18: storage only
        _transition(row, "sent")
        if errors:
            raise ValidationError(errors)
        provider_id = _provider_of(session, row)
        target_errors: dict[str, str] = {}
        _resolve_target(session, row.offer_id, provider_id, sent_on, target_errors)
        if target_errors:
            raise ValidationError(target_errors)
        release = release_for(session, (row.person_id, provider_id), today=sent_on)
        if release is None:
            if override is None or len(" ".join(override.split())) < OVERRIDE_MIN_LENGTH:
                raise ConsentRequiredError(
                    _release_state(session, row.person_id, provider_id, sent_on), referral_id=row.id,
                    person_id=row.person_id, provider_id=provider_id, reason_too_short=override is not None,
                )  # fmt: skip
            row.consent_override_reason = override
            row.release_consent_id = None
            audit.record(
                session, "consent_override", entity_type="referral", entity_id=row.id, person_id=row.person_id,
                case_id=row.case_id, detail={"provider_id": provider_id, "reason_length": len(override)},
            )  # fmt: skip
        else:
            row.release_consent_id = release.id
            row.consent_override_reason = None
        row.sent_on = sent_on
        row.sent_via = sent_via
        _change(
            session,
            ctx,
            row,
            "sent",
            sent_on,
            _("ohne Schweigepflichtentbindung") if release is None else None,
        )


def accept(ctx: ServiceContext, referral_id: str, *, on: date | None = None, note: str | None = None,
           outcome: str | None = None) -> None:  # fmt: skip
    """Versendet → Angenommen: the provider took the person on (``on`` = day of the answer)."""
    _answer(ctx, referral_id, "accepted", on=on, note=note, outcome=outcome)


def reject(ctx: ServiceContext, referral_id: str, reason: str, *, on: date | None = None,
           outcome: str | None = None) -> None:  # fmt: skip
    """Versendet → Abgelehnt, with the provider's reason (required)."""
    _answer(ctx, referral_id, "rejected", on=on, note=reason, outcome=outcome, reason_required=True)


def _check_outcome(
    session, outcome: str | None, errors: dict[str, str], *, required: bool = False
) -> str | None:
    outcome = (outcome or "").strip() or None
    if outcome is None:
        if required:
            errors["outcome"] = _("Bitte das Ergebnis der Vermittlung angeben.")
        return None
    known = set(session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == "referral_outcome")))
    if outcome not in known:
        errors["outcome"] = _("Das Ergebnis „{value}“ gibt es nicht. Bekannt sind: {known}.").format(
            value=outcome[:60], known=", ".join(outcome_labels(session).values())
        )
    return outcome


def _answer(ctx, referral_id, to_status, *, on, note, outcome, reason_required=False) -> None:
    _require_write(ctx)
    errors: dict[str, str] = {}
    note = _text(note, "reason" if reason_required else "note", errors)
    if reason_required and not note:
        errors["reason"] = _("Bitte den Grund für die Ablehnung angeben.")
    with ctx.write() as session:
        row = _load(session, referral_id, "referral.write")
        _transition(row, to_status)
        on = _check_day(on, "on", errors, not_before=row.sent_on)
        outcome = _check_outcome(session, outcome, errors)
        if errors:
            raise ValidationError(errors)
        row.answered_on = on
        if to_status == "rejected":
            row.rejection_reason = note
        if outcome is not None:
            row.outcome = outcome
        _change(session, ctx, row, to_status, on, note)
        _close_follow_ups(session, row.id)


def complete(ctx: ServiceContext, referral_id: str, outcome: str, feedback: str | None = None, *,
             on: date | None = None) -> None:  # fmt: skip
    """Angenommen → Abgeschlossen, with the outcome (code list ``referral_outcome``) and the provider's feedback."""
    _require_write(ctx)
    errors: dict[str, str] = {}
    feedback = _text(feedback, "feedback", errors)
    with ctx.write() as session:
        row = _load(session, referral_id, "referral.write")
        _transition(row, "completed")
        on = _check_day(on, "on", errors, not_before=row.answered_on or row.sent_on)
        outcome = _check_outcome(session, outcome, errors, required=True)
        if errors:
            raise ValidationError(errors)
        row.outcome = outcome
        row.feedback = feedback
        _change(session, ctx, row, "completed", on, None)
        _close_follow_ups(session, row.id)


def revoke(ctx: ServiceContext, referral_id: str, note: str | None = None, *, on: date | None = None) -> None:
    """Any open referral → Widerrufen (e.g. the person withdrew, the need is gone)."""
    _require_write(ctx)
    errors: dict[str, str] = {}
    note = _text(note, "note", errors)
    with ctx.write() as session:
        row = _load(session, referral_id, "referral.write")
        _transition(row, "revoked")
        on = _check_day(on, "on", errors, not_before=row.sent_on)
        if errors:
            raise ValidationError(errors)
        _change(session, ctx, row, "revoked", on, note)
        _close_follow_ups(session, row.id)


# --- reads ---------------------------------------------------------------------------------------------------


def _row_select():
    return (
        select(
            Referral.id,
            Referral.case_id,
            Referral.person_id,
            Referral.offer_id,
            Referral.provider_id,
            Offer.provider_id,
            Offer.title,
            Provider.name,
            Referral.status,
            Referral.sent_on,
            Referral.answered_on,
            Referral.follow_up_days,
            Referral.outcome,
            Referral.goal_id,
            Referral.step_id,
            Goal.title,
            Referral.sent_via,
            Referral.consent_override_reason.is_not(None),
            Person.family_name,
            Person.given_names,
            Case.file_number,
            Case.case_manager_id,
            Referral.created_at,
            Referral.version,
        )  # fmt: skip
        .join(Person, Person.id == Referral.person_id)
        .join(Case, Case.id == Referral.case_id)
        .outerjoin(Offer, Offer.id == Referral.offer_id)
        .outerjoin(Provider, Provider.id == func.coalesce(Referral.provider_id, Offer.provider_id))
        .outerjoin(Goal, Goal.id == Referral.goal_id)
        .where(Referral.deleted_at.is_(None))
    )


def _valid_releases(session, pairs: set[tuple[str, str]], today: date) -> set[tuple[str, str]]:
    """Which (person, provider) pairs have a valid release today (one query per 500 pairs)."""
    if not pairs:
        return set()
    found: set[tuple[str, str]] = set()
    pair_list = sorted(pairs)
    for start in range(0, len(pair_list), 500):
        chunk = pair_list[start : start + 500]
        found.update(
            (person_id, provider_id)
            for person_id, provider_id in session.execute(
                select(Consent.person_id, Consent.recipient_provider_id)
                .where(  # person index first (a tuple IN scans the table on SQLite); pairs checked below
                    Consent.person_id.in_({p for p, _v in chunk}),
                    Consent.recipient_provider_id.in_({v for _p, v in chunk}),
                    *_valid_release_filter(today),
                )
                .distinct()
            )
        )
    return found & pairs


def _rows(session, stmt, today: date | None = None) -> list[ReferralRow]:
    return _build(session, session.execute(stmt).all(), today)


def _build(session, raw, today: date | None = None) -> list[ReferralRow]:
    today = today or date.today()
    if not raw:
        return []
    labels = status_labels()
    outcomes = outcome_labels(session)
    days = default_feedback_days(session)
    pairs = {(r[2], r[4] or r[5]) for r in raw if (r[4] or r[5])}
    releases = _valid_releases(session, pairs, today)
    result = []
    for (
        id_,
        case_id,
        person_id,
        offer_id,
        provider_id,
        offer_provider,
        offer_title,
        provider_name,
        status,
        sent_on,
        answered_on,
        follow_days,
        outcome,
        goal_id,
        step_id,
        goal_title,
        sent_via,
        override,
        family,
        given,
        file_number,
        manager,
        created_at,
        version,
    ) in raw:
        provider_id = provider_id or offer_provider
        due = feedback_due(sent_on, follow_days, days) if status == "sent" else None
        result.append(
            ReferralRow(
                id_,
                case_id,
                person_id,
                offer_title or "",
                provider_name or "",
                status,
                labels.get(status, status),
                sent_on,
                answered_on,
                due,
                due is not None and due < today,
                outcomes.get(outcome or "", outcome or ""),
                goal_title or "",
                sent_via,
                (person_id, provider_id) in releases,
                bool(override),
                offer_id,
                provider_id,
                goal_id,
                step_id,
                outcome,
                f"{family}, {given}" if given else family,
                file_number,
                manager,
                created_at.date() if created_at else None,
                version,
            )
        )
    return result


def _order(stmt):
    return stmt.order_by(func.coalesce(Referral.sent_on, func.date(Referral.created_at)).desc(), Referral.id)


def case_referrals(session, case_id: str, *, today: date | None = None) -> list[ReferralRow]:
    """The referrals of a case, newest first (``case.read`` and the case visible)."""
    _ensure_case(session, case_id)
    return _rows(session, _order(_row_select().where(Referral.case_id == case_id)), today)


def person_referrals(session, person_id: str, *, today: date | None = None) -> list[ReferralRow]:
    """The person's referrals in the cases the actor may see."""
    return _rows(
        session, _order(_visible(session, _row_select().where(Referral.person_id == person_id))), today
    )


def overdue_referrals(
    session, *, case_manager_id: str | None = None, today: date | None = None, limit: int = 1000
) -> list[ReferralRow]:
    """Open referrals ("Versendet") whose feedback is overdue, in open cases of one case manager (or all), oldest
    due first. Feedback is due ``follow_up_days`` or the setting ``referral_feedback_days`` after sending."""
    today = today or date.today()
    days = default_feedback_days(session)
    visible = _visible(session, _row_select())
    # Index range (status, sent_on): with the office's period nothing sent after ``today - days - 1`` is overdue;
    # a referral's own period is at least one day. The exact rule is applied in ``_rows``.
    period = or_(
        and_(Referral.follow_up_days.is_(None), Referral.sent_on <= today - timedelta(days=days + 1)),
        and_(Referral.follow_up_days.is_not(None), Referral.sent_on <= today - timedelta(days=2)),
    )
    # Open cases only, as the start page's reminders: a closed case's referral needs no more feedback.
    stmt = visible.where(
        Referral.status == "sent", Referral.sent_on <= today - timedelta(days=2), period, Case.deleted_at.is_(None),
        Case.phase != "closed",
    )  # fmt: skip
    if case_manager_id:
        stmt = stmt.where(Case.case_manager_id == case_manager_id)
    # Due date from the raw rows (sent_on, follow_up_days): only the rows kept are built (names, releases).
    due_raw = []
    for raw in session.execute(stmt).all():
        due = feedback_due(raw[9], raw[11], days)
        if due < today:
            due_raw.append(((due, raw[20], raw[0]), raw))
    due_raw.sort(key=lambda item: item[0])
    return _build(session, [raw for _key, raw in due_raw[:limit]], today)


def referrals_by_offer(
    session, offer_id: str, *, limit: int = 500, today: date | None = None
) -> list[ReferralRow]:
    """Referrals to an offer, in the cases the actor may see."""
    stmt = _visible(session, _row_select().where(Referral.offer_id == offer_id))
    return _rows(session, _order(stmt).limit(limit), today)


def referrals_by_provider(
    session, provider_id: str, *, limit: int = 500, today: date | None = None
) -> list[ReferralRow]:
    """Referrals to a provider: directly or through one of its offers."""
    offers = select(Offer.id).where(Offer.provider_id == provider_id)
    stmt = _visible(
        session, _row_select().where((Referral.provider_id == provider_id) | Referral.offer_id.in_(offers))
    )
    return _rows(session, _order(stmt).limit(limit), today)


def list_referrals(
    session,
    *,
    status: str | None = None,
    case_id: str | None = None,
    case_manager_id: str | None = None,
    limit: int = 1000,
    today: date | None = None,
) -> list[ReferralRow]:
    """Referrals filtered by status (``open`` = draft, sent, accepted), case and case manager; newest first.

    Only cases the actor may see; a ``case_id`` the actor may not see raises ``PermissionDeniedError``."""
    if case_id:
        _ensure_case(session, case_id)
    stmt = _visible(session, _row_select())
    if status == "open":
        stmt = stmt.where(Referral.status.in_(OPEN_STATUSES))
    elif status:
        if status not in STATUSES:
            raise UserError(_("Unbekannter Status „{status}“. Möglich: {known}, open.").format(
                status=str(status)[:20], known=", ".join(STATUSES)))  # fmt: skip
        stmt = stmt.where(Referral.status == status)
    if case_id:
        stmt = stmt.where(Referral.case_id == case_id)
    if case_manager_id:
        stmt = stmt.where(Case.case_manager_id == case_manager_id)
    return _rows(session, _order(stmt).limit(limit), today)


def read_referrals(ctx: ServiceContext, **filters) -> list[ReferralRow]:
    """:func:`list_referrals` as an audited read (count and filters, no personal data)."""
    with ctx.write() as session:
        rows = list_referrals(session, **filters)
        case_id = filters.get("case_id")
        audit.record(
            session, "read", entity_type="referral", case_id=case_id,
            detail={"count": len(rows), **{k: v for k, v in filters.items() if k in ("status",) and v}},
        )  # fmt: skip
        return rows


def read_overdue(
    ctx: ServiceContext, *, case_manager_id: str | None = None, case_id: str | None = None
) -> list[ReferralRow]:
    """:func:`overdue_referrals` as an audited read (count only); ``case_id`` narrows to one case."""
    with ctx.write() as session:
        if case_id:
            _ensure_case(session, case_id)
        rows = overdue_referrals(session, case_manager_id=case_manager_id)
        if case_id:
            rows = [r for r in rows if r.case_id == case_id]
        audit.record(session, "read", entity_type="referral", case_id=case_id,
                     detail={"count": len(rows), "overdue": True})  # fmt: skip
        return rows


def history(session, referral_id: str) -> list[StatusChangeRow]:
    """Every status change of a referral, oldest first (dated and attributed)."""
    _load(session, referral_id)
    labels = status_labels()
    rows = session.execute(
        select(
            ReferralStatusChange.from_status,
            ReferralStatusChange.to_status,
            ReferralStatusChange.changed_on,
            ReferralStatusChange.changed_at,
            ReferralStatusChange.changed_by,
            UserAccount.display_name,
            ReferralStatusChange.note,
        )  # fmt: skip
        .outerjoin(UserAccount, UserAccount.id == ReferralStatusChange.changed_by)
        .where(ReferralStatusChange.referral_id == referral_id)
        .order_by(ReferralStatusChange.changed_at, ReferralStatusChange.id)
    ).all()
    return [
        StatusChangeRow(
            f,
            t,
            labels.get(f, f or ""),
            labels.get(t, t),
            on,
            at,
            by,
            name or (_("Einzelplatz") if by is None else ""),
            note,
        )
        for f, t, on, at, by, name, note in rows
    ]


def referral_detail(session, referral_id: str, *, today: date | None = None) -> ReferralView:
    row = _load(session, referral_id)
    rows = _rows(session, _row_select().where(Referral.id == referral_id), today)
    return ReferralView(
        rows[0], row.reason, row.rejection_reason, row.feedback, row.follow_up_days, row.consent_override_reason,
        row.release_consent_id, history(session, referral_id), TRANSITIONS.get(row.status, ()),
    )  # fmt: skip


def open_referral(ctx: ServiceContext, referral_id: str) -> ReferralView:
    """One referral with its history (an audited read)."""
    with ctx.write() as session:
        view = referral_detail(session, referral_id)
        audit.record(session, "read", entity_type="referral", entity_id=referral_id, person_id=view.row.person_id,
                     case_id=view.row.case_id)  # fmt: skip
        return view


def referral_stats(session, *, first: date | None = None, last: date | None = None) -> ReferralStats:
    """Counts by status and by outcome (statistics); ``first``/``last`` limit by the day of sending.

    Counted over the cases the actor may see (``case.read``)."""
    where = [Referral.deleted_at.is_(None)]
    clause = visible_case_clause(require_session(session, "case.read"))
    if clause is not None:
        where.append(Referral.case_id.in_(select(Case.id).where(clause)))
    if first:
        where.append(Referral.sent_on >= first)
    if last:
        where.append(Referral.sent_on <= last)
    by_status = dict.fromkeys(STATUSES, 0)
    by_status.update(
        dict(
            session.execute(
                select(Referral.status, func.count()).where(*where).group_by(Referral.status)
            ).all()
        )
    )
    by_outcome = {
        (o or ""): n
        for o, n in session.execute(
            select(Referral.outcome, func.count())
            .where(*where, Referral.status != "draft")
            .group_by(Referral.outcome)
        )
    }
    overrides = session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(*where, Referral.consent_override_reason.is_not(None))
    )
    return ReferralStats(
        by_status,
        by_outcome,
        outcome_labels(session),
        status_labels(),
        overrides or 0,
        sum(by_status.values()),
    )
