"""Dates as counsellors meet them: full, month+year, year only, or unknown birth dates.

``01.01.YYYY`` is a common placeholder in refugees' documents; it is kept exactly as given, never
"corrected". Input accepts German (``TT.MM.JJJJ``, ``MM.JJJJ``) and ISO forms (``YYYY-MM-DD``, ``YYYY-MM``)
and a bare year. Output for machines is ISO 8601 with reduced precision where the date is partial.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ..errors import UserError
from ..i18n import _

MIN_YEAR = 1900

_PATTERNS = (
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[./](\d{4})$"), ("m", "y")),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{4})$"), ("y",)),
)


@dataclass(frozen=True, order=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("day without month")

    @property
    def is_full(self) -> bool:
        return self.day is not None

    def iso(self) -> str:
        if self.day is not None:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month is not None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"

    def german(self) -> str:
        if self.day is not None:
            return f"{self.day:02d}.{self.month:02d}.{self.year:04d}"
        if self.month is not None:
            return f"{self.month:02d}.{self.year:04d}"
        return f"{self.year:04d}"

    def as_date(self) -> date | None:
        return date(self.year, self.month, self.day) if self.day is not None else None

    def earliest(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def compatible_with(self, other: PartialDate | None) -> bool:
        """Could both describe the same birth date? Unknown parts match anything."""
        if other is None:
            return True
        if self.year != other.year:
            return False
        if self.month is not None and other.month is not None and self.month != other.month:
            return False
        return self.day is None or other.day is None or self.day == other.day

    @classmethod
    def from_parts(cls, year: int | None, month: int | None, day: int | None) -> PartialDate | None:
        if year is None:
            return None
        return cls(year, month, day)


def parse_partial_date(
    text: str | None, *, allow_future: bool = False, today: date | None = None
) -> PartialDate | None:
    """Parse user input; empty means unknown (``None``). Raises ``UserError`` in German otherwise."""
    if text is None:
        return None
    value = text.strip()
    if not value:
        return None
    for pattern, order in _PATTERNS:
        match = pattern.match(value)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            return _checked(parts.get("y"), parts.get("m"), parts.get("d"), allow_future, today or date.today())
    raise UserError(
        _("„{value}“ ist kein gültiges Datum. Erlaubt sind TT.MM.JJJJ, MM.JJJJ oder JJJJ.").format(
            value=_shorten(value)
        )
    )


def parse_date(text: str | None, *, allow_future: bool = True, today: date | None = None) -> date | None:
    """A full calendar date (e.g. "gültig bis"); empty means none."""
    partial = parse_partial_date(text, allow_future=True, today=today)
    if partial is None:
        return None
    if not allow_future and partial.earliest() > (today or date.today()):
        raise UserError(_("Das Datum liegt in der Zukunft."))
    if not partial.is_full:
        raise UserError(_("Bitte geben Sie ein vollständiges Datum an (TT.MM.JJJJ)."))
    return partial.as_date()


def _checked(year: int, month: int | None, day: int | None, allow_future: bool, today: date) -> PartialDate:
    if year < MIN_YEAR or year > 2200:
        raise UserError(_("Das Jahr {year} ist nicht plausibel.").format(year=year))
    if month is not None and not 1 <= month <= 12:
        raise UserError(_("Den Monat {month} gibt es nicht.").format(month=month))
    if day is not None:
        try:
            date(year, month, day)
        except ValueError:
            raise UserError(
                _("Den {day:02d}.{month:02d}.{year} gibt es nicht.").format(day=day, month=month, year=year)
            ) from None
    result = PartialDate(year, month, day)
    if not allow_future and result.earliest() > today:
        raise UserError(_("Ein Geburtsdatum kann nicht in der Zukunft liegen."))
    return result


def _shorten(value: str, limit: int = 30) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in value)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def age_on(birth: PartialDate | None, on: date) -> int | None:
    """Age in whole years; for partial dates the youngest possible age (conservative for age bands)."""
    if birth is None:
        return None
    month = birth.month or 12
    # The last possible birthday of the period: 31.12. for a year, the month's last day for month+year.
    day = birth.day or calendar.monthrange(birth.year, month)[1]
    years = on.year - birth.year
    if (on.month, on.day) < (month, day):
        years -= 1
    return max(years, 0)
