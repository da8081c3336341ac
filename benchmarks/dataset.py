"""The benchmark database: built once per size with the demo generator, reused afterwards.

Next to ``bench-{N}.sqlite3`` a sidecar ``bench-{N}.json`` records how long the generation took, so a later
run that reuses the database can still report the figure.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def default_path(persons: int) -> Path:
    return DATA_DIR / f"bench-{persons}.sqlite3"


def sidecar_path(db: Path) -> Path:
    return db.with_suffix(".json")


@dataclass
class Dataset:
    path: Path
    persons: int
    generation_s: float | None
    reused: bool
    summary: dict | None = None


def count_persons(path: Path) -> int | None:
    """Persons in an existing KIM database (read-only; ``None`` if it is not one)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return connection.execute("SELECT count(*) FROM person").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.unlink()
    if sidecar_path(path).exists():
        sidecar_path(path).unlink()


def ensure_dataset(path: Path, persons: int, *, seed: int = 1, own_path: bool, log=print) -> Dataset:
    """Reuse ``path`` if it holds at least ``persons`` persons, otherwise build it from scratch.

    A file that is too small is only replaced when it is the benchmark's own (``own_path``); any other file is
    left alone.
    """
    path = Path(path)
    if path.exists():
        found = count_persons(path)
        if found is not None and found >= persons:
            recorded = None
            if sidecar_path(path).exists():
                try:
                    recorded = json.loads(sidecar_path(path).read_text(encoding="utf-8")).get(
                        "demo_generation_s"
                    )
                except (OSError, ValueError):
                    recorded = None
            log(f"Reusing {path} ({found:,} persons).")
            return Dataset(path, found, recorded, True)
        if not own_path:
            raise SystemExit(
                f"{path} exists but holds {found if found is not None else 'no readable'} persons (< {persons}); "
                "choose another --db path (it will not be overwritten)."
            )
        log(f"{path} holds {found} persons (< {persons}): rebuilding.")
        _remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext
    from kim_desktop.services.demo import generate_demo_data

    database = open_database(path)
    ctx = ServiceContext(database, Actor.local())
    last = {"t": 0.0}

    def progress(done: int, total: int) -> bool:
        now = time.perf_counter()
        if now - last["t"] > 5 or done == total:
            log(f"  … {done:,} / {total:,} persons")
            last["t"] = now
        return True

    log(f"Generating {persons:,} demo persons into {path} …")
    started = time.perf_counter()
    summary = generate_demo_data(ctx, persons=persons, seed=seed, progress=progress)
    elapsed = time.perf_counter() - started
    database.dispose()
    sidecar_path(path).write_text(
        json.dumps(
            {"persons": persons, "seed": seed, "demo_generation_s": round(elapsed, 2), "summary": summary,
             "created": time.strftime("%Y-%m-%d %H:%M:%S")},
            indent=2,
        ),
        encoding="utf-8",
    )  # fmt: skip
    log(f"Generated in {elapsed:.1f} s.")
    return Dataset(path, persons, elapsed, False, summary)
