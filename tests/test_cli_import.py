"""``kim-desktop import FILE [--mapping FILE] [--dry-run] [--rejects FILE]``: exit codes and the stderr summary."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kim_desktop.cli import main

PROJECT = Path(__file__).resolve().parent.parent
HEADER = "Nachname;Vorname;Geburtsdatum;Geschlecht;Aufenthaltsstatus;Aktenzeichen\r\n"
GOOD = HEADER + "Schneider;Amal;14.02.1987;w;Duldung;KIM-2023-0101\r\nBerisha;Arben;1979;m;NE;\r\n"
MIXED = (
    GOOD
    + ";Ohne Nachname;1990;m;;\r\nZukunft;Zoe;01.01.2099;w;;\r\nRahimi;Omid;1995;m;Aufenthaltserlaubnis;\r\n"
)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "kim.sqlite3"
    assert main(["init", "--db", str(path)]) == 0
    return path


def persons_in(path) -> list[str]:
    with sqlite3.connect(path) as raw:
        return sorted(r[0] for r in raw.execute("SELECT family_name FROM person"))


def test_every_row_imported_exit_0(db, tmp_path, capsys):
    source = tmp_path / "liste.csv"
    source.write_text(GOOD, encoding="utf-8-sig")
    capsys.readouterr()
    assert main(["import", str(source), "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert "2 Personen übernommen, 0 mögliche Dubletten, 0 Zeilen abgelehnt" in out
    assert err == ""
    assert persons_in(db) == ["Berisha", "Schneider"]
    # the same file again: both are probable duplicates, listed, not created, still exit 0
    assert main(["import", str(source), "--db", str(db)]) == 0
    out, _err = capsys.readouterr()
    assert "Zeile 2: mögliche Dublette, nicht angelegt: Schneider, Amal" in out
    assert persons_in(db) == ["Berisha", "Schneider"]


def test_rejected_rows_exit_1_summary_on_stderr_and_rejects_file(db, tmp_path, capsys):
    source = tmp_path / "liste.csv"
    source.write_bytes(MIXED.encode("cp1252"))
    rejects = tmp_path / "abgelehnt.csv"
    capsys.readouterr()
    assert main(["import", str(source), "--db", str(db), "--rejects", str(rejects)]) == 1
    out, err = capsys.readouterr()
    assert "3 Personen übernommen" in out
    assert "Zeile 6: übernommen, bitte prüfen: Aufenthaltsstatus „Aufenthaltserlaubnis“" in out
    assert (
        err.splitlines()[0]
        == "3 Personen übernommen, 0 mögliche Dubletten, 2 Zeilen abgelehnt, 1 Person zu prüfen."
    )
    assert "Zeile 4: Der Nachname fehlt." in err
    assert "Zeile 5: Geburtsdatum: Ein Geburtsdatum kann nicht in der Zukunft liegen." in err
    assert persons_in(db) == ["Berisha", "Rahimi", "Schneider"]
    lines = list(csv.reader(io.StringIO(rejects.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert lines[0][-2:] == ["Zeile", "Grund"]
    assert [(line[0], line[-2]) for line in lines[1:]] == [("", "4"), ("Zukunft", "5")]


def test_dry_run_writes_nothing_and_reports_the_same(db, tmp_path, capsys):
    source = tmp_path / "liste.csv"
    source.write_text(MIXED, encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(source), "--db", str(db), "--dry-run", "--json"]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["dry_run"] is True and data["batch_id"] is None
    assert data["counts"] == {"rows": 5, "imported": 3, "duplicates": 0, "rejected": 2, "flagged": 1}
    assert [r["line"] for r in data["rejected"]] == [4, 5]
    assert err.startswith("Probelauf: 3 Personen würden übernommen")
    assert persons_in(db) == []


def test_mapping_file(db, tmp_path, capsys):
    source = tmp_path / "liste.csv"
    source.write_text("FamName,Rufname,Geb\r\nIbrahim,Samira,1966\r\n", encoding="utf-8")
    mapping = tmp_path / "zuordnung.json"
    mapping.write_text(
        json.dumps({"columns": {"FamName": "Nachname", "Rufname": "Vorname", "Geb": "Geburtsdatum"}})
    )
    assert main(["import", str(source), "--db", str(db), "--mapping", str(mapping)]) == 0
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT family_name, given_names, birth_year FROM person").fetchall() == [
            ("Ibrahim", "Samira", 1966)
        ]


def test_two_columns_to_one_field_and_bad_files_exit_1_with_one_line(db, tmp_path, capsys):
    source = tmp_path / "liste.csv"
    source.write_text(GOOD, encoding="utf-8")
    mapping = tmp_path / "zuordnung.json"
    mapping.write_text(json.dumps({"Nachname": "family_name", "Vorname": "family_name"}))
    capsys.readouterr()
    assert main(["import", str(source), "--db", str(db), "--mapping", str(mapping)]) == 1
    _out, err = capsys.readouterr()
    assert err.startswith(
        "Fehler: Die Spalten „Nachname“ und „Vorname“ sind beide dem Feld „Nachname“ zugeordnet"
    )
    assert len(err.strip().splitlines()) == 1
    empty = tmp_path / "leer.csv"
    empty.write_bytes(b"")
    assert main(["import", str(empty), "--db", str(db)]) == 1
    assert capsys.readouterr().err == "Fehler: Die Datei ist leer.\n"
    header_only = tmp_path / "kopf.csv"
    header_only.write_text(HEADER, encoding="utf-8")
    assert main(["import", str(header_only), "--db", str(db)]) == 1
    assert "nur die Kopfzeile" in capsys.readouterr().err
    assert persons_in(db) == []


def test_real_program_exit_codes_and_stderr(db, tmp_path):
    source = tmp_path / "liste.csv"
    source.write_text(MIXED, encoding="utf-8")
    garbage = tmp_path / "müll.csv"
    garbage.write_bytes(bytes(range(256)) * 20)
    env = {**os.environ, "KIM_DESKTOP_NO_LOG_FILE": "1", "PYTHONIOENCODING": "utf-8"}

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "kim_desktop", *args, "--db", str(db)],
            cwd=PROJECT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
        )  # fmt: skip

    bad = run("import", str(garbage))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Fehler: Die Datei ist keine lesbare CSV- oder Excel-Datei.")
    done = run("import", str(source))
    assert done.returncode == 1
    assert "2 Zeilen abgelehnt" in done.stderr.splitlines()[0]
    assert "Import-Kennung" in done.stdout
