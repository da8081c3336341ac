"""Calendar exchange with Outlook and phones: iCalendar files (.ics, RFC 5545). No Qt.

Export (:func:`export_ics`): the counsellor's appointments as a VCALENDAR with a VTIMEZONE for
Europe/Berlin and times written as office time with ``TZID=Europe/Berlin``, so 10:00 stays 10:00 on both
sides of the summer-time change in every client. Each VEVENT carries the appointment's stable ``ical_uid``, so
exporting again updates the events in Outlook instead of duplicating them. The summary is the type and the
participants' names, or only their initials (``initials_only``, for phones and shared calendars); the note,
the title and the case never leave KIM. Imported busy time (``busy_only``) is not exported again.

Import (:func:`import_busy_ics`): another calendar (Outlook, a phone) as *busy time* of a case manager.
Nothing but the time is kept: imported calendars hold third-party data, so summary, description, location
and attendees are dropped; every entry is stored as "Belegt (importiert)" with ``busy_only=True``. The
entry's ``ical_uid`` is derived from the event's UID (a hash, per occurrence), so importing the same file
again updates the entries instead of duplicating them.

Rules of the import, in the order a counsellor would ask about them:

- Times: ``TZID`` (IANA names, Outlook's Windows names such as "W. Europe Standard Time" and custom
  VTIMEZONE definitions), UTC (``Z``) and floating times (no zone = office time) are converted to UTC.
  An unknown TZID without a VTIMEZONE counts as office time.
- Window: events that end before ``today`` (office time) or start 365 days or more after it are skipped:
  busy time is for planning, years of Outlook history are not.
- Recurring events (RRULE, RDATE, EXDATE, changed occurrences with RECURRENCE-ID) are expanded with
  ``dateutil.rrule`` (python-dateutil, a dependency of icalendar) into single entries within that window,
  at most :data:`MAX_OCCURRENCES` per event (further occurrences count as skipped). SECONDLY and MINUTELY
  rules are skipped.
- All-day events (and timed events longer than :data:`~.appointments.MAX_DURATION`) become busy time for the
  whole office day, 06:00–22:00, stored as two entries (06–14, 14–22) because no appointment may last longer
  than 12 hours (the conflict check relies on it).
- Skipped: cancelled events, events marked free (``TRANSP:TRANSPARENT`` or Outlook's busy status FREE),
  events without duration, and KIM's own appointments coming back (their UID belongs to an appointment that
  is not busy time).
- Re-import: the file is the truth for the events it contains: a future entry of an event in the file that
  the file no longer produces (cancelled, moved occurrence, shortened series) is removed (soft delete).
  Entries of events missing from the file stay (the file may cover only part of the calendar).
- Bad input (not an .ics, broken structure or dates, larger than 10 MB, more than 20,000 events) raises
  ``UserError`` with one German sentence; nothing is stored (the whole import is one unit of work).

Both directions are audited ('export' with the count, 'import' with the counts; never names).

Permissions (``services.permissions``): reading and exporting need ``appointment.read``, the import of busy
time ``appointment.write`` – the calendar's rights, which reception holds too. An export never carries the
note, so no case content leaves through it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar, Component, Event, Timezone
from sqlalchemy import select

from ..db.base import utcnow
from ..db.models import Appointment, Person, UserAccount
from ..errors import NotFoundError, UserError
from ..i18n import _, language_name
from . import audit
from .appointments import MAX_DURATION, CalendarItem, calendar
from .context import ServiceContext
from .localtime import OFFICE_TIMEZONE, as_utc, day_bounds_utc, from_local, local_time
from .permissions import require, require_session

log = logging.getLogger(__name__)

PRODID = "-//KIM Desktop//DE"
TZID = "Europe/Berlin"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EVENTS = 20_000
MAX_ENTRIES = 50_000  # stored entries after expanding recurrences and splitting all-day events
MAX_OCCURRENCES = 1000  # per recurring event within the window
HORIZON = timedelta(days=365)
BUSY_TYPE = "beratung"  # the code list has no neutral type yet (a code "belegt" would fit better)
BUSY_TITLE = "Belegt (importiert)"  # stored data, not UI text: the same in every UI language
OFFICE_DAY = (time(6, 0), time(14, 0), time(22, 0))  # an all-day event: two entries, each ≤ MAX_DURATION

# KIM status → iCalendar STATUS. A no-show still held the time; only a cancellation frees it.
_ICAL_STATUS = {
    "planned": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "held": "CONFIRMED",
    "no_show": "CONFIRMED",
    "cancelled": "CANCELLED",
}


# --- export --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    data: bytes
    count: int


def _initials(family: str, given: str) -> str:
    parts = []
    for name in (given, family):
        word = next((w for w in (name or "").split() if w), "")
        letter = next((c for c in word if c.isalpha()), "")
        if letter:
            parts.append(letter.upper() + ".")
    return " ".join(parts) or "–"


def _items_for_ids(session, ids: Sequence[str]) -> list[CalendarItem]:
    wanted = list(dict.fromkeys(ids))
    starts: dict[str, datetime] = {}
    for offset in range(0, len(wanted), 500):
        chunk = wanted[offset : offset + 500]
        starts.update(
            session.execute(
                select(Appointment.id, Appointment.starts_at).where(
                    Appointment.id.in_(chunk), Appointment.deleted_at.is_(None)
                )
            ).all()
        )
    if len(starts) != len(wanted):
        raise NotFoundError(_("Einen der Termine gibt es nicht (mehr)."))
    if not wanted:
        return []
    days = [local_time(s).date() for s in starts.values()]
    by_id = {i.id: i for i in calendar(session, min(days), max(days)) if i.id in starts}
    return [by_id[i] for i in wanted if i in by_id]


def _vtimezone(first: date, last: date) -> Timezone:
    # Transitions of the years the events need (and one more year on each side, for clients that look ahead).
    return Timezone.from_tzinfo(
        OFFICE_TIMEZONE, tzid=TZID, first_date=date(first.year - 1, 1, 1), last_date=date(last.year + 2, 1, 1)
    )


def export_ics(
    session,
    items: Sequence[CalendarItem] | Sequence[str],
    *,
    initials_only: bool,
    calendar_name: str,
) -> bytes:
    """The appointments ``items`` (calendar items or appointment ids) as an iCalendar file (UTF-8, CRLF).

    ``session`` must be a write unit (``ctx.write()``): the export is audited in it ('export', the count).
    Busy time imported from other calendars is left out. Unknown or deleted ids raise ``NotFoundError``.
    """
    require_session(session, "appointment.read")
    given = list(items)
    if all(isinstance(i, str) for i in given):
        chosen = _items_for_ids(session, [str(i) for i in given])
    else:
        chosen = [i for i in given if isinstance(i, CalendarItem)]
        if len(chosen) != len(given):
            raise TypeError("export_ics: calendar items or appointment ids, not both")
    items = [i for i in chosen if not i.busy_only]
    ids = [i.id for i in items]
    meta: dict[str, tuple[str, datetime | None, datetime | None]] = {}
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        for row_id, uid, created, updated in session.execute(
            select(
                Appointment.id, Appointment.ical_uid, Appointment.created_at, Appointment.updated_at
            ).where(Appointment.id.in_(chunk))
        ):
            meta[row_id] = (uid, created, updated)
    person_ids = list({p for i in items for p in i.person_ids})
    names: dict[str, tuple[str, str]] = {}
    for offset in range(0, len(person_ids), 500):
        chunk = person_ids[offset : offset + 500]
        for pid, family, given in session.execute(
            select(Person.id, Person.family_name, Person.given_names).where(Person.id.in_(chunk))
        ):
            names[pid] = (family or "", given or "")

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", calendar_name)
    cal.add("name", calendar_name)
    cal.add("x-wr-timezone", TZID)
    if items:
        cal.add_component(
            _vtimezone(min(i.starts_at.date() for i in items), max(i.ends_at.date() for i in items))
        )
    for item in items:
        uid, created, updated = meta[item.id]
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", as_utc(updated or created or utcnow()))
        if created is not None:
            event.add("created", as_utc(created))
        if updated is not None:
            event.add("last-modified", as_utc(updated))
        event.add("sequence", max(item.version - 1, 0))
        event.add("dtstart", item.starts_at.astimezone(OFFICE_TIMEZONE))
        event.add("dtend", item.ends_at.astimezone(OFFICE_TIMEZONE))
        if item.person_ids:
            if initials_only:
                who = ", ".join(_initials(*names.get(p, ("", ""))) for p in item.person_ids)
            else:
                who = "; ".join(item.person_names)
            event.add("summary", f"{item.type_label} – {who}")
        else:
            event.add("summary", item.type_label)
        if item.location:
            event.add("location", item.location)
        event.add("status", _ICAL_STATUS.get(item.status, "CONFIRMED"))
        event.add("transp", "TRANSPARENT" if item.status == "cancelled" else "OPAQUE")
        event.add("class", "PRIVATE")
        if item.interpreter_language:
            event.add(
                "description",
                _("Dolmetschung: {language}").format(language=language_name(item.interpreter_language, "de")),
            )
        elif item.interpreter_id:
            event.add("description", _("mit Dolmetschung"))
        cal.add_component(event)
    audit.record(
        session, "export", entity_type="appointment",
        detail={"count": len(items), "format": "ics", "initials_only": bool(initials_only)},
    )  # fmt: skip
    return cal.to_ical()


def resolve_manager(session, text: str | None) -> str | None:
    """A case manager given by user id or user name (CLI ``--manager``) → user id; None stays None."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    user_id = session.scalar(
        select(UserAccount.id).where(
            (UserAccount.id == text) | (UserAccount.username == text), UserAccount.deleted_at.is_(None)
        )
    )
    if user_id is None:
        raise NotFoundError(_("Diese Fachkraft gibt es nicht (Benutzername oder Kennung prüfen)."))
    return user_id


