"""The directory of offers (Angebotslandkarte): providers, their contact persons and offers. No Qt.

Providers (Träger/Einrichtungen) carry the address for letters, phone, e-mail and opening hours; offers carry a
category from the editable code list ``offer_category``, the languages offered, target group, access conditions,
the residence statuses they are open to (None = all), cost, municipality, validity and "zuletzt geprüft am".

The same provider is never stored twice: two providers are the same when their names match ignoring case and
spaces and their places do not contradict each other (postcode, else town). The directory can be exported and
imported as CSV (``;``-separated, one row per offer) or JSON (providers with contacts and offers) so a Kreis can
share one directory among its offices; an import is all or nothing.

The directory holds no case data; writes are still audited (who changed which provider or offer).

Permissions (``services.permissions``): reading the directory (search, details, export) needs no right beyond
being signed in; every write (providers, contacts, offers, "geprüft am", the import) needs ``directory.write``.
``offer_detail`` shows only the anonymous number of referrals to an offer; which referrals they are is case
content and is read through ``referrals`` (with its own checks).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, cast, func, select, type_coerce

from ..db.base import utcnow
from ..db.models import CodeEntry, Offer, Provider, ProviderContact, Referral
from ..errors import ConflictError, NotFoundError, UserError, ValidationError
from ..i18n import _, ngettext
from . import audit
from .context import ServiceContext
from .permissions import require

MAX_IMPORT_BYTES = 20 * 1024 * 1024
FORMATS = ("csv", "json")
JSON_FORMAT = "kim-desktop-directory"
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:_[A-Z][a-z]{3})?(?:_(?:[A-Z]{2}|\d{3}))?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- data ------------------------------------------------------------------------------------------------


@dataclass
class ProviderData:
    name: str
    unit: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    municipality: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    opening_hours: str | None = None
    version: int | None = None  # the stored row version when loaded (optimistic locking)


@dataclass
class ContactData:
    name: str
    function: str | None = None
    phone: str | None = None
    email: str | None = None
    version: int | None = None


@dataclass
class OfferData:
    provider_id: str
    title: str
    category: str
    description: str | None = None
    languages: list[str] = field(default_factory=list)
    target_group: str | None = None
    access_conditions: str | None = None
    residence_statuses: list[str] | None = None  # None = open to every residence status
    cost: str | None = None
    municipality: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    last_checked_on: date | None = None
    version: int | None = None


@dataclass(frozen=True)
class OfferRow:
    id: str
    title: str
    category: str
    category_label: str
    provider_id: str
    provider_name: str
    municipality: str | None  # the offer's, else the provider's municipality or town
    languages: list[str]
    residence_statuses: list[str] | None
    access_conditions: str | None
    cost: str | None
    valid_from: date | None
    valid_until: date | None
    last_checked_on: date | None
    expired: bool


@dataclass(frozen=True)
class ContactRow:
    id: str
    name: str
    function: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class ProviderRow:
    id: str
    name: str
    unit: str | None
    street: str | None
    postcode: str | None
    city: str | None
    municipality: str | None
    phone: str | None
    email: str | None
    website: str | None
    opening_hours: str | None
    offer_count: int
    version: int

    @property
    def address_lines(self) -> list[str]:
        """The provider's address for a letter window."""
        lines = [self.name]
        if self.unit:
            lines.append(self.unit)
        if self.street:
            lines.append(self.street)
        place = f"{self.postcode or ''} {self.city or ''}".strip()
        if place:
            lines.append(place)
        return lines


@dataclass(frozen=True)
class OfferDetail:
    row: OfferRow
    description: str | None
    target_group: str | None
    provider: ProviderRow
    contacts: list[ContactRow]
    residence_status_labels: list[str]
    referral_count: int
    version: int


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    providers_created: int = 0
    providers_updated: int = 0
    offers_created: int = 0
    offers_updated: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class DirectoryImportError(UserError):
    """The import stored nothing; ``report.errors`` lists every broken row (line number, German message)."""

    def __init__(self, report: ImportReport) -> None:
        first = report.errors[0]
        count = ngettext("{n} fehlerhafter Eintrag", "{n} fehlerhafte Einträge", len(report.errors)).format(
            n=len(report.errors)
        )
        message = _(
            "Import abgebrochen, nichts wurde übernommen: {count}. Erster Fehler (Nr. {line}): {text}"
        ).format(count=count, line=first[0], text=first[1])
        super().__init__(message, details=report.errors)
        self.report = report


# --- helpers ---------------------------------------------------------------------------------------------


def _require_write(ctx: ServiceContext) -> None:
    require(ctx.actor, "directory.write")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def name_key(name: str | None) -> str:
    """Names compared ignoring case and spaces ("Bildungswerk e. V." = "bildungswerk e.V.")."""
    return re.sub(r"\s+", "", (name or "")).casefold()


def same_provider(name_a, postcode_a, city_a, name_b, postcode_b, city_b) -> bool:
    """Same name (case and spaces ignored) and places that do not contradict each other."""
    if name_key(name_a) != name_key(name_b):
        return False
    pa, pb = name_key(postcode_a), name_key(postcode_b)
    if pa and pb:
        return pa == pb
    ca, cb = name_key(city_a), name_key(city_b)
    if ca and cb:
        return ca == cb
    return True


def _fold(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def category_labels(session, *, active_only: bool = False) -> dict[str, str]:
    from .codes import code_labels

    return code_labels(session, "offer_category", active_only=active_only)


def _residence_codes(session) -> set[str]:
    return set(session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == "residence_status")))


