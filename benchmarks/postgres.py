"""``python -m benchmarks.postgres``: person search and opening a person on the office server (PostgreSQL).

    uv run python -m benchmarks.postgres --persons 100000 --out bench-pg.json
    uv run python -m benchmarks.postgres --persons 2000          # quick check

The server comes from ``--url`` or ``KIM_BENCH_POSTGRES_URL`` / ``KIM_TEST_POSTGRES_URL`` (a role that may
create databases). The demo data goes into the database ``kim_bench_<N>`` on that server, built once with
``services.demo.generate_demo_data`` and reused while it holds at least N persons (``--rebuild`` drops it).
Then the same 300 search queries and 50 person openings as the SQLite benchmark (``benchmarks.queries``),
compared with the same targets, and the query plans of the search's statements for a few typical queries:
every statement on ``search_key`` must use its primary key (no sequential scan).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from . import TARGETS

PLAN_QUERIES = ("m", "Moh", "Mohammadi", "Mohammadi Ali", "12.03.1985", "1985", "0170 12", "KIM-2025")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.postgres", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--persons", type=int, default=100_000, metavar="N")
    parser.add_argument(
        "--url", default=None, help="server URL (default: KIM_BENCH_POSTGRES_URL, KIM_TEST_POSTGRES_URL)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--opens", type=int, default=50)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild kim_bench_<N>")
    parser.add_argument("--out", default=None, metavar="FILE.json")
    return parser.parse_args(argv)


def _server_url(args) -> str:
    from kim_desktop.db.engine import resolve_location

    url = args.url or os.environ.get("KIM_BENCH_POSTGRES_URL") or os.environ.get("KIM_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit(
            "No server: pass --url or set KIM_BENCH_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1/postgres)."
        )
    return resolve_location(url).url


def ensure_database(server_url: str, persons: int, seed: int, rebuild: bool) -> tuple[str, float | None]:
    """The URL of ``kim_bench_<N>`` with at least ``persons`` persons, and the generation time if built now."""
    from kim_desktop.db.engine import open_database
    from kim_desktop.db.models import Person
    from kim_desktop.services.context import Actor, ServiceContext
    from kim_desktop.services.demo import generate_demo_data

    name = f"kim_bench_{persons}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if exists and rebuild:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if exists:
            database = open_database(url)
            with database.read_session() as session:
                found = session.scalar(select(func.count()).select_from(Person)) or 0
            database.dispose()
            if found >= persons:
                print(f"Reusing {name} ({found:,} persons).")
                admin.dispose()
                return url, None
            print(f"{name} holds {found:,} persons (< {persons:,}): rebuilding.")
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    database = open_database(url)
    ctx = ServiceContext(database, Actor.local())
    last = {"t": 0.0}

    def progress(done: int, total: int) -> bool:
        now = time.perf_counter()
        if now - last["t"] > 5 or done == total:
            print(f"  … {done:,} / {total:,} persons")
            last["t"] = now
        return True

    print(f"Generating {persons:,} demo persons into {name} …")
    started = time.perf_counter()
    generate_demo_data(ctx, persons=persons, seed=seed, progress=progress)
    elapsed = time.perf_counter() - started
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    database.dispose()
    print(f"Generated in {elapsed:.1f} s.")
    return url, elapsed


def search_plans(url: str) -> dict[str, list[str]]:
    """``EXPLAIN`` of every statement ``search_persons`` sends for a few typical queries (top plan lines)."""
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext
    from kim_desktop.services.search import search_persons

    database = open_database(url)
    ctx = ServiceContext(database, Actor.local())
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "search_key" in statement:
            captured.append((statement, parameters))

    plans: dict[str, list[str]] = {}
    try:
        event.listen(database.engine, "before_cursor_execute", capture)
        for query in PLAN_QUERIES:
            captured.clear()
            with ctx.read() as session:
                search_persons(session, query, limit=50)
            statements = list(captured)
            lines: list[str] = []
            with database.engine.connect() as connection:
                for statement, parameters in statements:
                    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
                    lines.append(" | ".join(row[0].strip() for row in rows[:4]))
            plans[query] = lines
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
        database.dispose()
    return plans


def main(argv=None) -> int:
    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    args = parse_args(argv)
    from .__main__ import measure_search_and_open

    url, generation = ensure_database(_server_url(args), args.persons, args.seed, args.rebuild)
    results: dict = {"persons": args.persons, "server": make_url(url).render_as_string(hide_password=True)}
    if generation is not None:
        results["demo_generation_s"] = round(generation, 2)
    engine = create_engine(url)
    with engine.connect() as connection:
        results["postgresql"] = connection.execute(text("SHOW server_version")).scalar()
        results["collation"] = connection.execute(
            text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        ).scalar()
    engine.dispose()
    results.update(measure_search_and_open(url, args.queries, args.opens, args.seed))
    plans = search_plans(url)
    results["search_plans"] = plans
    seq_scans = [q for q, lines in plans.items() if any("Seq Scan on search_key" in line for line in lines)]
    results["search_seq_scans"] = seq_scans
    print()
    print(f"PostgreSQL {results['postgresql']} ({results['collation']}), {args.persons:,} persons")
    for key in ("search_p50_ms", "search_p95_ms", "person_open_ms"):
        value = results.get(key)
        limit = TARGETS.get(key, (None,))[0]
        verdict = "" if limit is None else ("OK" if value <= limit else "MISSED")
        print(f"  {key:<16} {value:>8.2f} ms   {'≤ ' + str(limit) + ' ms' if limit else ''}  {verdict}")
    print(f"  search found     {results['search_found']}")
    print(f"  sequential scans on search_key: {', '.join(seq_scans) if seq_scans else 'none'}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2, ensure_ascii=False, default=str)
        print(f"Written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
