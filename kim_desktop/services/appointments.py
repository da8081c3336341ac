"""Appointments: the counselling calendar. No Qt.

An appointment belongs to a case (or to none, e.g. an office-hours block) and has participants (one person,
a household, a group), a type, a location, start and end (stored in UTC, shown and typed in office time),
a case manager, optionally an interpreter from the pool, a status and a note.

Before saving, :func:`check` reports *conflicts* (the same case manager, interpreter or room booked at an
overlapping time) and *warnings* (NRW public holiday, weekend, night-time, outside the interpreter pool's
language). Conflicts block saving unless the caller keeps both on purpose (``keep_conflicts=True``, stored on
the appointment as ``conflict_accepted``). Every write is audited; messages name no person.

**Permissions** (``services.permissions``): reading the calendar, the call list and the interpreter pool needs
``appointment.read``; booking, moving, changing the status, deleting and removing an interpreter need
``appointment.write``. Reception (Empfang/Verwaltung) holds both: names and times, no case content. The
appointment's *note* is case content: :func:`data_of` returns it only to an actor with
``person.read_case_data`` who may see the appointment's case (``can_see_case``; an appointment without a case
counts as visible); everyone else gets ``note=None``, and :func:`update_appointment` then keeps the stored note
instead of overwriting it with the hidden ``None``. The calendar items (:class:`CalendarItem`) carry no note.
The case id on an appointment is a link, not content: opening the case checks ``case.read`` there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import func, select

from ..db.models import (
    Appointment,
    AppointmentParticipant,
    Case,
    CodeEntry,
    Interpreter,
    Location,
    Person,
    UserAccount,
)
from ..errors import ConflictError, NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit, retention
from .context import Actor, ServiceContext
from .localtime import as_utc, from_local, local_time, range_bounds_utc
from .permissions import allowed, can_see_case, require, require_session

STATUSES = ("planned", "confirmed", "held", "cancelled", "no_show")
ACTIVE_STATUSES = ("planned", "confirmed", "held")  # occupy time; cancelled and no-show do not block
MAX_DURATION = timedelta(hours=12)
MIN_DURATION = timedelta(minutes=5)
EARLIEST, LATEST = time(6, 0), time(22, 0)  # outside: a warning ("3 Uhr nachts?")
MAX_PARTICIPANTS = 50
NOTE_MAX = 4000


def status_labels() -> dict[str, str]:
    return {
        "planned": _("geplant"),
        "confirmed": _("bestätigt"),
        "held": _("stattgefunden"),
        "cancelled": _("abgesagt"),
        "no_show": _("nicht erschienen"),
    }


@lru_cache(maxsize=64)
def _nrw_holidays(year: int) -> dict[date, str]:
    import holidays  # imported on first use: it costs ~0.5 s and the window should appear first

    return dict(holidays.Germany(subdiv="NW", years=year, language="de"))


def holiday_name(day: date) -> str | None:
    """The NRW public holiday on ``day`` (German name), or None."""
    return _nrw_holidays(day.year).get(day)


def holidays_between(first: date, last: date) -> dict[date, str]:
    result: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        result.update({d: n for d, n in _nrw_holidays(year).items() if first <= d <= last})
    return result


# --- input and checks --------------------------------------------------------------------------------------


@dataclass
class AppointmentData:
    """What a person enters. ``starts_at``/``ends_at`` naive = office time (Europe/Berlin)."""

    type: str
    starts_at: datetime
    ends_at: datetime
    case_id: str | None = None
    person_ids: list[str] = field(default_factory=list)
    location_id: str | None = None
    case_manager_id: str | None = None
    interpreter_id: str | None = None
    interpreter_language: str | None = None
    title: str | None = None
    note: str | None = None
    status: str = "planned"
    version: int | None = None  # the stored row version when loaded (for optimistic locking)


@dataclass(frozen=True)
class Conflict:
    kind: str  # case_manager | interpreter | room
    appointment_id: str
    starts_at: datetime  # office time
    ends_at: datetime
    type_label: str

    def message(self) -> str:
        what = {
            "case_manager": _("Die Fachkraft hat zur selben Zeit einen anderen Termin"),
            "interpreter": _("Die dolmetschende Person ist zur selben Zeit gebucht"),
            "room": _("Der Raum ist zur selben Zeit belegt"),
        }[self.kind]
        return _("{what}: {type} am {day} von {start} bis {end} Uhr.").format(
            what=what, type=self.type_label, day=self.starts_at.strftime("%d.%m.%Y"),
            start=self.starts_at.strftime("%H:%M"), end=self.ends_at.strftime("%H:%M"),
        )  # fmt: skip


@dataclass(frozen=True)
class Warning:
    kind: str  # holiday | weekend | night | language
    message: str


@dataclass
class CheckResult:
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)


class AppointmentConflictError(ConflictError):
    """Overlaps found; ``conflicts`` lists them. Saving again with ``keep_conflicts=True`` keeps both."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        message = " ".join(c.message() for c in conflicts[:3])
        if len(conflicts) > 3:
            message += " " + _("… und {n} weitere Überschneidungen.").format(n=len(conflicts) - 3)
        super().__init__(message)
        self.details = conflicts
        self.conflicts = conflicts


