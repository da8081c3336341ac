"""The main window: person list and person page, menus and shortcuts.

Start-up order (see docs/decisions/004-fast-start.md): the window and the first page of the list appear
using only PySide6 and the standard library; SQLAlchemy and the services load in a background thread and are
attached when ready (``attach_services``). Anything that needs them before then waits for that moment.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRunnable, QSettings, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from .. import APP_NAME, __version__
from ..errors import UserError
from ..i18n import _, current_language
from .person_list import PersonListPage

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Carries results from worker threads to the GUI thread (queued signal)."""

    done = Signal(object, object)  # callback, result
    failed = Signal(object, object)  # callback, exception


class _Job(QRunnable):
    def __init__(self, relay: _Relay, fn, on_done, on_error) -> None:
        super().__init__()
        self.relay, self.fn, self.on_done, self.on_error = relay, fn, on_done, on_error

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # delivered to the GUI thread, shown as a German message
            self.relay.failed.emit(self.on_error, exc)
            return
        self.relay.done.emit(self.on_done, result)


class MainWindow(QMainWindow):
    first_page_shown = Signal()
    services_ready = Signal()

    def __init__(self, location_text: str = "") -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setMinimumSize(720, 480)
        self.resize(1180, 760)
        self.ctx = None
        self._pending: list = []
        self._relay = _Relay(self)
        self._relay.done.connect(lambda cb, result: cb(result))
        self._relay.failed.connect(lambda cb, exc: cb(exc))
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)

        self.stack = QStackedWidget()
        self.list_page = PersonListPage()
        # Built on first use: they need the services (SQLAlchemy), which load after the window shows.
        self.person_page = None
        self.case_page = None
        self.workplace_page = None
        self.calendar_page = None
        self.caseload_page = None
        self.directory_page = None
        self.statistics_page = None
        self.stack.addWidget(self.list_page)
        # The central area: the warning bar of an unencrypted database above the pages; the screen lock
        # swaps all of it for its lock page (ui/lock.py).
        from .encrypt_dialog import UnencryptedBanner
        from .lock import ScreenLock

        self.security_banner = UnencryptedBanner()
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(0)
        content_layout.addWidget(self.security_banner)
        content_layout.addWidget(self.stack, 1)
        self.screen_lock = ScreenLock(self, content)
        self.location_label = QLabel(location_text)
        self.user_label = QLabel()
        self.user_label.setAccessibleName(_("Angemeldet"))
        self.statusBar().addPermanentWidget(self.user_label)
        self.statusBar().addPermanentWidget(self.location_label)
        self.statusBar().showMessage(_("Datenbank wird geöffnet …"))

        self.list_page.open_requested.connect(self.open_person)
        self.list_page.new_requested.connect(self.new_person)
        self.list_page.search_requested.connect(self._run_search)
        self._build_menus()
        self.remember_layout = False  # ui.app turns it on (restore_layout); test windows keep their size

    # --- menus -----------------------------------------------------------------------------------------

    def _action(self, text: str, shortcut, slot, *, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        if tip:
            action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(_("&Datei"))
        self.new_action = self._action(_("&Neue Person …"), QKeySequence.StandardKey.New, self.new_person)
        file_menu.addAction(self.new_action)
        # Appointments live in the existing menus: every Alt+letter of a new top-level menu is taken on some page.
        self.new_appointment_action = self._action(_("Neuer &Termin …"), "Ctrl+T", lambda: self.new_appointment())
        self.find_slot_action = self._action(_("&Freien Termin finden …"), "Ctrl+Shift+T", self.find_slot)
        self.bulk_letters_action = self._action(_("E&inladungen für einen Tag …"), None, self.show_bulk_letters)
        for action in (self.new_appointment_action, self.find_slot_action, self.bulk_letters_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        self.interpreters_action = self._action(_("&Dolmetscher/innen …"), None, self.show_interpreters)
        self.office_hours_action = self._action(_("&Orte und Sprechzeiten …"), None, self.show_office_hours)
        file_menu.addAction(self.interpreters_action)
        file_menu.addAction(self.office_hours_action)
        self.ics_export_action = self._action(_("&Kalender exportieren (.ics) …"), None, self.export_ics)
        self.ics_import_action = self._action(_("Belegte Zeiten i&mportieren (.ics) …"), None, self.import_ics)
        file_menu.addAction(self.ics_export_action)
        file_menu.addAction(self.ics_import_action)
        self.retention_action = self._action(_("Löschfristen &prüfen …"), None, self.show_retention)
        file_menu.addAction(self.retention_action)
        self.import_action = self._action(_("Personen importieren (Excel, &CSV) …"), None, self.show_import)
        self.undo_import_action = self._action(_("Import rückgän&gig machen …"), None, self.show_import_batches)
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.undo_import_action)
        self.list_export_action = self._action(_("Liste e&xportieren (Excel, CSV) …"), None, self.show_list_export)
        file_menu.addAction(self.list_export_action)
        self.settings_action = self._action(_("&Einstellungen …"), "Ctrl+,", self.show_settings)
        file_menu.addAction(self.settings_action)
        self.users_action = self._action(_("Ben&utzer verwalten …"), None, self.show_users)
        self.encrypt_action = self._action(_("Datenbank &verschlüsseln …"), None, self.encrypt_database)
        self.encrypt_action.setVisible(False)  # only for an unencrypted database (attach_services)
        file_menu.addAction(self.users_action)
        file_menu.addAction(self.encrypt_action)
        file_menu.addSeparator()
        file_menu.addAction(self.screen_lock.action)
        file_menu.addAction(self._action(_("&Beenden"), QKeySequence.StandardKey.Quit, self.close))

        edit_menu = bar.addMenu(_("&Bearbeiten"))
        self.find_action = self._action(_("&Personen suchen"), QKeySequence.StandardKey.Find, self.focus_search)
        edit_menu.addAction(self.find_action)
        self.save_action = self._action(_("&Speichern"), QKeySequence.StandardKey.Save, self.save_person)
        edit_menu.addAction(self.save_action)
        self.open_action = self._action(_("Person ö&ffnen"), "Ctrl+O", self.open_selected)
        edit_menu.addAction(self.open_action)

        view_menu = bar.addMenu(_("&Ansicht"))
        self.workplace_action = self._action(_("&Mein Arbeitsplatz"), "Ctrl+1", self.show_workplace)
        self.list_action = self._action(_("&Personenliste"), None, self.show_list)  # Strg+L locks (ui/lock.py)
        self.persons_action = self._action(_("P&ersonen"), "Ctrl+2", self.show_list)
        self.caseload_action = self._action(_("&Fälle"), "Ctrl+3", lambda: self.show_caseload(None))
        self.calendar_action = self._action(_("&Kalender"), "Ctrl+4", self.show_calendar)
        self.directory_action = self._action(_("An&gebote"), "Ctrl+5", lambda: self.show_directory())
        self.statistics_action = self._action(_("S&tatistik"), "Ctrl+6", self.show_statistics)
        pages = (self.workplace_action, self.list_action, self.caseload_action, self.calendar_action,
                 self.directory_action, self.statistics_action)  # fmt: skip
        for action in pages:
            view_menu.addAction(action)
        self.call_list_action = self._action(_("A&nrufliste …"), None, self.show_call_list)
        view_menu.addAction(self.call_list_action)
        view_menu.addSeparator()
        navigation = self.addToolBar(_("Navigation"))
        navigation.setObjectName("navigation")
        navigation.setMovable(False)
        for action in (self.workplace_action, self.persons_action, self.caseload_action, self.calendar_action,
                       self.directory_action, self.statistics_action):  # fmt: skip
            navigation.addAction(action)
        view_menu.addAction(self._action(_("&Aktualisieren"), QKeySequence.StandardKey.Refresh, self.refresh))
        language_menu = view_menu.addMenu(_("&Sprache"))
        for code, label in (("de", "Deutsch"), ("en", "English")):
            action = QAction(label, self)
            action.setCheckable(True)
            action.setChecked(current_language() == code)
            action.triggered.connect(lambda _c=False, c=code: self.choose_language(c))
            language_menu.addAction(action)

        help_menu = bar.addMenu(_("&Hilfe"))
        self.guide_action = self._action(
            _("Benutzer&handbuch"), QKeySequence.StandardKey.HelpContents, self.show_guide
        )
        self.guide_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)  # F1 in dialogs, too
        help_menu.addAction(self.guide_action)
        self.report_action = self._action(_("&Problem melden …"), None, self.report_problem)
        help_menu.addAction(self.report_action)
        help_menu.addAction(self._action(_("Ü&ber KIM Desktop"), None, self.about))

    # --- start-up --------------------------------------------------------------------------------------

    def set_list_source(self, source, status_labels: dict[str, str] | None = None) -> None:
        self.list_page.model.set_source(source, status_labels)
        self.list_page.update_count_label()
        if self.list_page.model.rowCount() > 0:
            self.list_page.table.selectRow(0)
        self.list_page.search.setFocus()
        self.first_page_shown.emit()

    def attach_services(self, ctx) -> None:
        from . import roles

        self.ctx = ctx
        self.statusBar().showMessage(_("Bereit."), 3000)
        self.user_label.setText(_("Angemeldet: {name}").format(name=ctx.actor.display_name))
        encrypted = bool(getattr(ctx.database, "encrypted", False))
        self.security_banner.setVisible(not encrypted)
        roles.apply_to_window(self, ctx.actor)
        from .sync_panel import install_sync

        install_sync(self)  # database mode, sync and checkout (issue 9)
        local_file = getattr(getattr(ctx.database, "location", None), "path", None) is not None
        self.encrypt_action.setVisible(not encrypted and local_file and roles.may(ctx.actor, "settings.manage"))
        self.screen_lock.start()
        pending, self._pending = self._pending, []
        for job in pending:
            job()
        self.services_ready.emit()
        if not roles.may(ctx.actor, "person.read_basic") and roles.may(ctx.actor, "directory.write", "case.read"):
            self.show_directory()  # Administration without a case role: no person list to show

    def when_ready(self, job) -> None:
        if self.ctx is not None:
            job()
        else:
            self.statusBar().showMessage(_("Einen Moment bitte, die Datenbank wird geladen …"))
            self._pending.append(job)

    def run_in_background(self, fn, on_done, on_error=None) -> None:
        self._pool.start(_Job(self._relay, fn, on_done, on_error or self.show_error))

    def show_error(self, exc: BaseException) -> None:
        if isinstance(exc, UserError):
            message = exc.message
        else:
            log.error("unexpected error in the GUI: %s", type(exc).__name__)
            message = _("Ein unerwarteter Fehler ist aufgetreten; Details stehen im Protokoll. Nichts wurde geändert.")
        QMessageBox.warning(self, APP_NAME, message)

    # --- search ----------------------------------------------------------------------------------------

    def _run_search(self, sequence: int, text: str) -> None:
        def start() -> None:
            from ..services.persons import rows_by_ids
            from ..services.search import search_persons

            ctx = self.ctx

            def work():
                with ctx.read() as session:
                    hits = search_persons(session, text, limit=200)
                    return rows_by_ids(session, [h.id for h in hits])

            self.run_in_background(work, lambda rows: self.list_page.apply_hits(sequence, rows))

        self.when_ready(start)

    def focus_search(self) -> None:
        self.show_list()
        self.list_page.search.setFocus()
        self.list_page.search.selectAll()

    # --- person page -----------------------------------------------------------------------------------

    def _ensure_person_page(self):
        if self.person_page is None:
            from .person_page import PersonPage

            self.person_page = PersonPage()
            self.person_page.save_handler = self._save_handler
            self.person_page.closed.connect(self.show_list)
            self.person_page.saved.connect(lambda _id: self.list_page.refresh())
            self.person_page.case_requested.connect(self.open_case)
            self.person_page.intake_requested.connect(self.start_intake)
            self.person_page.merge_requested.connect(self.merge_person)
            self.person_page.letter_requested.connect(
                lambda: self.person_page.person_id and self.make_letter(self.person_page.person_id, None)
            )
            from . import audit_dialog

            self.person_page.audit_requested.connect(
                lambda: audit_dialog.show_trail(self, self.ctx, person_id=self.person_page.person_id)
            )
            self.person_page.access_export_requested.connect(
                lambda: audit_dialog.ask_and_export_person(self, self.ctx, self.person_page.person_id)
            )
            self.person_page.rights.set_context(self.ctx)
            self.person_page.rights.erased.connect(self._person_erased)
            self.person_page.documents.set_context(self.ctx)
            self.person_page.appointments.set_context(self.ctx)
            self.person_page.consents.set_context(self.ctx)
            self.stack.addWidget(self.person_page)
            from ..services.codes import code_labels
            from .roles import apply_to_person_page

            apply_to_person_page(self.person_page, self.ctx.actor)

            with self.ctx.read() as session:
                self.person_page.set_residence_statuses(code_labels(session, "residence_status", current_language()))
        return self.person_page

    def open_selected(self) -> None:
        person_id = self.list_page.selected_person_id()
        if person_id:
            self.open_person(person_id)

    def open_person(self, person_id: str) -> None:
        def start() -> None:
            from ..services.persons import get_person

            if not self._confirm_leave():
                return
            try:
                view = get_person(self.ctx, person_id)
            except UserError as exc:
                self.show_error(exc)
                return
            from .roles import may

            page = self._ensure_person_page()
            page.load(view)
            actor = self.ctx.actor
            page.set_cases(self._person_cases(person_id) if may(actor, "case.read") else [])
            case_data = may(actor, "person.read_case_data")
            try:
                page.documents.load(person_id=person_id if case_data else None)
            except UserError:  # case data of a person outside the caseload
                page.documents.load()
            page.appointments.load(person_id=person_id if may(actor, "appointment.read") else None)
            page.consents.load(person_id if case_data else None)
            self.stack.setCurrentWidget(page)
            page.inputs["family_name"].setFocus()

        self.when_ready(start)

    def _person_cases(self, person_id: str) -> list[tuple[str, str]]:
        from ..i18n import format_date
        from ..services.cases import list_cases, phase_label

        with self.ctx.read() as session:
            rows = list_cases(session, person_id=person_id)
        return [
            (r.id, _("{number} · {phase} · eröffnet {day}").format(
                number=r.file_number, phase=phase_label(r.phase), day=format_date(r.opened_on)))
            for r in rows
        ]

    def new_person(self) -> None:
        def start() -> None:
            if not self._confirm_leave():
                return
            page = self._ensure_person_page()
            page.load(None)
            page.set_cases([])
            page.documents.load()
            page.appointments.load()
            page.consents.load()
            self.stack.setCurrentWidget(page)
            page.inputs["family_name"].setFocus()

        self.when_ready(start)

    def save_person(self) -> None:
        if self.person_page is not None and self.stack.currentWidget() is self.person_page:
            self.person_page.save()

    def _save_handler(self, person_id, values, version):
        from ..errors import ConflictError, DuplicateError, ValidationError
        from ..services import persons

        try:
            if person_id is None:
                try:
                    return persons.create_person(self.ctx, values)
                except DuplicateError as exc:
                    choice = self._confirm_duplicate(exc)
                    if choice == "same":
                        self.person_page.load(None)  # nothing to keep: the person exists already
                        self.open_person(exc.candidates[0].id)
                        return None
                    if choice != "new":
                        return None
                    return persons.create_person(self.ctx, values, allow_duplicate=True)
            return persons.update_person(self.ctx, person_id, values, expected_version=version)
        except ValidationError as exc:
            self.person_page.show_errors(exc.field_errors)
            return None
        except ConflictError as exc:  # saved meanwhile by someone else: both versions, never an overwrite
            from .stale_dialog import handle_person_conflict

            handle_person_conflict(self, exc, person_id, values)
            return None
        except UserError as exc:
            self.show_error(exc)
            return None

    def _confirm_duplicate(self, exc) -> str:
        """"same" (open the best candidate), "new" (create anyway) or "" (cancel, the default)."""
        lines = []
        for c in exc.candidates[:8]:
            birth = c.birth_date.german() if c.birth_date else _("unbekannt")
            name = f"{c.family_name}, {c.given_names}" if c.given_names else c.family_name
            lines.append(f"• {name} ({birth}){', ' + c.city if c.city else ''}")
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(_("Mögliche Dublette"))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(exc.message + "\n\n" + "\n".join(lines))
        box.setInformativeText(_("Ist das eine neue Person, die noch nicht erfasst ist?"))
        same = box.addButton(_("&Dieselbe Person öffnen"), QMessageBox.ButtonRole.ActionRole)
        new = box.addButton(_("&Neue Person anlegen"), QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(_("&Abbrechen"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(cancel)  # a quick Enter must not create a duplicate
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        return "same" if clicked is same else "new" if clicked is new else ""

    def _confirm_leave(self) -> bool:
        page = self.person_page
        if page is None or not page.dirty or self.stack.currentWidget() is not page:
            return True
        answer = QMessageBox.question(
            self,
            APP_NAME,
            _("Die Änderungen an dieser Person sind noch nicht gespeichert. Jetzt speichern?"),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return page.save()
        return answer == QMessageBox.StandardButton.Discard

    def show_list(self) -> None:
        if self.stack.currentWidget() is self.list_page:
            self.list_page.search.setFocus()
            return
        if not self._confirm_leave():
            return
        self.stack.setCurrentWidget(self.list_page)
        self.list_page.update_count_label()
        self.list_page.table.setFocus()

    def refresh(self) -> None:
        self.list_page.refresh()
        if self.workplace_page is not None:
            self.workplace_page.refresh()
        if self.caseload_page is not None:
            self.caseload_page.refresh()
        if self.calendar_page is not None:
            self.calendar_page.refresh()
        if self.directory_page is not None:
            self.directory_page.refresh()

    # --- case journey ----------------------------------------------------------------------------------

    def _ensure_case_page(self):
        if self.case_page is None:
            from .case_page import CasePage

            self.case_page = CasePage()
            self.case_page.set_context(self.ctx)
            self.case_page.closed.connect(self.go_back)
            self.case_page.person_requested.connect(self.open_person)
            self.case_page.changed.connect(lambda _id: self._case_changed())
            self.case_page.letter_requested.connect(self.make_letter)
            self.stack.addWidget(self.case_page)
            from .roles import apply_to_case_page

            apply_to_case_page(self.case_page, self.ctx.actor)
        return self.case_page

    def _case_changed(self) -> None:
        if self.workplace_page is not None:
            self.workplace_page.refresh()
        if self.caseload_page is not None:
            self.caseload_page.reload()

    def open_case(self, case_id: str) -> None:
        def start() -> None:
            if not self._confirm_leave():
                return
            page = self._ensure_case_page()
            try:
                page.load(case_id)
            except UserError as exc:
                self.show_error(exc)
                return
            self._previous = self.stack.currentWidget()
            self.stack.setCurrentWidget(page)
            page.tabs.setFocus()

        self.when_ready(start)

    def go_back(self) -> None:
        previous = getattr(self, "_previous", None)
        if previous is not None and previous is not self.case_page:
            if previous is self.person_page and self.person_page.person_id:
                self.open_person(self.person_page.person_id)  # refresh its case list
                return
            self.stack.setCurrentWidget(previous)
            return
        self.show_list()

    def show_workplace(self) -> None:
        def start() -> None:
            if not self._confirm_leave():
                return
            if self.workplace_page is None:
                from .workplace_page import WorkplacePage

                self.workplace_page = WorkplacePage()
                self.workplace_page.case_requested.connect(self.open_case)
                self.workplace_page.person_requested.connect(self.open_person)
                self.workplace_page.phase_requested.connect(self.show_caseload)
                self.stack.addWidget(self.workplace_page)
                self.workplace_page.set_context(self.ctx)
            else:
                self.workplace_page.refresh()
            self.stack.setCurrentWidget(self.workplace_page)
            self.workplace_page.setFocus()
            self.workplace_page.focusNextChild()

        self.when_ready(start)

    def show_calendar(self) -> None:
        def start() -> None:
            if not self._confirm_leave():
                return
            if self.calendar_page is None:
                from .calendar_page import CalendarPage

                self.calendar_page = CalendarPage(self.ctx)
                self.stack.addWidget(self.calendar_page)
            else:
                self.calendar_page.refresh()
            self.stack.setCurrentWidget(self.calendar_page)
            self.calendar_page.focus_calendar()

        self.when_ready(start)

    def show_caseload(self, phase: str | None = None) -> None:
        def start() -> None:
            if not self._confirm_leave():
                return
            if self.caseload_page is None:
                from .caseload_page import CaseloadPage

                self.caseload_page = CaseloadPage()
                self.caseload_page.case_requested.connect(self.open_case)
                self.stack.addWidget(self.caseload_page)
                self.caseload_page.set_context(self.ctx)
            else:
                self.caseload_page.refresh()
            if phase:
                self.caseload_page.show_phase(phase)
            self.stack.setCurrentWidget(self.caseload_page)
            self.caseload_page.setFocus()
            self.caseload_page.focusNextChild()

        self.when_ready(start)

    def show_statistics(self) -> None:
        """Ansicht › Statistik (Strg+6): aggregated figures, charts and exports (ui/statistics_page.py)."""

        def start() -> None:
            if not self._confirm_leave():
                return
            if self.statistics_page is None:
                from .statistics_page import StatisticsPage

                self.statistics_page = StatisticsPage()
                self.stack.addWidget(self.statistics_page)
                self.statistics_page.set_context(self.ctx)
            self.stack.setCurrentWidget(self.statistics_page)
            self.statistics_page.focus_first()

        self.when_ready(start)

    def show_directory(self, case_id: str | None = None) -> None:
        """The directory of offers; opened from a case page (or for ``case_id``) it offers "Vermitteln …"."""

        def start() -> None:
            wanted = case_id or self._current_case_and_person()[0]
            if not self._confirm_leave():
                return
            if self.directory_page is None:
                from .directory_page import DirectoryPage

                self.directory_page = DirectoryPage()
                self.directory_page.refer_requested.connect(self.refer_to_offer)
                self.stack.addWidget(self.directory_page)
                self.directory_page.set_context(self.ctx)
            else:
                self.directory_page.refresh()
            self.directory_page.set_case(wanted)
            self.stack.setCurrentWidget(self.directory_page)
            self.directory_page.search.setFocus()

        self.when_ready(start)

    def refer_to_offer(self, offer_id: str) -> None:
        """ "Vermitteln …" on the directory page: a new referral of the page's case to that offer."""
        page = self.directory_page
        if page is None or not page.case_id:
            return
        from .referral_dialog import ReferralDialog

        try:
            dialog = ReferralDialog(self.ctx, case_id=page.case_id, offer_id=offer_id, parent=self)
        except UserError as exc:
            self.show_error(exc)
            return
        dialog.changed.connect(self._referrals_changed)
        self.referral_dialog = dialog
        dialog.show()

    def _referrals_changed(self) -> None:
        if self.case_page is not None and self.case_page.case is not None:
            self.case_page.referrals.refresh()
        if self.directory_page is not None:
            self.directory_page.refresh()
        self._case_changed()

    def start_intake(self) -> None:
        page = self.person_page
        if page is None or page.person_id is None:
            return
        if page.dirty and not page.save():
            return
        from .intake_dialog import IntakeDialog

        dialog = IntakeDialog(self.ctx, page.person_id, page.title.text(), self)
        if dialog.exec() and dialog.case_id:
            self._case_changed()
            self.open_case(dialog.case_id)

    def make_letter(self, person_id: str, case_id: str | None) -> None:
        page = self.person_page
        on_person_page = page is not None and self.stack.currentWidget() is page
        if on_person_page and page.dirty and not page.save():
            return
        from .letter_dialog import LetterDialog

        dialog = LetterDialog(self.ctx, person_id=person_id, case_id=case_id, parent=self)
        dialog.archived.connect(lambda _id: self._documents_changed())
        dialog.exec()
        if dialog.saved_path:
            self.statusBar().showMessage(
                _("Brief gespeichert und in der Akte archiviert: {name}").format(name=dialog.saved_path.name), 8000
            )
        elif dialog.archived_ids:
            self.statusBar().showMessage(_("Brief gedruckt und in der Akte archiviert."), 8000)
        dialog.deleteLater()  # it holds the preview's pages; the main window would keep it as a child

    def _documents_changed(self) -> None:
        """A letter was archived: the document lists on screen show it."""
        for page in (self.person_page, self.case_page):
            if page is not None and (page.documents.person_id or page.documents.case_id):
                page.documents.refresh()

    def merge_person(self) -> None:
        page = self.person_page
        if page is None or page.person_id is None:
            return
        from .merge_dialog import MergeDialog
        from .person_picker import PersonPicker

        picker = PersonPicker(self.ctx, exclude_id=page.person_id, parent=self)
        if not picker.exec() or not picker.person_id:
            return
        try:
            dialog = MergeDialog(self.ctx, page.person_id, picker.person_id, self)
        except UserError as exc:
            self.show_error(exc)
            return
        if dialog.exec():
            self.list_page.refresh()
            self.open_person(page.person_id)
            self.statusBar().showMessage(_("Die Datensätze wurden zusammengeführt."), 5000)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Escape and self.person_page is not None and (
            self.stack.currentWidget() is self.person_page
        ):
            self.show_list()
            return
        if event.key() == Qt.Key.Key_Escape and self.case_page is not None and (
            self.stack.currentWidget() is self.case_page
        ):
            self.go_back()
            return
        super().keyPressEvent(event)

    # --- misc ------------------------------------------------------------------------------------------

    def choose_language(self, code: str) -> None:
        QSettings().setValue("ui/language", code)
        QMessageBox.information(
            self,
            APP_NAME,
            _("Die Sprache wird beim nächsten Start übernommen.")
            if code == "de"
            else "The language will change the next time KIM Desktop starts.",
        )

    # --- appointments ------------------------------------------------------------------------------------

    def _current_case_and_person(self) -> tuple[str | None, str | None]:
        """The case or person on screen, as the default for a new appointment."""
        current = self.stack.currentWidget()
        case_page = getattr(self, "case_page", None)
        if case_page is not None and current is case_page and getattr(case_page, "case", None) is not None:
            return case_page.case.id, None
        person_page = getattr(self, "person_page", None)
        if person_page is not None and current is person_page and person_page.person_id:
            return None, person_page.person_id
        return None, None

    def new_appointment(self, starts_at=None, slot=None, language=None) -> None:
        def start() -> None:
            from .appointment_dialog import AppointmentDialog

            case_id, person_id = self._current_case_and_person()
            try:
                dialog = AppointmentDialog(
                    self.ctx, case_id=case_id, person_id=person_id,
                    starts_at=slot.starts_at if slot is not None else starts_at, parent=self,
                )  # fmt: skip
            except UserError as exc:
                self.show_error(exc)
                return
            if slot is not None:
                dialog.apply_slot(slot, language)
            dialog.saved.connect(lambda _id: self._appointments_changed())
            self.appointment_dialog = dialog
            dialog.show()

        self.when_ready(start)

    def open_appointment(self, appointment_id: str) -> None:
        def start() -> None:
            from .appointment_dialog import AppointmentDialog

            try:
                dialog = AppointmentDialog(self.ctx, appointment_id=appointment_id, parent=self)
            except UserError as exc:
                self.show_error(exc)
                return
            dialog.saved.connect(lambda _id: self._appointments_changed())
            self.appointment_dialog = dialog
            dialog.show()

        self.when_ready(start)

    def _appointments_changed(self) -> None:
        for page in (getattr(self, "person_page", None), getattr(self, "case_page", None)):
            if page is not None and (page.appointments.person_id or page.appointments.case_id):
                page.appointments.refresh()
        calendar = getattr(self, "calendar_page", None)
        if calendar is not None:
            calendar.refresh()
        workplace = getattr(self, "workplace_page", None)
        if workplace is not None and hasattr(workplace, "refresh") and getattr(workplace, "ctx", None) is not None:
            workplace.refresh()

    def find_slot(self) -> None:
        def start() -> None:
            from .slot_finder_dialog import SlotFinderDialog

            case_id, person_id = self._current_case_and_person()
            dialog = SlotFinderDialog(self.ctx, self, case_id=case_id, person_id=person_id)
            if dialog.exec() and dialog.chosen_slot is not None:
                self.new_appointment(slot=dialog.chosen_slot, language=dialog.chosen_language)

        self.when_ready(start)

    def show_call_list(self) -> None:
        from .call_list_dialog import CallListDialog

        self.when_ready(lambda: CallListDialog(self.ctx, None, self).exec())

    def show_bulk_letters(self) -> None:
        from .bulk_letters_dialog import BulkLettersDialog

        self.when_ready(lambda: BulkLettersDialog(self.ctx, self).exec())

    def show_interpreters(self) -> None:
        from .interpreters_dialog import InterpretersDialog

        self.when_ready(lambda: InterpretersDialog(self.ctx, self).exec())

    def show_office_hours(self) -> None:
        from .office_hours_dialog import OfficeHoursDialog

        self.when_ready(lambda: OfficeHoursDialog(self.ctx, self).exec())

    def export_ics(self) -> None:
        from .ics_dialogs import IcsExportDialog

        self.when_ready(lambda: IcsExportDialog(self.ctx, self).exec())

    def import_ics(self) -> None:
        def start() -> None:
            from .ics_dialogs import import_busy_time

            if import_busy_time(self.ctx, self) is not None:
                self._appointments_changed()

        self.when_ready(start)

    def show_retention(self) -> None:
        from .retention_dialog import RetentionDialog

        def start() -> None:
            RetentionDialog(self.ctx, self).exec()
            self.refresh()

        self.when_ready(start)

    def _run_import_dialog(self, dialog_class) -> None:
        """An import dialog; afterwards the list is refreshed and a person chosen in it is opened."""

        def start() -> None:
            chosen: list[str] = []
            dialog = dialog_class(self.ctx, self)
            dialog.open_person.connect(chosen.append)
            dialog.exec()
            self.refresh()
            if chosen:
                self.open_person(chosen[-1])

        self.when_ready(start)

    def show_import(self) -> None:
        """Datei › Personen importieren: the import dialog; the list shows the new persons afterwards."""
        from .import_dialog import ImportDialog

        self._run_import_dialog(ImportDialog)

    def show_list_export(self) -> None:
        """Datei › Liste exportieren: persons or cases as far as the role allows (services.list_export)."""
        from .list_export_dialog import ListExportDialog

        self.when_ready(lambda: ListExportDialog(self.ctx, self).exec())

    def show_import_batches(self) -> None:
        """Datei › Import rückgängig machen: the last imports, one of them undone as a whole."""
        from .import_dialog import ImportBatchesDialog

        self._run_import_dialog(ImportBatchesDialog)

    def _person_erased(self, _person_id: str) -> None:
        """After „Löschen auf Antrag“: the page shows a person that no longer exists; back to the list."""
        self.person_page._dirty = False
        self.show_list()
        self.refresh()

    def show_users(self) -> None:
        from .users_dialog import UsersDialog

        self.when_ready(lambda: UsersDialog(self.ctx, self).exec())

    def encrypt_database(self) -> None:
        from .encrypt_dialog import encrypt_from_window

        self.when_ready(lambda: encrypt_from_window(self))

    def show_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        self.when_ready(lambda: SettingsDialog(self.ctx, self).exec())

    def about(self) -> None:
        QMessageBox.about(
            self,
            _("Über KIM Desktop"),
            _(
                "KIM Desktop {version}\nFallmanagement für das Kommunale Integrationsmanagement in NRW.\n\n"
                "Datenbank: {location}"
            ).format(version=__version__, location=self.location_label.text()),
        )

    def restore_layout(self) -> None:
        """Size, position and toolbars as the user left them (QSettings), saved again on closing."""
        from .layout_memory import restore_window

        self.remember_layout = True
        restore_window(self, "main_window")

    def show_guide(self) -> None:
        """F1: the user guide, at the heading of the page or dialog in front (ui/help_viewer.py)."""
        from PySide6.QtWidgets import QApplication

        from .help_viewer import show_guide, topic_for

        front = QApplication.activeModalWidget() or self
        show_guide(front, topic_for(front if front is not self else self.stack.currentWidget()))

    def report_problem(self) -> None:
        from .problem_report import ProblemReportDialog

        ProblemReportDialog(self.ctx, self).exec()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self._confirm_leave():
            event.ignore()
            return
        if self.remember_layout:
            from .layout_memory import save_window

            save_window(self, "main_window")
        self._pool.waitForDone(5000)
        event.accept()

