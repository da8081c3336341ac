"""The ``kim-desktop`` command: the GUI by default, subcommands for administration and automation.

Contract (stable, later issues extend it): every command takes ``--db PATH_OR_URL``; exit 0 on success,
1 on a user-facing error with one clear line on stderr (never a traceback), 2 on wrong usage.
Heavy modules (SQLAlchemy, Qt) are imported inside the commands that need them, so ``--version`` and the
GUI start stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import DuplicateError, UserError, ValidationError
from .i18n import _, ngettext, pgettext, set_language

log = logging.getLogger("kim_desktop")

#: ``letters invitation --lang`` (kept here so ``--help`` does not import the services).
BULK_LANGUAGES = ("de", "en", "ar", "uk", "ru", "tr", "fa")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with one line, in German
        self.exit(2, _("Aufruf fehlerhaft: {message} (Hilfe: kim-desktop --help)").format(message=message) + "\n")


def _db_option(parser: argparse.ArgumentParser, *, default=None) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=default,
        help=_("Datenbankdatei oder SQLAlchemy-URL (Standard: Datei im Benutzerdatenordner)"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kim-desktop",
        description=_("KIM Desktop: Fallmanagement im Kommunalen Integrationsmanagement"),
    )
    parser.add_argument("--version", action="version", version=f"KIM Desktop {__version__}")
    _db_option(parser)
    parser.add_argument("--demo", action="store_true", help=_("mit der Demo-Datenbank starten (synthetische Daten)"))
    parser.add_argument(
        "--exit-after-start",
        action="store_true",
        help=_("nach dem Laden der ersten Seite der Personenliste beenden (Rauchtest, Startzeit)"),
    )
    parser.add_argument("--language", choices=("de", "en"), default=None, help=_("Sprache der Oberfläche"))
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _db_option(p, default=argparse.SUPPRESS)
        return p

    command("init", _("Datenbank anlegen oder aktualisieren (wiederholbar)"))
    command("check", _("Integrität und Fremdschlüssel prüfen (Exit 1 bei Problemen)"))
    backup = command("backup", _("Geprüfte Sicherung der Datenbank schreiben oder eine Sicherung prüfen"))
    backup_mode = backup.add_mutually_exclusive_group(required=True)
    backup_mode.add_argument("--out", metavar="FILE", help=_("Sicherung in diese Datei schreiben"))
    backup_mode.add_argument("--auto", action="store_true", help=_("tägliche Sicherung in den Sicherungsordner, mit Rotation"))
    backup_mode.add_argument("--verify", metavar="FILE", help=_("Sicherungsdatei prüfen"))
    backup.add_argument("--full", action="store_true", help=_("mit --verify: vollständige Integritätsprüfung (langsamer)"))
    restore = command("restore", _("Datenbank aus einer Sicherung wiederherstellen"))
    restore.add_argument("file", metavar="FILE")
    restore.add_argument("--yes", action="store_true", help=_("ohne Rückfrage ersetzen"))
    restore.add_argument("--allow-foreign", action="store_true", help=_("auch eine Sicherung einer anderen Dienststelle"))
    demo = command("demo", _("synthetische Demo-Daten hinzufügen"))
    demo.add_argument("--persons", type=_positive_int, required=True, metavar="N")
    demo.add_argument("--seed", type=int, default=1, metavar="S")

    search = command("search", _("Personen suchen"))
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--limit", type=_positive_int, default=20, metavar="N")
    search.add_argument("--json", action="store_true")

    cases = command("cases", _("Fälle auflisten"))
    cases.add_argument("--phase", default=None, help=_("Phase (intake, assessment, planning, implementation, monitoring, closed) oder open"))
    cases.add_argument("--manager", default=None, help=_("Case Manager/in (Benutzername oder Kennung)"))
    cases.add_argument("--person", default=None, metavar="ID")
    cases.add_argument("--limit", type=_positive_int, default=500, metavar="N")
    cases.add_argument("--json", action="store_true")

    case = command("case", _("Einen Fall eröffnen oder die Phase ändern"))
    case_sub = case.add_subparsers(dest="case_command", parser_class=_Parser, required=True)
    case_open = case_sub.add_parser("open", help=_("Fall für eine Person eröffnen"))
    _db_option(case_open, default=argparse.SUPPRESS)
    case_open.add_argument("person_id", metavar="PERSON_ID")
    case_open.add_argument("--access-channel", default=None)
    case_open.add_argument("--opened-on", default=None, metavar="DATUM")
    case_open.add_argument("--consent-on", default=None, metavar="DATUM", help=_("Einwilligung erteilt am"))
    case_open.add_argument("--json", action="store_true")
    case_phase = case_sub.add_parser("phase", help=_("Phase ändern"))
    _db_option(case_phase, default=argparse.SUPPRESS)
    case_phase.add_argument("case_id", metavar="CASE_ID")
    case_phase.add_argument("phase")
    case_phase.add_argument("--closure-reason", default=None)
    case_phase.add_argument("--rate", action="append", default=None, metavar="GOAL_ID=RATING")
    case_phase.add_argument("--note", default=None)
    case_phase.add_argument("--json", action="store_true")
    case_reopen = case_sub.add_parser("reopen", help=_("Abgeschlossenen Fall wieder öffnen"))
    _db_option(case_reopen, default=argparse.SUPPRESS)
    case_reopen.add_argument("case_id", metavar="CASE_ID")
    case_reopen.add_argument("--note", default=None)
    case_reopen.add_argument("--json", action="store_true")

    letter = command("letter", _("Einen Brief als PDF erstellen (wird in der Akte archiviert)"))
    letter.add_argument("template", metavar="TEMPLATE")
    target = letter.add_mutually_exclusive_group(required=True)
    target.add_argument("--person", metavar="ID")
    target.add_argument("--case", metavar="ID")
    target.add_argument("--appointment", metavar="ID")
    target.add_argument("--referral", metavar="ID")
    letter.add_argument("--lang", default="de", metavar="SPRACHE")
    letter.add_argument("--out", required=True, metavar="DATEI.pdf")

    bulk = command("letters", _("Briefe in einem Durchgang erstellen (werden in den Akten archiviert)"))
    bulk_sub = bulk.add_subparsers(dest="letters_command", parser_class=_Parser, required=True)
    bulk_invitation = bulk_sub.add_parser(
        "invitation", help=_("Einladungen zu allen Terminen eines Tages als PDF-Dateien in einen Ordner")
    )
    _db_option(bulk_invitation, default=argparse.SUPPRESS)
    bulk_invitation.add_argument("--date", required=True, metavar="JJJJ-MM-TT", help=_("Tag der Termine"))
    bulk_invitation.add_argument("--out", required=True, metavar="ORDNER", help=_("Zielordner (wird angelegt)"))
    bulk_invitation.add_argument(
        "--lang", default="de", choices=BULK_LANGUAGES, help=_("Sprache der Übersetzung (Standard: nur Deutsch)")
    )

    office = command("office", _("Briefkopf der Dienststelle, Logo und Briefform"))
    office_sub = office.add_subparsers(dest="office_command", parser_class=_Parser, required=True)
    office_show = office_sub.add_parser("show", help=_("Profil der Dienststelle anzeigen"))
    _db_option(office_show, default=argparse.SUPPRESS)
    office_show.add_argument("--json", action="store_true")
    office_set = office_sub.add_parser("set", help=_("Angaben ändern (nur die angegebenen)"))
    _db_option(office_set, default=argparse.SUPPRESS)
    for dest, flag in OFFICE_OPTIONS.items():
        office_set.add_argument(flag, dest=dest, default=None)
    office_logo = office_sub.add_parser("logo", help=_("Logo für den Briefkopf setzen (PNG, JPEG, GIF, BMP) oder entfernen"))
    _db_option(office_logo, default=argparse.SUPPRESS)
    office_logo.add_argument("file", nargs="?", metavar="DATEI")
    office_logo.add_argument("--clear", action="store_true", help=_("Logo entfernen"))
    office_form = office_sub.add_parser("form", help=_("Briefform A oder B (Standard B) festlegen"))
    _db_option(office_form, default=argparse.SUPPRESS)
    office_form.add_argument("form", metavar="A|B")

    appointments = command("appointments", _("Termine eines Zeitraums auflisten"))
    appointments.add_argument("--from", dest="first", required=True, metavar="JJJJ-MM-TT", help=_("erster Tag"))
    appointments.add_argument("--to", dest="last", required=True, metavar="JJJJ-MM-TT", help=_("letzter Tag"))
    appointments.add_argument("--manager", default=None, help=_("Case Manager/in (Benutzername oder Kennung)"))
    appointments.add_argument("--json", action="store_true")
    ics = command("ics", _("Termine als Kalenderdatei (.ics) für Outlook und Telefon exportieren"))
    ics.add_argument("--manager", default=None, help=_("Case Manager/in (Benutzername oder Kennung)"))
    ics.add_argument("--from", dest="first", default=None, metavar="JJJJ-MM-TT", help=_("Standard: vor 30 Tagen"))
    ics.add_argument("--to", dest="last", default=None, metavar="JJJJ-MM-TT", help=_("Standard: in 180 Tagen"))
    ics.add_argument(
        "--initials-only", action="store_true", help=_("nur Initialen statt Namen (für Telefon und geteilte Kalender)")
    )
    ics.add_argument("--out", required=True, metavar="DATEI.ics")
    ics_import = command("ics-import", _("Belegte Zeiten aus einer Kalenderdatei (.ics, z. B. Outlook) übernehmen"))
    ics_import.add_argument("file", metavar="DATEI.ics")
    ics_import.add_argument("--manager", default=None, help=_("Case Manager/in (Benutzername oder Kennung)"))

    person = command("person", _("Personen anlegen, anzeigen, ändern"))
    person_sub = person.add_subparsers(dest="person_command", parser_class=_Parser, required=True)
    add = person_sub.add_parser("add", help=_("Person anlegen"))
    _db_option(add, default=argparse.SUPPRESS)
    _person_fields(add, required=True)
    add.add_argument("--allow-duplicate", action="store_true", help=_("trotz möglicher Dublette anlegen"))
    add.add_argument("--json", action="store_true")
    show = person_sub.add_parser("show", help=_("Person anzeigen"))
    _db_option(show, default=argparse.SUPPRESS)
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    update = person_sub.add_parser("update", help=_("Person ändern"))
    _db_option(update, default=argparse.SUPPRESS)
    update.add_argument("id")
    _person_fields(update, required=False)
    update.add_argument("--expected-version", type=int, default=None)
    update.add_argument("--json", action="store_true")
    _retention_parsers(command, person_sub)
    _referral_parsers(command)
    _data_protection_parsers(command)
    _user_parsers(command)
    _statistics_parsers(command)
    _encryption_parsers(command)
    _import_parsers(command)
    _sync_parsers(command)
    return parser


def _referral_parsers(command) -> None:
    """``referrals``, ``offers`` and ``directory import|export`` (referrals and the directory of offers)."""
    referrals = command("referrals", _("Vermittlungen auflisten"))
    referrals.add_argument(
        "--status", default=None, help=_("draft, sent, accepted, rejected, completed, revoked oder open")
    )
    referrals.add_argument("--case", default=None, metavar="ID", help=_("nur die Vermittlungen dieses Falls"))
    referrals.add_argument("--manager", default=None, help=_("Case Manager/in (Benutzername oder Kennung)"))
    referrals.add_argument(
        "--overdue", action="store_true", help=_("nur versendete ohne Rückmeldung nach Ablauf der Frist")
    )
    referrals.add_argument("--json", action="store_true")

    offers = command("offers", _("Angebote im Verzeichnis suchen"))
    offers.add_argument("--category", default=None, help=_("Kategorie (Code oder Bezeichnung)"))
    offers.add_argument("--language", default=None, metavar="CODE", help=_("Sprache, z. B. ar, fa_AF, uk"))
    offers.add_argument("--place", default=None, help=_("Kommune"))
    offers.add_argument("--residence-status", default=None, metavar="CODE", help=_("offen für diesen Aufenthaltsstatus"))
    offers.add_argument("--text", default=None, help=_("Suchwörter"))
    offers.add_argument("--all", action="store_true", help=_("auch abgelaufene Angebote"))
    offers.add_argument("--json", action="store_true")

    directory = command("directory", _("Angebotsverzeichnis importieren oder exportieren (CSV, JSON)"))
    directory_sub = directory.add_subparsers(dest="directory_command", parser_class=_Parser, required=True)
    directory_import = directory_sub.add_parser("import", help=_("Verzeichnis aus einer Datei übernehmen (alles oder nichts)"))
    _db_option(directory_import, default=argparse.SUPPRESS)
    directory_import.add_argument("file", metavar="DATEI")
    directory_import.add_argument("--format", choices=("csv", "json"), default=None, help=_("Standard: nach Dateiendung"))
    directory_export = directory_sub.add_parser("export", help=_("Verzeichnis in eine Datei schreiben"))
    _db_option(directory_export, default=argparse.SUPPRESS)
    directory_export.add_argument("file", metavar="DATEI")
    directory_export.add_argument("--format", choices=("csv", "json"), default=None, help=_("Standard: nach Dateiendung"))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("keine ganze Zahl: {text}").format(text=text[:20])) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("muss mindestens 1 sein"))
    return value


PERSON_OPTIONS = {
    "family_name": "--family-name",
    "given_names": "--given-names",
    "birth_name": "--birth-name",
    "birth_date": "--birth-date",
    "sex": "--sex",
    "country_of_birth": "--country-of-birth",
    "place_of_birth": "--place-of-birth",
    "street": "--street",
    "postcode": "--postcode",
    "city": "--city",
    "address_extra": "--address-extra",
    "phone": "--phone",
    "email": "--email",
    "residence_status": "--residence-status",
    "residence_valid_until": "--residence-valid-until",
    "entry_date": "--entry-date",
    "district_since": "--district-since",
    "interpreter_language": "--interpreter-language",
    "note": "--note",
}


OFFICE_OPTIONS = {
    "organisation": "--organisation",
    "unit": "--unit",
    "street": "--street",
    "postcode": "--postcode",
    "city": "--city",
    "phone": "--phone",
    "email": "--email",
    "office_hours": "--office-hours",
    "dpo_contact": "--dpo",
}


def _person_fields(parser: argparse.ArgumentParser, *, required: bool) -> None:
    for dest, flag in PERSON_OPTIONS.items():
        parser.add_argument(flag, dest=dest, default=None, required=required and dest == "family_name")
    parser.add_argument("--nationality", dest="nationalities", action="append", metavar="ISO", default=None)
    parser.add_argument("--language", dest="languages", action="append", metavar="CODE[:NIVEAU]", default=None)
    parser.add_argument("--other-spelling", dest="other_spellings", action="append", default=None)
    parser.add_argument(
        "--interpreter-needed", dest="interpreter_needed", choices=("ja", "nein", "yes", "no"), default=None
    )


def _person_values(args: argparse.Namespace, *, for_update: bool) -> dict:
    values = {}
    for dest in [*PERSON_OPTIONS, "nationalities", "languages", "other_spellings", "interpreter_needed"]:
        value = getattr(args, dest, None)
        if value is not None:
            values[dest] = value
    if not for_update:
        values.setdefault("given_names", "")
    return values


# --- commands -------------------------------------------------------------------------------------------


def _context(args, *, create: bool = False, migrate: bool = True):
    """Services on the database as the acting user; only ``init`` and ``demo`` may create a new file (a typo
    in --db must not silently produce an empty database).

    An encrypted database needs the password: ``KIM_DB_PASSWORD`` (user ``KIM_USER``, default the first
    user) or, at a terminal, a prompt. An unencrypted database opens as the local single user."""
    from .services import login

    username, password = login.password_from_environment()
    asks = login.is_encrypted(args.db) or (username is not None and login.is_server_url(args.db))
    if password is None and asks and _stdin_is_interactive():
        import getpass

        password = getpass.getpass(_("Passwort: "))
    return login.open_context(args.db, username=username, password=password, create=create, migrate=migrate)


def cmd_init(args) -> int:
    from .db.engine import is_postgresql_url, resolve_location
    from .db.seed import seed_reference_data
    from .services import login

    username, password = login.password_from_environment()
    location = resolve_location(args.db)
    if location.path is None and is_postgresql_url(location.url):
        # The office server: the URL names the schema owner; KIM_USER/KIM_DB_PASSWORD the first user.
        ctx, first_user = login.init_server(args.db, username, password)
        database = ctx.database
        if database.created:
            print(_("Datenbank angelegt: {location}").format(location=database.location.display()))
        elif database.migrated_from:
            print(_("Datenbank aktualisiert: {location}").format(location=database.location.display()))
        else:
            print(_("Datenbank ist aktuell: {location}").format(location=database.location.display()))
        if first_user:
            print(
                _("Benutzer/in mit allen Rollen und eigener Datenbankrolle: {user}").format(user=first_user)
            )
        database.dispose()
        return 0
    new_file = location.path is not None and (not location.path.exists() or location.path.stat().st_size == 0)
    if password is not None and new_file:
        # A password makes a new database encrypted, with its first user holding every role.
        ctx = login.create_encrypted_database(args.db, username, password)
        print(
            _("Verschlüsselte Datenbank angelegt: {location} (erste/r Benutzer/in: {user})").format(
                location=ctx.database.location.display(), user=ctx.actor.display_name
            )
        )
        ctx.database.dispose()
        return 0
    ctx = _context(args, create=True)
    database = ctx.database
    with ctx.write() as session:
        seed_reference_data(session)
    if database.created:
        print(_("Datenbank angelegt: {location}").format(location=database.location.display()))
        if location.path is not None:
            print(
                _(
                    "Hinweis: Die Datenbank ist nicht verschlüsselt (Einzelplatz ohne Passwort). Verschlüsseln "
                    "mit: kim-desktop encrypt"
                )
            )
    elif database.migrated_from:
        print(
            _("Datenbank aktualisiert (Sicherung: {backup}): {location}").format(
                backup=database.backup_path, location=database.location.display()
            )
        )
    else:
        print(_("Datenbank ist aktuell: {location}").format(location=database.location.display()))
    database.dispose()
    return 0


def cmd_check(args) -> int:
    from .services.maintenance import check_database

    database = _context(args, migrate=False).database
    problems = check_database(database)
    database.dispose()
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    print(_("Keine Probleme gefunden."))
    return 0


def cmd_demo(args) -> int:
    from .services.demo import generate_demo_data

    ctx = _context(args, create=True)
    summary = generate_demo_data(ctx, persons=args.persons, seed=args.seed)
    print(
        _("{persons} Personen mit Haushalten, Fällen und Terminen hinzugefügt.").format(persons=summary["persons"])
    )
    ctx.database.dispose()
    return 0


def cmd_search(args) -> int:
    from .services.search import search_persons

    ctx = _context(args)
    with ctx.read() as session:
        hits = search_persons(session, args.text, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": h.id,
                        "family_name": h.family_name,
                        "given_names": h.given_names,
                        "birth_date": h.birth_date_iso,
                        "city": h.city,
                        "score": h.score,
                    }
                    for h in hits
                ],
                ensure_ascii=False,
            )
        )
    else:
        if not hits:
            print(_("Keine Treffer."))
        for h in hits:
            birth = h.birth.german() if h.birth else "–"
            print(f"{h.id}  {h.family_name}, {h.given_names}  {birth}  {h.city or ''}".rstrip())
    ctx.database.dispose()
    return 0


def cmd_person(args) -> int:
    from .services import persons

    ctx = _context(args)
    try:
        if args.person_command == "add":
            try:
                view = persons.create_person(
                    ctx, _person_values(args, for_update=False), allow_duplicate=args.allow_duplicate
                )
            except DuplicateError as exc:
                lines = [str(exc) + " " + _("Mit --allow-duplicate trotzdem anlegen.")]
                for c in exc.candidates:
                    birth = c.birth_date.german() if c.birth_date else "–"
                    name = f"{c.family_name}, {c.given_names}" if c.given_names else c.family_name
                    match = _("Übereinstimmung {score}").format(score=f"{c.score:.2f}")
                    lines.append(f"  {c.id}  {name}  {birth}  ({match})")
                print("\n".join(lines), file=sys.stderr)
                return 1
            print(json.dumps({"id": view.id}) if args.json else _("Person angelegt: {id}").format(id=view.id))
        elif args.person_command == "show":
            view = persons.get_person(ctx, args.id)
            _print_person(view, args.json)
        elif args.person_command == "update":
            values = _person_values(args, for_update=True)
            if not values:
                raise UserError(_("Keine Änderung angegeben."))
            view = persons.update_person(ctx, args.id, values, expected_version=args.expected_version)
            _print_person(view, args.json)
        elif args.person_command in ("restrict", "unrestrict", "erase"):
            return _person_data_rights(ctx, args)
        return 0
    finally:
        ctx.database.dispose()


def _print_person(view, as_json: bool) -> None:
    if as_json:
        print(json.dumps(view.to_json(), ensure_ascii=False))
        return
    birth = view.birth_date.german() if view.birth_date else _("unbekannt")
    print(f"{view.family_name}, {view.given_names}  ({birth})  {view.id}")


def cmd_cases(args) -> int:
    from .services.cases import list_cases

    ctx = _context(args)
    try:
        with ctx.read() as session:
            rows = list_cases(session, phase=args.phase, manager=args.manager, person_id=args.person, limit=args.limit)
        if args.json:
            print(json.dumps([r.to_json() for r in rows], ensure_ascii=False))
        else:
            if not rows:
                print(_("Keine Fälle."))
            for r in rows:
                print(f"{r.file_number}  {r.phase:<15} {r.person_name}  {r.case_manager or ''}".rstrip())
        return 0
    finally:
        ctx.database.dispose()


def cmd_case(args) -> int:
    from .services import cases
    from .services.dates import parse_date

    ctx = _context(args)
    try:
        if args.case_command == "open":
            opened_on = parse_date(args.opened_on, allow_future=False)
            consent_on = parse_date(args.consent_on, allow_future=False)
            view = cases.open_case(
                ctx, args.person_id, access_channel=args.access_channel, opened_on=opened_on, consent_on=consent_on
            )
        elif args.case_command == "phase":
            ratings = {}
            for item in args.rate or []:
                goal_id, sep, rating = item.partition("=")
                if not sep:
                    raise UserError(_("Bewertung bitte als ZIEL_ID=erreicht|teilweise|nicht angeben."))
                ratings[goal_id] = {"erreicht": "achieved", "teilweise": "partly", "nicht": "not_achieved"}.get(
                    rating, rating
                )
            view = cases.change_phase(
                ctx, args.case_id, args.phase, closure_reason=args.closure_reason, goal_ratings=ratings, note=args.note
            )
        else:
            view = cases.reopen_case(ctx, args.case_id, note=args.note)
        if args.json:
            print(json.dumps(view.to_json(), ensure_ascii=False))
        else:
            print(f"{view.file_number}  {cases.phase_label(view.phase)}")
        return 0
    finally:
        ctx.database.dispose()


def cmd_letter(args) -> int:
    from pathlib import Path

    from .services.letters import make_letter

    out = Path(args.out)
    if out.is_dir():
        raise UserError(_("--out muss eine Datei sein, kein Ordner: {path}").format(path=out))
    ctx = _context(args)
    try:
        made = make_letter(
            ctx, args.template, person_id=args.person, case_id=args.case, appointment_id=args.appointment,
            referral_id=args.referral, language=args.lang,
        )  # fmt: skip
    finally:
        ctx.database.dispose()
    try:
        out.write_bytes(made.pdf)
    except OSError:
        raise UserError(_("Die Datei kann nicht geschrieben werden: {path}").format(path=out)) from None
    print(_("{title} gespeichert: {path}").format(title=made.title, path=out))
    return 0


def cmd_office(args) -> int:
    from .services import office

    ctx = _context(args)
    try:
        if args.office_command == "set":
            values = {dest: getattr(args, dest) for dest in OFFICE_OPTIONS if getattr(args, dest) is not None}
            if not values:
                raise UserError(_("Keine Änderung angegeben."))
            office.save_profile(ctx, values)
        elif args.office_command == "logo":
            if args.clear == bool(args.file):
                raise UserError(_("Bitte entweder eine Bilddatei oder --clear angeben."))
            if args.clear:
                print(_("Logo entfernt.") if office.clear_logo(ctx) else _("Es war kein Logo gespeichert."))
            else:
                size = office.set_logo(ctx, args.file)
                print(_("Logo gespeichert ({width} × {height} Pixel).").format(**size))
            return 0
        elif args.office_command == "form":
            form = office.set_letter_form(ctx, args.form)
            print(_("Briefform {form} eingestellt.").format(form=form))
            return 0
        with ctx.read() as session:
            profile = office.load_profile(session)
            form = office.letter_form(session)
            logo = office.load_logo(session)
        if getattr(args, "json", False):
            print(json.dumps({**profile, "letter_form": form, "logo": logo is not None}, ensure_ascii=False))
            return 0
        labels = office.field_labels()
        width = max(len(label) for label in labels.values()) + 1
        for name, label in labels.items():
            lines = profile[name].split("\n") or [""]
            print(f"{label + ':':<{width}} {lines[0]}".rstrip())
            for line in lines[1:]:
                print(f"{'':<{width}} {line}")
        form_label, logo_label = _("Briefform") + ":", _("Logo") + ":"
        logo_text = _("vorhanden") if logo is not None else _("keins")
        print(f"{form_label:<{width}} {form}")
        print(f"{logo_label:<{width}} {logo_text}")
        return 0
    finally:
        ctx.database.dispose()


def _day(text: str):
    """``--date``: JJJJ-MM-TT (or TT.MM.JJJJ); one German line for anything else."""
    import re
    from datetime import date

    from .services.dates import parse_date

    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
            return parse_date(text)
    except (ValueError, UserError):
        pass
    raise UserError(_("Ungültiges Datum „{text}“: bitte als JJJJ-MM-TT angeben, z. B. 2026-03-14.").format(text=text[:20]))


def cmd_letters(args) -> int:
    from pathlib import Path

    from .i18n import format_date
    from .services.bulk_letters import make_invitations

    day = _day(args.date)
    out = Path(args.out)
    ctx = _context(args)
    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress and total:
            progress = _("{done} von {total}").format(done=done, total=total)
            print(f"\r{progress}", end="", file=sys.stderr, flush=True)

    try:
        result = make_invitations(ctx, day, out, language=args.lang, progress=progress)
    finally:
        if show_progress:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        ctx.database.dispose()
    if not result.written and not result.skipped:
        print(_("Keine Termine am {day}: keine Einladungen erstellt.").format(day=format_date(day)))
        return 0
    line = ngettext("{n} Einladung erstellt in {path}", "{n} Einladungen erstellt in {path}", len(result.written))
    line = line.format(n=len(result.written), path=out)
    if result.skipped:
        reasons = "; ".join(f"{reference} ({reason.rstrip('.')})" for reference, reason in result.skipped)
        line += ", " + _("{n} übersprungen: {reasons}").format(n=len(result.skipped), reasons=reasons)
    print(line)
    return 0


COMMANDS = {"letters": cmd_letters, "office": cmd_office, "letter": cmd_letter, "cases": cmd_cases, "case": cmd_case, "init": cmd_init, "check": cmd_check, "demo": cmd_demo, "search": cmd_search, "person": cmd_person}


# --- appointments and calendar exchange (.ics) ----------------------------------------------------------

_WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def _appointment_json(item) -> dict:
    return {
        "id": item.id,
        "start": item.starts_at.isoformat(),
        "end": item.ends_at.isoformat(),
        "type": item.type,
        "type_label": item.type_label,
        "status": item.status,
        "title": item.title or None,
        "busy_only": item.busy_only,
        "person_id": item.person_ids[0] if item.person_ids else None,
        "person_ids": list(item.person_ids),
        "person_names": list(item.person_names),
        "case_id": item.case_id,
        "case_manager_id": item.case_manager_id,
        "case_manager": item.case_manager or None,
        "location_id": item.location_id,
        "location": item.location or None,
        "interpreter_language": item.interpreter_language,
        "version": item.version,
    }


def cmd_appointments(args) -> int:
    from .services import appointments, ical

    first, last = _day(args.first), _day(args.last)
    ctx = _context(args)
    try:
        with ctx.read() as session:
            manager_id = ical.resolve_manager(session, args.manager)
        items = ical.read_calendar(ctx, first, last, case_manager_id=manager_id)
    finally:
        ctx.database.dispose()
    if args.json:
        print(json.dumps([_appointment_json(i) for i in items], ensure_ascii=False))
        return 0
    if not items:
        print(_("Keine Termine im Zeitraum."))
        return 0
    statuses = appointments.status_labels()
    header = (_("Tag"), _("Zeit"), _("Art"), _("Status"), pgettext("Termin", "Ort"), _("Fachkraft"), _("Teilnehmende"))
    rows = [
        (
            f"{_WEEKDAYS[i.starts_at.weekday()]} {i.starts_at:%d.%m.%Y}",
            f"{i.starts_at:%H:%M}–{i.ends_at:%H:%M}",
            i.title if i.busy_only else i.type_label,
            statuses.get(i.status, i.status),
            i.location or "–",
            i.case_manager or "–",
            "; ".join(i.person_names) or "–",
        )
        for i in items
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(ngettext("{n} Termin", "{n} Termine", len(items)).format(n=len(items)))
    return 0


def _write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder: never a half-written file."""
    import os
    import tempfile

    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".kim-", suffix=".tmp")
    except OSError:
        raise UserError(_("Die Datei kann nicht geschrieben werden: {path}").format(path=path)) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError:
        raise UserError(_("Die Datei kann nicht geschrieben werden: {path}").format(path=path)) from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def cmd_ics(args) -> int:
    from datetime import timedelta
    from pathlib import Path

    from .db.base import utcnow
    from .services import ical
    from .services.localtime import local_time

    today = local_time(utcnow()).date()
    first = _day(args.first) if args.first else today - timedelta(days=30)
    last = _day(args.last) if args.last else today + timedelta(days=180)
    out = Path(args.out)
    if out.is_dir():
        raise UserError(_("--out muss eine Datei sein, kein Ordner: {path}").format(path=out))
    if not out.parent.is_dir():
        raise UserError(_("Den Ordner für die Datei gibt es nicht: {path}").format(path=out.parent))
    ctx = _context(args)
    try:
        with ctx.read() as session:
            manager_id = ical.resolve_manager(session, args.manager)
        export = ical.export_range(
            ctx, first, last, case_manager_id=manager_id, initials_only=args.initials_only
        )
    finally:
        ctx.database.dispose()
    _write_atomic(out, export.data)
    line = ngettext("{n} Termin exportiert: {path}", "{n} Termine exportiert: {path}", export.count)
    print(line.format(n=export.count, path=out))
    return 0