def read_calendar(
    ctx: ServiceContext, first: date, last: date, *, case_manager_id: str | None = None
) -> list[CalendarItem]:
    """The appointments starting on the office days ``first``..``last``, audited as a read (count only)."""
    require(ctx.actor, "appointment.read")
    if last < first:
        raise UserError(_("Das Ende des Zeitraums liegt vor dem Anfang."))
    with ctx.write() as session:
        managers = [case_manager_id] if case_manager_id else None
        items = calendar(session, first, last, case_manager_ids=managers)
        audit.record(
            session, "read", entity_type="appointment",
            detail={"count": len(items), "from": first.isoformat(), "to": last.isoformat()},
        )  # fmt: skip
        return items


def export_range(
    ctx: ServiceContext,
    first: date,
    last: date,
    *,
    case_manager_id: str | None = None,
    initials_only: bool = False,
    calendar_name: str | None = None,
) -> Export:
    """The appointments of ``first``..``last`` (optionally one case manager's) as .ics, audited."""
    require(ctx.actor, "appointment.read")
    if last < first:
        raise UserError(_("Das Ende des Zeitraums liegt vor dem Anfang."))
    with ctx.write() as session:
        managers = [case_manager_id] if case_manager_id else None
        items = [i for i in calendar(session, first, last, case_manager_ids=managers) if not i.busy_only]
        name = calendar_name
        if name is None:
            manager = session.get(UserAccount, case_manager_id) if case_manager_id else None
            name = f"KIM – {manager.display_name}" if manager is not None else "KIM Desktop"
        data = export_ics(session, items, initials_only=initials_only, calendar_name=name)
        return Export(data, len(items))