def resolve_category(session, value: str | None) -> str | None:
    """A category code from its code or its German/English label (case-insensitive); None if unknown."""
    if value is None or not str(value).strip():
        return None
    wanted = _fold(str(value))
    rows = session.execute(
        select(CodeEntry.code, CodeEntry.label_de, CodeEntry.label_en).where(
            CodeEntry.list_name == "offer_category"
        )
    ).all()
    for code, _de, _en in rows:
        if _fold(code) == wanted:
            return code
    for code, de, en in rows:
        if wanted in (_fold(de), _fold(en)):
            return code
    return None


def normalize_languages(values) -> list[str]:
    from .office_hours import normalize_language

    result: list[str] = []
    for value in values or []:
        code = normalize_language(value)
        if code and code not in result:
            result.append(code)
    return result


def _same_language(wanted: str, offered: list[str]) -> bool:
    """Does an offer in ``offered`` serve a speaker of ``wanted``? Regional variants count (fa ≈ fa_AF)."""
    base = wanted.split("_")[0]
    return any(code == wanted or code.split("_")[0] == base for code in offered)


# --- validation --------------------------------------------------------------------------------------------


def _clean_provider(data: ProviderData) -> ProviderData:
    for name in ("name", "unit", "street", "postcode", "city", "municipality", "phone", "email", "website",
                 "opening_hours"):  # fmt: skip
        setattr(data, name, _text(getattr(data, name)))
    if data.name:
        data.name = " ".join(data.name.split())
    return data


_PROVIDER_LIMITS = {"name": 300, "unit": 300, "street": 200, "postcode": 10, "city": 200, "municipality": 200,
                    "phone": 60, "email": 200, "website": 300}  # fmt: skip


def validate_provider(data: ProviderData) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.name:
        errors["name"] = _("Bitte den Namen des Trägers angeben.")
    for name, limit in _PROVIDER_LIMITS.items():
        value = getattr(data, name)
        if value and len(value) > limit and name not in errors:
            errors[name] = _("Die Angabe „{field}“ darf höchstens {n} Zeichen lang sein.").format(
                field=_provider_field_label(name), n=limit
            )
    if data.email and "email" not in errors and not _EMAIL.match(data.email):
        errors["email"] = _("Die E-Mail-Adresse ist ungültig.")
    if data.opening_hours and len(data.opening_hours) > 2000:
        errors["opening_hours"] = _("Die Öffnungszeiten dürfen höchstens 2000 Zeichen lang sein.")
    return errors


def _provider_field_label(name: str) -> str:
    return {
        "name": _("Name"), "unit": _("Abteilung/Einrichtung"), "street": _("Straße"), "postcode": _("PLZ"),
        "city": _("Ort"), "municipality": _("Kommune"), "phone": _("Telefon"), "email": _("E-Mail"),
        "website": _("Website"), "title": _("Titel"), "cost": _("Kosten"),
    }.get(name, name)  # fmt: skip


def _clean_offer(data: OfferData) -> OfferData:
    for name in (
        "title",
        "category",
        "description",
        "target_group",
        "access_conditions",
        "cost",
        "municipality",
    ):
        setattr(data, name, _text(getattr(data, name)))
    if data.title:
        data.title = " ".join(data.title.split())
    data.languages = [str(v).strip() for v in (data.languages or []) if v is not None and str(v).strip()]
    if data.residence_statuses is not None:
        statuses = [str(v).strip() for v in data.residence_statuses if v is not None and str(v).strip()]
        data.residence_statuses = list(dict.fromkeys(statuses)) or None
    return data


def validate_offer(session, data: OfferData, *, check_provider: bool = True) -> dict[str, str]:
    from .office_hours import normalize_language

    errors: dict[str, str] = {}
    if check_provider:
        provider = session.get(Provider, data.provider_id) if data.provider_id else None
        if provider is None or provider.deleted_at is not None:
            errors["provider_id"] = _("Bitte einen Träger aus dem Verzeichnis wählen.")
    if not data.title:
        errors["title"] = _("Bitte den Titel des Angebots angeben.")
    elif len(data.title) > 300:
        errors["title"] = _("Der Titel darf höchstens 300 Zeichen lang sein.")
    if not data.category:
        errors["category"] = _("Bitte eine Kategorie wählen.")
    else:
        code = resolve_category(session, data.category)
        if code is None:
            errors["category"] = _("Die Kategorie „{value}“ gibt es nicht. Bekannt sind: {known}.").format(
                value=data.category[:60], known=", ".join(category_labels(session))
            )
        else:
            data.category = code
    bad = [v for v in data.languages if not _LANGUAGE_CODE.match(normalize_language(v) or "")]
    if bad:
        errors["languages"] = _(
            "Unbekannter Sprachcode „{code}“ (bitte ISO-Codes wie de, ar, fa_AF)."
        ).format(code=bad[0][:20])
    else:
        data.languages = normalize_languages(data.languages)
    if data.residence_statuses:
        known = _residence_codes(session)
        unknown = [v for v in data.residence_statuses if v not in known]
        if unknown:
            errors["residence_statuses"] = _(
                "Den Aufenthaltsstatus „{code}“ gibt es nicht in der Liste."
            ).format(code=unknown[0][:60])
    if data.cost and len(data.cost) > 200:
        errors["cost"] = _("Die Angabe zu den Kosten darf höchstens 200 Zeichen lang sein.")
    if data.municipality and len(data.municipality) > 200:
        errors["municipality"] = _("Die Kommune darf höchstens 200 Zeichen lang sein.")
    for name in ("valid_from", "valid_until", "last_checked_on"):
        value = getattr(data, name)
        if value is not None and not isinstance(value, date):
            errors[name] = _("Bitte ein Datum angeben (TT.MM.JJJJ).")
    if (
        isinstance(data.valid_from, date)
        and isinstance(data.valid_until, date)
        and data.valid_until < data.valid_from
    ):
        errors["valid_until"] = _("„Gültig bis“ liegt vor „gültig ab“. Bitte die Daten prüfen.")
    if isinstance(data.last_checked_on, date) and data.last_checked_on > date.today():
        errors["last_checked_on"] = _("„Zuletzt geprüft am“ kann nicht in der Zukunft liegen.")
    return errors


