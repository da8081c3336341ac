"""The stdlib list source used at start and the SQLAlchemy source must show the same list."""

from __future__ import annotations

from kim_desktop.services import persons
from kim_desktop.services.person_list import SessionPersonList, SqlitePersonList


def _add(ctx, family, given, birth=None):
    return persons.create_person(
        ctx, {"family_name": family, "given_names": given, "birth_date": birth}, allow_duplicate=True
    ).id


def test_both_sources_return_identical_pages(ctx, tmp_db_path):
    names = [("Öztürk", "Ayşe"), ("Ozturk", "Mehmet"), ("Müller", "Anna"), ("Mueller", "Jonas"),
             ("Шевченко", "Олена"), ("al-Hassan", "Omar"), ("Nguyễn", "Văn An"), ("Ababio", "Kwame")]  # fmt: skip
    for i, (family, given) in enumerate(names * 3):
        _add(ctx, family, given, f"{1960 + i}")
    quick = SqlitePersonList(tmp_db_path)
    full = SessionPersonList(ctx)
    try:
        assert quick.count() == full.count() == len(names) * 3
        for offset, limit in ((0, 5), (5, 5), (20, 10)):
            assert quick.page(offset, limit) == full.page(offset, limit)
        assert quick.residence_labels("de") == full.residence_labels("de")
        assert quick.residence_labels("en")["duldung"].startswith("Temporary suspension")
    finally:
        quick.close()


def test_list_is_alphabetical_by_folded_name(ctx, tmp_db_path):
    for family in ("Zander", "Öztürk", "Abel", "Müller", "Mahmoud"):
        _add(ctx, family, "X")
    quick = SqlitePersonList(tmp_db_path)
    try:
        assert [row.family_name for row in quick.page(0, 10)] == ["Abel", "Mahmoud", "Müller", "Öztürk", "Zander"]
    finally:
        quick.close()


def test_schema_revision_is_readable_without_sqlalchemy(ctx, tmp_db_path):
    from kim_desktop.db.schema_version import HEAD_REVISION

    quick = SqlitePersonList(tmp_db_path)
    try:
        assert quick.schema_revision() == HEAD_REVISION
    finally:
        quick.close()
