"""Auskunft nach Art. 15 DSGVO: everything stored about one person, as a letter and as a machine-readable ZIP.

``export_person`` writes one ZIP file (atomically: a temporary file next to the target, renamed when complete):

- ``auskunft.pdf`` – the ``access-report`` letter (made and archived through ``letters.make_letter``), whose
  sections (``auskunft.abschnitte``) come from ``access_report_sections``;
- ``daten.json`` – the same data machine-readable, every stored field (Art. 15 Abs. 3, Art. 20 DSGVO);
- ``dokumente/`` – every archived document of the person (letters, signed forms) as stored.

Confidential journal entries (``confidential``) are listed with their date, but their text is withheld by
default: such entries typically hold information given by or about third parties (family members, other
agencies), which may be withheld under Art. 15 Abs. 4 DSGVO and § 83 Abs. 1 Nr. 1 with § 82a Abs. 1 SGB X when
the legitimate interests of others outweigh. This is a default for a decision the counsellor must take in each
case (see ``docs/datenschutz.md``); the letter says that entries were withheld, so the person can ask and turn to
the supervisory authority. Nothing here writes personal data to logs; temporary files are removed on failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, or_, select

from ..db.models import (
    Appointment,
    AppointmentParticipant,
    Assessment,
    Case,
    CasePhaseChange,
    Consent,
    Document,
    FollowUp,
    Goal,
    JournalEntry,
    Offer,
    Person,
    PersonLanguage,
    PersonNameVariant,
    PersonNationality,
    Provider,
    Referral,
    ReferralStatusChange,
    ResidenceStatusChange,
    Step,
)
from ..errors import NotFoundError, UserError
from ..i18n import _, country_name, format_date, language_name
from . import audit
from .codes import code_labels
from .context import ServiceContext
from .dates import PartialDate
from .localtime import local_time
from .permissions import ensure_person_case_data_visible, require

WITHHELD = "Inhalt zurückgehalten (vertraulicher Eintrag, § 83 SGB X / Art. 15 Abs. 4 DSGVO)"
SEX_LABELS = {"f": "weiblich", "m": "männlich", "d": "divers", "x": "ohne Angabe", "u": "unbekannt"}
LEVEL_LABELS = {"native": "Muttersprache", "none": "keine Kenntnisse"}
CONSENT_LABELS = {
    "case_management": "Einwilligung in das Case Management",
    "release": "Schweigepflichtentbindung",
    "privacy_notice": "Datenschutzhinweise erhalten",
}
REFERRAL_STATUS = {
    "draft": "Entwurf",
    "sent": "versendet",
    "accepted": "angenommen",
    "rejected": "abgelehnt",
    "completed": "abgeschlossen",
    "revoked": "widerrufen",
}
APPOINTMENT_STATUS = {
    "planned": "geplant",
    "confirmed": "bestätigt",
    "held": "stattgefunden",
    "cancelled": "abgesagt",
    "no_show": "nicht erschienen",
}
# Letter and JSON texts follow the letter's language (German), not the UI language: no _() for them.


def _d(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value).strftime("%d.%m.%Y")
    return format_date(value)


class _Data:
    """Everything stored about one person, loaded once (for the letter and for the JSON)."""

    def __init__(self, session, person_id: str) -> None:
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None:
            raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
        self.person = person
        self.nationalities = list(
            session.scalars(
                select(PersonNationality)
                .where(PersonNationality.person_id == person_id)
                .order_by(PersonNationality.sort_order)
            )
        )
        self.languages = list(
            session.scalars(
                select(PersonLanguage)
                .where(PersonLanguage.person_id == person_id)
                .order_by(PersonLanguage.sort_order)
            )
        )
        self.name_variants = list(
            session.scalars(select(PersonNameVariant).where(PersonNameVariant.person_id == person_id))
        )
        self.residence_changes = list(
            session.scalars(
                select(ResidenceStatusChange)
                .where(ResidenceStatusChange.person_id == person_id)
                .order_by(ResidenceStatusChange.recorded_at)
            )
        )
        self.cases = list(
            session.scalars(
                select(Case)
                .where(Case.person_id == person_id, Case.deleted_at.is_(None))
                .order_by(Case.opened_on)
            )
        )
        case_ids = [c.id for c in self.cases]
        self.phase_changes = list(
            session.scalars(
                select(CasePhaseChange)
                .where(CasePhaseChange.case_id.in_(case_ids))
                .order_by(CasePhaseChange.changed_at)
            )
        )
        self.assessments = list(
            session.scalars(
                select(Assessment).where(Assessment.case_id.in_(case_ids), Assessment.deleted_at.is_(None))
            )
        )
        self.goals = list(
            session.scalars(
                select(Goal)
                .where(Goal.case_id.in_(case_ids), Goal.deleted_at.is_(None))
                .order_by(Goal.sort_order)
            )
        )
        self.steps = list(
            session.scalars(
                select(Step)
                .where(Step.goal_id.in_([g.id for g in self.goals]), Step.deleted_at.is_(None))
                .order_by(Step.sort_order)
            )
        )
        self.journal = list(
            session.scalars(
                select(JournalEntry)
                .where(
                    or_(JournalEntry.person_id == person_id, JournalEntry.case_id.in_(case_ids)),
                    JournalEntry.deleted_at.is_(None),
                )
                .order_by(JournalEntry.entry_date, JournalEntry.created_at)
            )
        )
        self.follow_ups = list(
            session.scalars(
                select(FollowUp).where(FollowUp.case_id.in_(case_ids), FollowUp.deleted_at.is_(None))
            )
        )
        appointment_ids = select(AppointmentParticipant.appointment_id).where(
            AppointmentParticipant.person_id == person_id
        )
        self.appointments = list(
            session.scalars(
                select(Appointment)
                .where(
                    or_(Appointment.id.in_(appointment_ids), Appointment.case_id.in_(case_ids)),
                    Appointment.deleted_at.is_(None),
                )
                .order_by(Appointment.starts_at)
            )
        )
        self.referrals = list(
            session.scalars(
                select(Referral)
                .where(Referral.person_id == person_id, Referral.deleted_at.is_(None))
                .order_by(Referral.created_at)
            )
        )
        self.referral_changes = list(
            session.scalars(
                select(ReferralStatusChange)
                .where(ReferralStatusChange.referral_id.in_([r.id for r in self.referrals]))
                .order_by(ReferralStatusChange.changed_at)
            )
        )
        self.consents = list(
            session.scalars(
                select(Consent)
                .where(Consent.person_id == person_id, Consent.deleted_at.is_(None))
                .order_by(Consent.given_on)
            )
        )
        self.documents = list(
            session.scalars(
                select(Document)
                .where(Document.person_id == person_id, Document.deleted_at.is_(None))
                .order_by(Document.created_at)
            )
        )
        provider_ids = {r.provider_id for r in self.referrals} | {
            c.recipient_provider_id for c in self.consents
        }
        offer_ids = {r.offer_id for r in self.referrals if r.offer_id}
        self.providers = {
            p.id: p
            for p in session.scalars(select(Provider).where(Provider.id.in_([i for i in provider_ids if i])))
        }
        self.offers = {o.id: o for o in session.scalars(select(Offer).where(Offer.id.in_(offer_ids)))}
        for offer in self.offers.values():
            if offer.provider_id not in self.providers:
                self.providers[offer.provider_id] = session.get(Provider, offer.provider_id)
        self.residence_labels = code_labels(session, "residence_status")
        self.appointment_types = code_labels(session, "appointment_type")
        self.closure_reasons = code_labels(session, "closure_reason")
        self.life_areas = code_labels(session, "life_area")
        self.contact_types = code_labels(session, "contact_type")
        self.outcomes = code_labels(session, "referral_outcome")

    def provider_name(self, referral: Referral) -> str:
        offer = self.offers.get(referral.offer_id or "")
        provider = self.providers.get(referral.provider_id or (offer.provider_id if offer else ""))
        parts = [offer.title if offer else "", provider.name if provider else ""]
        return " – ".join(p for p in parts if p)


def _phase(phase: str | None) -> str:
    from .cases import phase_label

    return phase_label(phase) if phase else ""


def _sections(data: _Data) -> list[dict[str, Any]]:
    p = data.person
    birth = PartialDate.from_parts(p.birth_year, p.birth_month, p.birth_day)
    master = [
        f"Name: {p.given_names} {p.family_name}".strip(),
        *([f"Geburtsname: {p.birth_name}"] if p.birth_name else []),
        *[f"Andere Schreibweise: {v.given_names} {v.family_name}".strip() for v in data.name_variants],
        f"Geburtsdatum: {birth.german() if birth else 'nicht gespeichert'}",
        f"Geschlecht: {SEX_LABELS.get(p.sex, p.sex)}",
        *([f"Geburtsland: {country_name(p.country_of_birth, 'de')}"] if p.country_of_birth else []),
        *([f"Geburtsort: {p.place_of_birth}"] if p.place_of_birth else []),
        *(
            [
                f"Staatsangehörigkeit: {', '.join(country_name(n.country_code, 'de') for n in data.nationalities)}"
            ]
            if data.nationalities
            else []
        ),
        *(
            [
                "Anschrift: "
                + ", ".join(
                    x for x in (p.address_extra, p.street, f"{p.postcode or ''} {p.city or ''}".strip()) if x
                )
            ]
            if (p.street or p.city or p.address_extra)
            else []
        ),
        *([f"Telefon: {p.phone}"] if p.phone else []),
        *([f"E-Mail: {p.email}"] if p.email else []),
        *([f"Einreise nach Deutschland: {_d(p.entry_date)}"] if p.entry_date else []),
        *([f"Wohnhaft im Kreis seit: {_d(p.district_since)}"] if p.district_since else []),
        *([f"Notiz: {p.note}"] if p.note else []),
    ]
    sections = [{"titel": "Stammdaten", "zeilen": master}]
    languages = [
        f"{language_name(lang.language_code, 'de')}: {LEVEL_LABELS.get(lang.level, lang.level)}"
        for lang in data.languages
    ]
    if p.interpreter_needed:
        languages.append(
            "Dolmetschung nötig"
            + (f" ({language_name(p.interpreter_language, 'de')})" if p.interpreter_language else "")
        )
    if languages:
        sections.append({"titel": "Sprachen", "zeilen": languages})
    residence = []
    if p.residence_status:
        residence.append(
            f"Aufenthaltsstatus: {data.residence_labels.get(p.residence_status, p.residence_status)}"
            + (f", gültig bis {_d(p.residence_valid_until)}" if p.residence_valid_until else "")
        )
    for change in data.residence_changes:
        label = data.residence_labels.get(change.status or "", change.status or "ohne Angabe")
        residence.append(f"Erfasst am {_d(change.recorded_at)}: {label}")
    if residence:
        sections.append({"titel": "Aufenthalt", "zeilen": residence})
    case_lines = []
    for case in data.cases:
        line = f"Fall {case.file_number}, eröffnet am {_d(case.opened_on)}, Phase: {_phase(case.phase)}"
        if case.closed_on:
            reason = data.closure_reasons.get(case.closure_reason or "", case.closure_reason or "")
            line += f", abgeschlossen am {_d(case.closed_on)}" + (f" ({reason})" if reason else "")
        case_lines.append(line)
        for change in (c for c in data.phase_changes if c.case_id == case.id):
            case_lines.append(
                f"  {_d(change.changed_on)}: {_phase(change.from_phase) or 'neu'} → {_phase(change.to_phase)}"
            )
        for goal in (g for g in data.goals if g.case_id == case.id):
            case_lines.append(f"  Ziel: {goal.title}")
            for step in (s for s in data.steps if s.goal_id == goal.id):
                case_lines.append(
                    f"    Schritt: {step.description}" + (f" (bis {_d(step.due_on)})" if step.due_on else "")
                )
        for assessment in (a for a in data.assessments if a.case_id == case.id):
            case_lines.append(
                f"  Einschätzung: {data.life_areas.get(assessment.life_area, assessment.life_area)}"
            )
    if case_lines:
        sections.append({"titel": "Fälle", "zeilen": case_lines})
    appointment_lines = [
        f"{local_time(a.starts_at).strftime('%d.%m.%Y %H:%M')} Uhr: {data.appointment_types.get(a.type, a.type)}, "
        f"{APPOINTMENT_STATUS.get(a.status, a.status)}"
        for a in data.appointments
    ]
    if appointment_lines:
        sections.append({"titel": "Termine", "zeilen": appointment_lines})
    referral_lines = []
    for r in data.referrals:
        line = f"{data.provider_name(r) or 'ohne Angebot'}: {REFERRAL_STATUS.get(r.status, r.status)}"
        if r.sent_on:
            line += f", versendet am {_d(r.sent_on)}"
        if r.outcome:
            line += f", Ergebnis: {data.outcomes.get(r.outcome, r.outcome)}"
        referral_lines.append(line)
    if referral_lines:
        sections.append({"titel": "Vermittlungen", "zeilen": referral_lines})
    consent_lines = []
    for c in data.consents:
        line = CONSENT_LABELS.get(c.kind, c.kind)
        if c.recipient_name:
            line += f" gegenüber {c.recipient_name}"
        line += f", erteilt am {_d(c.given_on)}"
        if c.valid_until:
            line += f", gültig bis {_d(c.valid_until)}"
        if c.revoked_on:
            line += f", widerrufen am {_d(c.revoked_on)}"
        consent_lines.append(line)
    if consent_lines:
        sections.append({"titel": "Einwilligungen und Schweigepflichtentbindungen", "zeilen": consent_lines})
    if data.documents:
        sections.append(
            {
                "titel": "Dokumente (eine Kopie liegt dieser Auskunft bei)",
                "zeilen": [f"{_d(doc.created_at)}: {doc.title}" for doc in data.documents],
            }
        )
    recipients = []
    sent = [r for r in data.referrals if r.sent_on is not None]
    for provider_id in dict.fromkeys(r.provider_id or data.offers[r.offer_id].provider_id for r in sent):
        provider = data.providers.get(provider_id)
        if provider is None:
            continue
        dates = ", ".join(
            _d(r.sent_on)
            for r in sent
            if (r.provider_id or data.offers[r.offer_id].provider_id) == provider_id
        )
        releases = [
            c for c in data.consents if c.kind == "release" and c.recipient_provider_id == provider_id
        ]
        release_text = (
            "Schweigepflichtentbindung vom " + ", ".join(_d(c.given_on) for c in releases)
            if releases
            else "ohne Schweigepflichtentbindung"
        )
        recipients.append(f"{provider.name}: Daten übermittelt am {dates} ({release_text})")
    if recipients:
        sections.append(
            {"titel": "Empfänger (Stellen, die Daten von uns erhalten haben)", "zeilen": recipients}
        )
    if data.journal:
        confidential = [e for e in data.journal if e.confidential]
        lines = [f"Anzahl der Einträge: {len(data.journal)}"]
        for entry in data.journal:
            kind = data.contact_types.get(entry.contact_type or "", "")
            head = f"{_d(entry.entry_date)}" + (f" ({kind})" if kind else "")
            lines.append(f"{head}: {WITHHELD}" if entry.confidential else f"{head}: {entry.text}")
        if confidential:
            lines.append(
                f"{len(confidential)} Einträge sind als vertraulich gekennzeichnet. Sie enthalten Angaben, die "
                "Dritte betreffen oder von Dritten stammen; ihr Inhalt wird nach Art. 15 Abs. 4 DSGVO in Verbindung "
                "mit § 83 SGB X nicht mitgeteilt, soweit die Interessen Dritter überwiegen. Sie können dazu Fragen "
                "stellen und sich an die Aufsichtsbehörde wenden."
            )
        sections.append({"titel": "Verlaufseinträge (Beratungsdokumentation)", "zeilen": lines})
    return sections


def access_report_sections(session, person_id: str) -> list[dict[str, Any]]:
    """``auskunft.abschnitte`` for the ``access-report`` letter: the person's stored data in sections.

    Everything stored about the person: ``person.read_case_data`` and the person's case data visible."""
    ensure_person_case_data_visible(session, person_id)
    return _sections(_Data(session, person_id))