def _type_labels(session) -> dict[str, str]:
    return {
        code: label
        for code, label in session.execute(
            select(CodeEntry.code, CodeEntry.label_de).where(CodeEntry.list_name == "appointment_type")
        )
    }


def validate(session, data: AppointmentData) -> dict[str, str]:
    """Field errors (German) for input that cannot be stored."""
    errors: dict[str, str] = {}
    types = _type_labels(session)
    if data.type not in types:
        errors["type"] = _("Bitte eine Terminart wählen ({types}).").format(types=", ".join(types.values()))
    if not isinstance(data.starts_at, datetime) or not isinstance(data.ends_at, datetime):
        errors["starts_at"] = _("Bitte Beginn und Ende mit Datum und Uhrzeit angeben.")
        return errors
    start, end = from_local(data.starts_at), from_local(data.ends_at)
    if end <= start:
        errors["ends_at"] = _("Das Ende liegt vor dem Beginn. Bitte die Uhrzeiten prüfen.")
    elif end - start < MIN_DURATION:
        errors["ends_at"] = _("Ein Termin dauert mindestens 5 Minuten.")
    elif end - start > MAX_DURATION:
        errors["ends_at"] = _(
            "Ein Termin dauert höchstens 12 Stunden. Mehrtägiges bitte als einzelne Termine."
        )
    if data.status not in STATUSES:
        errors["status"] = _("Unbekannter Status.")
    if data.title and len(data.title) > 300:
        errors["title"] = _("Der Titel darf höchstens 300 Zeichen lang sein.")
    if data.note and len(data.note) > NOTE_MAX:
        errors["note"] = _("Die Notiz darf höchstens {n} Zeichen lang sein.").format(n=NOTE_MAX)
    if len(set(data.person_ids)) > MAX_PARTICIPANTS:
        errors["person_ids"] = _("Höchstens {n} Teilnehmende je Termin.").format(n=MAX_PARTICIPANTS)
    if data.case_id is not None:
        case = session.get(Case, data.case_id)
        if case is None or case.deleted_at is not None:
            errors["case_id"] = _("Die Fallakte gibt es nicht (mehr).")
    for person_id in set(data.person_ids):
        person = session.get(Person, person_id)
        if person is None or person.deleted_at is not None:
            errors["person_ids"] = _("Eine der teilnehmenden Personen gibt es nicht (mehr).")
            break
    if data.location_id is not None:
        location = session.get(Location, data.location_id)
        if location is None or location.deleted_at is not None:
            errors["location_id"] = _("Den Ort gibt es nicht (mehr).")
    if data.interpreter_id is not None:
        interpreter = session.get(Interpreter, data.interpreter_id)
        if interpreter is None or interpreter.deleted_at is not None or not interpreter.active:
            errors["interpreter_id"] = _(
                "Die dolmetschende Person ist nicht mehr im Pool. Bitte eine andere wählen."
            )
    if data.case_manager_id is not None:
        manager = session.get(UserAccount, data.case_manager_id)
        if manager is None or manager.deleted_at is not None:
            errors["case_manager_id"] = _("Die Fachkraft gibt es nicht (mehr).")
    return errors


