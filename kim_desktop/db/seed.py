"""Reference data seeded from ``resources/codelists``: code lists are rows, so offices can edit them.

Seeding is idempotent: entries already present (by list and code) are left exactly as the office edited
them; only missing entries are added.
"""

from __future__ import annotations

import csv

from sqlalchemy import select

from ..resources import resource_path
from .models import CodeEntry, Setting

CODE_LISTS = (
    "residence_status",
    "life_area",
    "closure_reason",
    "access_channel",
    "contact_type",
    "appointment_type",
    "offer_category",
    "finding_category",
    "referral_outcome",
)

DEFAULT_SETTINGS = {
    "file_number_pattern": "KIM-{Jahr}-{Nr:04}",
    "retention_years": 3,
    "letter_form": "B",
    "small_count_threshold": 5,
    "office_profile": {},
}


def read_code_list(list_name: str) -> list[dict[str, str]]:
    path = resource_path(f"codelists/{list_name}.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def seed_reference_data(session) -> int:
    """Add missing code-list entries and default settings; returns the number of rows added."""
    existing = {(row[0], row[1]) for row in session.execute(select(CodeEntry.list_name, CodeEntry.code))}
    added = 0
    for list_name in CODE_LISTS:
        for order, row in enumerate(read_code_list(list_name)):
            if (list_name, row["code"]) in existing:
                continue
            session.add(
                CodeEntry(
                    list_name=list_name,
                    code=row["code"],
                    label_de=row["label_de"],
                    label_en=row["label_en"],
                    sort_order=order * 10,
                    time_limited=row.get("time_limited") == "1",
                )
            )
            added += 1
    present = set(session.scalars(select(Setting.key)))
    for key, value in DEFAULT_SETTINGS.items():
        if key not in present:
            session.add(Setting(key=key, value=value))
            added += 1
    return added
