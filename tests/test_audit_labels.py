"""Every action and object type the code writes into the audit trail has a German label, so the data
protection officer never reads raw identifiers like 'import_undo' in the dialog or the CSV export."""

from __future__ import annotations

import re
from pathlib import Path

from kim_desktop.services import audit_trail

SOURCE = Path(__file__).resolve().parents[1] / "kim_desktop"
CALL = re.compile(r'audit\.record\(\s*\w+,\s*"([a-z_]+)"(.{0,300}?)\)', re.S)


def _recorded() -> tuple[set[str], set[str]]:
    actions, entities = set(), set()
    for path in SOURCE.rglob("*.py"):
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            actions.add(match.group(1))
            entity = re.search(r'entity_type="([a-z_]+)"', match.group(2))
            if entity:
                entities.add(entity.group(1))
    return actions, entities


def test_every_recorded_action_and_entity_has_a_label():
    actions, entities = _recorded()
    assert len(actions) >= 15 and len(entities) >= 15  # the scan finds the calls
    assert actions - set(audit_trail.action_labels()) == set()
    assert entities - set(audit_trail.entity_labels()) == set()
