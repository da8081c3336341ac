"""``python -m benchmarks``: build or reuse a demo database, measure, print a table, write JSON.

    uv run python -m benchmarks --persons 100000 --out bench.json
    uv run python -m benchmarks --persons 2000 --db /tmp/small.sqlite3 --skip-start

See benchmarks/README.md for the figures on the reference machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from . import GENERATION_TARGET_PERSONS, MIN_TARGETS, TARGETS
from .dataset import default_path, ensure_dataset

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000, metavar="N", help="persons in the database")
    parser.add_argument(
        "--db", type=Path, default=None, help="database file (default benchmarks/data/bench-N.sqlite3)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="FILE.json", help="write the results as JSON"
    )
    parser.add_argument("--seed", type=int, default=1, help="demo data seed (default 1)")
    parser.add_argument(
        "--runs", type=int, default=5, help="measured start runs after one warm-up (default 5)"
    )
    parser.add_argument("--queries", type=int, default=300, help="search queries (default 300, at least 200)")
    parser.add_argument("--opens", type=int, default=50, help="persons to open (default 50)")
    parser.add_argument("--skip-start", action="store_true", help="do not measure the GUI start")
    parser.add_argument(
        "--skip-casework",
        action="store_true",
        help="do not measure the case page, the start page and the duplicate check",
    )
    parser.add_argument(
        "--skip-calendar",
        action="store_true",
        help="do not measure the calendar (tops up to 400,000 appointments)",
    )
    parser.add_argument(
        "--skip-letters", action="store_true", help="do not measure letters (single, 500, LibreOffice)"
    )
    parser.add_argument(
        "--skip-referrals",
        action="store_true",
        help="do not measure referrals and the directory (tops up to 100,000 referrals and 2,000 offers)",
    )
    parser.add_argument(
        "--skip-backup", action="store_true", help="do not measure the backup (copies the database once)"
    )
    parser.add_argument(
        "--skip-import",
        action="store_true",
        help="do not measure the import of 10,000 rows (into a database copy)",
    )
    parser.add_argument(
        "--skip-statistics", action="store_true", help="do not measure the statistics (one year)"
    )
    parser.add_argument(
        "--skip-encryption",
        action="store_true",
        help="do not compare with an encrypted copy nor measure the audit trail's write cost",
    )
    parser.add_argument(
        "--skip-libreoffice",
        action="store_true",
        help="letters without the LibreOffice comparison (saves ~20 s)",
    )
    return parser.parse_args(argv)


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        import sqlite3

        import PySide6
        import sqlalchemy

        info.update(
            sqlite=sqlite3.sqlite_version, sqlalchemy=sqlalchemy.__version__, pyside6=PySide6.__version__
        )
    except ImportError:
        pass
    return info


def measure_search_and_open(db: Path, queries: int, opens: int, seed: int, key: bytes | None = None) -> dict:
    from sqlalchemy import select

    from kim_desktop.db.engine import open_database
    from kim_desktop.db.models import Person
    from kim_desktop.services import persons as person_service
    from kim_desktop.services.context import Actor, ServiceContext

    from .queries import _sample, build_queries, time_search

    database = open_database(db, key=key)  # key: an encrypted copy (benchmarks/encryption.py)
    ctx = ServiceContext(database, Actor.local())
    result: dict = {}
    try:
        with ctx.read() as session:
            query_list = build_queries(session, total=max(200, queries), seed=seed)
            warmup = build_queries(session, total=20, seed=seed + 1)
            print(f"Search: {len(query_list)} queries (one session, {len(warmup)} warm-up queries first) …")
            timing = time_search(session, query_list, warmup)
        result.update(
            search_p50_ms=round(timing.p50_ms, 2),
            search_p95_ms=round(timing.p95_ms, 2),
            search_max_ms=round(timing.max_ms, 2),
            search_queries=timing.count,
            search_found=f"{timing.found}/{timing.with_target}",
            search_by_kind=timing.by_kind,
            search_slowest=timing.slowest,
        )
        import random

        with ctx.read() as session:
            ids = [
                p.id
                for p in _sample(session, Person, opens, random.Random(seed + 2), Person.deleted_at.is_(None))
            ]
            if not ids:
                ids = list(session.scalars(select(Person.id).limit(opens)))
        print(f"Person page: opening {len(ids)} persons with services.persons.get_person …")
        person_service.get_person(ctx, ids[0])  # warm-up (imports, compiled statements)
        times = []
        for person_id in ids:
            started = time.perf_counter()
            person_service.get_person(ctx, person_id)
            times.append((time.perf_counter() - started) * 1000)
        result.update(
            person_open_ms=round(statistics.median(times), 2), person_open_max_ms=round(max(times), 2)
        )
    finally:
        database.dispose()
    return result


def measure_start(db: Path, runs: int) -> dict:
    """Start time and peak RSS, measured by a small helper process (see benchmarks/startup.py for why)."""
    import subprocess

    helper = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.startup",
            "--db",
            str(db),
            "--runs",
            str(runs),
            "--cwd",
            str(REPO),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if helper.returncode != 0:
        return {
            "start_s": None,
            "start_ratio": None,
            "rss_mb": None,
            "start_error": f"helper failed ({helper.returncode})",
        }
    data = json.loads(helper.stdout.strip().splitlines()[-1])
    bare, gui = data["bare"], data["gui"]
    out: dict = {
        "bare_s": _round(bare["median_s"]),
        "bare_runs": bare["runs"],
        "bare_rss_mb": _round(bare["rss_mb"], 1),
        "start_s": _round(gui["median_s"]),
        "start_runs": gui["runs"],
        "rss_mb": _round(gui["rss_mb"], 1),
    }
    out["start_ratio"] = (
        _round(gui["median_s"] / bare["median_s"], 2) if gui["median_s"] and bare["median_s"] else None
    )
    if gui["error"] or bare["error"]:
        out["start_error"] = gui["error"] or bare["error"]
        print(f"  failed: {out['start_error']}")
    return out


def _round(value, digits: int = 3):
    return None if value is None else round(value, digits)


def targets_table(results: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for key, (limit, unit, label) in TARGETS.items():
        value = results.get(key)
        if key == "demo_generation_s" and results.get("persons") != GENERATION_TARGET_PERSONS:
            verdict = f"n/a ({results.get('persons'):,} persons)"
        elif value is None:
            verdict = "not measured"
        else:
            verdict = "OK" if value <= limit else "MISSED"
        shown = "–" if value is None else f"{value:.2f} {unit}" if unit != "×" else f"{value:.2f} ×"
        rows.append((label, shown, f"≤ {limit:g} {unit}", verdict))
    for key, (limit, unit, label) in MIN_TARGETS.items():
        value = results.get(key)
        verdict = "not measured" if value is None else "OK" if value >= limit else "MISSED"
        shown = "–" if value is None else f"{value:.2f} {unit}"
        rows.append((label, shown, f"≥ {limit:g} {unit}", verdict))
    return rows


def print_table(rows) -> None:
    header = ("Measure", "Value", "Target", "Result")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print()


def print_casework(results: dict) -> None:
    if "case_open_ms" in results:
        breakdown = ", ".join(f"{k} {v:.1f}" for k, v in results["case_services_breakdown_ms"].items())
        print(f"\ncase page ({results['case_journal_total']:,} entries, {results['case_journal_shown']} shown): "
              f"load() {results['case_open_ms']} ms (max {results['case_open_max_ms']}), "
              f"with paint {results['case_open_painted_ms']} ms, first open {results['case_page_first_ms']} ms; "
              f"services {results['case_services_ms']} ms, all calls of load() {results['case_services_all_ms']} ms "
              f"({breakdown} ms)")  # fmt: skip
    for key, label in (("workplace_office", "whole office"), ("workplace_manager", "case manager")):
        if key in results:
            w = results[key]
            print(f"start page, {label}: refresh() {w['ms']} ms (max {w['max_ms']}), first {w['first_ms']} ms, "
                  f"services {w['services_ms']} ms, {w['reminders']} reminders {w['reminders_by_kind']}")  # fmt: skip
    print(
        f"duplicate check p50 {results['duplicate_check_p50_ms']} ms, max {results['duplicate_check_max_ms']} ms"
    )
    for kind, f in results["duplicate_by_kind"].items():
        extra = f"found {f['found']}/{f['n']}" if "found" in f else f"flagged {f['flagged']}/{f['n']}"
        print(f"  {kind:<10} n={f['n']:<3} p50 {f['p50_ms']:>7.2f} ms  p95 {f['p95_ms']:>7.2f} ms"
              f"  max {f['max_ms']:>7.2f} ms  {extra}")  # fmt: skip


def main(argv=None) -> int:
    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    args = parse_args(argv)
    own_path = args.db is None
    db = (args.db or default_path(args.persons)).expanduser().resolve()
    dataset = ensure_dataset(db, args.persons, seed=args.seed, own_path=own_path)
    results: dict = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "db": str(db),
        "persons": dataset.persons,
        "demo_generation_s": _round(dataset.generation_s, 2),
        "demo_reused": dataset.reused,
    }
    if dataset.summary:
        results["demo_summary"] = dataset.summary
    results.update(measure_search_and_open(db, args.queries, args.opens, seed=2024))
    if not args.skip_start:
        results.update(measure_start(db, args.runs))
    if not args.skip_casework:
        from .casework import measure_casework

        results.update(measure_casework(db))
    if not args.skip_letters:
        from .letters import measure_letters

        results.update(measure_letters(db, libreoffice=not args.skip_libreoffice))
    if not args.skip_calendar:
        from .calendar import measure as measure_calendar

        results.update(measure_calendar(db))
    if not args.skip_referrals:
        from .referrals import measure as measure_referrals

        results.update(measure_referrals(db))
    if not args.skip_backup:
        from .backup import measure as measure_backup

        results.update(measure_backup(db))
    if not args.skip_statistics:
        from .statistics import measure as measure_statistics

        results.update(measure_statistics(db))
    if not args.skip_encryption:
        from .encryption import measure as measure_encryption

        results.update(
            measure_encryption(db, queries=args.queries, opens=args.opens, casework=not args.skip_casework)
        )
    if not args.skip_import:
        from .person_import import measure as measure_import

        results.update(measure_import(db))
    rows = targets_table(results)
    print_table(rows)
    print(f"search p50 {results['search_p50_ms']} ms, max {results['search_max_ms']} ms; "
          f"queries that found their person: {results['search_found']}")  # fmt: skip
    for kind, figures in results["search_by_kind"].items():
        print(f"  {kind:<12} n={figures['n']:<3} p50 {figures['p50_ms']:>7.2f} ms  p95 {figures['p95_ms']:>7.2f} ms"
              f"  max {figures['max_ms']:>7.2f} ms")  # fmt: skip
    if "duplicate_check_p95_ms" in results:
        print_casework(results)
    if "letter_ms" in results:
        from .letters import print_letters

        print()
        print_letters(results)
    if "calendar_week_ms" in results:
        print(
            f"\ncalendar: {results['appointments']:,} appointments, {results['case_managers']} case managers; "
            f"week of one case manager p95 {results['calendar_week_p95_ms']} ms "
            f"(~{results['calendar_week_items']} items), conflict check p95 {results['conflict_check_p95_ms']} ms "
            f"({results['conflict_checks_with_conflict']}/200 found one), team month max "
            f"{results['calendar_team_month_max_ms']} ms (~{results['calendar_team_month_items']} items)"
        )
        if "calendar_week_view_ms" in results:
            print(
                f"  week view widget (load + layout + paint) median {results['calendar_week_view_ms']} ms, "
                f"p95 {results['calendar_week_view_p95_ms']} ms; team month view median "
                f"{results['calendar_team_month_view_ms']} ms, max {results['calendar_team_month_view_max_ms']} ms"
            )
    if "directory_search_ms" in results:
        from .referrals import print_referrals

        print_referrals(results)
    if "statistics_year_s" in results:
        from .statistics import print_statistics

        print_statistics(results)
    if "encryption_compared" in results:
        from .encryption import print_encryption

        print_encryption(results)
    results["targets"] = [dict(zip(("measure", "value", "target", "result"), r, strict=True)) for r in rows]
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"\nResults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
