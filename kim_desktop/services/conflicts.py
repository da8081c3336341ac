"""Concurrent edits: the error a stale save raises, naming who changed the record in between.

Every editable record carries a row version (``db.base.VersionedMixin``). A save made on an older version
is refused, on SQLite and on the office server alike: either the service sees the version differ before
it writes, or the database finds no row with the old version when the UPDATE runs (``StaleDataError``,
which is what two clients racing on PostgreSQL meet). The user is told who saved in between and gets both
versions, never a silent overwrite.

The name comes from the change log (``change_record``): the last update of the record and its user. The
single user of a local database has no account; then the message speaks of "another session".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db.models import ChangeRecord, UserAccount
from ..errors import ConflictError
from ..i18n import _


def last_editor(session, table: str, entity_id: str) -> tuple[str | None, Any]:
    """Display name (or None) and time of the last change to a record, from the change log."""
    row = session.execute(
        select(ChangeRecord.user_id, ChangeRecord.at)
        .where(ChangeRecord.entity_type == table, ChangeRecord.entity_id == entity_id)
        .order_by(ChangeRecord.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, None
    user_id, at = row
    name = (
        session.scalar(select(UserAccount.display_name).where(UserAccount.id == user_id)) if user_id else None
    )
    return name, at


def stale_record_error(
    session,
    table: str,
    entity_id: str,
    *,
    expected_version: int | None,
    current_version: int | None,
    yours: dict[str, Any] | None = None,
    theirs: dict[str, Any] | None = None,
) -> ConflictError:
    """The ``ConflictError`` for a save on an outdated version of a record.

    ``details`` carries both versions for the dialog that shows them side by side: the version numbers,
    the values the user wanted to save (``yours``) and the values now stored (``theirs``), who changed the
    record last and when. The message itself holds no personal data of the client.
    """
    name, at = last_editor(session, table, entity_id)
    if name:
        message = _(
            "Diese Akte wurde inzwischen von {name} geändert. Ihre Änderungen wurden nicht gespeichert; "
            "bitte vergleichen Sie beide Fassungen und speichern Sie erneut."
        ).format(name=name)
    else:
        message = _("Diese Akte wurde inzwischen von einer anderen Sitzung geändert. Bitte neu laden.")
    error = ConflictError(
        message,
        details={
            "entity_type": table,
            "entity_id": entity_id,
            "expected_version": expected_version,
            "current_version": current_version,
            "changed_by": name,
            "changed_at": at,
            "yours": dict(yours or {}),
            "theirs": dict(theirs or {}),
        },
    )
    return error
