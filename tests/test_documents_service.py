"""Archived documents: listed per person and per case without content, opened with a SHA-256 check, audited."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from kim_desktop.db.base import utcnow
from kim_desktop.db.models import AuditEvent, Case, Document, UserAccount
from kim_desktop.errors import NotFoundError, UserError
from kim_desktop.services import cases, documents, letters, persons
from kim_desktop.services.context import Actor, ServiceContext


@pytest.fixture
def client(ctx):
    person = persons.create_person(
        ctx,
        {"family_name": "Kowalska", "given_names": "Zofia", "sex": "f", "street": "Markt 3", "postcode": "48653",
         "city": "Coesfeld"},
    )  # fmt: skip
    case = cases.open_case(ctx, person.id, consent_on=date.today())
    return person.id, case.id


def audit_events(ctx, **where) -> list[AuditEvent]:
    with ctx.read() as session:
        stmt = select(AuditEvent)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(stmt.order_by(AuditEvent.id)))


def test_lists_person_and_case_documents_newest_first(ctx, client):
    person_id, case_id = client
    privacy = letters.make_letter(ctx, "privacy", person_id=person_id)
    plan = letters.make_letter(ctx, "plan", case_id=case_id)
    letters.make_letter(ctx, "consent", person_id=person_id, archive=False)  # a preview: not archived

    for_person = documents.list_documents(ctx, person_id=person_id)
    assert [d.id for d in for_person] == [plan.document_id, privacy.document_id]
    for_case = documents.list_documents(ctx, case_id=case_id)
    assert [d.id for d in for_case] == [plan.document_id]

    info = for_case[0]
    assert info.title == plan.title and info.kind == "plan" and info.template_key == "plan"
    assert info.template_version is not None and info.template_version >= 1
    assert info.author == "Einzelplatz"  # made at the single workstation (no user account yet)
    assert info.size == len(plan.pdf) and info.sha256 == hashlib.sha256(plan.pdf).hexdigest()
    assert info.created_at.tzinfo is not None and info.created_at.utcoffset() == UTC.utcoffset(None)
    assert info.person_id == person_id and info.case_id == case_id
    assert not hasattr(info, "content")


def test_listing_is_logged_as_a_read(ctx, client):
    person_id, case_id = client
    letters.make_letter(ctx, "privacy", person_id=person_id)
    documents.list_documents(ctx, case_id=case_id)
    events = audit_events(ctx, action="read", entity_type="document_list")
    assert len(events) == 1
    assert events[0].case_id == case_id and events[0].person_id == person_id  # the case's person, for the log
    assert events[0].detail == {"count": 0}


def test_the_author_is_the_user_who_made_the_letter(ctx, client):
    person_id, case_id = client
    with ctx.write() as session:
        account = UserAccount(username="abeyer", display_name="Anna Beyer")
        session.add(account)
        session.flush()
        account_id = account.id
        session.get(Case, case_id).case_manager_id = account_id  # her case: she may write to the person
    counsellor = ServiceContext(ctx.database, Actor(account_id, "Anna Beyer", frozenset({"case_management"})))
    letters.make_letter(counsellor, "certificate", person_id=person_id)
    [info] = documents.list_documents(ctx, person_id=person_id)
    assert info.author == "Anna Beyer"


def test_open_returns_the_archived_pdf_and_logs_the_read(ctx, client):
    person_id, case_id = client
    made = letters.make_letter(ctx, "closing", case_id=case_id)
    info, pdf = documents.open_document(ctx, made.document_id)
    assert pdf == made.pdf and info.id == made.document_id
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1
    [event] = audit_events(ctx, action="read", entity_type="document")
    assert event.entity_id == made.document_id and event.person_id == person_id and event.case_id == case_id
    assert event.detail is None


def test_a_damaged_archive_is_refused_in_german(ctx, client):
    person_id, _case_id = client
    made = letters.make_letter(ctx, "privacy", person_id=person_id)
    middle = len(made.pdf) // 2
    tampered = (
        made.pdf[:middle] + bytes([made.pdf[middle] ^ 0x01]) + made.pdf[middle + 1 :]
    )  # one flipped bit
    with ctx.write() as session:
        session.execute(update(Document).where(Document.id == made.document_id).values(content=tampered))
    with pytest.raises(UserError, match="beschädigt") as caught:
        documents.open_document(ctx, made.document_id)
    assert made.title in caught.value.message and "Kowalsk" not in caught.value.message
    [event] = audit_events(ctx, action="read", entity_type="document")
    assert event.detail == {"integrity": "failed"}  # the attempt is in the access log


def test_missing_content_or_checksum_counts_as_damaged(ctx, client):
    person_id, _case_id = client
    made = letters.make_letter(ctx, "privacy", person_id=person_id)
    with ctx.write() as session:
        session.execute(update(Document).where(Document.id == made.document_id).values(content=None))
    with pytest.raises(UserError, match="beschädigt"):
        documents.open_document(ctx, made.document_id)


def test_unknown_and_deleted_documents_are_not_found(ctx, client):
    person_id, _case_id = client
    made = letters.make_letter(ctx, "privacy", person_id=person_id)
    with pytest.raises(NotFoundError):
        documents.open_document(ctx, "no-such-document")
    with ctx.write() as session:
        session.execute(update(Document).where(Document.id == made.document_id).values(deleted_at=utcnow()))
    with pytest.raises(NotFoundError):
        documents.open_document(ctx, made.document_id)
    assert documents.list_documents(ctx, person_id=person_id) == []


def test_list_needs_a_person_or_a_case(ctx):
    with pytest.raises(UserError, match="Person oder einen Fall"):
        documents.list_documents(ctx)


def test_copies_that_leave_the_program_are_logged(ctx, client):
    person_id, _case_id = client
    made = letters.make_letter(ctx, "privacy", person_id=person_id)
    documents.record_output(ctx, made.document_id, "print")
    documents.record_output(ctx, made.document_id, "export")
    copies = [e for e in audit_events(ctx, entity_id=made.document_id) if e.detail == {"copy": True}]
    assert sorted(e.action for e in copies) == ["export", "print"]
    assert all(e.person_id == person_id for e in copies)
    with pytest.raises(ValueError):
        documents.record_output(ctx, made.document_id, "mail")
