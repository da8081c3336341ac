"""``python -m benchmarks.sync``: laptop replica checkout and sync over loopback (issue 9).

    uv run python -m benchmarks.sync --cases 300 --changes 5000            # the targets
    uv run python -m benchmarks.sync --cases 30 --changes 300              # quick check
    uv run python -m benchmarks.sync --url postgresql://postgres@127.0.0.1/kim_bench_sync   # office on PostgreSQL
    uv run python -m benchmarks.sync --url postgresql://postgres@127.0.0.1/kim_bench_sync --own-role

Builds an office database (a plain SQLite file in a temporary folder, or the given server database, which is
emptied first) with one counsellor whose caseload holds ``--cases`` open cases, each with a client, a
household member, five journal entries and a goal, plus 20 cases of a colleague. Then measures

``checkout_s``
    ``services.sync.checkout`` of the caseload into a new encrypted replica (target ≤ 10 s for 300 cases);
``push_s``
    ``services.sync.sync`` after ``--changes`` field changes on the laptop (journal texts, person phones);
``pull_s``
    ``services.sync.sync`` after ``--changes`` field changes in the office (target for either: ≤ 10 s for
    5,000 changed records).

``--own-role`` (PostgreSQL only): checkout and sync connect with the counsellor's own database role, so row
security applies and the pull reads the change log through the sync feed policy (migration 0012); the
office's changes are still made by the schema owner.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

TARGET_CHECKOUT_S = 10.0
TARGET_SYNC_S = 10.0
PASSWORD = "Bench-Passwort-2026"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sync", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300, help="cases of the counsellor's caseload")
    parser.add_argument("--changes", type=int, default=5000, help="changed records per direction")
    parser.add_argument("--url", default=None, help="office database URL (default: a temporary SQLite file)")
    parser.add_argument("--out", default=None, metavar="FILE.json")
    parser.add_argument(
        "--own-role", action="store_true", help="sync with the counsellor's own database role (needs --url)"
    )
    args = parser.parse_args(argv)
    if args.own_role and not args.url:
        parser.error("--own-role needs --url (a PostgreSQL office database)")
    return args


def own_role_url(url: str) -> str:
    """The server URL without a database user: checkout and sync then log in with the user's own role."""
    from sqlalchemy.engine import make_url

    from kim_desktop.db.engine import resolve_location

    return (
        make_url(resolve_location(url).url)
        ._replace(username=None, password=None)
        .render_as_string(hide_password=False)
    )


def build_office(url: str, cases: int) -> tuple[str, list[str], list[str]]:
    """The office: returns the counsellor's id, the journal entry ids and the person ids of the caseload."""
    from sqlalchemy import insert

    from kim_desktop.db.base import new_id
    from kim_desktop.db.engine import open_database
    from kim_desktop.db.models import Case, CaseMember, Goal, JournalEntry, Person
    from kim_desktop.services import users
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(url)
    ctx = ServiceContext(database, Actor.local())
    try:
        anna = users.add_user(ctx, "anna", "Anna Bench", PASSWORD, ["case_management"]).id
        bernd = users.add_user(ctx, "bernd", "Bernd Bench", PASSWORD, ["case_management"]).id
        now = datetime.now(UTC)
        persons, case_rows, members, entries, goals = [], [], [], [], []
        for i in range(cases + 20):
            client, member = new_id(), new_id()
            for pid, given in ((client, "Klient"), (member, "Angehörige")):
                persons.append(
                    {
                        "id": pid,
                        "family_name": f"Bench{i}",
                        "given_names": given,
                        "sort_name": f"bench{i} {given}",
                        "sex": "u",
                        "interpreter_needed": False,
                        "city": "Köln",
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }  # fmt: skip
                )
            case_id = new_id()
            case_rows.append(
                {
                    "id": case_id,
                    "file_number": f"B-{i:05d}",
                    "person_id": client,
                    "phase": "planning",
                    "case_manager_id": anna if i < cases else bernd,
                    "opened_on": date(2026, 1, 5),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }  # fmt: skip
            )
            members.append({"case_id": case_id, "person_id": member})
            for k in range(5):
                entries.append(
                    {
                        "id": new_id(),
                        "case_id": case_id,
                        "person_id": client,
                        "entry_date": date(2026, 2, 1 + k),
                        "text": f"Gespräch {k}",
                        "confidential": False,
                        "system_generated": False,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }  # fmt: skip
                )
            goals.append(
                {
                    "id": new_id(),
                    "case_id": case_id,
                    "title": "Sprachkurs",
                    "status": "open",
                    "sort_order": 0,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }  # fmt: skip
            )
        with database.session() as session:
            for model, rows in ((Person, persons), (Case, case_rows), (CaseMember, members),
                                (JournalEntry, entries), (Goal, goals)):  # fmt: skip
                session.execute(insert(model), rows)
        mine = {c["id"] for c in case_rows if c["case_manager_id"] == anna}
        my_entries = [e["id"] for e in entries if e["case_id"] in mine]
        my_persons = [c["person_id"] for c in case_rows if c["id"] in mine]
        return anna, my_entries, my_persons
    finally:
        database.dispose()


