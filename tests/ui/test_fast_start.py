"""The fast start (decision record 004): on an existing, current SQLite file the first page of the person
list is on screen before SQLAlchemy has been imported. A stray top-level import (once: the office-server
login check importing ``sqlalchemy.engine.make_url`` for every start) made the start four times slower."""

from __future__ import annotations

import os
import subprocess
import sys

from kim_desktop.db.engine import open_database

PROBE = """
import sys
from kim_desktop.cli import main
code = main(["--db", sys.argv[1], "--exit-after-start"])
print("SQLALCHEMY" if "sqlalchemy" in sys.modules else "NO-SQLALCHEMY", code)
"""


def test_first_page_without_sqlalchemy(tmp_path):
    db = tmp_path / "kim.sqlite3"
    open_database(db).dispose()  # a current schema: the quick path applies
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KIM_DESKTOP_NO_LOG_FILE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(db)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["NO-SQLALCHEMY", "0"], result.stdout + result.stderr