def _row(obj, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    result = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in drop:
            continue
        value = getattr(obj, attr.key)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, bytes):
            value = f"<{len(value)} bytes>"
        result[attr.key] = value
    return result


def _document_name(doc: Document, used: set[str]) -> str:
    stem = re.sub(r"[^\w.-]+", "_", doc.title, flags=re.UNICODE).strip("_")[:60] or "dokument"
    ext = ".pdf" if doc.mime_type == "application/pdf" else ""
    name = f"dokumente/{local_time(doc.created_at).strftime('%Y-%m-%d')}_{stem}_{doc.id[:8]}{ext}"
    used.add(name)
    return name


def _machine_readable(data: _Data, names: dict[str, str]) -> dict[str, Any]:
    def journal_row(entry: JournalEntry) -> dict[str, Any]:
        row = _row(entry)
        if entry.confidential:
            row["text"] = None
            row["text_withheld"] = WITHHELD
        return row

    documents = []
    for doc in data.documents:
        row = _row(doc, drop=("content",))
        row["file"] = names.get(doc.id)
        row["intact"] = doc.content is not None and hashlib.sha256(doc.content).hexdigest() == (
            doc.sha256 or ""
        )
        documents.append(row)
    return {
        "format": "kim-desktop-auskunft",
        "version": 1,
        "created_at": datetime.now().astimezone().isoformat(),
        "person": _row(data.person),
        "name_variants": [_row(v) for v in data.name_variants],
        "nationalities": [_row(n) for n in data.nationalities],
        "languages": [_row(lang) for lang in data.languages],
        "residence_status_changes": [_row(c) for c in data.residence_changes],
        "cases": [_row(c) for c in data.cases],
        "case_phase_changes": [_row(c) for c in data.phase_changes],
        "assessments": [_row(a) for a in data.assessments],
        "goals": [_row(g) for g in data.goals],
        "steps": [_row(s) for s in data.steps],
        "journal_entries": [journal_row(e) for e in data.journal],
        "follow_ups": [_row(f) for f in data.follow_ups],
        "appointments": [_row(a) for a in data.appointments],
        "referrals": [_row(r) for r in data.referrals],
        "referral_status_changes": [_row(c) for c in data.referral_changes],
        "consents": [_row(c) for c in data.consents],
        "recipients": [
            {"id": p.id, "name": p.name, "unit": p.unit, "city": p.city} for p in data.providers.values() if p
        ],
        "documents": documents,
    }


