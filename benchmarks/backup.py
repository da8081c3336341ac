"""Backup of the benchmark database (target: ≤ 15 s for 100,000 persons, verification included).

``backup_s``
    ``services.backup.make_backup(db, target)``: online backup API copy into a temporary file, ``quick_check``,
    row counts of every table compared with the source, SHA-256, sidecar, atomic rename. One run (the file is
    about 1.2 GB; a second run would mostly measure the page cache).
``backup_verify_s``
    ``services.backup.verify_backup(target)`` afterwards (what ``kim-desktop backup --verify`` does).

The backup goes into a temporary folder beside the database (same disk, as in the office) and is deleted after.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path


def measure(db: Path) -> dict:
    from kim_desktop.services.backup import make_backup, verify_backup

    folder = Path(tempfile.mkdtemp(prefix="kim-bench-backup-", dir=db.parent))
    try:
        print("Backup: make_backup (copy + verification) …")
        started = time.perf_counter()
        info = make_backup(db, folder / "bench-backup.sqlite3")
        made = time.perf_counter() - started
        started = time.perf_counter()
        verify_backup(info.path)
        verified = time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "backup_s": round(made, 2),
        "backup_verify_s": round(verified, 2),
        "backup_mb": round(info.size_bytes / 1024 / 1024, 1),
    }
