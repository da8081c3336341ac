"""The office's data protection settings in one place: retention period, backup folder, reminder lead times.

Stored as ``setting`` rows (the office's, travelling with the database and its backups); reading is free,
writing needs ``settings.manage``. The inactivity lock is a per-workstation setting (QSettings, GUI) and is
therefore not here. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..db.models import Setting
from ..errors import ValidationError
from ..i18n import _
from . import audit, retention
from .backup import BACKUP_FOLDER_KEY
from .context import ServiceContext
from .followups import DEFAULTS as REMINDER_DEFAULTS
from .permissions import require

CONSENT_WEEKS_KEY = "reminder_consent_weeks"


@dataclass(frozen=True)
class ProtectionSettings:
    retention_years: int
    backup_folder: str | None  # None: ``backups/`` beside the database
    consent_reminder_weeks: int


def _value(session, key: str):
    row = session.get(Setting, key)
    return None if row is None else row.value


def load(ctx: ServiceContext) -> ProtectionSettings:
    with ctx.read() as session:
        folder = _value(session, BACKUP_FOLDER_KEY)
        weeks = _value(session, CONSENT_WEEKS_KEY)
        try:
            weeks = int(weeks) if weeks is not None else REMINDER_DEFAULTS[CONSENT_WEEKS_KEY]
        except (TypeError, ValueError):
            weeks = REMINDER_DEFAULTS[CONSENT_WEEKS_KEY]
        return ProtectionSettings(
            retention_years=retention.retention_years(session),
            backup_folder=folder.strip() if isinstance(folder, str) and folder.strip() else None,
            consent_reminder_weeks=weeks,
        )


def save(
    ctx: ServiceContext, *, retention_years: int, backup_folder: str | None, consent_reminder_weeks: int
) -> None:
    """Validate everything first, then store it in one unit of work (all or nothing)."""
    require(ctx.actor, "settings.manage")
    errors: dict[str, str] = {}
    if not isinstance(retention_years, int) or not 0 <= retention_years <= 100:
        errors["retention_years"] = _("Die Aufbewahrungsfrist muss zwischen 0 und 100 Jahren liegen.")
    if not isinstance(consent_reminder_weeks, int) or not 0 <= consent_reminder_weeks <= 52:
        errors["consent_reminder_weeks"] = _("Die Vorwarnzeit muss zwischen 0 und 52 Wochen liegen.")
    folder_text = (backup_folder or "").strip() or None
    if folder_text is not None:
        folder = Path(folder_text).expanduser()
        if not folder.is_absolute():
            errors["backup_folder"] = _("Bitte einen vollständigen Ordnerpfad angeben.")
        elif folder.exists() and not folder.is_dir():
            errors["backup_folder"] = _("Der Pfad ist eine Datei, kein Ordner.")
        else:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                errors["backup_folder"] = _(
                    "Der Ordner kann nicht angelegt werden; bitte Pfad und Rechte prüfen."
                )
    if errors:
        raise ValidationError(errors)
    with ctx.write() as session:
        for key, value in (
            (retention.SETTING_KEY, retention_years),
            (BACKUP_FOLDER_KEY, folder_text),
            (CONSENT_WEEKS_KEY, consent_reminder_weeks),
        ):
            row = session.get(Setting, key)
            if row is None:
                session.add(Setting(key=key, value=value))
            else:
                row.value = value
        audit.record(
            session,
            "update",
            entity_type="setting",
            entity_id="data_protection",
            detail={"years": retention_years},
        )
