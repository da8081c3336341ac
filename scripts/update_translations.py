"""Refresh the gettext catalogues: extract the German texts, merge them into every .po, compile the .mo files.

Usage (from the repository root)::

    uv run python scripts/update_translations.py           # extract, merge, compile
    uv run python scripts/update_translations.py --check   # exit 1 if a message is missing/untranslated

After a run, translate the new (empty) and ``fuzzy`` entries in
``resources/translations/<lang>/LC_MESSAGES/kim_desktop.po`` and run the script again to compile.
Fuzzy and empty entries are not compiled: the program shows the German text for them.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "kim_desktop"
TRANSLATIONS_DIR = ROOT / "resources" / "translations"
DOMAIN = "kim_desktop"
POT_FILE = TRANSLATIONS_DIR / f"{DOMAIN}.pot"
LANGUAGES = ("en",)  # German is the source language (the msgids)

KEYWORDS = {"_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
METHOD_MAP = [("**.py", "python")]
COMMENT_TAGS = ("TRANSLATORS:",)
WIDTH = 110
HEADER_COMMENT = """\
# {language_name} translations for KIM Desktop.
# The message ids are the German texts of the user interface (German is the source language).
# Refresh with: uv run python scripts/update_translations.py
# This file is distributed under the same license as the KIM Desktop project (EUPL-1.2).
#"""
_VOLATILE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): .*$', re.MULTILINE)


def po_path(language: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def extract() -> Catalog:
    """All ``_()`` and ``ngettext()`` messages of the package, as a template catalogue."""
    from kim_desktop import __version__

    catalog = Catalog(project="KIM Desktop", version=__version__, charset="utf-8", msgid_bugs_address="")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE_DIR),
        method_map=METHOD_MAP,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        location = (f"kim_desktop/{Path(filename).as_posix()}", lineno)
        catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def render_catalog(catalog: Catalog, **options) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, sort_by_file=True, **options)
    return buffer.getvalue()


def write_catalog(catalog: Catalog, path: Path, **options) -> bool:
    """Write a .pot/.po, but leave the file alone when only its dates would change; True if written."""
    if path.exists() and _VOLATILE.sub(b"", path.read_bytes()) == _VOLATILE.sub(
        b"", render_catalog(catalog, **options)
    ):
        return False
    if catalog.locale is not None:  # a translation: record when it last changed
        catalog.revision_date = datetime.now(UTC)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_catalog(catalog, **options))
    return True


def compile_catalog(language: str) -> list[str]:
    """Write the .mo of ``language``; returns the msgids that are not (usably) translated."""
    catalog = read_catalog(po_path(language), language)
    missing = [
        str(message.id)
        for message in catalog
        if message.id and (message.fuzzy or not _translated(message.string))
    ]
    with mo_path(language).open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)
    return missing


def _translated(string) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def missing_messages(language: str) -> list[str]:
    template = extract()
    catalog = read_catalog(po_path(language), language)
    problems = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        if entry is None or entry.fuzzy or not _translated(entry.string):
            problems.append(str(message.id))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report missing translations (exit 1 if any)"
    )
    args = parser.parse_args(argv)
    if args.check:
        status = 0
        for language in LANGUAGES:
            for msgid in missing_messages(language):
                print(f"{language}: not translated: {msgid!r}")
                status = 1
        return status

    template = extract()
    write_catalog(template, POT_FILE)
    print(f"{POT_FILE.relative_to(ROOT)}: {len(template)} messages")
    for language in LANGUAGES:
        path = po_path(language)
        if path.exists():
            catalog = read_catalog(path, language)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, charset="utf-8")
            catalog.header_comment = HEADER_COMMENT.format(language_name=catalog.locale.english_name)
        catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
        catalog.project, catalog.version = template.project, template.version
        catalog.msgid_bugs_address = template.msgid_bugs_address
        catalog.last_translator = "KIM Desktop developers"
        catalog.language_team = f"{catalog.locale.english_name} <>"
        catalog.fuzzy = False
        write_catalog(catalog, path, ignore_obsolete=True)
        missing = compile_catalog(language)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages, {len(missing)} to translate")
        for msgid in missing:
            print(f"  {msgid!r}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