def _overlapping(session, column, value, start: datetime, end: datetime, exclude_id: str | None):
    # The index (column, starts_at) is used with a bounded range: no appointment is longer than MAX_DURATION.
    stmt = select(
        Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.type, Appointment.busy_only
    ).where(
        column == value,
        Appointment.starts_at > start - MAX_DURATION,
        Appointment.starts_at < end,
        Appointment.ends_at > start,
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.deleted_at.is_(None),
    )
    if exclude_id is not None:
        stmt = stmt.where(Appointment.id != exclude_id)
    return session.execute(stmt.order_by(Appointment.starts_at).limit(20)).all()


def check(session, data: AppointmentData, *, exclude_id: str | None = None) -> CheckResult:
    """Conflicts and warnings for ``data`` (assumed valid)."""
    result = CheckResult()
    start, end = from_local(data.starts_at), from_local(data.ends_at)
    labels = _type_labels(session)
    if data.status in ACTIVE_STATUSES:
        targets = []
        if data.case_manager_id:
            targets.append(("case_manager", Appointment.case_manager_id, data.case_manager_id))
        if data.interpreter_id:
            targets.append(("interpreter", Appointment.interpreter_id, data.interpreter_id))
        if data.location_id:
            location = session.get(Location, data.location_id)
            if location is not None and location.kind == "room":  # a building holds many; a room holds one
                targets.append(("room", Appointment.location_id, data.location_id))
        for kind, column, value in targets:
            for other_id, other_start, other_end, other_type, busy in _overlapping(
                session, column, value, start, end, exclude_id
            ):
                label = _("Belegt (importiert)") if busy else labels.get(other_type, other_type)
                result.conflicts.append(
                    Conflict(kind, other_id, local_time(other_start), local_time(other_end), label)
                )
    local_start = local_time(start)
    holiday = holiday_name(local_start.date())
    if holiday:
        result.warnings.append(
            Warning("holiday", _("Der {day} ist ein Feiertag in NRW ({name}).").format(
                day=local_start.strftime("%d.%m.%Y"), name=holiday))
        )  # fmt: skip
    elif local_start.weekday() >= 5:
        result.warnings.append(Warning("weekend", _("Der Termin liegt am Wochenende.")))
    local_end = local_time(end)
    if local_start.time() < EARLIEST or local_end.time() > LATEST or local_end.date() != local_start.date():
        result.warnings.append(
            Warning(
                "night",
                _("Der Termin liegt außerhalb der üblichen Zeiten (6 bis 22 Uhr). Bitte die Uhrzeit prüfen."),
            )
        )
    if data.interpreter_id and data.interpreter_language:
        from .office_hours import normalize_language

        interpreter = session.get(Interpreter, data.interpreter_id)
        spoken = (
            {normalize_language(code) for code in (interpreter.languages or [])} if interpreter else set()
        )
        if interpreter is not None and normalize_language(data.interpreter_language) not in spoken:
            result.warnings.append(
                Warning("language", _("Die dolmetschende Person hat diese Sprache nicht im Profil."))
            )
    return result


# --- writes --------------------------------------------------------------------------------------------------


def _clean(data: AppointmentData) -> AppointmentData:
    data.title = (data.title or "").strip() or None
    data.note = (data.note or "").strip() or None
    data.interpreter_language = (data.interpreter_language or "").strip() or None
    data.person_ids = list(dict.fromkeys(p for p in data.person_ids if p))
    return data


def _apply(session, row: Appointment, data: AppointmentData) -> None:
    row.type = data.type
    row.title = data.title
    row.case_id = data.case_id
    row.location_id = data.location_id
    row.starts_at = from_local(data.starts_at)
    row.ends_at = from_local(data.ends_at)
    row.case_manager_id = data.case_manager_id
    row.interpreter_id = data.interpreter_id
    row.interpreter_language = data.interpreter_language
    row.status = data.status
    row.note = data.note