# --- providers -----------------------------------------------------------------------------------------------


def find_same_provider(session, data: ProviderData, *, exclude_id: str | None = None) -> Provider | None:
    key = name_key(data.name)
    for row in session.scalars(select(Provider).where(Provider.deleted_at.is_(None))):
        if row.id == exclude_id or name_key(row.name) != key:
            continue
        if same_provider(row.name, row.postcode, row.city, data.name, data.postcode, data.city):
            return row
    return None


def _duplicate_message(row: Provider) -> str:
    place = " ".join(p for p in (row.postcode, row.city) if p)
    return _(
        "Diesen Träger gibt es schon im Verzeichnis: „{name}“{place}. Bitte den vorhandenen Eintrag bearbeiten."
    ).format(name=row.name, place=f" ({place})" if place else "")


def _apply_provider(row: Provider, data: ProviderData) -> None:
    for name in ("name", "unit", "street", "postcode", "city", "municipality", "phone", "email", "website",
                 "opening_hours"):  # fmt: skip
        setattr(row, name, getattr(data, name))


def _load_provider(session, provider_id: str) -> Provider:
    row = session.get(Provider, provider_id) if provider_id else None
    if row is None or row.deleted_at is not None:
        raise NotFoundError(_("Diesen Träger gibt es nicht (mehr)."))
    return row


def _check_version(row, expected: int | None, what: str) -> None:
    if expected is not None and row.version != expected:
        raise ConflictError(
            _(
                "{what} wurde inzwischen von jemand anderem geändert. Bitte neu laden und erneut ändern."
            ).format(what=what)
        )


def save_provider(ctx: ServiceContext, data: ProviderData, provider_id: str | None = None) -> str:
    """Create (``provider_id`` None) or update a provider; the same provider twice is refused."""
    _require_write(ctx)
    data = _clean_provider(data)
    errors = validate_provider(data)
    if errors:
        raise ValidationError(errors)
    with ctx.write() as session:
        row = _load_provider(session, provider_id) if provider_id else Provider()
        if provider_id:
            _check_version(row, data.version, _("Der Träger"))
        other = find_same_provider(session, data, exclude_id=provider_id)
        if other is not None:
            raise UserError(_duplicate_message(other), details={"provider_id": other.id})
        _apply_provider(row, data)
        if not provider_id:
            session.add(row)
        session.flush()
        audit.record(session, "update" if provider_id else "create", entity_type="provider", entity_id=row.id)
        return row.id


def delete_provider(ctx: ServiceContext, provider_id: str) -> None:
    """Remove a provider without offers (soft delete); one that still has offers is refused."""
    _require_write(ctx)
    with ctx.write() as session:
        row = _load_provider(session, provider_id)
        offers = session.scalar(
            select(func.count())
            .select_from(Offer)
            .where(Offer.provider_id == provider_id, Offer.deleted_at.is_(None))
        )
        if offers:
            raise UserError(
                ngettext(
                    "Der Träger hat noch {n} Angebot. Bitte zuerst das Angebot löschen.",
                    "Der Träger hat noch {n} Angebote. Bitte zuerst die Angebote löschen.",
                    offers,
                ).format(n=offers)
            )
        row.deleted_at = utcnow()
        audit.record(session, "delete", entity_type="provider", entity_id=row.id)


def provider_data(session, provider_id: str) -> ProviderData:
    row = _load_provider(session, provider_id)
    return ProviderData(
        name=row.name, unit=row.unit, street=row.street, postcode=row.postcode, city=row.city,
        municipality=row.municipality, phone=row.phone, email=row.email, website=row.website,
        opening_hours=row.opening_hours, version=row.version,
    )  # fmt: skip


def _provider_row(row: Provider, offer_count: int = 0) -> ProviderRow:
    return ProviderRow(
        row.id, row.name, row.unit, row.street, row.postcode, row.city, row.municipality, row.phone, row.email,
        row.website, row.opening_hours, offer_count, row.version,
    )  # fmt: skip


def providers(session, *, text: str | None = None) -> list[ProviderRow]:
    """All providers (alphabetical), with their number of offers; ``text`` filters by name or place."""
    counts = dict(
        session.execute(
            select(Offer.provider_id, func.count())
            .where(Offer.deleted_at.is_(None))
            .group_by(Offer.provider_id)
        ).all()
    )
    rows = session.scalars(select(Provider).where(Provider.deleted_at.is_(None))).all()
    wanted = _fold(text)
    result = [
        _provider_row(r, counts.get(r.id, 0))
        for r in rows
        if not wanted or wanted in _fold(" ".join(p for p in (r.name, r.unit, r.city, r.municipality) if p))
    ]
    return sorted(result, key=lambda r: (_fold(r.name), _fold(r.city)))


def provider_detail(session, provider_id: str) -> tuple[ProviderRow, list[ContactRow], list[OfferRow]]:
    row = _load_provider(session, provider_id)
    offers = search_offers(session, provider_id=provider_id, include_expired=True, limit=10_000)
    return _provider_row(row, len(offers)), contacts(session, provider_id), offers


