"""The ``kim-desktop`` command line: exit codes, one German line on stderr, JSON output.

The exit-code/stderr contract is tested on the real program in a subprocess; the rest calls
``kim_desktop.cli.main`` in-process (same code, much faster).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from kim_desktop.cli import main

PROJECT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "KIM_DESKTOP_NO_LOG_FILE": "1",
    "QT_QPA_PLATFORM": "offscreen",
    "PYTHONIOENCODING": "utf-8",
}


@pytest.fixture(scope="module", autouse=True)
def _bytecode_cache(tmp_path_factory):
    """Let the subprocesses share compiled bytecode in a temporary folder (not in the source tree), so
    each run of the program does not compile SQLAlchemy again when PYTHONDONTWRITEBYTECODE is set."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))


def run(*args: str):
    """The real program, as a user or a script calls it."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "kim_desktop", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=ENV,
        cwd=PROJECT,
        timeout=120,
    )


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``main()`` in-process; returns exit code, stdout, stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse (usage errors, --version)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(result, prefix: str = "Fehler:") -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def db(tmp_db_path, capsys):
    """An initialised database file (path as string)."""
    code, out, _err = cli(capsys, "--db", str(tmp_db_path), "init")
    assert code == 0 and "angelegt" in out
    return str(tmp_db_path)


def add(capsys, db, *args: str) -> str:
    code, out, err = cli(capsys, "--db", db, "person", "add", *args, "--json")
    assert code == 0, err
    return json.loads(out)["id"]


def show(capsys, db, person_id: str) -> dict:
    code, out, err = cli(capsys, "--db", db, "person", "show", person_id, "--json")
    assert code == 0, err
    return json.loads(out)


# --- subprocess: the contract ---------------------------------------------------------------------------


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("KIM Desktop ")
    assert result.stderr == ""


def test_init_is_repeatable(tmp_db_path):
    first = run("--db", str(tmp_db_path), "init")
    assert first.returncode == 0, first.stderr
    assert "Datenbank angelegt" in first.stdout
    assert tmp_db_path.is_file()
    second = run("--db", str(tmp_db_path), "init")
    assert second.returncode == 0, second.stderr
    assert "aktuell" in second.stdout
    assert second.stderr == ""


def test_add_duplicate_and_allow_duplicate(db):
    first = run("--db", db, "person", "add", "--family-name", "Müller", "--given-names", "Hans",
                "--birth-date", "12.03.1990", "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)
    assert list(created) == ["id"]

    duplicate = run("--db", db, "person", "add", "--family-name", "Mueller", "--given-names", "Hans",
                    "--birth-date", "1990", "--json")  # fmt: skip
    assert duplicate.returncode == 1
    assert duplicate.stdout == ""
    assert "möglicherweise schon erfasst" in duplicate.stderr
    assert "--allow-duplicate" in duplicate.stderr
    assert created["id"] in duplicate.stderr  # the candidate, so the user can open it
    assert "Traceback" not in duplicate.stderr

    forced = run("--db", db, "person", "add", "--family-name", "Mueller", "--given-names", "Hans",
                 "--birth-date", "1990", "--allow-duplicate", "--json")  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["id"] != created["id"]


@pytest.mark.parametrize(
    "args",
    [
        ["person", "add"],  # --family-name missing
        ["person", "add", "--family-name", "Ali", "--bogus"],
        ["--bogus"],
        ["search"],
        ["person"],
        ["frobnicate"],
        ["demo", "--persons", "0"],
        ["search", "Ali", "--limit", "viele"],
    ],
)
def test_wrong_usage_exits_2(db, args):
    result = run("--db", db, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Aufruf fehlerhaft:"), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["person", "add", "--family-name", "Ali", "--birth-date", "31.02.2001"],
            "Den 31.02.2001 gibt es nicht",
        ),
        (["person", "add", "--family-name", "Ali", "--birth-date", "2999"], "nicht plausibel"),
        (["person", "add", "--family-name", ""], "Bitte geben Sie den Familiennamen ein."),
        (["person", "add", "--family-name", "Ali", "--email", "x", "--birth-date", "bald"], "E-Mail"),
        (["person", "add", "--family-name", "Ali", "--nationality", "QQ"], "Unbekannter Ländercode: QQ"),
        (["person", "show", "00000000-0000-0000-0000-000000000000"], "Keine Person"),
        (["person", "update", "00000000-0000-0000-0000-000000000000", "--city", "Bonn"], "Keine Person"),
    ],
)
def test_bad_input_exits_1_with_one_line(db, args, fragment):
    result = run("--db", db, *args)
    line = assert_one_error_line(result)
    assert fragment in line
    assert result.stdout == ""


def test_check(db):
    good = run("--db", db, "check")
    assert good.returncode == 0, good.stderr
    assert "Keine Probleme" in good.stdout


def test_check_finds_missing_search_keys(db, capsys):
    person_id = add(capsys, db, "--family-name", "Haddad")
    add(capsys, db, "--family-name", "Nasser")
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM search_key WHERE person_id = ?", (person_id,))
    result = run("--db", db, "check")
    assert result.returncode == 1
    assert result.stderr.strip() == "Suchindex: 1 Personen fehlen im Suchindex."
    assert "Haddad" not in result.stderr  # no personal data, only counts


def test_check_finds_dangling_foreign_keys(db, capsys):
    add(capsys, db, "--family-name", "Haddad")
    raw = sqlite3.connect(db)
    try:
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute(
            "INSERT INTO person_nationality (person_id, country_code, sort_order) VALUES ('weg', 'SY', 0)"
        )
        raw.commit()
    finally:
        raw.close()
    result = run("--db", db, "check")
    assert result.returncode == 1
    assert "Fremdschlüssel: 1 Datensätze in „person_nationality“ verweisen ins Leere." in result.stderr
    assert "Traceback" not in result.stderr


def test_check_on_a_missing_file_does_not_create_it(tmp_path):
    missing = tmp_path / "gibt-es-nicht.sqlite3"
    result = run("--db", str(missing), "check")
    line = assert_one_error_line(result)
    assert "nicht gefunden" in line
    assert not missing.exists()


def test_database_error_is_one_line(db):
    with sqlite3.connect(db) as raw:
        raw.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'Nein'); END"
        )
    result = run("--db", db, "person", "add", "--family-name", "Haddad")
    line = assert_one_error_line(result)
    assert "nichts wurde geändert" in line
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM person").fetchone()[0] == 0


def test_unexpected_error_is_one_line_without_traceback_or_data(db, capsys):
    person_id = add(capsys, db, "--family-name", "Geheimname")
    raw = sqlite3.connect(db)
    try:  # a record no KIM version writes: a day without a month
        raw.execute("PRAGMA ignore_check_constraints = ON")
        raw.execute(
            "UPDATE person SET birth_year = 1990, birth_month = NULL, birth_day = 5 WHERE id = ?",
            (person_id,),
        )
        raw.commit()
    finally:
        raw.close()
    result = run("--db", db, "person", "show", person_id)
    line = assert_one_error_line(result)
    assert "unerwarteter Fehler" in line
    assert "Geheimname" not in result.stderr


def test_sqlite_url_as_db(tmp_db_path):
    url = f"sqlite:///{tmp_db_path}"
    created = run("--db", url, "init")
    assert created.returncode == 0, created.stderr
    assert str(tmp_db_path) in created.stdout
    added = run("--db", url, "person", "add", "--family-name", "Öztürk", "--json")
    assert added.returncode == 0, added.stderr
    found = run("--db", str(tmp_db_path), "search", "Ozturk", "--json")  # same file as a path
    assert [hit["id"] for hit in json.loads(found.stdout)] == [json.loads(added.stdout)["id"]]


# --- in-process: output formats -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "iso"),
    [
        ("2001-02-03", "2001-02-03"),
        ("03.02.2001", "2001-02-03"),
        ("3.2.2001", "2001-02-03"),
        ("01.01.2001", "2001-01-01"),  # placeholder kept
        ("02.2001", "2001-02"),
        ("2001", "2001"),
    ],
)
def test_birth_date_forms(capsys, db, given, iso):
    person_id = add(capsys, db, "--family-name", "Tesfaye", "--birth-date", given)
    assert show(capsys, db, person_id)["birth_date"] == iso


def test_show_json_fields(capsys, db):
    person_id = add(
        capsys, db, "--family-name", "Yılmaz", "--given-names", "Ayşe", "--birth-date", "1990",
        "--nationality", "TR", "--nationality", "DE", "--language", "tr:native", "--language", "de:B1",
        "--residence-status", "duldung", "--residence-valid-until", "2027-12-31", "--sex", "f",
        "--city", "Dortmund", "--note", "<b>O'Connor & Söhne</b>", "--other-spelling", "Yilmaz, Ayse",
        "--interpreter-needed", "ja",
    )  # fmt: skip
    data = show(capsys, db, person_id)
    assert data["id"] == person_id
    assert data["family_name"] == "Yılmaz"
    assert data["given_names"] == "Ayşe"
    assert data["birth_date"] == "1990"
    assert data["nationalities"] == ["TR", "DE"]
    assert data["languages"] == [{"code": "tr", "level": "native"}, {"code": "de", "level": "B1"}]
    assert data["residence_status"] == "duldung"
    assert data["residence_valid_until"] == "2027-12-31"
    assert data["sex"] == "f"
    assert data["interpreter_needed"] is True
    assert data["note"] == "<b>O'Connor & Söhne</b>"
    assert data["other_spellings"] == ["Yilmaz, Ayse"]
    assert data["version"] >= 1
    assert data["file_numbers"] == []


def test_show_text(capsys, db):
    person_id = add(
        capsys, db, "--family-name", "Haddad", "--given-names", "Rami", "--birth-date", "1985-07-04"
    )
    code, out, err = cli(capsys, "--db", db, "person", "show", person_id)
    assert code == 0 and err == ""
    assert out.strip() == f"Haddad, Rami  (04.07.1985)  {person_id}"


def test_update(capsys, db):
    person_id = add(capsys, db, "--family-name", "Haddad", "--city", "Köln")
    before = show(capsys, db, person_id)
    code, out, err = cli(capsys, "--db", db, "person", "update", person_id, "--city", "Bonn", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["id"], data["city"], data["family_name"]) == (person_id, "Bonn", "Haddad")
    assert data["version"] > before["version"]
    assert show(capsys, db, person_id)["city"] == "Bonn"


def test_update_with_stale_version_is_refused(capsys, db):
    person_id = add(capsys, db, "--family-name", "Haddad", "--city", "Köln")
    version = show(capsys, db, person_id)["version"]
    assert cli(capsys, "--db", db, "person", "update", person_id, "--city", "Bonn",
               "--expected-version", str(version))[0] == 0  # fmt: skip
    code, out, err = cli(capsys, "--db", db, "person", "update", person_id, "--city", "Aachen",
                         "--expected-version", str(version))  # fmt: skip
    assert code == 1 and out == ""
    assert err.startswith("Fehler: Diese Akte wurde inzwischen von einer anderen Sitzung geändert.")
    assert show(capsys, db, person_id)["city"] == "Bonn"


def test_update_without_changes_is_an_error(capsys, db):
    person_id = add(capsys, db, "--family-name", "Haddad")
    code, _out, err = cli(capsys, "--db", db, "person", "update", person_id)
    assert code == 1
    assert err.strip() == "Fehler: Keine Änderung angegeben."


def test_search_json_best_first(capsys, db):
    exact = add(capsys, db, "--family-name", "Mohammed", "--given-names", "Ali", "--birth-date", "12.03.1990")
    phonetic = add(capsys, db, "--family-name", "Muhammad", "--given-names", "Yusuf", "--birth-date", "1988")
    add(capsys, db, "--family-name", "Schmidt", "--given-names", "Anna")
    code, out, err = cli(capsys, "--db", db, "search", "Mohammed", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert [h["id"] for h in hits] == [exact, phonetic]
    assert {"id", "family_name", "given_names", "birth_date"} <= set(hits[0])
    assert (hits[0]["family_name"], hits[0]["given_names"], hits[0]["birth_date"]) == (
        "Mohammed",
        "Ali",
        "1990-03-12",
    )
    assert hits[1]["birth_date"] == "1988"
    assert hits[0]["score"] < hits[1]["score"]

    code, out, _err = cli(capsys, "--db", db, "search", "Mohammed", "--json", "--limit", "1")
    assert [h["id"] for h in json.loads(out)] == [exact]
    code, out, _err = cli(capsys, "--db", db, "search", "12.03.1990", "--json")
    assert [h["id"] for h in json.loads(out)] == [exact]
    code, out, _err = cli(capsys, "--db", db, "search", "Niemand", "--json")
    assert code == 0 and json.loads(out) == []


def test_search_text_output(capsys, db):
    person_id = add(capsys, db, "--family-name", "Strauß", "--given-names", "Eva", "--birth-date", "05.1975",
                    "--city", "Essen")  # fmt: skip
    code, out, _err = cli(capsys, "--db", db, "search", "Strauss")
    assert code == 0
    assert out.strip() == f"{person_id}  Strauß, Eva  05.1975  Essen"
    code, out, _err = cli(capsys, "--db", db, "search", "Niemand")
    assert code == 0 and out.strip() == "Keine Treffer."


def test_db_option_after_the_subcommand(capsys, db):
    code, out, err = cli(capsys, "person", "add", "--db", db, "--family-name", "Haddad", "--json")
    assert code == 0, err
    person_id = json.loads(out)["id"]
    code, out, _err = cli(capsys, "search", "--db", db, "Haddad", "--json")
    assert [h["id"] for h in json.loads(out)] == [person_id]


def test_check_on_an_outdated_database_asks_for_init(tmp_db_path, capsys):
    from alembic import command
    from sqlalchemy import create_engine

    from kim_desktop.db import migrate

    engine = create_engine(f"sqlite:///{tmp_db_path}")
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0001_initial")
    engine.dispose()
    code, _out, err = cli(capsys, "--db", str(tmp_db_path), "check")
    assert code == 1
    assert "kim-desktop init" in err
    code, out, _err = cli(capsys, "--db", str(tmp_db_path), "init")
    assert code == 0 and "aktualisiert" in out and "Sicherung" in out
    assert cli(capsys, "--db", str(tmp_db_path), "check")[0] == 0


def test_help_follows_the_language_option(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, KIM_DESKTOP_NO_LOG_FILE="1")
    english = subprocess.run([sys.executable, "-m", "kim_desktop", "--language", "en", "letters", "--help"],
                             capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    german = subprocess.run([sys.executable, "-m", "kim_desktop", "letters", "--help"],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert english.returncode == 0 and "create letters in one run" in english.stdout
    assert german.returncode == 0 and "Briefe in einem Durchgang erstellen" in german.stdout
