"""Import of 10,000 rows from a CSV file into a copy of the benchmark database (target: ≤ 30 s at 100,000
persons, duplicate check included).

``import_10k_s``
    ``services.person_import.run_import(ctx, file)`` (read, map, validate, code lookup, duplicate check against
    the stored persons and within the file, one transaction for all rows, search index, import batch), wall time,
    with a progress callback as the GUI uses it. ``import_check_s`` is the part until the first row is written.

The rows are synthetic: family and given names drawn independently from the stored persons (so common names
weigh as they do in the office), birth dates, sexes, nationalities and residence statuses written as lists do
("w", "Syrien", "Gestattung", "AE § 25 Abs. 5"); 5 % are copies of stored persons (duplicates, not created) and
2 % are invalid (no family name, 31.02., a birth date in the future). The database is copied with SQLite's
backup API into a temporary folder beside it first, so the benchmark database itself stays as it was.

    uv run python -m benchmarks.person_import --db benchmarks/data/bench-100000.sqlite3
    uv run python -m benchmarks.person_import --persons 2000 --rows 1000     # quick check on a fresh demo db
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

ROWS = 10_000
HEADER = [
    "Nachname", "Vorname", "Geburtsdatum", "Geschlecht", "Staatsangehörigkeit", "Sprachen", "Straße", "PLZ", "Ort",
    "Telefon", "Aufenthaltsstatus", "Aufenthalt gültig bis", "Aktenzeichen",
]  # fmt: skip
NATIONALITIES = (
    "Syrien",
    "Afghanistan",
    "Irak",
    "ukrainisch",
    "Türkei",
    "Eritrea",
    "Iran",
    "Guinea",
    "Somalia",
)
STATUSES = ("Gestattung", "Duldung", "AE § 25 Abs. 5", "§ 24", "NE", "Aufenthaltserlaubnis", "", "EU")
LANGUAGES = (
    "Arabisch (Muttersprache)",
    "Dari, Deutsch A2",
    "Ukrainisch, Russisch",
    "Türkisch",
    "Kurdisch",
    "",
)


def make_rows(db: Path, rows: int, seed: int = 11) -> bytes:
    """The CSV file (``;``, UTF-8 with BOM, as Excel writes it) with ``rows`` data rows."""
    rng = random.Random(seed)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as raw:
        everyone = raw.execute(
            "SELECT family_name, given_names, birth_year, birth_month, birth_day FROM person "
            "WHERE deleted_at IS NULL ORDER BY id"
        ).fetchall()
    sample = rng.sample(everyone, min(20000, len(everyone)))
    families = [r[0] for r in sample if r[0]]
    givens = [r[1] for r in sample if r[1]]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(rows):
        kind = rng.random()
        if kind < 0.05 and sample:  # a person already stored
            family, given, year, month, day = rng.choice(sample)
            birth = f"{day:02d}.{month:02d}.{year}" if day else str(year or "")
        else:
            family, given = rng.choice(families), rng.choice(givens)
            birth = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1950, 2020)}"
            if rng.random() < 0.15:
                birth = str(rng.randint(1950, 2020))
        if 0.05 <= kind < 0.07:
            family, birth = rng.choice(["", family]), rng.choice(["31.02.1990", "01.01.2090"])
        writer.writerow([
            family, given, birth, rng.choice("wmwm d"), rng.choice(NATIONALITIES), rng.choice(LANGUAGES),
            f"Hauptstraße {rng.randint(1, 200)}", f"{rng.randint(40000, 59999)}", "Coesfeld",
            f"0151 {rng.randint(1000000, 9999999)}", rng.choice(STATUSES),
            f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2026, 2029)}", f"KIM-2024-{i:05d}",
        ])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def copy_database(source: Path, target: Path) -> None:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()


def measure(db: Path, rows: int = ROWS) -> dict:
    from kim_desktop.db.engine import open_database
    from kim_desktop.services import person_import
    from kim_desktop.services.context import Actor, ServiceContext

    folder = Path(tempfile.mkdtemp(prefix="kim-bench-import-", dir=db.parent))
    try:
        copy = folder / "import.sqlite3"
        print(f"Import: copying the database, writing {rows:,} rows …")
        copy_database(db, copy)
        source = folder / "personen.csv"
        source.write_bytes(make_rows(db, rows))
        database = open_database(copy)
        ctx = ServiceContext(database, Actor.local())
        marks: dict[str, float] = {}
        reports = [0]

        def progress(stage: str, done: int, total: int) -> None:
            reports[0] += 1
            if stage == "Personen speichern" and "write" not in marks:
                marks["write"] = time.perf_counter()

        try:
            started = time.perf_counter()
            result = person_import.run_import(ctx, source, progress=progress)
            total = time.perf_counter() - started
        finally:
            database.dispose()
        counts = result.counts()
        check = marks.get("write", started + total) - started
        print(f"  {total:.1f} s ({counts})")
        return {
            "import_10k_s" if rows == ROWS else f"import_{rows}_s": round(total, 2),
            "import_check_s": round(check, 2),
            "import_write_s": round(total - check, 2),
            "import_rows": rows,
            "import_counts": counts,
            "import_progress_reports": reports[0],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    import os

    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.person_import", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="benchmark database (default: a fresh demo database)"
    )
    parser.add_argument("--persons", type=int, default=2000, help="persons of the fresh demo database")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows to import (default {ROWS:,})")
    args = parser.parse_args(argv)
    if args.db is not None:
        print(measure(args.db.expanduser().resolve(), args.rows))
        return 0
    from .dataset import ensure_dataset

    folder = Path(tempfile.mkdtemp(prefix="kim-bench-import-db-"))
    try:
        db = folder / f"bench-{args.persons}.sqlite3"
        ensure_dataset(db, args.persons, seed=1, own_path=False)
        print(measure(db, args.rows))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
