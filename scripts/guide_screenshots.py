"""Screenshots for the user guide's "Erste Schritte": setup assistant → first person → first letter.

Run offscreen from the repository root (a throw-away database and settings in a temporary folder):

    QT_QPA_PLATFORM=offscreen KIM_DESKTOP_NO_LOG_FILE=1 uv run python scripts/guide_screenshots.py
    … scripts/guide_screenshots.py --dark --out screenshots/dark      # the same in dark mode, for review

Writes PNGs to ``resources/docs/images/`` (the guide's pictures, shipped with the program). All data is
synthetic.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "ein-gutes-passwort-1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "docs" / "images")
    parser.add_argument("--dark", action="store_true", help="dark palette (as on a system in dark mode)")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.mkdtemp(prefix="kim-guide-"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication([sys.argv[0]])
    app.setApplicationName("kim-desktop")
    app.setOrganizationName("KIM Desktop")
    from kim_desktop.db import keyslots
    from kim_desktop.i18n import current_language, set_language
    from kim_desktop.ui.theme import apply_system_theme

    set_language("de")
    apply_system_theme(app, force="dark" if args.dark else "light")
    keyslots.set_kdf_parameters(time_cost=1, memory_cost=8192, parallelism=1)  # screenshots only

    def settle() -> None:
        for _ in range(5):
            app.processEvents()

    def shot(widget, name: str) -> None:
        settle()
        widget.grab().save(str(out / name))
        print(out / name)

    from kim_desktop.ui.setup_wizard import SetupWizard

    wizard = SetupWizard(work / "kim.sqlite3")
    wizard.resize(780, 600)
    wizard.show()
    shot(wizard, "einrichtung-1-willkommen.png")
    wizard.next()
    office = wizard.office
    for name, value in {
        "organisation": "Kreis Beispiel",
        "unit": "Kommunales Integrationszentrum – KIM",
        "street": "Musterstraße 12",
        "postcode": "42651",
        "city": "Beispielstadt",
        "phone": "0212 000000",
        "email": "kim@kreis-beispiel.de",
    }.items():
        office.inputs[name].setText(value)
    office.dpo.setPlainText("Datenschutzbeauftragte/r des Kreises\ndatenschutz@kreis-beispiel.de")
    shot(wizard, "einrichtung-2-dienststelle.png")
    wizard.next()
    shot(wizard, "einrichtung-3-datenbank.png")
    wizard.next()
    wizard.user.username.setText("mbeispiel")
    wizard.user.display_name.setText("Maria Beispiel")
    wizard.user.password.setText(PASSWORD)
    wizard.user.repeat.setText(PASSWORD)
    shot(wizard, "einrichtung-4-benutzer.png")
    wizard.next()
    shot(wizard, "einrichtung-5-loeschfrist-briefform.png")
    wizard.next()
    wizard.next()
    shot(wizard, "einrichtung-6-fertig.png")
    wizard.accept()
    ctx = wizard.ctx
    assert ctx is not None, wizard.finish.error.text()

    from kim_desktop.ui.app import list_source_for
    from kim_desktop.ui.main_window import MainWindow

    window = MainWindow(str(work / "kim.sqlite3"))
    source = list_source_for(ctx)
    window.resize(1100, 700)
    window.show()
    window.set_list_source(source, source.residence_labels(current_language()))
    window.attach_services(ctx)
    settle()
    shot(window, "start-hauptfenster.png")
    window.new_person()
    settle()
    page = window.person_page
    for name, value in {
        "family_name": "Haddad",
        "given_names": "Samira",
        "birth_date": "03.1988",
        "street": "Lindenweg 4",
        "postcode": "42651",
        "city": "Beispielstadt",
        "phone": "0151 00000000",
    }.items():
        page.inputs[name].setText(value)
        page.inputs[name].editingFinished.emit()
    shot(window, "erste-person.png")
    assert page.save(), "the person could not be saved"
    settle()
    person_id = page.person_id
    shot(window, "erste-person-gespeichert.png")

    from kim_desktop.ui.letter_dialog import LetterDialog

    dialog = LetterDialog(ctx, person_id=person_id, parent=window)
    wanted = dialog.template.findData("privacy")
    if wanted >= 0:
        dialog.template.setCurrentIndex(wanted)
    dialog.resize(1100, 720)
    dialog.show()
    settle()
    shot(dialog, "erster-brief.png")
    dialog.reject()
    page._dirty = False
    window._pool.waitForDone(5000)
    window.close()
    source.close()
    ctx.database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
