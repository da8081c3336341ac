"""Arbitrary text thrown at person fields and at the search: refused with a German message, or stored
faithfully; the search never fails."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kim_desktop.db.engine import open_database
from kim_desktop.db.models import Person
from kim_desktop.errors import UserError, ValidationError
from kim_desktop.services import persons
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.search import parse_query, search_persons

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

TRICKY = st.sampled_from(
    [
        "<b>", "</b>", "<script>", "&amp;", "'", '"', ";", "--", "%", "_", "\\", "\x00", "\x07", "\x1b", "\x7f",
        "\x85", "\t", "\n", "\r", " ", "\u00a0", "\u200b", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066",
        "\u2028", "\ufeff", "\ud800", "\udfff", "ß", "Ü", "ğ", "İ", "ı", "محمد", "الحسن", "כהן", "Шевченко",
        "Ї", "😀", "𝔄", "\u0301", "e\u0308", "中", "٣", "O'Connor <GmbH> & Söhne",
    ]
)  # fmt: skip
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
TEXT = st.one_of(
    st.text(),
    st.text(alphabet=ANY_CHAR, max_size=300),
    st.lists(TRICKY, max_size=30).map("".join),
    st.lists(st.one_of(TRICKY, st.text(max_size=5)), max_size=30).map("".join),
    # long input up to 10,000 characters
    st.tuples(st.text(min_size=1, max_size=20), st.integers(1, 10_000)).map(lambda t: (t[0] * t[1])[:10_000]),
)

FIELDS = ("family_name", "given_names", "street", "note")
LABELS = {
    "family_name": ("Familienname",),
    "given_names": ("Vorname(n)",),
    "street": ("Straße und Hausnummer",),
    "note": ("Notiz",),
}


@pytest.fixture(scope="module")
def hctx(tmp_path_factory):
    database = open_database(tmp_path_factory.mktemp("hypothesis") / "kim.sqlite3")
    yield ServiceContext(database, Actor.local())
    database.dispose()


def person_count(ctx) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(Person))


def expected_stored(field: str, value: str):
    stripped = value.strip()
    if field == "given_names":
        return stripped
    return stripped or None


def assert_german_refusal(exc: UserError, fields) -> None:
    assert exc.message and exc.message.strip()
    assert "Traceback" not in exc.message
    if isinstance(exc, ValidationError):
        assert exc.field_errors
        for name, message in exc.field_errors.items():
            assert name in fields
            assert message.strip()
            assert any(label in message for label in LABELS[name]) or message == (
                "Bitte geben Sie den Familiennamen ein."
            ), message


def create_and_check(ctx, values: dict[str, str]) -> None:
    before = person_count(ctx)
    try:
        view = persons.create_person(ctx, values, allow_duplicate=True)
    except UserError as exc:
        assert_german_refusal(exc, set(values))
        assert person_count(ctx) == before  # nothing half-written
        return
    assert person_count(ctx) == before + 1
    again = persons.get_person(ctx, view.id)
    for field, value in values.items():
        assert getattr(again, field) == expected_stored(field, value), field


@pytest.mark.parametrize("field", FIELDS)
@SETTINGS
@given(value=TEXT)
def test_arbitrary_text_in_one_field(hctx, field, value):
    values = {"family_name": "Testperson", field: value}
    create_and_check(hctx, values)


@SETTINGS
@given(family=TEXT, given_names=TEXT, street=TEXT, note=TEXT)
def test_arbitrary_text_in_all_fields_at_once(hctx, family, given_names, street, note):
    create_and_check(
        hctx, {"family_name": family, "given_names": given_names, "street": street, "note": note}
    )


@SETTINGS
@given(value=st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=200))
def test_printable_family_names_are_always_accepted(hctx, value):
    assume(value.strip())
    view = persons.create_person(hctx, {"family_name": value}, allow_duplicate=True)
    assert persons.get_person(hctx, view.id).family_name == value.strip()


@SETTINGS
@given(query=TEXT, limit=st.integers(min_value=-1, max_value=60))
def test_search_never_fails(hctx, query, limit):
    with hctx.read() as session:
        result = search_persons(session, query, limit=limit)
    assert isinstance(result, list)
    assert len(result) <= max(limit, 0)
    assert all(hit.id and isinstance(hit.family_name, str) for hit in result)


@SETTINGS
@given(value=TEXT)
def test_search_finds_what_was_stored(hctx, value):
    """Whatever family name was accepted is found again by typing it exactly (name tokens only: a name
    made of digits reads as a year, phone or file number and is searched as such)."""
    try:
        view = persons.create_person(hctx, {"family_name": value, "given_names": "Zz"}, allow_duplicate=True)
    except UserError:
        return
    tokens = parse_query(view.family_name)
    assume(tokens and all(any(m.key.startswith("n:") and not m.prefix for m in t.matches) for t in tokens))
    with hctx.read() as session:
        result = search_persons(session, view.family_name, limit=1000)
    assert view.id in [hit.id for hit in result]
    best = min(hit.score for hit in result)
    assert next(hit.score for hit in result if hit.id == view.id) == best == 0  # an exact hit
