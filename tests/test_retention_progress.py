"""``retention.apply`` with progress and "Abbrechen": it stops between two persons, the rest stays due."""

from __future__ import annotations

from datetime import date

from kim_desktop.services import cases, persons, retention


def closed_person(ctx, family: str) -> str:
    person = persons.create_person(
        ctx, {"family_name": family, "given_names": "Test", "city": "Dülmen"}, allow_duplicate=True
    ).id
    case = cases.open_case(ctx, person, opened_on=date(2021, 1, 10), consent_on=date(2021, 1, 10)).id
    cases.change_phase(ctx, case, "closed", on=date(2021, 3, 15), closure_reason="kein_kontakt")
    return person


def due_count(ctx, today) -> int:
    with ctx.read() as session:
        return len(retention.due(session, today, with_counts=False))


def test_cancel_stops_between_persons_and_the_rest_stays_due(ctx):
    today = date(2026, 1, 1)
    for family in ("Abeln", "Brinkhaus", "Conrads", "Dreeser"):
        closed_person(ctx, family)
    assert due_count(ctx, today) == 4
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return False if done == 2 else None  # "Abbrechen" after two persons

    report = retention.apply(ctx, today, progress=progress)
    assert report.cancelled and report.persons == 2
    assert report.to_json()["cancelled"] is True
    assert calls == [(0, 4), (1, 4), (2, 4)]
    assert due_count(ctx, today) == 2

    finished = []
    again = retention.apply(ctx, today, progress=lambda done, total: finished.append((done, total)))
    assert not again.cancelled and again.persons == 2
    assert finished[-1] == (2, 2)
    assert due_count(ctx, today) == 0
