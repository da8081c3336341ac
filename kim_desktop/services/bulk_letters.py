"""Bulk letters: the invitations for every appointment of one day, as PDF files in a folder.

``invitations_for_day`` lists who gets an invitation (one letter per participant of every appointment that
starts on the local day, Europe/Berlin); ``make_invitations`` makes each letter with ``letters.make_letter``
(which archives it with the case file and audits it) and writes the PDF atomically into a folder. A letter
that cannot be made (no address, missing data) is skipped with a German reason; the run goes on. The run can
be cancelled between two letters: files already written stay complete, nothing is half-written.

No Qt here: the GUI runs ``make_invitations`` in a worker thread, the CLI calls it directly.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import exists, select

from ..db.models import Appointment, AppointmentParticipant, Case, Person
from ..errors import UserError
from ..i18n import _
from . import letters
from .context import ServiceContext
from .localtime import as_utc, day_bounds_utc, local_time
from .permissions import require, require_session

#: Languages the bulk run offers (CLI choices, GUI combo); ``letters.LANGUAGES`` says which are ready.
BULK_LANGUAGES = ("de", "en", "ar", "uk", "ru", "tr", "fa")
FILE_PREFIX = "Einladung"


# --- who gets an invitation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    appointment_id: str
    person_id: str
    starts_local: datetime
    family_name: str

    def reference(self) -> str:
        """Appointment and person without personal data (for the list of skipped letters)."""
        return _("Termin {when}, Person {person}").format(
            when=self.starts_local.strftime("%d.%m.%Y %H:%M"), person=self.person_id[:8]
        )


def invitations(session, day: date) -> list[Invitation]:
    """Every invitation of ``day``, sorted by start time, then name (see ``invitations_for_day``).

    Needs ``letter.make``; whether each letter's person or case is visible is checked when it is made."""
    require_session(session, "letter.make")
    start, end = day_bounds_utc(day)
    live_appointment = (
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        Appointment.status != "cancelled",
        Appointment.busy_only.is_(False),
        Appointment.deleted_at.is_(None),
        Person.deleted_at.is_(None),
    )
    columns = (Appointment.id, Person.id, Appointment.starts_at, Person.family_name, Person.sort_name)
    participants = (
        select(*columns)
        .join(AppointmentParticipant, AppointmentParticipant.appointment_id == Appointment.id)
        .join(Person, Person.id == AppointmentParticipant.person_id)
        .where(*live_appointment)
    )
    has_participants = exists().where(AppointmentParticipant.appointment_id == Appointment.id)
    case_person = (
        select(*columns)
        .join(Case, Case.id == Appointment.case_id)
        .join(Person, Person.id == Case.person_id)
        .where(*live_appointment, Case.deleted_at.is_(None), ~has_participants)
    )
    rows = [*session.execute(participants), *session.execute(case_person)]
    rows.sort(key=lambda r: (as_utc(r[2]), r[4] or "", r[3] or "", r[1], r[0]))
    return [Invitation(r[0], r[1], local_time(r[2]), r[3] or "") for r in rows]


def invitations_for_day(session, day: date) -> list[tuple[str, str]]:
    """(appointment id, person id) for every invitation of the local day ``day`` (Europe/Berlin).

    Appointments that start on that day, not cancelled, not imported busy time, not deleted; one entry per
    participant, or the case's person when the appointment has no participants. Sorted by start, then name.
    """
    return [(i.appointment_id, i.person_id) for i in invitations(session, day)]


# --- file names and writing --------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def file_name(invitation: Invitation) -> str:
    """``Einladung_<YYYY-MM-DD>_<HHMM>_<Nachname>_<short id>.pdf``: ASCII only, no path separators."""
    from anyascii import anyascii

    name = _UNSAFE.sub("_", anyascii(invitation.family_name)).strip("_-")[:40].strip("_-") or "Person"
    short_id = _UNSAFE.sub("", invitation.person_id)[:8] or "x"
    stamp = invitation.starts_local.strftime("%Y-%m-%d_%H%M")
    return f"{FILE_PREFIX}_{stamp}_{name}_{short_id}.pdf"


def _unique(name: str, used: set[str]) -> str:
    """The same person twice at the same minute (two appointments): number the second file."""
    candidate, n = name, 2
    while candidate.lower() in used:
        candidate = f"{name[:-4]}-{n}.pdf"
        n += 1
    used.add(candidate.lower())
    return candidate


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, then rename it: readers never see half a PDF."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".kim-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def prepare_folder(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed and check that files can be written there; German ``UserError`` if not."""
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(_("Der Zielordner ist eine Datei, kein Ordner: {path}").format(path=out_dir))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=out_dir, prefix=".kim-", suffix=".probe")
        os.close(handle)
        os.unlink(probe)
    except OSError:
        raise UserError(
            _("In den Zielordner kann nicht geschrieben werden: {path}").format(path=out_dir)
        ) from None
    return out_dir


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    written: list[Path] = field(default_factory=list)
    #: (reference without personal data, German reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def make_invitations(
    ctx: ServiceContext,
    day: date,
    out_dir: Path,
    *,
    language: str = "de",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BulkResult:
    """Make the invitation of every appointment of ``day`` into ``out_dir`` (see the module docstring).

    ``progress(done, total)`` is called once before the first letter and after each one (made or skipped);
    ``cancelled()`` is asked before each letter. Raises ``UserError`` (before any letter is made) for an
    unavailable language or a folder that cannot be written, and ``PermissionDeniedError`` without
    ``letter.make``. A letter whose case the actor may not see is skipped with the German reason.
    """
    require(ctx.actor, "letter.make")
    letters.check_language("invitation", language)
    out_dir = prepare_folder(out_dir)
    with ctx.read() as session:
        todo = invitations(session, day)
    result = BulkResult()
    total = len(todo)
    if progress is not None:
        progress(0, total)
    used: set[str] = set()
    for done, invitation in enumerate(todo, start=1):
        if cancelled is not None and cancelled():
            result.cancelled = True
            break
        try:
            made = letters.make_letter(
                ctx, "invitation", appointment_id=invitation.appointment_id, person_id=invitation.person_id,
                language=language,
            )  # fmt: skip
        except UserError as exc:
            result.skipped.append((invitation.reference(), exc.message))
        else:
            target = out_dir / _unique(file_name(invitation), used)
            try:
                write_atomically(target, made.pdf)
            except OSError:
                result.skipped.append(
                    (
                        invitation.reference(),
                        _(
                            "Der Brief ist in der Akte archiviert, die Datei konnte aber nicht geschrieben werden."
                        ),
                    )
                )
            else:
                result.written.append(target)
        if progress is not None:
            progress(done, total)
    return result
