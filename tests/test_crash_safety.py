"""Crash safety: a process writing through the services is killed (SIGKILL) at random moments, again and again.

Each user action is one transaction. After every kill the file must pass ``PRAGMA integrity_check`` and
``PRAGMA foreign_key_check``, and every write the child reported as committed (it prints the id after the
service call returned, then flushes) must be there. The kill moment is chosen by counting the child's
reports (seeded), not by timers.

The same runs on an encrypted (SQLCipher) database, whose child signs in with the password from the
environment; there the file is checked with the key, including ``PRAGMA cipher_integrity_check`` (every
page's HMAC).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kim_desktop.db.engine import connect_file, open_database

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = r"""
import os
import sys
from kim_desktop.db.engine import open_database
from kim_desktop.services import cases, journal, login, persons
from kim_desktop.services.context import Actor, ServiceContext

if os.environ.get("KIM_DB_PASSWORD"):  # encrypted: signed in with the password, as the CLI does
    ctx = login.open_context(sys.argv[1], username=os.environ.get("KIM_USER"),
                             password=os.environ["KIM_DB_PASSWORD"])
else:
    ctx = ServiceContext(open_database(sys.argv[1], create=False), Actor.local())
run = sys.argv[2]
person = persons.create_person(ctx, {"family_name": "Absturz", "given_names": "Run" + run, "birth_date": "1990"},
                               allow_duplicate=True)
print("P", person.id, flush=True)
case = cases.open_case(ctx, person.id)
print("C", case.id, flush=True)
n = 0
while True:
    n += 1
    p = persons.create_person(ctx, {"family_name": "Absturz", "given_names": f"Lauf{run}x{n}", "birth_date": "1985"},
                              allow_duplicate=True)
    print("P", p.id, flush=True)
    entry = journal.add_journal_entry(ctx, case.id, text=f"Beratung {n}", duration_min=30)
    print("J", entry, flush=True)
"""

TABLES = {"P": "person", "C": "case_file", "J": "journal_entry"}


USER, PASSWORD = "absturz", "Absturz-Passwort-1"


@pytest.fixture
def database_file(request, tmp_path):
    """A plain database (key None) or an encrypted one (its key); the child gets the password by env."""
    db = tmp_path / "kim.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("KIM_USER", "KIM_DB_PASSWORD")}
    env["KIM_DESKTOP_NO_LOG_FILE"] = "1"
    if request.param == "plain":
        open_database(db).dispose()
        return db, None, env
    from kim_desktop.db import keyslots
    from kim_desktop.services import login

    with keyslots.kdf_parameters(time_cost=1, memory_cost=8192, parallelism=1):  # cheap unwrapping
        login.create_encrypted_database(db, USER, PASSWORD).database.dispose()
    key = login.unlock_key(db, USER, PASSWORD)[0]
    return db, key, {**env, "KIM_USER": USER, "KIM_DB_PASSWORD": PASSWORD}


@pytest.mark.parametrize("database_file", ["plain", "encrypted"], indirect=True)
def test_killed_writer_never_corrupts_or_loses_committed_data(database_file):
    db, key, env = database_file
    rng = random.Random(20260701)
    committed: list[tuple[str, str]] = []
    for run in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), str(run)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        wanted = rng.randint(1, 30)
        reported = []
        try:
            for line in child.stdout:
                reported.append(line.split())
                if len(reported) >= wanted:
                    break
            child.send_signal(signal.SIGKILL)
            rest = child.stdout.read()  # reports flushed before the kill arrived
            child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL, "the child must have been killed while writing"
        reported += [line.split() for line in rest.splitlines() if line.strip()]
        assert len(reported) >= wanted
        committed += [(kind, ident) for kind, ident in reported]

        raw = connect_file(db, key=key) if key is not None else sqlite3.connect(db)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            if key is not None:  # every page's HMAC (SQLCipher): nothing half-encrypted
                assert raw.execute("PRAGMA cipher_integrity_check").fetchall() == []
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
            for kind, table in TABLES.items():
                ids = [ident for k, ident in committed if k == kind]
                present = {
                    row[0]
                    for chunk in range(0, len(ids), 500)
                    for row in raw.execute(
                        f"SELECT id FROM {table} WHERE id IN ({','.join('?' * len(ids[chunk : chunk + 500]))})",
                        ids[chunk : chunk + 500],
                    )
                }
                assert present == set(ids), f"committed {table} rows lost after kill {run}"
        finally:
            raw.close()
        if key is not None:
            assert Path(db).read_bytes()[:16] != b"SQLite format 3\x00"
    # the file still opens normally and passes the program's own check
    from kim_desktop.services.maintenance import check_database

    database = open_database(db, create=False, key=key)
    try:
        assert check_database(database) == []
    finally:
        database.dispose()
    assert sum(1 for kind, _ in committed if kind == "J") >= 10
    assert Path(db).is_file()