# --- contacts ------------------------------------------------------------------------------------------------


def contacts(session, provider_id: str) -> list[ContactRow]:
    return [
        ContactRow(c.id, c.name, c.function, c.phone, c.email)
        for c in session.scalars(
            select(ProviderContact)
            .where(ProviderContact.provider_id == provider_id, ProviderContact.deleted_at.is_(None))
            .order_by(ProviderContact.name)
        )
    ]


def _validate_contact(data: ContactData) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.name:
        errors["name"] = _("Bitte den Namen der Ansprechperson angeben.")
    elif len(data.name) > 200:
        errors["name"] = _("Der Name darf höchstens 200 Zeichen lang sein.")
    if data.function and len(data.function) > 200:
        errors["function"] = _("Die Funktion darf höchstens 200 Zeichen lang sein.")
    if data.phone and len(data.phone) > 60:
        errors["phone"] = _("Die Telefonnummer darf höchstens 60 Zeichen lang sein.")
    if data.email and (len(data.email) > 200 or not _EMAIL.match(data.email)):
        errors["email"] = _("Die E-Mail-Adresse ist ungültig.")
    return errors


def save_contact(
    ctx: ServiceContext, provider_id: str, data: ContactData, contact_id: str | None = None
) -> str:
    """Create or update a contact person of a provider."""
    _require_write(ctx)
    for name in ("name", "function", "phone", "email"):
        setattr(data, name, _text(getattr(data, name)))
    errors = _validate_contact(data)
    if errors:
        raise ValidationError(errors)
    with ctx.write() as session:
        _load_provider(session, provider_id)
        if contact_id:
            row = session.get(ProviderContact, contact_id)
            if row is None or row.deleted_at is not None or row.provider_id != provider_id:
                raise NotFoundError(_("Diese Ansprechperson gibt es nicht (mehr)."))
            _check_version(row, data.version, _("Die Ansprechperson"))
        else:
            row = ProviderContact(provider_id=provider_id)
            session.add(row)
        row.name, row.function, row.phone, row.email = data.name, data.function, data.phone, data.email
        session.flush()
        audit.record(
            session, "update" if contact_id else "create", entity_type="provider_contact", entity_id=row.id,
            detail={"provider_id": provider_id},
        )  # fmt: skip
        return row.id


def delete_contact(ctx: ServiceContext, contact_id: str) -> None:
    _require_write(ctx)
    with ctx.write() as session:
        row = session.get(ProviderContact, contact_id)
        if row is None or row.deleted_at is not None:
            raise NotFoundError(_("Diese Ansprechperson gibt es nicht (mehr)."))
        row.deleted_at = utcnow()
        audit.record(session, "delete", entity_type="provider_contact", entity_id=row.id,
                     detail={"provider_id": row.provider_id})  # fmt: skip


# --- offers --------------------------------------------------------------------------------------------------


def _apply_offer(row: Offer, data: OfferData) -> None:
    for name in ("provider_id", "title", "category", "description", "target_group", "access_conditions", "cost",
                 "municipality", "valid_from", "valid_until", "last_checked_on"):  # fmt: skip
        setattr(row, name, getattr(data, name))
    row.languages = list(data.languages)
    row.residence_statuses = list(data.residence_statuses) if data.residence_statuses else None


def _load_offer(session, offer_id: str) -> Offer:
    row = session.get(Offer, offer_id) if offer_id else None
    if row is None or row.deleted_at is not None:
        raise NotFoundError(_("Dieses Angebot gibt es nicht (mehr)."))
    return row


def _same_offer(session, provider_id: str, title: str, exclude_id: str | None) -> str | None:
    key = name_key(title)
    for offer_id, other in session.execute(
        select(Offer.id, Offer.title).where(Offer.provider_id == provider_id, Offer.deleted_at.is_(None))
    ):
        if offer_id != exclude_id and name_key(other) == key:
            return offer_id
    return None


def save_offer(ctx: ServiceContext, data: OfferData, offer_id: str | None = None) -> str:
    """Create (``offer_id`` None) or update an offer. A provider cannot have two offers with the same title."""
    _require_write(ctx)
    data = _clean_offer(data)
    with ctx.write() as session:
        errors = validate_offer(session, data)
        if errors:
            raise ValidationError(errors)
        row = _load_offer(session, offer_id) if offer_id else Offer()
        if offer_id:
            _check_version(row, data.version, _("Das Angebot"))
        if _same_offer(session, data.provider_id, data.title, offer_id):
            raise ValidationError(
                {
                    "title": _(
                        "Dieser Träger hat schon ein Angebot mit diesem Titel. Bitte das vorhandene bearbeiten."
                    )
                }
            )
        _apply_offer(row, data)
        if not offer_id:
            session.add(row)
        session.flush()
        audit.record(session, "update" if offer_id else "create", entity_type="offer", entity_id=row.id,
                     detail={"provider_id": row.provider_id})  # fmt: skip
        return row.id


def delete_offer(ctx: ServiceContext, offer_id: str) -> None:
    """Remove an offer from the directory (soft delete: referrals to it keep their title)."""
    _require_write(ctx)
    with ctx.write() as session:
        row = _load_offer(session, offer_id)
        row.deleted_at = utcnow()
        audit.record(session, "delete", entity_type="offer", entity_id=row.id)


