"""Datenschutz tab of the settings: retention period, backup folder, consent reminders, lock minutes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from kim_desktop.errors import ValidationError
from kim_desktop.services import protection_settings
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError
from kim_desktop.ui.settings_dialog import LOCK_MINUTES_KEY, ProtectionTab, SettingsDialog, lock_minutes


def _reception(ctx) -> ServiceContext:
    return ServiceContext(ctx.database, Actor("u-r", "Empfang", frozenset({"reception"})))


def test_service_round_trip_and_validation(ctx, tmp_path):
    folder = tmp_path / "sicherungen"
    protection_settings.save(ctx, retention_years=5, backup_folder=str(folder), consent_reminder_weeks=6)
    loaded = protection_settings.load(ctx)
    assert loaded == protection_settings.ProtectionSettings(5, str(folder), 6)
    assert folder.is_dir()
    with pytest.raises(ValidationError) as caught:
        protection_settings.save(ctx, retention_years=101, backup_folder="relativ/pfad", consent_reminder_weeks=60)
    assert set(caught.value.field_errors) == {"retention_years", "backup_folder", "consent_reminder_weeks"}
    assert protection_settings.load(ctx) == loaded  # nothing half-written


def test_backup_folder_setting_is_used_by_automatic_backups(ctx, tmp_path):
    from kim_desktop.services import backup

    folder = tmp_path / "extern"
    protection_settings.save(ctx, retention_years=3, backup_folder=str(folder), consent_reminder_weeks=4)
    assert backup.backup_folder(ctx.database.location.path) == folder


def test_reception_cannot_change_office_settings(ctx):
    with pytest.raises(PermissionDeniedError):
        protection_settings.save(_reception(ctx), retention_years=1, backup_folder=None, consent_reminder_weeks=1)
    assert protection_settings.load(ctx).retention_years == 3


def test_tab_saves_and_shows_errors(qtbot, ctx, tmp_path):
    QSettings().remove(LOCK_MINUTES_KEY)
    tab = ProtectionTab(ctx)
    qtbot.addWidget(tab)
    assert tab.retention.value() == 3 and tab.lock.value() == 10 and not tab.dirty
    tab.retention.setValue(4)
    tab.lock.setValue(15)
    (tmp_path / "datei.txt").write_text("x")
    tab.folder.setText(str(tmp_path / "datei.txt"))
    assert tab.dirty
    assert tab.save() is False
    assert tab.errors["backup_folder"].isVisibleTo(tab)
    assert protection_settings.load(ctx).retention_years == 3
    tab.folder.setText(str(tmp_path / "ok"))
    assert tab.save() is True
    assert protection_settings.load(ctx).retention_years == 4
    assert lock_minutes() == 15
    assert not tab.dirty
    QSettings().remove(LOCK_MINUTES_KEY)


def test_reception_sees_office_settings_read_only(qtbot, ctx):
    tab = ProtectionTab(_reception(ctx))
    qtbot.addWidget(tab)
    assert not tab.retention.isEnabled() and not tab.folder.isEnabled()
    assert tab.lock.isEnabled()


def test_dialog_has_the_tab(qtbot, ctx):
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.tabs.indexOf(dialog.protection_tab) == 2
