"""Merging two records of one person moves everything and loses nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import Case, Consent, JournalEntry, Person
from kim_desktop.errors import UserError
from kim_desktop.services import cases, journal, merge, persons
from kim_desktop.services.search import search_persons


@pytest.fixture
def pair(ctx):
    keep = persons.create_person(
        ctx,
        {"family_name": "Al-Hassan", "given_names": "Mohammed", "birth_date": "01.01.1992", "nationalities": ["SY"]},
    ).id
    other = persons.create_person(
        ctx,
        {
            "family_name": "Alhasan",
            "given_names": "Muhammad",
            "birth_date": "14.07.1992",
            "nationalities": ["IQ"],
            "phone": "0151 2345678",
            "city": "Dülmen",
        },
        allow_duplicate=True,
    ).id
    case = cases.open_case(ctx, other, consent_on=date.today())
    journal.add_journal_entry(ctx, case.id, text="Erstgespräch")
    return keep, other, case.id


def test_merge_moves_related_records_and_keeps_names_findable(ctx, pair):
    keep, other, case_id = pair
    merge.merge_persons(ctx, keep, other, take_from_other={"birth_date"})
    with ctx.read() as session:
        kept = session.get(Person, keep)
        gone = session.get(Person, other)
        assert gone.merged_into_id == keep and gone.deleted_at is not None
        assert (kept.birth_year, kept.birth_month, kept.birth_day) == (1992, 7, 14)  # chosen from the other
        assert kept.phone == "0151 2345678" and kept.city == "Dülmen"  # empty fields filled
        assert {n.country_code for n in kept.nationalities} == {"SY", "IQ"}
        assert ("Alhasan", "Muhammad") in {(v.family_name, v.given_names) for v in kept.name_variants}
        assert session.get(Case, case_id).person_id == keep
        assert session.scalar(select(func.count()).select_from(Consent).where(Consent.person_id == other)) == 0
        texts = [e.text for e in session.scalars(select(JournalEntry).where(JournalEntry.person_id == keep))]
        assert "Erstgespräch" in texts
        assert any("zusammengeführt" in t for t in texts)
        assert [h.id for h in search_persons(session, "Alhasan Muhammad")] == [keep]
        assert [h.id for h in search_persons(session, cases.get_case(ctx, case_id).file_number)] == [keep]


def test_merge_preview_lists_only_differing_fields(ctx, pair):
    keep, other, _case = pair
    fields = [f for f, _l, _r in merge.merge_preview(ctx, keep, other)]
    assert "family_name" in fields and "birth_date" in fields and "sex" not in fields


def test_merge_with_itself_is_refused(ctx, pair):
    keep, _other, _case = pair
    with pytest.raises(UserError, match="mit sich selbst"):
        merge.merge_persons(ctx, keep, keep)


def test_merged_record_cannot_be_merged_again(ctx, pair):
    keep, other, _case = pair
    merge.merge_persons(ctx, keep, other)
    with pytest.raises(UserError, match="gibt es nicht"):
        merge.merge_persons(ctx, keep, other)
    with ctx.read() as session:
        assert persons.count_persons(session) == 1