def mark_checked(ctx: ServiceContext, offer_id: str, on: date | None = None) -> None:
    """ "Zuletzt geprüft am" = ``on`` (today)."""
    _require_write(ctx)
    on = on or date.today()
    if on > date.today():
        raise UserError(_("„Zuletzt geprüft am“ kann nicht in der Zukunft liegen."))
    with ctx.write() as session:
        row = _load_offer(session, offer_id)
        row.last_checked_on = on
        audit.record(
            session, "update", entity_type="offer", entity_id=row.id, detail={"field": "last_checked_on"}
        )


def offer_data(session, offer_id: str) -> OfferData:
    row = _load_offer(session, offer_id)
    return OfferData(
        provider_id=row.provider_id, title=row.title, category=row.category, description=row.description,
        languages=list(row.languages or []), target_group=row.target_group, access_conditions=row.access_conditions,
        residence_statuses=list(row.residence_statuses) if row.residence_statuses else None, cost=row.cost,
        municipality=row.municipality, valid_from=row.valid_from, valid_until=row.valid_until,
        last_checked_on=row.last_checked_on, version=row.version,
    )  # fmt: skip


def is_expired(valid_until: date | None, today: date | None = None) -> bool:
    return valid_until is not None and valid_until < (today or date.today())


def _raw(column):
    """The column without SQLAlchemy's result processing: JSON and dates are decoded only for the rows shown."""
    return type_coerce(column, String)


_OFFER_COLUMNS = (
    Offer.id, Offer.title, Offer.category, Offer.provider_id, Provider.name, Offer.municipality,
    Provider.municipality, Provider.city, _raw(Offer.languages), _raw(Offer.residence_statuses),
    Offer.access_conditions, Offer.cost, _raw(Offer.valid_from), _raw(Offer.valid_until),
    _raw(Offer.last_checked_on), Offer.description, Offer.target_group, Provider.unit,
)  # fmt: skip


def _as_list(value) -> list | None:
    """A JSON list as SQLite (text) or PostgreSQL (already decoded) returns it."""
    if value is None or isinstance(value, list):
        return value
    decoded = json.loads(value)
    return decoded if isinstance(decoded, list) else None


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def search_offers(
    session,
    *,
    text: str | None = None,
    category: str | None = None,
    municipality: str | None = None,
    language: str | None = None,
    residence_status: str | None = None,
    provider_id: str | None = None,
    include_expired: bool = False,
    today: date | None = None,
    limit: int = 200,
) -> list[OfferRow]:
    """Offers matching every given filter, sorted by title.

    ``text`` matches title, description, target group, access conditions and the provider's name (case-
    insensitive, every word); ``category`` is a code or a label (unknown → ``UserError``); ``municipality``
    the offer's municipality, else its provider's municipality or town; ``language`` also finds regional
    variants (fa ≈ fa_AF); ``residence_status`` finds offers open to that status (or to all).
    """
    from .office_hours import normalize_language

    today = today or date.today()
    stmt = (
        select(*_OFFER_COLUMNS)
        .join(Provider, Provider.id == Offer.provider_id)
        .where(Offer.deleted_at.is_(None), Provider.deleted_at.is_(None))
    )
    if category:
        code = resolve_category(session, category)
        if code is None:
            raise UserError(
                _("Die Kategorie „{value}“ gibt es nicht. Bekannt sind: {known}.").format(
                    value=str(category)[:60], known=", ".join(category_labels(session))
                )
            )
        stmt = stmt.where(Offer.category == code)
    if provider_id:
        stmt = stmt.where(Offer.provider_id == provider_id)
    if not include_expired:
        stmt = stmt.where(Offer.valid_until.is_(None) | (Offer.valid_until >= today))
    wanted_language = normalize_language(language) if language else None
    if wanted_language:  # prefilter on the JSON text; checked exactly below
        stmt = stmt.where(cast(Offer.languages, String).like(f'%"{wanted_language.split("_")[0]}%'))
    if residence_status:
        stmt = stmt.where(
            Offer.residence_statuses.is_(None)
            | (cast(Offer.residence_statuses, String) == "null")
            | cast(Offer.residence_statuses, String).like(f'%"{residence_status}"%')
        )
    words = _fold(text).split() if text else []
    place = _fold(municipality) if municipality else ""
    hits = []
    # Core execution (no ORM row processing); up to all 2,000 offers pass here when nothing is filtered.
    for row in session.connection().execute(stmt):
        (id_, title, _cat, _prov, prov_name, muni, prov_muni, prov_city, langs, statuses, access, cost, _from,
         _until, _checked, description, target, unit) = row  # fmt: skip
        if wanted_language and not _same_language(wanted_language, _as_list(langs) or []):
            continue
        if residence_status and statuses is not None:
            decoded = _as_list(statuses)
            if decoded and residence_status not in decoded:
                continue
        if place and _fold(muni or prov_muni or prov_city) != place:
            continue
        if words:
            haystack = " ".join(
                p for p in (title, description, target, access, prov_name, unit, cost) if p
            ).casefold()
            if not all(w in haystack for w in words):
                continue
        hits.append(((title.casefold(), prov_name.casefold(), id_), row))
    hits.sort(key=lambda hit: hit[0])
    labels = category_labels(session)
    result: list[OfferRow] = []
    for _key, row in hits[:limit]:
        (id_, title, cat, prov_id, prov_name, muni, prov_muni, prov_city, langs, statuses, access, cost, valid_from,
         valid_until, checked, _description, _target, _unit) = row  # fmt: skip
        until = _as_date(valid_until)
        result.append(
            OfferRow(
                id_,
                title,
                cat,
                labels.get(cat, cat),
                prov_id,
                prov_name,
                muni or prov_muni or prov_city,
                list(_as_list(langs) or []),
                _as_list(statuses) or None,
                access,
                cost,
                _as_date(valid_from),
                until,
                _as_date(checked),
                is_expired(until, today),
            )  # fmt: skip
        )
    return result


