"""The alphabetical person list, paged, for the GUI's lazily loading table.

Two sources answer the same two questions (how many, which page):

- ``SqlitePersonList`` uses the standard library's ``sqlite3`` and no SQLAlchemy. The GUI shows its
  first page with it while SQLAlchemy (about 0.7 s of imports here) is still loading in the background:
  that is what keeps the start under a second.
- ``SessionPersonList`` goes through the services' SQLAlchemy session (PostgreSQL, and SQLite after start).

A test checks that both return identical pages.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .dates import PartialDate

LIVE = "deleted_at IS NULL AND merged_into_id IS NULL"
COLUMNS = "id, family_name, given_names, birth_year, birth_month, birth_day, city, residence_status"


@dataclass(frozen=True)
class PersonRow:
    id: str
    family_name: str
    given_names: str
    birth: PartialDate | None
    city: str | None
    residence_status: str | None

    @classmethod
    def from_tuple(cls, row) -> PersonRow:
        pid, family, given, year, month, day, city, status = row
        return cls(pid, family, given or "", PartialDate.from_parts(year, month, day), city, status)


class SqlitePersonList:
    """Read-only paging over a SQLite file with the stdlib driver."""

    def __init__(self, path: str | Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 5000")

    def schema_revision(self) -> str | None:
        try:
            row = self._conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
        return row[0] if row else None

    def count(self) -> int:
        return self._conn.execute(f"SELECT count(*) FROM person WHERE {LIVE}").fetchone()[0]

    def page(self, offset: int, limit: int) -> list[PersonRow]:
        cursor = self._conn.execute(
            f"SELECT {COLUMNS} FROM person WHERE {LIVE} ORDER BY sort_name, id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [PersonRow.from_tuple(row) for row in cursor]

    def residence_labels(self, language: str) -> dict[str, str]:
        column = "label_en" if language == "en" else "label_de"
        cursor = self._conn.execute(f"SELECT code, {column} FROM code_entry WHERE list_name = 'residence_status'")
        return dict(cursor.fetchall())

    def close(self) -> None:
        self._conn.close()


class SessionPersonList:
    """The same list through a SQLAlchemy session factory (any backend)."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx

    def count(self) -> int:
        from .persons import count_persons

        with self._ctx.read() as session:
            return count_persons(session)

    def page(self, offset: int, limit: int) -> list[PersonRow]:
        from .persons import list_persons

        with self._ctx.read() as session:
            return list_persons(session, offset, limit)

    def residence_labels(self, language: str) -> dict[str, str]:
        from .codes import code_labels

        with self._ctx.read() as session:
            return code_labels(session, "residence_status", language)

    def close(self) -> None:
        pass
