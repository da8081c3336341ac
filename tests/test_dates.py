"""Partial birth dates as counsellors meet them (kim_desktop.services.dates)."""

from __future__ import annotations

from datetime import date

import pytest

from kim_desktop.errors import UserError
from kim_desktop.services.dates import PartialDate, age_on, parse_date, parse_partial_date

TODAY = date(2026, 6, 15)


# --- parsing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.05.1990", PartialDate(1990, 5, 12)),
        ("5.3.1990", PartialDate(1990, 3, 5)),
        ("  12.05.1990  ", PartialDate(1990, 5, 12)),
        ("05.1990", PartialDate(1990, 5)),
        ("5.1990", PartialDate(1990, 5)),
        ("05/1990", PartialDate(1990, 5)),
        ("1990", PartialDate(1990)),
        ("1990-05-12", PartialDate(1990, 5, 12)),
        ("1990-5-2", PartialDate(1990, 5, 2)),
        ("1990-05", PartialDate(1990, 5)),
        ("29.02.2000", PartialDate(2000, 2, 29)),  # leap year
    ],
)
def test_parse_accepted_forms(text, expected):
    assert parse_partial_date(text, today=TODAY) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_empty_input_means_unknown(text):
    assert parse_partial_date(text, today=TODAY) is None
    assert parse_date(text, today=TODAY) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("31.02.2001", "Den 31.02.2001 gibt es nicht"),
        ("29.02.2001", "Den 29.02.2001 gibt es nicht"),  # not a leap year
        ("31.04.2001", "Den 31.04.2001 gibt es nicht"),
        ("00.01.2001", "gibt es nicht"),
        ("2001-02-30", "Den 30.02.2001 gibt es nicht"),
        ("13.2001", "Den Monat 13 gibt es nicht"),
        ("2001-13", "Den Monat 13 gibt es nicht"),
        ("00.2001", "Den Monat 0 gibt es nicht"),
        ("1899", "Das Jahr 1899 ist nicht plausibel"),
        ("12.05.90", "kein gültiges Datum"),  # two-digit years are ambiguous
        ("12-05-1990", "kein gültiges Datum"),
        ("Mai 1990", "kein gültiges Datum"),
        ("abc", "kein gültiges Datum"),
    ],
)
def test_impossible_or_unreadable_dates_are_refused_in_german(text, fragment):
    with pytest.raises(UserError) as info:
        parse_partial_date(text, today=TODAY)
    assert fragment in info.value.message
    assert str(info.value) == info.value.message


def test_error_message_shows_a_shortened_printable_copy_of_the_input():
    with pytest.raises(UserError) as info:
        parse_partial_date("x\x00" + "y" * 200, today=TODAY)
    message = info.value.message
    assert "\x00" not in message
    assert "…" in message
    assert len(message) < 150


# --- future dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["16.06.2026", "07.2026", "2027", "2026-06-16"])
def test_future_birth_date_refused(text):
    with pytest.raises(UserError) as info:
        parse_partial_date(text, today=TODAY)
    assert info.value.message == "Ein Geburtsdatum kann nicht in der Zukunft liegen."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.06.2026", PartialDate(2026, 6, 15)),  # born today
        ("06.2026", PartialDate(2026, 6)),  # this month: could be before today
        ("2026", PartialDate(2026)),  # this year
    ],
)
def test_birth_dates_up_to_today_accepted(text, expected):
    assert parse_partial_date(text, today=TODAY) == expected


def test_future_dates_allowed_where_they_make_sense():
    # e.g. "Aufenthaltserlaubnis gültig bis"
    assert parse_partial_date("2030", allow_future=True, today=TODAY) == PartialDate(2030)
    assert parse_date("31.12.2030", today=TODAY) == date(2030, 12, 31)


def test_parse_date_requires_a_full_date():
    with pytest.raises(UserError) as info:
        parse_date("05.2030", today=TODAY)
    assert "vollständiges Datum" in info.value.message
    with pytest.raises(UserError):
        parse_date("31.02.2030", today=TODAY)


