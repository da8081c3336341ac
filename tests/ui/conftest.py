"""Qt fixtures for the GUI tests: a real SQLite file with 250 persons and the main window built like ``ui/app.py``.

Everything runs offscreen (``QT_QPA_PLATFORM=offscreen``, set in ``tests/conftest.py``) with real widgets,
real services and a real database file in the test's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]

FAMILY_NAMES = (
    "Abel", "Bauer", "Becker", "Demir", "Fischer", "Günther", "Hoffmann", "Jovanović", "Kaya", "Koch", "Krüger",
    "Lange", "Nowak", "Öztürk", "Petrović", "Richter", "Schmidt", "Schneider", "Schulz", "Wagner", "Weber",
    "Wolf", "Yilmaz", "Zimmermann",
)  # fmt: skip
GIVEN_NAMES = ("Anna", "Ben", "Clara", "David", "Elif", "Farid", "Hana", "Ivan", "Jana", "Omar")
CITIES = ("Köln", "Düren", "Bonn", "Aachen", "Essen")
PERSON_COUNT = 250
# Fixed persons the tests look for (Müller is the only name matching "mueller", Zyska sorts last).
MUELLER = {"family_name": "Müller", "given_names": "Hans", "birth_date": "14.07.1979", "city": "Köln"}
LAST = {"family_name": "Zyska", "given_names": "Zoë", "birth_date": "1990", "city": "Bonn"}


def _person_values():
    values = []
    for i, (family, given) in enumerate((f, g) for f in FAMILY_NAMES for g in GIVEN_NAMES):
        values.append(
            {
                "family_name": family,
                "given_names": given,
                "birth_date": date(1950 + i % 60, 1 + i % 12, 1 + i % 28).strftime("%d.%m.%Y"),
                "city": CITIES[i % len(CITIES)],
            }
        )
    for given in ("Adam", "Berta", "Carl", "Dora", "Emma", "Fritz", "Gustav", "Heinz"):
        values.append({"family_name": "Quast", "given_names": given, "birth_date": "", "city": "Düren"})
    values += [MUELLER, LAST]
    assert len(values) == PERSON_COUNT
    return values


@pytest.fixture(scope="session")
def person_template(tmp_path_factory) -> Path:
    """A database file with 250 persons, built once per session; tests get copies."""
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext
    from kim_desktop.services.persons import create_person

    path = tmp_path_factory.mktemp("template") / "kim.sqlite3"
    database = open_database(path)
    ctx = ServiceContext(database, Actor.local())
    for values in _person_values():
        create_person(ctx, values, allow_duplicate=True)
    database.dispose()
    return path


@pytest.fixture
def db_path(tmp_db_path, person_template) -> Path:
    """A private copy of the 250-person database at ``tmp_db_path``."""
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{person_template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{tmp_db_path}{suffix}")
    return tmp_db_path


@pytest.fixture
def ui_ctx(db_path):
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(db_path)
    context = ServiceContext(database, Actor.local())
    yield context
    database.dispose()


def build_window(qtbot, path: Path, ctx):
    """The main window as ``ui.app.run_gui`` assembles it (quick list source, then the services)."""
    from kim_desktop.i18n import current_language
    from kim_desktop.services.person_list import SqlitePersonList
    from kim_desktop.ui.main_window import MainWindow

    window = MainWindow(str(path))
    source = SqlitePersonList(path)
    window._test_source = source
    # pytest-qt closes registered widgets before fixtures are torn down: discard edits first, or the
    # "unsaved changes" question of closeEvent would block.
    qtbot.addWidget(window, before_close_func=close_window)
    window.show()
    qtbot.waitExposed(window)
    window.set_list_source(source, source.residence_labels(current_language()))
    window.attach_services(ctx)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2000)
    return window


def close_window(window) -> None:
    """Close without the "unsaved changes" question (it would block the test); safe to call twice."""
    if window.person_page is not None:
        window.person_page._dirty = False
    window._pool.waitForDone(5000)
    window.close()
    window._test_source.close()


@pytest.fixture
def window(qtbot, db_path, ui_ctx):
    """The main window on the 250-person database, list page shown, services attached."""
    win = build_window(qtbot, db_path, ui_ctx)
    yield win
    close_window(win)


@pytest.fixture
def screenshot_dir() -> Path:
    """Screenshots for human review (git-ignored); ``KIM_SCREENSHOT_DIR`` overrides the place."""
    path = Path(os.environ.get("KIM_SCREENSHOT_DIR") or ROOT / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def wait_for_list(qtbot, window, n: int, *, searching: bool, timeout: int = 5000) -> None:
    model = window.list_page.model
    qtbot.waitUntil(lambda: model.searching == searching and model.rowCount() == n, timeout=timeout)


def run_modal_handler(qtbot, handler, *, timeout_ms: int = 5000, match=None):
    """Call ``handler(dialog)`` as soon as a modal dialog is open (polls with a timer); returns a record.

    With ``match``, wait for the modal dialog for which ``match(dialog)`` is true, so handlers can be chained
    (a picker, then the dialog it leads to, then the question that one asks)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    record = {"dialog": None, "title": None, "text": None, "error": None}
    waited = {"ms": 0}

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or (match is not None and (not dialog.isVisible() or not match(dialog))):
            waited["ms"] += 20
            if waited["ms"] < timeout_ms:
                QTimer.singleShot(20, poll)
            return
        record["dialog"] = dialog
        record["title"] = dialog.windowTitle()
        record["text"] = getattr(dialog, "text", lambda: "")()
        try:
            handler(dialog)
        except Exception as exc:  # noqa: BLE001 - reported by the test, never left with an open modal
            record["error"] = exc
            dialog.reject()

    QTimer.singleShot(0, poll)
    return record


