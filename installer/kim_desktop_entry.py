"""Entry script of the PyInstaller bundle: both executables (GUI and CLI) run this file.

``kim-desktop.exe`` is built windowed on Windows (no console window on a double click); there Python's
``sys.stdout``/``sys.stderr`` are ``None``, and a subcommand that prints would fail. They are pointed at the
null device instead, so the windowed executable still runs every command (without output; use
``kim-desktop-cli.exe`` for scripts and scheduled tasks). Output into a pipe or file is UTF-8 on Windows.
"""

import os
import sys

for _name in ("stdout", "stderr"):
    _stream = getattr(sys, _name)
    if _stream is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
    elif sys.platform == "win32" and not _stream.isatty():
        # A pipe or file on Windows gets the ANSI code page (cp1252), which cannot hold names like "Lý Thị
        # Hương": the output of a command piped into a script would end in UnicodeEncodeError. UTF-8 instead
        # (a console keeps Python's own Unicode console output).
        _stream.reconfigure(encoding="utf-8")

from kim_desktop.cli import main  # noqa: E402 - after the stream fix on purpose

raise SystemExit(main())