def cmd_ics_import(args) -> int:
    from pathlib import Path

    from .services import ical

    path = Path(args.file)
    try:
        with path.open("rb") as source:
            data = source.read(ical.MAX_FILE_BYTES + 1)  # one byte more: the service names the limit
    except OSError:
        raise UserError(_("Die Datei kann nicht gelesen werden: {path}").format(path=path)) from None
    ctx = _context(args)
    try:
        with ctx.read() as session:
            manager_id = ical.resolve_manager(session, args.manager) if args.manager else ctx.actor.user_id
        result = ical.import_busy_ics(ctx, data, case_manager_id=manager_id)
    finally:
        ctx.database.dispose()
    print(
        _("Belegte Zeiten übernommen: {imported} neu, {updated} aktualisiert, {removed} entfernt, "
          "{skipped} übersprungen.").format(
            imported=result.imported, updated=result.updated, removed=result.removed, skipped=result.skipped
        )
    )  # fmt: skip
    return 0


COMMANDS.update({"appointments": cmd_appointments, "ics": cmd_ics, "ics-import": cmd_ics_import})


# --- referrals and the directory of offers -----------------------------------------------------------------


def cmd_referrals(args) -> int:
    from sqlalchemy import select

    from .db.models import Case
    from .services import ical, referrals

    ctx = _context(args)
    try:
        with ctx.read() as session:
            manager_id = ical.resolve_manager(session, args.manager)
            known = select(Case.id).where(Case.id == args.case, Case.deleted_at.is_(None))
            if args.case and session.scalar(known) is None:
                raise UserError(_("Keine Fallakte mit dieser Kennung gefunden."))
        if args.overdue:
            if args.status not in (None, "sent"):
                raise UserError(_("--overdue zeigt nur versendete Vermittlungen; bitte ohne --status angeben."))
            rows = referrals.read_overdue(ctx, case_manager_id=manager_id, case_id=args.case)
        else:
            rows = referrals.read_referrals(ctx, status=args.status, case_id=args.case, case_manager_id=manager_id)
    finally:
        ctx.database.dispose()
    if args.json:
        print(json.dumps([r.to_json() for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print(_("Keine Vermittlungen."))
        return 0
    for r in rows:
        sent = r.sent_on.strftime("%d.%m.%Y") if r.sent_on else "–"
        flag = "  " + _("Rückmeldung überfällig") if r.overdue else ""
        print(f"{r.file_number}  {r.status_label:<13} {sent:<10}  {r.offer_title or '–'} ({r.provider_name}){flag}")
    print(ngettext("{n} Vermittlung", "{n} Vermittlungen", len(rows)).format(n=len(rows)))
    return 0


def _offer_json(row) -> dict:
    return {
        "id": row.id, "title": row.title, "category": row.category, "category_label": row.category_label,
        "provider_id": row.provider_id, "provider": row.provider_name, "municipality": row.municipality,
        "languages": row.languages, "residence_statuses": row.residence_statuses,
        "access_conditions": row.access_conditions, "cost": row.cost,
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "last_checked_on": row.last_checked_on.isoformat() if row.last_checked_on else None, "expired": row.expired,
    }  # fmt: skip


def cmd_offers(args) -> int:
    from .services import directory
    from .services.office_hours import is_known_language

    if args.language is not None and not is_known_language(args.language):
        raise UserError(_("Unbekannte Sprache „{code}“: bitte einen Sprachcode wie de, ar, fa_AF angeben.").format(
            code=args.language[:20]))  # fmt: skip
    ctx = _context(args)
    try:
        with ctx.read() as session:
            rows = directory.search_offers(
                session, text=args.text, category=args.category, municipality=args.place, language=args.language,
                residence_status=args.residence_status, include_expired=args.all, limit=10_000,
            )  # fmt: skip
    finally:
        ctx.database.dispose()
    if args.json:
        print(json.dumps([_offer_json(r) for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print(_("Keine passenden Angebote."))
        return 0
    for r in rows:
        extra = "  " + _("(abgelaufen)") if r.expired else ""
        print(f"{r.category_label:<30} {r.title} – {r.provider_name}, {r.municipality or '–'} "
              f"[{', '.join(r.languages)}]{extra}")  # fmt: skip
    print(ngettext("{n} Angebot", "{n} Angebote", len(rows)).format(n=len(rows)))
    return 0


def _directory_format(path, given: str | None) -> str:
    if given:
        return given
    return "json" if path.suffix.lower() == ".json" else "csv"


def cmd_directory(args) -> int:
    from pathlib import Path

    from .services import directory

    path = Path(args.file)
    fmt = _directory_format(path, args.format)
    if args.directory_command == "export":
        if path.is_dir():
            raise UserError(_("Bitte eine Datei angeben, keinen Ordner: {path}").format(path=path))
        if not path.parent.is_dir():
            raise UserError(_("Den Ordner für die Datei gibt es nicht: {path}").format(path=path.parent))
        ctx = _context(args)
        try:
            data = directory.export_directory_logged(ctx, fmt)
        finally:
            ctx.database.dispose()
        _write_atomic(path, data)
        print(_("Verzeichnis exportiert ({fmt}): {path}").format(fmt=fmt.upper(), path=path))
        return 0
    try:
        with path.open("rb") as source:
            data = source.read(directory.MAX_IMPORT_BYTES + 1)
    except OSError:
        raise UserError(_("Die Datei kann nicht gelesen werden: {path}").format(path=path)) from None
    ctx = _context(args)
    try:
        report = directory.import_directory(ctx, data, fmt)
    except directory.DirectoryImportError as exc:
        errors = exc.report.errors
        where = _("Zeile") if fmt == "csv" else _("Eintrag")
        listed = "; ".join(f"{where} {number}: {message.rstrip('.')}" for number, message in errors[:20])
        if len(errors) > 20:
            listed += "; " + _("… und {n} weitere").format(n=len(errors) - 20)
        count = ngettext("{n} fehlerhafter Eintrag", "{n} fehlerhafte Einträge", len(errors)).format(n=len(errors))
        raise UserError(
            _("Import abgebrochen, nichts wurde übernommen ({count}): {list}.").format(count=count, list=listed)
        ) from None
    finally:
        ctx.database.dispose()
    print(
        _("Verzeichnis importiert: {pc} Träger und {oc} Angebote neu, {pu} Träger und {ou} Angebote aktualisiert.").format(
            pc=report.providers_created, oc=report.offers_created, pu=report.providers_updated,
            ou=report.offers_updated,
        )
    )  # fmt: skip
    return 0


COMMANDS.update({"referrals": cmd_referrals, "offers": cmd_offers, "directory": cmd_directory})


# --- data protection: audit trail and Art. 15 export ----------------------------------------------------


def _data_protection_parsers(command) -> None:
    audit = command("audit", _("Zugriffe und Änderungen einer Person oder eines Falls anzeigen (wird protokolliert)"))
    target = audit.add_mutually_exclusive_group(required=True)
    target.add_argument("--person", metavar="ID")
    target.add_argument("--case", metavar="ID")
    audit.add_argument("--changes", action="store_true", help=_("nur die Änderungen (Feld, alt, neu)"))
    audit.add_argument("--from", dest="first", default=None, metavar="JJJJ-MM-TT", help=_("erster Tag"))
    audit.add_argument("--to", dest="last", default=None, metavar="JJJJ-MM-TT", help=_("letzter Tag"))
    audit.add_argument("--limit", type=_positive_int, default=1000, metavar="N")
    audit.add_argument("--json", action="store_true")
    export = command("export-person", _("Auskunft nach Art. 15 DSGVO als ZIP (Brief, Daten als JSON, Dokumente)"))
    export.add_argument("person_id", metavar="ID")
    export.add_argument("--out", required=True, metavar="DATEI.zip")


def cmd_audit(args) -> int:
    from .services import audit_trail
    from .services.localtime import local_time

    first = _day(args.first) if args.first else None
    last = _day(args.last) if args.last else None
    ctx = _context(args)
    try:
        trail = audit_trail.read_trail(
            ctx, person_id=args.person, case_id=args.case, since=first, until=last, limit=args.limit
        )
    finally:
        ctx.database.dispose()
    if args.json:
        result = {"changes": [c.to_json() for c in trail.changes]}
        if not args.changes:
            result["access"] = [a.to_json() for a in trail.access]
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if not args.changes:
        print(_("Zugriffe:"))
        for a in trail.access:
            print(f"  {local_time(a.at):%d.%m.%Y %H:%M}  {a.user}  {a.action_label}  {a.what}")
    print(_("Änderungen:"))
    for c in trail.changes:
        detail = f"{c.field_label}: {c.old_value or '—'} → {c.new_value or '—'}" if c.field else c.operation_label
        print(f"  {local_time(c.at):%d.%m.%Y %H:%M}  {c.user}  {c.what}  {detail}")
    return 0


def cmd_export_person(args) -> int:
    from pathlib import Path

    from .services.subject_access import export_person

    ctx = _context(args)
    try:
        out = export_person(ctx, args.person_id, Path(args.out))
    finally:
        ctx.database.dispose()
    print(_("Auskunft nach Art. 15 DSGVO gespeichert: {path}").format(path=out))
    return 0


COMMANDS.update({"audit": cmd_audit, "export-person": cmd_export_person})


def _sqlite_path(args):
    from .db.engine import resolve_location

    location = resolve_location(args.db)
    if location.path is None:
        raise UserError(_("Sicherungen sind nur für eine lokale Datenbankdatei möglich, nicht für den Büro-Server."))
    if not location.path.is_file():
        raise UserError(_("Die Datenbankdatei wurde nicht gefunden: {path}").format(path=location.path))
    return location.path


def _backup_identity(args, *, optional: bool = False):
    """The acting user of ``backup``/``restore`` and the database key (signed in as for every command, see
    ``_context``); the service checks ``backup.run``. ``optional``: ``(None, None)`` when there is no database
    to sign in to (``--verify`` of a file on a machine without KIM data reads only the file)."""
    from .db.engine import resolve_location

    if optional:
        location = resolve_location(args.db)
        if location.path is not None and not location.path.is_file():
            return None, None
    ctx = _context(args, migrate=False)
    try:
        return ctx.actor, ctx.database.key
    finally:
        ctx.database.dispose()


def _backup_key(file, key: bytes | None) -> bytes | None:
    """The key for an encrypted backup file: unwrapped from the backup's own key file with KIM_USER /
    KIM_DB_PASSWORD when given (a backup of another database, or no database here), else the database's."""
    from .db.keyslots import keyfile_path
    from .services import backup, login

    if not backup.is_encrypted_backup(file) or not keyfile_path(file).exists():
        return key
    username, password = login.password_from_environment()
    if password is None and key is not None:
        return key
    if password is None:
        if not _stdin_is_interactive():
            raise UserError(_("Die Sicherung ist verschlüsselt: bitte KIM_DB_PASSWORD (und KIM_USER) setzen."))
        import getpass

        password = getpass.getpass(_("Passwort: "))
    return login.unlock_key(file, username, password)[0]


def cmd_backup(args) -> int:
    from pathlib import Path

    from .services import backup

    if args.verify:
        actor, key = _backup_identity(args, optional=True)
        info = backup.verify_backup(
            Path(args.verify), full=args.full, actor=actor, key=_backup_key(Path(args.verify), key)
        )
        for note in info.notes:
            print(note, file=sys.stderr)
        print(_("Sicherung in Ordnung (Stand {created}, Schema {revision}).").format(
            created=info.created_at, revision=info.schema_revision))  # fmt: skip
        return 0
    _sqlite_path(args)
    ctx = _context(args, migrate=False)
    try:
        if args.auto:
            info = backup.auto_backup(ctx.database, actor=ctx.actor)
            if info is None:
                print(_("Die heutige Sicherung ist bereits vorhanden."))
                return 0
        else:
            info = backup.make_backup(ctx, Path(args.out))
    finally:
        ctx.database.dispose()
    if info.encrypted:
        print(_("Verschlüsselte Sicherung geschrieben und geprüft: {path}").format(path=info.path))
    else:
        print(_("Sicherung geschrieben und geprüft: {path}").format(path=info.path))
    return 0


def cmd_restore(args) -> int:
    from pathlib import Path

    from .services import backup

    path = _sqlite_path(args)
    actor, key = _backup_identity(args)
    key = _backup_key(Path(args.file), key)
    backup.verify_backup(Path(args.file), actor=actor, key=key)  # before asking: a bad file needs no question
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(_("Wiederherstellen ersetzt die aktuelle Datenbank; ohne Terminal bitte mit --yes bestätigen."))
        answer = input(_("Aktuelle Datenbank ersetzen? [j/N] ")).strip().lower()
        if answer not in ("j", "ja", "y", "yes"):
            print(_("Abgebrochen; nichts wurde geändert."))
            return 1
    result = backup.restore_backup(
        path, Path(args.file), allow_foreign=args.allow_foreign, actor=actor, key=key
    )
    print(_("Datenbank wiederhergestellt (Stand {created}).").format(created=result.info.created_at))
    if result.set_aside is not None:
        print(_("Die bisherige Datenbank liegt unter: {path}").format(path=result.set_aside))
    return 0


COMMANDS.update({"backup": cmd_backup, "restore": cmd_restore})


def _early_language(argv: list[str]) -> str | None:
    """The top-level ``--language`` before the command, so that ``--help`` is already in that language."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token.startswith("--language="):
            return token.split("=", 1)[1]
        if token == "--language" and index + 1 < len(argv):
            return argv[index + 1]
        if token == "--db":
            index += 2
            continue
        if not token.startswith("-"):
            return None  # the command: its own --language means something else
        index += 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    early = _early_language(argv)
    if early in ("de", "en"):
        set_language(early)
    parser = build_parser()
    args = parser.parse_args(argv)
    from .logging_setup import setup_logging

    setup_logging()
    if args.language:
        set_language(args.language)
    try:
        if args.command is None:
            from .ui.app import run_gui

            return run_gui(
                db=args.db, demo=args.demo, exit_after_start=args.exit_after_start, language=args.language
            )
        return COMMANDS[args.command](args)
    except ValidationError as exc:
        print(_("Fehler: {message}").format(message=" ".join(exc.field_errors.values())), file=sys.stderr)
        return 1
    except UserError as exc:
        print(_("Fehler: {message}").format(message=exc.message), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("Abgebrochen."), file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # last line of defence: never a traceback for the user
        log.exception("unexpected error in command %s", args.command)
        print(
            _("Fehler: Ein unerwarteter Fehler ist aufgetreten ({kind}); Details stehen im Protokoll.").format(
                kind=type(exc).__name__
            ),
            file=sys.stderr,
        )
        return 1


# --- retention (Löschfristen), Art. 17 and Art. 18 -------------------------------------------------------


def _retention_parsers(command, person_sub) -> None:
    retention = command("retention", _("Fällige Löschungen anzeigen (Standard) oder mit --apply ausführen"))
    retention.add_argument("--apply", action="store_true", help=_("fällige Personen jetzt anonymisieren"))
    retention.add_argument("--json", action="store_true")
    restrict = person_sub.add_parser("restrict", help=_("Verarbeitung einschränken (Art. 18 DSGVO)"))
    _db_option(restrict, default=argparse.SUPPRESS)
    restrict.add_argument("id")
    restrict.add_argument("--reason", required=True, metavar="TEXT")
    unrestrict = person_sub.add_parser("unrestrict", help=_("Einschränkung der Verarbeitung aufheben"))
    _db_option(unrestrict, default=argparse.SUPPRESS)
    unrestrict.add_argument("id")
    erase = person_sub.add_parser("erase", help=_("Person auf Verlangen löschen (Art. 17 DSGVO)"))
    _db_option(erase, default=argparse.SUPPRESS)
    erase.add_argument("id")
    erase.add_argument("--reason", default="sonstiges", metavar="CODE", help=_("Löschgrund (Code)"))
    erase.add_argument("--yes", action="store_true", help=_("unwiderrufliche Löschung bestätigen"))
    erase.add_argument("--json", action="store_true")


def _print_protocol(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, sort_keys=True))
        return
    print(ngettext("{n} Person anonymisiert.", "{n} Personen anonymisiert.", report.persons).format(n=report.persons))
    labels = {"deleted": _("gelöscht"), "anonymised": _("anonymisiert")}
    for action, counts in sorted(report.counts.items()):
        for kind, n in sorted(counts.items()):
            print(f"  {labels.get(action, action)}: {kind} {n}")
    for message in report.errors:
        print(message, file=sys.stderr)


def _person_data_rights(ctx, args) -> int:
    from .services import retention

    if args.person_command == "restrict":
        retention.restrict(ctx, args.id, args.reason)
        print(_("Verarbeitung eingeschränkt (Art. 18 DSGVO): die Daten werden nur noch gespeichert."))
    elif args.person_command == "unrestrict":
        retention.lift_restriction(ctx, args.id)
        print(_("Einschränkung der Verarbeitung aufgehoben."))
    else:
        if not args.yes:
            raise UserError(_("Die Löschung ist unwiderruflich. Bitte mit --yes bestätigen."))
        _print_protocol(retention.erase_on_request(ctx, args.id, reason_code=args.reason), args.json)
    return 0


def cmd_retention(args) -> int:
    from .services import retention

    ctx = _context(args)
    try:
        if args.apply:
            report = retention.apply(ctx)
            _print_protocol(report, args.json)
            return 1 if report.failed else 0
        result = retention.preview(ctx)
        if args.json:
            items = [item.to_json() for item in result["items"]]
            print(json.dumps({"persons": result["persons"], "records": result["records"], "items": items}))
            return 0
        n = result["persons"]
        print(ngettext("{n} Person ist zur Löschung fällig.", "{n} Personen sind zur Löschung fällig.", n).format(n=n))
        for kind, count in result["records"].items():
            print(f"  {kind}: {count}")
        if n:
            print(_("Nichts wurde geändert. Mit --apply ausführen."))
        return 0
    finally:
        ctx.database.dispose()


COMMANDS.update({"retention": cmd_retention})


# --- user accounts ---------------------------------------------------------------------------------------

USER_ROLES = ("case_management", "team_lead", "reception", "admin")  # kept here so --help stays light


def _user_parsers(command) -> None:
    users = command("users", _("Benutzerkonten anlegen, auflisten, deaktivieren, Passwort zurücksetzen"))
    users_sub = users.add_subparsers(dest="users_command", parser_class=_Parser, required=True)
    add = users_sub.add_parser(
        "add", help=_("Benutzer anlegen (Passwort aus KIM_NEW_PASSWORD oder interaktiv)")
    )
    _db_option(add, default=argparse.SUPPRESS)
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--name", required=True, help=_("Anzeigename"))
    add.add_argument("--role", dest="roles", action="append", required=True, choices=USER_ROLES)
    add.add_argument("--team", default=None, help=_("Team (Name oder Kennung; ein neuer Name legt das Team an)"))
    add.add_argument("--email", default=None)
    add.add_argument("--json", action="store_true")
    listing = users_sub.add_parser("list", help=_("Benutzer auflisten"))
    _db_option(listing, default=argparse.SUPPRESS)
    listing.add_argument("--json", action="store_true")
    disable = users_sub.add_parser("disable", help=_("Benutzer deaktivieren"))
    _db_option(disable, default=argparse.SUPPRESS)
    disable.add_argument("username", metavar="USERNAME")
    reset = users_sub.add_parser(
        "reset-password", help=_("Passwort zurücksetzen (aus KIM_NEW_PASSWORD oder interaktiv)")
    )
    _db_option(reset, default=argparse.SUPPRESS)
    reset.add_argument("username", metavar="USERNAME")


def _stdin_is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _new_password() -> str:
    import os

    password = os.environ.get("KIM_NEW_PASSWORD")
    if password:
        return password
    if not _stdin_is_interactive():
        raise UserError(_("Kein Passwort angegeben: KIM_NEW_PASSWORD setzen oder interaktiv aufrufen."))
    import getpass

    first = getpass.getpass(_("Neues Passwort: "))
    second = getpass.getpass(_("Neues Passwort wiederholen: "))
    if first != second:
        raise UserError(_("Die Passwörter stimmen nicht überein."))
    return first


def cmd_users(args) -> int:
    from .services import users

    ctx = _context(args)
    try:
        if args.users_command == "add":
            password = _new_password()
            team_id = None
            if args.team:
                team_id, created = users.resolve_team(ctx, args.team, create=True)
                if created:
                    print(_("Team angelegt: {team}").format(team=args.team.strip()))
            view = users.add_user(
                ctx, args.username, args.name, password, args.roles, team_id=team_id, email=args.email
            )
            if args.json:
                print(json.dumps(view.to_json(), ensure_ascii=False))
            else:
                print(_("Benutzer angelegt: {username} ({id})").format(username=view.username, id=view.id))
        elif args.users_command == "list":
            with ctx.read() as session:
                views = users.list_users(session)
            if args.json:
                print(json.dumps([v.to_json() for v in views], ensure_ascii=False))
            else:
                from .services.permissions import role_label

                for v in views:
                    state = "" if v.active else "  " + _("(deaktiviert)")
                    roles = ", ".join(role_label(r) for r in v.roles)
                    team = f"  [{v.team_name}]" if v.team_name else ""
                    print(f"{v.username}  {v.display_name}  {roles}{team}{state}")
        else:
            with ctx.read() as session:
                user_id = users.find_user(session, args.username).id
            if args.users_command == "disable":
                view = users.disable_user(ctx, user_id)
                print(_("Benutzer deaktiviert: {username}").format(username=view.username))
            else:
                users.reset_password(ctx, user_id, _new_password())
                print(_("Passwort zurückgesetzt."))
        return 0
    finally:
        ctx.database.dispose()


COMMANDS.update({"users": cmd_users})


# --- encryption -------------------------------------------------------------------------------------------


def _encryption_parsers(command) -> None:
    encrypt = command(
        "encrypt",
        _("Unverschlüsselte Datenbank verschlüsseln (SQLCipher); Passwort aus KIM_DB_PASSWORD oder interaktiv"),
    )
    encrypt.add_argument(
        "--user",
        default=None,
        metavar="USERNAME",
        help=_("Konto, das das Passwort erhält (Standard: KIM_USER, sonst erste/r Administrator/in oder admin)"),
    )


def cmd_encrypt(args) -> int:
    import os

    from .services import login

    username = args.user or os.environ.get(login.ENV_USER) or None
    password = os.environ.get(login.ENV_PASSWORD)
    if not password:
        if not _stdin_is_interactive():
            raise UserError(_("Kein Passwort angegeben: KIM_DB_PASSWORD setzen oder interaktiv aufrufen."))
        import getpass

        password = getpass.getpass(_("Neues Passwort: "))
        if password != getpass.getpass(_("Neues Passwort wiederholen: ")):
            raise UserError(_("Die Passwörter stimmen nicht überein."))
    result = login.encrypt_database(args.db, username, password)
    print(
        _("Datenbank verschlüsselt: {path} (Anmeldung als {user}).").format(path=result.path, user=result.username)
    )
    if result.accounts_without_slot:
        print(
            ngettext(
                "{n} weiteres Konto braucht ein neues Passwort (kim-desktop users reset-password).",
                "{n} weitere Konten brauchen ein neues Passwort (kim-desktop users reset-password).",
                result.accounts_without_slot,
            ).format(n=result.accounts_without_slot)
        )
    if result.plain_backups:
        print(
            ngettext(
                "Achtung: {n} ältere Sicherung im Ordner {folder} ist unverschlüsselt; bitte löschen.",
                "Achtung: {n} ältere Sicherungen im Ordner {folder} sind unverschlüsselt; bitte löschen.",
                len(result.plain_backups),
            ).format(n=len(result.plain_backups), folder=result.plain_backups[0].parent)
        )
    return 0


COMMANDS.update({"encrypt": cmd_encrypt})


# --- import of persons from Excel/CSV --------------------------------------------------------------------


def _import_parsers(command) -> None:
    person_import = command(
        "import", _("Personen aus einer Excel- (.xlsx) oder CSV-Datei übernehmen (Exit 1, wenn Zeilen abgelehnt wurden)")
    )
    person_import.add_argument("file", metavar="FILE")
    person_import.add_argument("--mapping", default=None, metavar="FILE", help=_("Zuordnung Spalte → Feld als JSON"))
    person_import.add_argument("--dry-run", action="store_true", help=_("nur prüfen und Vorschau zeigen, nichts speichern"))
    person_import.add_argument(
        "--rejects", default=None, metavar="FILE", help=_("abgelehnte Zeilen als CSV mit „Zeile“ und „Grund“ schreiben")
    )
    person_import.add_argument("--sheet", default=None, metavar="NAME", help=_("Tabellenblatt (Standard: das erste)"))
    person_import.add_argument("--json", action="store_true")


def cmd_import(args) -> int:
    """Exit 0 when every row was imported or is already stored (duplicates are listed); 1 when rows were
    rejected (summary and reasons on stderr, the rejected rows in ``--rejects``)."""
    from pathlib import Path

    from .services import person_import

    mapping = person_import.load_mapping_file(Path(args.mapping)) if args.mapping else None
    if args.rejects:
        target = Path(args.rejects)
        if target.is_dir() or not target.parent.is_dir():
            raise UserError(
                _("Die Datei für abgelehnte Zeilen kann dort nicht angelegt werden: {path}").format(path=target)
            )
    table = person_import.read_table(Path(args.file), sheet=args.sheet)
    show_progress = sys.stderr is not None and sys.stderr.isatty()

    def progress(stage: str, done: int, total: int) -> None:
        if show_progress:
            print(f"\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)

    ctx = _context(args)
    try:
        result = person_import.run_import(ctx, table, mapping=mapping, dry_run=args.dry_run, progress=progress)
    finally:
        ctx.database.dispose()
        if show_progress:
            print(file=sys.stderr)
    if args.rejects:
        person_import.write_rejects(result, Path(args.rejects))
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        for notice in table.notices:
            print(notice)
        for duplicate in result.duplicates:
            if duplicate.same_as_line is not None:
                text = _("wie Zeile {line} derselben Datei").format(line=duplicate.same_as_line)
            else:
                text = "; ".join(
                    f"{c.family_name}, {c.given_names} ({c.birth_date.german() if c.birth_date else '—'}, {c.id})"
                    for c in duplicate.candidates[:3]
                )
            print(_("Zeile {line}: mögliche Dublette, nicht angelegt: {text}").format(line=duplicate.row.line, text=text))
        for row in result.flagged:
            print(_("Zeile {line}: übernommen, bitte prüfen: {text}").format(line=row.line, text=" ".join(row.flags)))
        print(result.summary())
        if result.batch_id:
            print(_("Import-Kennung (für „Import rückgängig machen“): {id}").format(id=result.batch_id))
    if result.rejected:
        print(result.summary(), file=sys.stderr)
        for rejected in result.rejected[:50]:
            print(_("Zeile {line}: {reason}").format(line=rejected.line, reason=rejected.reason), file=sys.stderr)
        if len(result.rejected) > 50:
            print(_("… und {n} weitere").format(n=len(result.rejected) - 50), file=sys.stderr)
        if args.rejects:
            print(_("Abgelehnte Zeilen gespeichert: {path}").format(path=args.rejects), file=sys.stderr)
        return 1
    return 0


COMMANDS.update({"import": cmd_import})


# --- statistics and list exports -------------------------------------------------------------------------

STATS_FORMATS = ("csv", "xlsx", "pdf", "json")  # kept here so --help stays light
LIST_FORMATS = ("csv", "xlsx")


def _statistics_parsers(command) -> None:
    stats = command("stats", _("Statistik für einen Zeitraum ausgeben (nur zusammengefasste Zahlen)"))
    stats.add_argument("--from", dest="first", required=True, metavar="DATUM", help=_("erster Tag (TT.MM.JJJJ)"))
    stats.add_argument("--to", dest="last", required=True, metavar="DATUM", help=_("letzter Tag (TT.MM.JJJJ)"))
    stats.add_argument("--team", default=None, help=_("nur dieses Team (Name oder Kennung)"))
    stats.add_argument("--case-manager", default=None, help=_("nur diese Case Manager/in (Benutzername oder Kennung)"))
    stats.add_argument("--format", choices=STATS_FORMATS, default=None, help=_("Standard: nach Dateiendung"))
    stats.add_argument("--out", required=True, metavar="DATEI")
    stats.add_argument("--organisation", default=None, help=_("Name der Dienststelle auf dem Titelblatt (PDF)"))
    config = command("stats-config", _("Statistik einstellen: Mindestfallzahl und eigene Zählungen"))
    config.add_argument("--threshold", type=int, default=None, metavar="N",
                        help=_("Werte unter N werden als „< N“ ausgewiesen (1 = keine Sperrung)"))  # fmt: skip
    config.add_argument("--counts", default=None, metavar="DATEI.json", help=_("eigene Zählungen aus JSON-Datei"))
    config.add_argument("--json", action="store_true", help=_("Einstellungen als JSON ausgeben"))
    export = command("export", _("Personen- oder Fallliste exportieren (CSV, XLSX)"))
    export.add_argument("kind", choices=("persons", "cases"))
    export.add_argument("--format", choices=LIST_FORMATS, default=None, help=_("Standard: nach Dateiendung"))
    export.add_argument("--out", required=True, metavar="DATEI")
    export.add_argument("--phase", default=None, help=_("nur Fälle dieser Phase (Code) oder open"))


def _format_of(args, allowed: tuple[str, ...]) -> str:
    if args.format:
        return args.format
    suffix = args.out.rsplit(".", 1)[-1].lower() if "." in args.out else ""
    if suffix not in allowed:
        raise UserError(_("Bitte --format angeben ({formats}).").format(formats=", ".join(allowed)))
    return suffix


def _resolve_filters(ctx, args) -> tuple[str | None, str | None]:
    from sqlalchemy import or_, select

    from .db.models import Team

    team_id = manager_id = None
    with ctx.read() as session:
        if args.team:
            team_id = session.scalar(
                select(Team.id).where(or_(Team.id == args.team, Team.name == args.team), Team.deleted_at.is_(None))
            )
            if team_id is None:
                raise UserError(_("Das Team wurde nicht gefunden."))
        if args.case_manager:
            from .services import users

            manager_id = users.find_user(session, args.case_manager).id
    return team_id, manager_id


def cmd_stats(args) -> int:
    from pathlib import Path

    from .reports import statistics_report
    from .services import statistics
    from .services.dates import parse_date

    fmt = _format_of(args, STATS_FORMATS)
    first, last = parse_date(args.first), parse_date(args.last)
    if first is None or last is None:
        raise UserError(_("Bitte --from und --to angeben."))
    ctx = _context(args)
    try:
        team_id, manager_id = _resolve_filters(ctx, args)
        result = statistics.compute(ctx, first, last, team_id=team_id, case_manager_id=manager_id)
        out = statistics_report.write(result, fmt, Path(args.out), organisation=args.organisation)
    finally:
        ctx.database.dispose()
    print(_("Statistik gespeichert: {path}").format(path=out))
    return 0


def cmd_stats_config(args) -> int:
    from pathlib import Path

    from .services import statistics

    ctx = _context(args)
    try:
        if args.threshold is not None:
            statistics.set_threshold(ctx, args.threshold)
        if args.counts:
            try:
                config = json.loads(Path(args.counts).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                raise UserError(_("Die Datei mit den eigenen Zählungen ist nicht lesbar oder kein JSON.")) from None
            counts = statistics.set_custom_counts(ctx, config)
            print(ngettext("{n} eigene Zählung gespeichert.", "{n} eigene Zählungen gespeichert.", len(counts)).format(
                n=len(counts)))  # fmt: skip
        with ctx.read() as session:
            threshold = statistics.get_threshold(session)
            counts = statistics.get_custom_counts(session)
    finally:
        ctx.database.dispose()
    if args.json:
        print(json.dumps({"threshold": threshold, "custom_counts": [c.to_json() for c in counts]}, ensure_ascii=False))
    else:
        print(_("Mindestfallzahl: {n}").format(n=threshold))
        for c in counts:
            print(f"  {c.id}: {c.label}")
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    from .services.list_export import export_list

    fmt = _format_of(args, LIST_FORMATS)
    ctx = _context(args)
    try:
        n = export_list(ctx, args.kind, fmt, Path(args.out), phase=args.phase)
    finally:
        ctx.database.dispose()
    print(ngettext("{n} Zeile gespeichert: {path}", "{n} Zeilen gespeichert: {path}", n).format(n=n, path=args.out))
    return 0


COMMANDS.update({"stats": cmd_stats, "stats-config": cmd_stats_config, "export": cmd_export})


# --- laptop replica and sync (issue 9) ---------------------------------------------------------------------


def _sync_parsers(command) -> None:
    checkout = command(
        "checkout", _("Fälle für unterwegs mitnehmen: verschlüsselte Replik (--db) aus der Bürodatenbank anlegen")
    )
    checkout.add_argument("--remote", required=True, metavar="URL", help=_("die Bürodatenbank (Server-URL oder Datei)"))
    checkout.add_argument("--person", action="append", default=None, metavar="ID", help=_("Fälle dieser Person"))
    checkout.add_argument("--case", action="append", default=None, metavar="ID", help=_("dieser Fall"))
    checkout.add_argument("--name", default=None, help=_("Name der Replik, z. B. des Laptops"))
    checkout.add_argument("--json", action="store_true")
    sync_cmd = command("sync", _("Replik (--db) mit der Bürodatenbank abgleichen"))
    sync_cmd.add_argument("--remote", required=True, metavar="URL", help=_("die Bürodatenbank (Server-URL oder Datei)"))
    sync_cmd.add_argument("--json", action="store_true")
    conflicts = command("conflicts", _("Offene Konflikte der Replik anzeigen oder lösen"))
    conflicts.add_argument("--resolve", default=None, metavar="ID", help=_("diesen Konflikt lösen"))
    choice = conflicts.add_mutually_exclusive_group()
    choice.add_argument("--take", choices=("local", "remote"), default=None, help=_("Wert von hier oder aus dem Büro"))
    choice.add_argument("--value", default=None, help=_("eigener, zusammengeführter Wert"))
    conflicts.add_argument("--json", action="store_true")


def _replica_password() -> tuple[str | None, str | None]:
    from .services import login

    username, password = login.password_from_environment()
    if password is None and _stdin_is_interactive():
        import getpass

        password = getpass.getpass(_("Passwort: "))
    return username, password


def cmd_checkout(args) -> int:
    from .services import sync

    username, password = _replica_password()
    result = sync.checkout(
        args.remote, args.db, username, password, case_ids=args.case, person_ids=args.person, name=args.name
    )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(
            ngettext(
                "{n} Fall mitgenommen ({p} Personen): {path}", "{n} Fälle mitgenommen ({p} Personen): {path}", result.cases
            ).format(n=result.cases, p=result.persons, path=result.path)
        )
    return 0


def cmd_sync(args) -> int:
    from .services import login, sync

    ctx = _context(args)
    username, password = login.password_from_environment()
    try:
        result = sync.sync(ctx, args.remote, username=username, password=password)
    finally:
        ctx.database.dispose()
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(
            _("Abgeglichen: {pushed} gesendet, {pulled} empfangen, {conflicts} neue Konflikte.").format(
                pushed=result.pushed, pulled=result.pulled, conflicts=result.conflicts
            )
        )
    return 0


def cmd_conflicts(args) -> int:
    from .services import sync

    ctx = _context(args)
    try:
        if args.resolve:
            if args.take is None and args.value is None:
                raise UserError(_("Bitte mit --take local|remote oder --value angeben, welcher Wert gilt."))
            sync.resolve_conflict(ctx, args.resolve, choice=args.take, value=args.value)
            print(_("Konflikt gelöst; die nächste Synchronisierung überträgt den Wert."))
            return 0
        items = sync.open_conflicts(ctx)
    finally:
        ctx.database.dispose()
    if args.json:
        print(json.dumps([item.to_json() for item in items], ensure_ascii=False))
        return 0
    if not items:
        print(_("Keine offenen Konflikte."))
    for item in items:
        print(
            _("{id}: {entity} {field}: hier „{local}“, im Büro „{remote}“ (vorher „{base}“)").format(
                id=item.id, entity=item.entity_type, field=item.field, local=item.local_value or "",
                remote=item.remote_value or "", base=item.base_value or "",
            )
        )  # fmt: skip
    return 0


COMMANDS.update({"checkout": cmd_checkout, "sync": cmd_sync, "conflicts": cmd_conflicts})
