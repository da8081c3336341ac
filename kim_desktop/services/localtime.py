"""Office time (Europe/Berlin) ↔ stored time (UTC). No Qt.

Times are stored in UTC (SQLite keeps no zone: a naive stored value *is* UTC). Everything a person sees or
types is office time: a naive value from the GUI or the CLI counts as Europe/Berlin, so "10:00" stays 10:00
on both sides of the summer-time change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OFFICE_TIMEZONE = ZoneInfo("Europe/Berlin")


def local_time(moment: datetime) -> datetime:
    """A stored (UTC) time as office time; naive values count as UTC (SQLite drops the zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(OFFICE_TIMEZONE)


def from_local(moment: datetime) -> datetime:
    """An office time typed by a person (naive = Europe/Berlin) as an aware UTC datetime for storing.

    A wall time that does not exist (02:30 on the last Sunday of March) moves forward by the gap; an ambiguous
    one (02:30 on the last Sunday of October) is taken as the first, summer-time occurrence (``fold=0``).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=OFFICE_TIMEZONE)
    return moment.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored value (naive = UTC) as an aware UTC datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """[start, end) of the office day ``day`` in UTC (23 or 25 hours on the summer-time change days)."""
    start = datetime.combine(day, time(0), tzinfo=OFFICE_TIMEZONE).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=OFFICE_TIMEZONE).astimezone(UTC)
    return start, end


def range_bounds_utc(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of ``first``, end of ``last``) in UTC."""
    return day_bounds_utc(first)[0], day_bounds_utc(last)[1]
