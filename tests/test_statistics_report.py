"""Statistics output read back: CSV (BOM, semicolon, German numbers), XLSX (openpyxl), JSON, PDF (pypdf); the
case conference summary carries no names, birth dates or file numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from stats_seed import FILE_NUMBERS, FIRST, LAST, PERSONS, seed

from kim_desktop.errors import UserError
from kim_desktop.reports import statistics_report as rep
from kim_desktop.services import case_conference as cc
from kim_desktop.services import statistics as st
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError


@pytest.fixture
def seeded(ctx):
    ids = seed(ctx)
    st.set_threshold(ctx, 1)
    return ids


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_csv_is_german_excel_style(ctx, seeded):
    data = rep.to_csv(st.compute(ctx, FIRST, LAST))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Abschnitt", "Kennzahl-ID", "Kennzahl", "Ausprägung", "Wert"]
    by_key = {(r[1], r[3]): r[4] for r in rows[1:]}
    assert by_key[("cases_new", "Neu aufgenommene Fälle")] == "3"
    assert by_key[("counselling_hours", "Beratungsstunden")] == "3,0"
    assert by_key[("counselling_hours_by_type", "Persönliches Gespräch")] == "2,5"
    assert by_key[("closure_reasons", "Summe")] == "2"
    assert all(r[6:] == ["01.01.2025", "31.12.2025"] for r in rows[1:])


def test_csv_and_json_carry_no_suppressed_number(ctx):
    seed(ctx)  # default threshold 5: every figure of the small data set is 0 or suppressed
    result = st.compute(ctx, FIRST, LAST)
    rows = list(csv.reader(io.StringIO(rep.to_csv(result).decode("utf-8-sig")), delimiter=";"))
    values = {r[4] for r in rows[1:]}
    assert values <= {"0", "0,0", "< 5", "x"}, values
    data = json.loads(rep.to_json(result))
    assert data["suppression_threshold"] == 5
    cells = [c for s in data["sections"] for i in s["indicators"] for c in [*i["rows"], *([i["total"]] if i["total"]
             else [])]]  # fmt: skip
    assert all(c["value"] in (None, 0) for c in cells)


def test_json_structure(ctx, seeded):
    data = json.loads(rep.to_json(st.compute(ctx, FIRST, LAST)))
    assert data["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    sections = {s["id"]: s for s in data["sections"]}
    reasons = next(i for i in sections["closure"]["indicators"] if i["id"] == "closure_reasons")
    assert {r["key"]: r["value"] for r in reasons["rows"]} == {"ziele_erreicht": 1, "wegzug": 1}
    assert reasons["total"]["value"] == 2


def test_xlsx_read_back(ctx, seeded, tmp_path):
    path = rep.write(st.compute(ctx, FIRST, LAST, team_id=seeded["T1"]), "xlsx", tmp_path / "s.xlsx")
    book = load_workbook(path)
    assert book.sheetnames[0] == "Übersicht"
    assert "Fälle" in book.sheetnames and "Vermittlungen" in book.sheetnames
    overview = book["Übersicht"]
    assert "Team: Team Nord" in overview["A2"].value
    sheet = book["Fälle"]
    assert sheet["A1"].value == "Neu aufgenommene Fälle" and sheet["A1"].font.bold
    assert sheet["A2"].font.bold and sheet["A3"].value == "Neu aufgenommene Fälle" and sheet["B3"].value == 1
    assert sheet.column_dimensions["A"].width >= 20
    contacts = book["Kontakte und Beratung"]
    values = {r[0]: r[1] for r in contacts.iter_rows(values_only=True) if r and r[0]}
    assert values["Beratungsstunden"] == 1.5  # Team Nord: C1's 60 + 30 minutes


def test_pdf_report_text(ctx, seeded, tmp_path):
    path = rep.write(st.compute(ctx, FIRST, LAST), "pdf", tmp_path / "s.pdf", organisation="Kreis Beispiel")
    reader = PdfReader(path)
    assert len(reader.pages) >= 5
    text = _pdf_text(path.read_bytes())
    for expected in ("Statistik Kommunales Integrationsmanagement", "Kreis Beispiel", "Zeitraum 01.01.2025 bis "
                     "31.12.2025", "Abschlussgründe", "Wegzug aus dem Kreis", "Seite 2", "Beratungsstunden"):  # fmt: skip
        assert expected in text
    assert reader.metadata.title == "Statistik Kommunales Integrationsmanagement"
    for family, given, _birth in PERSONS.values():
        assert family not in text and given not in text


def test_unknown_format_and_missing_folder(ctx, seeded, tmp_path):
    result = st.compute(ctx, FIRST, LAST)
    with pytest.raises(UserError, match="Unbekanntes Format"):
        rep.render(result, "docx")
    with pytest.raises(UserError, match="Ordner"):
        rep.write(result, "csv", tmp_path / "nope" / "s.csv")
    assert not list(tmp_path.glob("*.tmp"))


def _forbidden() -> list[str]:
    words = []
    for family, given, (y, m, d) in PERSONS.values():
        words += [family, given]
        if y and m and d:
            words += [f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}"]
    return words + list(FILE_NUMBERS.values())


def test_case_conference_summary_is_anonymous(ctx, seeded):
    summary = cc.case_conference_summary(ctx, FIRST, LAST, case_ids=[seeded["C1"], seeded["C2"]],
                                         today=LAST)  # fmt: skip
    assert [g.label for g in summary.findings] == ["Wohnraum"]
    assert summary.findings[0].count == 2
    first = summary.findings[0].descriptions[0]
    assert "Haddad" not in first and "KIM-2025-0001" not in first and "17.04.1990" not in first
    assert "Kaum bezahlbarer Wohnraum" in first
    a, b = summary.cases
    assert a.alias == "Fall A" and b.alias == "Fall B"
    assert a.age_band == "27 bis 44 Jahre" and a.residence_category == "Aufenthaltserlaubnis"
    assert a.phase == "Abschluss" and a.duration_months == 8  # 01.02. → 01.10.2025
    assert sorted(a.goals) == [
        ("Arbeit/Ausbildung/Anerkennung", "teilweise erreicht"),
        ("Sprache", "erreicht"),
    ]
    assert a.referrals == [("Integrationskurs", "Abgeschlossen"), ("ohne Angebot", "Versendet")]
    assert a.life_areas == ["Sprache", "Arbeit/Ausbildung/Anerkennung"]
    assert a.contacts == 2  # C1: persönlich + Telefonat (the deleted entry does not count)
    assert b.age_band == "unter 18 Jahre" and b.residence_category == "Duldung"
    pdf = rep.conference_pdf(summary, organisation="Kreis Beispiel")
    text = _pdf_text(pdf)
    assert "Fall A" in text and "Wohnraum" in text and "Wartezeit auf WBS" in text
    data = json.dumps(summary.to_json(), ensure_ascii=False)
    for word in _forbidden():
        assert word not in text, word
        assert word not in data, word
    assert "VERTRAULICH" not in text and "Ziel für" not in text


def test_case_conference_respects_visibility(ctx, seeded):
    nora = ServiceContext(ctx.database, Actor(seeded["U1"], "Nora Nord", frozenset({"case_management"})))
    summary = cc.case_conference_summary(nora, FIRST, LAST, case_ids=[seeded["C1"]])
    assert [g.count for g in summary.findings] == [1]  # only the finding of her case C1
    with pytest.raises(PermissionDeniedError):
        cc.case_conference_summary(nora, FIRST, LAST, case_ids=[seeded["C2"]])


def test_scrub():
    text = cc.scrub("Frau Haddad-Aziz (KIM-2024-0042, geb. 01.01.1990) wartet seit 2024-03-01", {"Haddad", "Aziz"},
                    set())  # fmt: skip
    assert "Haddad" not in text and "Aziz" not in text and "KIM-2024-0042" not in text
    assert "01.01.1990" not in text and "2024-03-01" not in text and "wartet seit" in text


def test_charts_with_many_values_draw_the_largest_not_the_first():
    """A chart of 20 nationalities drew the first 15 in table order and dropped the biggest groups."""
    from types import SimpleNamespace

    from kim_desktop.reports.statistics_report import MAX_BARS, chart_cells, chart_note

    rows = [SimpleNamespace(label=f"L{i:02d}", value=v) for i, v in enumerate([5] * 17 + [90, None, 80])]
    cells, total = chart_cells(SimpleNamespace(rows=rows))
    assert total == 19 and len(cells) == MAX_BARS
    labels = [c.label for c in cells]
    assert "L17" in labels and "L19" in labels  # the two largest, at the end of the table
    assert labels == sorted(labels)  # still in the table's order
    assert "15" in chart_note(total) and "19" in chart_note(total)
