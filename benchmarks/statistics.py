"""Statistics target: one year's statistics (every indicator) on the benchmark database in ≤ 2 s.

``statistics_year_s``
    ``services.statistics.compute(ctx, first, last)`` for the 365 days ending today, whole office
    (``Actor.local()``): median of 5 runs after one warm-up. Also reported: the same for the case manager with the
    most cases (``statistics_manager_s``, own caseload through the permission clause), the slowest indicator of
    the last office run, and the time to write the PDF report (``statistics_pdf_s``, not a target).

    uv run python -m benchmarks.statistics --db /tmp/x.sqlite3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path


def _median_run(fn, runs: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def measure(db: Path, log=print, runs: int = 5) -> dict:
    from sqlalchemy import func, select

    from kim_desktop.db.engine import open_database
    from kim_desktop.db.models import Case
    from kim_desktop.reports import statistics_report
    from kim_desktop.services import statistics as stats
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(db)
    try:
        ctx = ServiceContext(database, Actor.local())
        last = date.today()
        first = last - timedelta(days=364)
        log(
            f"Statistics: {first:%d.%m.%Y}–{last:%d.%m.%Y}, {len(stats.indicators())} indicators, {runs} runs …"
        )
        office_s, office_max = _median_run(lambda: stats.compute(ctx, first, last), runs)
        result = stats.compute(ctx, first, last)
        slowest = {}
        with ctx.read() as session:
            scope = stats.Scope(first, last, ctx.actor, dialect=session.get_bind().dialect.name)
            queries = {name: source for name, source in stats.SOURCES.items()}
            queries.update(
                {i.id: i.query for i in stats.indicators() if not isinstance(i.query, stats.Derived)}
            )
            for name, query in queries.items():  # shared sources and stand-alone indicator queries
                started = time.perf_counter()
                session.execute(query(scope)).all()
                slowest[name] = round((time.perf_counter() - started) * 1000, 1)
            manager = session.scalar(
                select(Case.case_manager_id)
                .where(Case.case_manager_id.is_not(None))
                .group_by(Case.case_manager_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        out = {
            "statistics_year_s": round(office_s, 3),
            "statistics_year_max_s": round(office_max, 3),
            "statistics_indicators": len(result.indicators),
            "statistics_cases_active": result.indicator("cases_active").rows[0].value,
            "statistics_slowest_ms": dict(sorted(slowest.items(), key=lambda kv: -kv[1])[:5]),
        }
        if manager:
            mctx = ServiceContext(database, Actor(manager, "Benchmark", frozenset({"case_management"})))
            manager_s, _max = _median_run(lambda: stats.compute(mctx, first, last), runs)
            out["statistics_manager_s"] = round(manager_s, 3)
        started = time.perf_counter()
        statistics_report.to_pdf(result)
        out["statistics_pdf_s"] = round(time.perf_counter() - started, 3)
    finally:
        database.dispose()
    return out


def print_statistics(results: dict) -> None:
    slowest = ", ".join(f"{k} {v} ms" for k, v in results["statistics_slowest_ms"].items())
    print(f"\nstatistics: one year, {results['statistics_indicators']} indicators, median "
          f"{results['statistics_year_s']} s (max {results['statistics_year_max_s']} s), one case manager "
          f"{results.get('statistics_manager_s', '–')} s, PDF {results['statistics_pdf_s']} s; slowest: {slowest}")  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.statistics")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results = measure(args.db, runs=args.runs)
    print_statistics(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
