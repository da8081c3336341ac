"""Import of persons from Excel (.xlsx) and CSV files, with a dry run, a rejects file and undo. No Qt.

The steps, each usable on its own (the GUI wizard calls them one by one, the CLI in one go):

1. :func:`read_table` reads the first sheet of an ``.xlsx`` workbook (openpyxl, read-only) or a CSV file
   (UTF-8 with or without BOM, else Windows-1252 as German Excel writes it; ``;``, ``,`` or tab detected
   from the header line). Line numbers are the spreadsheet's row numbers: the header is line 1, empty
   lines count. Bad files (empty, only a header, binary garbage, merged cells, too large, old ``.xls``)
   raise a ``UserError`` with a German sentence before anything is checked or written.
2. A :class:`ImportMapping` says which column feeds which field (``columns``: header → field) and, optionally,
   what a value written in the file means (``values``: field → {written value → code}). It comes from
   :func:`auto_mapping` (the canonical German headers and common variants), from a JSON file
   (``--mapping``) or from the mappings saved in the ``setting`` table (:func:`saved_mappings`).
3. :func:`check_rows` validates every row with ``persons.validate_person``, resolves residence status, sex,
   nationalities, countries and languages to codes (names through Babel), and looks for probable
   duplicates of stored persons (``duplicates.find_duplicates``) and of earlier rows of the same file.
   Invalid rows are *rejected* (line number and German reason); values that match no code are kept as
   written in the person's note and *flagged* for review, never rejected.
4. :func:`run_import` does all of that and, unless it is a dry run, writes the valid rows in **one**
   transaction together with an :class:`~kim_desktop.db.models.ImportBatch` record: a cancelled or failed
   import leaves nothing behind. :func:`undo_import` removes exactly the persons of one batch, and refuses
   when some of them have been worked on since (a case, an appointment, a change, …).

Decisions: of a workbook with several sheets the first one is read (a notice says so; ``sheet=`` picks
another). Merged cells are refused: their value stands in one cell only and the rows below would be read
as empty. The column "Aktenzeichen" has no person field (file numbers belong to cases): it is kept in the
person's note so it can be found and a case opened with it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from ..db.base import new_id, utcnow
from ..db.models import (
    Base,
    ChangeRecord,
    CodeEntry,
    ImportBatch,
    ImportBatchPerson,
    Person,
    PersonLanguage,
    PersonNameVariant,
    PersonNationality,
    ResidenceStatusChange,
    SearchKey,
    Setting,
)
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _, ngettext
from . import audit, duplicates, permissions
from .context import ServiceContext
from .dates import PartialDate

#: Files larger than this are refused before they are read (a 10,000-row sheet is about 2 MB).
MAX_FILE_BYTES = 50 * 1024 * 1024
#: Data rows per file; more are refused (split the file).
MAX_ROWS = 100_000
MAX_COLUMNS = 200
#: Unpacked size of one sheet of an .xlsx file (a zip bomb guard).
MAX_SHEET_XML_BYTES = 1024 * 1024 * 1024
#: The ``setting`` key under which mappings are saved by name.
SETTING_KEY = "person_import_mappings"
#: Rows checked or written between two progress reports (and cancel checks).
PROGRESS_EVERY = 50
_WRITE_CHUNK = 500

#: field → the canonical German column header. The order is the order of the GUI's field list.
FIELD_HEADERS: dict[str, str] = {
    "family_name": "Nachname",
    "given_names": "Vorname",
    "birth_date": "Geburtsdatum",
    "sex": "Geschlecht",
    "nationalities": "Staatsangehörigkeit",
    "country_of_birth": "Geburtsland",
    "languages": "Sprachen",
    "street": "Straße",
    "postcode": "PLZ",
    "city": "Ort",
    "phone": "Telefon",
    "email": "E-Mail",
    "residence_status": "Aufenthaltsstatus",
    "residence_valid_until": "Aufenthalt gültig bis",
    "file_number": "Aktenzeichen",
    "birth_name": "Geburtsname",
    "place_of_birth": "Geburtsort",
    "address_extra": "Adresszusatz",
    "entry_date": "Einreisedatum",
    "district_since": "Im Kreis seit",
    "interpreter_language": "Sprache für Dolmetschung",
    "note": "Notiz",
}
IMPORT_FIELDS = tuple(FIELD_HEADERS)


def field_labels() -> dict[str, str]:
    """The fields in the UI language (for the mapping combo boxes)."""
    return {name: _(header) for name, header in FIELD_HEADERS.items()}


# Header variants seen in offices' lists (compared folded: case, umlauts, punctuation ignored).
_HEADER_ALIASES = {
    "family_name": ("familienname", "name", "nachname", "zuname", "surname", "lastname", "familyname"),
    "given_names": ("vorname", "vornamen", "vornamen", "rufname", "firstname", "givenname", "givennames"),
    "birth_date": ("geburtsdatum", "gebdatum", "geboren", "geburtstag", "geboram", "birthdate", "dateofbirth"),
    "sex": ("geschlecht", "sex", "gender"),
    "nationalities": ("staatsangehorigkeit", "staatsangehoerigkeit", "nationalitat", "nationalitaet", "nationality",
                      "staatsangehorigkeiten"),
    "country_of_birth": ("geburtsland", "herkunftsland", "countryofbirth"),
    "languages": ("sprachen", "sprache", "sprachkenntnisse", "languages"),
    "street": ("strasse", "strasseundhausnummer", "strassehausnummer", "adresse", "anschrift", "street"),
    "postcode": ("plz", "postleitzahl", "postcode", "zip"),
    "city": ("ort", "wohnort", "stadt", "city"),
    "phone": ("telefon", "telefonnummer", "tel", "handy", "mobil", "phone"),
    "email": ("email", "emailadresse", "mail"),
    "residence_status": ("aufenthaltsstatus", "aufenthaltstitel", "status", "aufenthalt", "residencestatus"),
    "residence_valid_until": ("aufenthaltgultigbis", "aufenthaltgueltigbis", "gultigbis", "gueltigbis",
                              "aufenthaltstitelgultigbis", "befristetbis", "validuntil"),
    "file_number": ("aktenzeichen", "az", "fallnummer", "filenumber"),
    "birth_name": ("geburtsname", "birthname"),
    "place_of_birth": ("geburtsort", "placeofbirth"),
    "address_extra": ("adresszusatz", "zusatz", "co"),
    "entry_date": ("einreisedatum", "einreise", "entrydate"),
    "district_since": ("imkreisseit", "wohnhaftseit", "zuzug"),
    "interpreter_language": ("sprachefurdolmetschung", "dolmetschsprache", "dolmetschung"),
    "note": ("notiz", "bemerkung", "bemerkungen", "anmerkung", "note"),
}  # fmt: skip


def fold(text: Any) -> str:
    """Compare form: lower case, umlauts and accents folded, everything but letters and digits dropped."""
    value = str(text or "").casefold().replace("ß", "ss")
    value = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in value if ch.isalnum() and not unicodedata.combining(ch))


_ALIAS_INDEX = {alias: name for name, aliases in _HEADER_ALIASES.items() for alias in aliases}


class ImportCancelled(UserError):
    def __init__(self) -> None:
        super().__init__(_("Import abgebrochen; es wurde nichts übernommen."))


# --- reading the file -----------------------------------------------------------------------------------


@dataclass
class SourceTable:
    """The file as read: the header row and the data rows with their line numbers."""

    file_name: str
    file_format: str  # csv|xlsx
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells as text)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def column_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.header)}


def read_table(path: Path | str, *, sheet: str | None = None) -> SourceTable:
    """Read an .xlsx or CSV file (decided by its content, not only its name); ``UserError`` on bad files."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise UserError(_("Die Datei wurde nicht gefunden: {name}").format(name=path.name)) from None
    if not path.is_file():
        raise UserError(_("Bitte eine Datei angeben, keinen Ordner: {name}").format(name=path.name))
    if size > MAX_FILE_BYTES:
        raise UserError(
            _(
                "Die Datei ist zu groß ({size} MB; höchstens {limit} MB). Bitte in kleinere Dateien aufteilen."
            ).format(size=_megabytes(size), limit=_megabytes(MAX_FILE_BYTES))
        )
    if size == 0:
        raise UserError(_("Die Datei ist leer."))
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        raise UserError(_("Die Datei kann nicht gelesen werden: {name}").format(name=path.name)) from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(
            _("Das alte Excel-Format (.xls) wird nicht unterstützt. Bitte in Excel als Excel-Arbeitsmappe (.xlsx) "
              "oder als CSV speichern.")
        )  # fmt: skip
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, sheet)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise UserError(_("Die Datei ist keine gültige Excel-Arbeitsmappe (.xlsx)."))
    return _read_csv(path, path.read_bytes())


