"""Code lists (residence statuses, life areas, …) as the GUI and letters need them."""

from __future__ import annotations

from sqlalchemy import select

from ..db.models import CodeEntry


def code_labels(session, list_name: str, language: str = "de", *, active_only: bool = False) -> dict[str, str]:
    """Code → label in the UI language, in the office's order."""
    column = CodeEntry.label_en if language == "en" else CodeEntry.label_de
    stmt = select(CodeEntry.code, column).where(CodeEntry.list_name == list_name)
    if active_only:
        stmt = stmt.where(CodeEntry.active.is_(True))
    return {code: label for code, label in session.execute(stmt.order_by(CodeEntry.sort_order, CodeEntry.code))}


def locations(session) -> list[tuple[str, str]]:
    """Active locations (main office, town-hall branches, rooms) as (id, name)."""
    from ..db.models import Location

    stmt = select(Location.id, Location.name).where(Location.active.is_(True), Location.deleted_at.is_(None))
    return [(row[0], row[1]) for row in session.execute(stmt.order_by(Location.name))]


def case_managers(session) -> list[tuple[str, str]]:
    """Active user accounts that can hold cases, as (id, display name)."""
    from ..db.models import UserAccount

    stmt = select(UserAccount.id, UserAccount.display_name).where(
        UserAccount.active.is_(True), UserAccount.deleted_at.is_(None)
    )
    return [(row[0], row[1]) for row in session.execute(stmt.order_by(UserAccount.display_name))]
