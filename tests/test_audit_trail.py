"""The audit trail per person and case: access log in German words, field-level change history, confidential
journal text not shown, reading and exporting the trail audited, CSV for the data protection officer."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kim_desktop.db.models import AuditEvent
from kim_desktop.errors import UserError
from kim_desktop.services import audit_trail, cases, journal, letters, persons


@pytest.fixture
def filed(ctx):
    person = persons.create_person(
        ctx,
        {"family_name": "Kowalska", "given_names": "Maria", "sex": "f", "birth_date": "03.04.1985",
         "street": "Am Markt 1", "postcode": "48249", "city": "Dülmen"},
    )  # fmt: skip
    case = cases.open_case(ctx, person.id, consent_on=date.today())
    persons.get_person(ctx, person.id)
    persons.update_person(ctx, person.id, {"city": "Coesfeld", "postcode": "48653"})
    entry = journal.add_journal_entry(ctx, case.id, text="GEHEIM-123 Bericht", confidential=True)
    letters.make_letter(ctx, "access-report", person_id=person.id)
    return person.id, case.id, entry


def test_access_log_names_actions_in_german_with_who_and_what(ctx, filed):
    person_id, case_id, _entry = filed
    trail = audit_trail.read_trail(ctx, person_id=person_id)
    actions = {row.action_label for row in trail.access}
    assert {"gelesen", "geändert", "angelegt", "gedruckt"} <= actions
    assert all(row.user == "Einzelplatz" for row in trail.access)
    printed = next(row for row in trail.access if row.action == "print")
    assert printed.what == "Dokument „Auskunft nach Art. 15 DSGVO“"
    assert [r.at for r in trail.access] == sorted((r.at for r in trail.access), reverse=True)
    # the case's own view holds the case's events only
    case_trail = audit_trail.read_trail(ctx, case_id=case_id)
    assert case_trail.access and all(r.case_id == case_id for r in case_trail.access)


def test_change_history_shows_old_and_new_values_but_not_confidential_text(ctx, filed):
    person_id, case_id, entry = filed
    with ctx.write() as session:
        from kim_desktop.db.models import JournalEntry

        session.get(JournalEntry, entry).text = "GEHEIM-456 neu"
    changes = audit_trail.read_trail(ctx, person_id=person_id).changes
    city = next(c for c in changes if c.field == "city")
    assert (city.field_label, city.old_value, city.new_value) == ("Ort", "Dülmen", "Coesfeld")
    assert city.what == "Person" and city.user == "Einzelplatz"
    assert any(c.entity_type == "case_file" and c.operation_label == "angelegt" for c in changes)
    text_change = next(c for c in changes if c.entity_id == entry and c.field == "text")
    assert text_change.old_value == text_change.new_value == audit_trail.CONFIDENTIAL_VALUE
    assert "GEHEIM" not in repr(changes)
    case_changes = audit_trail.read_trail(ctx, case_id=case_id).changes
    assert not any(c.field == "city" for c in case_changes)
    assert any(c.entity_id == entry for c in case_changes)


def test_reading_and_exporting_the_trail_is_itself_audited(ctx, filed):
    person_id, _case_id, _entry = filed
    audit_trail.read_trail(ctx, person_id=person_id)
    data = audit_trail.export_for_dpo(ctx, person_id=person_id)
    with ctx.read() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "audit_trail")).all()
    assert [e.action for e in events] == ["read", "export"]
    assert all(e.person_id == person_id for e in events)
    assert all(set(e.detail) <= {"access", "changes", "format"} for e in events)  # counts only
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Art", "Zeitpunkt", "Benutzer/in", "Aktion"]
    assert any(r[0] == "Änderung" and r[6] == "Ort" and r[7:] == ["Dülmen", "Coesfeld"] for r in rows)
    assert any(r[0] == "Zugriff" and r[3] == "gelesen" and "Protokoll" in r[4] for r in rows)


def test_period_filter_and_bad_targets(ctx, filed):
    person_id, _case_id, _entry = filed
    tomorrow = date.today() + timedelta(days=2)
    trail = audit_trail.read_trail(ctx, person_id=person_id, since=tomorrow)
    assert trail.access == [] and trail.changes == []
    assert audit_trail.read_trail(ctx, person_id=person_id, until=date.today()).access
    with pytest.raises(UserError):
        audit_trail.read_trail(ctx)
    with pytest.raises(UserError):
        audit_trail.read_trail(ctx, person_id="x" * 36)
