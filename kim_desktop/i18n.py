"""One place for UI language, dates, numbers and the names of countries and languages.

UI strings go through GNU gettext (see docs/decisions/002-translations-gettext.md): the message ids are the
German texts (German is the primary language), ``resources/translations/en/LC_MESSAGES/kim_desktop.po``
holds the English catalogue. Qt-free, so services and reports use the same ``_()`` as the GUI.

Country and language names come from Babel's CLDR data, never from lists typed by hand. Babel is imported
lazily: start-up of the GUI does not pay for it.
"""

from __future__ import annotations

import gettext as _gettext
from datetime import date, datetime
from functools import cache
from pathlib import Path

from .resources import resource_path

SUPPORTED_LANGUAGES = ("de", "en")
DOMAIN = "kim_desktop"

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "de"


def set_language(language: str) -> None:
    """Switch the UI language for every later ``_()`` call (``de`` or ``en``)."""
    global _translation, _language
    if language not in SUPPORTED_LANGUAGES:
        language = "de"
    _language = language
    if language == "de":
        _translation = _gettext.NullTranslations()
    else:
        _translation = _gettext.translation(
            DOMAIN, localedir=str(translations_dir()), languages=[language], fallback=True
        )


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate a German UI text into the current language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """A German text whose translation depends on where it is used (e.g. "Ort" of an address or of a
    Termin: "City" or "Place")."""
    return _translation.pgettext(context, message)


def translations_dir() -> Path:
    return resource_path("translations")


# --- Babel-backed formatting ----------------------------------------------------------------------------


@cache
def _locale(language: str):
    from babel import Locale

    return Locale.parse(language)


def format_date(value: date | datetime | None, fmt: str = "dd.MM.yyyy") -> str:
    """Dates as German letters and forms want them: ``27.11.2026`` (four-digit year)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if fmt == "dd.MM.yyyy":  # the everyday case, without loading CLDR data
        return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, format=fmt, locale=_locale(_language))


def format_number(value: float | int, language: str | None = None) -> str:
    language = language or _language
    if isinstance(value, int):  # the everyday case (counts), without loading CLDR data at start
        text = f"{value:,}"
        return text.replace(",", ".") if language == "de" else text
    from babel.numbers import format_decimal

    return format_decimal(value, locale=_locale(language))


# Codes the office needs beyond ISO 3166: unknown nationality, stateless, Kosovo (not in ISO yet).
_EXTRA_COUNTRIES = {
    "de": {"XX": "ungeklärt", "XS": "staatenlos", "XK": "Kosovo"},
    "en": {"XX": "unknown", "XS": "stateless", "XK": "Kosovo"},
}


@cache
def countries(language: str | None = None) -> dict[str, str]:
    """ISO alpha-2 code → country name in the UI language, sorted by name (locale-aware)."""
    language = language or _language
    loc = _locale(language)
    names = {code: name for code, name in loc.territories.items() if len(code) == 2 and code.isalpha()}
    for code in ("EU", "EZ", "UN", "QO", "ZZ"):  # regions, not countries
        names.pop(code, None)
    names.update(_EXTRA_COUNTRIES.get(language, _EXTRA_COUNTRIES["en"]))
    return dict(sorted(names.items(), key=lambda kv: sort_key(kv[1])))


def country_name(code: str | None, language: str | None = None) -> str:
    if not code:
        return ""
    return countries(language or _language).get(code.upper(), code)


@cache
def languages(language: str | None = None) -> dict[str, str]:
    """Language code → language name for the languages counsellors meet (CLDR names)."""
    loc = _locale(language or _language)
    names = {}
    for code in resource_lines("codelists/languages.txt"):
        name = loc.languages.get(code)
        if name:
            names[code] = name
    return dict(sorted(names.items(), key=lambda kv: sort_key(kv[1])))


def language_name(code: str | None, language: str | None = None) -> str:
    if not code:
        return ""
    loc = _locale(language or _language)
    return languages(language or _language).get(code) or loc.languages.get(code, code)


def resource_lines(name: str) -> list[str]:
    text = resource_path(name).read_text(encoding="utf-8")
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


_SORT_TABLE = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "Ä": "a", "Ö": "o", "Ü": "u"})


def sort_key(text: str) -> str:
    """DIN 5007-1 style sort key (umlauts sort with their base letter)."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.translate(_SORT_TABLE).casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))
