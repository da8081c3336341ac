"""The helpers of ``benchmarks/letters.py`` (the figures themselves are measured outside the test suite)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

pytest.importorskip("benchmarks.letters")


@pytest.fixture
def demo_ctx(ctx):
    from kim_desktop.services.demo import generate_demo_data

    generate_demo_data(ctx, persons=300, seed=3)
    return ctx


def counts(ctx) -> tuple[int, ...]:
    from kim_desktop.db.models import Appointment, AppointmentParticipant, AuditEvent, ChangeRecord, Document

    with ctx.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Appointment, AppointmentParticipant, Document, AuditEvent, ChangeRecord)
        )


def test_bench_day_is_a_free_tuesday_and_cleanup_leaves_no_trace(demo_ctx, tmp_path):
    from benchmarks.letters import add_bench_day, bench_day, cleanup
    from kim_desktop.services.bulk_letters import invitations_for_day, make_invitations

    day = bench_day(date(2026, 11, 28))
    assert day.weekday() == 1 and (day - date(2026, 11, 28)).days >= 400
    before = counts(demo_ctx)
    pairs = add_bench_day(demo_ctx, bench_day(), count=12)
    with demo_ctx.read() as session:
        assert sorted(invitations_for_day(session, bench_day())) == sorted(pairs)
    result = make_invitations(demo_ctx, bench_day(), tmp_path / "out")
    assert len(result.written) == 12 and not result.skipped
    assert counts(demo_ctx) != before
    assert cleanup(demo_ctx) == 12
    assert counts(demo_ctx) == before


def test_docx_letters_hold_the_same_text(demo_ctx, tmp_path):
    from docx import Document as Docx

    from benchmarks.letters import add_bench_day, bench_day, letter_contents, write_docx

    pairs = add_bench_day(demo_ctx, bench_day(), count=2)
    contents = letter_contents(demo_ctx, pairs)
    write_docx(contents[0], tmp_path / "a.docx")
    document = Docx(str(tmp_path / "a.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(p.text for cell in document.tables[0].rows[0].cells for p in cell.paragraphs)
    assert (
        contents[0]["subject"] in text
        and contents[0]["body"][0] in text
        and "Mit freundlichen Grüßen" in text
    )
    assert contents[0]["address"][0] in cells and "Aktenzeichen" in cells


def test_missing_libreoffice_is_reported(demo_ctx, tmp_path, monkeypatch):
    import benchmarks.letters as bench

    monkeypatch.setattr(bench, "find_soffice", lambda: None)
    result = bench.measure_libreoffice(demo_ctx, [], 100.0, tmp_path, log=lambda _line: None)
    assert result == {"libreoffice": "LibreOffice nicht installiert – Vergleich übersprungen"}