def offer_detail(session, offer_id: str, *, today: date | None = None) -> OfferDetail:
    from .codes import code_labels

    row = _load_offer(session, offer_id)
    provider = session.get(Provider, row.provider_id)
    labels = category_labels(session)
    statuses = code_labels(session, "residence_status")
    referral_count = session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(Referral.offer_id == offer_id, Referral.deleted_at.is_(None))
    )
    offer_row = OfferRow(
        row.id, row.title, row.category, labels.get(row.category, row.category), row.provider_id, provider.name,
        row.municipality or provider.municipality or provider.city, list(row.languages or []),
        list(row.residence_statuses) if row.residence_statuses else None, row.access_conditions, row.cost,
        row.valid_from, row.valid_until, row.last_checked_on, is_expired(row.valid_until, today),
    )  # fmt: skip
    return OfferDetail(
        offer_row, row.description, row.target_group, _provider_row(provider), contacts(session, provider.id),
        [statuses.get(c, c) for c in (row.residence_statuses or [])], referral_count or 0, row.version,
    )  # fmt: skip


# --- export and import ---------------------------------------------------------------------------------------

PROVIDER_FIELDS = ("name", "unit", "street", "postcode", "city", "municipality", "phone", "email", "website",
                   "opening_hours")  # fmt: skip
OFFER_FIELDS = ("title", "category", "description", "languages", "target_group", "access_conditions",
                "residence_statuses", "cost", "municipality", "valid_from", "valid_until", "last_checked_on")  # fmt: skip
CSV_COLUMNS = tuple(f"provider_{f}" for f in PROVIDER_FIELDS) + tuple(f"offer_{f}" for f in OFFER_FIELDS)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _export_tree(session) -> list[dict[str, Any]]:
    tree = []
    offers_by_provider: dict[str, list[Offer]] = {}
    for offer in session.scalars(select(Offer).where(Offer.deleted_at.is_(None))):
        offers_by_provider.setdefault(offer.provider_id, []).append(offer)
    contacts_by_provider: dict[str, list[ProviderContact]] = {}
    for contact in session.scalars(select(ProviderContact).where(ProviderContact.deleted_at.is_(None))):
        contacts_by_provider.setdefault(contact.provider_id, []).append(contact)
    for provider in session.scalars(select(Provider).where(Provider.deleted_at.is_(None))):
        item: dict[str, Any] = {f: getattr(provider, f) for f in PROVIDER_FIELDS}
        item["contacts"] = [
            {"name": c.name, "function": c.function, "phone": c.phone, "email": c.email}
            for c in sorted(contacts_by_provider.get(provider.id, []), key=lambda c: _fold(c.name))
        ]
        item["offers"] = [
            {
                "title": o.title,
                "category": o.category,
                "description": o.description,
                "languages": list(o.languages or []),
                "target_group": o.target_group,
                "access_conditions": o.access_conditions,
                "residence_statuses": list(o.residence_statuses) if o.residence_statuses else None,
                "cost": o.cost,
                "municipality": o.municipality,
                "valid_from": _iso(o.valid_from),
                "valid_until": _iso(o.valid_until),
                "last_checked_on": _iso(o.last_checked_on),
            }  # fmt: skip
            for o in sorted(offers_by_provider.get(provider.id, []), key=lambda o: _fold(o.title))
        ]
        tree.append(item)
    tree.sort(key=lambda p: (_fold(p["name"]), _fold(p["city"])))
    return tree


def export_directory(session, fmt: str = "csv") -> bytes:
    """The whole directory as CSV (UTF-8 with BOM, ``;``, one row per offer) or JSON (with contacts)."""
    if fmt not in FORMATS:
        raise UserError(_("Unbekanntes Format „{fmt}“: bitte csv oder json.").format(fmt=str(fmt)[:10]))
    tree = _export_tree(session)
    if fmt == "json":
        payload = {
            "format": JSON_FORMAT,
            "version": 1,
            "exported_on": date.today().isoformat(),
            "providers": tree,
        }
        return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for provider in tree:
        head = [provider[f] or "" for f in PROVIDER_FIELDS]
        for offer in provider["offers"] or [None]:
            if offer is None:
                writer.writerow(head + [""] * len(OFFER_FIELDS))
                continue
            tail = []
            for f in OFFER_FIELDS:
                value = offer[f]
                if f in ("languages", "residence_statuses"):
                    value = ",".join(value or [])
                tail.append(value or "")
            writer.writerow(head + tail)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_directory_logged(ctx: ServiceContext, fmt: str = "csv") -> bytes:
    """:func:`export_directory`, logged as an export (the directory names providers' contact persons)."""
    with ctx.write() as session:
        data = export_directory(session, fmt)
        audit.record(session, "export", entity_type="directory", detail={"format": fmt, "bytes": len(data)})
        return data


def _parse_day(value: Any) -> date:
    """ISO (2026-03-14) or German (14.03.2026) date; ValueError otherwise."""
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if match:
        return date(int(match[3]), int(match[2]), int(match[1]))
    raise ValueError(text)


def _split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [p.strip() for p in re.split(r"[,|]", str(value)) if p.strip()]


@dataclass
class _Parsed:
    number: int  # CSV line number or 1-based position in the JSON list
    provider: ProviderData
    contacts: list[ContactData] = field(default_factory=list)
    offers: list[tuple[int, OfferData]] = field(default_factory=list)  # (line number, offer)


