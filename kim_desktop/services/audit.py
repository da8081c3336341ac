"""Audit trail: the access log (who read, printed, exported what) and the field-level change history.

Both are written in the same transaction as the change they describe, so a rolled-back write leaves no
audit row and a committed one always has its row. ``detail`` carries identifiers and field names, never
personal data; the change history (``change_record``) holds old and new values because the data protection
officer must be able to see them, and it lives in the (encrypted) database, never in log files.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..db.base import Entity
from ..db.models import AuditEvent, ChangeRecord

# Secrets and login counters never go into the change history.
_IGNORED_FIELDS = {"created_at", "updated_at", "version", "sort_name", "password_hash", "failed_logins", "locked_until"}


def record(
    session: Session,
    action: str,
    *,
    user_id: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    person_id: str | None = None,
    case_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            user_id=user_id if user_id is not None else session.info.get("user_id"),
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            person_id=person_id,
            case_id=case_id,
            detail=detail,
        )
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _before_flush(session: Session, _context, _instances) -> None:
    user_id = session.info.get("user_id")
    for obj in list(session.new):
        if isinstance(obj, Entity):
            mapper = inspect(obj).mapper
            if obj.id is None:
                obj.id = mapper.columns["id"].default.arg(None)
            session.add(
                ChangeRecord(
                    user_id=user_id,
                    entity_type=mapper.local_table.name,
                    entity_id=obj.id,
                    operation="insert",
                    base_version=None,
                )
            )
    for obj in list(session.dirty):
        if not isinstance(obj, Entity) or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        table = state.mapper.local_table.name
        for attr in state.mapper.column_attrs:
            if attr.key in _IGNORED_FIELDS:
                continue
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            session.add(
                ChangeRecord(
                    user_id=user_id,
                    entity_type=table,
                    entity_id=obj.id,
                    operation="update",
                    field=attr.key,
                    old_value=_text(old),
                    new_value=_text(new),
                    base_version=obj.version,
                )
            )
    for obj in list(session.deleted):
        if isinstance(obj, Entity):
            session.add(
                ChangeRecord(
                    user_id=user_id,
                    entity_type=inspect(obj).mapper.local_table.name,
                    entity_id=obj.id,
                    operation="delete",
                    base_version=obj.version,
                )
            )


def install_change_tracking(session_factory) -> None:
    # A marker on the factory, not ``event.contains``: the event registry is keyed by ``id()``, and a new
    # factory that happens to get the id of a collected one was reported as already tracked (its writes then
    # left no change records – seen when a process opens and closes many databases, e.g. sync).
    if getattr(session_factory, "_kim_change_tracking", False):
        return
    event.listen(session_factory, "before_flush", _before_flush)
    session_factory._kim_change_tracking = True
