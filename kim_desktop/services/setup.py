"""The first start: one new office database from the setup assistant's answers. No Qt.

``create_office_database`` checks every answer first (office profile, user name and password, retention
period, letter form), then creates the database – encrypted with the first user's password, or unencrypted
when the office explicitly chose "ohne Passwort" – and stores the office profile, logo, letter form and
retention period through the same services the settings dialog uses, optionally followed by demo data.
Anything that fails on the way removes what was made (database file, key file, WAL companions): a cancelled or
failed setup never leaves a half-made database behind.

Büro-Server and Laptop are not set up here: they need the office server (decision record 011); the GUI keeps
the choice and the server address in the workstation settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError, ValidationError
from ..i18n import _
from .context import Actor, ServiceContext

log = logging.getLogger(__name__)

MODES = ("single", "server", "laptop")
DEMO_PERSONS = 400


class SetupCancelled(UserError):
    def __init__(self) -> None:
        super().__init__(_("Die Einrichtung wurde abgebrochen; es wurde keine Datenbank angelegt."))


@dataclass
class SetupAnswers:
    profile: dict[str, str] = field(default_factory=dict)
    logo_path: str | None = None
    mode: str = "single"
    server_url: str = ""
    encrypt: bool = True
    username: str = "admin"
    display_name: str = ""
    password: str = ""
    retention_years: int = 3
    letter_form: str = "B"
    demo: bool = False


def check_answers(answers: SetupAnswers) -> None:
    """Raise ``ValidationError`` (field → German message) for answers that cannot be stored."""
    from . import office
    from .users import check_password, check_username

    errors: dict[str, str] = {}
    profile = {name: office._clean(name, answers.profile.get(name, "")) for name in office.FIELDS}
    for name, default in office.DEFAULTS.items():
        profile[name] = profile[name] or default
    try:
        office.validate_profile(profile)
    except ValidationError as exc:
        errors.update(exc.field_errors)
    if answers.encrypt:
        try:
            name = check_username(answers.username)
            check_password(answers.password, name)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if not isinstance(answers.retention_years, int) or not 0 <= answers.retention_years <= 100:
        errors["retention_years"] = _("Die Aufbewahrungsfrist muss zwischen 0 und 100 Jahren liegen.")
    if str(answers.letter_form).upper() not in office.LETTER_FORMS:
        errors["letter_form"] = _("Bitte Briefform A oder B wählen.")
    if answers.logo_path and not Path(answers.logo_path).is_file():
        errors["logo"] = _("Die Logo-Datei wurde nicht gefunden.")
    if errors:
        raise ValidationError(errors)


def _leftovers(path: Path) -> list[Path]:
    from ..db.keyslots import keyfile_path

    return [path, keyfile_path(path), *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def remove_database_files(path: Path) -> None:
    """Remove a database made by an unfinished setup (file, key file, companions)."""
    for leftover in _leftovers(path):
        try:
            leftover.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - a file still open on Windows; reported by the caller's error
            log.warning("could not remove a file of the unfinished setup")


def create_office_database(
    db,
    answers: SetupAnswers,
    *,
    progress: Callable[[int, int], Any] | None = None,
) -> ServiceContext:
    """The new database with everything the assistant asked for, opened as the first user.

    ``progress(done, total)`` is told about the steps (and the demo persons); returning ``False`` cancels,
    which removes the database again and raises ``SetupCancelled``."""
    from ..db.engine import open_database, resolve_location
    from . import login, office, protection_settings
    from .demo import generate_demo_data

    check_answers(answers)
    location = resolve_location(db)
    if location.path is None:
        raise UserError(_("Der Einrichtungsassistent legt nur eine lokale Datenbankdatei an."))
    path = location.path
    if path.exists() and path.stat().st_size > 0:
        raise UserError(_("Die Datenbankdatei gibt es schon: {path}").format(path=path))
    demo_total = DEMO_PERSONS if answers.demo else 0
    total = 4 + demo_total

    def step(done: int) -> None:
        if progress is not None and progress(done, total) is False:
            raise SetupCancelled()

    ctx: ServiceContext | None = None
    try:
        step(0)
        if answers.encrypt:
            ctx = login.create_encrypted_database(
                db, answers.username, answers.password, display_name=answers.display_name or None
            )
        else:
            ctx = ServiceContext(open_database(db, create=True), Actor.local())
        step(1)
        profile = {name: answers.profile.get(name, "") for name in office.FIELDS if name in answers.profile}
        office.save_profile(ctx, profile)
        if answers.logo_path:
            office.set_logo(ctx, answers.logo_path)
        office.set_letter_form(ctx, answers.letter_form)
        step(2)
        current = protection_settings.load(ctx)
        protection_settings.save(
            ctx,
            retention_years=answers.retention_years,
            backup_folder=current.backup_folder,
            consent_reminder_weeks=current.consent_reminder_weeks,
        )
        step(3)
        if demo_total:
            cancelled = {"value": False}

            def demo_progress(done: int, _total: int):
                if progress is not None and progress(3 + done, total) is False:
                    cancelled["value"] = True
                    return False
                return None

            generate_demo_data(ctx, persons=demo_total, seed=1, progress=demo_progress)
            if cancelled["value"]:
                raise SetupCancelled()
        step(total)
        log.info("setup finished (encrypted=%s, demo=%s)", answers.encrypt, bool(demo_total))
        return ctx
    except BaseException:
        if ctx is not None:
            ctx.database.dispose()
        remove_database_files(path)
        raise
