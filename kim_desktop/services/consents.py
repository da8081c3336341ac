"""Consent records of a person: Einwilligung Case Management, Schweigepflichtentbindung, Datenschutzhinweise. No Qt.

One place for the person page's "Einwilligungen": list them with their state in words, record one (with the
scan of the signed form stored as a ``Document`` of kind ``consent_scan`` with its SHA-256), revoke one, open
the scan (checked against its SHA-256 by ``documents.open_document``).

The rules stay where they are used: a Schweigepflichtentbindung towards a provider of the directory is
recorded and revoked through ``referrals.record_release`` / ``referrals.revoke_release``, and the consent gate
of ``referrals.send_referral`` (``release_for``) sees a revocation at once. A consent to case management is
recorded like the intake does (``cases._add_consent``); its revocation does not close the case – the caller
gets a German warning that the case may only be stored, no longer worked on, and decides.

Reminders before expiry are the start page's computed reminders (``followups.reminders``, setting
``reminder_consent_weeks``); the state "läuft bald ab" here uses the same number of weeks.

Permissions (``services.permissions``): consents are case data. Reading them (and opening a scan) needs
``person.read_case_data`` and the person's case data visible to the actor (a member of one of their visible
cases, or a person without a case yet: ``ensure_person_case_data_visible``); recording or revoking one needs
``consent.write`` with the same visibility. Reception and the administration see no consents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from ..db.models import Case, Consent, Document, Person, Provider
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _, format_date
from . import audit, retention
from .context import ServiceContext
from .permissions import ensure_person_case_data_visible, require

KINDS = ("case_management", "release", "privacy_notice")
FORMS = ("written", "oral", "electronic")
STATES = ("valid", "expiring", "expired", "revoked")
SCAN_MAX_BYTES = 10 * 1024 * 1024
SCAN_KIND = "consent_scan"
TEXT_MAX = 4000
NAME_MAX = 300
_SCAN_TYPES = (  # (magic bytes, MIME type)
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def kind_labels() -> dict[str, str]:
    return {
        "case_management": _("Einwilligung Case Management"),
        "release": _("Schweigepflichtentbindung"),
        "privacy_notice": _("Datenschutzhinweise erhalten"),
    }


def form_labels() -> dict[str, str]:
    return {"written": _("schriftlich"), "oral": _("mündlich"), "electronic": _("elektronisch")}


def state_labels() -> dict[str, str]:
    return {
        "valid": _("gültig"),
        "expiring": _("läuft bald ab"),
        "expired": _("abgelaufen"),
        "revoked": _("widerrufen"),
    }


@dataclass(frozen=True)
class ConsentRow:
    id: str
    person_id: str
    case_id: str | None
    kind: str
    kind_label: str
    recipient: str  # provider of the directory or the free name; "" for case management / privacy notices
    recipient_provider_id: str | None
    scope: str | None
    includes_special_categories: bool
    form: str
    form_label: str
    given_on: date
    valid_until: date | None
    revoked_on: date | None
    state: str  # valid | expiring | expired | revoked
    state_label: str
    has_scan: bool
    scan_mime: str | None = None


@dataclass(frozen=True)
class RevokeResult:
    consent_id: str
    kind: str
    #: German warning for the caller (a revoked consent to case management); None when there is nothing to say
    warning: str | None = None
    #: open cases of the person that may no longer be worked on (storage only) – not closed automatically
    open_case_ids: tuple[str, ...] = ()


def _require_write(ctx: ServiceContext) -> None:
    require(ctx.actor, "consent.write")


def _weeks(session) -> int:
    from .followups import _setting

    return _setting(session, "reminder_consent_weeks")


def consent_state(
    given_on: date, valid_until: date | None, revoked_on: date | None, today: date, weeks: int
) -> str:
    if revoked_on is not None and revoked_on <= today:
        return "revoked"
    if valid_until is not None and valid_until < today:
        return "expired"
    if valid_until is not None and valid_until <= today + timedelta(weeks=weeks):
        return "expiring"
    return "valid"


def consents_of(session, person_id: str, *, today: date | None = None) -> list[ConsentRow]:
    """The consents of a person (not audited: :func:`list_consents` is the audited read), newest first."""
    ensure_person_case_data_visible(session, person_id)
    today = today or date.today()
    weeks = _weeks(session)
    kinds, forms, states = kind_labels(), form_labels(), state_labels()
    rows = session.execute(
        select(Consent, Provider.name, Document.mime_type)
        .outerjoin(Provider, Provider.id == Consent.recipient_provider_id)
        .outerjoin(Document, (Document.id == Consent.document_id) & Document.deleted_at.is_(None))
        .where(Consent.person_id == person_id, Consent.deleted_at.is_(None))
        .order_by(Consent.given_on.desc(), Consent.created_at.desc(), Consent.id)
    ).all()
    result = []
    for c, provider_name, mime in rows:
        state = consent_state(c.given_on, c.valid_until, c.revoked_on, today, weeks)
        result.append(
            ConsentRow(
                c.id,
                c.person_id,
                c.case_id,
                c.kind,
                kinds.get(c.kind, c.kind),
                provider_name or c.recipient_name or "",
                c.recipient_provider_id,
                c.scope,
                bool(c.includes_special_categories),
                c.form,
                forms.get(c.form, c.form),
                c.given_on,
                c.valid_until,
                c.revoked_on,
                state,
                states[state],
                mime is not None,
                mime,
            )  # fmt: skip
        )
    return result


def list_consents(ctx: ServiceContext, person_id: str, *, today: date | None = None) -> list[ConsentRow]:
    """:func:`consents_of` as an audited read (count only)."""
    with ctx.write() as session:
        rows = consents_of(session, person_id, today=today)
        audit.record(session, "read", entity_type="consent", person_id=person_id, detail={"count": len(rows)})
        return rows


# --- scans ----------------------------------------------------------------------------------------------


def read_scan(scan: Path | str) -> tuple[bytes, str]:
    """The content and MIME type of a scan file (PDF, PNG or JPEG, at most 10 MB); ``ValidationError`` on
    field ``scan`` otherwise."""
    path = Path(scan)
    try:
        size = path.stat().st_size
        if size > SCAN_MAX_BYTES:
            raise ValidationError(
                {"scan": _("Der Scan ist größer als 10 MB. Bitte mit geringerer Auflösung scannen.")}
            )
        content = path.read_bytes()
    except ValidationError:
        raise
    except OSError:
        raise ValidationError(
            {"scan": _("Die Datei kann nicht gelesen werden. Bitte eine andere Datei wählen.")}
        ) from None
    if not content:
        raise ValidationError({"scan": _("Die Datei ist leer.")})
    for magic, mime in _SCAN_TYPES:
        if content.startswith(magic):
            return content, mime
    raise ValidationError({"scan": _("Der Scan muss eine PDF-, PNG- oder JPEG-Datei sein.")})


def _store_scan(session, ctx: ServiceContext, consent: Consent, content: bytes, mime: str) -> str:
    title = _("Scan: {kind} vom {day}").format(
        kind=kind_labels().get(consent.kind, consent.kind), day=format_date(consent.given_on)
    )
    doc = Document(
        person_id=consent.person_id, case_id=consent.case_id, kind=SCAN_KIND, title=title, mime_type=mime,
        content=content, sha256=hashlib.sha256(content).hexdigest(), size=len(content),
        created_by=ctx.actor.user_id,
    )  # fmt: skip
    session.add(doc)
    session.flush()
    consent.document_id = doc.id
    audit.record(session, "create", entity_type="document", entity_id=doc.id, person_id=consent.person_id,
                 case_id=consent.case_id, detail={"kind": SCAN_KIND, "consent_id": consent.id})  # fmt: skip
    return doc.id


# --- writes ---------------------------------------------------------------------------------------------


def record_consent(
    ctx: ServiceContext,
    person_id: str,
    *,
    kind: str,
    given_on: date | None,
    valid_until: date | None = None,
    recipient_provider_id: str | None = None,
    recipient_name: str | None = None,
    scope: str | None = None,
    includes_special_categories: bool = False,
    form: str = "written",
    case_id: str | None = None,
    scan: Path | None = None,
) -> str:
    """Record a consent of a person; raises ``ValidationError`` with field errors (``kind``, ``given_on``,
    ``valid_until``, ``recipient``, ``scope``, ``form``, ``case_id``, ``scan``). Returns the consent's id."""
    _require_write(ctx)
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = _("Bitte die Art der Erklärung wählen.")
    if not isinstance(given_on, date):
        errors["given_on"] = _("Bitte das Datum der Unterschrift angeben (TT.MM.JJJJ).")
    elif given_on > date.today():
        errors["given_on"] = _("Das Datum der Unterschrift kann nicht in der Zukunft liegen.")
    elif valid_until is not None and valid_until < given_on:
        errors["valid_until"] = _("„Gültig bis“ liegt vor dem Datum der Unterschrift.")
    if form not in FORMS:
        errors["form"] = _("Form der Erklärung: schriftlich, mündlich oder elektronisch.")
    recipient_provider_id = recipient_provider_id or None
    recipient_name = " ".join((recipient_name or "").split()) or None
    if kind == "release" and not recipient_provider_id and not recipient_name:
        errors["recipient"] = _(
            "Bitte die Stelle angeben, gegenüber der die Schweigepflicht entbunden wird: einen Träger aus dem "
            "Verzeichnis oder einen Namen."
        )
    elif recipient_name and len(recipient_name) > NAME_MAX:
        errors["recipient"] = _("Der Name darf höchstens {n} Zeichen lang sein.").format(n=NAME_MAX)
    scope = (scope or "").strip() or None
    if scope and len(scope) > TEXT_MAX:
        errors["scope"] = _("Der Text darf höchstens {n} Zeichen lang sein.").format(n=TEXT_MAX)
    content = mime = None
    if scan is not None:
        try:
            content, mime = read_scan(scan)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    with ctx.read() as session:
        person = session.get(Person, person_id) if person_id else None
        if person is None or person.deleted_at is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        ensure_person_case_data_visible(session, person_id, action="consent.write")
        retention.ensure_not_restricted(session, person_id)  # Art. 18: storage only
        if recipient_provider_id:
            provider = session.get(Provider, recipient_provider_id)
            if provider is None or provider.deleted_at is not None:
                errors["recipient"] = _("Diesen Träger gibt es nicht (mehr) im Verzeichnis.")
        if case_id:
            case = session.get(Case, case_id)
            if case is None or case.deleted_at is not None or case.person_id != person_id:
                errors["case_id"] = _("Dieser Fall gehört nicht zu dieser Person.")
    if errors:
        raise ValidationError(errors)
    if kind != "release" or not recipient_provider_id:
        recipient = recipient_name if kind == "release" else None
        with ctx.write() as session:
            if kind == "case_management":
                from .cases import _add_consent  # the intake's rule, audited there

                consent_id = _add_consent(
                    session, person_id, case_id, given_on, form, includes_special_categories, valid_until
                )
                row = session.get(Consent, consent_id)
                row.scope = scope
            else:
                row = Consent(
                    person_id=person_id, case_id=case_id, kind=kind, recipient_name=recipient, scope=scope,
                    includes_special_categories=includes_special_categories, form=form, given_on=given_on,
                    valid_until=valid_until,
                )  # fmt: skip
                session.add(row)
                session.flush()
                audit.record(session, "create", entity_type="consent", entity_id=row.id, person_id=person_id,
                             case_id=case_id, detail={"kind": kind})  # fmt: skip
            if content is not None:
                _store_scan(session, ctx, row, content, mime)
            return row.id
    # A release towards a provider of the directory: the referral gate's own function.
    from .referrals import record_release

    consent_id = record_release(
        ctx, person_id=person_id, provider_id=recipient_provider_id, given_on=given_on, valid_until=valid_until,
        scope=scope, case_id=case_id, includes_special_categories=includes_special_categories, form=form,
    )  # fmt: skip
    if content is not None:
        with ctx.write() as session:
            _store_scan(session, ctx, session.get(Consent, consent_id), content, mime)
    return consent_id