def _megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.1f}".replace(".", ",") if value < 10 else str(round(value))


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise UserError(_not_a_table())
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(
            "cp1252"
        ), "windows-1252"  # Excel's "CSV (Trennzeichen-getrennt)" on German Windows
    except UnicodeDecodeError:
        raise UserError(_not_a_table()) from None


def _not_a_table() -> str:
    return _(
        "Die Datei ist keine lesbare CSV- oder Excel-Datei. Bitte in Excel als Excel-Arbeitsmappe (.xlsx) oder "
        "als „CSV UTF-8 (durch Trennzeichen getrennt)“ speichern."
    )


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t")
    odd = sum(1 for ch in sample if unicodedata.category(ch) in ("Co", "Cn", "Cs"))
    return (controls + odd) / len(sample) > 0.01


def _unique_header(cells: list[str]) -> list[str]:
    header: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(cells):
        name = " ".join(str(raw or "").split()) or _("Spalte {n}").format(n=i + 1)
        key = name.casefold()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        header.append(name)
    return header


def _finish(table: SourceTable, raw_rows: Iterable[tuple[int, list[str]]]) -> SourceTable:
    """Header = first non-empty row; trailing empty header columns dropped; at least one data row."""
    header_cells: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for line, cells in raw_rows:
        if header_cells is None:
            if any(c.strip() for c in cells):
                while cells and not cells[-1].strip():
                    cells = cells[:-1]
                if len(cells) > MAX_COLUMNS:
                    raise UserError(
                        _("Die Tabelle hat mehr als {n} Spalten; das ist keine Personenliste.").format(
                            n=MAX_COLUMNS
                        )
                    )
                header_cells = cells
                if line != 1:
                    table.notices.append(
                        _(
                            "Die Kopfzeile steht in Zeile {line}; die leeren Zeilen darüber werden übergangen."
                        ).format(line=line)
                    )
            continue
        if not any(c.strip() for c in cells):
            continue
        rows.append((line, cells))
        if len(rows) > MAX_ROWS:
            raise UserError(
                _("Die Datei hat mehr als {n} Datenzeilen. Bitte in kleinere Dateien aufteilen.").format(
                    n=f"{MAX_ROWS:,}".replace(",", ".")
                )
            )
    if header_cells is None:
        raise UserError(_("Die Datei ist leer."))
    if not rows:
        raise UserError(_("Die Datei enthält nur die Kopfzeile und keine Personen."))
    table.header = _unique_header(header_cells)
    table.rows = rows
    return table


