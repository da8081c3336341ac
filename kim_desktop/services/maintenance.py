"""Database checks for ``kim-desktop check`` and the settings page: integrity, foreign keys, index.

No permission check: :func:`check_database` takes a ``Database`` (not a context), reads no record's content
and reports only table names and counts; it also runs inside a restore (``backup.restore_backup``, which
checks ``backup.run``) and right after opening a database. Whoever can open the database may run it.
"""

from __future__ import annotations

from sqlalchemy import text

from ..i18n import _


def check_database(database) -> list[str]:
    """Problems found, as German lines without personal data (table names and counts only)."""
    problems: list[str] = []
    with database.engine.connect() as connection:
        if database.is_sqlite:
            result = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                problems.append(
                    _("Integritätsprüfung: {n} Fehler in der Datenbankdatei.").format(n=len(result))
                )
            broken: dict[str, int] = {}
            for row in connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
                broken[row[0]] = broken.get(row[0], 0) + 1
            for table, count in sorted(broken.items()):
                problems.append(
                    _("Fremdschlüssel: {count} Datensätze in „{table}“ verweisen ins Leere.").format(
                        count=count, table=table
                    )
                )
        missing = connection.execute(
            text(
                "SELECT count(*) FROM person p WHERE p.deleted_at IS NULL AND p.merged_into_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM search_key k WHERE k.person_id = p.id)"
            )
        ).scalar()
        if missing:
            problems.append(_("Suchindex: {n} Personen fehlen im Suchindex.").format(n=missing))
    return problems