# --- import --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """``updated`` counts entries found again (changed or not); ``removed`` the entries of events the file
    now cancels or no longer contains as occurrences."""

    imported: int
    updated: int
    skipped: int
    removed: int = 0


@dataclass(frozen=True)
class _Busy:
    key: str  # stored as ical_uid
    group: str  # the UID's hash: all entries of one event (series) share it
    starts_at: datetime  # UTC, aware
    ends_at: datetime
    status: str


def _broken() -> UserError:
    return UserError(
        _("Die Kalenderdatei ist beschädigt und kann nicht gelesen werden. Es wurde nichts übernommen.")
    )


def _parse(data: bytes) -> Calendar:
    if not isinstance(data, bytes | bytearray):
        raise UserError(_("Das ist keine Kalenderdatei (.ics)."))
    if len(data) > MAX_FILE_BYTES:
        raise UserError(
            _(
                "Die Kalenderdatei ist zu groß (höchstens {mb} MB). Bitte einen kürzeren Zeitraum exportieren."
            ).format(mb=MAX_FILE_BYTES // (1024 * 1024))
        )
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if not head.startswith(b"BEGIN:VCALENDAR"):
        raise UserError(_("Das ist keine Kalenderdatei (.ics): sie beginnt nicht mit BEGIN:VCALENDAR."))
    if bytes(data).upper().count(b"BEGIN:VEVENT") > MAX_EVENTS:
        raise _too_many()
    try:
        cal = Calendar.from_ical(bytes(data).lstrip(b"\xef\xbb\xbf"))
    except Exception as exc:  # the parser raises ValueError, sometimes others: all mean a broken file
        log.warning("ics import: unreadable file (%s)", type(exc).__name__)
        raise _broken() from None
    if not isinstance(cal, Calendar) or cal.name != "VCALENDAR":
        raise _broken()
    return cal


def _too_many() -> UserError:
    return UserError(
        _("Die Kalenderdatei enthält zu viele Termine (höchstens {n}). Bitte einen kürzeren Zeitraum exportieren.")
        .format(n=f"{MAX_EVENTS:,}".replace(",", "."))
    )  # fmt: skip


def _bad_event(number: int) -> UserError:
    return UserError(
        _("Die Kalenderdatei ist beschädigt: Eintrag Nr. {n} hat kein gültiges Datum. Es wurde nichts übernommen.")
        .format(n=number)
    )  # fmt: skip


_DATE_PROPERTIES = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}


def _to_utc(value: date | datetime) -> datetime:
    """A start/end as aware UTC: aware as is, floating (naive) = office time, a date = its office day start."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else from_local(value)
    return day_bounds_utc(value)[0]


