"""Encryption at rest: SQLCipher databases with per-user key slots, on real files.

What is checked: no personal data in the raw bytes of the database, its WAL, its shared memory file and the key
file; every user opens with their own password and the same line for every refusal; an administrator's password
reset and disabling an account only touch key slots (the database key stays, the file is not re-encrypted); the
growing delay after failed logins; tampered and missing key files; converting a plain database in place
(including failures half-way); the command line as a script calls it (subprocesses, one line on stderr).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kim_desktop.db import keyslots
from kim_desktop.db.engine import (
    SQLITE_HEADER,
    PasswordRequiredError,
    connect_file,
    is_encrypted_file,
    open_database,
)
from kim_desktop.db.keyslots import DamagedKeyFileError, KeyFile, keyfile_path
from kim_desktop.db.models import AuditEvent, JournalEntry, Person, UserAccount
from kim_desktop.errors import UserError
from kim_desktop.services import appointments, cases, journal, login, persons, users
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.users import AuthenticationError

pytestmark = pytest.mark.usefixtures("fast_kdf")

PROJECT = Path(__file__).resolve().parent.parent

ADMIN, ADMIN_PW = "chefin", "Sonnenblume-42!"
COUNSELLOR, COUNSELLOR_PW = "berater", "Kastanienbaum-7?"

#: Synthetic names nobody has: if one of them turns up in a file, it came from our data.
NAMES = [
    ("Zwirbelmoser", "Quendolin"),
    ("Ärpelgrütz", "Jöllefrieda"),
    ("Щербаковскаяфикт", "Евлампияфикт"),
    ("Xantharidoulou", "Pheidippos"),
]
JOURNAL_SECRET = "Wohnungsangelegenheit Fliederweg Vierzehnb"
NOTE_SECRET = "Termin wegen Quokkaversicherung"

#: The same message for an unknown user, a wrong password and a locked slot.
REFUSED = AuthenticationError().message


def _encrypted(tmp_db_path) -> ServiceContext:
    return login.create_encrypted_database(tmp_db_path, ADMIN, ADMIN_PW, display_name="Chefin Test")


def _add_counsellor(ctx) -> str:
    return users.add_user(ctx, COUNSELLOR, "Berater Test", COUNSELLOR_PW, ["case_management"]).id


def _fill(ctx) -> dict:
    """Persons, a case with journal entries and an appointment with a note, through the services."""
    ids = [
        persons.create_person(
            ctx,
            {"family_name": family, "given_names": given, "birth_date": "12.03.1988", "city": "Dülmen"},
            allow_duplicate=True,
        ).id
        for family, given in NAMES
    ]
    case = cases.open_case(ctx, ids[0], consent_on=date(2026, 1, 5))
    for n in range(3):
        journal.add_journal_entry(ctx, case.id, text=f"{JOURNAL_SECRET} {n}", duration_min=30)
    start = datetime(2026, 12, 3, 10, 0)
    appointments.create_appointment(
        ctx,
        appointments.AppointmentData(
            type="beratung",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            case_id=case.id,
            note=NOTE_SECRET,
        ),
        keep_conflicts=True,
    )
    return {"persons": ids, "case": case.id}


def _needles() -> list[bytes]:
    texts = [t for pair in NAMES for t in pair] + [JOURNAL_SECRET, NOTE_SECRET]
    texts += [t.lower() for t in texts] + [t.upper() for t in texts]
    return [t.encode(enc) for t in texts for enc in ("utf-8", "utf-16-le", "utf-16-be")]


def _companions(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm"), keyfile_path(path)]


def _found_in_files(path: Path) -> list[tuple[str, bytes]]:
    found = []
    for file in _companions(path):
        if file.exists():
            raw = file.read_bytes()
            found += [(file.name, needle) for needle in _needles() if needle in raw]
    return found


def _count(ctx, model) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- no personal data in the raw files -------------------------------------------------------------------


def test_no_name_in_the_raw_files_of_an_open_encrypted_database(tmp_db_path):
    ctx = _encrypted(tmp_db_path)
    try:
        _add_counsellor(ctx)
        _fill(ctx)
        with ctx.read() as session:  # the pool keeps the connection open: WAL and shared memory stay
            assert session.scalar(select(func.count()).select_from(Person)) == len(NAMES)
        wal = Path(f"{tmp_db_path}-wal")
        assert wal.exists() and wal.stat().st_size > 0, "the data must still be in the WAL while open"
        assert Path(f"{tmp_db_path}-shm").exists()
        assert tmp_db_path.read_bytes()[:16] != SQLITE_HEADER
        assert _found_in_files(tmp_db_path) == []
    finally:
        ctx.database.dispose()
    assert _found_in_files(tmp_db_path) == []  # after the last checkpoint too
    keys = json.loads(keyfile_path(tmp_db_path).read_text(encoding="utf-8"))
    text = json.dumps(keys)
    assert ADMIN not in text and COUNSELLOR not in text  # slots are found by a salted hash of the name


def test_the_same_data_in_a_plain_database_is_visible(tmp_db_path):
    """Control for the test above: its needles would be found if the file were not encrypted."""
    ctx = ServiceContext(open_database(tmp_db_path), Actor.local())
    try:
        _fill(ctx)
        found = {needle for _name, needle in _found_in_files(tmp_db_path)}
    finally:
        ctx.database.dispose()
    assert b"Zwirbelmoser" in found
    assert JOURNAL_SECRET.encode() in found


# --- users and their key slots ---------------------------------------------------------------------------


@pytest.fixture
def two_users(tmp_db_path):
    ctx = _encrypted(tmp_db_path)
    try:
        counsellor_id = _add_counsellor(ctx)
        _fill(ctx)
        admin_id = ctx.actor.user_id
    finally:
        ctx.database.dispose()
    return {"path": tmp_db_path, "admin": admin_id, "counsellor": counsellor_id}


def _open(path, username, password):
    return login.open_context(path, username=username, password=password)


def test_each_user_opens_with_their_own_password(two_users):
    path = two_users["path"]
    for name, password, user_id, roles in (
        (ADMIN, ADMIN_PW, two_users["admin"], {"admin", "case_management", "team_lead", "reception"}),
        (COUNSELLOR, COUNSELLOR_PW, two_users["counsellor"], {"case_management"}),
    ):
        ctx = _open(path, name, password)
        try:
            assert ctx.database.encrypted
            assert ctx.actor.user_id == user_id
            assert set(ctx.actor.roles) == roles
            assert _count(ctx, Person) == len(NAMES)
        finally:
            ctx.database.dispose()
    # the other user's password does not open one's own slot
    with pytest.raises(AuthenticationError):
        _open(path, COUNSELLOR, ADMIN_PW)
    # user names are case-insensitive, as for the accounts
    ctx = _open(path, "  Berater ", COUNSELLOR_PW)
    assert ctx.actor.user_id == two_users["counsellor"]
    ctx.database.dispose()


def test_wrong_password_and_unknown_user_give_the_same_line(two_users):
    path = two_users["path"]
    with pytest.raises(AuthenticationError) as wrong:
        _open(path, COUNSELLOR, "Falsches-Passwort-1")
    with pytest.raises(AuthenticationError) as unknown:
        _open(path, "niemand", COUNSELLOR_PW)
    assert wrong.value.message == unknown.value.message == REFUSED
    assert "Anmeldung nicht möglich" in REFUSED


def test_empty_and_missing_password(two_users):
    with pytest.raises(UserError) as empty:
        _open(two_users["path"], COUNSELLOR, "")
    assert not isinstance(empty.value, AuthenticationError)
    assert "leeres Passwort" in empty.value.message
    with pytest.raises(PasswordRequiredError) as missing:
        _open(two_users["path"], COUNSELLOR, None)
    assert "KIM_DB_PASSWORD" in missing.value.message
    # an empty password counts as no attempt: the slot's counter is untouched
    slot = KeyFile.load(keyfile_path(two_users["path"])).slot_for(COUNSELLOR)
    assert slot["failed"] == 0


def test_admin_reset_changes_only_the_slot(two_users):
    path = two_users["path"]
    key_before = login.unlock_key(path, COUNSELLOR, COUNSELLOR_PW)[0]
    first_page_before = path.read_bytes()[:1024]  # SQLCipher's salt: it changes when the file is re-keyed
    admin = _open(path, ADMIN, ADMIN_PW)
    try:
        persons_before = _count(admin, Person)
        journal_before = _count(admin, JournalEntry)
        users.reset_password(admin, two_users["counsellor"], "Neues-Passwort-99")
    finally:
        admin.database.dispose()
    with pytest.raises(AuthenticationError):
        _open(path, COUNSELLOR, COUNSELLOR_PW)
    key_after, user_id, _failures = login.unlock_key(path, COUNSELLOR, "Neues-Passwort-99")
    assert user_id == two_users["counsellor"]
    assert key_after == key_before
    assert login.unlock_key(path, ADMIN, ADMIN_PW)[0] == key_before
    assert path.read_bytes()[:16] == first_page_before[:16]
    ctx = _open(path, COUNSELLOR, "Neues-Passwort-99")
    try:
        assert _count(ctx, Person) == persons_before
        assert _count(ctx, JournalEntry) == journal_before
    finally:
        ctx.database.dispose()


def test_disabled_user_cannot_open(two_users):
    path = two_users["path"]
    admin = _open(path, ADMIN, ADMIN_PW)
    try:
        users.disable_user(admin, two_users["counsellor"])
    finally:
        admin.database.dispose()
    keys = KeyFile.load(keyfile_path(path))
    assert not keys.has_user(two_users["counsellor"])
    assert keys.has_user(two_users["admin"])
    with pytest.raises(AuthenticationError) as refused:
        _open(path, COUNSELLOR, COUNSELLOR_PW)
    assert refused.value.message == REFUSED
    # a reset of a disabled account gives it no slot back
    admin = _open(path, ADMIN, ADMIN_PW)
    try:
        users.reset_password(admin, two_users["counsellor"], "Noch-ein-Passwort-3")
    finally:
        admin.database.dispose()
    assert not KeyFile.load(keyfile_path(path)).has_user(two_users["counsellor"])


def test_account_disabled_but_slot_left_is_refused(two_users):
    """The account's state in the database is checked after the key opens it (a stale slot opens nothing)."""
    path = two_users["path"]
    key = login.unlock_key(path, ADMIN, ADMIN_PW)[0]
    database = open_database(path, create=False, key=key)
    try:
        with database.session() as session:
            session.get(UserAccount, two_users["counsellor"]).active = False
    finally:
        database.dispose()
    assert KeyFile.load(keyfile_path(path)).has_user(two_users["counsellor"])
    with pytest.raises(AuthenticationError):
        _open(path, COUNSELLOR, COUNSELLOR_PW)


