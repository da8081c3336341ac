"""Person search over a real SQLite file built through the service layer (kim_desktop.services.search)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, event, func, select, text

from kim_desktop.db.engine import open_database
from kim_desktop.db.models import Case, SearchKey
from kim_desktop.services import persons
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.search import reindex_persons, search_persons

PEOPLE = {
    # key: (family name, given names, birth date, phone)
    "hans": ("Müller", "Hans", "12.03.1990", "0170 1234567"),
    "petra": ("Müller", "Petra", "1962", None),
    "piet": ("Mulder", "Piet", "1990", None),
    "eva": ("Strauß", "Eva", "1975", None),
    "emre": ("Öztürk", "Emre", "05.1999", None),
    "ali": ("Mohammed", "Ali", "01.01.1985", None),
    "yusuf": ("Muhammad", "Yusuf", "1988", None),
    "samir": ("Mohamad", "Samir", "1979", None),
    "karim": ("Abdel Rahman", "Karim", "1980", None),
    "aisha": ("Abdul Rahman", "Aisha", "1981", None),
    "omar": ("Al-Hassan", "Omar", "1992", None),
    "lina": ("Alhasan", "Lina", "1993", None),
    "taras": ("Шевченко", "Тарас", "1961", None),
    "olena": ("Shevchenko", "Olena", "1970", None),
    "hryhorii": ("Бондаренко", "Григорій", "1958", None),
    "anna": ("Schmidt", "Anna", "1990", "+49 (0)221 555-1234"),
    "hassan": ("Ali", "Hassan", "1970", None),
    "reza": ("Alizadeh", "Reza", "1977", None),
}


@pytest.fixture(scope="module")
def search_db(tmp_path_factory):
    """One database for the read-only search tests; ``ids`` maps the keys of PEOPLE to person ids."""
    database = open_database(tmp_path_factory.mktemp("search") / "kim.sqlite3")
    context = ServiceContext(database, Actor.local())
    ids = {}
    for key, (family, given, birth, phone) in PEOPLE.items():
        view = persons.create_person(
            context,
            {"family_name": family, "given_names": given, "birth_date": birth, "phone": phone},
            allow_duplicate=True,
        )
        ids[key] = view.id
    yield context, ids
    database.dispose()


def names_of(search_db, query: str, limit: int = 50) -> list[str]:
    """The PEOPLE keys of the hits, best first."""
    context, ids = search_db
    by_id = {v: k for k, v in ids.items()}
    with context.read() as session:
        return [by_id[hit.id] for hit in search_persons(session, query, limit=limit)]


def hits(search_db, query: str, limit: int = 50):
    context, _ids = search_db
    with context.read() as session:
        return search_persons(session, query, limit=limit)


# --- spelling variants ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Müller", "Mueller", "Muller", "MÜLLER", "müller", "MUELLER"])
def test_mueller_spellings(search_db, query):
    assert sorted(names_of(search_db, query)) == ["hans", "petra"]


@pytest.mark.parametrize("query", ["Strauß", "Strauss", "STRAUSS", "strauẞ"])
def test_strauss_spellings(search_db, query):
    assert names_of(search_db, query) == ["eva"]


@pytest.mark.parametrize("query", ["Öztürk", "Oeztuerk", "Ozturk", "OZTÜRK"])
def test_oeztuerk_spellings(search_db, query):
    assert names_of(search_db, query) == ["emre"]


@pytest.mark.parametrize(
    ("query", "first"), [("Mohammed", "ali"), ("Muhammad", "yusuf"), ("Mohamad", "samir")]
)
def test_mohammed_transliterations_find_each_other_exact_first(search_db, query, first):
    found = names_of(search_db, query)
    assert set(found) == {"ali", "yusuf", "samir"}
    assert found[0] == first
    scores = [h.score for h in hits(search_db, query)]
    assert scores[0] < scores[1]  # exact before phonetic


@pytest.mark.parametrize(("query", "first"), [("Abdel", "karim"), ("Abdul", "aisha")])
def test_abdel_abdul(search_db, query, first):
    found = names_of(search_db, query)
    assert set(found) == {"karim", "aisha"}
    assert found[0] == first


def test_particle_joined_form(search_db):
    assert names_of(search_db, "Abdelrahman")[0] == "karim"
    assert "aisha" in names_of(search_db, "Abdelrahman")


@pytest.mark.parametrize(
    ("query", "first"), [("Al-Hassan", "omar"), ("Alhassan", "omar"), ("Alhasan", "lina")]
)
def test_al_hassan_alhasan(search_db, query, first):
    found = names_of(search_db, query)
    assert set(found) >= {"omar", "lina"}
    assert found[0] == first


@pytest.mark.parametrize("query", ["Шевченко", "Shevchenko", "shevchenko", "Schewtschenko"])
def test_cyrillic_and_latin_find_each_other(search_db, query):
    assert sorted(names_of(search_db, query)) == ["olena", "taras"]


def test_cyrillic_given_name_found_in_latin_and_back(search_db):
    assert names_of(search_db, "Taras") == ["taras"]
    assert names_of(search_db, "Олена") == ["olena"]


@pytest.mark.parametrize("query", ["Hryhorii", "Grigorii", "Григорій", "Bondarenko"])
def test_ukrainian_passport_spellings(search_db, query):
    assert names_of(search_db, query) == ["hryhorii"]


@pytest.mark.parametrize("name", ["Oliveira-Esteves", "Lou-Ella", "Da-Eun"])
def test_hyphenated_name_typed_as_stored_is_an_exact_hit(ctx, name):
    """The joined form of "Oliveira-Esteves" is folded across the join in the index; the query must match."""
    view = persons.create_person(ctx, {"family_name": name, "given_names": "Maria"})
    for query in (name, name.replace("-", ""), name.replace("-", " ")):
        with ctx.read() as session:
            result = search_persons(session, query)
        assert [h.id for h in result] == [view.id], query
        assert result[0].score == 0, query


# --- search as you type ---------------------------------------------------------------------------------


def test_prefix_mue(search_db):
    found = names_of(search_db, "Mü")
    assert {"hans", "petra", "piet", "yusuf"} <= set(found)
    assert "ali" not in found and "samir" not in found  # Mohammed, Mohamad do not start with "mu"


def test_prefix_moh(search_db):
    assert sorted(names_of(search_db, "Moh")) == ["ali", "samir"]


def test_prefix_grows_to_exact(search_db):
    assert set(names_of(search_db, "Öz")) == {"emre"}
    assert names_of(search_db, "Öztü") == ["emre"]


def test_exact_token_ranks_before_prefix(search_db):
    result = hits(search_db, "Ali")
    keys = names_of(search_db, "Ali")
    assert keys.index("hassan") < keys.index("reza")  # "Ali" exactly before "Alizadeh"
    assert keys.index("ali") < keys.index("reza")  # given name "Ali" counts as exact too
    assert [h.score for h in result] == sorted(h.score for h in result)


# --- dates, phone, file number --------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["12.03.1990", "1990-03-12", "12.3.1990"])
def test_full_birth_date(search_db, query):
    assert names_of(search_db, query) == ["hans"]


def test_birth_year(search_db):
    assert sorted(names_of(search_db, "1990")) == ["anna", "hans", "piet"]
    assert names_of(search_db, "1962") == ["petra"]


@pytest.mark.parametrize("query", ["03.1990", "03/1990", "1990-03"])
def test_birth_month_and_year(search_db, query):
    assert names_of(search_db, query) == ["hans"]


def test_full_date_finds_a_person_recorded_with_month_and_year_only(search_db):
    result = hits(search_db, "17.05.1999")
    assert [h.family_name for h in result] == ["Öztürk"]
    assert result[0].birth_date_iso == "1999-05"


def test_placeholder_date_is_searchable_as_given(search_db):
    assert names_of(search_db, "01.01.1985") == ["ali"]


@pytest.mark.parametrize(
    "query",
    ["0170 1234567", "01701234567", "0170/123 45 67", "+49 170 1234567", "0049 170 1234567", "0170 123"],
)
def test_phone_with_different_formatting(search_db, query):
    assert names_of(search_db, query) == ["hans"]


@pytest.mark.parametrize("query", ["0221 5551234", "02215551234", "+49 221 555 1234", "(0221) 555-1234"])
def test_stored_international_phone(search_db, query):
    assert names_of(search_db, query) == ["anna"]


def test_file_number(ctx):
    view = persons.create_person(ctx, {"family_name": "Tesfaye", "given_names": "Selam"})
    other = persons.create_person(ctx, {"family_name": "Berhane", "given_names": "Yonas"})
    with ctx.write() as session:
        session.add(Case(file_number="KIM-2026-0042", person_id=view.id, opened_on=date(2026, 1, 5)))
        session.add(Case(file_number="KIM-2026-0117", person_id=other.id, opened_on=date(2026, 2, 1)))
        session.flush()
        reindex_persons(session, [view.id, other.id])
    with ctx.read() as session:
        assert [h.id for h in search_persons(session, "KIM-2026-0042")] == [view.id]
        assert [h.id for h in search_persons(session, "kim20260042")] == [view.id]
        assert [h.id for h in search_persons(session, "KIM-2026-011")] == [other.id]  # prefix
        assert {h.id for h in search_persons(session, "KIM-2026")} == {view.id, other.id}
        assert [h.id for h in search_persons(session, "Tesfaye")] == [view.id]  # names still indexed
    assert persons.get_person(ctx, view.id).file_numbers == ["KIM-2026-0042"]


# --- several tokens, limit, edge input ------------------------------------------------------------------


def test_multi_token_and(search_db):
    assert names_of(search_db, "Müller 1990") == ["hans"]
    assert names_of(search_db, "1990 Mueller") == ["hans"]
    assert names_of(search_db, "Müller Petra") == ["petra"]
    assert names_of(search_db, "Hans Müller 12.03.1990") == ["hans"]
    assert names_of(search_db, "Müller 1975") == []
    assert names_of(search_db, "Hans 1962") == []


def test_limit(search_db):
    assert len(names_of(search_db, "1990")) == 3
    assert len(names_of(search_db, "1990", limit=2)) == 2
    assert len(names_of(search_db, "M", limit=1)) == 1
    assert names_of(search_db, "Müller", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "-", "'", "\x00", "\u200f", "Zyxwvut", "%", "_", "*"])
def test_nothing_or_junk_finds_nothing(search_db, query):
    assert names_of(search_db, query) == []


def test_hit_carries_display_data(search_db):
    (hit,) = hits(search_db, "Strauss")
    assert (hit.family_name, hit.given_names, hit.birth_date_iso) == ("Strauß", "Eva", "1975")
    assert hit.matched  # which key matched, for highlighting


# --- the search runs on the index -----------------------------------------------------------------------


def test_search_statements_use_the_search_key_index_not_a_scan(search_db):
    context, _ids = search_db
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(context.database.engine, "before_cursor_execute", capture)
    try:
        with context.read() as session:
            for query in ["Müller 1990", "Mo", "0170 1234567", "Schewtschenko", "12.03.1990"]:
                assert search_persons(session, query)
    finally:
        event.remove(context.database.engine, "before_cursor_execute", capture)
    assert statements
    key_lookups = 0
    with context.read() as session:
        connection = session.connection()
        for statement, parameters in statements:
            plan = [
                row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            # "SCAN anon_N" reads a capped subquery (the size estimate), not a table.
            tables_scanned = [
                step for step in plan if step.startswith("SCAN") and not step.startswith("SCAN anon_")
            ]
            assert not tables_scanned, (statement, plan)
            if "FROM search_key" in statement:
                key_lookups += 1
                assert any("USING PRIMARY KEY (key" in step for step in plan), plan
            if "FROM person" in statement:
                assert any(step.startswith("SEARCH person USING") for step in plan), plan
    assert key_lookups >= 5


def test_search_finds_nothing_without_index_rows(ctx):
    """Proof that search reads the index, not the person table: empty the index, nothing is found."""
    view = persons.create_person(ctx, {"family_name": "Müller", "given_names": "Hans", "birth_date": "1990"})
    with ctx.read() as session:
        assert [h.id for h in search_persons(session, "Müller")] == [view.id]
    with ctx.write() as session:
        session.execute(delete(SearchKey))
    with ctx.read() as session:
        assert search_persons(session, "Müller") == []
        assert search_persons(session, "1990") == []
    with ctx.write() as session:
        reindex_persons(session, [view.id])
    with ctx.read() as session:
        assert [h.id for h in search_persons(session, "Mueller 1990")] == [view.id]
        assert session.scalar(select(func.count()).select_from(SearchKey)) > 0


def test_search_key_is_a_without_rowid_table(ctx):
    with ctx.read() as session:
        sql = session.execute(text("SELECT sql FROM sqlite_master WHERE name = 'search_key'")).scalar()
    assert "WITHOUT ROWID" in sql.upper()
