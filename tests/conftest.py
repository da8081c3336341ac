"""Generic fixtures shared by all test modules: a fresh SQLite file and a service context on it.

Keep this file generic; fixtures that only one module needs belong in that module. Also here: cheap key slots
(``fast_kdf``) and fresh databases on the PostgreSQL test server (``pg_database``).
"""

from __future__ import annotations

import os

# Before anything imports kim_desktop or Qt: no log file in the user's profile, Qt without a display.
os.environ["KIM_DESKTOP_NO_LOG_FILE"] = "1"
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402


@pytest.fixture
def tmp_db_path(tmp_path):
    """Path of a not yet existing SQLite database file in the test's temporary directory."""
    return tmp_path / "kim.sqlite3"


@pytest.fixture
def ctx(tmp_db_path):
    """A ``ServiceContext`` (local single user) on a freshly created and migrated SQLite file."""
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(tmp_db_path)
    context = ServiceContext(database, Actor.local())
    yield context
    database.dispose()


#: Argon2id parameters that make key slots cheap in tests (the real ones cost 64 MiB and a noticeable time).
CHEAP_KDF = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}


@pytest.fixture
def fast_kdf():
    """New key slots with a cheap Argon2id (a stored slot keeps its parameters, so unwrapping is cheap too)."""
    from kim_desktop.db import keyslots

    with keyslots.kdf_parameters(**CHEAP_KDF):
        yield


@pytest.fixture(scope="module")
def pg_database():
    """A factory of fresh, empty databases on the test server (``KIM_TEST_POSTGRES_URL``), dropped after the
    module. Skipped locally without the variable; in CI (``CI`` set) a missing server fails."""
    url = os.environ.get("KIM_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("KIM_TEST_POSTGRES_URL ist nicht gesetzt: in CI müssen die PostgreSQL-Tests laufen.")
        pytest.skip("KIM_TEST_POSTGRES_URL not set (PostgreSQL tests run in CI)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from kim_desktop.db.engine import resolve_location

    admin = create_engine(
        resolve_location(url).url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    created = []

    def fresh() -> str:
        name = f"kim_sync_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(resolve_location(url).url).set(database=name).render_as_string(hide_password=False)

    yield fresh
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
