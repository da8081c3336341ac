"""Consent records: validation with field errors, the scan stored with its SHA-256 and checked when opened,
states in words, a revocation effective at once (a revoked release blocks sending a referral), audit rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from kim_desktop.db.models import AuditEvent, Case, Consent, Document
from kim_desktop.errors import UserError, ValidationError
from kim_desktop.services import cases, persons
from kim_desktop.services import consents as c
from kim_desktop.services import directory as d
from kim_desktop.services import referrals as r

TODAY = date.today()
DAYS = timedelta(days=1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def world(ctx):
    person = persons.create_person(
        ctx, {"family_name": "Haidari", "given_names": "Zahra", "birth_date": "1990"}, allow_duplicate=True
    ).id
    case = cases.open_case(ctx, person, opened_on=TODAY - 50 * DAYS).id
    school = d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispielstadt e. V.", city="Dülmen"))
    course = d.save_offer(
        ctx, d.OfferData(provider_id=school, title="Integrationskurs", category="integrationskurs")
    )
    return {"person": person, "case": case, "school": school, "course": course}


def test_validation_gives_field_errors(ctx, world, tmp_path):
    text = tmp_path / "scan.txt"
    text.write_text("kein Scan", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        c.record_consent(
            ctx,
            world["person"],
            kind="release",
            given_on=TODAY + DAYS,
            form="fax",
            scan=text,
        )
    assert set(exc.value.field_errors) == {"given_on", "recipient", "form", "scan"}
    with pytest.raises(ValidationError) as exc:
        c.record_consent(
            ctx, world["person"], kind="case_management", given_on=TODAY, valid_until=TODAY - DAYS
        )
    assert set(exc.value.field_errors) == {"valid_until"}
    with pytest.raises(ValidationError) as exc:
        c.record_consent(ctx, world["person"], kind="unknown", given_on=None)
    assert set(exc.value.field_errors) == {"kind", "given_on"}
    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + b"0" * c.SCAN_MAX_BYTES)
    with pytest.raises(ValidationError) as exc:
        c.record_consent(ctx, world["person"], kind="privacy_notice", given_on=TODAY, scan=big)
    assert "10 MB" in exc.value.field_errors["scan"]
    with ctx.read() as session:
        assert session.scalar(select(Consent.id)) is None  # nothing written


def test_scan_stored_with_sha256_and_checked(ctx, world, tmp_path):
    scan = tmp_path / "einwilligung.png"
    scan.write_bytes(PNG)
    consent_id = c.record_consent(
        ctx,
        world["person"],
        kind="case_management",
        given_on=TODAY - 3 * DAYS,
        case_id=world["case"],
        scan=scan,
        scope="Beratung und Begleitung",
    )
    with ctx.read() as session:
        doc = session.scalar(select(Document).join(Consent, Consent.document_id == Document.id))
        assert (doc.kind, doc.mime_type, doc.size, doc.person_id) == ("consent_scan", "image/png", len(PNG),
                                                                      world["person"])  # fmt: skip
    assert c.open_scan(ctx, consent_id) == PNG
    with ctx.write() as session:
        session.execute(update(Document).values(content=PNG + b"x"))
    with pytest.raises(UserError, match="beschädigt"):
        c.open_scan(ctx, consent_id)
    with ctx.read() as session:
        reads = session.scalars(select(AuditEvent.detail).where(AuditEvent.entity_id == doc.id,
                                                                AuditEvent.action == "read")).all()  # fmt: skip
    assert reads == [None, {"integrity": "failed"}]


def test_states_in_words_and_audited_list(ctx, world):
    c.record_consent(ctx, world["person"], kind="privacy_notice", given_on=TODAY - 400 * DAYS)
    c.record_consent(ctx, world["person"], kind="case_management", given_on=TODAY - 400 * DAYS,
                     valid_until=TODAY - DAYS)  # fmt: skip
    c.record_consent(ctx, world["person"], kind="release", given_on=TODAY - 10 * DAYS, valid_until=TODAY + 7 * DAYS,
                     recipient_name="Ausländerbehörde Kreis Coesfeld")  # fmt: skip
    revoked = c.record_consent(ctx, world["person"], kind="release", given_on=TODAY - 20 * DAYS,
                               recipient_provider_id=world["school"])  # fmt: skip
    c.revoke_consent(ctx, revoked, TODAY)
    rows = c.list_consents(ctx, world["person"])
    by_kind = {(row.kind, row.recipient): row for row in rows}
    assert by_kind[("privacy_notice", "")].state_label == "gültig"
    assert by_kind[("case_management", "")].state_label == "abgelaufen"
    assert by_kind[("release", "Ausländerbehörde Kreis Coesfeld")].state_label == "läuft bald ab"
    assert by_kind[("release", "Bildungswerk Beispielstadt e. V.")].state_label == "widerrufen"
    assert by_kind[("release", "Bildungswerk Beispielstadt e. V.")].kind_label == "Schweigepflichtentbindung"
    assert not any(row.has_scan for row in rows)
    with ctx.read() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.detail).where(
                AuditEvent.entity_type == "consent")
        ).all()  # fmt: skip
    assert [e[0] for e in events].count("create") == 4
    assert ("update", "consent", {"revoked": True}) in events
    assert ("read", "consent", {"count": 4}) in events


def test_revoked_release_blocks_sending_a_referral(ctx, world):
    consent_id = c.record_consent(ctx, world["person"], kind="release", given_on=TODAY - 5 * DAYS,
                                  recipient_provider_id=world["school"])  # fmt: skip
    with ctx.read() as session:
        assert r.release_for(session, (world["person"], world["school"])).id == consent_id
    referral = r.create_referral(ctx, case_id=world["case"], offer_id=world["course"])
    assert c.revoke_consent(ctx, consent_id, TODAY).warning is None
    with pytest.raises(r.ConsentRequiredError) as exc:
        r.send_referral(ctx, referral, sent_via="post")
    assert exc.value.state == "revoked"
    with pytest.raises(UserError, match="bereits widerrufen"):
        c.revoke_consent(ctx, consent_id, TODAY)


def test_revoked_case_management_consent_warns_and_keeps_the_case_open(ctx, world):
    consent_id = c.record_consent(ctx, world["person"], kind="case_management", given_on=TODAY - 5 * DAYS,
                                  case_id=world["case"])  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        c.revoke_consent(ctx, consent_id, TODAY - 6 * DAYS)
    assert set(exc.value.field_errors) == {"revoked_on"}
    with pytest.raises(ValidationError):
        c.revoke_consent(ctx, consent_id, TODAY + DAYS)
    result = c.revoke_consent(ctx, consent_id, TODAY)
    assert "nur noch gespeichert" in result.warning
    assert result.open_case_ids == (world["case"],)
    with ctx.read() as session:
        assert session.get(Case, world["case"]).phase != "closed"


def test_release_with_pdf_scan_goes_through_record_release(ctx, world, tmp_path):
    scan = tmp_path / "sfe.pdf"
    scan.write_bytes(PDF)
    consent_id = c.record_consent(ctx, world["person"], kind="release", given_on=TODAY, scan=scan,
                                  recipient_provider_id=world["school"], includes_special_categories=True)  # fmt: skip
    row = c.list_consents(ctx, world["person"])[0]
    assert (row.id, row.has_scan, row.scan_mime, row.includes_special_categories) == (
        consent_id, True, "application/pdf", True)  # fmt: skip
    assert c.open_scan(ctx, consent_id) == PDF
    with ctx.read() as session:
        detail = session.scalar(select(AuditEvent.detail).where(AuditEvent.entity_id == consent_id,
                                                                AuditEvent.action == "create"))  # fmt: skip
    assert detail == {
        "kind": "release",
        "provider_id": world["school"],
    }  # recorded by referrals.record_release