def _set_participants(session, appointment_id: str, person_ids: Iterable[str]) -> None:
    wanted = list(person_ids)
    current = set(
        session.scalars(
            select(AppointmentParticipant.person_id).where(
                AppointmentParticipant.appointment_id == appointment_id
            )
        )
    )
    for person_id in current - set(wanted):
        session.delete(session.get(AppointmentParticipant, (appointment_id, person_id)))
    for person_id in wanted:
        if person_id not in current:
            session.add(AppointmentParticipant(appointment_id=appointment_id, person_id=person_id))


def _guard(session, data: AppointmentData, exclude_id: str | None, keep_conflicts: bool) -> CheckResult:
    errors = validate(session, data)
    if errors:
        raise ValidationError(errors)
    result = check(session, data, exclude_id=exclude_id)
    if result.conflicts and not keep_conflicts:
        raise AppointmentConflictError(result.conflicts)
    return result


def case_person_id(session, case_id: str | None) -> str | None:
    """The person whose case it is (the default participant of a case's appointment)."""
    if case_id is None:
        return None
    return session.scalar(select(Case.person_id).where(Case.id == case_id))


def create_appointment(ctx: ServiceContext, data: AppointmentData, *, keep_conflicts: bool = False) -> str:
    """Store a new appointment; raises ``AppointmentConflictError`` on overlaps unless ``keep_conflicts``."""
    require(ctx.actor, "appointment.write")
    data = _clean(data)
    with ctx.write() as session:
        if not data.person_ids:
            person_id = case_person_id(session, data.case_id)
            data.person_ids = [person_id] if person_id else []
        for person_id in data.person_ids:  # Art. 18: storage only
            retention.ensure_not_restricted(session, person_id)
        result = _guard(session, data, None, keep_conflicts)
        row = Appointment()
        _apply(session, row, data)
        row.conflict_accepted = bool(result.conflicts)
        session.add(row)
        session.flush()
        _set_participants(session, row.id, data.person_ids)
        audit.record(
            session, "create", entity_type="appointment", entity_id=row.id, case_id=data.case_id,
            person_id=data.person_ids[0] if data.person_ids else None,
        )  # fmt: skip
        return row.id


