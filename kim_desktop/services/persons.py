"""Persons: validation, create with duplicate check, read (audited), update with optimistic locking, list.

Every write goes through here: it validates, writes the record, rebuilds the person's search keys and the
audit rows in one transaction. Input comes as plain values (strings from a form or the CLI, or already
typed values) and is validated field by field with German messages the GUI shows inline.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..db.base import new_id
from ..db.models import (
    LANGUAGE_LEVELS,
    SEXES,
    Case,
    CodeEntry,
    Person,
    PersonLanguage,
    PersonNameVariant,
    PersonNationality,
    ResidenceStatusChange,
)
from ..errors import DuplicateError, NotFoundError, StaleRecordError, UserError, ValidationError
from ..i18n import _
from . import audit, retention
from .context import ServiceContext
from .dates import PartialDate, parse_date, parse_partial_date
from .duplicates import DuplicateCandidate, find_duplicates  # noqa: F401 (re-exported)
from .permissions import actor_of, require, require_session, visible_case_clause
from .person_list import PersonRow
from .search import reindex_persons, sort_name

MAX_NAME = 200
MAX_LINE = 200
MAX_NOTE = 100_000

SINGLE_LINE_FIELDS = {
    "family_name": MAX_NAME,
    "given_names": MAX_NAME,
    "birth_name": MAX_NAME,
    "place_of_birth": MAX_LINE,
    "street": MAX_LINE,
    "postcode": 10,
    "city": MAX_LINE,
    "address_extra": MAX_LINE,
    "phone": 60,
    "email": 200,
}
DATE_FIELDS = ("residence_valid_until", "entry_date", "district_since")
PERSON_FIELDS = (
    "family_name", "given_names", "birth_name", "birth_date", "sex", "nationalities", "country_of_birth",
    "place_of_birth", "languages", "interpreter_needed", "interpreter_language", "street", "postcode", "city",
    "address_extra", "phone", "email", "residence_status", *DATE_FIELDS, "note", "other_spellings",
)  # fmt: skip

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 /()\-.]{5,60}$")
_POSTCODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z \-]{2,9}$")


# --- validation -----------------------------------------------------------------------------------------


def _bad_characters(value: str, multiline: bool) -> str | None:
    for ch in value:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return _("enthält ungültige Zeichen.")
        if unicodedata.category(ch) == "Cc" and not (multiline and ch in "\n\t\r"):
            return _("enthält Steuerzeichen, die nicht gespeichert werden können.")
    return None


def _label(field_name: str) -> str:
    labels = {
        "family_name": _("Familienname"),
        "given_names": _("Vorname(n)"),
        "birth_name": _("Geburtsname"),
        "birth_date": _("Geburtsdatum"),
        "sex": _("Geschlecht"),
        "nationalities": _("Staatsangehörigkeit"),
        "country_of_birth": _("Geburtsland"),
        "place_of_birth": _("Geburtsort"),
        "languages": _("Sprachen"),
        "interpreter_language": _("Sprache für Dolmetschung"),
        "street": _("Straße und Hausnummer"),
        "postcode": _("PLZ"),
        "city": _("Ort"),
        "address_extra": _("Adresszusatz"),
        "phone": _("Telefon"),
        "email": _("E-Mail"),
        "residence_status": _("Aufenthaltsstatus"),
        "residence_valid_until": _("gültig bis"),
        "entry_date": _("Einreisedatum"),
        "district_since": _("Im Kreis seit"),
        "note": _("Notiz"),
        "other_spellings": _("Andere Schreibweisen"),
    }
    return labels.get(field_name, field_name)


def _clean_text(field_name: str, value: Any, errors: dict[str, str], *, limit: int, multiline: bool = False):
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    problem = _bad_characters(value, multiline)
    if problem:
        errors[field_name] = f"{_label(field_name)} {problem}"
        return None
    if len(value) > limit:
        errors[field_name] = _("{label} darf höchstens {limit} Zeichen lang sein.").format(
            label=_label(field_name), limit=limit
        )
        return None
    return value or None


def _as_list(value: Any) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,;\n]", value) if part.strip()]
    return list(value)


def validate_person(
    values: dict[str, Any], *, partial: bool = False, today: date | None = None
) -> dict[str, Any]:
    """Check and normalise person fields; raises ``ValidationError`` with one German message per field.

    ``partial`` validates only the fields present (for updates). Code-list checks that need the database
    (residence status) happen in the service.
    """
    from ..i18n import countries, languages

    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = set(values) - set(PERSON_FIELDS)
    if unknown:
        raise UserError(_("Unbekannte Felder: {fields}").format(fields=", ".join(sorted(unknown))))
    present = set(values) if partial else set(PERSON_FIELDS)

    for name, limit in SINGLE_LINE_FIELDS.items():
        if name in present:
            clean[name] = _clean_text(name, values.get(name), errors, limit=limit)
    if "family_name" in present and not clean.get("family_name") and "family_name" not in errors:
        errors["family_name"] = _("Bitte geben Sie den Familiennamen ein.")
    if "given_names" in present:
        clean["given_names"] = clean.get("given_names") or ""
    if clean.get("email") and not _EMAIL.match(clean["email"]):
        errors["email"] = _("Die E-Mail-Adresse ist unvollständig (Beispiel: name@beispiel.de).")
    if clean.get("phone") and not _PHONE.match(clean["phone"]):
        errors["phone"] = _("Die Telefonnummer darf nur Ziffern, Leerzeichen und + / ( ) - enthalten.")
    if clean.get("postcode") and not _POSTCODE.match(clean["postcode"]):
        errors["postcode"] = _("Die Postleitzahl ist ungültig.")
    if "note" in present:
        clean["note"] = _clean_text("note", values.get("note"), errors, limit=MAX_NOTE, multiline=True)

    if "birth_date" in present:
        raw = values.get("birth_date")
        if isinstance(raw, PartialDate) or raw is None:
            clean["birth_date"] = raw
        elif isinstance(raw, date):
            clean["birth_date"] = PartialDate(raw.year, raw.month, raw.day)
        else:
            try:
                clean["birth_date"] = parse_partial_date(str(raw), allow_future=False, today=today)
            except UserError as exc:
                errors["birth_date"] = str(exc)
        birth = clean.get("birth_date")
        if birth is not None and "birth_date" not in errors and birth.earliest() > (today or date.today()):
            errors["birth_date"] = _("Ein Geburtsdatum kann nicht in der Zukunft liegen.")
    for name in DATE_FIELDS:
        if name in present:
            raw = values.get(name)
            if raw is None or isinstance(raw, date):
                clean[name] = raw
            else:
                try:
                    clean[name] = parse_date(str(raw), today=today)
                except UserError as exc:
                    errors[name] = f"{_label(name)}: {exc}"

    if "sex" in present:
        sex = (
            (values.get("sex") or "u").strip().lower() if isinstance(values.get("sex"), str | None) else None
        )
        if sex not in SEXES:
            errors["sex"] = _(
                "Geschlecht: bitte weiblich, männlich, divers, ohne Angabe oder unbekannt wählen."
            )
        clean["sex"] = sex
    country_codes = countries("de")
    if "nationalities" in present:
        codes = [str(c).strip().upper() for c in _as_list(values.get("nationalities"))]
        bad = [c for c in codes if c not in country_codes]
        if bad:
            errors["nationalities"] = _("Unbekannter Ländercode: {code}").format(code=bad[0][:10])
        clean["nationalities"] = list(dict.fromkeys(codes))
    if "country_of_birth" in present:
        code = (values.get("country_of_birth") or "").strip().upper() or None
        if code and code not in country_codes:
            errors["country_of_birth"] = _("Unbekannter Ländercode: {code}").format(code=code[:10])
        clean["country_of_birth"] = code
    language_codes = languages("de")
    if "languages" in present:
        parsed = []
        for item in _as_list(values.get("languages")):
            if isinstance(item, str):
                code, _sep, level = item.partition(":")
            else:
                code, level = item
            code, level = code.strip(), (level or "none").strip() or "none"
            if code not in language_codes:
                errors["languages"] = _("Unbekannte Sprache: {code}").format(code=code[:10])
            elif level not in LANGUAGE_LEVELS:
                errors["languages"] = _("Unbekanntes Sprachniveau: {level}").format(level=level[:10])
            parsed.append((code, level))
        clean["languages"] = list(dict(parsed).items())
    if "interpreter_needed" in present:
        clean["interpreter_needed"] = _as_bool(values.get("interpreter_needed"))
    if "interpreter_language" in present:
        code = (values.get("interpreter_language") or "").strip() or None
        if code and code not in language_codes:
            errors["interpreter_language"] = _("Unbekannte Sprache: {code}").format(code=code[:10])
        clean["interpreter_language"] = code
    if "residence_status" in present:
        clean["residence_status"] = (values.get("residence_status") or "").strip() or None
    if "other_spellings" in present:
        spellings = []
        for item in (
            _as_list(values.get("other_spellings"))
            if not isinstance(values.get("other_spellings"), str)
            else [s.strip() for s in str(values.get("other_spellings")).splitlines() if s.strip()]
        ):
            text = _clean_text("other_spellings", item, errors, limit=MAX_NAME * 2 + 2)
            if text:
                spellings.append(text)
        clean["other_spellings"] = spellings
    if errors:
        raise ValidationError(errors)
    return clean


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "ja", "yes", "j", "y", "x"}
    return bool(value)


def _split_spelling(text: str) -> tuple[str, str]:
    """``Familienname, Vorname(n)`` or a single name (treated as family name)."""
    family, sep, given = text.partition(",")
    return family.strip(), given.strip() if sep else ""


# --- views ----------------------------------------------------------------------------------------------


@dataclass
class PersonView:
    """Everything the person page and ``person show`` display."""

    id: str
    version: int
    family_name: str
    given_names: str
    birth_name: str | None
    birth_date: PartialDate | None
    sex: str
    nationalities: list[str]
    country_of_birth: str | None
    place_of_birth: str | None
    languages: list[tuple[str, str]]
    interpreter_needed: bool
    interpreter_language: str | None
    street: str | None
    postcode: str | None
    city: str | None
    address_extra: str | None
    phone: str | None
    email: str | None
    residence_status: str | None
    residence_valid_until: date | None
    entry_date: date | None
    district_since: date | None
    note: str | None
    other_spellings: list[str]
    file_numbers: list[str] = field(default_factory=list)
    created_at: Any = None
    updated_at: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "family_name": self.family_name,
            "given_names": self.given_names,
            "birth_name": self.birth_name,
            "birth_date": self.birth_date.iso() if self.birth_date else None,
            "sex": self.sex,
            "nationalities": self.nationalities,
            "country_of_birth": self.country_of_birth,
            "place_of_birth": self.place_of_birth,
            "languages": [{"code": c, "level": lvl} for c, lvl in self.languages],
            "interpreter_needed": self.interpreter_needed,
            "interpreter_language": self.interpreter_language,
            "street": self.street,
            "postcode": self.postcode,
            "city": self.city,
            "address_extra": self.address_extra,
            "phone": self.phone,
            "email": self.email,
            "residence_status": self.residence_status,
            "residence_valid_until": _iso(self.residence_valid_until),
            "entry_date": _iso(self.entry_date),
            "district_since": _iso(self.district_since),
            "note": self.note,
            "other_spellings": self.other_spellings,
            "file_numbers": self.file_numbers,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _view(person: Person, file_numbers: list[str]) -> PersonView:
    return PersonView(
        id=person.id,
        version=person.version,
        family_name=person.family_name,
        given_names=person.given_names,
        birth_name=person.birth_name,
        birth_date=PartialDate.from_parts(person.birth_year, person.birth_month, person.birth_day),
        sex=person.sex,
        nationalities=[n.country_code for n in person.nationalities],
        country_of_birth=person.country_of_birth,
        place_of_birth=person.place_of_birth,
        languages=[(lang.language_code, lang.level) for lang in person.languages],
        interpreter_needed=person.interpreter_needed,
        interpreter_language=person.interpreter_language,
        street=person.street,
        postcode=person.postcode,
        city=person.city,
        address_extra=person.address_extra,
        phone=person.phone,
        email=person.email,
        residence_status=person.residence_status,
        residence_valid_until=person.residence_valid_until,
        entry_date=person.entry_date,
        district_since=person.district_since,
        note=person.note,
        other_spellings=[
            f"{v.family_name}, {v.given_names}" if v.given_names else v.family_name
            for v in person.name_variants
        ],
        file_numbers=file_numbers,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


# --- use cases ------------------------------------------------------------------------------------------


def _check_residence_status(session, code: str | None) -> None:
    if code is None:
        return
    exists = session.scalar(
        select(func.count())
        .select_from(CodeEntry)
        .where(CodeEntry.list_name == "residence_status", CodeEntry.code == code)
    )
    if not exists:
        raise ValidationError(
            {"residence_status": _("Unbekannter Aufenthaltsstatus: {code}").format(code=code[:40])}
        )


def _apply(session, person: Person, clean: dict[str, Any]) -> list[str]:
    """Write validated values onto the record; returns the names of the changed fields."""
    changed = []
    simple = set(SINGLE_LINE_FIELDS) | set(DATE_FIELDS) | {
        "sex", "country_of_birth", "interpreter_needed", "interpreter_language", "residence_status", "note",
    }  # fmt: skip
    for name in simple & set(clean):
        value = clean[name]
        if name == "given_names" and value is None:
            value = ""
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed.append(name)
    if "birth_date" in clean:
        birth = clean["birth_date"]
        parts = (birth.year, birth.month, birth.day) if birth else (None, None, None)
        if (person.birth_year, person.birth_month, person.birth_day) != parts:
            person.birth_year, person.birth_month, person.birth_day = parts
            changed.append("birth_date")
    if "nationalities" in clean and [n.country_code for n in person.nationalities] != clean["nationalities"]:
        person.nationalities = [
            PersonNationality(country_code=c, sort_order=i) for i, c in enumerate(clean["nationalities"])
        ]
        changed.append("nationalities")
    if "languages" in clean and [(x.language_code, x.level) for x in person.languages] != clean["languages"]:
        person.languages = [
            PersonLanguage(language_code=c, level=lvl, sort_order=i)
            for i, (c, lvl) in enumerate(clean["languages"])
        ]
        changed.append("languages")
    if "other_spellings" in clean:
        current = [
            f"{v.family_name}, {v.given_names}" if v.given_names else v.family_name
            for v in person.name_variants
        ]
        if current != clean["other_spellings"]:
            person.name_variants = [
                PersonNameVariant(family_name=f, given_names=g, sort_order=i)
                for i, (f, g) in enumerate(_split_spelling(s) for s in clean["other_spellings"])
            ]
            changed.append("other_spellings")
    person.sort_name = sort_name(person.family_name, person.given_names)
    if {"residence_status", "residence_valid_until"} & set(changed):
        session.add(
            ResidenceStatusChange(
                person_id=person.id,
                status=person.residence_status,
                valid_until=person.residence_valid_until,
                recorded_by=session.info.get("user_id"),
            )
        )
    return changed


def create_person(
    ctx: ServiceContext, values: dict[str, Any], *, allow_duplicate: bool = False
) -> PersonView:
    require(ctx.actor, "person.write")
    clean = validate_person(values)
    with ctx.write() as session:
        _check_residence_status(session, clean.get("residence_status"))
        if not allow_duplicate:
            candidates = find_duplicates(
                session,
                clean["family_name"],
                clean["given_names"],
                clean["birth_date"],
                phone=clean.get("phone"),
                nationalities=clean.get("nationalities") or (),
            )
            if candidates:
                raise DuplicateError(
                    _("Diese Person ist möglicherweise schon erfasst ({n} Treffer).").format(
                        n=len(candidates)
                    ),
                    candidates,
                )
        # Filled completely before the first flush: one INSERT, version 1, no spurious field updates.
        person = Person(
            id=new_id(),
            family_name=clean["family_name"],
            given_names=clean["given_names"],
            sex="u",
            interpreter_needed=False,
            created_by=ctx.actor.user_id,
        )
        _apply(session, person, clean)
        session.add(person)
        session.flush()
        reindex_persons(session, [person.id])
        audit.record(session, "create", entity_type="person", entity_id=person.id, person_id=person.id)
        return _view(person, [])


def _file_numbers(session, person_id: str, *, order: bool = False) -> list[str]:
    """File numbers of the person's cases that the session's actor may see."""
    stmt = select(Case.file_number).where(Case.person_id == person_id)
    if order:
        stmt = stmt.where(Case.deleted_at.is_(None)).order_by(Case.opened_on)
    clause = visible_case_clause(actor_of(session))
    if clause is not None:
        stmt = stmt.where(clause)
    return list(session.scalars(stmt))


def _load(session, person_id: str) -> Person:
    person = session.execute(
        select(Person)
        .options(
            selectinload(Person.nationalities),
            selectinload(Person.languages),
            selectinload(Person.name_variants),
        )
        .where(Person.id == person_id)
    ).scalar_one_or_none()
    if person is None or person.deleted_at is not None:
        raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
    return person


def get_person(ctx: ServiceContext, person_id: str) -> PersonView:
    """Open a person (an audited read): names and contact data (``person.read_basic``); the file numbers only
    of the cases the actor may see."""
    require(ctx.actor, "person.read_basic")
    with ctx.write() as session:
        person = _load(session, person_id)
        numbers = _file_numbers(session, person_id, order=True)
        audit.record(session, "read", entity_type="person", entity_id=person.id, person_id=person.id)
        return _view(person, numbers)


def update_person(
    ctx: ServiceContext, person_id: str, values: dict[str, Any], *, expected_version: int | None = None
) -> PersonView:
    require(ctx.actor, "person.write")
    clean = validate_person(values, partial=True)
    try:
        with ctx.write() as session:
            person = _load(session, person_id)
            retention.ensure_not_restricted(session, person.id)  # Art. 18: storage only
            if expected_version is not None and person.version != expected_version:
                raise _person_conflict(session, person, clean, expected_version)
            _check_residence_status(session, clean.get("residence_status"))
            changed = _apply(session, person, clean)
            if changed:
                person.updated_by = ctx.actor.user_id
                session.flush()
                reindex_persons(session, [person.id])
                audit.record(
                    session,
                    "update",
                    entity_type="person",
                    entity_id=person.id,
                    person_id=person.id,
                    detail={"fields": sorted(changed)},
                )
            return _view(person, _file_numbers(session, person_id))
    except StaleRecordError:
        # Another client saved between this one's read and its UPDATE (the row version no longer matched).
        with ctx.read() as session:
            person = session.get(Person, person_id)
            raise _person_conflict(session, person, clean, expected_version) from None


def _person_conflict(session, person: Person | None, clean: dict[str, Any], expected_version: int | None):
    from .conflicts import stale_record_error

    columns = Person.__table__.columns.keys()
    fields = [key for key in clean if key in columns]
    return stale_record_error(
        session,
        "person",
        person.id if person is not None else "",
        expected_version=expected_version,
        current_version=person.version if person is not None else None,
        yours={key: clean[key] for key in fields},
        theirs={key: getattr(person, key) for key in fields} if person is not None else {},
    )


# --- the person list ------------------------------------------------------------------------------------


LIST_COLUMNS = (
    Person.id,
    Person.family_name,
    Person.given_names,
    Person.birth_year,
    Person.birth_month,
    Person.birth_day,
    Person.city,
    Person.residence_status,
)


def _live():
    return (Person.deleted_at.is_(None), Person.merged_into_id.is_(None))


def count_persons(session) -> int:
    require_session(session, "person.read_basic")
    return session.scalar(select(func.count()).select_from(Person).where(*_live())) or 0


def list_persons(session, offset: int, limit: int) -> list[PersonRow]:
    """One page of the alphabetical person list (index ``ix_person_list_order``); names for every role with
    ``person.read_basic``."""
    require_session(session, "person.read_basic")
    rows = session.execute(
        select(*LIST_COLUMNS)
        .where(*_live())
        .order_by(Person.sort_name, Person.id)
        .offset(offset)
        .limit(limit)
    )
    return [_row(r) for r in rows]


def rows_by_ids(session, ids: list[str]) -> list[PersonRow]:
    require_session(session, "person.read_basic")
    if not ids:
        return []
    by_id = {r.id: _row(r) for r in session.execute(select(*LIST_COLUMNS).where(Person.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def _row(r) -> PersonRow:
    return PersonRow.from_tuple(tuple(r))
