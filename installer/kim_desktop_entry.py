"""Entry script of the PyInstaller bundle: both executables (GUI and CLI) run this file.

``kim-desktop.exe`` is built windowed on Windows (no console window on a double click); there Python's
``sys.stdout``/``sys.stderr`` are ``None``, and a subcommand that prints would fail. They are pointed at the
null device instead, so the windowed executable still runs every command (without output; use
``kim-desktop-cli.exe`` for scripts and scheduled tasks).
"""

import os
import sys

for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process

from kim_desktop.cli import main  # noqa: E402 - after the stream fix on purpose

raise SystemExit(main())