def _read_csv(path: Path, data: bytes) -> SourceTable:
    text, encoding = _decode(data)
    if _looks_binary(text):
        raise UserError(_not_a_table())
    if not text.strip():
        raise UserError(_("Die Datei ist leer."))
    hint = re.match(r"^sep=(.)[ \t]*\r?\n", text)  # Excel's "sep=;" line: names the delimiter, not a row
    if hint:
        delimiter, text = hint.group(1), text[hint.end() :]
    else:
        first = next((line for line in text.splitlines() if line.strip()), "")
        counts = {d: first.count(d) for d in (";", ",", "\t")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ";"
    table = SourceTable(path.name, "csv", [], [], encoding=encoding, delimiter=delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def records() -> Iterable[tuple[int, list[str]]]:
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                raise UserError(
                    _("Zeile {line} ist keine gültige CSV-Zeile (Anführungszeichen prüfen).").format(
                        line=number + 1
                    )
                ) from None
            number += 1  # record number = the row number a spreadsheet shows
            yield number, [c.strip() for c in cells]

    return _finish(table, records())


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
    if isinstance(value, bool):
        return _("ja") if value else _("nein")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _merged_ranges(path: Path, sheet_path: str) -> list[str]:
    """``mergeCell`` ranges of one sheet, read from its XML (openpyxl's read-only mode does not expose them)."""
    pattern = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*ref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")
    found: list[str] = []
    with zipfile.ZipFile(path) as archive:
        name = sheet_path.lstrip("/")
        info = archive.getinfo(name)
        if info.file_size > MAX_SHEET_XML_BYTES:
            raise UserError(_("Die Excel-Datei ist ausgepackt zu groß. Bitte in kleinere Dateien aufteilen."))
        with archive.open(name) as fh:
            tail = b""
            while chunk := fh.read(1 << 20):
                block = tail + chunk
                found += [m.decode("ascii") for m in pattern.findall(block)]
                tail = block[-200:]
                if found and len(found) > 1000:
                    break
    return list(dict.fromkeys(found))


def _read_xlsx(path: Path, sheet: str | None) -> SourceTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError):
        raise UserError(_("Die Datei ist keine gültige Excel-Arbeitsmappe (.xlsx).")) from None
    try:
        names = list(workbook.sheetnames)
        if not names:
            raise UserError(_("Die Datei ist leer."))
        if sheet is not None and sheet not in names:
            raise UserError(_("Die Arbeitsmappe hat kein Tabellenblatt „{sheet}“.").format(sheet=sheet[:60]))
        chosen = sheet or names[0]
        table = SourceTable(path.name, "xlsx", [], [], sheet=chosen, sheets=names)
        if len(names) > 1 and sheet is None:
            table.notices.append(
                _("Die Arbeitsmappe hat {n} Tabellenblätter; gelesen wird nur das erste („{sheet}“).").format(
                    n=len(names), sheet=chosen
                )
            )
        worksheet = workbook[chosen]
        sheet_path = getattr(worksheet, "_worksheet_path", None)
        if sheet_path:
            merged = _merged_ranges(path, sheet_path)
            if merged:
                shown = ", ".join(merged[:5]) + (" …" if len(merged) > 5 else "")
                raise UserError(
                    _("Das Tabellenblatt „{sheet}“ enthält verbundene Zellen ({ranges}). Bitte die Verbindung "
                      "aufheben (Start › Verbinden und zentrieren) und die Werte in jede Zeile schreiben; es wurde "
                      "nichts übernommen.").format(sheet=chosen, ranges=shown)
                )  # fmt: skip
        if hasattr(worksheet, "reset_dimensions"):
            worksheet.reset_dimensions()  # stored dimensions are often wrong in files from other programs

        def records() -> Iterable[tuple[int, list[str]]]:
            for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
                cells = [_xlsx_text(v) for v in values[: MAX_COLUMNS + 1]]
                yield number, cells

        try:
            return _finish(table, records())
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            if isinstance(exc, UserError):
                raise
            raise UserError(_("Die Datei ist keine gültige Excel-Arbeitsmappe (.xlsx).")) from None
    finally:
        workbook.close()


# --- the mapping ----------------------------------------------------------------------------------------


@dataclass
class ImportMapping:
    """Which column feeds which field, and what values written in the file mean."""

    columns: dict[str, str] = field(default_factory=dict)  # header → field ("" = not imported)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → {written value → code}

    def to_json(self) -> dict[str, Any]:
        return {"columns": dict(self.columns), "values": {f: dict(v) for f, v in self.values.items()}}

    @classmethod
    def from_json(cls, data: Any) -> ImportMapping:
        """``{"columns": {...}, "values": {...}}`` or a plain ``{header: field}``; fields by key or German name."""
        if not isinstance(data, dict):
            raise UserError(_("Die Zuordnung muss ein JSON-Objekt sein (Spalte → Feld)."))
        raw_columns = data.get("columns") if isinstance(data.get("columns"), dict) else data
        if "columns" in data and not isinstance(data.get("columns"), dict):
            raise UserError(_("Die Zuordnung muss ein JSON-Objekt sein (Spalte → Feld)."))
        by_label = {fold(h): f for f, h in FIELD_HEADERS.items()} | {
            fold(v): f for f, v in field_labels().items()
        }
        columns: dict[str, str] = {}
        for header, target in raw_columns.items():
            if header == "values":
                continue
            if target is None or target == "":
                columns[str(header)] = ""
                continue
            if not isinstance(target, str):
                raise UserError(
                    _("Die Zuordnung der Spalte „{column}“ ist kein Feldname.").format(
                        column=str(header)[:60]
                    )
                )
            name = target if target in FIELD_HEADERS else by_label.get(fold(target))
            if name is None:
                raise UserError(
                    _("Unbekanntes Feld „{field}“ in der Zuordnung (Spalte „{column}“).").format(
                        field=target[:40], column=str(header)[:60]
                    )
                )
            columns[str(header)] = name
        values: dict[str, dict[str, str]] = {}
        raw_values = data.get("values") if "columns" in data else None
        if isinstance(raw_values, dict):
            for name, table in raw_values.items():
                if name in FIELD_HEADERS and isinstance(table, dict):
                    values[name] = {str(k): str(v) for k, v in table.items()}
        return cls(columns, values)


def auto_mapping(header: list[str]) -> ImportMapping:
    """The canonical German headers and common variants; a field is given to the first matching column."""
    columns: dict[str, str] = {}
    taken: set[str] = set()
    for name in header:
        target = _ALIAS_INDEX.get(fold(name), "")
        if target in taken:
            target = ""
        if target:
            taken.add(target)
        columns[name] = target
    return ImportMapping(columns)


def effective_mapping(header: list[str], mapping: ImportMapping | None) -> ImportMapping:
    """``mapping`` completed for this file: columns it does not name are mapped automatically when free."""
    if mapping is None:
        return auto_mapping(header)
    auto = auto_mapping(header)
    columns = {h: mapping.columns[h] for h in header if h in mapping.columns}
    taken = {f for f in columns.values() if f}
    for h in header:
        if h not in columns:
            target = auto.columns.get(h, "")
            columns[h] = "" if target in taken else target
            if target:
                taken.add(target)
    return ImportMapping(columns, dict(mapping.values))


def check_mapping(header: list[str], mapping: ImportMapping) -> None:
    """Every field at most once, the family name present; German ``UserError`` otherwise."""
    by_field: dict[str, str] = {}
    labels = field_labels()
    for column in header:
        target = mapping.columns.get(column, "")
        if not target:
            continue
        if target not in FIELD_HEADERS:
            raise UserError(_("Unbekanntes Feld „{field}“ in der Zuordnung.").format(field=target[:40]))
        if target in by_field:
            raise UserError(
                _("Die Spalten „{first}“ und „{second}“ sind beide dem Feld „{field}“ zugeordnet. Jedes Feld kann "
                  "nur eine Spalte aufnehmen; bitte eine der beiden auf „nicht übernehmen“ stellen.").format(
                    first=by_field[target], second=column, field=labels[target])
            )  # fmt: skip
        by_field[target] = column
    if "family_name" not in by_field:
        raise UserError(
            _("Keine Spalte ist dem Nachnamen zugeordnet. Bitte die Spalte mit dem Familiennamen als „{field}“ "
              "zuordnen.").format(field=labels["family_name"])
        )  # fmt: skip


def mapping_conflicts(mapping: ImportMapping) -> dict[str, list[str]]:
    """Fields that several columns are mapped to (for the GUI's warning), field → columns."""
    by_field: dict[str, list[str]] = {}
    for column, target in mapping.columns.items():
        if target:
            by_field.setdefault(target, []).append(column)
    return {f: cols for f, cols in by_field.items() if len(cols) > 1}


def load_mapping_file(path: Path | str) -> ImportMapping:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError:
        raise UserError(
            _("Die Zuordnungsdatei kann nicht gelesen werden: {name}").format(name=path.name)
        ) from None
    if len(raw) > 1024 * 1024:
        raise UserError(_("Die Zuordnungsdatei ist zu groß."))
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(_("Die Zuordnungsdatei ist kein gültiges JSON.")) from None
    return ImportMapping.from_json(data)


def saved_mappings(ctx: ServiceContext) -> dict[str, ImportMapping]:
    with ctx.read() as session:
        value = session.get(Setting, SETTING_KEY)
        stored = value.value if value is not None and isinstance(value.value, dict) else {}
    result = {}
    for name, data in sorted(stored.items(), key=lambda kv: kv[0].casefold()):
        try:
            result[name] = ImportMapping.from_json(data)
        except UserError:
            continue  # an entry from a newer version with fields we do not know
    return result


def save_mapping(ctx: ServiceContext, name: str, mapping: ImportMapping) -> None:
    name = " ".join((name or "").split())
    if not name:
        raise UserError(_("Bitte einen Namen für die Zuordnung angeben."))
    if len(name) > 80:
        raise UserError(_("Der Name der Zuordnung darf höchstens 80 Zeichen lang sein."))
    permissions.require(ctx.actor, "person.write")
    with ctx.write() as session:
        row = session.get(Setting, SETTING_KEY)
        stored = dict(row.value) if row is not None and isinstance(row.value, dict) else {}
        stored[name] = mapping.to_json()
        if row is None:
            session.add(Setting(key=SETTING_KEY, value=stored))
        else:
            row.value = stored


def delete_mapping(ctx: ServiceContext, name: str) -> None:
    permissions.require(ctx.actor, "person.write")
    with ctx.write() as session:
        row = session.get(Setting, SETTING_KEY)
        if row is None or not isinstance(row.value, dict) or name not in row.value:
            raise NotFoundError(_("Keine gespeicherte Zuordnung mit diesem Namen."))
        stored = dict(row.value)
        del stored[name]
        row.value = stored


# --- values to codes ------------------------------------------------------------------------------------

_SEXES = {
    "f": "f", "w": "f", "weiblich": "f", "frau": "f", "female": "f", "weibl": "f",
    "m": "m", "mannlich": "m", "mann": "m", "male": "m", "mannl": "m",
    "d": "d", "divers": "d", "diverse": "d",
    "x": "x", "ohneangabe": "x", "keineangabe": "x", "oa": "x",
    "u": "u", "unbekannt": "u", "unknown": "u",
}  # fmt: skip

# German adjectives ("syrisch") as lists often write nationalities; names and codes come from Babel.
_NATIONALITY_ADJECTIVES = {
    "deutsch": "DE", "syrisch": "SY", "afghanisch": "AF", "irakisch": "IQ", "iranisch": "IR", "turkisch": "TR",
    "ukrainisch": "UA", "russisch": "RU", "eritreisch": "ER", "somalisch": "SO", "nigerianisch": "NG",
    "guineisch": "GN", "albanisch": "AL", "serbisch": "RS", "kosovarisch": "XK", "polnisch": "PL",
    "rumanisch": "RO", "bulgarisch": "BG", "italienisch": "IT", "griechisch": "GR", "marokkanisch": "MA",
    "algerisch": "DZ", "tunesisch": "TN", "libanesisch": "LB", "georgisch": "GE", "armenisch": "AM",
    "athiopisch": "ET", "pakistanisch": "PK", "indisch": "IN", "venezolanisch": "VE", "kolumbianisch": "CO",
    "agyptisch": "EG", "jemenitisch": "YE", "sudanesisch": "SD", "gambisch": "GM", "ghanaisch": "GH",
    "kamerunisch": "CM", "kongolesisch": "CD", "mazedonisch": "MK", "nordmazedonisch": "MK", "bosnisch": "BA",
    "kroatisch": "HR", "moldauisch": "MD", "belarussisch": "BY", "aserbaidschanisch": "AZ", "tschetschenisch": "RU",
    "palastinensisch": "PS", "staatenlos": "XS", "ungeklart": "XX", "unbekannt": "XX", "kurdisch": "",
}  # fmt: skip

_LEVELS = {
    "muttersprache": "native", "erstsprache": "native", "native": "native", "ms": "native",
    "c2": "C2", "c1": "C1", "b2": "B2", "b1": "B1", "a2": "A2", "a1": "A1",
    "keine": "none", "none": "none", "grundkenntnisse": "A1",
}  # fmt: skip

# Residence statuses by paragraph: (§, Absatz or None) → code.
_PARAGRAPHS = {
    ("55", None): "gestattung", ("60a", None): "duldung", ("60", None): "duldung", ("60b", None): "duldung_60b",
    ("60c", None): "ausbildungsduldung", ("60d", None): "beschaeftigungsduldung",
    ("104c", None): "chancen_aufenthaltsrecht", ("25a", None): "bleiberecht_25a_25b",
    ("25b", None): "bleiberecht_25a_25b", ("24", None): "schutz_24", ("25", "1"): "schutz_25_1_2",
    ("25", "2"): "schutz_25_1_2", ("25", "3"): "abschiebungsverbot_25_3", ("25", "5"): "aufenthalt_25_5",
    ("9a", None): "niederlassung", ("9", None): "niederlassung",
}  # fmt: skip
_PARAGRAPH_RANGES = ((16, 21, "erwerb_ausbildung_studium"), (27, 36, "familiennachzug"))
# Words and abbreviations (folded) that name exactly one status.
_STATUS_WORDS = {
    "gestattung": "gestattung", "aufenthaltsgestattung": "gestattung", "buma": "gestattung",
    "asylbewerber": "gestattung", "asylbewerberin": "gestattung", "imasylverfahren": "gestattung",
    "duldung": "duldung", "geduldet": "duldung", "ausbildungsduldung": "ausbildungsduldung",
    "beschaftigungsduldung": "beschaeftigungsduldung", "chancenaufenthaltsrecht": "chancen_aufenthaltsrecht",
    "bleiberecht": "bleiberecht_25a_25b", "ne": "niederlassung", "niederlassungserlaubnis": "niederlassung",
    "daueraufenthalteu": "niederlassung", "daueraufenthalt": "niederlassung", "unbefristet": "niederlassung",
    "eu": "eu_freizuegigkeit", "euburger": "eu_freizuegigkeit", "euburgerin": "eu_freizuegigkeit",
    "freizugigkeit": "eu_freizuegigkeit", "eufreizugigkeit": "eu_freizuegigkeit",
    "deutsch": "deutsch", "deutsche": "deutsch", "deutscher": "deutsch", "eingeburgert": "deutsch",
    "ungeklart": "ungeklaert", "unklar": "ungeklaert", "unbekannt": "ungeklaert",
    "vorubergehenderschutz": "schutz_24", "ukraine": "schutz_24", "fluchtling": "schutz_25_1_2",
    "anerkannterfluchtling": "schutz_25_1_2", "asylberechtigt": "schutz_25_1_2", "subsidiarerschutz": "schutz_25_1_2",
    "abschiebungsverbot": "abschiebungsverbot_25_3", "familiennachzug": "familiennachzug",
}  # fmt: skip


class Lookups:
    """Code lists and Babel names, built once per import."""

    def __init__(self, session, mapping: ImportMapping) -> None:
        from ..i18n import countries, languages

        self.mapping = mapping
        self.status_codes: dict[str, str] = {}  # folded code/label → code
        self.status_labels: dict[str, str] = {}  # code → folded label without the (§ …) part
        for code, label_de, label_en in session.execute(
            select(CodeEntry.code, CodeEntry.label_de, CodeEntry.label_en).where(
                CodeEntry.list_name == "residence_status"
            )
        ):
            self.status_codes[fold(code)] = code
            for label in (label_de, label_en):
                self.status_codes[fold(label)] = code
                self.status_codes.setdefault(fold(re.sub(r"\(.*?\)", "", label)), code)
            self.status_labels[code] = fold(re.sub(r"\(.*?\)", "", label_de))
        self.countries: dict[str, str] = {}
        for language in ("en", "de"):
            for code, name in countries(language).items():
                self.countries[fold(name)] = code
        for code in countries("de"):
            self.countries[fold(code)] = code
        self.countries.update({k: v for k, v in _NATIONALITY_ADJECTIVES.items() if v})
        self.languages: dict[str, str] = {}
        for language in ("en", "de"):
            for code, name in languages(language).items():
                self.languages[fold(name)] = code
        for code in languages("de"):
            self.languages[fold(code)] = code
            self.languages.setdefault(fold(code.replace("_", "-")), code)

    def override(self, name: str, value: str) -> str | None:
        table = self.mapping.values.get(name)
        if not table:
            return None
        for written, code in table.items():
            if written == value or fold(written) == fold(value):
                return code
        return None

    def residence_status(self, value: str) -> str | None:
        """The code, or ``None`` when the value names no status or several."""
        key = fold(value)
        if not key:
            return None
        if key in self.status_codes:
            return self.status_codes[key]
        if key in _STATUS_WORDS:
            return _STATUS_WORDS[key]
        text = value.casefold().replace("§", " ")
        found: set[str] = set()
        for number, letter, para in re.findall(
            r"\b(\d{1,3})\s*([a-d])?\b(?:\s*abs(?:atz|\.)?\s*(\d))?", text
        ):
            paragraph = number + (letter or "")
            code = _PARAGRAPHS.get((paragraph, para or None)) or _PARAGRAPHS.get((paragraph, None))
            if code is None and not letter:
                code = next((c for lo, hi, c in _PARAGRAPH_RANGES if lo <= int(number) <= hi), None)
            if code is None and paragraph == "25" and para:
                code = _PARAGRAPHS.get(("25", para))
            if code:
                found.add(code)
        if len(found) == 1:
            return found.pop()
        if found:
            return None
        if len(key) >= 5:
            hits = {code for code, label in self.status_labels.items() if label.startswith(key)}
            if len(hits) == 1:
                return hits.pop()
        return None

    def country(self, value: str) -> str | None:
        key = fold(value)
        return self.countries.get(key) if key else None

    def language(self, value: str) -> tuple[str, str] | None:
        text = value.strip()
        level = "none"
        match = re.match(r"^(.*?)[\s:(\-]+\(?\s*(muttersprache|erstsprache|native|ms|[abc][12]|keine|grundkenntnisse)"
                         r"\s*\)?$", text, flags=re.IGNORECASE)  # fmt: skip
        if match:
            text, level = match.group(1), _LEVELS[fold(match.group(2))]
        code = self.languages.get(fold(text))
        return (code, level) if code else None


def _split(value: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;/+\n]|\s+und\s+", value) if p.strip()]


# --- checking rows --------------------------------------------------------------------------------------


@dataclass
class ImportRow:
    """A valid row: the values to store and the notes for review."""

    line: int
    values: dict[str, Any]  # validated (``persons.validate_person``) values
    flags: list[str] = field(default_factory=list)

    @property
    def family_name(self) -> str:
        return self.values["family_name"]

    @property
    def given_names(self) -> str:
        return self.values.get("given_names") or ""

    @property
    def birth_text(self) -> str:
        birth = self.values.get("birth_date")
        return birth.german() if birth else ""


@dataclass
class RejectedRow:
    line: int
    reason: str
    cells: list[str]


@dataclass
class DuplicateRow:
    """A row not imported because the person is probably stored already (or stands earlier in the file)."""

    row: ImportRow
    candidates: list[duplicates.DuplicateCandidate] = field(default_factory=list)
    same_as_line: int | None = None  # a duplicate of an earlier row of the same file

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.row.line,
            "candidates": [c.to_json() for c in self.candidates],
            "same_as_line": self.same_as_line,
        }


