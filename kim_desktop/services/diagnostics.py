""" "Problem melden": a report for the support without personal data. No Qt.

The report holds the program and system versions, the kind of database (plain, encrypted, server), its schema
revision, the number of rows per table and the last lines of the log. The log should hold no personal data in
the first place (``logging_setup``); ``scrub`` removes anything that still looks like it – e-mail addresses,
phone numbers, dates (other than the time stamp a log line starts with), quoted values, words that look like
names – and shortens file paths to their file name (a path may contain the Windows user name). The database
location is not part of the report for the same reason.
"""

from __future__ import annotations

import logging
import platform
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from .. import __version__
from ..i18n import _

log = logging.getLogger(__name__)

LOG_LINES = 200

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:,\d+)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DATE = re.compile(r"\b(?:\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\b")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d /()-]{5,}\d\b")
_PATH = re.compile(r"""(?:[A-Za-z]:)?(?:[\\/][^\\/\s"',:]+)+[\\/]([^\\/\s"',:]+)""")
_QUOTED = re.compile(r"""(["'])(?:(?!\1).){1,200}?\1""")
#: A word with one capital at the start and letters after it: a name, unless the log uses it as a word.
_NAME_LIKE = re.compile(r"\b[A-ZÄÖÜÀ-ÞĀ-ſ][a-zäöüßà-ÿ'’-]+\b|\b[^\W\d_]*[^\x00-\x7f][^\W\d_]*\b")
_LOG_WORDS = frozenset(
    [
        "Traceback",
        "File",
        "None",
        "True",
        "False",
        "Error",
        "Exception",
        "Warning",
        "Info",
        "Debug",
        "Qt",
        "Python",
        "SQLite",
        "SQLCipher",
        "PostgreSQL",
        "Alembic",
        "Windows",
        "Linux",
        "Darwin",
        "Argon",
    ]
)


def _keep_file_name(match: re.Match) -> str:
    return "…/" + match.group(1)


def _quoted(match: re.Match) -> str:
    inner = match.group(0)[1:-1]
    return match.group(0) if inner.startswith("…/") else match.group(1) + "…" + match.group(1)


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """``text`` without what looks like personal data (see the module docstring); ``names``: known words to
    remove in addition (e.g. the names of the persons in the database, for a check)."""
    lines = []
    extra = [
        re.escape(n) for n in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    ]
    extra_pattern = re.compile("|".join(extra), re.IGNORECASE) if extra else None
    for line in text.splitlines():
        stamp = _TIMESTAMP.match(line)
        head, rest = (line[: stamp.end()], line[stamp.end() :]) if stamp else ("", line)
        rest = _EMAIL.sub("<e-mail>", rest)
        rest = _PATH.sub(_keep_file_name, rest)
        rest = _QUOTED.sub(_quoted, rest)
        rest = _DATE.sub("<datum>", rest)
        rest = _PHONE.sub("<nummer>", rest)
        if extra_pattern is not None:
            rest = extra_pattern.sub("<name>", rest)
        rest = _NAME_LIKE.sub(lambda m: m.group(0) if m.group(0) in _LOG_WORDS else "<name>", rest)
        lines.append(head + rest)
    return "\n".join(lines)


def log_file() -> Path | None:
    """The file the rotating log handler writes (None when logging goes nowhere, e.g. in tests)."""
    for handler in logging.getLogger("kim_desktop").handlers:
        name = getattr(handler, "baseFilename", None)
        if name:
            return Path(name)
    return None


def last_log_lines(path: Path | None, count: int = LOG_LINES) -> list[str]:
    if path is None or not path.is_file():
        return []
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    return lines[-count:]


def database_summary(ctx) -> dict:
    """Kind, schema revision and rows per table of the open database (no location, no contents)."""
    from sqlalchemy import text

    from ..db.base import Base
    from ..db.migrate import current_revision

    database = ctx.database
    kind = "server" if not database.is_sqlite else ("encrypted" if database.encrypted else "plain")
    counts: dict[str, int | str] = {}
    with database.engine.connect() as connection:
        revision = current_revision(connection)
        for table in Base.metadata.sorted_tables:
            try:
                counts[table.name] = connection.execute(
                    text(f'SELECT count(*) FROM "{table.name}"')
                ).scalar_one()
            except Exception as exc:  # noqa: BLE001 - a missing table is a finding, not a failure
                connection.rollback()
                counts[table.name] = type(exc).__name__
    return {"kind": kind, "revision": revision, "counts": counts}


def build_report(
    ctx=None,
    *,
    ui_versions: dict[str, str] | None = None,
    log_path: Path | None = None,
    extra_names: Iterable[str] = (),
) -> str:
    """The whole report as plain text (German headings), ready to copy or save."""
    lines = [
        _("KIM Desktop – Problembericht (ohne personenbezogene Daten)"),
        "",
        f"KIM Desktop: {__version__}",
        f"{_('Betriebssystem')}: {platform.system()} {platform.release()} ({platform.machine()})",
        f"Python: {sys.version.split()[0]}",
    ]
    for name, version in (ui_versions or {}).items():
        lines.append(f"{name}: {version}")
    lines.append("")
    if ctx is not None:
        try:
            summary = database_summary(ctx)
        except Exception as exc:  # noqa: BLE001 - the report must still come out
            log.warning("problem report: database summary failed: %s", type(exc).__name__)
            summary = None
        if summary is not None:
            kinds = {
                "plain": _("Einzelplatz, unverschlüsselt"),
                "encrypted": _("Einzelplatz, verschlüsselt"),
                "server": _("Büro-Server"),
            }
            lines.append(f"{_('Datenbank')}: {kinds[summary['kind']]}")
            lines.append(f"{_('Schema-Version')}: {summary['revision'] or '–'}")
            lines.append(_("Zeilen je Tabelle:"))
            lines += [f"  {name}: {count}" for name, count in summary["counts"].items()]
    else:
        lines.append(_("Datenbank: nicht geöffnet"))
    lines.append("")
    path = log_path if log_path is not None else log_file()
    log_lines = last_log_lines(path)
    lines.append(_("Letzte Zeilen des Protokolls ({n}):").format(n=len(log_lines)))
    lines.append(scrub("\n".join(log_lines), extra_names) if log_lines else _("(kein Protokoll vorhanden)"))
    return "\n".join(lines) + "\n"