def _stamp(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return _to_utc(value).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _values(prop) -> list:
    """The dates of an RDATE/EXDATE property (one or several lines; periods count with their start)."""
    result = []
    for line in prop if isinstance(prop, list) else [prop]:
        for item in getattr(line, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # PERIOD: (start, end or duration)
                value = value[0]
            result.append(value)
    return result


def _pieces(start: date | datetime, end: date | datetime) -> list[tuple[datetime, datetime]]:
    """Busy intervals (UTC) for one occurrence: short timed events as they are, all-day and long ones as the
    office days they touch (06–14 and 14–22 each), never longer than MAX_DURATION."""
    if isinstance(start, datetime):
        s, e = _to_utc(start), _to_utc(end)
        if e <= s:
            return []
        if e - s <= MAX_DURATION:
            return [(s, e)]
        first, last = local_time(s).date(), local_time(e - timedelta(microseconds=1)).date()
    else:
        end = max(end, start + timedelta(days=1))  # some exporters write DTEND = DTSTART for one day
        first, last = start, end - timedelta(days=1)
        s, e = _to_utc(first), _to_utc(end)
    result = []
    day = first
    while day <= last:
        for a, b in zip(OFFICE_DAY, OFFICE_DAY[1:], strict=False):
            lo = max(s, from_local(datetime.combine(day, a)))
            hi = min(e, from_local(datetime.combine(day, b)))
            if hi > lo:
                result.append((lo, hi))
        day += timedelta(days=1)
    return result


def _occurrences(event: Component, start, window: tuple[datetime, datetime], number: int) -> tuple[list, int]:
    """Start values (same kind as ``start``) of a recurring event's occurrences that may touch ``window``
    (UTC), and how many were skipped (a SECONDLY/MINUTELY rule counts as one)."""
    all_day = not isinstance(start, datetime)
    base = datetime.combine(start, time(0)) if all_day else start

    def comparable(moment: datetime) -> datetime:  # a UTC bound in the kind of ``base``
        return moment if base.tzinfo is not None else local_time(moment).replace(tzinfo=None)

    starts: list[date | datetime] = []
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else ([rules] if rules is not None else []):
        recur = dict(rule)
        freq = str((recur.get("FREQ") or [""])[0]).upper()
        if freq in ("SECONDLY", "MINUTELY"):
            return [], 1
        until = (recur.pop("UNTIL", None) or [None])[0]
        try:
            parsed = rrulestr(type(rule)(recur).to_ical().decode(), dtstart=base)
            if until is not None:
                if not isinstance(until, datetime):
                    until = datetime.combine(until, time(23, 59, 59))
                    if base.tzinfo is not None:
                        until = until.replace(tzinfo=base.tzinfo)
                elif base.tzinfo is None and until.tzinfo is not None:
                    until = local_time(until).replace(tzinfo=None)
                elif base.tzinfo is not None and until.tzinfo is None:
                    until = until.replace(tzinfo=base.tzinfo)
                parsed = parsed.replace(until=until)
            # Occurrences that start up to 2 days before the window may still reach into it (all-day, long).
            lower, upper = comparable(window[0] - timedelta(days=2)), comparable(window[1])
            for occurrence in parsed.xafter(lower, inc=True):
                if occurrence >= upper or len(starts) > 10 * MAX_OCCURRENCES:
                    break
                starts.append(occurrence.date() if all_day else occurrence)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):
            raise _bad_event(number) from None
    for value in _values(event.get("RDATE")) if event.get("RDATE") is not None else []:
        if all_day != (not isinstance(value, datetime)):
            raise _bad_event(number)
        starts.append(value)
    excluded = {_stamp(v) for v in _values(event.get("EXDATE"))} if event.get("EXDATE") is not None else set()
    return [s for s in dict.fromkeys(starts) if _stamp(s) not in excluded], 0


def _busy_entries(cal: Calendar, today: date) -> tuple[list[_Busy], int, set[str], set[str]]:
    """(entries, skipped, groups present in the file, raw UIDs) for the events of ``cal``."""
    window_start = day_bounds_utc(today)[0]
    window_end = window_start + HORIZON
    events = list(cal.walk("VEVENT"))
    if len(events) > MAX_EVENTS:
        raise _too_many()
    entries: list[_Busy] = []
    skipped = 0
    groups: set[str] = set()
    uids: dict[int, str] = {}
    overrides: dict[str, set[str]] = {}
    for number, event in enumerate(events, start=1):
        if any(name.upper() in _DATE_PROPERTIES for name, _msg in getattr(event, "errors", [])):
            raise _bad_event(number)
        uid = str(event.get("UID") or "").strip()
        if not uid:  # RFC 5545 requires one; without it, the times identify the event
            uid = "no-uid:" + str(event.get("DTSTART").to_ical() if event.get("DTSTART") else b"")
            uid += "/" + str(event.get("DTEND").to_ical() if event.get("DTEND") else b"")
        uids[number] = uid
        if event.get("RECURRENCE-ID") is not None:
            overrides.setdefault(uid, set()).add(_stamp(event.decoded("RECURRENCE-ID")))
    raw_uids = set(uids.values())
    for number, event in enumerate(events, start=1):
        uid = uids[number]
        group = "ics-" + hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        groups.add(group)
        try:
            start = event.decoded("DTSTART")
        except KeyError:
            raise _bad_event(number) from None
        if not isinstance(start, date):
            raise _bad_event(number)
        if event.get("DTEND") is not None:
            end = event.decoded("DTEND")
            if type(end) is not type(start) and not (
                isinstance(end, datetime) and isinstance(start, datetime)
            ):
                raise _bad_event(number)
        elif event.get("DURATION") is not None:
            duration = event.decoded("DURATION")
            if not isinstance(duration, timedelta):
                raise _bad_event(number)
            end = start + duration
        else:
            end = start if isinstance(start, datetime) else start + timedelta(days=1)
        status = str(event.get("STATUS") or "").upper()
        free = str(event.get("TRANSP") or "").upper() == "TRANSPARENT" or (
            str(event.get("X-MICROSOFT-CDO-BUSYSTATUS") or "").upper() == "FREE"
        )
        if status == "CANCELLED" or free:
            skipped += 1
            continue
        stored_status = "planned" if status == "TENTATIVE" else "confirmed"
        recurrence_id = event.get("RECURRENCE-ID")
        recurring = recurrence_id is None and (
            event.get("RRULE") is not None or event.get("RDATE") is not None
        )
        if recurring:
            occurrence_starts, extra = _occurrences(event, start, (window_start, window_end), number)
            skipped += extra
            length = end - start
            occurrences = [
                (s, s + length, _stamp(s))
                for s in occurrence_starts
                if _stamp(s) not in overrides.get(uid, set())
            ]
        elif recurrence_id is not None:
            occurrences = [(start, end, _stamp(event.decoded("RECURRENCE-ID")))]
        else:
            occurrences = [(start, end, "")]
        taken = 0
        for occ_start, occ_end, stamp in occurrences:
            pieces = _pieces(occ_start, occ_end)
            if not pieces:
                skipped += 1
                continue
            if pieces[-1][1] <= window_start or pieces[0][0] >= window_end:
                skipped += 1 if not recurring else 0  # past occurrences of a series are simply not due
                continue
            if recurring and taken >= MAX_OCCURRENCES:
                skipped += 1
                continue
            taken += 1
            for index, (lo, hi) in enumerate(pieces):
                suffix = f"#{index + 1}" if len(pieces) > 1 else ""
                key = f"{group}|{stamp}{suffix}" if stamp or suffix else group
                entries.append(_Busy(key, group, lo, hi, stored_status))
            if len(entries) > MAX_ENTRIES:
                raise _too_many()
    return entries, skipped, groups, raw_uids


def import_busy_ics(
    ctx: ServiceContext, data: bytes, *, case_manager_id: str | None, today: date | None = None
) -> ImportResult:
    """Store the events of an .ics file as busy time of ``case_manager_id`` (None: of nobody in particular).

    ``today`` (default: the current office day) starts the window; see the module docstring for the rules.
    Raises ``UserError`` (German, no names) for bad input; then nothing is stored.
    """
    require(ctx.actor, "appointment.write")
    cal = _parse(data)
    today = today or local_time(utcnow()).date()
    entries, skipped, groups, raw_uids = _busy_entries(cal, today)
    window_start = day_bounds_utc(today)[0]
    with ctx.write() as session:
        if case_manager_id is not None:
            manager = session.get(UserAccount, case_manager_id)
            if manager is None or manager.deleted_at is not None:
                raise NotFoundError(_("Die Fachkraft gibt es nicht (mehr)."))
        # KIM's own appointments coming back through Outlook: not busy time, they are already here.
        own: set[str] = set()
        uid_list = list(raw_uids)
        for offset in range(0, len(uid_list), 500):
            chunk = uid_list[offset : offset + 500]
            own.update(
                session.scalars(
                    select(Appointment.ical_uid).where(
                        Appointment.ical_uid.in_(chunk), Appointment.busy_only.is_(False)
                    )
                )
            )
        own_groups = {
            "ics-" + hashlib.sha256(u.encode("utf-8", "surrogatepass")).hexdigest()[:40] for u in own
        }
        if own_groups:
            before = len({e.group for e in entries})
            entries = [e for e in entries if e.group not in own_groups]
            skipped += before - len({e.group for e in entries})
        existing = {
            row.ical_uid: row
            for row in session.scalars(
                select(Appointment).where(
                    Appointment.busy_only.is_(True),
                    Appointment.deleted_at.is_(None),
                    Appointment.case_manager_id.is_(None)
                    if case_manager_id is None
                    else Appointment.case_manager_id == case_manager_id,
                )
            )
        }
        imported = updated = removed = 0
        produced: set[str] = set()
        for entry in entries:
            if entry.key in produced:  # the same occurrence twice in the file: the first one counts
                skipped += 1
                continue
            produced.add(entry.key)
            row = existing.get(entry.key)
            if row is None:
                session.add(
                    Appointment(
                        type=BUSY_TYPE, title=BUSY_TITLE, starts_at=entry.starts_at, ends_at=entry.ends_at,
                        case_manager_id=case_manager_id, status=entry.status, busy_only=True, ical_uid=entry.key,
                    )
                )  # fmt: skip
                imported += 1
                continue
            updated += 1
            if as_utc(row.starts_at) != entry.starts_at:
                row.starts_at = entry.starts_at
            if as_utc(row.ends_at) != entry.ends_at:
                row.ends_at = entry.ends_at
            if row.status != entry.status:
                row.status = entry.status
        now = utcnow()
        for key, row in existing.items():
            group = key.split("|", 1)[0]
            if group in groups and key not in produced and as_utc(row.starts_at) >= window_start:
                row.deleted_at = now
                removed += 1
        audit.record(
            session, "import", entity_type="appointment",
            detail={"format": "ics", "busy_only": True, "imported": imported, "updated": updated,
                    "skipped": skipped, "removed": removed},
        )  # fmt: skip
    return ImportResult(imported, updated, skipped, removed)