def _offer_from(values: dict[str, Any]) -> tuple[OfferData, list[str]]:
    """An OfferData from raw values; date problems as messages (the rest is checked by validate_offer)."""
    problems: list[str] = []
    dates: dict[str, date | None] = {}
    for name in ("valid_from", "valid_until", "last_checked_on"):
        raw = values.get(name)
        if raw is None or not str(raw).strip():
            dates[name] = None
            continue
        try:
            dates[name] = _parse_day(raw)
        except ValueError:
            problems.append(
                _("„{value}“ ist kein Datum (bitte JJJJ-MM-TT oder TT.MM.JJJJ).").format(value=str(raw)[:20])
            )
            dates[name] = None
    statuses = _split_list(values.get("residence_statuses"))
    data = OfferData(
        provider_id="", title=_text(values.get("title")) or "", category=_text(values.get("category")) or "",
        description=_text(values.get("description")), languages=_split_list(values.get("languages")),
        target_group=_text(values.get("target_group")), access_conditions=_text(values.get("access_conditions")),
        residence_statuses=statuses or None, cost=_text(values.get("cost")),
        municipality=_text(values.get("municipality")), **dates,
    )  # fmt: skip
    return data, problems


def _provider_from(values: dict[str, Any]) -> ProviderData:
    return _clean_provider(ProviderData(**{f: _text(values.get(f)) for f in PROVIDER_FIELDS}))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's "CSV" on German Windows


def _parse_csv(data: bytes, errors: list[tuple[int, str]]) -> list[_Parsed]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise UserError(_("Die Datei ist leer oder keine CSV-Datei.")) from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in ("provider_name", "offer_title", "offer_category") if c not in header]
    if missing:
        raise UserError(
            _("Die CSV-Datei hat nicht die erwarteten Spalten (es fehlt: {columns}). Bitte eine Datei aus dem Export "
              "von KIM Desktop als Vorlage nehmen.").format(columns=", ".join(missing))
        )  # fmt: skip
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if unknown:
        raise UserError(_("Unbekannte Spalte „{column}“ in der CSV-Datei.").format(column=unknown[0][:40]))
    parsed: list[_Parsed] = []
    line = 2
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            errors.append((line, _("Die Zeile ist keine gültige CSV-Zeile (Anführungszeichen prüfen).")))
            break
        this_line, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            errors.append((this_line, _("Die Zeile hat mehr Spalten als die Kopfzeile.")))
            continue
        row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        provider = _provider_from({f: row.get(f"provider_{f}") for f in PROVIDER_FIELDS})
        problems = [f"{v}" for v in validate_provider(provider).values()]
        if problems:
            errors.append((this_line, _("Träger: {problem}").format(problem=problems[0])))
            continue
        entry = next((p for p in parsed if same_provider(p.provider.name, p.provider.postcode, p.provider.city,
                                                         provider.name, provider.postcode, provider.city)), None)  # fmt: skip
        if entry is None:
            entry = _Parsed(this_line, provider)
            parsed.append(entry)
        elif asdict(entry.provider) != asdict(provider):
            errors.append((this_line, _(
                "Der Träger „{name}“ steht mehrfach in der Datei, mit anderen Angaben als in Zeile {line}. Bitte "
                "die Angaben angleichen.").format(name=provider.name, line=entry.number)))  # fmt: skip
            continue
        offer_values = {f: row.get(f"offer_{f}") for f in OFFER_FIELDS}
        if not any((v or "").strip() for v in offer_values.values()):
            continue  # a provider without offers
        offer, problems = _offer_from(offer_values)
        if problems:
            errors.append((this_line, problems[0]))
            continue
        entry.offers.append((this_line, offer))
    return parsed


def _parse_json(data: bytes, errors: list[tuple[int, str]]) -> list[_Parsed]:
    try:
        payload = json.loads(_decode(data))
    except (json.JSONDecodeError, ValueError):
        raise UserError(_("Die Datei ist kein gültiges JSON.")) from None
    items = payload.get("providers") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise UserError(
            _("Die JSON-Datei enthält keine Liste „providers“ (Export von KIM Desktop als Vorlage nehmen).")
        )
    parsed: list[_Parsed] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append((number, _("Der Eintrag ist kein Träger-Objekt.")))
            continue
        provider = _provider_from(item)
        problems = list(validate_provider(provider).values())
        if problems:
            errors.append((number, _("Träger: {problem}").format(problem=problems[0])))
            continue
        twin = next((p for p in parsed if same_provider(p.provider.name, p.provider.postcode, p.provider.city,
                                                        provider.name, provider.postcode, provider.city)), None)  # fmt: skip
        if twin is not None:
            errors.append((number, _("Der Träger „{name}“ steht schon als Eintrag {other} in der Datei.").format(
                name=provider.name, other=twin.number)))  # fmt: skip
            continue
        entry = _Parsed(number, provider)
        for c_index, contact in enumerate(item.get("contacts") or [], start=1):
            if not isinstance(contact, dict):
                errors.append((number, _("Ansprechperson {n}: kein gültiger Eintrag.").format(n=c_index)))
                continue
            c = ContactData(**{k: _text(contact.get(k)) for k in ("name", "function", "phone", "email")})
            problems = list(_validate_contact(c).values())
            if problems:
                errors.append(
                    (number, _("Ansprechperson {n}: {problem}").format(n=c_index, problem=problems[0]))
                )
                continue
            entry.contacts.append(c)
        offers = item.get("offers") or []
        if not isinstance(offers, list):
            errors.append((number, _("„offers“ muss eine Liste sein.")))
            offers = []
        for o_index, values in enumerate(offers, start=1):
            if not isinstance(values, dict):
                errors.append((number, _("Angebot {n}: kein gültiger Eintrag.").format(n=o_index)))
                continue
            offer, problems = _offer_from(values)
            if problems:
                errors.append((number, _("Angebot {n}: {problem}").format(n=o_index, problem=problems[0])))
                continue
            entry.offers.append((o_index, offer))
        parsed.append(entry)
    return parsed


