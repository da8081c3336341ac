"""What the signed-in user's roles let the GUI show (``services.permissions.allowed``).

The services refuse anything not allowed (``PermissionDeniedError``); the GUI does not offer it in the first
place: menu actions, pages, buttons, groups and tabs the roles do not allow are hidden. So Empfang/Verwaltung
sees the person list, names and contact data and the calendar, Administration without a case role sees
settings, users and the directory of offers, and only case roles see cases, the journal, documents and letters.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

#: Main window action attribute → the action(s) it needs (any of them).
WINDOW_ACTIONS: dict[str, tuple[str, ...]] = {
    "new_action": ("person.write",),
    "save_action": ("person.write",),
    "find_action": ("person.read_basic",),
    "open_action": ("person.read_basic",),
    "list_action": ("person.read_basic",),
    "persons_action": ("person.read_basic",),
    "new_appointment_action": ("appointment.write",),
    "find_slot_action": ("appointment.write",),
    "bulk_letters_action": ("letter.make",),
    "interpreters_action": ("appointment.read",),
    "office_hours_action": ("appointment.read",),
    "ics_export_action": ("appointment.read",),
    "ics_import_action": ("appointment.write",),
    "retention_action": ("retention.run",),
    "settings_action": ("settings.manage",),
    "workplace_action": ("case.read",),
    "caseload_action": ("case.read",),
    "calendar_action": ("appointment.read",),
    "directory_action": ("case.read", "directory.write"),
    "statistics_action": ("case.read",),
    "call_list_action": ("appointment.read",),
    "users_action": ("users.manage",),
    "encrypt_action": ("settings.manage",),
    "import_action": ("person.write",),
    "undo_import_action": ("person.write",),
    "list_export_action": ("person.read_basic",),
    # Laptop replica (ui/sync_panel.py): only case roles take cases along and sync them.
    "checkout_action": ("case.read",),
    "sync_action": ("case.read",),
    "conflicts_action": ("case.read",),
}


def may(actor, *actions: str) -> bool:
    """Whether ``actor`` may do any of ``actions`` (no actor yet: the window is still starting, allow)."""
    if actor is None:
        return True
    from ..services.permissions import allowed

    return any(allowed(actor, action) for action in actions)


def apply_to_window(window, actor) -> None:
    for name, actions in WINDOW_ACTIONS.items():
        action = getattr(window, name, None)
        if action is None:
            continue
        permitted = may(actor, *actions)
        action.setVisible(permitted)
        action.setEnabled(permitted)
    window.list_page.new_button.setVisible(may(actor, "person.write"))
    if getattr(window, "person_page", None) is not None:
        apply_to_person_page(window.person_page, actor)
    if getattr(window, "case_page", None) is not None:
        apply_to_case_page(window.case_page, actor)


def _set_read_only(widget: QWidget, read_only: bool) -> None:
    if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit):
        widget.setReadOnly(read_only)
    elif isinstance(widget, QComboBox | QCheckBox):
        widget.setEnabled(not read_only)


def apply_to_person_page(page, actor) -> None:
    """Master data for everyone with ``person.read_basic`` (read-only without ``person.write``); documents,
    consents and cases only for case roles; appointments with ``appointment.read``."""
    writable = may(actor, "person.write")
    for widget in page.inputs.values():
        _set_read_only(widget, not writable)
    for name in ("interpreter_needed", "interpreter_language"):
        widget = getattr(page, name, None)
        if widget is not None:
            _set_read_only(widget, not writable)
    for widget in page.findChildren(QComboBox):  # the language rows
        widget.setEnabled(writable)
    page.save_button.setVisible(writable)
    case_data = may(actor, "person.read_case_data")
    groups = getattr(page, "groups", {})
    for key, visible in (
        ("documents", case_data),
        ("consents", case_data),
        ("cases", may(actor, "case.read")),
        ("appointments", may(actor, "appointment.read")),
    ):
        if key in groups:
            groups[key].setVisible(visible)
    page.intake_button.setVisible(may(actor, "case.write"))
    page.merge_button.setVisible(writable)
    page.letter_button.setVisible(may(actor, "letter.make"))
    page.audit_button.setVisible(may(actor, "audit.read"))
    page.access_export_button.setVisible(may(actor, "letter.make"))
    rights = getattr(page, "rights", None)
    if rights is not None:
        rights.restrict_button.setVisible(writable and case_data)
        rights.erase_button.setVisible(may(actor, "retention.run") and case_data)


def apply_to_case_page(page, actor) -> None:
    """Case roles see the case page; within it the journal needs ``journal.read``, letters ``letter.make`` and
    the audit trail ``audit.read``."""
    from ..i18n import _

    tabs = page.tabs
    for index in range(tabs.count()):
        if tabs.tabText(index).replace("&", "") == _("Verlauf"):
            tabs.setTabVisible(index, may(actor, "journal.read"))
    page.letter_button.setVisible(may(actor, "letter.make"))
    page.audit_button.setVisible(may(actor, "audit.read"))