@dataclass
class ImportResult:
    table: SourceTable
    mapping: ImportMapping
    to_import: list[ImportRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    dry_run: bool = True
    batch_id: str | None = None

    @property
    def flagged(self) -> list[ImportRow]:
        return [r for r in self.to_import if r.flags]

    @property
    def rows_total(self) -> int:
        return len(self.table.rows)

    @property
    def imported_count(self) -> int:
        return 0 if self.dry_run else len(self.to_import)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows_total,
            "imported": len(self.to_import),
            "duplicates": len(self.duplicates),
            "rejected": len(self.rejected),
            "flagged": len(self.flagged),
        }

    def summary(self) -> str:
        """One German sentence with the counts (no names)."""
        n = len(self.to_import)
        if self.dry_run:
            head = ngettext(
                "Probelauf: {n} Person würde übernommen", "Probelauf: {n} Personen würden übernommen", n
            ).format(n=n)
        else:
            head = ngettext("{n} Person übernommen", "{n} Personen übernommen", n).format(n=n)
        parts = [
            head,
            ngettext("{n} mögliche Dublette", "{n} mögliche Dubletten", len(self.duplicates)).format(
                n=len(self.duplicates)
            ),
            ngettext("{n} Zeile abgelehnt", "{n} Zeilen abgelehnt", len(self.rejected)).format(
                n=len(self.rejected)
            ),
            ngettext("{n} Person zu prüfen", "{n} Personen zu prüfen", len(self.flagged)).format(
                n=len(self.flagged)
            ),
        ]
        return ", ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "batch_id": self.batch_id,
            "file_format": self.table.file_format,
            "encoding": self.table.encoding,
            "delimiter": self.table.delimiter,
            "sheet": self.table.sheet,
            "notices": self.table.notices,
            "mapping": self.mapping.to_json(),
            "counts": self.counts(),
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "duplicates": [d.to_json() for d in self.duplicates],
            "flagged": [{"line": r.line, "flags": r.flags} for r in self.flagged],
        }


