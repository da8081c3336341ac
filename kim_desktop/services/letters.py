"""Letters: template + data from the case file → DIN 5008 PDF, archived with the case.

Template (office-editable, sandboxed Jinja2, ``letter_templates``) → context (plain data built here from the
database) → ``reports.letter.render_letter``. Confidential journal entries never reach a letter: nothing here
reads the journal. Every letter made is archived as a ``document`` (template, version, author, SHA-256 and the
PDF) and logged as a ``print`` access.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from ..db.models import (
    Appointment,
    AppointmentParticipant,
    Case,
    Document,
    Location,
    Offer,
    Person,
    Provider,
    Referral,
)
from ..errors import NotFoundError, UserError
from ..i18n import _, format_date
from . import audit, letter_languages, letter_templates, retention
from .cases import phase_label, rating_label
from .codes import code_labels
from .context import ServiceContext
from .dates import PartialDate
from .localtime import local_time
from .permissions import (
    actor_of,
    ensure_case_id_visible,
    ensure_case_visible,
    ensure_person_case_data_visible,
    require,
    require_session,
    visible_case_id_clause,
)

PERSON_LETTERS = ("consent", "release", "privacy", "certificate", "access-report")
CASE_LETTERS = ("plan", "closing")
LANGUAGES = letter_languages.LANGUAGES
BILINGUAL_LETTERS = letter_languages.BILINGUAL_LETTERS

# Texts that belong to the letter, not to the UI: they follow the letter's language, never the UI language.
LETTER_TEXTS = {
    "de": {
        "salutation_f": "Sehr geehrte Frau {name},",
        "salutation_m": "Sehr geehrter Herr {name},",
        "salutation_other": "Guten Tag {name},",
        "closing": "Mit freundlichen Grüßen",
        "file_number": "Aktenzeichen",
        "contact": "Ansprechpartner/in",
        "phone": "Telefon",
        "email": "E-Mail",
        "date": "Datum",
        "unknown": "unbekannt",
        "open": "offen",
        "organisation": "Kommunales Integrationsmanagement",
        "dpo": "Datenschutzbeauftragte/r der Verwaltung",
    }
}


@dataclass
class MadeLetter:
    pdf: bytes
    document_id: str | None
    title: str


_LRE, _PDF = "\u202a", "\u202c"  # left-to-right embedding and its end (UAX #9 explicit formatting)


def embed_ltr(value: Any) -> Any:
    """Data for a right-to-left translation: every left-to-right value (phone numbers, e-mail, dates, German
    names and places) is embedded as one left-to-right unit, so "02541 18-0" is not reordered to "0-18 02541".
    Empty values stay empty (templates test them with ``{% if %}``)."""
    from ..reports.bidi_text import has_rtl

    if isinstance(value, dict):
        return {key: embed_ltr(item) for key, item in value.items()}
    if isinstance(value, list):
        return [embed_ltr(item) for item in value]
    if isinstance(value, str) and value.strip() and not has_rtl(value):
        return "\n".join(f"{_LRE}{line}{_PDF}" if line.strip() else line for line in value.split("\n"))
    return value


def author_name(ctx: ServiceContext) -> str:
    """Who signs: the user's name; empty for the shared single workplace without accounts (signed by hand)."""
    return ctx.actor.display_name if ctx.actor.user_id else ""


def check_language(key: str, language: str) -> None:
    """German message for a letter language that doesn't exist or a letter that has no translations."""
    if language not in LANGUAGES:
        raise UserError(
            _("Die Sprache „{language}“ gibt es für Briefe nicht. Verfügbar: {available}.").format(
                language=str(language)[:10], available=", ".join(LANGUAGES)
            )
        )
    if language != "de" and key not in BILINGUAL_LETTERS:
        raise UserError(
            _("Diesen Brief gibt es nur auf Deutsch. Zweisprachig gibt es: {keys}.").format(
                keys=", ".join(BILINGUAL_LETTERS)
            )
        )