def change(ctx, entry_ids: list[str], person_ids: list[str], n: int, tag: str) -> int:
    """``n`` field changes in one unit of work (journal text, duration and contact type, then the clients'
    phone, street and city), through the ORM so the change log records them as any edit would."""
    from kim_desktop.db.models import JournalEntry, Person

    plan = [(JournalEntry, i, f) for f in ("text", "duration_min", "contact_type") for i in entry_ids]
    plan += [(Person, i, f) for f in ("phone", "street", "city") for i in person_ids]
    values = {"text": f"{tag}", "duration_min": len(tag), "contact_type": tag[:20], "phone": f"0221 {len(tag)}",
              "street": f"{tag} 1", "city": tag}  # fmt: skip
    with ctx.write() as session:
        for model, row_id, field_name in plan[:n]:
            setattr(session.get(model, row_id), field_name, values[field_name])
    return min(n, len(plan))


def main(argv=None) -> int:
    from kim_desktop.db import keyslots
    from kim_desktop.db.engine import open_database
    from kim_desktop.services import login, sync
    from kim_desktop.services.context import Actor, ServiceContext

    args = parse_args(argv)
    keyslots.set_kdf_parameters(time_cost=1, memory_cost=8192, parallelism=1)  # the key slot is not measured
    with tempfile.TemporaryDirectory(prefix="kim-bench-sync-") as tmp:
        url = args.url or str(Path(tmp) / "office.sqlite3")
        if args.url:
            from sqlalchemy import create_engine, text

            from kim_desktop.db.engine import resolve_location

            engine = create_engine(resolve_location(url).url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
        print(f"Office: {args.cases} cases …")
        _anna, entries, person_ids = build_office(url, args.cases)
        replica = Path(tmp) / "laptop.sqlite3"
        started = time.perf_counter()
        sync_url = own_role_url(url) if args.own_role else url
        result = sync.checkout(sync_url, replica, "anna", PASSWORD)
        checkout_s = time.perf_counter() - started
        laptop = login.open_context(replica, username="anna", password=PASSWORD)
        office = ServiceContext(open_database(url), Actor.local())
        try:
            n = change(laptop, entries, person_ids, args.changes, "unterwegs")
            started = time.perf_counter()
            pushed = sync.sync(laptop, sync_url, username="anna", password=PASSWORD)
            push_s = time.perf_counter() - started
            change(office, entries[::-1], person_ids[::-1], args.changes, "im Büro")
            started = time.perf_counter()
            pulled = sync.sync(laptop, sync_url, username="anna", password=PASSWORD)
            pull_s = time.perf_counter() - started
        finally:
            laptop.database.dispose()
            office.database.dispose()
    figures = {
        "cases": result.cases, "rows": result.rows, "changes": n, "checkout_s": round(checkout_s, 2),
        "push_s": round(push_s, 2), "pushed": pushed.pushed, "pull_s": round(pull_s, 2), "pulled": pulled.pulled,
        "conflicts": pushed.conflicts + pulled.conflicts, "own_role": args.own_role,
    }  # fmt: skip
    for key, value in figures.items():
        print(f"{key:>10}: {value}")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    scale_ok = args.cases >= 300 and args.changes >= 5000
    if scale_ok and (checkout_s > TARGET_CHECKOUT_S or max(push_s, pull_s) > TARGET_SYNC_S):
        print("Ziel verfehlt.")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
