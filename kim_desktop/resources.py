"""Where the shipped resources (code lists, fonts, translations, templates) are found.

Works from a source checkout (``resources/`` beside the package), from an installed wheel
(``kim_desktop/_resources``) and from a PyInstaller bundle (``sys._MEIPASS/resources``).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def resources_root() -> Path:
    candidates = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "resources")
    package_dir = Path(__file__).resolve().parent
    candidates += [package_dir / "_resources", package_dir.parent / "resources"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("resources directory not found")


def resource_path(name: str) -> Path:
    return resources_root() / name