def anrede(person: Person, language: str = "de") -> str:
    texts = letter_languages.texts(language)
    if person.sex == "f":
        return texts["salutation_f"].format(name=person.family_name)
    if person.sex == "m":
        return texts["salutation_m"].format(name=person.family_name)
    return texts["salutation_other"].format(name=f"{person.given_names} {person.family_name}".strip())


def address_lines(person: Person) -> list[str]:
    lines = [f"{person.given_names} {person.family_name}".strip()]
    if person.address_extra:
        lines.append(person.address_extra)
    if person.street:
        lines.append(person.street)
    if person.postcode or person.city:
        lines.append(f"{person.postcode or ''} {person.city or ''}".strip())
    return lines


def office_profile(session) -> dict[str, str]:
    """The office profile (organisation, address, contact, DPO) as the settings store it."""
    from .office import load_profile

    return load_profile(session)


def _person_context(person: Person) -> dict[str, Any]:
    birth = PartialDate.from_parts(person.birth_year, person.birth_month, person.birth_day)
    return {
        "anrede": anrede(person),
        "name": f"{person.given_names} {person.family_name}".strip(),
        "vorname": person.given_names,
        "nachname": person.family_name,
        # Unknown: a line to fill in by hand (consent and release are signed on paper).
        "geburtsdatum": birth.german() if birth else "____________",
        "geburtsdatum_bekannt": birth is not None,
        "anschrift": address_lines(person),
    }


def _case_context(session, case: Case) -> dict[str, Any]:
    from .journal import goals

    reasons = code_labels(session, "closure_reason")
    who = {
        "client": "Klient*in",
        "case_manager": "Case Manager/in",
        "other": "andere Stelle",
    }  # letter language
    return {
        "aktenzeichen": case.file_number,
        "eroeffnet_am": format_date(case.opened_on),
        "phase": phase_label(case.phase),
        "abschlussgrund": reasons.get(case.closure_reason or "", case.closure_reason or ""),
        "ziele": [
            {
                "titel": goal.title,
                "bewertung": rating_label(goal.status)
                if goal.status != "open"
                else LETTER_TEXTS["de"]["open"],
                "schritte": [
                    {
                        "beschreibung": s.description,
                        "wer": who.get(s.responsible, s.responsible),
                        "bis": format_date(s.due_on),
                    }
                    for s in steps
                ],
            }
            for goal, steps in goals(session, case.id)
        ],
    }