def _load(session, appointment_id: str) -> Appointment:
    row = session.get(Appointment, appointment_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(_("Diesen Termin gibt es nicht (mehr)."))
    return row


def participants(session, appointment_id: str) -> list[str]:
    return list(
        session.scalars(
            select(AppointmentParticipant.person_id).where(
                AppointmentParticipant.appointment_id == appointment_id
            )
        )
    )


def may_see_note(session, actor: Actor, row: Appointment) -> bool:
    """Whether ``actor`` may read the appointment's note (case content, see the module doc)."""
    if not allowed(actor, "person.read_case_data"):
        return False
    if row.case_id is None:
        return True
    case = session.get(Case, row.case_id)
    return case is None or can_see_case(session, actor, case)


def data_of(session, appointment_id: str) -> AppointmentData:
    """The stored appointment as editable data (office time); ``note`` None unless the actor may see it."""
    actor = require_session(session, "appointment.read")
    row = _load(session, appointment_id)
    note = row.note if may_see_note(session, actor, row) else None
    return AppointmentData(
        type=row.type, starts_at=local_time(row.starts_at).replace(tzinfo=None),
        ends_at=local_time(row.ends_at).replace(tzinfo=None), case_id=row.case_id,
        person_ids=participants(session, row.id), location_id=row.location_id, case_manager_id=row.case_manager_id,
        interpreter_id=row.interpreter_id, interpreter_language=row.interpreter_language, title=row.title,
        note=note, status=row.status, version=row.version,
    )  # fmt: skip


def _check_version(row: Appointment, expected_version: int | None) -> None:
    if expected_version is not None and row.version != expected_version:
        raise ConflictError(
            _("Der Termin wurde inzwischen von jemand anderem geändert. Bitte neu laden und erneut ändern.")
        )


def update_appointment(
    ctx: ServiceContext,
    appointment_id: str,
    data: AppointmentData,
    *,
    expected_version: int | None = None,
    keep_conflicts: bool = False,
) -> None:
    require(ctx.actor, "appointment.write")
    data = _clean(data)
    with ctx.write() as session:
        row = _load(session, appointment_id)
        _check_version(row, expected_version)
        if not may_see_note(session, ctx.actor, row):
            data.note = row.note  # the actor never saw the note: keep it (see the module doc)
        result = _guard(session, data, appointment_id, keep_conflicts)
        _apply(session, row, data)
        row.conflict_accepted = bool(result.conflicts)
        _set_participants(session, row.id, data.person_ids)
        audit.record(session, "update", entity_type="appointment", entity_id=row.id, case_id=row.case_id)


def move_appointment(
    ctx: ServiceContext,
    appointment_id: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    *,
    expected_version: int | None = None,
    keep_conflicts: bool = False,
) -> None:
    """Move (and optionally resize) an appointment; ``ends_at`` None keeps the duration."""
    require(ctx.actor, "appointment.write")
    with ctx.read() as session:
        data = data_of(session, appointment_id)
    duration = data.ends_at - data.starts_at
    data.starts_at = (
        starts_at.replace(tzinfo=None)
        if starts_at.tzinfo is None
        else local_time(starts_at).replace(tzinfo=None)
    )
    data.ends_at = (
        data.starts_at + duration
        if ends_at is None
        else (ends_at if ends_at.tzinfo is None else local_time(ends_at).replace(tzinfo=None))
    )
    update_appointment(
        ctx, appointment_id, data, expected_version=expected_version, keep_conflicts=keep_conflicts
    )


def set_status(ctx: ServiceContext, appointment_id: str, status: str) -> str | None:
    """Change the status; returns a prefilled journal text when the appointment took place (else None)."""
    require(ctx.actor, "appointment.write")
    if status not in STATUSES:
        raise UserError(_("Unbekannter Status."))
    with ctx.write() as session:
        row = _load(session, appointment_id)
        if (
            row.status == status
        ):  # nothing changes: no write, no audit entry (the journal text is still offered)
            return journal_text(session, row) if status == "held" else None
        row.status = status
        audit.record(
            session, "update", entity_type="appointment", entity_id=row.id, case_id=row.case_id,
            detail={"status": status},
        )  # fmt: skip
        if status != "held":
            return None
        return journal_text(session, row)


def journal_text(session, row: Appointment) -> str:
    """The prefilled journal entry for an appointment that took place (the counsellor completes it)."""
    labels = _type_labels(session)
    start, end = local_time(row.starts_at), local_time(row.ends_at)
    parts = [
        _("{type} am {day}, {start}–{end} Uhr").format(
            type=labels.get(row.type, row.type),
            day=start.strftime("%d.%m.%Y"),
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
        )  # fmt: skip
    ]
    if row.location_id:
        location = session.get(Location, row.location_id)
        if location is not None:
            parts.append(_("Ort: {name}").format(name=location.name))
    if row.interpreter_id or row.interpreter_language:
        parts.append(_("mit Dolmetschung"))
    return ", ".join(parts) + ".\n" + _("Inhalt des Gesprächs: ")


def delete_appointment(ctx: ServiceContext, appointment_id: str) -> None:
    """Soft-delete (tombstone); the appointment disappears from every view."""
    from ..db.base import utcnow

    require(ctx.actor, "appointment.write")
    with ctx.write() as session:
        row = _load(session, appointment_id)
        row.deleted_at = utcnow()
        audit.record(session, "delete", entity_type="appointment", entity_id=row.id, case_id=row.case_id)


# --- reads ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarItem:
    id: str
    starts_at: datetime  # office time, aware
    ends_at: datetime
    type: str
    type_label: str
    status: str
    title: str
    case_id: str | None
    person_ids: tuple[str, ...]
    person_names: tuple[str, ...]
    case_manager_id: str | None
    case_manager: str
    location_id: str | None
    location: str
    interpreter_id: str | None
    interpreter: str
    interpreter_language: str | None
    conflict_accepted: bool
    busy_only: bool
    version: int

    @property
    def label(self) -> str:
        """What the calendar cell shows: the people, else the title, else the type."""
        return "; ".join(self.person_names) or self.title or self.type_label


def calendar(
    session,
    first: date,
    last: date,
    *,
    case_manager_ids: Iterable[str] | None = None,
    interpreter_id: str | None = None,
    location_id: str | None = None,
    person_id: str | None = None,
    case_id: str | None = None,
    include_cancelled: bool = True,
) -> list[CalendarItem]:
    """Appointments starting on the office days ``first``..``last`` (inclusive), sorted by start."""
    require_session(session, "appointment.read")
    start, end = range_bounds_utc(first, last)
    stmt = select(
        Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.type, Appointment.status,
        Appointment.title, Appointment.case_id, Appointment.case_manager_id, Appointment.location_id,
        Appointment.interpreter_id, Appointment.interpreter_language, Appointment.conflict_accepted,
        Appointment.busy_only, Appointment.version,
    ).where(Appointment.starts_at >= start, Appointment.starts_at < end, Appointment.deleted_at.is_(None))  # fmt: skip
    managers = list(case_manager_ids) if case_manager_ids is not None else None
    if managers is not None:
        stmt = stmt.where(Appointment.case_manager_id.in_(managers))
    if interpreter_id:
        stmt = stmt.where(Appointment.interpreter_id == interpreter_id)
    if location_id:
        stmt = stmt.where(Appointment.location_id == location_id)
    if case_id:
        stmt = stmt.where(Appointment.case_id == case_id)
    if person_id:
        stmt = stmt.where(
            Appointment.id.in_(
                select(AppointmentParticipant.appointment_id).where(
                    AppointmentParticipant.person_id == person_id
                )
            )
        )
    if not include_cancelled:
        stmt = stmt.where(Appointment.status.in_(ACTIVE_STATUSES))
    # Core execution (no ORM row processing) and one query for all participants: the team's month is thousands.
    connection = session.connection()
    rows = connection.execute(stmt.order_by(Appointment.starts_at, Appointment.id)).all()
    if not rows:
        return []
    people: dict[str, list[tuple[str, str]]] = {}
    participants_stmt = (
        select(AppointmentParticipant.appointment_id, Person.id, Person.family_name, Person.given_names)
        .join(Person, Person.id == AppointmentParticipant.person_id)
        .where(AppointmentParticipant.appointment_id.in_(stmt.with_only_columns(Appointment.id)))
        .order_by(Person.family_name, Person.given_names)
    )
    for appointment_id, pid, family, given in connection.execute(participants_stmt):
        people.setdefault(appointment_id, []).append((pid, f"{family}, {given}" if given else family))
    who_by_id = {key: (tuple(p for p, _n in who), tuple(n for _p, n in who)) for key, who in people.items()}
    labels = _type_labels(session)
    managers_by_id = dict(connection.execute(select(UserAccount.id, UserAccount.display_name)).all())
    locations_by_id = dict(connection.execute(select(Location.id, Location.name)).all())
    interpreters_by_id = {
        i: f"{g} {f}".strip()
        for i, f, g in connection.execute(
            select(Interpreter.id, Interpreter.family_name, Interpreter.given_names)
        )
    }
    times: dict[datetime, datetime] = {}  # appointments share start and end times: convert each once

    def office(moment: datetime) -> datetime:
        converted = times.get(moment)
        if converted is None:
            converted = times[moment] = local_time(moment)
        return converted

    items = []
    no_one: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    for (
        id_,
        starts,
        ends,
        type_,
        status,
        title,
        case_id_,
        manager,
        location,
        interpreter,
        language,
        kept,
        busy,
        version,
    ) in rows:
        ids, names = who_by_id.get(id_, no_one)
        items.append(
            CalendarItem(
                id_,
                office(starts),
                office(ends),
                type_,
                labels.get(type_, type_),
                status,
                title or "",
                case_id_,
                ids,
                names,
                manager,
                managers_by_id.get(manager, ""),
                location,
                locations_by_id.get(location, ""),
                interpreter,
                interpreters_by_id.get(interpreter, ""),
                language,
                bool(kept),
                bool(busy),
                version,
            )
        )
    return items


def no_show_count(session, person_id: str) -> int:
    """How often the person did not come ("nicht erschienen")."""
    require_session(session, "appointment.read")
    return (
        session.scalar(
            select(func.count())
            .select_from(Appointment)
            .join(AppointmentParticipant, AppointmentParticipant.appointment_id == Appointment.id)
            .where(
                AppointmentParticipant.person_id == person_id,
                Appointment.status == "no_show",
                Appointment.deleted_at.is_(None),
            )
        )
        or 0
    )


def no_show_counts(session) -> dict[str, int]:
    """Person id → number of no-shows, for statistics."""
    require_session(session, "appointment.read")
    return dict(
        session.execute(
            select(AppointmentParticipant.person_id, func.count())
            .join(Appointment, Appointment.id == AppointmentParticipant.appointment_id)
            .where(Appointment.status == "no_show", Appointment.deleted_at.is_(None))
            .group_by(AppointmentParticipant.person_id)
        ).all()
    )


@dataclass(frozen=True)
class CallListEntry:
    time: str
    name: str
    phone: str
    type_label: str
    location: str
    interpreter_language: str


def call_list(session, day: date, *, case_manager_id: str | None = None) -> list[CallListEntry]:
    """Who to remind by phone: participants of the day's planned or confirmed appointments."""
    require_session(session, "appointment.read")
    result = []
    managers = [case_manager_id] if case_manager_id else None
    for item in calendar(session, day, day, case_manager_ids=managers, include_cancelled=False):
        if item.status == "held" or item.busy_only:
            continue
        for pid, name in zip(item.person_ids, item.person_names, strict=True):
            phone = session.scalar(select(Person.phone).where(Person.id == pid)) or ""
            result.append(
                CallListEntry(item.starts_at.strftime("%H:%M"), name, phone, item.type_label, item.location,
                              item.interpreter_language or "")
            )  # fmt: skip
    return result


def interpreters(session, language: str | None = None) -> list[Interpreter]:
    """The active interpreter pool, optionally only those for ``language``."""
    require_session(session, "appointment.read")
    rows = session.scalars(
        select(Interpreter)
        .where(Interpreter.active.is_(True), Interpreter.deleted_at.is_(None))
        .order_by(Interpreter.family_name, Interpreter.given_names)
    ).all()
    return [r for r in rows if language is None or language in (r.languages or [])]


def upcoming_for_interpreter(session, interpreter_id: str, now: datetime | None = None) -> int:
    """Number of future active bookings of an interpreter (deleting one that is booked needs a decision)."""
    require_session(session, "appointment.read")
    now = as_utc(now or datetime.now().astimezone())
    return (
        session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.interpreter_id == interpreter_id,
                Appointment.starts_at >= now,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.deleted_at.is_(None),
            )
        )
        or 0
    )


