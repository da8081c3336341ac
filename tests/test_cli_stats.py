"""``kim-desktop stats``, ``stats-config`` and ``export persons|cases``: files written and read back, one German
line and exit 1 on bad input, confidential journal content and restricted persons never in an export."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from stats_seed import PERSONS, seed

from kim_desktop.cli import main
from kim_desktop.db.engine import open_database
from kim_desktop.db.models import AuditEvent, Person
from kim_desktop.services import list_export
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_db_path):
    database = open_database(tmp_db_path)
    ctx = ServiceContext(database, Actor.local())
    ids = seed(ctx)
    database.dispose()
    return tmp_db_path, ids


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_stats_all_formats(db, tmp_path, capsys):
    path, ids = db
    assert main(["stats-config", "--db", str(path), "--threshold", "1"]) == 0
    for fmt in ("csv", "xlsx", "pdf", "json"):
        out = tmp_path / f"s.{fmt}"
        code = main(["stats", "--db", str(path), "--from", "01.01.2025", "--to", "31.12.2025", "--format", fmt,
                     "--out", str(out)])  # fmt: skip
        assert code == 0 and out.stat().st_size > 0
    assert "Statistik gespeichert" in capsys.readouterr().out
    rows = _csv(tmp_path / "s.csv")
    assert [rows[1][1], rows[1][4]] == ["cases_new", "3"]
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert data["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    assert load_workbook(tmp_path / "s.xlsx").sheetnames[0] == "Übersicht"


def test_stats_team_filter_and_suffix_format(db, tmp_path):
    path, _ids = db
    out = tmp_path / "nord.json"
    assert main(["stats", "--db", str(path), "--from", "2025-01-01", "--to", "2025-12-31", "--team", "Team Nord",
                 "--out", str(out)]) == 0  # fmt: skip
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["filters"]["team"] == "Team Nord"
    new = data["sections"][0]["indicators"][0]
    assert new["id"] == "cases_new" and new["rows"][0]["text"] == "< 5" and new["rows"][0]["value"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "31.12.2025", "--to", "01.01.2025", "--out", "x.csv"], "endet vor seinem Beginn"),
        (["--from", "01.01.2025", "--to", "31.12.2025", "--team", "Team West", "--out", "x.csv"], "Team"),
        (["--from", "01.01.2025", "--to", "31.12.2025", "--out", "x.docx"], "--format"),
        (["--from", "1.13.2025", "--to", "31.12.2025", "--out", "x.csv"], ""),
    ],
)
def test_stats_bad_input_one_line_exit_1(db, tmp_path, capsys, args, message):
    path, _ids = db
    args = [a if a != "x.csv" and a != "x.docx" else str(tmp_path / a) for a in args]
    assert main(["stats", "--db", str(path), *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Fehler:") and message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not list(tmp_path.glob("x.*"))


def test_stats_config_counts(db, tmp_path, capsys):
    path, _ids = db
    config = tmp_path / "counts.json"
    config.write_text(json.dumps([{"id": "telefonate", "label": "Telefonate", "entity": "journal_entry",
                                   "field": "contact_type", "values": ["telefon"]}]), encoding="utf-8")  # fmt: skip
    assert main(["stats-config", "--db", str(path), "--counts", str(config), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["custom_counts"][0]["id"] == "telefonate" and shown["threshold"] == 5
    config.write_text(
        json.dumps([{"id": "x", "label": "X", "entity": "person", "field": "sex", "values": ["f"]}])
    )
    assert main(["stats-config", "--db", str(path), "--counts", str(config)]) == 1
    assert "Unbekannter Bereich" in capsys.readouterr().err
    config.write_text("{kein json")
    assert main(["stats-config", "--db", str(path), "--counts", str(config)]) == 1
    assert "kein JSON" in capsys.readouterr().err


def test_export_persons_and_cases(db, tmp_path):
    path, ids = db
    database = open_database(path)
    with database.session() as session:  # P3's processing is restricted (Art. 18): never exported
        session.get(Person, ids["P3"]).restricted_at = session.get(Person, ids["P3"]).created_at
    database.dispose()
    out = tmp_path / "p.csv"
    assert main(["export", "persons", "--db", str(path), "--format", "csv", "--out", str(out)]) == 0
    rows = _csv(out)
    assert rows[0][:3] == ["Familienname", "Vornamen", "Geburtsdatum"] and "Aufenthaltsstatus" in rows[0]
    names = {r[0] for r in rows[1:]}
    assert names == {"Haddad", "Karimi", "Okonkwo"}
    haddad = next(r for r in rows[1:] if r[0] == "Haddad")
    assert haddad[2] == "17.04.1990" and "Syrien" in haddad and "KIM-2025-0001" in haddad[-1]
    out = tmp_path / "c.xlsx"
    assert main(["export", "cases", "--db", str(path), "--out", str(out)]) == 0
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[0] == "Aktenzeichen" and sheet["A1"].font.bold
    cases = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(cases) == {
        "KIM-2025-0001",
        "KIM-2025-0002",
        "KIM-2024-0003",
        "KIM-2025-0099",
    }  # no C3 (P3), no C6
    c1 = cases["KIM-2025-0001"]
    assert c1["Kontakte"] == 1  # the confidential phone call is not counted; the deleted entry neither
    assert c1["letzter Kontakt"].date().isoformat() == "2025-03-10"  # not the confidential 11.03.
    text = out.read_bytes()
    assert b"VERTRAULICH" not in text and b"Geheimnis" not in text
    database = open_database(path)
    with database.session() as session:
        events = session.query(AuditEvent).filter(AuditEvent.action == "export").all()
        details = sorted((e.entity_type, e.detail["rows"]) for e in events)
    database.dispose()
    assert details == [("case_list", 4), ("person_list", 3)]


def test_export_respects_roles(db):
    path, ids = db
    database = open_database(path)
    try:
        reception = ServiceContext(database, Actor("r", "Empfang", frozenset({"reception"})))
        table = list_export.person_table(reception)
        assert "Aufenthaltsstatus" not in table.headers and len(table.rows) == 4
        with pytest.raises(PermissionDeniedError):
            list_export.case_table(reception)
        nora = ServiceContext(database, Actor(ids["U1"], "Nora Nord", frozenset({"case_management"})))
        numbers = {r[0] for r in list_export.case_table(nora).rows}
        assert numbers == {"KIM-2025-0001", "KIM-2024-0017", "KIM-2024-0003"}
        persons = {r[0]: r for r in list_export.person_table(nora).rows}
        assert persons["Haddad"][-1] == "KIM-2025-0001"  # her case only, not Sami Süd's C6
        assert persons["Karimi"][-4:] == ["", "", None, ""]  # Sami Süd's client: no case data for Nora
        assert {r[0] for r in list_export.case_table(nora, phase="open").rows} == set()
    finally:
        database.dispose()


def test_export_bad_kind_via_subprocess(db, tmp_path):
    path, _ids = db
    env = {
        **os.environ,
        "KIM_DESKTOP_NO_LOG_FILE": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONIOENCODING": "utf-8",
    }
    done = subprocess.run([sys.executable, "-m", "kim_desktop", "export", "cases", "--db", str(path), "--out",
                           str(tmp_path / "c.txt")], capture_output=True, text=True, env=env, cwd=PROJECT,
                          timeout=120)  # fmt: skip
    assert done.returncode == 1 and done.stderr.strip().startswith("Fehler:") and "--format" in done.stderr
    for family, _given, _birth in PERSONS.values():
        assert family not in done.stderr


def test_formula_like_text_is_defused():
    table = list_export.Table("Personen", ["Familienname", "Telefon"], [['=HYPERLINK("x")', "+49 2594 1"]])
    text = list_export.to_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+49 2594 1" in text
    sheet = load_workbook(io.BytesIO(list_export.to_xlsx(table))).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("'=")