def import_directory(ctx: ServiceContext, data: bytes, fmt: str = "csv") -> ImportReport:
    """Import providers (with contacts) and offers; all or nothing.

    Providers are matched by name and place (:func:`same_provider`), offers by provider and title, so
    importing the same file again updates instead of duplicating. Any broken row, unknown category or
    residence status, or a provider twice in the file: nothing is stored and ``DirectoryImportError`` lists
    every problem with its line number (CSV, header = line 1) or position (JSON, first provider = 1).
    """
    _require_write(ctx)
    if fmt not in FORMATS:
        raise UserError(_("Unbekanntes Format „{fmt}“: bitte csv oder json.").format(fmt=str(fmt)[:10]))
    if len(data) > MAX_IMPORT_BYTES:
        raise UserError(_("Die Datei ist zu groß (höchstens 20 MB)."))
    report = ImportReport()
    parsed = _parse_csv(data, report.errors) if fmt == "csv" else _parse_json(data, report.errors)
    with ctx.write() as session:
        seen_offers: dict[tuple[int, str], int] = {}
        for entry in parsed:
            for number, offer in entry.offers:
                line = number if fmt == "csv" else entry.number
                prefix = "" if fmt == "csv" else _("Angebot {n}: ").format(n=number)
                offer = _clean_offer(offer)
                problems = list(validate_offer(session, offer, check_provider=False).values())
                if problems:
                    report.errors.append((line, prefix + problems[0]))
                    continue
                key = (id(entry), name_key(offer.title))
                if key in seen_offers:
                    report.errors.append((line, prefix + _(
                        "Das Angebot „{title}“ steht für diesen Träger schon in Nr. {other}.").format(
                        title=offer.title, other=seen_offers[key])))  # fmt: skip
                    continue
                seen_offers[key] = line
        if report.errors:
            report.errors.sort(key=lambda e: e[0])
            raise DirectoryImportError(report)
        existing = list(session.scalars(select(Provider).where(Provider.deleted_at.is_(None))))
        for entry in parsed:
            p = entry.provider
            row = next(
                (
                    r
                    for r in existing
                    if same_provider(r.name, r.postcode, r.city, p.name, p.postcode, p.city)
                ),
                None,
            )
            if row is None:
                row = Provider()
                _apply_provider(row, p)
                session.add(row)
                session.flush()
                existing.append(row)
                report.providers_created += 1
                audit.record(
                    session, "create", entity_type="provider", entity_id=row.id, detail={"import": fmt}
                )
            else:
                # Fill in and overwrite with what the file says; empty cells keep what is stored.
                changed = False
                for name in PROVIDER_FIELDS:
                    value = getattr(p, name)
                    if value is not None and getattr(row, name) != value:
                        setattr(row, name, value)
                        changed = True
                if changed:
                    report.providers_updated += 1
                    audit.record(
                        session, "update", entity_type="provider", entity_id=row.id, detail={"import": fmt}
                    )
            known_contacts = {
                name_key(c.name): c
                for c in session.scalars(
                    select(ProviderContact).where(
                        ProviderContact.provider_id == row.id, ProviderContact.deleted_at.is_(None)
                    )
                )
            }
            for c in entry.contacts:
                contact = known_contacts.get(name_key(c.name))
                if contact is None:
                    contact = ProviderContact(provider_id=row.id, name=c.name)
                    session.add(contact)
                    known_contacts[name_key(c.name)] = contact
                contact.function, contact.phone, contact.email = c.function, c.phone, c.email
            offers_by_title = {
                name_key(o.title): o
                for o in session.scalars(
                    select(Offer).where(Offer.provider_id == row.id, Offer.deleted_at.is_(None))
                )
            }
            for _number, offer in entry.offers:
                offer.provider_id = row.id
                target = offers_by_title.get(name_key(offer.title))
                if target is None:
                    target = Offer()
                    _apply_offer(target, offer)
                    session.add(target)
                    session.flush()
                    offers_by_title[name_key(offer.title)] = target
                    report.offers_created += 1
                    audit.record(
                        session, "create", entity_type="offer", entity_id=target.id, detail={"import": fmt}
                    )
                else:
                    before = offer_snapshot(target)
                    _apply_offer(target, offer)
                    if offer_snapshot(target) != before:
                        report.offers_updated += 1
                        audit.record(
                            session,
                            "update",
                            entity_type="offer",
                            entity_id=target.id,
                            detail={"import": fmt},
                        )
        report.created = report.providers_created + report.offers_created
        report.updated = report.providers_updated + report.offers_updated
        audit.record(
            session, "import", entity_type="directory",
            detail={"format": fmt, "created": report.created, "updated": report.updated},
        )  # fmt: skip
    return report


def offer_snapshot(row: Offer) -> tuple:
    return tuple(
        (list(v) if isinstance(v, list) else v)
        for v in (
            row.title,
            row.category,
            row.description,
            row.languages,
            row.target_group,
            row.access_conditions,
            row.residence_statuses,
            row.cost,
            row.municipality,
            row.valid_from,
            row.valid_until,
            row.last_checked_on,
        )  # fmt: skip
    )