def click_button(dialog, text: str) -> None:
    from PySide6.QtWidgets import QAbstractButton

    for button in dialog.findChildren(QAbstractButton):
        if button.text().replace("&", "") == text:
            button.click()
            return
    raise AssertionError(f"no button {text!r} in {[b.text() for b in dialog.findChildren(QAbstractButton)]}")


SCALED_RENDER_SCRIPT = r'''
"""Run in a separate process (own QApplication, QT_SCALE_FACTOR from the environment)."""
import json
import sys

from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QPlainTextEdit

from kim_desktop.db.engine import open_database
from kim_desktop.i18n import current_language, set_language
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.person_list import SqlitePersonList
from kim_desktop.services.persons import rows_by_ids
from kim_desktop.services.search import search_persons
from kim_desktop.ui.main_window import MainWindow

db_path, png_path, width, height, language = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
app = QApplication([sys.argv[0]])
set_language(language)
ctx = ServiceContext(open_database(db_path), Actor.local())
window = MainWindow(db_path)
source = SqlitePersonList(db_path)
window.set_list_source(source, source.residence_labels(current_language()))
window.attach_services(ctx)
window.resize(width, height)
window.show()
with ctx.read() as session:
    person_id = rows_by_ids(session, [h.id for h in search_persons(session, "mueller", limit=1)])[0].id
window.open_person(person_id)
page = window.person_page
page.inputs["birth_date"].setText("31.02.1990")
page.inputs["birth_date"].editingFinished.emit()
for _ in range(5):
    app.processEvents()
window.grab().save(png_path)
clipped = []
for name, widget in page.inputs.items():
    if isinstance(widget, (QLineEdit, QComboBox, QPlainTextEdit)) and widget.width() < widget.minimumSizeHint().width():
        clipped.append([name, widget.width(), widget.minimumSizeHint().width()])
scroll = [w for w in page.children() if w.metaObject().className() == "QScrollArea"][0]
result = {
    "device_pixel_ratio": window.devicePixelRatio(),
    "window": [window.width(), window.height()],
    "window_minimum": [window.minimumSizeHint().width(), window.minimumSizeHint().height(),
                       window.minimumWidth(), window.minimumHeight()],
    "form_minimum": [scroll.widget().minimumSizeHint().width(), scroll.widget().minimumSizeHint().height()],
    "viewport": [scroll.viewport().width(), scroll.viewport().height()],
    "horizontal_scroll": scroll.horizontalScrollBar().maximum(),
    "clipped": clipped,
    "error_visible": page.errors["birth_date"].isVisible(),
    "title": page.title.text(),
}
print(json.dumps(result))
window._pool.waitForDone(5000)
page._dirty = False
source.close()
ctx.database.dispose()
'''


