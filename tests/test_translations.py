"""The English catalogue is complete, compiled and consistent with the German message ids in the code.

If a test here fails after you changed a UI text: run ``uv run python scripts/update_translations.py``,
translate the new entries in ``resources/translations/en/LC_MESSAGES/kim_desktop.po`` and run it again.
"""

from __future__ import annotations

import importlib.util
import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo

from kim_desktop.i18n import _, current_language, set_language

ROOT = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "update_translations", ROOT / "scripts" / "update_translations.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tools = _load_script()


@pytest.fixture(scope="module")
def extracted():
    return tools.extract()


@pytest.fixture(scope="module")
def english():
    return tools.read_catalog(tools.po_path("en"), "en")


def _strings(message) -> list[str]:
    value = message.string
    return list(value) if isinstance(value, tuple | list) else [value]


def _ids(message) -> list[str]:
    value = message.id
    return list(value) if isinstance(value, tuple | list) else [value]


def _fields(text: str) -> set[tuple[str, str, str | None]]:
    """The replacement fields of a ``str.format`` template: (name, format spec, conversion)."""
    return {
        (name, spec or "", conv)
        for _lit, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    }


def _accelerators(text: str) -> int:
    return len(re.findall(r"&(?!&)", text.replace("&&", "")))


def test_code_has_messages(extracted):
    ids = {m.id for m in extracted if m.id}
    assert len(ids) > 100
    assert "Familienname" in ids and "Bitte geben Sie den Familiennamen ein." in ids


def test_every_message_in_code_is_translated(extracted, english):
    problems = []
    for message in extracted:
        if not message.id:
            continue
        entry = english.get(message.id, context=message.context)
        locations = ", ".join(f"{f}:{n}" for f, n in message.locations)
        if entry is None:
            problems.append(f"missing: {message.id!r} ({locations})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message.id!r} ({locations})")
        elif not all(_strings(entry)):
            problems.append(f"empty: {message.id!r} ({locations})")
    assert not problems, "run scripts/update_translations.py and translate:\n" + "\n".join(problems)


def test_placeholders_and_accelerators_match(english):
    problems = []
    for message in english:
        if not message.id or not all(_strings(message)):
            continue
        ids = _ids(message)
        for translated in _strings(message):
            wanted = set().union(*(_fields(i) for i in ids))
            # plural forms: a singular translation may leave out {n}
            ok = _fields(translated) == wanted if len(ids) == 1 else _fields(translated) <= wanted
            if not ok:
                problems.append(f"placeholders differ: {message.id!r} -> {translated!r}")
            if _accelerators(translated) != _accelerators(ids[0]):
                problems.append(f"accelerator (&) count differs: {message.id!r} -> {translated!r}")
    assert not problems, "\n".join(problems)


def test_committed_mo_equals_fresh_compile(english):
    mo_file = tools.mo_path("en")
    assert mo_file.is_file(), "compile with scripts/update_translations.py"
    fresh = io.BytesIO()
    write_mo(fresh, english, use_fuzzy=False)
    if fresh.getvalue() == mo_file.read_bytes():
        return
    fresh.seek(0)
    with mo_file.open("rb") as handle:
        committed = read_mo(handle)
    compiled = read_mo(fresh)

    def table(catalog):
        return {
            (m.context, m.id if not isinstance(m.id, list) else tuple(m.id)): m.string
            for m in catalog
            if m.id
        }

    assert table(committed) == table(compiled), "the .mo is stale: run scripts/update_translations.py"


def test_set_language_switches_and_back():
    before = current_language()
    try:
        set_language("en")
        assert _("Familienname") == "Family name"
        assert _("&Speichern") == "&Save"
        assert _("Den {day:02d}.{month:02d}.{year} gibt es nicht.").format(day=31, month=2, year=1990) == (
            "The date 31.02.1990 does not exist."
        )
        set_language("de")
        assert _("Familienname") == "Familienname"
    finally:
        set_language(before)


def test_english_validation_message_through_services():
    """The services' messages come from the same catalogue (Qt-free ``_``)."""
    from kim_desktop.errors import ValidationError
    from kim_desktop.services.persons import validate_person

    before = current_language()
    try:
        set_language("en")
        with pytest.raises(ValidationError) as info:
            validate_person({"family_name": "  "}, partial=True)
        assert info.value.field_errors["family_name"] == "Please enter the family name."
    finally:
        set_language(before)
