"""Benchmarks for KIM Desktop at realistic size: ``python -m benchmarks [--persons N] [--out FILE.json] [--db PATH]``.

Outside the test suite on purpose (see ARCHITECTURE.md: speed is measured here, not asserted in tests).
Measures demo generation, GUI start (``--exit-after-start``) against a bare Qt window, peak memory of the
GUI process, person search latency, opening a person, the case-journey targets (case page with 2,000
journal entries, start page, duplicate check at intake) and letters (one invitation, 500 invitations of a day,
LibreOffice as the yardstick), the calendar and referrals with the directory of offers; compares the figures
with the targets below.
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
    "case_open_ms": (150.0, "ms", "Open case page, 2,000 entries (median)"),
    "workplace_ms": (300.0, "ms", "Start page, whole office (median)"),
    "workplace_manager_ms": (300.0, "ms", "Start page, one case manager (median)"),
    "duplicate_check_p95_ms": (50.0, "ms", "Duplicate check p95"),
    "letter_ms": (50.0, "ms", "One letter, warm (median)"),
    "letter_p95_ms": (50.0, "ms", "One letter, warm (p95)"),
    "bulk_letters_s": (5.0, "s", "500 invitations of a day"),
    "calendar_week_p95_ms": (100.0, "ms", "Week view, one case manager (p95)"),
    "calendar_week_view_p95_ms": (100.0, "ms", "Week view widget incl. paint (p95)"),
    "conflict_check_p95_ms": (20.0, "ms", "Conflict check (p95)"),
    "calendar_team_month_ms": (300.0, "ms", "Month, whole team: data (median of 12 months)"),
    "calendar_team_month_view_ms": (300.0, "ms", "Month view widget, whole team (median)"),
    "directory_search_p95_ms": (30.0, "ms", "Directory search, 2,000 offers (p95)"),
    "case_referrals_p95_ms": (30.0, "ms", "A case's referrals, 100,000 referrals (p95)"),
    "overdue_referrals_ms": (100.0, "ms", "My overdue referrals, busiest case manager (median)"),
    "backup_s": (15.0, "s", "Backup incl. verification, 100,000 persons"),
    "import_10k_s": (30.0, "s", "Import 10,000 rows incl. duplicate check"),
    "statistics_year_s": (2.0, "s", "Statistics, one year, whole office (median)"),
    "encryption_cost_max_pct": (30.0, "%", "Encryption: highest extra cost of the read measures"),
    "audit_cost_pct": (10.0, "%", "Change tracking: extra cost per write action"),
}
#: Targets a measure must reach or exceed (value >= limit), same layout as ``TARGETS``.
MIN_TARGETS = {
    "bulk_letters_per_s": (100.0, "/s", "Invitations per second"),
    "libreoffice_ratio": (4.0, "×", "Letters/s vs LibreOffice"),
}
#: Demo generation target applies to this many persons.
GENERATION_TARGET_PERSONS = 100_000
