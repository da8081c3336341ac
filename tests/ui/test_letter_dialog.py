"""Brief erstellen from the GUI: which documents are offered, keyboard and screen-reader access.

Preview, saving, printing and the archive are covered in ``test_letter_preview.py``.
"""

from __future__ import annotations

import re
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel

from kim_desktop.services import cases, letters, persons
from kim_desktop.ui.letter_dialog import LetterDialog, document_titles


def test_document_choice_depends_on_the_context():
    assert "plan" not in document_titles(False) and "privacy" in document_titles(False)
    assert {"plan", "closing", "privacy"} <= set(document_titles(True))
    assert "invitation" not in document_titles(True) and "referral" not in document_titles(True)
    assert list(document_titles(True, with_appointment=True))[0] == "invitation"
    assert list(document_titles(False, with_referral=True))[0] == "referral"
    assert set(document_titles(False)) == set(letters.PERSON_LETTERS)


def test_letter_dialog_is_usable_with_the_keyboard(qtbot, ctx):
    person = persons.create_person(
        ctx,
        {"family_name": "Kowalska", "given_names": "Zofia", "sex": "f", "street": "Markt 3", "postcode": "48653",
         "city": "Coesfeld"},
    )  # fmt: skip
    case = cases.open_case(ctx, person.id, consent_on=date.today())
    dialog = LetterDialog(ctx, person_id=person.id, case_id=case.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)

    # Alt+K / Alt+P move to the document and language choices; the accelerators are unique
    found: dict[str, list[str]] = {}
    for widget in dialog.findChildren(QLabel) + dialog.findChildren(QAbstractButton):
        if not widget.isVisible() or (isinstance(widget, QLabel) and widget.buddy() is None):
            continue
        match = re.search(r"&([^&\s])", widget.text().replace("&&", ""))
        if match:
            found.setdefault(match.group(1).lower(), []).append(widget.text())
    assert all(len(owners) == 1 for owners in found.values()), found
    assert {"k", "p", "s", "d"} <= set(found)
    qtbot.keyClick(dialog.close_button, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.language
    qtbot.keyClick(dialog.language, Qt.Key.Key_K, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.template

    # Tab reaches the choices, the preview and the three buttons, all named for screen readers
    chain = [QApplication.focusWidget()]
    for _step in range(30):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        if QApplication.focusWidget() is chain[0]:
            break
        chain.append(QApplication.focusWidget())
    for widget in (dialog.template, dialog.preview.scroll, dialog.save_button, dialog.print_button,
                   dialog.close_button):  # fmt: skip
        assert widget in chain, widget
    assert all(w.accessibleName().strip() for w in chain), [type(w).__name__ for w in chain]

    # Esc closes the dialog without archiving anything
    qtbot.keyClick(dialog.template, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.archived_ids == []
