"""Benchmarks for KIM Desktop at realistic size: ``python -m benchmarks [--persons N] [--out FILE.json] [--db PATH]``.

Outside the test suite on purpose (see ARCHITECTURE.md: speed is measured here, not asserted in tests).
Measures demo generation, GUI start (``--exit-after-start``) against a bare Qt window, peak memory of the
GUI process, person search latency and opening a person; compares the figures with the targets below.
"""

from __future__ import annotations

#: name → (JSON field, limit, unit, description). A measure passes when value <= limit.
TARGETS = {
    "start_ratio": (3.0, "×", "Start / bare Qt window"),
    "start_s": (1.0, "s", "Start to first list page"),
    "search_p95_ms": (20.0, "ms", "Search p95"),
    "person_open_ms": (50.0, "ms", "Open person page (median)"),
    "rss_mb": (300.0, "MB", "Peak RSS of the GUI"),
    "demo_generation_s": (180.0, "s", "Demo generation (100,000 persons)"),
}
#: Demo generation target applies to this many persons.
GENERATION_TARGET_PERSONS = 100_000