def remove_interpreter(ctx: ServiceContext, interpreter_id: str, *, release_bookings: bool = False) -> int:
    """Take an interpreter out of the pool. Future bookings block this unless ``release_bookings``: then they
    keep their language but lose the person (to be rebooked); returns how many were released."""
    from ..db.base import utcnow

    require(ctx.actor, "appointment.write")
    with ctx.write() as session:
        interpreter = session.get(Interpreter, interpreter_id)
        if interpreter is None or interpreter.deleted_at is not None:
            raise NotFoundError(_("Diese dolmetschende Person gibt es nicht (mehr)."))
        now = utcnow()
        booked = session.scalars(
            select(Appointment).where(
                Appointment.interpreter_id == interpreter_id,
                Appointment.starts_at >= now,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.deleted_at.is_(None),
            )
        ).all()
        if booked and not release_bookings:
            raise UserError(
                _(
                    "Die dolmetschende Person ist noch für {n} künftige Termine gebucht. Bitte zuerst umbuchen "
                    "oder beim Entfernen die Buchungen freigeben."
                ).format(n=len(booked))
            )
        for row in booked:
            row.interpreter_language = row.interpreter_language or ((interpreter.languages or [None])[0])
            row.interpreter_id = None
        interpreter.active = False
        interpreter.deleted_at = now
        audit.record(session, "delete", entity_type="interpreter", entity_id=interpreter_id,
                     detail={"released_bookings": len(booked)})  # fmt: skip
        return len(booked)