def test_growing_delay_locks_the_slot(two_users):
    path = two_users["path"]
    start = datetime.now(UTC) - timedelta(hours=1)
    for attempt in range(1, 5):
        with pytest.raises(AuthenticationError):
            login.unlock_key(path, COUNSELLOR, "Falsch-Falsch-1", now=start)
        slot = KeyFile.load(keyfile_path(path)).slot_for(COUNSELLOR)
        assert slot["failed"] == attempt
        assert (slot["locked_until"] is None) == (attempt <= users.FREE_FAILURES)
    locked = keyslots.locked_until(KeyFile.load(keyfile_path(path)).slot_for(COUNSELLOR))
    assert locked == start + users.lock_duration(4)
    # while locked even the right password is refused, with the same line, and the counter does not move
    with pytest.raises(AuthenticationError) as refused:
        login.unlock_key(path, COUNSELLOR, COUNSELLOR_PW, now=start + timedelta(seconds=10))
    assert refused.value.message == REFUSED
    assert KeyFile.load(keyfile_path(path)).slot_for(COUNSELLOR)["failed"] == 4
    # the other user is not affected
    assert login.unlock_key(path, ADMIN, ADMIN_PW, now=start + timedelta(seconds=10))[1] == two_users["admin"]
    # after the lock (real time is an hour later): the login works and the failures reach the audit trail
    ctx = _open(path, COUNSELLOR, COUNSELLOR_PW)
    try:
        with ctx.read() as session:
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "login_failed", AuditEvent.user_id == two_users["counsellor"]
                )
            ).all()
        assert [e.detail["failures"] for e in events] == [4]
    finally:
        ctx.database.dispose()
    slot = KeyFile.load(keyfile_path(path)).slot_for(COUNSELLOR)
    assert slot["failed"] == 0 and slot["locked_until"] is None