ProgressCallback = Callable[[str, int, int], None]


def _raw_values(cells: list[str], columns: list[tuple[int, str]]) -> dict[str, str]:
    return {name: (cells[i] if i < len(cells) else "").strip() for i, name in columns}


def _prepare(raw: dict[str, str], lookups: Lookups) -> tuple[dict[str, Any], list[str]]:
    """File values → ``validate_person`` input; values without a code become review notes (``flags``)."""
    from ..services.persons import PERSON_FIELDS

    labels = field_labels()
    flags: list[str] = []
    values: dict[str, Any] = {}
    for name in PERSON_FIELDS:
        if name in raw and name not in ("sex", "nationalities", "country_of_birth", "languages", "residence_status",
                                        "interpreter_language"):  # fmt: skip
            values[name] = raw[name] or None
    values["given_names"] = raw.get("given_names") or ""

    def flag(name: str, written: str) -> None:
        flags.append(
            _("{field} „{value}“ ist keinem Eintrag eindeutig zuzuordnen; bitte prüfen.").format(
                field=labels[name], value=written[:80]
            )
        )

    if raw.get("sex"):
        written = raw["sex"]
        code = lookups.override("sex", written) or (_SEXES.get(fold(written)) if fold(written) else None)
        if code is None:
            flag("sex", written)
        values["sex"] = code or "u"
    if raw.get("residence_status"):
        written = raw["residence_status"]
        code = lookups.override("residence_status", written) or lookups.residence_status(written)
        if code is None or fold(code) not in lookups.status_codes:
            flag("residence_status", written)
            code = None
        values["residence_status"] = code
    for name in ("nationalities", "country_of_birth"):
        written = raw.get(name) or ""
        if not written:
            continue
        parts = _split(written) if name == "nationalities" else [written]
        codes = []
        for part in parts:
            code = lookups.override(name, part) or lookups.country(part)
            if code is None:
                flag(name, part)
            else:
                codes.append(code)
        values[name] = codes if name == "nationalities" else (codes[0] if codes else None)
    if raw.get("languages"):
        spoken = []
        for part in _split(raw["languages"]):
            override = lookups.override("languages", part)
            found = (override, "none") if override else lookups.language(part)
            if found is None:
                flag("languages", part)
            else:
                spoken.append(f"{found[0]}:{found[1]}")
        values["languages"] = spoken
    if raw.get("interpreter_language"):
        written = raw["interpreter_language"]
        found = lookups.language(written)
        if found is None:
            flag("interpreter_language", written)
        else:
            values["interpreter_language"] = found[0]
            values["interpreter_needed"] = True
    extra = []
    if raw.get("file_number"):
        extra.append(_("Aktenzeichen (Import): {number}").format(number=raw["file_number"]))
    if flags:
        extra.append(_("Beim Import zu prüfen:"))
        extra += [f"- {f}" for f in flags]
    if extra:
        values["note"] = "\n".join([*([values["note"]] if values.get("note") else []), *extra])
    return values, flags