def build_context(
    session,
    ctx: ServiceContext,
    *,
    person_id: str | None = None,
    case_id: str | None = None,
    appointment_id: str | None = None,
    referral_id: str | None = None,
) -> tuple[dict[str, Any], Person, Case | None]:
    """The placeholders of a letter. Needs ``letter.make`` and the letter's case (or, without a case, the
    person's case data) visible to the actor."""
    require_session(session, "letter.make")
    case = session.get(Case, case_id) if case_id else None
    appointment = session.get(Appointment, appointment_id) if appointment_id else None
    referral = session.get(Referral, referral_id) if referral_id else None
    if case_id and (case is None or case.deleted_at is not None):
        raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
    if appointment_id and appointment is None:
        raise NotFoundError(_("Keinen Termin mit dieser Kennung gefunden."))
    if referral_id and referral is None:
        raise NotFoundError(_("Keine Vermittlung mit dieser Kennung gefunden."))
    if referral is not None and case is None:
        case = session.get(Case, referral.case_id)
    if appointment is not None and case is None and appointment.case_id:
        case = session.get(Case, appointment.case_id)
    if person_id is None and appointment is not None:
        person_id = session.scalars(
            select(AppointmentParticipant.person_id).where(
                AppointmentParticipant.appointment_id == appointment.id
            )
        ).first()
    if person_id is None:
        person_id = (referral.person_id if referral else None) or (case.person_id if case else None)
    person = session.get(Person, person_id) if person_id else None
    if person is None or person.deleted_at is not None:
        raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
    if case is not None:
        ensure_case_visible(session, case, action="letter.make")
    else:
        ensure_person_case_data_visible(session, person.id, action="letter.make")
    profile = office_profile(session)
    context: dict[str, Any] = {
        "person": _person_context(person),
        "fall": _case_context(session, case) if case else {},
        "termin": {},
        "vermittlung": {},
        "empfaenger": {},
        "buero": {
            "name": profile["organisation"],
            "einheit": profile["unit"],
            "anschrift": ", ".join(
                p for p in (profile["street"], f"{profile['postcode']} {profile['city']}".strip()) if p
            ),
            "telefon": profile["phone"],
            "email": profile["email"],
            "sprechzeiten": profile["office_hours"],
            "datenschutz": profile["dpo_contact"],
        },
        "sachbearbeitung": {"name": author_name(ctx)},
        "heute": format_date(date.today()),
        "auskunft": {"abschnitte": []},
    }
    if appointment is not None:
        location = session.get(Location, appointment.location_id) if appointment.location_id else None
        starts, ends = local_time(appointment.starts_at), local_time(appointment.ends_at)
        context["termin"] = {
            "beginn": starts.strftime("%d.%m.%Y %H:%M"),
            "ende": ends.strftime("%H:%M"),
            "datum": starts.strftime("%d.%m.%Y"),
            "uhrzeit": starts.strftime("%H:%M"),
            "ort": ", ".join(p for p in (location.name, location.street, location.city) if p)
            if location
            else "",
            "mitbringen": appointment.note or "",
            "dolmetschung": bool(appointment.interpreter_language or appointment.interpreter_id),
        }
    if referral is not None:
        offer = session.get(Offer, referral.offer_id) if referral.offer_id else None
        provider = session.get(Provider, referral.provider_id or (offer.provider_id if offer else None))
        context["vermittlung"] = {
            "angebot": offer.title if offer else "",
            "traeger": provider.name if provider else "",
            "anlass": referral.reason or "",
        }
        context["empfaenger"] = {"name": provider.name if provider else ""}
    return context, person, case