def test_lock_grows_with_more_failures(two_users):
    path = two_users["path"]
    now = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            login.unlock_key(path, COUNSELLOR, "Falsch-Falsch-1", now=now)
    first = keyslots.locked_until(KeyFile.load(keyfile_path(path)).slot_for(COUNSELLOR)) - now
    later = now + first + timedelta(seconds=1)  # the lock has run out: the fifth failure locks longer
    with pytest.raises(AuthenticationError):
        login.unlock_key(path, COUNSELLOR, "Falsch-Falsch-1", now=later)
    second = keyslots.locked_until(KeyFile.load(keyfile_path(path)).slot_for(COUNSELLOR)) - later
    assert second == 2 * first
    after = later + second + timedelta(seconds=1)
    assert login.unlock_key(path, COUNSELLOR, COUNSELLOR_PW, now=after)[2] == 5


def test_verify_password_for_the_lock_screen(two_users):
    ctx = _open(two_users["path"], COUNSELLOR, COUNSELLOR_PW)
    try:
        assert login.verify_password(ctx, COUNSELLOR_PW)
        assert not login.verify_password(ctx, ADMIN_PW)
        assert not login.verify_password(ctx, "")
    finally:
        ctx.database.dispose()


# --- tampering -------------------------------------------------------------------------------------------


