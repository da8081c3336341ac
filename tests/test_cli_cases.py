"""``kim-desktop cases`` and ``kim-desktop case open|phase|reopen`` as the real program in a subprocess:
JSON output, exit 1 with one German line on stderr, read commands never create a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "KIM_DESKTOP_NO_LOG_FILE": "1",
    "QT_QPA_PLATFORM": "offscreen",
    "PYTHONIOENCODING": "utf-8",
}
TODAY = date.today().strftime("%d.%m.%Y")


@pytest.fixture(scope="module", autouse=True)
def _bytecode_cache(tmp_path_factory):
    """Share compiled bytecode between the subprocesses (outside the source tree)."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kim_desktop", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=ENV,
        cwd=PROJECT,
        timeout=120,
    )


def ok_json(*args: str):
    result = run(*args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Fehler: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An initialised database with one person and one case (opened today with consent), moved to Assessment."""
    db = str(tmp_path_factory.mktemp("cli-cases") / "kim.sqlite3")
    init = run("--db", db, "init")
    assert init.returncode == 0 and "angelegt" in init.stdout, init.stderr
    person_id = ok_json(
        "--db", db, "person", "add", "--family-name", "Haddad", "--given-names", "Rania",
        "--birth-date", "12.05.1990", "--json",
    )["id"]  # fmt: skip
    opened = ok_json(
        "--db",
        db,
        "case",
        "open",
        person_id,
        "--consent-on",
        TODAY,
        "--access-channel",
        "jobcenter",
        "--json",
    )
    assessed = ok_json("--db", db, "case", "phase", opened["id"], "assessment", "--json")
    return {"db": db, "person_id": person_id, "opened": opened, "assessed": assessed}


def test_case_open_json(world):
    opened = world["opened"]
    assert opened["file_number"] == f"KIM-{date.today().year}-0001"
    assert opened["person_id"] == world["person_id"]
    assert opened["phase"] == "intake"
    assert opened["person_name"] == "Haddad, Rania"
    assert opened["opened_on"] == date.today().isoformat()


def test_case_phase_json(world):
    assessed = world["assessed"]
    assert assessed["id"] == world["opened"]["id"]
    assert assessed["phase"] == "assessment"
    assert assessed["file_number"] == world["opened"]["file_number"]


def test_cases_json(world):
    rows = ok_json("--db", world["db"], "cases", "--json")
    assert len(rows) == 1
    row = rows[0]
    assert {"id", "file_number", "person_id", "phase", "case_manager"} <= set(row)
    assert (row["id"], row["file_number"], row["person_id"], row["phase"]) == (
        world["opened"]["id"], world["opened"]["file_number"], world["person_id"], "assessment",
    )  # fmt: skip
    assert row["case_manager"] is None  # local single user, no accounts yet
    assert ok_json("--db", world["db"], "cases", "--phase", "open", "--json")[0]["id"] == row["id"]
    assert ok_json("--db", world["db"], "cases", "--phase", "closed", "--json") == []
    assert (
        ok_json("--db", world["db"], "cases", "--person", world["person_id"], "--json")[0]["id"] == row["id"]
    )


def test_cases_text_output(world):
    result = run("--db", world["db"], "cases")
    assert result.returncode == 0, result.stderr
    assert world["opened"]["file_number"] in result.stdout
    assert "Haddad, Rania" in result.stdout


def test_cases_unknown_phase(world):
    line = one_error_line(run("--db", world["db"], "cases", "--phase", "bogus"))
    assert "Unbekannte Phase" in line
    assert "bogus" in line


def test_close_without_reason_refused(world):
    case_id = world["opened"]["id"]
    line = one_error_line(run("--db", world["db"], "case", "phase", case_id, "closed"))
    assert "Abschlussgrund" in line
    line = one_error_line(
        run("--db", world["db"], "case", "phase", case_id, "closed", "--closure-reason", "lottogewinn")
    )
    assert "Unbekannter Abschlussgrund" in line
    # still in Assessment
    assert ok_json("--db", world["db"], "cases", "--json")[0]["phase"] == "assessment"


def test_skipping_a_phase_refused(world):
    line = one_error_line(run("--db", world["db"], "case", "phase", world["opened"]["id"], "monitoring"))
    assert "der Reihe nach" in line


def test_open_case_for_unknown_person(world):
    line = one_error_line(run("--db", world["db"], "case", "open", "no-such-person", "--json"))
    assert "Keine Person" in line


def test_close_and_reopen(tmp_path):
    db = str(tmp_path / "kim.sqlite3")
    assert run("--db", db, "init").returncode == 0
    person_id = ok_json("--db", db, "person", "add", "--family-name", "Okonkwo", "--json")["id"]
    case_id = ok_json("--db", db, "case", "open", person_id, "--json")["id"]
    closed = ok_json("--db", db, "case", "phase", case_id, "closed", "--closure-reason", "wegzug", "--json")
    assert (closed["phase"], closed["closure_reason"], closed["closed_on"]) == (
        "closed", "wegzug", date.today().isoformat(),
    )  # fmt: skip
    line = one_error_line(run("--db", db, "case", "phase", case_id, "assessment"))
    assert "abgeschlossen" in line
    reopened = ok_json("--db", db, "case", "reopen", case_id, "--json")
    assert (reopened["phase"], reopened["closure_reason"], reopened["closed_on"]) == ("intake", None, None)


@pytest.mark.parametrize(
    "args",
    [
        ("search", "Haddad"),
        ("person", "show", "00000000-0000-0000-0000-000000000000"),
        ("cases",),
        ("cases", "--json"),
        ("case", "open", "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_missing_database_is_not_created(tmp_path, args):
    missing = tmp_path / "tippfehler" / "kim.sqlite3"
    line = one_error_line(run("--db", str(missing), *args))
    assert "nicht gefunden" in line
    assert not missing.exists()
    assert not missing.parent.exists()