def run_scaled_render(
    tmp_path: Path, db: Path, png: Path, *, scale: str = "1.5", size=(853, 533), language="de"
):
    """Render the person page in a subprocess with ``QT_SCALE_FACTOR``; returns the metrics it printed."""
    import json
    import subprocess

    script = tmp_path / "render_scaled.py"
    script.write_text(SCALED_RENDER_SCRIPT, encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=scale, KIM_DESKTOP_NO_LOG_FILE="1")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    done = subprocess.run(
        [sys.executable, str(script), str(db), str(png), str(size[0]), str(size[1]), language],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(ROOT),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class UiHelpers:
    """Helpers for the GUI tests, handed out by the ``ui`` fixture (test modules do not import conftest)."""

    build_window = staticmethod(build_window)
    close_window = staticmethod(close_window)
    wait_for_list = staticmethod(wait_for_list)
    on_modal = staticmethod(run_modal_handler)

    @staticmethod
    def when_modal(qtbot, match, handler, *, timeout_ms: int = 5000) -> dict:
        return run_modal_handler(qtbot, handler, timeout_ms=timeout_ms, match=match)

    click_button = staticmethod(click_button)
    scaled_render = staticmethod(run_scaled_render)
    PERSON_COUNT = PERSON_COUNT
    MUELLER = MUELLER
    LAST = LAST


@pytest.fixture
def ui() -> type[UiHelpers]:
    return UiHelpers


# --- encrypted databases and signed-in users (login, screen lock, roles) ---------------------------------

LEAD_PASSWORD = "sehr-geheim-123"
RECEPTION_PASSWORD = "empfang-pass-123"
ADMIN_PASSWORD = "technik-pass-123"


@pytest.fixture
def encrypted_db(tmp_path, fast_kdf):
    """A real SQLCipher database: first user "leitung" (every role), "empfang" (reception), "technik" (admin
    only), three persons and an open case for Müller. Returns a dict with the path, the ids and passwords."""
    from datetime import date

    from kim_desktop.services import cases, login, persons, users

    path = tmp_path / "verschluesselt.sqlite3"
    ctx = login.create_encrypted_database(path, "leitung", LEAD_PASSWORD, display_name="Lea Leitung")
    try:
        mueller = persons.create_person(ctx, MUELLER).id
        zyska = persons.create_person(ctx, LAST).id
        persons.create_person(ctx, {"family_name": "Quast", "given_names": "Adam", "city": "Düren"})
        case_id = cases.open_case(ctx, mueller, consent_on=date.today()).id
        users.add_user(ctx, "empfang", "Erik Empfang", RECEPTION_PASSWORD, ["reception"])
        users.add_user(ctx, "technik", "Tea Technik", ADMIN_PASSWORD, ["admin"])
    finally:
        ctx.database.dispose()
    return {
        "path": path,
        "mueller": mueller,
        "zyska": zyska,
        "case_id": case_id,
        "passwords": {"leitung": LEAD_PASSWORD, "empfang": RECEPTION_PASSWORD, "technik": ADMIN_PASSWORD},
    }


def build_signed_in_window(qtbot, ctx, location: str = ""):
    """The main window as ``ui.app.run_gui`` assembles it after a login (list through the services)."""
    from kim_desktop.i18n import current_language
    from kim_desktop.ui.app import list_source_for
    from kim_desktop.ui.main_window import MainWindow

    window = MainWindow(location)
    source = list_source_for(ctx)
    window._test_source = source
    qtbot.addWidget(window, before_close_func=close_window)
    window.show()
    qtbot.waitExposed(window)
    window.set_list_source(source, source.residence_labels(current_language()))
    window.attach_services(ctx)
    return window


@pytest.fixture
def sign_in(qtbot, encrypted_db):
    """``sign_in("empfang")``: a main window for that user on ``encrypted_db``; closed and disposed after."""
    from kim_desktop.services import login

    opened = []

    def open_as(username: str):
        ctx = login.open_context(
            encrypted_db["path"], username=username, password=encrypted_db["passwords"][username]
        )
        window = build_signed_in_window(qtbot, ctx, str(encrypted_db["path"]))
        opened.append((window, ctx))
        return window

    yield open_as
    for window, ctx in opened:
        close_window(window)
        ctx.database.dispose()