def test_swapped_slots_open_nothing(two_users):
    """Giving one's own slot the admin's user id (or swapping the two) must not log anybody in as the other."""
    path = two_users["path"]
    keyfile = keyfile_path(path)
    data = json.loads(keyfile.read_text(encoding="utf-8"))
    first, second = data["slots"][0], data["slots"][1]
    first["user_id"], second["user_id"] = second["user_id"], first["user_id"]
    keyfile.write_text(json.dumps(data), encoding="utf-8")
    for name, password in ((ADMIN, ADMIN_PW), (COUNSELLOR, COUNSELLOR_PW)):
        with pytest.raises(AuthenticationError):
            _open(path, name, password)


def test_slot_from_another_file_opens_nothing(two_users, tmp_path):
    """A slot copied from another office's key file (same user name and password) does not fit."""
    other = login.create_encrypted_database(tmp_path / "other" / "kim.sqlite3", ADMIN, ADMIN_PW)
    other.database.dispose()
    path = two_users["path"]
    theirs = json.loads(keyfile_path(tmp_path / "other" / "kim.sqlite3").read_text(encoding="utf-8"))
    ours = json.loads(keyfile_path(path).read_text(encoding="utf-8"))
    foreign = theirs["slots"][0]
    foreign["lookup"] = KeyFile.load(keyfile_path(path)).slot_for(ADMIN)["lookup"]
    foreign["user_id"] = two_users["admin"]
    ours["slots"] = [foreign if s["user_id"] == two_users["admin"] else s for s in ours["slots"]]
    keyfile_path(path).write_text(json.dumps(ours), encoding="utf-8")
    with pytest.raises(AuthenticationError):
        _open(path, ADMIN, ADMIN_PW)


@pytest.mark.parametrize(
    "damage",
    ["missing", "garbage", "truncated", "wrong_format", "bad_base64"],
)
def test_damaged_or_missing_key_file(two_users, damage):
    path = two_users["path"]
    keyfile = keyfile_path(path)
    text = keyfile.read_text(encoding="utf-8")
    if damage == "missing":
        keyfile.unlink()
    elif damage == "garbage":
        keyfile.write_bytes(os.urandom(300))
    elif damage == "truncated":
        keyfile.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "wrong_format":
        keyfile.write_text(json.dumps({"format": "something-else", "slots": []}), encoding="utf-8")
    else:
        data = json.loads(text)
        data["slots"][0]["salt"] = "not base64 !!"
        data["slots"][1]["salt"] = "not base64 !!"
        keyfile.write_text(json.dumps(data), encoding="utf-8")
    assert is_encrypted_file(path)  # without the key file the header still tells
    with pytest.raises(DamagedKeyFileError) as error:
        _open(path, ADMIN, ADMIN_PW)
    assert error.value.message.startswith(
        "Die Schlüsseldatei der verschlüsselten Datenbank fehlt oder ist beschädigt"
    )
    assert "\n" not in error.value.message


def test_encrypted_file_without_password_and_key_is_refused_by_open_database(two_users):
    """Opening the file as if it were plain gives a German line, never SQLCipher's or SQLite's text."""
    with pytest.raises(PasswordRequiredError):
        open_database(two_users["path"], create=False)


# --- encrypting a plain database -------------------------------------------------------------------------


def _table_counts(path: Path, key: bytes | None = None) -> dict[str, int]:
    connection = connect_file(path, key=key, readonly=key is None)
    try:
        return login._counts(connection)
    finally:
        connection.close()


