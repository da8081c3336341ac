"""The helpers of ``benchmarks/casework.py`` (the figures themselves are measured outside the test suite)."""

from __future__ import annotations

import pytest

pytest.importorskip("benchmarks.casework")


@pytest.fixture
def demo_ctx(ctx):
    from kim_desktop.services.demo import generate_demo_data

    generate_demo_data(ctx, persons=300, seed=3)
    return ctx


def test_case_journal_is_filled_once(demo_ctx):
    from benchmarks.casework import ensure_case_journal, pick_case
    from kim_desktop.services.journal import journal, journal_count

    with demo_ctx.read() as session:
        case_id = pick_case(session)
        before = journal_count(session, case_id)
    assert ensure_case_journal(demo_ctx, case_id, wanted=before + 120) == (before, 120)
    assert ensure_case_journal(demo_ctx, case_id, wanted=before + 120) == (before + 120, 0)
    with demo_ctx.read() as session:
        assert journal_count(session, case_id) == before + 120
        entries = journal(session, case_id, limit=500)
    assert all(e.text and e.contact_type for e in entries)


def test_duplicate_entries_find_their_person(demo_ctx):
    from benchmarks.casework import build_duplicate_entries
    from kim_desktop.services.duplicates import find_duplicates

    with demo_ctx.read() as session:
        entries = build_duplicate_entries(session, per_kind=5, new=5, seed=1)
        assert {e.kind for e in entries} >= {"exact", "swapped", "year_only", "new"}
        exact = [e for e in entries if e.kind == "exact"]
        for e in exact:
            assert e.person_id in {c.id for c in find_duplicates(session, e.family, e.given, e.birth)}


def test_skip_casework_flag():
    from benchmarks.__main__ import parse_args

    assert parse_args(["--skip-casework"]).skip_casework
    assert not parse_args([]).skip_casework
