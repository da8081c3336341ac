"""The PyInstaller bundle (``dist/kim-desktop/``) as an installed user would run it: real executables,
real databases in a temporary folder, Qt offscreen.

Skipped unless ``KIM_TEST_BUNDLE=1`` (building takes minutes). ``.ci/run`` builds the bundle with
``scripts/build_bundle.py`` and sets the variable; locally: ``uv run python scripts/build_bundle.py`` and then
``KIM_TEST_BUNDLE=1 uv run pytest -q tests/test_bundle.py``. ``KIM_BUNDLE_DIR`` points at another bundle
folder (default ``dist/kim-desktop``); a missing bundle is built first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("KIM_TEST_BUNDLE") != "1",
    reason="bundle tests need KIM_TEST_BUNDLE=1 (builds take minutes)",
)

ROOT = Path(__file__).resolve().parent.parent


def _load_build_script():
    spec = importlib.util.spec_from_file_location("build_bundle", ROOT / "scripts" / "build_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_bundle = _load_build_script()


@pytest.fixture(scope="module")
def bundle() -> Path:
    folder = Path(os.environ.get("KIM_BUNDLE_DIR", build_bundle.BUNDLE))
    if not build_bundle.gui_exe(folder).is_file():
        assert folder == build_bundle.BUNDLE, f"no bundle in {folder}"
        build_bundle.build()
    return folder


@pytest.fixture
def env(tmp_path):
    return build_bundle.isolated_env(tmp_path / "home")


def cli(bundle: Path, args: list[str], env: dict[str, str]):
    return build_bundle.run(build_bundle.cli_exe(bundle), args, env)


def gui(bundle: Path, args: list[str], env: dict[str, str]):
    return build_bundle.run(build_bundle.gui_exe(bundle), args, env)


def internal(bundle: Path) -> Path:
    return bundle / "_internal"


def test_bundle_holds_resources_migrations_and_qt_translations(bundle):
    data = internal(bundle)
    for name in (
        "codelists/residence_status.csv",
        "fonts/NotoSansArabic-Regular.ttf",
        "fonts/DejaVuSans.ttf",
        "translations/en/LC_MESSAGES/kim_desktop.mo",
        "templates/de",
    ):
        assert (data / "resources" / name).exists(), name
    shipped = sorted(p.name for p in (ROOT / "kim_desktop" / "db" / "migrations" / "versions").glob("*.py"))
    bundled = sorted(p.name for p in (data / "kim_desktop" / "db" / "migrations" / "versions").glob("*.py"))
    assert bundled == shipped
    assert (data / "kim_desktop" / "db" / "migrations" / "env.py").is_file()
    qt_translations = {p.name for p in data.rglob("qtbase_*.qm")}
    assert "qtbase_de.qm" in qt_translations
    assert (data / "babel" / "locale-data" / "de.dat").is_file()
    assert not (data / "babel" / "locale-data" / "ja.dat").exists()  # trimmed to the languages in use


def test_bundle_leaves_out_unused_qt_and_stays_under_250_mb(bundle):
    names = {p.name.lower() for p in internal(bundle).rglob("*")}
    dangling = [p.name for p in internal(bundle).rglob("*") if p.is_symlink() and not p.exists()]
    assert dangling == []
    for unwanted in ("qt6webenginecore", "qt6quick", "qt6qml", "qt63dcore", "qt6virtualkeyboard", "qt6pdf"):
        assert not any(unwanted in name for name in names), unwanted
    assert any("qt6charts" in name for name in names)  # the statistics page needs QtCharts
    assert build_bundle.bundle_size_bytes(bundle) <= 250 * 10**6


def test_cli_init_creates_the_current_schema(bundle, env, tmp_path):
    from kim_desktop.db.schema_version import HEAD_REVISION

    db = tmp_path / "new.sqlite3"
    result = cli(bundle, ["--db", str(db), "init"], env)
    assert result.returncode == 0, result.stderr
    assert "Datenbank angelegt" in result.stdout
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
        # code lists seeded from the bundled CSV files
        assert connection.execute("SELECT count(*) FROM code_entry").fetchone()[0] > 0
    again = cli(bundle, ["--db", str(db), "init"], env)
    assert again.returncode == 0, again.stderr


def test_cli_wrong_usage_is_one_german_line(bundle, env):
    result = cli(bundle, ["no-such-command"], env)
    assert result.returncode == 2
    assert result.stderr.startswith("Aufruf fehlerhaft")
    assert "Traceback" not in result.stderr


def test_english_translation_is_found_when_frozen(bundle, env, tmp_path):
    result = cli(bundle, ["--language", "en", "--db", str(tmp_path / "en.sqlite3"), "init"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("Database created")


def test_gui_starts_with_the_demo_database(bundle, env, tmp_path):
    db = tmp_path / "demo.sqlite3"
    result = gui(bundle, ["--db", str(db), "--demo", "--exit-after-start"], env)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM person").fetchone()[0] >= 100
    # the second start takes the quick path (stdlib sqlite3, no SQLAlchemy before the first page)
    assert gui(bundle, ["--db", str(db), "--exit-after-start"], env).returncode == 0


def test_gui_reports_an_unreadable_database_without_traceback(bundle, env, tmp_path):
    db = tmp_path / "broken.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    # the console executable (without a command it starts the GUI too): the windowed one has no stderr on Windows
    result = cli(bundle, ["--db", str(db), "--exit-after-start"], env)
    assert result.returncode == 1
    assert result.stderr.startswith("Fehler:")
    assert "Traceback" not in result.stderr


def test_letter_with_arabic_text_uses_the_bundled_fonts(bundle, env, tmp_path):
    db = tmp_path / "letters.sqlite3"
    assert cli(bundle, ["--db", str(db), "demo", "--persons", "10"], env).returncode == 0
    cases = cli(bundle, ["--db", str(db), "cases", "--limit", "1", "--json"], env)
    person = json.loads(cases.stdout)[0]["person_id"]
    pdf = tmp_path / "privacy.pdf"
    result = cli(
        bundle,
        ["--db", str(db), "letter", "privacy", "--person", person, "--lang", "ar", "--out", str(pdf)],
        env,
    )
    assert result.returncode == 0, result.stderr
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF")
    assert b"NotoSansArabic" in content


def test_encrypted_database_opens_with_the_right_password_only(bundle, env, tmp_path):
    db = tmp_path / "secret.sqlite3"
    signed_in = dict(env, KIM_USER="admin", KIM_DB_PASSWORD="Bundle-Test-Passwort-7")
    assert cli(bundle, ["--db", str(db), "init"], signed_in).returncode == 0
    assert not db.read_bytes().startswith(b"SQLite format 3")  # SQLCipher: no plain header
    assert gui(bundle, ["--db", str(db), "--exit-after-start"], signed_in).returncode == 0
    wrong = gui(
        bundle, ["--db", str(db), "--exit-after-start"], dict(signed_in, KIM_DB_PASSWORD="falsch-falsch-1")
    )
    assert wrong.returncode == 1
    assert "Traceback" not in wrong.stderr


def test_first_start_shows_the_setup_assistant(bundle, env, tmp_path):
    db = tmp_path / "kim.sqlite3"
    result = gui(bundle, ["--db", str(db), "--exit-after-start"], dict(env, KIM_DESKTOP_EXIT_AT_SETUP="1"))
    assert result.returncode == 0, result.stderr
    assert not db.exists()  # the assistant was shown (and closed): nothing was created behind it
    assert (internal(bundle) / "resources" / "docs" / "benutzerhandbuch.md").is_file()  # its help (F1)
