"""Locations, recurring office hours (Sprechstunden), the interpreter pool and the free-slot finder. No Qt.

- *Locations* are buildings (``office``, ``branch``, ``external``) and their rooms (``room`` with
  ``parent_id``). A building holds many appointments at once, a room holds one (see ``appointments.check``).
  Locations are never deleted, only deactivated: old appointments keep pointing at them.
- *Office hours* recur weekly (weekday, from–to) at a location, optionally for one case manager, optionally
  within a validity range. They do not happen on NRW public holidays. The calendar draws them as background
  blocks (:func:`office_hours_on`, :func:`office_hours_between`).
- The *interpreter pool* holds people with their language codes (CLDR codes, named through Babel). Removal
  goes through ``appointments.remove_interpreter``, which decides about future bookings.
- :func:`find_slots` proposes free times on a 15-minute grid: inside office hours (or 8–17 Mon–Fri), not on
  holidays, not in the past, with the case manager, the room and (if asked) an interpreter of the language
  free. Busy times are loaded once per week of the search, never once per candidate.

Times a person types or sees are office time (naive = Europe/Berlin); appointments are stored in UTC.
Every write is audited; messages name no person.

**Permissions** (``services.permissions``): office hours, the interpreter pool and the slot finder belong to
the calendar: reading needs ``appointment.read``, writing ``appointment.write`` (reception holds both).
Locations are office setup without personal data: every signed-in user may list them (the settings page and
letters need them), and creating, changing, deactivating or reactivating one needs ``appointment.write`` *or*
``settings.manage`` (so the administration can set up rooms without access to the calendar).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import func, or_, select

from ..db.base import utcnow
from ..db.models import Appointment, Case, Interpreter, Location, OfficeHours, Person, UserAccount
from ..errors import ConflictError, NotFoundError, UserError, ValidationError
from ..i18n import _, language_name, languages, ngettext, sort_key
from . import audit
from .appointments import ACTIVE_STATUSES, MAX_DURATION, MIN_DURATION, holiday_name
from .context import Actor, ServiceContext
from .dates import parse_date
from .localtime import OFFICE_TIMEZONE, as_utc, from_local, range_bounds_utc
from .permissions import PermissionDeniedError, allowed, require, require_session

GRID = timedelta(minutes=15)
MIN_OFFICE_HOURS = timedelta(minutes=15)
PLAIN_DAY = (time(8, 0), time(17, 0))  # the working day when not searching inside office hours
MAX_HORIZON_DAYS = 366
MAX_LIMIT = 200
EARLIEST_VALID, LATEST_VALID = date(2000, 1, 1), date(2100, 12, 31)

LOCATION_KINDS = ("office", "branch", "room", "external")
BUILDING_KINDS = ("office", "branch", "external")  # may hold rooms

_POSTCODE = re.compile(r"^[0-9]{5}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 /()\-.]{5,60}$")
_TIME = re.compile(r"^([01]?[0-9]|2[0-3])(?:[:.]([0-5][0-9]))?$")


def kind_labels() -> dict[str, str]:
    return {
        "office": _("Dienststelle"),
        "branch": _("Außenstelle"),
        "room": _("Raum"),
        "external": _("Externer Ort"),
    }


def weekday_names() -> list[str]:
    return [
        _("Montag"),
        _("Dienstag"),
        _("Mittwoch"),
        _("Donnerstag"),
        _("Freitag"),
        _("Samstag"),
        _("Sonntag"),
    ]


# --- small input helpers ---------------------------------------------------------------------------------------


def _coerce(data: Any, cls):
    """A data class instance from the data class itself or from a mapping (form values, CLI, JSON)."""
    if isinstance(data, cls):
        return cls(**{f.name: getattr(data, f.name) for f in fields(cls)})
    if isinstance(data, Mapping):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
    raise TypeError(f"expected {cls.__name__} or a mapping")


def _clean_text(
    value: Any, key: str, errors: dict[str, str], *, limit: int, label: str, multiline: bool = False
) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    for ch in text:
        if 0xD800 <= ord(ch) <= 0xDFFF or (
            unicodedata.category(ch) == "Cc" and not (multiline and ch in "\n\t\r")
        ):
            errors[key] = _("{label} enthält Steuerzeichen oder ungültige Zeichen.").format(label=label)
            return None
    if len(text) > limit:
        errors[key] = _("{label} darf höchstens {n} Zeichen lang sein.").format(label=label, n=limit)
        return None
    return text


def _parse_time(value: Any) -> time | None:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        match = _TIME.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2) or 0))
    return None


def _check_version(row, expected_version: int | None, what: str) -> None:
    if expected_version is not None and row.version != expected_version:
        raise ConflictError(
            _(
                "{what} wurde inzwischen von jemand anderem geändert. Bitte neu laden und erneut ändern."
            ).format(what=what)
        )


def _naive_office(moment: datetime) -> datetime:
    """An office time without zone (naive input is office time already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(OFFICE_TIMEZONE).replace(tzinfo=None)


# --- languages ---------------------------------------------------------------------------------------------------

# ISO 639-3 codes people also use, mapped to the CLDR code the office stores (see resources/codelists/languages.txt).
LANGUAGE_ALIASES = {"prs": "fa_AF", "kmr": "ku"}
_NOT_LANGUAGES = {"und", "zxx", "mul", "mis"}


@cache
def _babel_languages() -> dict[str, str]:
    from babel import Locale

    return {code: name for code, name in Locale.parse("de").languages.items() if code not in _NOT_LANGUAGES}


def normalize_language(code: str | None) -> str | None:
    """The stored form of a language code: ``fa-af`` → ``fa_AF``, ``prs`` → ``fa_AF``; None for empty."""
    if code is None:
        return None
    parts = [p for p in re.split(r"[-_]", str(code).strip()) if p]
    if not parts:
        return None
    head = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            head.append(part.title())
        elif part.isalpha():
            head.append(part.upper())
        else:
            head.append(part)
    normal = "_".join(head)
    return LANGUAGE_ALIASES.get(normal, normal)


def is_known_language(code: str | None) -> bool:
    normal = normalize_language(code)
    return normal is not None and normal in _babel_languages()


def language_label(code: str | None) -> str:
    """The language's name in the UI language (``prs`` → Dari)."""
    return language_name(normalize_language(code))


def language_options() -> list[tuple[str, str, bool]]:
    """(code, name, common) for pickers: the languages counsellors meet most first, then every other CLDR
    language, each group sorted by name in the UI language."""
    common = languages()
    result = [(code, name, True) for code, name in common.items()]
    rest = [(code, language_name(code)) for code in _babel_languages() if code not in common]
    rest.sort(key=lambda item: sort_key(item[1]))
    result += [(code, name, False) for code, name in rest]
    return result


def _language_variants(code: str) -> set[str]:
    normal = normalize_language(code) or code
    return {code, normal} | {alias for alias, target in LANGUAGE_ALIASES.items() if target == normal}


def _speaks(stored: Iterable[str] | None, variants: set[str]) -> bool:
    return any((normalize_language(c) or c) in variants or c in variants for c in (stored or []))


# --- locations -----------------------------------------------------------------------------------------------


@dataclass
class LocationData:
    name: str = ""
    kind: str = "office"
    parent_id: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class LocationRow:
    id: str
    name: str
    kind: str
    kind_label: str
    parent_id: str | None
    parent_name: str
    street: str
    postcode: str
    city: str
    active: bool
    version: int

    @property
    def label(self) -> str:
        """Rooms with their building: "Rathaus Dülmen, Raum 2.14"."""
        return f"{self.parent_name}, {self.name}" if self.parent_name else self.name

    @property
    def address(self) -> str:
        town = " ".join(p for p in (self.postcode, self.city) if p)
        return ", ".join(p for p in (self.street, town) if p)

    def to_data(self) -> LocationData:
        return LocationData(self.name, self.kind, self.parent_id, self.street or None, self.postcode or None,
                            self.city or None)  # fmt: skip


class LocationInUseError(UserError):
    """Future appointments use the location; ``count`` says how many. Deactivating with ``force`` is possible."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message, details=count)
        self.count = count


def _require_location_write(actor: Actor) -> None:
    """Locations: ``appointment.write`` or ``settings.manage`` (see the module doc)."""
    if not (allowed(actor, "appointment.write") or allowed(actor, "settings.manage")):
        raise PermissionDeniedError("appointment.write")


def list_locations(session, include_inactive: bool = False) -> list[LocationRow]:
    """Locations, each building followed by its rooms, sorted by name."""
    stmt = select(Location).where(Location.deleted_at.is_(None))
    if not include_inactive:
        stmt = stmt.where(Location.active.is_(True))
    rows = session.scalars(stmt).all()
    names = {r.id: r.name for r in rows}
    if any(r.parent_id and r.parent_id not in names for r in rows):
        names.update(dict(session.execute(select(Location.id, Location.name)).all()))
    labels = kind_labels()

    def row(loc: Location) -> LocationRow:
        return LocationRow(
            id=loc.id, name=loc.name, kind=loc.kind, kind_label=labels.get(loc.kind, loc.kind),
            parent_id=loc.parent_id, parent_name=names.get(loc.parent_id, "") if loc.parent_id else "",
            street=loc.street or "", postcode=loc.postcode or "", city=loc.city or "", active=bool(loc.active),
            version=loc.version,
        )  # fmt: skip

    by_name = sorted(rows, key=lambda r: sort_key(r.name))
    children: dict[str, list[Location]] = {}
    for loc in by_name:
        if loc.parent_id:
            children.setdefault(loc.parent_id, []).append(loc)
    result: list[LocationRow] = []
    placed: set[str] = set()
    for loc in by_name:
        if loc.parent_id is None:
            result.append(row(loc))
            placed.add(loc.id)
            for room in children.get(loc.id, []):
                result.append(row(room))
                placed.add(room.id)
    result += [row(loc) for loc in by_name if loc.id not in placed]  # rooms of a hidden (inactive) building
    return result


def _location(session, location_id: str | None) -> Location:
    row = session.get(Location, location_id) if location_id else None
    if row is None or row.deleted_at is not None:
        raise NotFoundError(_("Diesen Ort gibt es nicht (mehr)."))
    return row


def _validate_location(session, data: LocationData, location_id: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    data.name = _clean_text(data.name, "name", errors, limit=200, label=_("Der Name")) or ""
    if not data.name and "name" not in errors:
        errors["name"] = _("Bitte einen Namen für den Ort angeben.")
    data.street = _clean_text(data.street, "street", errors, limit=200, label=_("Die Straße"))
    data.city = _clean_text(data.city, "city", errors, limit=200, label=_("Der Ort"))
    data.postcode = _clean_text(data.postcode, "postcode", errors, limit=10, label=_("Die Postleitzahl"))
    if data.postcode and not _POSTCODE.match(data.postcode):
        errors["postcode"] = _("Die Postleitzahl hat fünf Ziffern (Beispiel: 48249).")
    data.parent_id = data.parent_id or None
    if data.kind not in LOCATION_KINDS:
        errors["kind"] = _("Bitte die Art des Ortes wählen ({kinds}).").format(
            kinds=", ".join(kind_labels().values())
        )
    elif data.kind == "room":
        parent = session.get(Location, data.parent_id) if data.parent_id else None
        if data.parent_id is None:
            errors["parent_id"] = _("Ein Raum gehört zu einem Gebäude: bitte das Gebäude wählen.")
        elif parent is None or parent.deleted_at is not None:
            errors["parent_id"] = _("Das gewählte Gebäude gibt es nicht (mehr).")
        elif parent.kind == "room" or parent.id == location_id:
            errors["parent_id"] = _("Ein Raum liegt in einem Gebäude, nicht in einem anderen Raum.")
        elif not parent.active:
            errors["parent_id"] = _("Das gewählte Gebäude ist deaktiviert.")
        if location_id is not None and session.scalar(
            select(func.count())
            .select_from(Location)
            .where(Location.parent_id == location_id, Location.deleted_at.is_(None))
        ):
            errors["kind"] = _("Zu diesem Ort gehören Räume; er kann deshalb selbst kein Raum sein.")
    elif data.parent_id is not None:
        errors["parent_id"] = _(
            "Nur Räume gehören zu einem Gebäude. Bitte „Raum“ als Art wählen oder kein Gebäude."
        )
    if data.name and "parent_id" not in errors:
        same = select(Location.id).where(
            func.lower(Location.name) == data.name.lower(),
            Location.deleted_at.is_(None),
            Location.active.is_(True),
            Location.parent_id.is_(None) if data.parent_id is None else Location.parent_id == data.parent_id,
        )
        if location_id is not None:
            same = same.where(Location.id != location_id)
        if session.scalar(same.limit(1)) is not None:
            errors["name"] = _("Einen Ort mit diesem Namen gibt es hier schon.")
    return errors


def save_location(
    ctx: ServiceContext, data: LocationData | Mapping, location_id: str | None = None, *,
    expected_version: int | None = None,
) -> str:  # fmt: skip
    """Create (``location_id`` None) or change a location; returns its id. Raises ``ValidationError``."""
    _require_location_write(ctx.actor)
    clean = _coerce(data, LocationData)
    with ctx.write() as session:
        row = _location(session, location_id) if location_id else None
        if row is not None:
            _check_version(row, expected_version, _("Der Ort"))
        errors = _validate_location(session, clean, location_id)
        if errors:
            raise ValidationError(errors)
        if row is None:
            row = Location(active=True)
            session.add(row)
        row.name, row.kind, row.parent_id = clean.name, clean.kind, clean.parent_id
        row.street, row.postcode, row.city = clean.street, clean.postcode, clean.city
        session.flush()
        audit.record(session, "update" if location_id else "create", entity_type="location", entity_id=row.id)
        return row.id


def future_appointments_at(session, location_id: str, now: datetime | None = None) -> int:
    """Active appointments from ``now`` on at the location or one of its rooms."""
    ids = [location_id, *session.scalars(select(Location.id).where(Location.parent_id == location_id))]
    return session.scalar(
        select(func.count()).select_from(Appointment).where(
            Appointment.location_id.in_(ids),
            Appointment.starts_at >= as_utc(now or utcnow()),
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.deleted_at.is_(None),
        )
    ) or 0  # fmt: skip


def deactivate_location(
    ctx: ServiceContext, location_id: str, *, force: bool = False, now: datetime | None = None
) -> int:
    """Deactivate a location (and the rooms of a building). Future appointments there block this with
    ``LocationInUseError`` unless ``force``; they keep their place. Returns the number of such appointments."""
    _require_location_write(ctx.actor)
    with ctx.write() as session:
        row = _location(session, location_id)
        count = future_appointments_at(session, location_id, now)
        if count and not force:
            raise LocationInUseError(
                ngettext(
                    "An diesem Ort ist noch {n} künftiger Termin eingetragen. Bitte den Termin zuerst verlegen "
                    "oder den Ort trotzdem deaktivieren (der Termin behält seinen Ort).",
                    "An diesem Ort sind noch {n} künftige Termine eingetragen. Bitte die Termine zuerst verlegen "
                    "oder den Ort trotzdem deaktivieren (die Termine behalten ihren Ort).",
                    count,
                ).format(n=count),
                count,
            )
        rooms = session.scalars(
            select(Location).where(Location.parent_id == location_id, Location.active.is_(True))
        ).all()
        for loc in [row, *rooms]:
            loc.active = False
            audit.record(session, "update", entity_type="location", entity_id=loc.id,
                         detail={"active": False, "future_appointments": count})  # fmt: skip
        return count


def reactivate_location(ctx: ServiceContext, location_id: str) -> None:
    _require_location_write(ctx.actor)
    with ctx.write() as session:
        row = _location(session, location_id)
        if row.parent_id:
            parent = session.get(Location, row.parent_id)
            if parent is not None and not parent.active:
                raise UserError(_("Bitte zuerst das Gebäude wieder aktivieren, zu dem der Raum gehört."))
        row.active = True
        audit.record(session, "update", entity_type="location", entity_id=row.id, detail={"active": True})


def _places(session, location_id: str | None) -> tuple[set[str] | None, Location | None]:
    """The location ids a filter accepts: a building with its active rooms, a room with its building."""
    if location_id is None:
        return None, None
    loc = _location(session, location_id)
    ids = {loc.id}
    if loc.kind == "room":
        if loc.parent_id:
            ids.add(loc.parent_id)
    else:
        ids.update(
            session.scalars(
                select(Location.id).where(
                    Location.parent_id == loc.id, Location.active.is_(True), Location.deleted_at.is_(None)
                )
            )
        )
    return ids, loc


# --- office hours ------------------------------------------------------------------------------------------------


@dataclass
class OfficeHoursData:
    location_id: str | None = None
    weekday: int | None = None  # 0 = Monday
    start_time: time | str | None = None
    end_time: time | str | None = None
    case_manager_id: str | None = None
    valid_from: date | str | None = None
    valid_until: date | str | None = None


@dataclass(frozen=True)
class OfficeHoursRow:
    id: str
    location_id: str
    location: str
    case_manager_id: str | None
    case_manager: str
    weekday: int
    weekday_label: str
    start_time: time
    end_time: time
    valid_from: date | None
    valid_until: date | None
    version: int

    def to_data(self) -> OfficeHoursData:
        return OfficeHoursData(self.location_id, self.weekday, self.start_time, self.end_time, self.case_manager_id,
                               self.valid_from, self.valid_until)  # fmt: skip


@dataclass(frozen=True)
class OfficeHoursBlock:
    """One office-hours entry on one day, for the calendar background."""

    office_hours_id: str
    day: date
    starts_at: datetime  # office time, aware
    ends_at: datetime
    location_id: str
    location: str
    case_manager_id: str | None
    case_manager: str


def _location_labels(session) -> dict[str, str]:
    rows = session.execute(select(Location.id, Location.name, Location.parent_id)).all()
    names = {i: n for i, n, _p in rows}
    return {i: f"{names[p]}, {n}" if p and p in names else n for i, n, p in rows}


def _manager_names(session) -> dict[str, str]:
    return dict(session.execute(select(UserAccount.id, UserAccount.display_name)).all())


def list_office_hours(
    session, location_id: str | None = None, case_manager_id: str | None = None
) -> list[OfficeHoursRow]:
    """Office-hours entries (a building includes its rooms), by weekday and time."""
    require_session(session, "appointment.read")
    stmt = select(OfficeHours).where(OfficeHours.deleted_at.is_(None))
    if location_id:
        places, _loc = _places(session, location_id)
        stmt = stmt.where(OfficeHours.location_id.in_(places or {location_id}))
    if case_manager_id:
        stmt = stmt.where(OfficeHours.case_manager_id == case_manager_id)
    locations, managers, days = _location_labels(session), _manager_names(session), weekday_names()
    rows = [
        OfficeHoursRow(
            id=r.id,
            location_id=r.location_id,
            location=locations.get(r.location_id, ""),
            case_manager_id=r.case_manager_id,
            case_manager=managers.get(r.case_manager_id, "") if r.case_manager_id else "",
            weekday=r.weekday,
            weekday_label=days[r.weekday] if 0 <= r.weekday < 7 else str(r.weekday),
            start_time=r.start_time,
            end_time=r.end_time,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            version=r.version,
        )  # fmt: skip
        for r in session.scalars(stmt)
    ]
    rows.sort(key=lambda r: (r.weekday, r.start_time, sort_key(r.location), sort_key(r.case_manager)))
    return rows


def _validate_office_hours(session, data: OfficeHoursData, office_hours_id: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.location_id:
        errors["location_id"] = _("Bitte einen Ort für die Sprechzeit wählen.")
    else:
        loc = session.get(Location, data.location_id)
        if loc is None or loc.deleted_at is not None:
            errors["location_id"] = _("Den Ort gibt es nicht (mehr).")
        elif not loc.active:
            errors["location_id"] = _("Der Ort ist deaktiviert. Bitte einen aktiven Ort wählen.")
    if isinstance(data.weekday, str) and data.weekday.strip().isdigit():
        data.weekday = int(data.weekday.strip())
    if isinstance(data.weekday, bool) or not isinstance(data.weekday, int) or not 0 <= data.weekday <= 6:
        errors["weekday"] = _("Bitte einen Wochentag wählen (Montag bis Sonntag).")
    start, end = _parse_time(data.start_time), _parse_time(data.end_time)
    if start is None:
        errors["start_time"] = _("Bitte den Beginn als Uhrzeit angeben (z. B. 09:00).")
    if end is None:
        errors["end_time"] = _("Bitte das Ende als Uhrzeit angeben (z. B. 12:30).")
    if start is not None and end is not None:
        if end <= start:
            errors["end_time"] = _(
                "Das Ende der Sprechzeit liegt nicht nach dem Beginn. Bitte die Uhrzeiten prüfen."
            )
        elif datetime.combine(date.min, end) - datetime.combine(date.min, start) < MIN_OFFICE_HOURS:
            errors["end_time"] = _("Eine Sprechzeit dauert mindestens 15 Minuten.")
    data.start_time, data.end_time = start, end
    valid_from = _valid_date(data.valid_from, "valid_from", _("„Gültig ab“"), errors)
    valid_until = _valid_date(data.valid_until, "valid_until", _("„Gültig bis“"), errors)
    data.valid_from, data.valid_until = valid_from, valid_until
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = _("„Gültig bis“ liegt vor „gültig ab“. Bitte den Zeitraum prüfen.")
    data.case_manager_id = data.case_manager_id or None
    if data.case_manager_id is not None:
        manager = session.get(UserAccount, data.case_manager_id)
        if manager is None or manager.deleted_at is not None:
            errors["case_manager_id"] = _("Die Fachkraft gibt es nicht (mehr).")
    if not errors:
        clash = _overlapping_office_hours(session, data, office_hours_id)
        if clash is not None:
            whose = (
                _("derselben Fachkraft")
                if data.case_manager_id
                else _("desselben Ortes (ohne feste Fachkraft)")
            )
            errors["start_time"] = _(
                "Die Sprechzeit überschneidet sich mit einer anderen {whose}: {weekday} {start}–{end} Uhr, {place}."
            ).format(
                whose=whose, weekday=weekday_names()[clash.weekday], start=clash.start_time.strftime("%H:%M"),
                end=clash.end_time.strftime("%H:%M"), place=_location_labels(session).get(clash.location_id, ""),
            )  # fmt: skip
    return errors


def _valid_date(value: Any, key: str, label: str, errors: dict[str, str]) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = parse_date(value)
        except UserError as exc:
            errors[key] = f"{label}: {exc.message}"
            return None
    elif value is not None and not isinstance(value, date):
        errors[key] = _("{label} ist kein Datum.").format(label=label)
        return None
    if value is not None and not EARLIEST_VALID <= value <= LATEST_VALID:
        errors[key] = _("{label} muss zwischen 2000 und 2100 liegen.").format(label=label)
        return None
    return value


def _overlapping_office_hours(session, data: OfficeHoursData, exclude_id: str | None) -> OfficeHours | None:
    """Another entry of the same person (or the same place's open hours) on the same weekday whose time and
    validity range both meet ``data``'s (validated: times and dates are parsed)."""
    first = data.valid_from if isinstance(data.valid_from, date) else date.min
    last = data.valid_until if isinstance(data.valid_until, date) else date.max
    stmt = select(OfficeHours).where(
        OfficeHours.deleted_at.is_(None),
        OfficeHours.weekday == data.weekday,
        OfficeHours.start_time < data.end_time,
        OfficeHours.end_time > data.start_time,
    )
    if data.case_manager_id:
        stmt = stmt.where(OfficeHours.case_manager_id == data.case_manager_id)
    else:  # open office hours of a location: the same location must not list them twice
        stmt = stmt.where(OfficeHours.case_manager_id.is_(None), OfficeHours.location_id == data.location_id)
    if exclude_id:
        stmt = stmt.where(OfficeHours.id != exclude_id)
    for other in session.scalars(stmt.order_by(OfficeHours.start_time)):
        if (other.valid_from or date.min) <= last and first <= (other.valid_until or date.max):
            return other
    return None


def _office_hours_row(session, office_hours_id: str) -> OfficeHours:
    row = session.get(OfficeHours, office_hours_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(_("Diese Sprechzeit gibt es nicht (mehr)."))
    return row


def save_office_hours(
    ctx: ServiceContext, data: OfficeHoursData | Mapping, office_hours_id: str | None = None, *,
    expected_version: int | None = None,
) -> str:  # fmt: skip
    """Create or change a recurring office-hours entry; returns its id. Raises ``ValidationError``."""
    require(ctx.actor, "appointment.write")
    clean = _coerce(data, OfficeHoursData)
    with ctx.write() as session:
        row = _office_hours_row(session, office_hours_id) if office_hours_id else None
        if row is not None:
            _check_version(row, expected_version, _("Die Sprechzeit"))
        errors = _validate_office_hours(session, clean, office_hours_id)
        if errors:
            raise ValidationError(errors)
        if row is None:
            row = OfficeHours()
            session.add(row)
        row.location_id, row.case_manager_id, row.weekday = (
            clean.location_id,
            clean.case_manager_id,
            clean.weekday,
        )
        row.start_time, row.end_time = clean.start_time, clean.end_time
        row.valid_from, row.valid_until = clean.valid_from, clean.valid_until
        session.flush()
        audit.record(session, "update" if office_hours_id else "create", entity_type="office_hours",
                     entity_id=row.id)  # fmt: skip
        return row.id


def delete_office_hours(ctx: ServiceContext, office_hours_id: str) -> None:
    """Remove an office-hours entry (tombstone for sync); booked appointments are not touched."""
    require(ctx.actor, "appointment.write")
    with ctx.write() as session:
        row = _office_hours_row(session, office_hours_id)
        row.deleted_at = utcnow()
        audit.record(session, "delete", entity_type="office_hours", entity_id=row.id)


@dataclass(frozen=True)
class _Entry:
    id: str
    location_id: str
    case_manager_id: str | None
    weekday: int
    start_time: time
    end_time: time
    valid_from: date | None
    valid_until: date | None

    def on(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


def _entries(
    session, first: date, last: date, *, places: set[str] | None = None, case_manager_id: str | None = None
) -> list[_Entry]:
    """Office-hours entries valid somewhere in [first, last] at active locations, held by no one or by an active
    case manager."""
    stmt = (
        select(
            OfficeHours.id,
            OfficeHours.location_id,
            OfficeHours.case_manager_id,
            OfficeHours.weekday,
            OfficeHours.start_time,
            OfficeHours.end_time,
            OfficeHours.valid_from,
            OfficeHours.valid_until,
        )  # fmt: skip
        .join(Location, Location.id == OfficeHours.location_id)
        .outerjoin(UserAccount, UserAccount.id == OfficeHours.case_manager_id)
        .where(
            OfficeHours.deleted_at.is_(None),
            Location.active.is_(True),
            Location.deleted_at.is_(None),
            or_(
                OfficeHours.case_manager_id.is_(None),
                (UserAccount.active.is_(True)) & UserAccount.deleted_at.is_(None),
            ),
            or_(OfficeHours.valid_from.is_(None), OfficeHours.valid_from <= last),
            or_(OfficeHours.valid_until.is_(None), OfficeHours.valid_until >= first),
        )
    )
    if places is not None:
        stmt = stmt.where(OfficeHours.location_id.in_(places))
    if case_manager_id is not None:
        stmt = stmt.where(
            or_(OfficeHours.case_manager_id == case_manager_id, OfficeHours.case_manager_id.is_(None))
        )
    entries = [_Entry(*r) for r in session.execute(stmt)]
    entries.sort(
        key=lambda e: (e.weekday, e.start_time, e.case_manager_id is None, e.case_manager_id or "", e.id)
    )
    return entries


def office_hours_between(session, first: date, last: date) -> dict[date, list[OfficeHoursBlock]]:
    """Office hours on each office day ``first``..``last`` (inclusive); holidays and days without any are
    left out. One query for the whole range."""
    require_session(session, "appointment.read")
    entries = _entries(session, first, last)
    if not entries:
        return {}
    locations, managers = _location_labels(session), _manager_names(session)
    result: dict[date, list[OfficeHoursBlock]] = {}
    day = first
    while day <= last:
        todays = [e for e in entries if e.on(day)]
        if todays and not holiday_name(day):
            result[day] = [
                OfficeHoursBlock(
                    office_hours_id=e.id,
                    day=day,
                    starts_at=datetime.combine(day, e.start_time, tzinfo=OFFICE_TIMEZONE),
                    ends_at=datetime.combine(day, e.end_time, tzinfo=OFFICE_TIMEZONE),
                    location_id=e.location_id,
                    location=locations.get(e.location_id, ""),
                    case_manager_id=e.case_manager_id,
                    case_manager=managers.get(e.case_manager_id, "") if e.case_manager_id else "",
                )  # fmt: skip
                for e in todays
            ]
        day += timedelta(days=1)
    return result


def office_hours_on(session, day: date) -> list[OfficeHoursBlock]:
    """The office hours held on ``day`` (none on NRW public holidays), sorted by start."""
    return office_hours_between(session, day, day).get(day, [])


# --- interpreter pool ----------------------------------------------------------------------------------------


@dataclass
class InterpreterData:
    family_name: str = ""
    given_names: str = ""
    languages: list[str] | tuple[str, ...] | str = ()
    phone: str | None = None
    email: str | None = None
    availability: str | None = None  # free text ("Di und Do vormittags"), informational only
    active: bool = True


@dataclass(frozen=True)
class InterpreterRow:
    id: str
    family_name: str
    given_names: str
    languages: tuple[str, ...]
    phone: str
    email: str
    availability: str
    active: bool
    version: int

    @property
    def name(self) -> str:
        return f"{self.family_name}, {self.given_names}" if self.given_names else self.family_name

    @property
    def language_names(self) -> str:
        return ", ".join(sorted((language_label(c) for c in self.languages), key=sort_key))

    def to_data(self) -> InterpreterData:
        return InterpreterData(self.family_name, self.given_names, list(self.languages), self.phone or None,
                               self.email or None, self.availability or None, self.active)  # fmt: skip


def _validate_interpreter(data: InterpreterData) -> dict[str, str]:
    errors: dict[str, str] = {}
    data.family_name = (
        _clean_text(data.family_name, "family_name", errors, limit=200, label=_("Der Familienname")) or ""
    )
    if not data.family_name and "family_name" not in errors:
        errors["family_name"] = _("Bitte den Familiennamen angeben.")
    data.given_names = (
        _clean_text(data.given_names, "given_names", errors, limit=200, label=_("Der Vorname")) or ""
    )
    raw = data.languages
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[,;\s]+", raw) if p]
    codes: list[str] = []
    for code in raw or []:
        normal = normalize_language(code)
        if normal is None:
            continue
        if normal not in _babel_languages():
            shown = "".join(ch if ch.isprintable() else "?" for ch in str(code))[:20]
            errors["languages"] = _(
                "Unbekannter Sprachcode „{code}“. Bitte die Sprache aus der Liste wählen."
            ).format(code=shown)
            break
        if normal not in codes:
            codes.append(normal)
    if not codes and "languages" not in errors:
        errors["languages"] = _("Bitte mindestens eine Sprache angeben.")
    data.languages = codes
    data.phone = _clean_text(data.phone, "phone", errors, limit=60, label=_("Die Telefonnummer"))
    if data.phone and (not _PHONE.match(data.phone) or sum(ch.isdigit() for ch in data.phone) < 5):
        errors["phone"] = _("Die Telefonnummer darf nur Ziffern, Leerzeichen und + / ( ) - enthalten "
                            "(mindestens fünf Ziffern).")  # fmt: skip
    data.email = _clean_text(data.email, "email", errors, limit=200, label=_("Die E-Mail-Adresse"))
    if data.email and not _EMAIL.match(data.email):
        errors["email"] = _("Die E-Mail-Adresse ist unvollständig (Beispiel: name@beispiel.de).")
    data.availability = _clean_text(
        data.availability, "availability", errors, limit=1000, label=_("Die Verfügbarkeit"), multiline=True
    )
    data.active = bool(data.active)
    return errors


def save_interpreter(
    ctx: ServiceContext, data: InterpreterData | Mapping, interpreter_id: str | None = None, *,
    expected_version: int | None = None,
) -> str:  # fmt: skip
    """Add a person to the interpreter pool or change one; returns the id. Raises ``ValidationError``."""
    require(ctx.actor, "appointment.write")
    clean = _coerce(data, InterpreterData)
    errors = _validate_interpreter(clean)
    with ctx.write() as session:
        row = None
        if interpreter_id:
            row = session.get(Interpreter, interpreter_id)
            if row is None or row.deleted_at is not None:
                raise NotFoundError(_("Diese dolmetschende Person gibt es nicht (mehr)."))
            _check_version(row, expected_version, _("Der Eintrag im Dolmetscherpool"))
        if errors:
            raise ValidationError(errors)
        if row is None:
            row = Interpreter()
            session.add(row)
        row.family_name, row.given_names = clean.family_name, clean.given_names
        row.languages = list(clean.languages)
        row.phone, row.email, row.availability, row.active = (
            clean.phone,
            clean.email,
            clean.availability,
            clean.active,
        )
        session.flush()
        audit.record(session, "update" if interpreter_id else "create", entity_type="interpreter",
                     entity_id=row.id)  # fmt: skip
        return row.id


def list_interpreters(
    session, language: str | None = None, include_inactive: bool = False
) -> list[InterpreterRow]:
    """The pool sorted by name; with ``language`` only those who speak it (``prs`` and ``fa_AF`` are one)."""
    require_session(session, "appointment.read")
    stmt = select(Interpreter).where(Interpreter.deleted_at.is_(None))
    if not include_inactive:
        stmt = stmt.where(Interpreter.active.is_(True))
    variants = _language_variants(language) if language else None
    rows = [
        InterpreterRow(
            id=r.id,
            family_name=r.family_name,
            given_names=r.given_names or "",
            languages=tuple(r.languages or ()),
            phone=r.phone or "",
            email=r.email or "",
            availability=r.availability or "",
            active=bool(r.active),
            version=r.version,
        )  # fmt: skip
        for r in session.scalars(stmt)
        if variants is None or _speaks(r.languages, variants)
    ]
    rows.sort(key=lambda r: (sort_key(r.family_name), sort_key(r.given_names)))
    return rows


def interpreter_language_for(
    session, *, person_id: str | None = None, case_id: str | None = None
) -> str | None:
    """The interpreter language the person (or the case's person) needs, for prefilling a search; None if
    no interpreter is needed or nothing is recorded."""
    require_session(session, "appointment.read")
    if person_id is None and case_id is not None:
        person_id = session.scalar(select(Case.person_id).where(Case.id == case_id))
    if person_id is None:
        return None
    row = session.execute(
        select(Person.interpreter_needed, Person.interpreter_language).where(
            Person.id == person_id, Person.deleted_at.is_(None)
        )
    ).first()
    if row is None or not row.interpreter_needed or not row.interpreter_language:
        return None
    return normalize_language(row.interpreter_language)


# --- free-slot finder ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # office time, naive (as AppointmentData wants it)
    ends_at: datetime
    location_id: str | None
    case_manager_id: str | None
    interpreter_id: str | None = None


@dataclass(frozen=True)
class _Window:
    start: time
    end: time
    location_id: str | None
    case_manager_id: str | None


class _Busy:
    """Busy intervals (UTC) per person or room, sorted by start; answers "free between s and e?" by bisection."""

    def __init__(self) -> None:
        self._starts: dict[tuple[str, str], list[datetime]] = {}
        self._intervals: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}

    def add(self, key: tuple[str, str], start: datetime, end: datetime) -> None:
        self._intervals.setdefault(key, []).append((start, end))

    def seal(self) -> None:
        for key, items in self._intervals.items():
            items.sort()
            self._starts[key] = [s for s, _e in items]

    def free(self, key: tuple[str, str], start: datetime, end: datetime) -> bool:
        items = self._intervals.get(key)
        if not items:
            return True
        starts = self._starts[key]
        # Nothing lasts longer than MAX_DURATION, so only intervals starting after start - MAX_DURATION can overlap.
        for i in range(bisect_left(starts, start - MAX_DURATION), bisect_left(starts, end)):
            if items[i][1] > start:
                return False
        return True


def _load_busy(
    session, first: date, last: date, managers: set[str], interpreters: list[str], rooms: set[str]
) -> _Busy:
    """Every active appointment of the candidate people and rooms starting on [first, last], in one query."""
    busy = _Busy()
    conditions = []
    if managers:
        conditions.append(Appointment.case_manager_id.in_(sorted(managers)))
    if interpreters:
        conditions.append(Appointment.interpreter_id.in_(interpreters))
    if rooms:
        conditions.append(Appointment.location_id.in_(sorted(rooms)))
    if not conditions:
        return busy
    lo, hi = range_bounds_utc(first, last)
    stmt = select(
        Appointment.starts_at, Appointment.ends_at, Appointment.case_manager_id, Appointment.interpreter_id,
        Appointment.location_id,
    ).where(
        or_(*conditions),
        Appointment.starts_at > lo - MAX_DURATION,
        Appointment.starts_at < hi,
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.deleted_at.is_(None),
    )  # fmt: skip
    pool = set(interpreters)
    for start, end, manager, interpreter, location in session.execute(stmt):
        start, end = as_utc(start), as_utc(end)
        if manager in managers:
            busy.add(("m", manager), start, end)
        if interpreter in pool:
            busy.add(("i", interpreter), start, end)
        if location in rooms:
            busy.add(("r", location), start, end)
    busy.seal()
    return busy


def _ceil_to_grid(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=None)
    base = moment.replace(minute=0, second=0, microsecond=0)
    steps = -(-(moment - base) // GRID)  # ceiling division
    return base + steps * GRID


def find_slots(
    session,
    *,
    after: datetime,
    duration: timedelta,
    weekday: int | None = None,
    location_id: str | None = None,
    case_manager_id: str | None = None,
    interpreter_language: str | None = None,
    within_office_hours: bool = True,
    limit: int = 5,
    horizon_days: int = 60,
    now: datetime | None = None,
) -> list[Slot]:
    """Free appointment times from ``after`` (office time) on, earliest first, one per start time.

    A time is free when it lies on the 15-minute grid inside office hours (or 8–17 Mon–Fri when
    ``within_office_hours`` is False), is no NRW holiday, is not in the past (``now``, default: the clock),
    the case manager has no active appointment then (given one, else any case manager holding office hours
    there, else nobody is checked), a room (if the place is one) is not booked, and – if a language is asked –
    an active interpreter of the pool with that language has no active appointment then. ``location_id`` of
    a building also accepts its rooms. Searches ``horizon_days`` days and stops after ``limit`` slots.
    """
    require_session(session, "appointment.read")
    if not isinstance(duration, timedelta) or not MIN_DURATION <= duration <= MAX_DURATION:
        raise UserError(_("Die Dauer muss zwischen 5 Minuten und 12 Stunden liegen."))
    if weekday is not None and (
        isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6
    ):
        raise UserError(_("Bitte einen Wochentag wählen (Montag bis Sonntag)."))
    if not isinstance(after, datetime):
        raise UserError(_("Bitte angeben, ab wann gesucht werden soll (Datum und Uhrzeit)."))
    limit = max(1, min(int(limit), MAX_LIMIT))
    horizon_days = max(1, min(int(horizon_days), MAX_HORIZON_DAYS))
    current = _naive_office(now) if now is not None else datetime.now(OFFICE_TIMEZONE).replace(tzinfo=None)
    start = _ceil_to_grid(max(_naive_office(after), current))
    first_day = start.date()
    last_day = first_day + timedelta(days=horizon_days - 1)

    places, place = _places(session, location_id)
    if case_manager_id is not None:
        manager = session.get(UserAccount, case_manager_id)
        if manager is None or manager.deleted_at is not None:
            raise NotFoundError(_("Die Fachkraft gibt es nicht (mehr)."))
    pool: list[str] = []
    if interpreter_language:
        pool = [r.id for r in list_interpreters(session, interpreter_language)]
        if not pool:
            return []

    entries: list[_Entry] = []
    plain_managers: list[str | None] = []
    if within_office_hours:
        entries = _entries(session, first_day, last_day, places=places, case_manager_id=case_manager_id)
        if not entries:
            return []
        managers = {e.case_manager_id for e in entries if e.case_manager_id} | (
            {case_manager_id} if case_manager_id else set()
        )
    else:
        if case_manager_id is not None:
            plain_managers = [case_manager_id]
        else:
            holders = {e.case_manager_id for e in _entries(session, first_day, last_day, places=places)}
            holders.discard(None)
            if places is None and not holders:
                holders = set(
                    session.scalars(
                        select(UserAccount.id).where(
                            UserAccount.active.is_(True), UserAccount.deleted_at.is_(None)
                        )
                    )
                )
            names = _manager_names(session)
            plain_managers = sorted(holders, key=lambda m: sort_key(names.get(m, m))) or [None]  # type: ignore[arg-type]
        managers = {m for m in plain_managers if m}

    room_ids = set(
        session.scalars(
            select(Location.id).where(
                Location.kind == "room", Location.id.in_((places or set()) | {e.location_id for e in entries})
            )
        )
    )
    chosen_room = place.id if place is not None and place.kind == "room" else None

    def windows_on(day: date) -> list[_Window]:
        if within_office_hours:
            return [
                _Window(
                    e.start_time,
                    e.end_time,
                    chosen_room or e.location_id,
                    case_manager_id or e.case_manager_id,
                )
                for e in entries
                if e.on(day)
            ]
        if day.weekday() >= 5:
            return []
        return [_Window(PLAIN_DAY[0], PLAIN_DAY[1], location_id, m) for m in plain_managers]

    slots: list[Slot] = []
    chunk_first = first_day
    while chunk_first <= last_day and len(slots) < limit:
        chunk_last = min(chunk_first + timedelta(days=6), last_day)
        busy: _Busy | None = None  # loaded only if the week has office days at all
        day = chunk_first
        while day <= chunk_last and len(slots) < limit:
            if (weekday is None or day.weekday() == weekday) and not holiday_name(day):
                windows = windows_on(day)
                if windows:
                    if busy is None:
                        busy = _load_busy(session, chunk_first, chunk_last, managers, pool, room_ids)
                    slots += _slots_on(day, windows, start, duration, busy, pool, limit - len(slots))
            day += timedelta(days=1)
        chunk_first = chunk_last + timedelta(days=1)
    return slots


def _slots_on(
    day: date, windows: list[_Window], earliest: datetime, duration: timedelta, busy: _Busy, pool: list[str],
    wanted: int,
) -> list[Slot]:  # fmt: skip
    candidates: list[tuple[datetime, int, _Window]] = []
    for order, window in enumerate(windows):
        t = _ceil_to_grid(max(datetime.combine(day, window.start), earliest))
        close = datetime.combine(day, window.end)
        while t + duration <= close:
            candidates.append((t, order, window))
            t += GRID
    candidates.sort(key=lambda c: (c[0], c[1]))
    result: list[Slot] = []
    taken: datetime | None = None
    for t, _order, window in candidates:
        if t == taken:
            continue
        end = t + duration
        s_utc, e_utc = from_local(t), from_local(end)
        if window.case_manager_id and not busy.free(("m", window.case_manager_id), s_utc, e_utc):
            continue
        if window.location_id and not busy.free(("r", window.location_id), s_utc, e_utc):
            continue
        interpreter = None
        if pool:
            interpreter = next((i for i in pool if busy.free(("i", i), s_utc, e_utc)), None)
            if interpreter is None:
                continue
        result.append(Slot(t, end, window.location_id, window.case_manager_id, interpreter))
        taken = t
        if len(result) >= wanted:
            break
    return result
