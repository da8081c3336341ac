"""Merge two records of the same person, field by field, moving every related record.

The kept person takes the chosen values; the other record becomes a tombstone pointing to it
(``merged_into_id``), so sync and the audit trail can follow. Its names stay findable as other spellings.
Everything that referred to the removed person (cases, journal, appointments, consents, referrals, documents,
households, relations, status history) now refers to the kept one. A journal entry records the merge.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, select, update

from ..db.base import utcnow
from ..db.models import (
    AppointmentParticipant,
    Case,
    CaseMember,
    Consent,
    Document,
    HouseholdMember,
    JournalEntry,
    Person,
    PersonLanguage,
    PersonNameVariant,
    PersonNationality,
    PersonRelation,
    Referral,
    ResidenceStatusChange,
)
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit
from .context import ServiceContext
from .permissions import ensure_person_case_data_visible, require
from .search import reindex_persons, sort_name

MERGEABLE_FIELDS = (
    "family_name", "given_names", "birth_name", "birth_date", "sex", "country_of_birth", "place_of_birth",
    "interpreter_needed", "interpreter_language", "street", "postcode", "city", "address_extra", "phone", "email",
    "residence_status", "residence_valid_until", "entry_date", "district_since", "note",
)  # fmt: skip


def _get(person: Person, field: str) -> Any:
    if field == "birth_date":
        return (person.birth_year, person.birth_month, person.birth_day)
    return getattr(person, field)


def _set(person: Person, field: str, value: Any) -> None:
    if field == "birth_date":
        person.birth_year, person.birth_month, person.birth_day = value
    else:
        setattr(person, field, value)


def differing_fields(keep: Person, other: Person) -> list[str]:
    """Fields where the two records disagree (the merge dialog shows exactly these)."""
    return [f for f in MERGEABLE_FIELDS if _get(keep, f) != _get(other, f)]


def _display(person: Person, field: str) -> str:
    from ..i18n import format_date
    from .dates import PartialDate

    if field == "birth_date":
        birth = PartialDate.from_parts(person.birth_year, person.birth_month, person.birth_day)
        return birth.german() if birth else _("unbekannt")
    value = getattr(person, field)
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("ja") if value else _("nein")
    if isinstance(value, date):
        return format_date(value)
    return str(value)


def merge_preview(ctx: ServiceContext, keep_id: str, other_id: str) -> list[tuple[str, str, str]]:
    """(field, kept value, other value) for every field where the two records differ, for display."""
    require(ctx.actor, "person.read_basic")
    if keep_id == other_id:
        raise UserError(_("Eine Person kann nicht mit sich selbst zusammengeführt werden."))
    with ctx.read() as session:
        keep, other = session.get(Person, keep_id), session.get(Person, other_id)
        for person in (keep, other):
            if person is None or person.deleted_at is not None or person.merged_into_id is not None:
                raise NotFoundError(_("Eine der beiden Personen gibt es nicht (mehr)."))
        return [(f, _display(keep, f), _display(other, f)) for f in differing_fields(keep, other)]


def merge_persons(
    ctx: ServiceContext,
    keep_id: str,
    remove_id: str,
    *,
    take_from_other: set[str] | frozenset[str] = frozenset(),
) -> str:
    """Merge ``remove_id`` into ``keep_id``; ``take_from_other`` names the fields whose value comes from the
    removed record (all others keep the kept record's value, except empty ones, which are filled).

    Needs ``person.write`` and, as the merge moves case files and writes into their journal, case data of
    both persons the actor may see."""
    require(ctx.actor, "person.write")
    if keep_id == remove_id:
        raise UserError(_("Eine Person kann nicht mit sich selbst zusammengeführt werden."))
    unknown = set(take_from_other) - set(MERGEABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {"fields": _("Unbekanntes Feld: {field}").format(field=sorted(unknown)[0][:40])}
        )
    with ctx.write() as session:
        keep, other = session.get(Person, keep_id), session.get(Person, remove_id)
        for person in (keep, other):
            if person is None or person.deleted_at is not None or person.merged_into_id is not None:
                raise NotFoundError(_("Eine der beiden Personen gibt es nicht (mehr)."))
        for person_id in (keep_id, remove_id):
            ensure_person_case_data_visible(session, person_id, action="person.write")
        changed = []
        for field in MERGEABLE_FIELDS:
            mine, theirs = _get(keep, field), _get(other, field)
            empty = mine in (None, "", (None, None, None), False)
            if mine != theirs and (field in take_from_other or (empty and theirs not in (None, ""))):
                _set(keep, field, theirs)
                changed.append(field)
        keep.sort_name = sort_name(keep.family_name, keep.given_names)

        # Names of the removed record stay findable as other spellings of the kept one.
        spellings = {(v.family_name, v.given_names) for v in keep.name_variants}
        extra = [(other.family_name, other.given_names)] + [
            (v.family_name, v.given_names) for v in other.name_variants
        ]
        order = len(keep.name_variants)
        for family, given in extra:
            if (family, given) not in spellings and (family, given) != (keep.family_name, keep.given_names):
                keep.name_variants.append(
                    PersonNameVariant(family_name=family, given_names=given, sort_order=order)
                )
                spellings.add((family, given))
                order += 1
        have = {n.country_code for n in keep.nationalities}
        for n in list(other.nationalities):
            if n.country_code not in have:
                keep.nationalities.append(
                    PersonNationality(country_code=n.country_code, sort_order=len(have))
                )
                have.add(n.country_code)
        langs = {lang.language_code for lang in keep.languages}
        for lang in list(other.languages):
            if lang.language_code not in langs:
                keep.languages.append(
                    PersonLanguage(language_code=lang.language_code, level=lang.level, sort_order=len(langs))
                )
                langs.add(lang.language_code)
        session.flush()

        moved = _move_related(session, keep_id, remove_id)
        other.merged_into_id = keep_id
        other.deleted_at = utcnow()
        session.flush()
        reindex_persons(session, [keep_id, remove_id])

        text = _("Personen zusammengeführt: ein zweiter Datensatz wurde in diese Person übernommen.")
        case_ids = list(
            session.scalars(select(Case.id).where(Case.person_id == keep_id, Case.deleted_at.is_(None)))
        )
        for case_id in case_ids or [None]:
            session.add(
                JournalEntry(
                    case_id=case_id,
                    person_id=keep_id,
                    entry_date=date.today(),
                    contact_type="notiz",
                    text=text,
                    system_generated=True,
                    author_id=ctx.actor.user_id,
                )  # fmt: skip
            )
        audit.record(
            session, "merge", entity_type="person", entity_id=keep_id, person_id=keep_id,
            detail={"merged": remove_id, "fields": sorted(changed), "moved": moved},
        )  # fmt: skip
        return keep_id


def _move_related(session, keep_id: str, remove_id: str) -> dict[str, int]:
    moved: dict[str, int] = {}

    def move(model, column: str = "person_id") -> None:
        col = getattr(model, column)
        result = session.execute(update(model).where(col == remove_id).values({column: keep_id}))
        if result.rowcount:
            moved[model.__tablename__] = result.rowcount

    for model in (Case, JournalEntry, Consent, Referral, Document, ResidenceStatusChange):
        move(model)
    # Association tables: move what does not exist already for the kept person, drop the rest.
    for model, key in (
        (CaseMember, "case_id"),
        (AppointmentParticipant, "appointment_id"),
        (HouseholdMember, "household_id"),
    ):
        present = set(session.scalars(select(getattr(model, key)).where(model.person_id == keep_id)))
        for value in list(session.scalars(select(getattr(model, key)).where(model.person_id == remove_id))):
            if value in present:
                session.execute(
                    delete(model).where(model.person_id == remove_id, getattr(model, key) == value)
                )
            else:
                session.execute(
                    update(model)
                    .where(model.person_id == remove_id, getattr(model, key) == value)
                    .values(person_id=keep_id)
                )
                moved[model.__tablename__] = moved.get(model.__tablename__, 0) + 1
    # Relations: re-point both directions; a relation between the two records themselves disappears.
    session.execute(
        delete(PersonRelation).where(
            ((PersonRelation.person_id == keep_id) & (PersonRelation.related_person_id == remove_id))
            | ((PersonRelation.person_id == remove_id) & (PersonRelation.related_person_id == keep_id))
        )
    )
    existing = {
        (r.person_id, r.related_person_id, r.relation)
        for r in session.scalars(
            select(PersonRelation).where(
                (PersonRelation.person_id == keep_id) | (PersonRelation.related_person_id == keep_id)
            )
        )
    }
    for relation in list(
        session.scalars(
            select(PersonRelation).where(
                (PersonRelation.person_id == remove_id) | (PersonRelation.related_person_id == remove_id)
            )
        )
    ):
        a = keep_id if relation.person_id == remove_id else relation.person_id
        b = keep_id if relation.related_person_id == remove_id else relation.related_person_id
        if (a, b, relation.relation) in existing:
            session.delete(relation)
        else:
            relation.person_id, relation.related_person_id = a, b
            existing.add((a, b, relation.relation))
            moved["person_relation"] = moved.get("person_relation", 0) + 1
    return moved