@pytest.fixture
def plain_db(tmp_db_path):
    ctx = ServiceContext(open_database(tmp_db_path), Actor.local())
    try:
        _fill(ctx)
    finally:
        ctx.database.dispose()
    return tmp_db_path


def _leftovers(path: Path) -> list[str]:
    expected = {path.name, keyfile_path(path).name, f"{path.name}-wal", f"{path.name}-shm", "backups"}
    return sorted(p.name for p in path.parent.iterdir() if p.name not in expected)


def test_encrypt_a_plain_database(plain_db):
    before = _table_counts(plain_db)
    result = login.encrypt_database(plain_db, None, ADMIN_PW)
    assert result.username == "admin"  # no admin account yet: a new one with every role
    assert plain_db.read_bytes()[:16] != SQLITE_HEADER
    assert is_encrypted_file(plain_db)
    assert _leftovers(plain_db) == []  # neither the plain copy set aside nor the temporary copy
    key = login.unlock_key(plain_db, "admin", ADMIN_PW)[0]
    after = _table_counts(plain_db, key)
    assert {
        t: n
        for t, n in after.items()
        if t not in ("user_account", "user_role", "audit_event", "change_record")
    } == {
        t: n
        for t, n in before.items()
        if t not in ("user_account", "user_role", "audit_event", "change_record")
    }
    assert after["person"] == len(NAMES)
    assert result.rows == sum(after.values())
    assert _found_in_files(plain_db) == []
    ctx = _open(plain_db, "admin", ADMIN_PW)
    try:
        assert "admin" in ctx.actor.roles
        assert _count(ctx, Person) == len(NAMES)
        assert _count(ctx, JournalEntry) == 3
    finally:
        ctx.database.dispose()
    with pytest.raises(UserError) as twice:
        login.encrypt_database(plain_db, None, ADMIN_PW)
    assert twice.value.message == "Die Datenbank ist bereits verschlüsselt."


def test_encrypt_gives_the_password_to_the_named_account(plain_db):
    ctx = ServiceContext(open_database(plain_db), Actor.local())
    try:
        users.add_user(ctx, "leitung", "Leitung Test", "Vorher-Passwort-1", ["admin"])
        _add_counsellor(ctx)
    finally:
        ctx.database.dispose()
    result = login.encrypt_database(plain_db, None, ADMIN_PW)
    assert result.username == "leitung"  # the first active admin
    assert result.accounts_without_slot == 1
    assert login.unlock_key(plain_db, "leitung", ADMIN_PW)
    with pytest.raises(AuthenticationError):  # the counsellor has no slot until an admin resets the password
        login.unlock_key(plain_db, COUNSELLOR, COUNSELLOR_PW)


def _assert_still_plain(path: Path, persons_before: int) -> None:
    assert path.read_bytes()[:16] == SQLITE_HEADER
    assert not keyfile_path(path).exists()
    assert _leftovers(path) == []
    ctx = login.open_context(path)  # no password needed
    try:
        assert ctx.actor == Actor.local()
        assert _count(ctx, Person) == persons_before
    finally:
        ctx.database.dispose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.parametrize("step", ["set_aside", "move_into_place"])
def test_encrypt_failing_at_the_swap_leaves_the_plain_database(plain_db, monkeypatch, step):
    real_replace = os.replace
    calls = {"n": 0}

    def failing_replace(src, dst, *args, **kwargs):
        src, dst = Path(src), Path(dst)
        hit = (step == "set_aside" and src == plain_db) or (step == "move_into_place" and dst == plain_db)
        if hit and calls["n"] == 0:
            calls["n"] += 1
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        login.encrypt_database(plain_db, None, ADMIN_PW)
    monkeypatch.undo()
    assert calls["n"] == 1
    _assert_still_plain(plain_db, len(NAMES))


def test_encrypt_failing_verification_leaves_the_plain_database(plain_db, monkeypatch):
    real_counts = login._counts
    calls = {"n": 0}

    def counts_of_a_bad_copy(connection):
        calls["n"] += 1
        counts = real_counts(connection)
        if calls["n"] == 2:  # the encrypted copy
            counts["person"] -= 1
        return counts

    monkeypatch.setattr(login, "_counts", counts_of_a_bad_copy)
    with pytest.raises(UserError) as error:
        login.encrypt_database(plain_db, None, ADMIN_PW)
    assert "nicht bestätigt" in error.value.message
    monkeypatch.undo()
    _assert_still_plain(plain_db, len(NAMES))