def _load(session, consent_id: str) -> Consent:
    row = session.get(Consent, consent_id) if consent_id else None
    if row is None or row.deleted_at is not None:
        raise NotFoundError(_("Diese Einwilligung gibt es nicht (mehr)."))
    return row


def revoke_consent(ctx: ServiceContext, consent_id: str, revoked_on: date | None = None) -> RevokeResult:
    """The person revokes a consent, effective at once (from ``revoked_on``, default today).

    A revoked release blocks referrals to its recipient (``referrals.release_for``). A revoked consent to case
    management returns a German ``warning`` and the person's open cases: they may only be stored from now on
    (nothing is closed here). Raises ``ValidationError`` (field ``revoked_on``) for a bad date."""
    _require_write(ctx)
    revoked_on = revoked_on or date.today()
    with ctx.read() as session:
        row = _load(session, consent_id)
        ensure_person_case_data_visible(session, row.person_id, action="consent.write")
        kind, given_on, already, person_id = row.kind, row.given_on, row.revoked_on, row.person_id
    if already is not None:
        raise UserError(
            _("Diese Einwilligung ist bereits widerrufen (am {day}).").format(day=format_date(already))
        )
    if not isinstance(revoked_on, date):
        raise ValidationError({"revoked_on": _("Bitte das Datum des Widerrufs angeben (TT.MM.JJJJ).")})
    if revoked_on > date.today():
        raise ValidationError({"revoked_on": _("Der Widerruf kann nicht in der Zukunft liegen.")})
    if revoked_on < given_on:
        raise ValidationError({"revoked_on": _("Der Widerruf liegt vor dem Datum der Unterschrift ({day}).").format(
            day=format_date(given_on))})  # fmt: skip
    if kind == "release":
        from .referrals import revoke_release

        revoke_release(ctx, consent_id, on=revoked_on)
        return RevokeResult(consent_id, kind)
    with ctx.write() as session:
        row = _load(session, consent_id)
        row.revoked_on = revoked_on
        audit.record(session, "update", entity_type="consent", entity_id=row.id, person_id=row.person_id,
                     case_id=row.case_id, detail={"revoked": True, "kind": kind})  # fmt: skip
        if kind != "case_management":
            return RevokeResult(consent_id, kind)
        today = date.today()
        still_valid = session.scalar(
            select(Consent.id).where(
                Consent.person_id == person_id, Consent.kind == "case_management", Consent.deleted_at.is_(None),
                Consent.revoked_on.is_(None), Consent.given_on <= today,
                Consent.valid_until.is_(None) | (Consent.valid_until >= today),
            ).limit(1)
        )  # fmt: skip
        open_cases = tuple(
            session.scalars(
                select(Case.id).where(
                    Case.person_id == person_id, Case.deleted_at.is_(None), Case.phase != "closed"
                )
            )
        )
    if still_valid is not None or not open_cases:
        return RevokeResult(consent_id, kind)
    warning = _(
        "Die Einwilligung in das Case Management ist widerrufen. Der Fall darf ab sofort nur noch gespeichert, "
        "nicht weiter bearbeitet werden. Bitte den Fall abschließen oder eine neue Einwilligung einholen."
    )
    return RevokeResult(consent_id, kind, warning, open_cases)


def open_scan(ctx: ServiceContext, consent_id: str) -> bytes:
    """The scan of the signed form (an audited read), checked against its SHA-256 (``UserError`` if damaged)."""
    from .documents import open_document

    with ctx.read() as session:
        row = _load(session, consent_id)
        ensure_person_case_data_visible(session, row.person_id)
        document_id = row.document_id
    if document_id is None:
        raise NotFoundError(_("Zu dieser Einwilligung ist kein Scan gespeichert."))
    _info, content = open_document(ctx, document_id)
    return content