def export_person(ctx: ServiceContext, person_id: str, out: Path) -> Path:
    """Write the Art. 15 ZIP (letter, JSON, documents) for ``person_id`` to ``out``; audited as ``export``.

    An export: ``letter.make`` and the person's case data visible to the actor, checked before anything is
    read or written."""
    from .letters import make_letter

    require(ctx.actor, "letter.make")
    with ctx.read() as session:
        ensure_person_case_data_visible(session, person_id, action="letter.make")
    out = Path(out)
    if out.is_dir():
        raise UserError(_("Bitte eine Datei angeben, keinen Ordner: {path}").format(path=out))
    if not out.parent.is_dir():
        raise UserError(_("Den Ordner für die Datei gibt es nicht: {path}").format(path=out.parent))
    letter = make_letter(ctx, "access-report", person_id=person_id)  # archived and logged as 'print'
    fd, tmp_name = tempfile.mkstemp(prefix=".auskunft-", suffix=".zip.part", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with ctx.write() as session:
            data = _Data(session, person_id)
            data.documents = [d for d in data.documents if d.id != letter.document_id]
            used: set[str] = set()
            names = {doc.id: _document_name(doc, used) for doc in data.documents if doc.content is not None}
            payload = _machine_readable(data, names)
            with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("auskunft.pdf", letter.pdf)
                archive.writestr(
                    "daten.json",
                    json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False, default=str),
                )
                for doc in data.documents:
                    if doc.id in names:
                        archive.writestr(names[doc.id], doc.content)
                handle.flush()
                os.fsync(handle.fileno())
            audit.record(
                session, "export", entity_type="subject_access", entity_id=person_id, person_id=person_id,
                detail={"documents": len(names), "cases": len(data.cases), "letter": letter.document_id},
            )  # fmt: skip
            os.replace(tmp, out)  # still inside the unit of work: a failed rename leaves no 'export' row
    except OSError:
        tmp.unlink(missing_ok=True)
        raise UserError(_("Die Datei kann nicht geschrieben werden: {path}").format(path=out)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
