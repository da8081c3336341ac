"""The setup assistant of the first start: office, database, first user, retention period, letter form, demo.

Shown by ``ui.app.run_gui`` when no database file exists yet. Nothing is written until "Fertig":
``services.setup.create_office_database`` then makes the database (encrypted with the first user's password,
or – explicitly chosen – without one) and stores the answers through the same services as the settings
dialog; the program continues logged in as that user. "Abbrechen" at any point leaves no file behind.
Büro-Server and Laptop need the office server: the choice and the server address are kept in the workstation
settings (QSettings ``setup/mode``, ``setup/server_url``) and the summary says how to go on.

Everything asked here can be changed later under Datei › Einstellungen.

This module imports only PySide6 and the i18n helpers, so the assistant is on screen quickly; the services
load when "Fertig" is pressed.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImageReader
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from .. import APP_NAME
from ..errors import UserError, ValidationError
from ..i18n import _
from . import theme

log = logging.getLogger(__name__)

MODE_KEY = "setup/mode"
SERVER_URL_KEY = "setup/server_url"
MIN_PASSWORD_LENGTH = 10  # services.users.MIN_PASSWORD_LENGTH (checked there again)
PROFILE_LINE_FIELDS = ("organisation", "unit", "street", "postcode", "city", "phone", "email")


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(theme.error_style())
    label.setVisible(False)
    return label


def _show_error(label: QLabel, message: str | None) -> None:
    label.setText(message or "")
    label.setVisible(bool(message))


def _row(form: QFormLayout, text: str, widget: QWidget) -> None:
    caption = QLabel(text)
    caption.setBuddy(widget)
    widget.setAccessibleName(text.replace("&", "").rstrip(":* "))
    form.addRow(caption, widget)


class WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Willkommen bei KIM Desktop"))
        layout = QVBoxLayout(self)
        layout.addWidget(
            _label(
                _(
                    "Dieser Assistent richtet KIM Desktop in wenigen Schritten ein: die Angaben Ihrer "
                    "Dienststelle für den Briefkopf, die Art der Datenbank, Ihr Benutzerkonto mit Passwort, "
                    "die Löschfrist und die Briefform. Auf Wunsch lädt er Demo-Daten zum Ausprobieren."
                )
            )
        )
        layout.addWidget(
            _label(
                _(
                    "Alles lässt sich später unter Datei › Einstellungen ändern. Bis Sie auf „Fertig“ klicken, "
                    "wird nichts gespeichert; „Abbrechen“ beendet das Programm ohne Spuren."
                )
            )
        )
        layout.addWidget(_label(_("Hilfe zu jeder Seite: F1 öffnet das Benutzerhandbuch.")))
        layout.addStretch(1)


class OfficePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Dienststelle"))
        self.setSubTitle(_("Diese Angaben stehen im Briefkopf und in der Fußzeile jedes Briefs."))
        form = QFormLayout(self)
        self.inputs: dict[str, QLineEdit] = {}
        captions = {
            "organisation": _("&Dienststelle / Organisation*:"),
            "unit": _("Organisations&einheit:"),
            "street": _("&Straße und Hausnummer:"),
            "postcode": _("&PLZ:"),
            "city": _("&Ort:"),
            "phone": _("&Telefon:"),
            "email": _("E-&Mail:"),
        }
        for name in PROFILE_LINE_FIELDS:
            edit = QLineEdit()
            self.inputs[name] = edit
            _row(form, captions[name], edit)
        self.inputs["organisation"].setPlaceholderText(
            _("z. B. Kreis Beispiel, Kommunales Integrationszentrum")
        )
        self.dpo = QPlainTextEdit()
        self.dpo.setTabChangesFocus(True)
        self.dpo.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.dpo.setPlaceholderText(_("Name, Anschrift oder E-Mail (höchstens 3 Zeilen)"))
        _row(form, _("Date&nschutzbeauftragte/r:"), self.dpo)
        logo_row = QWidget()
        logo_row.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        logo_layout = QHBoxLayout(logo_row)
        logo_layout.setContentsMargins(0, 0, 0, 0)
        self.logo = QLineEdit()
        self.logo.setPlaceholderText(_("optional: PNG, JPEG, GIF oder BMP"))
        self.logo_button = QPushButton(_("A&uswählen …"))
        self.logo_button.setAccessibleName(_("Logo auswählen"))
        self.logo_button.clicked.connect(self.choose_logo)
        logo_layout.addWidget(self.logo, 1)
        logo_layout.addWidget(self.logo_button)
        caption = QLabel(_("&Logo:"))
        caption.setBuddy(self.logo)
        self.logo.setAccessibleName(_("Logo"))
        form.addRow(caption, logo_row)
        self.error = _error_label()
        form.addRow(self.error)
        self.registerField("organisation*", self.inputs["organisation"])

    def choose_logo(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, _("Logo auswählen"), "", _("Bilder (*.png *.jpg *.jpeg *.gif *.bmp)")
        )
        if path:
            self.logo.setText(path)

    def values(self) -> dict[str, str]:
        values = {name: edit.text() for name, edit in self.inputs.items()}
        values["dpo_contact"] = self.dpo.toPlainText()
        return values

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        from ..services import office

        values = {name: office._clean(name, value) for name, value in self.values().items()}
        for name, default in office.DEFAULTS.items():
            values[name] = values.get(name) or default
        try:
            office.validate_profile(values)
        except ValidationError as exc:
            _show_error(self.error, " ".join(exc.field_errors.values()))
            return False
        logo = self.logo.text().strip()
        if logo:
            reader = QImageReader(logo)
            if not reader.canRead():
                _show_error(self.error, _("Die Logo-Datei ist kein lesbares Bild (PNG, JPEG, GIF oder BMP)."))
                return False
        _show_error(self.error, None)
        return True


class DatabasePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Datenbank"))
        self.setSubTitle(_("Wo sollen die Daten liegen?"))
        layout = QVBoxLayout(self)
        self.single = QRadioButton(_("&Einzelplatz: verschlüsselte Datenbank auf diesem Rechner (empfohlen)"))
        self.server = QRadioButton(_("&Büro-Server: gemeinsame Datenbank (PostgreSQL) für das Team"))
        self.laptop = QRadioButton(_("&Laptop: verschlüsselte Kopie der Fälle vom Büro-Server für unterwegs"))
        self.group = QButtonGroup(self)
        for n, button in enumerate((self.single, self.server, self.laptop)):
            self.group.addButton(button, n)
            button.setAccessibleName(button.text().replace("&", ""))
            layout.addWidget(button)
        self.single.setChecked(True)
        form = QFormLayout()
        self.url = QLineEdit()
        self.url.setPlaceholderText("postgresql://kim@server.kreis.local/kim")
        _row(form, _("&Adresse des Büro-Servers:"), self.url)
        layout.addLayout(form)
        self.explain = _label("")
        layout.addWidget(self.explain)
        self.error = _error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.group.idToggled.connect(lambda *_args: self._update())
        self._update()

    def mode(self) -> str:
        return ("single", "server", "laptop")[max(0, self.group.checkedId())]

    def _update(self) -> None:
        mode = self.mode()
        self.url.setEnabled(mode in ("server", "laptop"))
        self.explain.setText(
            {
                "single": _(
                    "Die Daten liegen verschlüsselt in Ihrem Benutzerordner. Nur wer ein Benutzerkonto mit "
                    "Passwort hat, kann sie öffnen. Tägliche Sicherungen entstehen automatisch."
                ),
                "server": _(
                    "Der Büro-Server wird von Ihrer IT eingerichtet. Der Assistent merkt sich die Adresse; "
                    "danach starten Sie KIM Desktop mit dieser Adresse (siehe Benutzerhandbuch, „Büro-Server“)."
                ),
                "laptop": _(
                    "Ein Laptop bekommt seine Fälle vom Büro-Server. Richten Sie zuerst den Büro-Server ein; "
                    "der Assistent merkt sich die Adresse für später."
                ),
            }[mode]
        )

    def isComplete(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        if self.mode() == "single":
            _show_error(self.error, None)
            return True
        url = self.url.text().strip()
        if not url.lower().startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            _show_error(
                self.error,
                _(
                    "Bitte die Adresse des Büro-Servers angeben, z. B. postgresql://kim@server.kreis.local/kim."
                ),
            )
            return False
        _show_error(self.error, None)
        return True

    def nextId(self) -> int:  # noqa: N802 (Qt API)
        wizard = self.wizard()
        if self.mode() != "single" and wizard is not None:
            return wizard.FINISH
        return super().nextId()


class UserPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Erste/r Benutzer/in"))
        self.setSubTitle(
            _(
                "Dieses Konto darf alles, auch weitere Benutzer/innen anlegen. Das Passwort öffnet die Datenbank."
            )
        )
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.username = QLineEdit("admin")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText(_("z. B. Maria Beispiel"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        _row(form, _("&Benutzername:"), self.username)
        _row(form, _("&Anzeigename:"), self.display_name)
        _row(form, _("&Passwort:"), self.password)
        _row(form, _("Passwort wie&derholen:"), self.repeat)
        layout.addLayout(form)
        layout.addWidget(
            _label(
                _("Mindestens {n} Zeichen. Ein vergessenes Passwort kann niemand wiederherstellen.").format(
                    n=MIN_PASSWORD_LENGTH
                )
            )
        )
        self.no_password = QCheckBox(_("&Ohne Passwort arbeiten (nicht empfohlen)"))
        self.no_password.setAccessibleName(_("Ohne Passwort arbeiten (nicht empfohlen)"))
        self.no_password.toggled.connect(self._update)
        layout.addWidget(self.no_password)
        self.warning = _label(
            _(
                "Ohne Passwort wird die Datenbank nicht verschlüsselt: Wer an diesen Rechner oder an eine "
                "Sicherung kommt, kann alle Daten lesen. Sie können später unter Datei › Datenbank "
                "verschlüsseln nachholen, was hier fehlt."
            )
        )
        self.warning.setStyleSheet(theme.banner_style())
        self.warning.setVisible(False)
        layout.addWidget(self.warning)
        self.error = _error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)

    def _update(self) -> None:
        plain = self.no_password.isChecked()
        for edit in (self.username, self.display_name, self.password, self.repeat):
            edit.setEnabled(not plain)
        self.warning.setVisible(plain)

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        if self.no_password.isChecked():
            _show_error(self.error, None)
            return True
        from ..services.users import check_password, check_username

        try:
            name = check_username(self.username.text())
            if self.password.text() != self.repeat.text():
                raise ValidationError({"repeat": _("Die beiden Passwörter stimmen nicht überein.")})
            check_password(self.password.text(), name)
        except ValidationError as exc:
            _show_error(self.error, " ".join(exc.field_errors.values()))
            return False
        _show_error(self.error, None)
        return True


class RulesPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Löschfrist und Briefform"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.years = QSpinBox()
        self.years.setRange(0, 100)
        self.years.setValue(3)
        self.years.setSuffix(_(" Jahre"))
        _row(form, _("&Löschfrist nach Abschluss eines Falls:"), self.years)
        layout.addLayout(form)
        layout.addWidget(
            _label(
                _(
                    "Abgeschlossene Fälle werden nach dieser Frist zur Löschung oder Anonymisierung vorgeschlagen "
                    "(Datei › Löschfristen prüfen). Üblich sind 3 Jahre; maßgeblich ist die Vorgabe Ihres "
                    "Trägers."
                )
            )
        )
        self.form_b = QRadioButton(_("Briefform &B: Anschriftfeld 45 mm von oben (üblich)"))
        self.form_a = QRadioButton(_("Briefform &A: Anschriftfeld 27 mm von oben (kleiner Briefkopf)"))
        self.forms = QButtonGroup(self)
        for button in (self.form_b, self.form_a):
            button.setAccessibleName(button.text().replace("&", ""))
            self.forms.addButton(button)
            layout.addWidget(button)
        self.form_b.setChecked(True)
        layout.addStretch(1)

    def letter_form(self) -> str:
        return "A" if self.form_a.isChecked() else "B"


class DemoPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Demo-Daten"))
        layout = QVBoxLayout(self)
        self.demo = QCheckBox(_("&Demo-Daten laden (erfundene Personen und Fälle zum Ausprobieren)"))
        self.demo.setAccessibleName(_("Demo-Daten laden"))
        layout.addWidget(self.demo)
        layout.addWidget(
            _label(
                _(
                    "Die Demo-Daten sind frei erfunden. Für die echte Arbeit empfiehlt sich eine leere "
                    "Datenbank; zum Üben können Sie die Demo jederzeit mit „kim-desktop --demo“ starten."
                )
            )
        )
        layout.addStretch(1)


class FinishPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("Fertig"))
        layout = QVBoxLayout(self)
        self.summary = _label("")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.error = _error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        self.summary.setText(self.wizard().summary_text())
        _show_error(self.error, None)


class SetupWizard(QWizard):
    """The assistant; after ``accept`` ``ctx`` is the opened database (None for Büro-Server/Laptop)."""

    WELCOME, OFFICE, DATABASE, USER, RULES, DEMO, FINISH = range(7)

    def __init__(self, db_path, parent=None) -> None:
        super().__init__(parent)
        self.db_path = db_path
        self.ctx = None
        self.setWindowTitle(_("{app} einrichten").format(app=APP_NAME))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, True)
        self.helpRequested.connect(self.show_help)
        self.setButtonText(QWizard.WizardButton.NextButton, _("&Weiter >"))
        self.setButtonText(QWizard.WizardButton.BackButton, _("< &Zurück"))
        self.setButtonText(QWizard.WizardButton.FinishButton, _("&Fertig"))
        self.setButtonText(QWizard.WizardButton.CancelButton, _("Abbrechen"))
        self.setButtonText(QWizard.WizardButton.HelpButton, _("&Hilfe"))
        self.welcome = WelcomePage()
        self.office = OfficePage()
        self.database = DatabasePage()
        self.user = UserPage()
        self.rules = RulesPage()
        self.demo = DemoPage()
        self.finish = FinishPage()
        for page_id, page in enumerate(
            (self.welcome, self.office, self.database, self.user, self.rules, self.demo, self.finish)
        ):
            self.setPage(page_id, page)
        self.setStartId(self.WELCOME)
        self.resize(760, 560)
        settings = QSettings()
        stored = str(settings.value(MODE_KEY, "") or "")
        if stored in ("server", "laptop"):
            (self.database.server if stored == "server" else self.database.laptop).setChecked(True)
            self.database.url.setText(str(settings.value(SERVER_URL_KEY, "") or ""))

    # --- what was answered ---------------------------------------------------------------------------

    def answers(self):
        from ..services.setup import SetupAnswers

        plain = self.user.no_password.isChecked()
        return SetupAnswers(
            profile=self.office.values(),
            logo_path=self.office.logo.text().strip() or None,
            mode=self.database.mode(),
            server_url=self.database.url.text().strip(),
            encrypt=not plain,
            username=self.user.username.text().strip().lower() or "admin",
            display_name=self.user.display_name.text().strip(),
            password="" if plain else self.user.password.text(),
            retention_years=self.rules.years.value(),
            letter_form=self.rules.letter_form(),
            demo=self.demo.demo.isChecked(),
        )

    def summary_text(self) -> str:
        mode = self.database.mode()
        office = self.office.values()
        lines = [_("Dienststelle: {name}").format(name=" ".join(office["organisation"].split()) or "–")]
        if office["unit"].strip():
            lines.append(_("Organisationseinheit: {unit}").format(unit=" ".join(office["unit"].split())))
        if mode != "single":
            lines.append(
                _("Datenbank: Büro-Server ({url})").format(url=self.database.url.text().strip())
                if mode == "server"
                else _("Datenbank: Laptop mit dem Büro-Server ({url})").format(
                    url=self.database.url.text().strip()
                )
            )
            lines.append("")
            lines.append(
                _(
                    "Die Wahl und die Adresse werden gespeichert. Die Verbindung richtet Ihre IT mit dem "
                    "Büro-Server ein; bis dahin legt KIM Desktop keine Datenbank auf diesem Rechner an. Mit "
                    "„Fertig“ wird das Programm beendet."
                )
            )
            return "\n".join(lines)
        if self.user.no_password.isChecked():
            lines.append(_("Datenbank: Einzelplatz, OHNE Verschlüsselung (nicht empfohlen)"))
        else:
            lines.append(_("Datenbank: Einzelplatz, verschlüsselt"))
            lines.append(
                _("Erste/r Benutzer/in: {name}").format(name=self.user.username.text().strip().lower())
            )
        years = self.rules.years.value()
        lines.append(_("Löschfrist: {years} nach Abschluss").format(
            years=_("{n} Jahr").format(n=years) if years == 1 else _("{n} Jahre").format(n=years)
        ))  # fmt: skip
        lines.append(_("Briefform: {form}").format(form=self.rules.letter_form()))
        lines.append(
            _("Demo-Daten: {answer}").format(answer=_("ja") if self.demo.demo.isChecked() else _("nein"))
        )
        lines.append(_("Speicherort: {path}").format(path=self.db_path))
        lines.append("")
        lines.append(
            _("Mit „Fertig“ wird die Datenbank angelegt. Alles lässt sich später unter Einstellungen ändern.")
        )
        return "\n".join(lines)

    # --- finishing -----------------------------------------------------------------------------------

    def accept(self) -> None:
        answers = self.answers()
        settings = QSettings()
        settings.setValue(MODE_KEY, answers.mode)
        if answers.mode != "single":
            settings.setValue(SERVER_URL_KEY, answers.server_url)
            super().accept()
            return
        from ..services.setup import create_office_database

        dialog = QProgressDialog(_("Die Datenbank wird angelegt …"), _("Abbrechen"), 0, 100, self)
        dialog.setWindowTitle(APP_NAME)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setValue(0)

        def progress(done: int, total: int):
            dialog.setMaximum(max(1, total))
            dialog.setValue(min(done, total))
            QApplication.processEvents()
            return False if dialog.wasCanceled() else None

        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        try:
            self.ctx = create_office_database(self.db_path, answers, progress=progress)
        except UserError as exc:
            message = " ".join(exc.field_errors.values()) if isinstance(exc, ValidationError) else exc.message
            _show_error(self.finish.error, message)
            return
        except Exception as exc:  # noqa: BLE001 - one German line, details (type only) in the log
            log.error("setup failed: %s", type(exc).__name__)
            _show_error(
                self.finish.error,
                _(
                    "Die Datenbank konnte nicht angelegt werden; Details stehen im Protokoll. Es wurde nichts gespeichert."
                ),
            )
            return
        finally:
            dialog.close()
            dialog.deleteLater()
            self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        settings.setValue("security/last_user", answers.username if answers.encrypt else "")
        super().accept()

    def show_help(self) -> None:
        from .help_viewer import show_guide

        show_guide(self, "einrichtung")

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_F1:
            self.show_help()
            return
        super().keyPressEvent(event)


def run_setup(db_path, *, exit_when_shown: bool = False):
    """Show the assistant; the opened ``ServiceContext``, or None (cancelled, or Büro-Server/Laptop chosen)."""
    wizard = SetupWizard(db_path)
    if exit_when_shown:
        from PySide6.QtCore import QTimer

        wizard.show()
        QTimer.singleShot(0, wizard.reject)
        QApplication.processEvents()
        return None
    if not wizard.exec():
        return None
    return wizard.ctx