# --- placeholders and output ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["01.01.1985", "1985-01-01", "1.1.1985"])
def test_01_01_placeholder_is_kept_exactly(text):
    parsed = parse_partial_date(text, today=TODAY)
    assert (parsed.year, parsed.month, parsed.day) == (1985, 1, 1)
    assert parsed.is_full
    assert parsed.iso() == "1985-01-01"
    assert parsed.german() == "01.01.1985"
    assert parsed.as_date() == date(1985, 1, 1)


@pytest.mark.parametrize(
    ("value", "iso", "german", "full"),
    [
        (PartialDate(1990, 5, 2), "1990-05-02", "02.05.1990", True),
        (PartialDate(1990, 5), "1990-05", "05.1990", False),
        (PartialDate(1990), "1990", "1990", False),
    ],
)
def test_output_forms(value, iso, german, full):
    assert value.iso() == iso
    assert value.german() == german
    assert value.is_full is full
    # German and ISO output parse back to the same value
    assert parse_partial_date(german, today=TODAY) == value
    assert parse_partial_date(iso, today=TODAY) == value


def test_partial_date_without_full_day_has_no_calendar_date_but_an_earliest_day():
    assert PartialDate(1990, 5).as_date() is None
    assert PartialDate(1990).as_date() is None
    assert PartialDate(1990, 5).earliest() == date(1990, 5, 1)
    assert PartialDate(1990).earliest() == date(1990, 1, 1)


def test_day_without_month_is_impossible():
    with pytest.raises(ValueError):
        PartialDate(1990, None, 5)


def test_from_parts():
    assert PartialDate.from_parts(None, None, None) is None
    assert PartialDate.from_parts(1990, None, None) == PartialDate(1990)
    assert PartialDate.from_parts(1990, 1, 1) == PartialDate(1990, 1, 1)


# --- compatible_with ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (PartialDate(1990, 5, 12), PartialDate(1990, 5, 12), True),
        (PartialDate(1990, 5, 12), PartialDate(1990, 5, 13), False),
        (PartialDate(1990, 5, 12), PartialDate(1990, 5), True),
        (PartialDate(1990, 5, 12), PartialDate(1990, 6), False),
        (PartialDate(1990, 5, 12), PartialDate(1990), True),
        (PartialDate(1990, 5), PartialDate(1990), True),
        (PartialDate(1990), PartialDate(1991), False),
        (PartialDate(1990, 5, 12), PartialDate(1991, 5, 12), False),
        (PartialDate(1990, 1, 1), PartialDate(1990), True),
        (PartialDate(1990), None, True),
    ],
)
def test_compatible_with(a, b, expected):
    assert a.compatible_with(b) is expected
    if b is not None:  # symmetric
        assert b.compatible_with(a) is expected


# --- age_on ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (PartialDate(2000, 5, 12), date(2018, 5, 11), 17),
        (PartialDate(2000, 5, 12), date(2018, 5, 12), 18),  # the birthday itself
        (PartialDate(2000, 5, 12), date(2018, 12, 31), 18),
        # partial dates give the youngest possible age (conservative for "under 18" and age bands)
        (PartialDate(2000), date(2018, 12, 30), 17),
        (PartialDate(2000), date(2018, 12, 31), 18),
        (PartialDate(2000, 5), date(2018, 5, 30), 17),  # could be born 31.05.2000
        (PartialDate(2000, 5), date(2018, 5, 31), 18),
        # February 2000 had 29 days; someone born 29.02. counts as 18 from 01.03. (as for the full date)
        (PartialDate(2000, 2), date(2018, 2, 28), 17),
        (PartialDate(2000, 2, 29), date(2018, 2, 28), 17),
        (PartialDate(2000, 2), date(2018, 3, 1), 18),
        (PartialDate(2001, 2), date(2019, 2, 28), 18),  # February 2001 had 28 days
        # the 01.01. placeholder is a real date for age purposes
        (PartialDate(2000, 1, 1), date(2018, 1, 1), 18),
        (PartialDate(2000, 1, 1), date(2017, 12, 31), 17),
    ],
)
def test_age_on(birth, on, age):
    assert age_on(birth, on) == age


def test_age_on_unknown_and_before_birth():
    assert age_on(None, date(2020, 1, 1)) is None
    assert age_on(PartialDate(2020, 5, 1), date(2020, 1, 1)) == 0