def make_letter(
    ctx: ServiceContext,
    key: str,
    *,
    person_id: str | None = None,
    case_id: str | None = None,
    appointment_id: str | None = None,
    referral_id: str | None = None,
    language: str = "de",
    archive: bool = True,
) -> MadeLetter:
    """Render template ``key`` for the given record into a PDF; archive it with the case file.

    ``language`` other than ``de`` makes a bilingual letter (client letters only): the German letter, which
    stays the binding text, followed by the translation from the template of that language.
    """
    from ..reports.letter import Letter, Translation, render_letter
    from .office import letterhead

    require(ctx.actor, "letter.make")
    check_language(key, language)
    with ctx.write() as session:
        template = letter_templates.get_template(session, key, "de")
        translated = letter_templates.get_template(session, key, language) if language != "de" else None
        context, person, case = build_context(
            session,
            ctx,
            person_id=person_id,
            case_id=case_id,
            appointment_id=appointment_id,
            referral_id=referral_id,
        )
        if key == "access-report":  # Art. 15 DSGVO: the person's stored data in sections
            from .subject_access import access_report_sections

            context["auskunft"] = {"abschnitte": access_report_sections(session, person.id)}
        if key in CASE_LETTERS and case is None:
            raise UserError(_("Dieser Brief gehört zu einem Fall: bitte einen Fall angeben."))
        if key == "invitation" and not context["termin"]:
            raise UserError(_("Eine Einladung gehört zu einem Termin: bitte einen Termin angeben."))
        if key == "referral" and not context["vermittlung"]:
            raise UserError(
                _("Ein Vermittlungsschreiben gehört zu einer Vermittlung: bitte eine Vermittlung angeben.")
            )
        # Art. 18 allows storage only – but the person's own right of access (Art. 15) stays; the access report
        # is also handed over in person, so it needs no postal address.
        if key != "access-report":
            retention.ensure_not_restricted(session, person.id)
        if key != "access-report" and not (person.street and (person.postcode or person.city)):
            raise UserError(
                _(
                    "Für diese Person ist keine vollständige Anschrift gespeichert. Bitte zuerst Straße, PLZ und Ort erfassen."
                )
            )
        paragraphs = letter_templates.render(template.body, context)
        subject = letter_templates.render_subject(template.subject, context)
        profile = office_profile(session)
        texts = LETTER_TEXTS["de"]
        author = author_name(ctx)
        info = [(texts["file_number"], case.file_number if case else "—")]
        if author:
            info.append((texts["contact"], author))
        if profile["phone"]:
            info.append((texts["phone"], profile["phone"]))
        if profile["email"]:
            info.append((texts["email"], profile["email"]))
        info.append((texts["date"], format_date(date.today())))
        return_line = ", ".join(
            p
            for p in (
                profile["organisation"],
                profile["street"],
                f"{profile['postcode']} {profile['city']}".strip(),
            )
            if p
        )
        translation = None
        if translated is not None:
            foreign = letter_languages.texts(language)
            foreign_context = embed_ltr(context) if foreign["direction"] == "rtl" else context
            translation = Translation(
                heading=foreign["translation_heading"],
                note=foreign["binding_note"],
                subject=letter_templates.render_subject(translated.subject, foreign_context),
                salutation=anrede(person, language),
                body=letter_templates.render(translated.body, foreign_context),
                closing=foreign["closing"],
                signature=author,
                direction=foreign["direction"],
            )
        letter = Letter(
            form=_letter_form(session),
            return_address=return_line,
            recipient_lines=address_lines(person),
            notes=[],
            info_items=info,
            subject=subject,
            salutation=context["person"]["anrede"],
            body=paragraphs,
            closing=texts["closing"],
            signature=author,
            translation=translation,
        )
        pdf = render_letter(letter, letterhead(session))
        title = template.title
        if translated is not None:
            title = f"{title} (Deutsch/{letter_languages.texts(language)['language_name']})"
        document_id = None
        if archive:
            document = Document(
                case_id=case.id if case else None,
                person_id=person.id,
                kind=key,
                title=title[:300],
                template_key=key if language == "de" else f"{key}:{language}",
                template_version=template.revision or _version_number(template.version),
                content=pdf,
                sha256=hashlib.sha256(pdf).hexdigest(),
                size=len(pdf),
                referral_id=referral_id,
                appointment_id=appointment_id,
                created_by=ctx.actor.user_id,
            )
            session.add(document)
            session.flush()
            document_id = document.id
        audit.record(  # a preview (not archived) reads the file; a letter made leaves the program
            session, "print" if archive else "read", entity_type="document", entity_id=document_id, person_id=person.id,
            case_id=case.id if case else None, detail={"template": key, "language": language},
        )  # fmt: skip
        return MadeLetter(pdf, document_id, title)


def _letter_form(session) -> str:
    from .office import letter_form

    return letter_form(session)


def archived_documents(
    session, *, person_id: str | None = None, case_id: str | None = None
) -> list[Document]:
    """Archived documents of a person or a case (with content); only those of cases the actor may see."""
    require_session(session, "person.read_case_data")
    if case_id:
        ensure_case_id_visible(session, case_id)
    if person_id:
        ensure_person_case_data_visible(session, person_id)
    stmt = select(Document).where(Document.deleted_at.is_(None))
    visible = visible_case_id_clause(actor_of(session), Document.case_id)
    if visible is not None:
        stmt = stmt.where(visible)
    if person_id:
        stmt = stmt.where(Document.person_id == person_id)
    if case_id:
        stmt = stmt.where(Document.case_id == case_id)
    return list(session.scalars(stmt.order_by(Document.created_at.desc())))


def _version_number(version) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None
