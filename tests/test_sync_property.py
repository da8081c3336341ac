"""Property: random interleavings of edits in the office and on two laptops with random sync points.

Invariant: every committed edit is in the merged result (the office database after the last syncs) or in a
laptop's conflict inbox, unless a later edit overwrote it knowingly (that edit was made where the earlier
value was on screen). Values are unique, so "was on screen" is "was the current value on that side".
After the final syncs every field without an open conflict has the same value everywhere.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sync_office import PASSWORD, Office

from kim_desktop.db import keyslots
from kim_desktop.db.models import JournalEntry, Person
from kim_desktop.services import journal, login, persons, sync

FIELDS = ("city", "street", "note")
SIDES = ("office", "a", "b")

step = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(SIDES), st.integers(0, 1), st.sampled_from(FIELDS)),
    st.tuples(st.just("journal"), st.sampled_from(SIDES), st.integers(0, 1)),
    st.tuples(st.just("delete"), st.sampled_from(SIDES), st.integers(0, 7)),
    st.tuples(st.just("sync"), st.sampled_from(("a", "b"))),
    st.tuples(st.just("nationalities"), st.sampled_from(SIDES), st.integers(0, 1)),
)
#: Nationality sets (rows without a change history of their own: compared as a set per person).
NATIONS = ("SY", "TR", "UA", "IQ", "AF", "ER")


@pytest.fixture(scope="module", autouse=True)
def cheap_kdf():
    with keyslots.kdf_parameters(time_cost=1, memory_cost=8192, parallelism=1):
        yield


def _value(ctx, pid, field):
    with ctx.read() as session:
        return getattr(session.get(Person, pid), field)


def _nations(ctx, pid) -> tuple:
    from kim_desktop.db.models import PersonNationality

    with ctx.read() as session:
        return tuple(
            sorted(
                session.scalars(
                    select(PersonNationality.country_code).where(PersonNationality.person_id == pid)
                )
            )
        )


def _codes(text_value) -> tuple:
    import json

    return tuple(sorted(row["country_code"] for row in json.loads(text_value or "[]")))


def _entries(ctx):
    with ctx.read() as session:
        return {e.id: e.deleted_at for e in session.scalars(select(JournalEntry))}


def _diagnose(ctx, office):
    from kim_desktop.db.models import ChangeRecord, ReplicaState

    with ctx.read() as session:
        state = session.scalar(select(ReplicaState))
        cursor, cases = state.last_pulled_seq, state.case_ids
        mine = session.scalars(select(ChangeRecord.seq).where(ChangeRecord.synced.is_(False))).all()
    with office.ctx.read() as session:
        records = [
            (r.seq, r.entity_type, r.field, r.origin)
            for r in session.scalars(select(ChangeRecord).where(ChangeRecord.seq > cursor - 5))
        ]
    return {"cursor": cursor, "cases": cases, "unsynced": mine, "office": records}


def check_interleaving(steps, office_url: str | None = None) -> None:
    """Run ``steps`` on an office (a SQLite file, or the server database ``office_url``) and two laptops and
    check the invariant of the module doc."""
    counter = itertools.count()
    with tempfile.TemporaryDirectory() as tmp:
        office = Office(Path(tmp) / "office.sqlite3", n_cases=2, url=office_url)
        sides = {"office": office.ctx}
        try:
            for name in ("a", "b"):
                sync.checkout(office.url, Path(tmp) / f"{name}.sqlite3", "anna", PASSWORD)
                sides[name] = login.open_context(
                    Path(tmp) / f"{name}.sqlite3", username="anna", password=PASSWORD
                )
            edits = []  # (side, person, field, value)
            overwritten = set()  # values some side replaced while they were its current value
            made, deleted = [], []  # journal entries: (side, id); deletions: (side, id)
            for action in steps:
                kind, side = action[0], action[1]
                ctx = sides[side]
                if kind == "edit":
                    pid, field = office.persons[action[2]], action[3]
                    value = f"W{next(counter)}"
                    overwritten.add(_value(ctx, pid, field))
                    persons.update_person(ctx, pid, {field: value})
                    edits.append((side, pid, field, value))
                elif kind == "nationalities":
                    pid = office.persons[action[2]]
                    value = tuple(sorted({NATIONS[next(counter) % len(NATIONS)] for _ in range(2)}))
                    before = _nations(ctx, pid)
                    if before != value:
                        overwritten.add(before)
                        persons.update_person(ctx, pid, {"nationalities": list(value)})
                        edits.append((side, pid, "person_nationality", value))
                elif kind == "journal":
                    made.append(
                        (
                            side,
                            journal.add_journal_entry(ctx, office.cases[action[2]], text=f"J{next(counter)}"),
                        )
                    )
                elif kind == "delete":
                    present = [i for i, at in _entries(ctx).items() if at is None]
                    if present:
                        entry = present[action[2] % len(present)]
                        journal.delete_journal_entry(ctx, entry)
                        deleted.append((side, entry))
                else:
                    sync.sync(ctx, office.url, batch_size=7)
            for name in ("a", "b", "a"):
                sync.sync(sides[name], office.url, batch_size=7)

            inbox = [c for name in ("a", "b") for c in sync.open_conflicts(sides[name])]
            in_inbox = {(c.entity_id, c.field, v) for c in inbox for v in (c.local_value, c.remote_value)}
            in_inbox |= {
                (c.entity_id, c.field, _codes(v))
                for c in inbox
                if c.field == "person_nationality"
                for v in (c.local_value, c.remote_value)
            }
            for side, pid, field, value in edits:
                if field == "person_nationality":
                    merged = _nations(office.ctx, pid) == value
                else:
                    merged = _value(office.ctx, pid, field) == value
                assert merged or (pid, field, value) in in_inbox or value in overwritten, (side, field, value)
            office_entries = _entries(office.ctx)
            for _side, entry in made:
                assert entry in office_entries
            for _side, entry in deleted:
                conflict = any(c.entity_id == entry and c.field == "deleted_at" for c in inbox)
                assert office_entries[entry] is not None or conflict
            # convergence: what is not in an inbox is the same everywhere
            open_fields = {(c.entity_id, c.field) for c in inbox}
            for name in ("a", "b"):
                for pid in office.persons:
                    for field in FIELDS:
                        if (pid, field) not in open_fields:
                            assert _value(sides[name], pid, field) == _value(office.ctx, pid, field), (
                                _diagnose(sides[name], office)
                            )
                    if (pid, "person_nationality") not in open_fields:
                        assert _nations(sides[name], pid) == _nations(office.ctx, pid)
                laptop_entries = _entries(sides[name])
                assert {k: v is None for k, v in laptop_entries.items()} == {
                    k: v is None for k, v in office_entries.items() if k in laptop_entries
                }
                assert set(office_entries) <= set(laptop_entries), (name, sync.open_conflicts(sides[name]))
        finally:
            for ctx in sides.values():
                ctx.database.dispose()


@settings(
    max_examples=int(os.environ.get("KIM_SYNC_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(step, min_size=3, max_size=18))
def test_every_committed_edit_is_merged_or_in_the_inbox(steps):
    check_interleaving(steps)


@pytest.mark.postgres
def test_every_committed_edit_is_merged_or_in_the_inbox_on_the_office_server(pg_database):
    """The same property with the office on the real PostgreSQL server (a fresh database per example)."""

    @settings(
        max_examples=int(os.environ.get("KIM_SYNC_PG_EXAMPLES", "6")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(step, min_size=3, max_size=14))
    def run(steps):
        check_interleaving(steps, pg_database())

    run()
