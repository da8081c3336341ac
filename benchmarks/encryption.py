"""What encryption at rest and the audit trail cost (targets: encryption ≤ 30 %, change tracking ≤ 10 %).

    uv run python -m benchmarks.encryption                       # 100,000 persons (the shared benchmark database)
    uv run python -m benchmarks.encryption --persons 2000        # quick check
    uv run python -m benchmarks --skip-start ...                 # also part of the normal run (--skip-encryption)

**Encryption.** The foundation's read benchmarks – search p95 and person page (``measure_search_and_open``), case
page, start page and duplicate check (``casework.measure_casework``) – run on the plain benchmark database and on
an encrypted copy of it, one after the other in the same process, and are reported side by side with the ratio.
The copy is made once with the program's own conversion: SQLite's backup API copies the plain file to
``bench-N-encrypted.sqlite3`` beside it, then ``services.login.encrypt_database`` encrypts that copy in place
(account ``bench``; ``.keys`` beside it). It is cached (``benchmarks/data/`` is git-ignored) together with a
sidecar ``bench-N-encrypted.json`` that records the plain file's row counts at copy time: when the plain database
changed since (other benchmarks top it up in place), the copy is made again, so both always hold the same data.
``encrypt_s`` is the time of ``encrypt_database`` when the copy was made; ``login_s`` the time of
``login.open_context`` (Argon2id with the production parameters, key unwrapping, first keyed connection).

**Audit trail.** ``--writes W`` user actions (default 400) are done on a fresh demo database of
``--write-persons`` persons (default 2,000; writes hardly depend on the size) in a temporary folder, plain and
encrypted, as the case manager with the most cases (``casework.manager_actor``): each action is ``persons.update_person`` (the note, so search keys are rebuilt too) followed by
``journal.add_journal_entry`` for an open case – two transactions, as a counsellor's save. They run in blocks
of 25, alternately with change tracking on (as in production) and off; "off" removes the ``before_flush``
listener that ``services.audit.install_change_tracking`` put on this benchmark's own session factory – the
access log (``audit_event``) is written in both, and production code is not touched. The run checks that the
"off" blocks wrote no ``change_record`` rows and the "on" blocks did. Reported: the median time per action and
the cost of tracking in percent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: The benchmark account of the encrypted copies (synthetic).
USER = "bench"
PASSWORD = "Benchmark-Passwort-1"

#: Figures compared between the plain and the encrypted database (JSON field, label).
COMPARED = (
    ("search_p50_ms", "Search p50"),
    ("search_p95_ms", "Search p95"),
    ("person_open_ms", "Open person page (median)"),
    ("case_open_ms", "Open case page, 2,000 entries (median)"),
    ("workplace_ms", "Start page, whole office (median)"),
    ("workplace_manager_ms", "Start page, one case manager (median)"),
    ("duplicate_check_p50_ms", "Duplicate check p50"),
    ("duplicate_check_p95_ms", "Duplicate check p95"),
)
ENCRYPTION_TARGET_PCT = 30.0
AUDIT_TARGET_PCT = 10.0
BLOCK = 25


# --- the encrypted copy ----------------------------------------------------------------------------------


def encrypted_path(plain: Path) -> Path:
    return plain.with_name(f"{plain.stem}-encrypted{plain.suffix}")


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _counts(path: Path, key: bytes | None = None) -> dict[str, int]:
    from kim_desktop.db.engine import connect_file
    from kim_desktop.services.login import _counts

    connection = connect_file(path, key=key, readonly=key is None)
    try:
        return _counts(connection)
    finally:
        connection.close()


def _remove_database(path: Path) -> None:
    from kim_desktop.db.keyslots import keyfile_path

    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), keyfile_path(path), _sidecar(path)):
        candidate.unlink(missing_ok=True)


def ensure_encrypted_copy(plain: Path, *, log=print) -> dict:
    """The encrypted copy of ``plain`` (made or reused) and its key. Returns path, key and figures."""
    from kim_desktop.db.keyslots import keyfile_path
    from kim_desktop.services import login

    target = encrypted_path(plain)
    source_counts = _counts(plain)
    if target.exists() and keyfile_path(target).exists() and _sidecar(target).exists():
        try:
            recorded = json.loads(_sidecar(target).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = {}
        if recorded.get("source_counts") == source_counts:
            log(f"Reusing the encrypted copy {target}.")
            key = login.unlock_key(target, USER, PASSWORD)[0]
            return {"path": target, "key": key, "encrypt_s": recorded.get("encrypt_s"), "reused": True}
        log(f"{target} was made from an older state of {plain.name}: making it again.")
    _remove_database(target)
    log(f"Encrypted copy: backup API copy of {plain.name}, then login.encrypt_database …")
    started = time.perf_counter()
    source = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    copied = time.perf_counter() - started
    started = time.perf_counter()
    login.encrypt_database(target, USER, PASSWORD, display_name="Benchmark")
    encrypt_s = time.perf_counter() - started
    key = login.unlock_key(target, USER, PASSWORD)[0]
    _sidecar(target).write_text(
        json.dumps({"source": str(plain), "source_counts": source_counts, "copy_s": round(copied, 2),
                    "encrypt_s": round(encrypt_s, 2), "created": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2),
        encoding="utf-8",
    )  # fmt: skip
    log(f"  copied in {copied:.1f} s, encrypted in {encrypt_s:.1f} s.")
    return {"path": target, "key": key, "encrypt_s": round(encrypt_s, 2), "reused": False}


def _login_seconds(path: Path) -> float:
    from kim_desktop.services import login

    started = time.perf_counter()
    ctx = login.open_context(path, username=USER, password=PASSWORD)
    elapsed = time.perf_counter() - started
    ctx.database.dispose()
    return elapsed


# --- reads: plain vs encrypted ---------------------------------------------------------------------------


def _reads(db: Path, key: bytes | None, *, queries: int, opens: int, casework: bool, log) -> dict:
    from .__main__ import measure_search_and_open

    result = measure_search_and_open(db, queries, opens, seed=2024, key=key)
    if casework:
        from .casework import measure_casework

        result.update(measure_casework(db, key=key, log=log))
    return result


def compare(plain: dict, encrypted: dict) -> dict:
    rows = {}
    for field, label in COMPARED:
        a, b = plain.get(field), encrypted.get(field)
        if a is None or b is None:
            continue
        rows[field] = {
            "label": label,
            "plain": a,
            "encrypted": b,
            "ratio": round(b / a, 3) if a else None,
            "cost_pct": round((b / a - 1) * 100, 1) if a else None,
        }
    return rows


# --- writes: change tracking on vs off --------------------------------------------------------------------


def _tracking(database, on: bool) -> None:
    from sqlalchemy import event

    from kim_desktop.services import audit

    if on:
        audit.install_change_tracking(database.session_factory)
    elif event.contains(database.session_factory, "before_flush", audit._before_flush):
        event.remove(database.session_factory, "before_flush", audit._before_flush)


def _write_targets(ctx, wanted: int) -> list[tuple[str, str]]:
    """(person id, case id) of the acting case manager's open cases whose person may be changed (not
    restricted under Art. 18)."""
    from sqlalchemy import select

    from kim_desktop.db.models import Case, Person

    with ctx.read() as session:
        rows = session.execute(
            select(Case.person_id, Case.id)
            .join(Person, Person.id == Case.person_id)
            .where(
                Case.case_manager_id == ctx.actor.user_id,
                Case.deleted_at.is_(None),
                Case.phase != "closed",
                Person.deleted_at.is_(None),
                Person.restricted_at.is_(None),
                Person.merged_into_id.is_(None),
            )
            .order_by(Case.id)
            .limit(wanted)
        ).all()
    return [(r[0], r[1]) for r in rows]


def _change_records(ctx) -> int:
    from sqlalchemy import func, select

    from kim_desktop.db.models import ChangeRecord

    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(ChangeRecord))


def measure_writes(ctx, writes: int) -> dict:
    """``writes`` actions in alternating blocks with tracking on and off; per-action times in ms."""
    from kim_desktop.services import journal, persons

    targets = _write_targets(ctx, max(BLOCK, 200))
    if not targets:
        raise SystemExit("no open case to write to")
    times: dict[bool, list[float]] = {True: [], False: []}
    rows: dict[bool, int] = {True: 0, False: 0}
    n = 0

    def action() -> None:
        nonlocal n
        person_id, case_id = targets[n % len(targets)]
        n += 1
        persons.update_person(ctx, person_id, {"note": f"Rückruf vereinbart ({n})"})
        journal.add_journal_entry(
            ctx, case_id, text=f"Telefonat: Unterlagen besprochen, nächster Schritt {n}."
        )

    for _ in range(5):  # warm-up with tracking on (compiled statements, caches)
        action()
    blocks = max(2, writes // BLOCK)
    for block in range(blocks):
        on = block % 2 == 0
        _tracking(ctx.database, on)
        before = _change_records(ctx)
        for _ in range(BLOCK):
            started = time.perf_counter()
            action()
            times[on].append((time.perf_counter() - started) * 1000)
        rows[on] += _change_records(ctx) - before
    _tracking(ctx.database, True)
    if rows[False] != 0 or rows[True] == 0:
        raise SystemExit(f"change tracking on/off did not work as intended (rows written: {rows})")
    on_ms, off_ms = statistics.median(times[True]), statistics.median(times[False])
    return {
        "actions": len(times[True]) + len(times[False]),
        "on_ms": round(on_ms, 2),
        "off_ms": round(off_ms, 2),
        "on_mean_ms": round(statistics.fmean(times[True]), 2),
        "off_mean_ms": round(statistics.fmean(times[False]), 2),
        "cost_pct": round((on_ms / off_ms - 1) * 100, 1),
        "change_records_per_action": round(rows[True] / len(times[True]), 1),
    }


def measure_audit_writes(persons: int, writes: int, *, log=print) -> dict:
    from kim_desktop.db.engine import open_database
    from kim_desktop.services import login
    from kim_desktop.services.context import Actor, ServiceContext
    from kim_desktop.services.demo import generate_demo_data

    from .casework import manager_actor

    folder = Path(tempfile.mkdtemp(prefix="kim-bench-audit-"))
    try:
        plain = folder / "writes.sqlite3"
        log(f"Audit trail: fresh demo database with {persons:,} persons in {folder} …")
        ctx = ServiceContext(open_database(plain), Actor.local())
        generate_demo_data(ctx, persons=persons, seed=7)
        ctx.database.dispose()
        encrypted = folder / "writes-encrypted.sqlite3"
        shutil.copyfile(plain, encrypted)
        login.encrypt_database(encrypted, USER, PASSWORD)
        result: dict = {"write_persons": persons}
        for label, path in (("plain", plain), ("encrypted", encrypted)):
            log(f"Audit trail: {writes} actions (update person + journal entry) on the {label} database, "
                f"blocks of {BLOCK} with change tracking on/off …")  # fmt: skip
            signed_in = login.open_context(path, username=USER, password=PASSWORD)
            try:
                # as the case manager with the most cases (the services check case visibility per user)
                with signed_in.read() as session:
                    actor, _cases = manager_actor(session)
                result[label] = measure_writes(ServiceContext(signed_in.database, actor), writes)
            finally:
                signed_in.database.dispose()
        result["encryption_write_cost_pct"] = round(
            (result["encrypted"]["on_ms"] / result["plain"]["on_ms"] - 1) * 100, 1
        )
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- all together ----------------------------------------------------------------------------------------


def measure(
    db: Path,
    *,
    queries: int = 300,
    opens: int = 50,
    casework: bool = True,
    writes: int = 400,
    write_persons: int = 2000,
    log=print,
) -> dict:
    copy = ensure_encrypted_copy(db, log=log)
    log("Encryption: reads on the plain database …")
    plain = _reads(db, None, queries=queries, opens=opens, casework=casework, log=log)
    log("Encryption: the same reads on the encrypted copy …")
    encrypted = _reads(copy["path"], copy["key"], queries=queries, opens=opens, casework=casework, log=log)
    rows = compare(plain, encrypted)
    costs = [r["cost_pct"] for r in rows.values() if r["cost_pct"] is not None]
    audit = measure_audit_writes(write_persons, writes, log=log) if writes else None
    result = {
        "encryption_compared": rows,
        "encryption_cost_max_pct": max(costs) if costs else None,
        "encryption_copy": str(copy["path"]),
        "encrypt_s": copy["encrypt_s"],
        "encrypted_login_s": round(_login_seconds(copy["path"]), 3),
        "plain_mb": round(db.stat().st_size / 1024 / 1024, 1),
        "encrypted_mb": round(copy["path"].stat().st_size / 1024 / 1024, 1),
    }
    if audit is not None:
        result["audit_writes"] = audit
        result["audit_cost_pct"] = audit["plain"]["cost_pct"]
        result["audit_cost_encrypted_pct"] = audit["encrypted"]["cost_pct"]
    return result


def print_encryption(results: dict) -> None:
    rows = results["encryption_compared"]
    print("\nEncryption at rest (SQLCipher 4) – plain vs encrypted copy, same data:")
    header = ("Measure", "Plain", "Encrypted", "Ratio", "Cost", "Target")
    table = [header] + [
        (r["label"], f"{r['plain']:.2f} ms", f"{r['encrypted']:.2f} ms", f"{r['ratio']:.2f} ×",
         f"{r['cost_pct']:+.1f} %", "OK" if r["cost_pct"] <= ENCRYPTION_TARGET_PCT else "MISSED")
        for r in rows.values()
    ]  # fmt: skip
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for index, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(f"encrypt_database of the copy: {results['encrypt_s']} s; login (Argon2id + first keyed connection): "
          f"{results['encrypted_login_s']} s; file {results['plain_mb']} MB plain, {results['encrypted_mb']} MB "
          "encrypted")  # fmt: skip
    audit = results.get("audit_writes")
    if audit:
        print(f"\nAudit trail ({audit['plain']['actions']} actions: update person + journal entry; "
              f"{audit['write_persons']:,}-person database):")  # fmt: skip
        for label in ("plain", "encrypted"):
            a = audit[label]
            verdict = "OK" if a["cost_pct"] <= AUDIT_TARGET_PCT else "MISSED"
            print(f"  {label:<9} tracking on {a['on_ms']:.2f} ms, off {a['off_ms']:.2f} ms per action (median) → "
                  f"{a['cost_pct']:+.1f} % (target ≤ {AUDIT_TARGET_PCT:g} %: {verdict}); "
                  f"{a['change_records_per_action']} change records per action")  # fmt: skip
        print(
            f"  writes on the encrypted database (tracking on): {audit['encryption_write_cost_pct']:+.1f} %"
        )


def main(argv=None) -> int:
    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.encryption", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--persons", type=int, default=100_000, metavar="N")
    parser.add_argument(
        "--db", type=Path, default=None, help="plain database (default benchmarks/data/bench-N.sqlite3)"
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--opens", type=int, default=50)
    parser.add_argument("--skip-casework", action="store_true", help="only search and person page")
    parser.add_argument("--writes", type=int, default=400, help="audit-trail actions (0: skip)")
    parser.add_argument("--write-persons", type=int, default=2000, help="persons of the write database")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.json")
    args = parser.parse_args(argv)
    from .dataset import default_path, ensure_dataset

    own_path = args.db is None
    db = (args.db or default_path(args.persons)).expanduser().resolve()
    dataset = ensure_dataset(db, args.persons, own_path=own_path)
    results = {"db": str(db), "persons": dataset.persons}
    results.update(
        measure(db, queries=args.queries, opens=args.opens, casework=not args.skip_casework, writes=args.writes,
                write_persons=args.write_persons)
    )  # fmt: skip
    print_encryption(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"\nResults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