def _reason(exc: ValidationError, columns_by_field: dict[str, str]) -> str:
    labels = field_labels()
    parts = []
    for name, message in exc.field_errors.items():
        if name == "family_name" and message == _("Bitte geben Sie den Familiennamen ein."):
            parts.append(_("Der Nachname fehlt."))
            continue
        column = columns_by_field.get(name) or labels.get(name, name)
        message = re.sub(r"^[^:]{1,40}: ", "", message) if name in ("residence_valid_until", "entry_date",
                                                                      "district_since") else message  # fmt: skip
        parts.append(f"{column}: {message}")
    return " ".join(parts)


def check_rows(
    session,
    table: SourceTable,
    mapping: ImportMapping,
    *,
    today: date | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ImportResult:
    """Validate, resolve codes and check for duplicates; writes nothing."""
    from ..services.persons import validate_person

    check_mapping(table.header, mapping)
    index = table.column_index()
    columns = [(index[h], f) for h, f in mapping.columns.items() if f and h in index]
    columns_by_field = {f: h for h, f in mapping.columns.items() if f}
    lookups = Lookups(session, mapping)
    result = ImportResult(table, mapping)
    total = len(table.rows)

    def tick(stage: str, done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            if cancel is not None and cancel():
                raise ImportCancelled()
            if progress is not None:
                progress(stage, done, total)

    stage = _("Zeilen prüfen")
    valid: list[ImportRow] = []
    for done, (line, cells) in enumerate(table.rows):
        tick(stage, done)
        if len(cells) > len(table.header) and any(c.strip() for c in cells[len(table.header) :]):
            result.rejected.append(
                RejectedRow(line, _("Die Zeile hat mehr Spalten als die Kopfzeile."), cells)
            )
            continue
        raw = _raw_values(cells, columns)
        values, flags = _prepare(raw, lookups)
        try:
            clean = validate_person(values, today=today)
        except ValidationError as exc:
            result.rejected.append(RejectedRow(line, _reason(exc, columns_by_field), cells))
            continue
        except UserError as exc:
            result.rejected.append(RejectedRow(line, exc.message, cells))
            continue
        valid.append(ImportRow(line, clean, flags))

    stage = _("Dubletten suchen")
    if progress is not None:
        progress(stage, 0, total)
    check = BatchDuplicateCheck(session)
    found = check.run(valid, tick=lambda done: tick(stage, done))
    in_file: dict[str, list[tuple[duplicates.PersonFacts, int]]] = {}
    for row, candidates, facts in zip(valid, found, check.facts, strict=True):
        if candidates:
            result.duplicates.append(DuplicateRow(row, candidates))
            continue
        earlier = _in_file_duplicate(facts, in_file)
        if earlier is not None:
            result.duplicates.append(DuplicateRow(row, [], same_as_line=earlier))
            continue
        for key in facts.family.tokens | facts.given.tokens:
            in_file.setdefault(key, []).append((facts, row.line))
        result.to_import.append(row)
    result.duplicates.sort(key=lambda d: d.row.line)
    if progress is not None:
        progress(stage, total, total)
    return result


class BatchDuplicateCheck:
    """``duplicates.find_duplicates`` for many entries at once, with the same candidates and the same scores.

    One entry at a time costs a few milliseconds, mostly building SQL statements; 10,000 rows would take
    most of a minute. Here the search keys of all rows are looked up in a few large queries, candidates are
    the same as there (a family-name key AND a given-name key of the same person, or a family-name key of a
    person without given names; a known different birth year excluded; only live persons), and every
    candidate is scored with ``duplicates.score`` against ``duplicates.THRESHOLD``.
    ``tests/test_person_import.py`` checks that both give the same answer.
    """

    CHUNK = 500

    def __init__(self, session, threshold: float = duplicates.THRESHOLD) -> None:
        self.session = session
        self.threshold = threshold
        self.postings: dict[str, set[str]] = {}
        self.facts: list[duplicates.PersonFacts] = []  # of the rows of the last run, in order

    def _keys(self, facts: duplicates.PersonFacts) -> tuple[frozenset[str], frozenset[str]]:
        family = frozenset({f"n:{t}" for t in facts.family.tokens} | {f"p:{c}" for c in facts.family.codes})
        given = frozenset({f"n:{t}" for t in facts.given.tokens} | {f"p:{c}" for c in facts.given.codes})
        return family, given

    def _load_postings(self, keys: set[str]) -> None:
        wanted = sorted(k for k in keys if k not in self.postings)
        for key in wanted:
            self.postings[key] = set()
        for chunk in _chunks(wanted, self.CHUNK):
            for key, pid in self.session.execute(
                select(SearchKey.key, SearchKey.person_id).where(SearchKey.key.in_(chunk))
            ):
                self.postings[key].add(pid)

    def _union(self, keys: frozenset[str], cache: dict) -> set[str]:
        if keys not in cache:
            merged: set[str] = set()
            for key in keys:
                merged |= self.postings.get(key, set())
            cache[keys] = merged
        return cache[keys]

    def run(self, rows: list[ImportRow], tick: Callable[[int], None] | None = None) -> list[list]:
        entries = []
        all_keys: set[str] = set()
        for row in rows:
            v = row.values
            facts = duplicates.PersonFacts.of(
                v["family_name"],
                v["given_names"],
                v["birth_date"],
                v.get("phone"),
                v.get("nationalities") or (),
            )
            family, given = self._keys(facts)
            all_keys |= family | given
            entries.append((facts, family, given))
        self.facts = [facts for facts, _family, _given in entries]
        self._load_postings(all_keys)
        without_given = set(self.session.scalars(select(Person.id).where(Person.given_names == "")))
        cache: dict = {}
        raw: list[set[str]] = []
        wanted: set[str] = set()
        for facts, family, given in entries:
            if not facts.family and not facts.given:
                raw.append(set())
                continue
            if family and given:
                fam, giv = self._union(family, cache), self._union(given, cache)
                small, large = (fam, giv) if len(fam) <= len(giv) else (giv, fam)
                found = {p for p in small if p in large} | (fam & without_given)
            else:
                found = set(self._union(family or given, cache))
            raw.append(found)
            wanted |= found
        people = self._people(wanted)
        results: list[list] = []
        for done, ((facts, _family, _given), found) in enumerate(zip(entries, raw, strict=True)):
            if tick is not None:
                tick(done)
            birth = facts.birth
            candidates = []
            for pid in found:
                person = people.get(pid)
                if person is None:
                    continue
                old_facts, info = person
                if birth is not None and old_facts.birth is not None and old_facts.birth.year != birth.year:
                    continue
                value = duplicates.score(facts, old_facts)
                if value >= self.threshold:
                    candidates.append(
                        duplicates.DuplicateCandidate(pid, info[0], info[1], old_facts.birth, info[2], value)
                    )
            candidates.sort(key=lambda c: (-c.score, c.family_name, c.given_names, c.id))
            results.append(candidates)
        return results

    def _people(self, ids: set[str]) -> dict[str, tuple[duplicates.PersonFacts, tuple]]:
        """Live persons among ``ids`` with what the scoring looks at (plain columns, chunked)."""
        people: dict[str, tuple[duplicates.PersonFacts, tuple]] = {}
        ordered = sorted(ids)
        for chunk in _chunks(ordered, self.CHUNK):
            variants: dict[str, list[tuple[str, str]]] = {}
            for pid, family, given in self.session.execute(
                select(PersonNameVariant.person_id, PersonNameVariant.family_name, PersonNameVariant.given_names)
                .where(PersonNameVariant.person_id.in_(chunk))
            ):  # fmt: skip
                variants.setdefault(pid, []).append((family, given))
            countries: dict[str, list[str]] = {}
            for pid, code in self.session.execute(
                select(PersonNationality.person_id, PersonNationality.country_code)
                .where(PersonNationality.person_id.in_(chunk))
            ):  # fmt: skip
                countries.setdefault(pid, []).append(code)
            for pid, family, given, year, month, day, phone, city in self.session.execute(
                select(
                    Person.id, Person.family_name, Person.given_names, Person.birth_year, Person.birth_month,
                    Person.birth_day, Person.phone, Person.city,
                ).where(Person.id.in_(chunk), Person.deleted_at.is_(None), Person.merged_into_id.is_(None))
            ):  # fmt: skip
                birth = PartialDate.from_parts(year, month, day)
                facts = duplicates.PersonFacts.of(
                    family, given, birth, phone, countries.get(pid, ()), variants.get(pid, ())
                )
                people[pid] = (facts, (family, given, city))
        return people


def _in_file_duplicate(facts: duplicates.PersonFacts, seen: dict[str, list]) -> int | None:
    checked: set[int] = set()
    for key in facts.family.tokens | facts.given.tokens:
        for other, line in seen.get(key, ()):
            if line in checked:
                continue
            checked.add(line)
            if duplicates.score(facts, other) >= duplicates.THRESHOLD:
                return line
    return None


# --- the whole import -----------------------------------------------------------------------------------


def run_import(
    ctx: ServiceContext,
    path: Path | str | SourceTable,
    *,
    mapping: ImportMapping | None = None,
    dry_run: bool = False,
    sheet: str | None = None,
    today: date | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ImportResult:
    """Read, check and (unless ``dry_run``) write the valid rows in one transaction with an import batch.

    ``path`` may be an already read :class:`SourceTable` (the GUI reads the file once for the mapping step).
    Nothing is written when ``cancel()`` turns true or anything fails: one transaction for all rows.
    """
    permissions.require(ctx.actor, "person.write")
    table = path if isinstance(path, SourceTable) else read_table(path, sheet=sheet)
    mapping = effective_mapping(table.header, mapping)
    check_mapping(table.header, mapping)
    if dry_run:
        with ctx.read() as session:
            result = check_rows(session, table, mapping, today=today, progress=progress, cancel=cancel)
        result.dry_run = True
        return result
    with ctx.write() as session:
        result = check_rows(session, table, mapping, today=today, progress=progress, cancel=cancel)
        result.dry_run = False
        _write(session, ctx, result, progress=progress, cancel=cancel)
    return result


_PERSON_COLUMNS = (
    "birth_name", "country_of_birth", "place_of_birth", "interpreter_language", "street", "postcode", "city",
    "address_extra", "phone", "email", "residence_status", "residence_valid_until", "entry_date", "district_since",
    "note",
)  # fmt: skip


def _write(session, ctx: ServiceContext, result: ImportResult, *, progress, cancel) -> None:
    """All valid rows in the caller's transaction, with SQL bulk inserts (10,000 ORM objects take ~30 s).

    Writes what ``persons.create_person`` writes for a new person: the person with its nationalities and
    languages, the residence-status history row, the search keys (``search.person_keys``) and the change
    record of the insert; plus the import batch and its person list, and one audit event with the counts.
    """
    from .search import person_keys, sort_name

    user_id = ctx.actor.user_id
    now = utcnow()
    batch_id = new_id()
    session.add(
        ImportBatch(
            id=batch_id,
            created_at=now,
            created_by=user_id,
            file_name=result.table.file_name[:260],
            file_format=result.table.file_format,
            rows_total=result.rows_total,
            imported=len(result.to_import),
            duplicates=len(result.duplicates),
            rejected=len(result.rejected),
            flagged=len(result.flagged),
        )
    )
    session.flush()
    stage = _("Personen speichern")
    total = len(result.to_import)
    for start in range(0, total, _WRITE_CHUNK):
        if cancel is not None and cancel():
            raise ImportCancelled()
        if progress is not None:
            progress(stage, start, total)
        people, nationalities, spoken, statuses, keys, changes, links = [], [], [], [], [], [], []
        for row in result.to_import[start : start + _WRITE_CHUNK]:
            clean = row.values
            pid = new_id()
            birth = clean.get("birth_date")
            person = {name: clean.get(name) for name in _PERSON_COLUMNS}
            person.update(
                id=pid, family_name=clean["family_name"], given_names=clean.get("given_names") or "",
                sort_name=sort_name(clean["family_name"], clean.get("given_names") or ""),
                birth_year=birth.year if birth else None, birth_month=birth.month if birth else None,
                birth_day=birth.day if birth else None, sex=clean.get("sex") or "u",
                interpreter_needed=bool(clean.get("interpreter_needed")), created_by=user_id, created_at=now,
                updated_at=now, version=1,
            )  # fmt: skip
            people.append(person)
            nationalities += [
                {"person_id": pid, "country_code": code, "sort_order": i}
                for i, code in enumerate(clean.get("nationalities") or [])
            ]
            spoken += [
                {"person_id": pid, "language_code": code, "level": level, "sort_order": i}
                for i, (code, level) in enumerate(clean.get("languages") or [])
            ]
            if person["residence_status"] or person["residence_valid_until"]:
                statuses.append(
                    {"id": new_id(), "person_id": pid, "status": person["residence_status"],
                     "valid_until": person["residence_valid_until"], "recorded_at": now, "recorded_by": user_id}
                )  # fmt: skip
            for key, weight in person_keys(
                person["family_name"],
                person["given_names"],
                person["birth_name"],
                (),
                birth,
                person["phone"],
                (),
            ).items():
                keys.append({"key": key, "person_id": pid, "weight": weight})
            changes.append(
                {"user_id": user_id, "entity_type": "person", "entity_id": pid, "operation": "insert",
                 "base_version": None, "at": now, "synced": False}
            )  # fmt: skip
            links.append(
                {"batch_id": batch_id, "person_id": pid, "line": row.line, "flags": row.flags or None}
            )
        session.execute(insert(Person.__table__), people)
        for table, rows in (
            (PersonNationality.__table__, nationalities), (PersonLanguage.__table__, spoken),
            (ResidenceStatusChange.__table__, statuses), (SearchKey.__table__, keys),
            (ChangeRecord.__table__, changes), (ImportBatchPerson.__table__, links),
        ):  # fmt: skip
            if rows:
                session.execute(insert(table), rows)
    audit.record(session, "import", entity_type="import_batch", entity_id=batch_id, detail=result.counts())
    if cancel is not None and cancel():
        raise ImportCancelled()
    if progress is not None:
        progress(stage, total, total)
    result.batch_id = batch_id


# --- the rejects file -----------------------------------------------------------------------------------


def rejects_csv(result: ImportResult) -> bytes:
    """The rejected rows with their original columns plus ``Zeile`` and ``Grund`` (``;``, UTF-8 with BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    width = len(result.table.header)
    writer.writerow([*result.table.header, _("Zeile"), _("Grund")])
    for row in result.rejected:
        cells = (row.cells + [""] * width)[:width] if len(row.cells) <= width else row.cells
        writer.writerow([*cells, row.line, row.reason])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_rejects(result: ImportResult, path: Path | str) -> Path:
    """Write :func:`rejects_csv` atomically (a temporary file beside the target, then renamed)."""
    import os
    import tempfile

    path = Path(path)
    if path.is_dir():
        raise UserError(_("Bitte eine Datei angeben, keinen Ordner: {name}").format(name=path.name))
    if not path.parent.is_dir():
        raise UserError(_("Den Ordner für die Datei gibt es nicht: {name}").format(name=str(path.parent)))
    data = rejects_csv(result)
    fd, temp = tempfile.mkstemp(prefix=".kim-rejects-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except OSError:
        Path(temp).unlink(missing_ok=True)
        raise UserError(_("Die Datei kann nicht geschrieben werden: {name}").format(name=path.name)) from None
    return path


# --- batches and undo -----------------------------------------------------------------------------------


@dataclass
class BatchView:
    id: str
    created_at: datetime
    file_name: str
    file_format: str
    rows_total: int
    imported: int
    duplicates: int
    rejected: int
    flagged: int
    remaining: int  # persons of the batch still stored
    undone_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "created_at": self.created_at.isoformat(), "file_name": self.file_name,
            "file_format": self.file_format, "rows_total": self.rows_total, "imported": self.imported,
            "duplicates": self.duplicates, "rejected": self.rejected, "flagged": self.flagged,
            "remaining": self.remaining, "undone_at": self.undone_at.isoformat() if self.undone_at else None,
        }  # fmt: skip


def list_batches(ctx: ServiceContext, limit: int = 20) -> list[BatchView]:
    """The last imports, newest first."""
    permissions.require(ctx.actor, "person.read_basic")
    with ctx.read() as session:
        batches = list(
            session.scalars(
                select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id).limit(limit)
            )
        )
        remaining = dict(
            session.execute(
                select(ImportBatchPerson.batch_id, func.count())
                .where(ImportBatchPerson.batch_id.in_([b.id for b in batches]))
                .group_by(ImportBatchPerson.batch_id)
            ).all()
        )
        return [
            BatchView(
                b.id,
                b.created_at,
                b.file_name,
                b.file_format,
                b.rows_total,
                b.imported,
                b.duplicates,
                b.rejected,
                b.flagged,
                remaining.get(b.id, 0),
                b.undone_at,
            )  # fmt: skip
            for b in batches
        ]


@dataclass
class FlaggedPerson:
    person_id: str
    line: int
    family_name: str
    given_names: str
    flags: list[str]


def flagged_persons(ctx: ServiceContext, batch_id: str) -> list[FlaggedPerson]:
    """The persons of a batch with values to review (still stored), in file order."""
    permissions.require(ctx.actor, "person.read_basic")
    with ctx.read() as session:
        rows = session.execute(
            select(
                ImportBatchPerson.person_id, ImportBatchPerson.line, Person.family_name, Person.given_names,
                ImportBatchPerson.flags,
            )
            .join(Person, Person.id == ImportBatchPerson.person_id)
            .where(ImportBatchPerson.batch_id == batch_id, ImportBatchPerson.flags.is_not(None))
            .order_by(ImportBatchPerson.line)
        ).all()  # fmt: skip
    return [
        FlaggedPerson(pid, line, family, given, list(flags or []))
        for pid, line, family, given, flags in rows
        if flags
    ]


# Tables that belong to the person record itself: rows there do not mean "worked on".
_OWN_TABLES = {
    "person_name_variant", "person_nationality", "person_language", "search_key", "residence_status_change",
    "import_batch_person",
}  # fmt: skip


def _references_to_persons() -> list:
    """Columns of other tables that point at ``person.id`` (cases, appointments, consents, households, …)."""
    columns = []
    for table in Base.metadata.sorted_tables:
        if table.name in _OWN_TABLES:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "person" and fk.column.name == "id":
                columns.append(fk.parent)
    return columns


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def worked_on(session, person_ids: list[str]) -> set[str]:
    """Persons changed since their import or referenced by any other record."""
    touched: set[str] = set()
    for chunk in _chunks(person_ids):
        touched.update(
            session.scalars(
                select(Person.id).where(
                    Person.id.in_(chunk),
                    (Person.version > 1)
                    | Person.deleted_at.is_not(None)
                    | Person.merged_into_id.is_not(None),
                )
            )
        )
        for column in _references_to_persons():
            touched.update(session.scalars(select(column).where(column.in_(chunk)).distinct()))
    return touched


@dataclass
class UndoResult:
    batch_id: str
    removed: int


def undo_import(ctx: ServiceContext, batch_id: str) -> UndoResult:
    """ "Import rückgängig machen": delete exactly the persons of the batch, all or nothing.

    Refused (German ``UserError`` naming the file lines) when some of them have been worked on since.
    """
    permissions.require(ctx.actor, "person.write")
    with ctx.write() as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise NotFoundError(_("Kein Import mit dieser Kennung gefunden."))
        if batch.undone_at is not None:
            raise UserError(_("Dieser Import wurde bereits rückgängig gemacht."))
        links = dict(
            session.execute(
                select(ImportBatchPerson.person_id, ImportBatchPerson.line).where(
                    ImportBatchPerson.batch_id == batch_id
                )
            ).all()
        )
        ids = list(links)
        touched = worked_on(session, ids)
        if touched:
            lines = sorted(links[p] for p in touched)
            shown = ", ".join(str(n) for n in lines[:20]) + (" …" if len(lines) > 20 else "")
            raise UserError(
                ngettext(
                    "Der Import kann nicht rückgängig gemacht werden: {n} Person wurde seither bearbeitet (Zeile "
                    "{lines} der Datei). Bitte diese Person einzeln prüfen.",
                    "Der Import kann nicht rückgängig gemacht werden: {n} Personen wurden seither bearbeitet (Zeilen "
                    "{lines} der Datei). Bitte diese Personen einzeln prüfen.",
                    len(lines),
                ).format(n=len(lines), lines=shown),
                details=sorted(touched),
            )
        for chunk in _chunks(ids):
            for model in (
                SearchKey,
                PersonNameVariant,
                PersonNationality,
                PersonLanguage,
                ResidenceStatusChange,
            ):
                session.execute(delete(model).where(model.person_id.in_(chunk)))
            session.execute(delete(ImportBatchPerson).where(ImportBatchPerson.person_id.in_(chunk)))
            session.execute(delete(Person).where(Person.id.in_(chunk)))
        if ids:
            session.execute(
                insert(ChangeRecord),
                [
                    {"user_id": ctx.actor.user_id, "entity_type": "person", "entity_id": pid, "operation": "delete",
                     "base_version": 1, "at": utcnow(), "synced": False}
                    for pid in ids
                ],
            )  # fmt: skip
        session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(undone_at=utcnow(), undone_by=ctx.actor.user_id)
        )
        audit.record(
            session,
            "import_undo",
            entity_type="import_batch",
            entity_id=batch_id,
            detail={"persons": len(ids)},
        )
        return UndoResult(batch_id, len(ids))
