"""Rotating log file without personal data.

Exception messages of database drivers quote SQL parameters, i.e. names and birth dates. The formatter
therefore writes exception *types and stack frames* only, never messages; log calls in the code name
identifiers and counts, never person data.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback

_configured = False


class PrivacyFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 (logging API)
        exc_type, _exc, tb = ei
        frames = "".join(traceback.format_tb(tb)) if tb else ""
        name = exc_type.__name__ if exc_type else "Exception"
        return f"Traceback (message withheld: may contain personal data)\n{frames}{name}"


def log_directory():
    from platformdirs import user_log_path

    return user_log_path("kim-desktop", appauthor=False, ensure_exists=True)


def setup_logging(level: int = logging.INFO) -> None:
    global _configured
    if _configured:
        return
    if os.environ.get("KIM_DESKTOP_NO_LOG_FILE"):
        # No file, and nothing on stderr either: with no handler at all, logging's "last resort" would print
        # warnings and tracebacks (exception messages may hold personal data) to the console. Records still
        # propagate, so test tools that capture logging see them.
        package_logger = logging.getLogger("kim_desktop")
        if not package_logger.handlers:
            package_logger.addHandler(logging.NullHandler())
        return
    _configured = True
    root = logging.getLogger("kim_desktop")
    root.setLevel(level)
    try:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_directory() / "kim-desktop.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(PrivacyFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.propagate = False