def test_encrypt_failing_when_the_copy_does_not_open_leaves_the_plain_database(plain_db, monkeypatch):
    real_open = login.open_database

    def refuse_keyed(db, *args, key=None, **kwargs):
        if key is not None:
            raise UserError("kaputt")
        return real_open(db, *args, key=key, **kwargs)

    monkeypatch.setattr(login, "open_database", refuse_keyed)
    with pytest.raises(UserError):
        login.encrypt_database(plain_db, None, ADMIN_PW)
    monkeypatch.undo()
    _assert_still_plain(plain_db, len(NAMES))


def test_encrypt_refuses_a_short_or_empty_password(plain_db):
    with pytest.raises(UserError):
        login.encrypt_database(plain_db, None, "")
    with pytest.raises(UserError):
        login.encrypt_database(plain_db, None, "kurz")
    _assert_still_plain(plain_db, len(NAMES))


# --- the command line, as a script calls it ----------------------------------------------------------------

BASE_ENV = {
    k: v for k, v in os.environ.items() if k not in (login.ENV_USER, login.ENV_PASSWORD, "KIM_NEW_PASSWORD")
}
BASE_ENV.update({"KIM_DESKTOP_NO_LOG_FILE": "1", "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"})


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    env = dict(BASE_ENV)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


def run(env, *args: str, **extra_env: str):
    return subprocess.run(
        [sys.executable, "-m", "kim_desktop", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,  # no terminal: never a password prompt
        text=True,
        encoding="utf-8",
        env={**env, **extra_env},
        cwd=PROJECT,
        timeout=180,
    )


def assert_one_error_line(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Fehler:"), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_cli_encrypted_database_from_init_to_users(tmp_db_path, cli_env):
    db = str(tmp_db_path)
    made = run(cli_env, "--db", db, "init", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW)
    assert made.returncode == 0, made.stderr
    assert "Verschlüsselte Datenbank angelegt" in made.stdout
    assert tmp_db_path.read_bytes()[:16] != SQLITE_HEADER
    assert len(KeyFile.load(keyfile_path(tmp_db_path)).slots) == 1

    added = run(cli_env, "--db", db, "person", "add", "--family-name", "Zwirbelmoser", "--given-names", "Quendolin",
                "--birth-date", "1988", "--json", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW)  # fmt: skip
    assert added.returncode == 0, added.stderr

    no_password = run(cli_env, "--db", db, "search", "Zwirbelmoser")
    line = assert_one_error_line(no_password)
    assert "verschlüsselt" in line and "KIM_DB_PASSWORD" in line
    assert "Zwirbelmoser" not in no_password.stdout

    wrong = run(
        cli_env, "--db", db, "search", "Zwirbelmoser", KIM_USER=ADMIN, KIM_DB_PASSWORD="Falsches-Passwort-1"
    )
    assert REFUSED in assert_one_error_line(wrong)
    assert wrong.stdout == ""

    unknown = run(cli_env, "--db", db, "search", "Zwirbelmoser", KIM_USER="niemand", KIM_DB_PASSWORD=ADMIN_PW)
    assert assert_one_error_line(unknown) == assert_one_error_line(wrong)

    found = run(
        cli_env, "--db", db, "search", "Zwirbelmoser", "--json", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW
    )
    assert found.returncode == 0, found.stderr
    assert found.stderr == ""
    assert [hit["family_name"] for hit in json.loads(found.stdout)] == ["Zwirbelmoser"]

    # KIM_USER missing: the first user
    first = run(cli_env, "--db", db, "search", "Zwirbelmoser", KIM_DB_PASSWORD=ADMIN_PW)
    assert first.returncode == 0, first.stderr

    user = run(cli_env, "--db", db, "users", "add", COUNSELLOR, "--name", "Berater Test", "--role", "case_management",
               KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW, KIM_NEW_PASSWORD=COUNSELLOR_PW)  # fmt: skip
    assert user.returncode == 0, user.stderr
    keys = KeyFile.load(keyfile_path(tmp_db_path))
    assert len(keys.slots) == 2 and keys.slot_for(COUNSELLOR) is not None
    as_counsellor = run(
        cli_env, "--db", db, "users", "list", KIM_USER=COUNSELLOR, KIM_DB_PASSWORD=COUNSELLOR_PW
    )
    assert as_counsellor.returncode == 0, as_counsellor.stderr
    assert COUNSELLOR in as_counsellor.stdout and ADMIN in as_counsellor.stdout

    assert _found_in_files(tmp_db_path) == []


def test_cli_wrong_key_prints_nothing_from_sqlcipher(tmp_db_path, cli_env):
    """With a slot that unwraps to a wrong key SQLCipher itself would complain on stderr; we print one line."""
    ctx = _encrypted(tmp_db_path)
    ctx.database.dispose()
    keys = KeyFile.load(keyfile_path(tmp_db_path))
    slot = keys.slot_for(ADMIN)
    keys.set_slot(os.urandom(32), slot["user_id"], ADMIN, ADMIN_PW)  # the password opens a wrong key
    keys.save()
    result = run(cli_env, "--db", str(tmp_db_path), "search", "x", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW)
    line = assert_one_error_line(result)
    assert "beschädigt" in line or "nicht" in line
    assert "sqlcipher" not in result.stderr.lower()
    assert "ERROR CORE" not in result.stderr


def test_cli_encrypt_a_plain_database_and_old_scripts(plain_db, cli_env):
    db = str(plain_db)
    # an unencrypted database keeps working without any password, as scripts written earlier expect
    before = run(cli_env, "--db", db, "search", "Zwirbelmoser", "--json")
    assert before.returncode == 0, before.stderr
    assert len(json.loads(before.stdout)) == 1
    also = run(
        cli_env,
        "--db",
        db,
        "person",
        "add",
        "--family-name",
        "Neumeier",
        "--given-names",
        "Ottilie",
        "--json",
    )
    assert also.returncode == 0, also.stderr
    # a password in the environment does not matter for a plain database
    ignored = run(cli_env, "--db", db, "search", "Neumeier", KIM_DB_PASSWORD="irgendwas-beliebiges")
    assert ignored.returncode == 0, ignored.stderr

    no_password = run(cli_env, "--db", db, "encrypt")
    assert "KIM_DB_PASSWORD" in assert_one_error_line(no_password)
    assert plain_db.read_bytes()[:16] == SQLITE_HEADER

    done = run(cli_env, "--db", db, "encrypt", "--user", ADMIN, KIM_DB_PASSWORD=ADMIN_PW)
    assert done.returncode == 0, done.stderr
    assert "Datenbank verschlüsselt" in done.stdout
    assert plain_db.read_bytes()[:16] != SQLITE_HEADER

    again = run(cli_env, "--db", db, "encrypt", KIM_DB_PASSWORD=ADMIN_PW)
    assert "bereits verschlüsselt" in assert_one_error_line(again)

    old_script = run(cli_env, "--db", db, "search", "Neumeier", "--json")
    assert_one_error_line(old_script)
    with_password = run(
        cli_env, "--db", db, "search", "Neumeier", "--json", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW
    )
    assert with_password.returncode == 0, with_password.stderr
    assert len(json.loads(with_password.stdout)) == 1
    check = run(cli_env, "--db", db, "check", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW)
    assert check.returncode == 0, (check.stdout, check.stderr)
    assert _found_in_files(plain_db) == []


def test_cli_missing_key_file_is_one_line(two_users, cli_env):
    keyfile_path(two_users["path"]).unlink()
    result = run(
        cli_env, "--db", str(two_users["path"]), "search", "x", KIM_USER=ADMIN, KIM_DB_PASSWORD=ADMIN_PW
    )
    assert "Schlüsseldatei" in assert_one_error_line(result)
    without = run(cli_env, "--db", str(two_users["path"]), "search", "x")
    assert_one_error_line(without)


def test_encrypted_connections_keep_a_larger_page_cache(tmp_path):
    """SQLCipher decrypts every page it reads into its cache; the 2 MB default made the start page 3–4 times
    slower at 100,000 persons (benchmarks/README.md, Verschlüsselung)."""
    from sqlalchemy import text

    from kim_desktop.db.engine import ENCRYPTED_CACHE_KIB

    ctx = login.create_encrypted_database(tmp_path / "cache.sqlite3", "leitung", "sicheres-passwort-1")
    try:
        with ctx.database.engine.connect() as connection:
            assert connection.execute(text("PRAGMA cache_size")).scalar() == -ENCRYPTED_CACHE_KIB
    finally:
        ctx.database.dispose()
