"""Import of persons from Excel and CSV: reading, mapping, checks, duplicates, dry run, rejects, undo."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import (
    AuditEvent,
    ChangeRecord,
    ImportBatch,
    ImportBatchPerson,
    Person,
    SearchKey,
    Setting,
)
from kim_desktop.errors import UserError
from kim_desktop.services import cases, persons
from kim_desktop.services import person_import as pi
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.search import reindex_persons, search_persons

TODAY = date(2026, 11, 28)
HEADER = [
    "Nachname", "Vorname", "Geburtsdatum", "Geschlecht", "Staatsangehörigkeit", "Geburtsland", "Sprachen",
    "Straße", "PLZ", "Ort", "Telefon", "E-Mail", "Aufenthaltsstatus", "Aufenthalt gültig bis", "Aktenzeichen",
]  # fmt: skip


def row(**values) -> list[str]:
    keys = {
        "family": "Nachname", "given": "Vorname", "birth": "Geburtsdatum", "sex": "Geschlecht",
        "nat": "Staatsangehörigkeit", "cob": "Geburtsland", "lang": "Sprachen", "street": "Straße", "plz": "PLZ",
        "city": "Ort", "phone": "Telefon", "email": "E-Mail", "status": "Aufenthaltsstatus",
        "until": "Aufenthalt gültig bis", "az": "Aktenzeichen",
    }  # fmt: skip
    out = dict.fromkeys(HEADER, "")
    for key, value in values.items():
        out[keys[key]] = value
    return [out[h] for h in HEADER]


ROWS = [
    row(family="Müller", given="Ayşe", birth="01.01.1990", sex="w", nat="Syrien", lang="Arabisch (Muttersprache)",
        street="Lindenweg 4", plz="48653", city="Coesfeld", status="Gestattung", until="31.12.2027",
        az="KIM-2024-0007"),
    row(family="Haddad", given="Omar", birth="1985", sex="m", nat="Irak", status="AE § 25 Abs. 5"),
    row(family="Petrenko", given="Olena", birth="12.03.1979", sex="weiblich", nat="ukrainisch", lang="Ukrainisch, Deutsch B1",
        status="§ 24"),
]  # fmt: skip


def write_csv(path, rows, *, header=HEADER, encoding="utf-8", delimiter=";", bom=False):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def person_count(ctx) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(Person).where(Person.deleted_at.is_(None)))


def stored(ctx, family_name: str) -> Person:
    with ctx.read() as session:
        person = session.scalars(select(Person).where(Person.family_name == family_name)).one()
        session.expunge(person)
        return person


# --- reading --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "delimiter"),
    [
        ("utf-8", False, ";"),
        ("utf-8", True, ";"),
        ("cp1252", False, ";"),
        ("utf-8", False, ","),
        ("cp1252", False, ","),
    ],
)
def test_csv_encodings_and_delimiters(ctx, tmp_path, encoding, bom, delimiter):
    rows = [r for r in ROWS if encoding == "utf-8" or "ş" not in "".join(r)]
    rows.append(row(family="Öztürk", given="Jürgen", birth="05.06.1970", city="Dülmen"))
    path = write_csv(tmp_path / "liste.csv", rows, encoding=encoding, bom=bom, delimiter=delimiter)
    table = pi.read_table(path)
    assert table.delimiter == delimiter
    assert table.encoding == ("windows-1252" if encoding == "cp1252" else "utf-8")
    assert table.header == HEADER  # no BOM left in "Nachname"
    result = pi.run_import(ctx, path, today=TODAY)
    assert not result.rejected
    person = stored(ctx, "Öztürk")
    assert (person.given_names, person.city) == ("Jürgen", "Dülmen")


def test_values_are_mapped_to_codes_and_stored(ctx, tmp_path):
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", ROWS), today=TODAY)
    assert result.counts() == {"rows": 3, "imported": 3, "duplicates": 0, "rejected": 0, "flagged": 0}
    view = persons.get_person(ctx, stored(ctx, "Müller").id)
    assert view.birth_date.german() == "01.01.1990"  # the placeholder is kept as given
    assert (view.sex, view.nationalities, view.residence_status) == ("f", ["SY"], "gestattung")
    assert view.residence_valid_until == date(2027, 12, 31)
    assert view.languages == [("ar", "native")]
    assert "KIM-2024-0007" in view.note  # the file number has no person field: kept in the note
    haddad = persons.get_person(ctx, stored(ctx, "Haddad").id)
    assert haddad.birth_date.iso() == "1985" and haddad.residence_status == "aufenthalt_25_5"
    assert haddad.nationalities == ["IQ"]
    petrenko = persons.get_person(ctx, stored(ctx, "Petrenko").id)
    assert (petrenko.sex, petrenko.nationalities, petrenko.residence_status) == ("f", ["UA"], "schutz_24")
    assert petrenko.languages == [("uk", "none"), ("de", "B1")]
    # searchable right away, with exactly the keys a rebuild of the index gives
    with ctx.read() as session:
        assert [h.id for h in search_persons(session, "petrenko 1979")] == [petrenko.id]
    with ctx.write() as session:
        before = set(session.execute(select(SearchKey.key, SearchKey.person_id, SearchKey.weight)).all())
        reindex_persons(session, [view.id, haddad.id, petrenko.id])
        session.flush()
        assert (
            set(session.execute(select(SearchKey.key, SearchKey.person_id, SearchKey.weight)).all()) == before
        )
        changes = session.scalars(
            select(ChangeRecord.entity_id).where(ChangeRecord.operation == "insert")
        ).all()
        assert {view.id, haddad.id, petrenko.id} <= set(changes)


@pytest.mark.parametrize(
    ("written", "code"),
    [("Gestattung", "gestattung"), ("Aufenthaltsgestattung", "gestattung"), ("Duldung", "duldung"),
     ("AE § 25 Abs. 5", "aufenthalt_25_5"), ("AE 25a", "bleiberecht_25a_25b"), ("§ 60c AufenthG", "ausbildungsduldung"),
     ("NE", "niederlassung"), ("duldung", "duldung"), ("Chancen-Aufenthaltsrecht", "chancen_aufenthaltsrecht"),
     ("Aufenthaltserlaubnis", None), ("AE", None), ("§ 25", None), ("Touristenvisum", None)],
)  # fmt: skip
def test_residence_status_mapped_only_where_unambiguous(ctx, written, code):
    with ctx.read() as session:
        lookups = pi.Lookups(session, pi.ImportMapping())
    assert lookups.residence_status(written) == code


def test_unknown_values_are_flagged_kept_as_written_not_rejected(ctx, tmp_path):
    rows = [
        row(
            family="Karimi",
            given="Reza",
            birth="1988",
            status="Aufenthaltserlaubnis",
            nat="Atlantis",
            sex="?",
        ),
        row(family="Rahimi", given="Sara", birth="1992", status="AE"),
    ]
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", rows), today=TODAY)
    assert not result.rejected and len(result.to_import) == 2
    assert [r.line for r in result.flagged] == [2, 3]
    karimi = stored(ctx, "Karimi")
    assert karimi.residence_status is None and karimi.sex == "u"
    assert "„Aufenthaltserlaubnis“" in karimi.note and "„Atlantis“" in karimi.note and "„?“" in karimi.note
    with ctx.read() as session:
        flags = session.scalar(
            select(ImportBatchPerson.flags).where(ImportBatchPerson.person_id == karimi.id)
        )
    assert any("Aufenthaltsstatus" in f for f in flags)
    review = pi.flagged_persons(ctx, result.batch_id)
    assert [(f.line, f.family_name) for f in review] == [(2, "Karimi"), (3, "Rahimi")]
    assert review[0].person_id == karimi.id and len(review[0].flags) == 3


def test_value_mapping_from_the_mapping_file_says_what_AE_means(ctx, tmp_path):
    mapping_file = tmp_path / "zuordnung.json"
    mapping_file.write_text(
        json.dumps({"columns": {}, "values": {"residence_status": {"AE": "aufenthalt_25_5"}}}),
        encoding="utf-8",
    )
    mapping = pi.load_mapping_file(mapping_file)
    rows = [row(family="Rahimi", given="Sara", birth="1992", status="AE")]
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", rows), mapping=mapping, today=TODAY)
    assert not result.flagged
    assert stored(ctx, "Rahimi").residence_status == "aufenthalt_25_5"


def test_xlsx_with_date_cells_numbers_and_year_only(ctx, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Klient_innen"
    sheet.append(["Nachname", "Vorname", "Geburtsdatum", "PLZ", "Aufenthaltsstatus", "Aufenthalt gültig bis"])
    sheet.append(["Nasser", "Leila", date(1991, 7, 4), 48653, "Duldung", date(2027, 3, 1)])
    sheet.append(["Yilmaz", "Can", 1975, "48249", "", None])
    sheet.append(["Schmidt", "Eva", "30.02.1980", "", "", None])
    path = tmp_path / "liste.xlsx"
    workbook.save(path)
    result = pi.run_import(ctx, path, today=TODAY)
    assert result.table.file_format == "xlsx" and result.table.sheet == "Klient_innen"
    assert [(r.line, r.reason) for r in result.rejected] == [
        (4, "Geburtsdatum: Den 30.02.1980 gibt es nicht.")
    ]
    nasser = stored(ctx, "Nasser")
    assert (nasser.birth_year, nasser.birth_month, nasser.birth_day) == (1991, 7, 4)
    assert (nasser.postcode, nasser.residence_status, nasser.residence_valid_until) == (
        "48653",
        "duldung",
        date(2027, 3, 1),
    )
    yilmaz = stored(ctx, "Yilmaz")
    assert (yilmaz.birth_year, yilmaz.birth_month, yilmaz.birth_day) == (1975, None, None)


def test_rejected_rows_with_line_numbers_and_rejects_file(ctx, tmp_path):
    rows = [
        row(family="Gut", given="Anna", birth="02.02.1990"),
        row(family="", given="Ohne Nachnamen", birth="1990"),  # line 3
        ["", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],  # line 4: empty, skipped, still counted
        row(family="Zukunft", given="Zora", birth="01.01.2090"),  # line 5
        row(family="Falsch", given="Fritz", birth="31.04.1980"),  # line 6
        row(family="Mail", given="Mia", birth="1980", email="kein-at-zeichen"),  # line 7
    ]
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", rows), today=TODAY)
    assert [r.line for r in result.rejected] == [3, 5, 6, 7]
    reasons = {r.line: r.reason for r in result.rejected}
    assert reasons[3] == "Der Nachname fehlt."
    assert "Zukunft" in reasons[5] and reasons[5].startswith("Geburtsdatum:")
    assert "31.04.1980" in reasons[6]
    assert reasons[7].startswith("E-Mail:")
    assert person_count(ctx) == 1  # the valid row is imported
    out = pi.write_rejects(result, tmp_path / "abgelehnt.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == [*HEADER, "Zeile", "Grund"]
    assert [line[-2] for line in lines[1:]] == ["3", "5", "6", "7"]
    assert lines[1][1] == "Ohne Nachnamen" and lines[1][-1] == "Der Nachname fehlt."


def test_duplicates_of_stored_persons_are_listed_not_created(ctx, tmp_path):
    existing = persons.create_person(
        ctx, {"family_name": "Mohammadi", "given_names": "Ali", "birth_date": "1988"}
    )
    rows = [
        row(family="Muhammadi", given="Ali", birth="03.04.1988"),  # the stored person, another spelling
        row(family="Mohammadi", given="Fatima", birth="1990"),  # a sibling: not a duplicate
        row(family="Neumann", given="Nina", birth="1990"),
        row(family="Neumann", given="Nina", birth="1990"),  # twice in the file
    ]
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", rows), today=TODAY)
    assert [(d.row.line, [c.id for c in d.candidates], d.same_as_line) for d in result.duplicates] == [
        (2, [existing.id], None),
        (5, [], 4),
    ]
    assert person_count(ctx) == 3  # Mohammadi Ali, Mohammadi Fatima, Neumann Nina


def table_counts(ctx) -> dict[str, int]:
    with ctx.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (
                Person,
                SearchKey,
                ImportBatch,
                ImportBatchPerson,
                AuditEvent,
                ChangeRecord,
                Setting,
            )
        }


def test_dry_run_returns_the_preview_and_writes_nothing(ctx, tmp_path):
    path = write_csv(tmp_path / "a.csv", [*ROWS, row(family="", given="X")])
    before = table_counts(ctx)
    seen = []
    result = pi.run_import(ctx, path, dry_run=True, today=TODAY, progress=lambda s, d, t: seen.append((d, t)))
    assert result.dry_run and result.batch_id is None
    assert (len(result.to_import), len(result.rejected)) == (3, 1)
    assert result.summary().startswith("Probelauf: 3 Personen würden übernommen")
    assert seen[-1] == (4, 4)
    assert table_counts(ctx) == before


def test_cancel_leaves_nothing_behind(ctx, tmp_path):
    rows = [row(family=f"Person{i:03d}", given="Test", birth="1990") for i in range(120)]
    path = write_csv(tmp_path / "a.csv", rows)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3  # during the check of rows

    with pytest.raises(pi.ImportCancelled):
        pi.run_import(ctx, path, today=TODAY, cancel=cancel)
    state = {"writing": False}

    def cancel_while_writing():
        return state["writing"]

    def progress(stage, done, total):
        state["writing"] = stage == "Personen speichern"

    with pytest.raises(pi.ImportCancelled):
        pi.run_import(ctx, path, today=TODAY, cancel=cancel_while_writing, progress=progress)
    assert person_count(ctx) == 0
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_undo_removes_exactly_the_batch(ctx, tmp_path):
    keep = persons.create_person(ctx, {"family_name": "Bleibt", "given_names": "Berta", "birth_date": "1970"})
    first = pi.run_import(ctx, write_csv(tmp_path / "a.csv", ROWS), today=TODAY)
    second = pi.run_import(
        ctx, write_csv(tmp_path / "b.csv", [row(family="Zweiter", given="Import", birth="1999")]), today=TODAY
    )
    assert person_count(ctx) == 5
    batches = pi.list_batches(ctx)
    assert [b.id for b in batches] == [second.batch_id, first.batch_id]
    assert (batches[1].imported, batches[1].remaining) == (3, 3)
    undone = pi.undo_import(ctx, first.batch_id)
    assert undone.removed == 3
    with ctx.read() as session:
        names = set(session.scalars(select(Person.family_name)))
        assert names == {"Bleibt", "Zweiter"}
        assert not session.scalar(
            select(func.count()).select_from(SearchKey).join(Person, isouter=True).where(Person.id.is_(None))
        )
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import_undo")).one()
        assert event.entity_id == first.batch_id and event.detail == {"persons": 3}
        assert "Müller" not in json.dumps(event.detail)
    assert pi.list_batches(ctx)[1].undone_at is not None
    with pytest.raises(UserError, match="bereits rückgängig"):
        pi.undo_import(ctx, first.batch_id)
    assert persons.get_person(ctx, keep.id).family_name == "Bleibt"


def test_undo_refused_when_persons_were_worked_on(ctx, tmp_path):
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", ROWS), today=TODAY)
    haddad = stored(ctx, "Haddad")
    cases.open_case(ctx, haddad.id, consent_on=TODAY, opened_on=TODAY)
    petrenko = stored(ctx, "Petrenko")
    persons.update_person(ctx, petrenko.id, {"city": "Dülmen"})
    with pytest.raises(UserError) as info:
        pi.undo_import(ctx, result.batch_id)
    assert "2 Personen wurden seither bearbeitet (Zeilen 3, 4 der Datei)" in info.value.message
    assert set(info.value.details) == {haddad.id, petrenko.id}
    assert person_count(ctx) == 3  # nothing removed


def test_import_is_audited_with_counts_only(ctx, tmp_path):
    result = pi.run_import(ctx, write_csv(tmp_path / "a.csv", ROWS), today=TODAY)
    with ctx.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert event.entity_id == result.batch_id
    assert event.detail == {"rows": 3, "imported": 3, "duplicates": 0, "rejected": 0, "flagged": 0}


def test_permission_person_write_required(ctx, tmp_path):
    reception = ServiceContext(ctx.database, Actor("u9", "Empfang", frozenset({"reception"})))
    with pytest.raises(UserError, match="Keine Berechtigung"):
        pi.run_import(reception, write_csv(tmp_path / "a.csv", ROWS), dry_run=True)
    assert person_count(ctx) == 0


# --- mapping --------------------------------------------------------------------------------------------


def test_auto_mapping_knows_variants_and_leaves_unknown_columns_out():
    mapping = pi.auto_mapping(
        ["Familienname", "Vorname(n)", "Geb.-Datum", "Strasse", "Lieblingsfarbe", "E-Mail-Adresse"]
    )
    assert mapping.columns == {
        "Familienname": "family_name", "Vorname(n)": "given_names", "Geb.-Datum": "birth_date", "Strasse": "street",
        "Lieblingsfarbe": "", "E-Mail-Adresse": "email",
    }  # fmt: skip


def test_two_columns_to_one_field_refused_with_german_message(ctx, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS)
    mapping = pi.ImportMapping({"Nachname": "family_name", "Vorname": "family_name"})
    with pytest.raises(UserError) as info:
        pi.run_import(ctx, path, mapping=mapping)
    assert "„Nachname“ und „Vorname“ sind beide dem Feld „Nachname“ zugeordnet" in info.value.message
    assert pi.mapping_conflicts(mapping) == {"family_name": ["Nachname", "Vorname"]}
    assert person_count(ctx) == 0
    with pytest.raises(UserError, match="Nachnamen zugeordnet"):
        pi.run_import(ctx, path, mapping=pi.ImportMapping({"Nachname": ""}))


def test_mapping_file_with_german_field_names_and_errors(ctx, tmp_path):
    header = ["Name", "Vornamen", "Geb", "Status"]
    path = write_csv(tmp_path / "a.csv", [["Adler", "Ada", "1960", "Duldung"]], header=header)
    mapping_file = tmp_path / "m.json"
    mapping_file.write_text(
        json.dumps({"Geb": "Geburtsdatum", "Status": "residence_status"}), encoding="utf-8"
    )
    pi.run_import(ctx, path, mapping=pi.load_mapping_file(mapping_file), today=TODAY)
    adler = stored(ctx, "Adler")
    assert (adler.given_names, adler.birth_year, adler.residence_status) == ("Ada", 1960, "duldung")
    mapping_file.write_text("{kein json", encoding="utf-8")
    with pytest.raises(UserError, match="kein gültiges JSON"):
        pi.load_mapping_file(mapping_file)
    mapping_file.write_text(json.dumps({"Geb": "Schuhgröße"}), encoding="utf-8")
    with pytest.raises(UserError, match="Unbekanntes Feld „Schuhgröße“"):
        pi.load_mapping_file(mapping_file)


def test_saved_mappings_round_trip_in_the_setting_table(ctx):
    mapping = pi.ImportMapping(
        {"Name": "family_name", "Geb": "birth_date"}, {"residence_status": {"AE": "duldung"}}
    )
    pi.save_mapping(ctx, "Liste Jobcenter", mapping)
    pi.save_mapping(ctx, "Ausländerbehörde", pi.ImportMapping({"FamName": "family_name"}))
    saved = pi.saved_mappings(ctx)
    assert list(saved) == ["Ausländerbehörde", "Liste Jobcenter"]
    assert saved["Liste Jobcenter"] == mapping
    pi.delete_mapping(ctx, "Ausländerbehörde")
    assert list(pi.saved_mappings(ctx)) == ["Liste Jobcenter"]
    with pytest.raises(UserError):
        pi.save_mapping(ctx, "  ", mapping)


# --- bad input ------------------------------------------------------------------------------------------


def test_empty_file_and_header_only(ctx, tmp_path):
    empty = tmp_path / "leer.csv"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="Die Datei ist leer"):
        pi.run_import(ctx, empty)
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    with pytest.raises(UserError, match="Die Datei ist leer"):
        pi.read_table(blank)
    header_only = write_csv(tmp_path / "kopf.csv", [])
    with pytest.raises(UserError, match="nur die Kopfzeile"):
        pi.run_import(ctx, header_only)
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER)
    workbook.save(tmp_path / "kopf.xlsx")
    with pytest.raises(UserError, match="nur die Kopfzeile"):
        pi.read_table(tmp_path / "kopf.xlsx")
    assert person_count(ctx) == 0


def test_several_sheets_first_is_read_with_a_notice(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Neu"
    workbook.active.append(["Nachname"])
    workbook.active.append(["Erstes"])
    other = workbook.create_sheet("Archiv")
    other.append(["Nachname"])
    other.append(["Zweites"])
    workbook.save(tmp_path / "mappe.xlsx")
    table = pi.read_table(tmp_path / "mappe.xlsx")
    assert table.sheets == ["Neu", "Archiv"] and table.sheet == "Neu"
    assert table.rows == [(2, ["Erstes"])]
    assert "2 Tabellenblätter; gelesen wird nur das erste („Neu“)" in table.notices[0]
    chosen = pi.read_table(tmp_path / "mappe.xlsx", sheet="Archiv")
    assert chosen.rows == [(2, ["Zweites"])] and not chosen.notices
    with pytest.raises(UserError, match="kein Tabellenblatt"):
        pi.read_table(tmp_path / "mappe.xlsx", sheet="Fehlt")


def test_merged_cells_refused(ctx, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Nachname", "Vorname"])
    sheet.append(["Familie Ahmadi", "Amir"])
    sheet.append([None, "Bahar"])
    sheet.merge_cells("A2:A3")
    workbook.save(tmp_path / "verbunden.xlsx")
    with pytest.raises(UserError) as info:
        pi.run_import(ctx, tmp_path / "verbunden.xlsx")
    assert "verbundene Zellen (A2:A3)" in info.value.message
    assert person_count(ctx) == 0


def test_binary_garbage_named_csv(ctx, tmp_path):
    import random

    garbage = tmp_path / "liste.csv"
    rng = random.Random(7)
    garbage.write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    with pytest.raises(UserError, match="keine lesbare CSV- oder Excel-Datei"):
        pi.run_import(ctx, garbage)
    no_nul = tmp_path / "b.csv"
    no_nul.write_bytes(bytes(rng.randrange(1, 256) for _ in range(5000)))
    with pytest.raises(UserError, match="keine lesbare"):
        pi.read_table(no_nul)
    fake_xlsx = tmp_path / "kaputt.xlsx"
    fake_xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UserError, match="keine gültige Excel-Arbeitsmappe"):
        pi.read_table(fake_xlsx)
    old = tmp_path / "alt.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(UserError, match=r"\.xls\) wird nicht unterstützt"):
        pi.read_table(old)
    assert person_count(ctx) == 0


def test_file_over_the_size_limit_refused_before_reading(ctx, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "gross.csv", ROWS * 20)
    monkeypatch.setattr(pi, "MAX_FILE_BYTES", 1024)
    with pytest.raises(UserError, match="Die Datei ist zu groß"):
        pi.run_import(ctx, path)
    assert person_count(ctx) == 0


def test_too_many_rows_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(pi, "MAX_ROWS", 5)
    path = write_csv(tmp_path / "a.csv", ROWS * 2)
    with pytest.raises(UserError, match="mehr als 5 Datenzeilen"):
        pi.read_table(path)


def test_missing_file(ctx, tmp_path):
    with pytest.raises(UserError, match="nicht gefunden"):
        pi.run_import(ctx, tmp_path / "fehlt.csv")


def test_batch_duplicate_check_agrees_with_find_duplicates(ctx):
    from kim_desktop.services.dates import parse_partial_date
    from kim_desktop.services.duplicates import find_duplicates

    stored_people = [
        ("Mohammadi", "Ali", "1988"), ("Mohammadi", "Fatima", "12.05.1990"), ("Müller", "Hans", "14.07.1979"),
        ("Karimi", "", "1970"), ("Ahmed", "Sara Nour", "01.01.2001"), ("Kovalenko", "Olena", ""),
        ("Nguyen", "Van Minh", "1995"), ("Hassan", "Omar", "03.03.1985"), ("Omar", "Hassan", "1985"),
    ]  # fmt: skip
    for family, given, birth in stored_people:
        persons.create_person(
            ctx, {"family_name": family, "given_names": given, "birth_date": birth}, allow_duplicate=True
        )
    gone = persons.create_person(
        ctx, {"family_name": "Mohammadi", "given_names": "Ali"}, allow_duplicate=True
    )
    with ctx.write() as session:
        session.get(Person, gone.id).deleted_at = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        ("Muhammadi", "Ali", "03.04.1988"), ("Mohammadi", "Ali", "1999"), ("Mueller", "Hans", ""),
        ("Karimi", "Reza", "1970"), ("Ahmed", "Sara", "2001"), ("Kowalenko", "Olena", "1980"),
        ("Nguyen", "Minh", "1995"), ("Omar", "Hassan", "03.03.1985"), ("Neu", "Niemand", "1990"), ("Hassan", "", ""),
    ]  # fmt: skip
    rows = []
    for i, (family, given, birth) in enumerate(entries):
        values = {"family_name": family, "given_names": given, "birth_date": parse_partial_date(birth), "phone": None,
                  "nationalities": []}  # fmt: skip
        rows.append(pi.ImportRow(i + 2, values))
    with ctx.read() as session:
        batch = pi.BatchDuplicateCheck(session).run(rows)
        single = [
            find_duplicates(session, r.values["family_name"], r.values["given_names"], r.values["birth_date"])
            for r in rows
        ]
    as_tuples = [[(c.id, c.score) for c in found] for found in batch]
    assert as_tuples == [[(c.id, c.score) for c in found] for found in single]
    assert sum(1 for found in batch if found) >= 6  # the comparison is not trivially empty


def test_excel_sep_line_names_the_delimiter(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("sep=,\r\nNachname,Vorname\r\nAdler,Ada\r\n", encoding="utf-8")
    table = pi.read_table(path)
    assert (table.delimiter, table.header, table.rows) == (
        ",",
        ["Nachname", "Vorname"],
        [(2, ["Adler", "Ada"])],
    )
