"""Permissions through the real services of the calendar, referral and administration group.

Real user accounts (``users.add_user``) with the four roles on a real SQLite file; every check goes through
the service function a GUI dialog or a CLI command calls, never through ``permissions.require`` directly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from kim_desktop.db.models import Person
from kim_desktop.services import appointments as ap
from kim_desktop.services import (
    backup,
    cases,
    consents,
    ical,
    office,
    office_hours,
    persons,
    retention,
    users,
)
from kim_desktop.services import directory as d
from kim_desktop.services import referrals as r
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError

PASSWORD = "Sicheres-Passwort-2026"
MONDAY = datetime(2026, 12, 7, 10, 0)  # a normal working day in the future


@pytest.fixture
def office_world(ctx):
    """Users of every role (Anna and the team lead in team Nord, Ben in team Süd), a client in Anna's case and
    one in Ben's case, a provider with an offer, a referral and a consent in each case, a located room."""
    team_north, _created = users.resolve_team(ctx, "Team Nord", create=True)
    team_south, _created = users.resolve_team(ctx, "Team Süd", create=True)
    accounts = {
        "anna": (["case_management"], team_north),
        "ben": (["case_management"], team_south),
        "lead": (["team_lead"], team_north),
        "empfang": (["reception"], None),
        "admin": (["admin"], None),
    }
    contexts = {}
    for username, (roles, team) in accounts.items():
        view = users.add_user(ctx, username, username.title(), PASSWORD, roles, team_id=team)
        contexts[username] = ServiceContext(ctx.database, Actor(view.id, view.display_name, frozenset(roles)))
    world = {name: c for name, c in contexts.items()}
    world["ids"] = ids = {name: c.actor.user_id for name, c in contexts.items()}

    def client(family: str, manager: str) -> tuple[str, str]:
        person = persons.create_person(
            ctx,
            {"family_name": family, "given_names": "Test", "sex": "f", "city": "Dülmen"},
            allow_duplicate=True,
        )
        case = cases.open_case(ctx, person.id, case_manager_id=ids[manager], consent_on=date(2026, 1, 5))
        return person.id, case.id

    ids["person_a"], ids["case_a"] = client("Haidari", "anna")
    ids["person_b"], ids["case_b"] = client("Nowak", "ben")
    provider = d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispiel e. V.", city="Dülmen"))
    ids["provider"] = provider
    ids["offer"] = d.save_offer(
        ctx, d.OfferData(provider_id=provider, title="Integrationskurs", category="integrationskurs")
    )
    ids["referral_a"] = r.create_referral(ctx, case_id=ids["case_a"], offer_id=ids["offer"])
    ids["referral_b"] = r.create_referral(ctx, case_id=ids["case_b"], offer_id=ids["offer"])
    ids["consent_b"] = consents.record_consent(
        ctx, ids["person_b"], kind="privacy_notice", given_on=date(2026, 1, 5)
    )
    ids["room"] = office_hours.save_location(ctx, {"name": "Raum 1", "kind": "office"})
    world["local"] = ctx
    return world


def booking(world, start: datetime, **overrides) -> ap.AppointmentData:
    ids = world["ids"]
    values = dict(
        type="beratung", starts_at=start, ends_at=start + timedelta(hours=1), case_id=ids["case_a"],
        case_manager_id=ids["anna"], location_id=ids["room"],
    )  # fmt: skip
    values.update(overrides)
    return ap.AppointmentData(**values)


# --- reception: the calendar, nothing of the case -----------------------------------------------------------


def test_reception_books_and_moves_but_never_sees_the_note(office_world):
    reception, anna, ben = office_world["empfang"], office_world["anna"], office_world["ben"]
    appointment = ap.create_appointment(anna, booking(office_world, MONDAY, note="Spricht über Schulden"))

    # Reception books a second appointment and moves the first one.
    other = ap.create_appointment(reception, booking(office_world, MONDAY + timedelta(days=1)))
    ap.move_appointment(reception, appointment, MONDAY + timedelta(hours=3))
    with reception.read() as session:
        items = ap.calendar(session, MONDAY.date(), MONDAY.date() + timedelta(days=1))
        assert {i.id for i in items} == {appointment, other}
        moved = next(i for i in items if i.id == appointment)
        assert moved.starts_at.hour == 13
        assert moved.person_names == ("Haidari, Test",)  # names and times: what reception needs
        assert ap.data_of(session, appointment).note is None  # case content stays hidden

    # The case manager of the case reads the note; another case manager does not.
    with anna.read() as session:
        assert ap.data_of(session, appointment).note == "Spricht über Schulden"
    with ben.read() as session:
        assert ap.data_of(session, appointment).note is None

    # Reception edits the appointment from what it saw (note None): the stored note survives.
    with reception.read() as session:
        seen = ap.data_of(session, appointment)
    seen.title = "Termin verlegt"
    ap.update_appointment(reception, appointment, seen, expected_version=seen.version)
    with anna.read() as session:
        stored = ap.data_of(session, appointment)
    assert (stored.title, stored.note) == ("Termin verlegt", "Spricht über Schulden")
    assert ap.set_status(reception, appointment, "confirmed") is None
    assert ical.export_range(reception, MONDAY.date(), MONDAY.date()).count == 1


def test_reception_is_denied_referrals_consents_and_retention(office_world):
    reception, ids = office_world["empfang"], office_world["ids"]
    with pytest.raises(PermissionDeniedError) as denied:
        r.create_referral(reception, case_id=ids["case_a"], offer_id=ids["offer"])
    assert denied.value.action == "referral.write"
    assert "Vermittlungen" in denied.value.message and "Haidari" not in denied.value.message
    with pytest.raises(PermissionDeniedError):
        r.send_referral(reception, ids["referral_a"], sent_via="post", override_reason="x" * 40)
    with pytest.raises(PermissionDeniedError) as denied:
        consents.record_consent(reception, ids["person_a"], kind="privacy_notice", given_on=date(2026, 2, 1))
    assert denied.value.action == "consent.write"
    with pytest.raises(PermissionDeniedError):
        r.record_release(reception, person_id=ids["person_a"], provider_id=ids["provider"])
    with pytest.raises(PermissionDeniedError):
        consents.list_consents(reception, ids["person_b"])
    with pytest.raises(PermissionDeniedError) as denied:
        retention.preview(reception)
    assert denied.value.action == "retention.run"
    with pytest.raises(PermissionDeniedError):
        retention.apply(reception)
    with pytest.raises(PermissionDeniedError):
        retention.erase_on_request(reception, ids["person_a"], reason_code=retention.ART17_REASONS[0])
    with reception.read() as session, pytest.raises(PermissionDeniedError):
        r.case_referrals(session, ids["case_a"])
    # Nothing was written by the denied calls.
    with office_world["local"].read() as session:
        assert len(r.case_referrals(session, ids["case_a"])) == 1
        assert len(consents.consents_of(session, ids["person_a"])) == 1  # the intake's consent only


def test_directory_is_readable_by_everyone_and_written_with_directory_write(office_world):
    reception, admin, ids = office_world["empfang"], office_world["admin"], office_world["ids"]
    with reception.read() as session:
        assert [p.name for p in d.providers(session)] == ["Bildungswerk Beispiel e. V."]
        assert d.offer_detail(session, ids["offer"]).referral_count == 2  # a count, no names
    with pytest.raises(PermissionDeniedError) as denied:
        d.save_provider(reception, d.ProviderData(name="Neuer Träger"))
    assert denied.value.action == "directory.write"
    with pytest.raises(PermissionDeniedError):
        d.import_directory(reception, b"", "csv")
    assert d.save_provider(admin, d.ProviderData(name="Neuer Träger", city="Coesfeld"))


# --- administration: backups and settings, no case content --------------------------------------------------


def test_admin_backs_up_and_changes_settings_but_reads_no_referrals(office_world, tmp_path):
    admin, anna, ids = office_world["admin"], office_world["anna"], office_world["ids"]
    info = backup.make_backup(admin, tmp_path / "sicherung.sqlite3")
    assert backup.verify_backup(info.path, actor=admin.actor).row_counts["referral"] == 2
    office.save_profile(admin, {"organisation": "Kommunales Integrationszentrum Beispielkreis"})
    assert office.set_letter_form(admin, "A") == "A"
    with admin.read() as session:
        assert office.load_profile(session)["organisation"] == "Kommunales Integrationszentrum Beispielkreis"
        with pytest.raises(PermissionDeniedError) as denied:
            r.case_referrals(session, ids["case_a"])
        assert denied.value.action == "case.read"
        with pytest.raises(PermissionDeniedError):
            r.list_referrals(session)
        with pytest.raises(PermissionDeniedError):
            consents.consents_of(session, ids["person_a"])
        with pytest.raises(PermissionDeniedError):
            ap.calendar(session, MONDAY.date(), MONDAY.date())
    with pytest.raises(PermissionDeniedError):
        r.open_referral(admin, ids["referral_a"])
    # Locations are office setup: the administration may add a room without the calendar right.
    assert office_hours.save_location(admin, {"name": "Raum 2", "kind": "office"})

    # Case management may neither back up nor change the settings.
    with pytest.raises(PermissionDeniedError) as denied:
        backup.make_backup(anna, tmp_path / "anna.sqlite3")
    assert denied.value.action == "backup.run"
    assert not (tmp_path / "anna.sqlite3").exists()
    with pytest.raises(PermissionDeniedError):
        backup.verify_backup(info.path, actor=anna.actor)
    with pytest.raises(PermissionDeniedError):
        backup.restore_backup(tmp_path / "kim.sqlite3", info.path, actor=anna.actor)
    with pytest.raises(PermissionDeniedError) as denied:
        office.save_profile(anna, {"organisation": "Anderes Amt"})
    assert denied.value.action == "settings.manage"
    with pytest.raises(PermissionDeniedError):
        retention.set_retention_years(anna, 5)
    with anna.read() as session:
        assert office.load_profile(session)["organisation"] == "Kommunales Integrationszentrum Beispielkreis"


def test_admin_restores_a_backup(office_world, tmp_path, tmp_db_path):
    admin = office_world["admin"]
    info = backup.make_backup(admin, tmp_path / "sicherung.sqlite3")
    admin.database.dispose()
    result = backup.restore_backup(tmp_db_path, info.path, actor=admin.actor)
    assert result.info.row_counts["referral"] == 2


# --- case management: own cases only ------------------------------------------------------------------------


def test_case_manager_cannot_read_another_managers_referrals_or_consents(office_world):
    anna, ids = office_world["anna"], office_world["ids"]
    with anna.read() as session:
        assert [row.id for row in r.case_referrals(session, ids["case_a"])] == [ids["referral_a"]]
        with pytest.raises(PermissionDeniedError):
            r.case_referrals(session, ids["case_b"])
        with pytest.raises(PermissionDeniedError):
            r.history(session, ids["referral_b"])
        with pytest.raises(PermissionDeniedError):
            consents.consents_of(session, ids["person_b"])
        # Lists over several cases show only Anna's.
        assert [row.id for row in r.list_referrals(session)] == [ids["referral_a"]]
        assert [row.id for row in r.referrals_by_offer(session, ids["offer"])] == [ids["referral_a"]]
        assert [row.id for row in r.person_referrals(session, ids["person_b"])] == []
        assert r.referral_stats(session).total == 1
    with pytest.raises(PermissionDeniedError):
        r.read_referrals(anna, case_id=ids["case_b"])
    with pytest.raises(PermissionDeniedError):
        r.open_referral(anna, ids["referral_b"])
    with pytest.raises(PermissionDeniedError):
        consents.list_consents(anna, ids["person_b"])
    with pytest.raises(PermissionDeniedError):
        consents.open_scan(anna, ids["consent_b"])
    with pytest.raises(PermissionDeniedError):
        r.create_referral(anna, case_id=ids["case_b"], offer_id=ids["offer"])
    with pytest.raises(PermissionDeniedError):
        r.delete_draft(anna, ids["referral_b"])
    with pytest.raises(PermissionDeniedError):
        consents.revoke_consent(anna, ids["consent_b"])
    with pytest.raises(PermissionDeniedError):
        consents.record_consent(anna, ids["person_b"], kind="privacy_notice", given_on=date(2026, 2, 1))
    # In her own case everything works.
    own = r.create_referral(anna, case_id=ids["case_a"], offer_id=ids["offer"])
    r.delete_draft(anna, own)
    assert [c.kind for c in consents.list_consents(anna, ids["person_a"])] == ["case_management"]
    with office_world["local"].read() as session:  # Ben's data is untouched
        assert [row.status for row in r.case_referrals(session, ids["case_b"])] == ["draft"]
        assert consents.consents_of(session, ids["person_b"])[0].revoked_on is None


def test_team_lead_sees_the_team_and_runs_the_retention(office_world):
    lead, ids = office_world["lead"], office_world["ids"]
    with lead.read() as session:  # Anna is in the lead's team, Ben is not
        assert [row.id for row in r.list_referrals(session)] == [ids["referral_a"]]
        assert [row.id for row in r.case_referrals(session, ids["case_a"])] == [ids["referral_a"]]
        with pytest.raises(PermissionDeniedError):
            r.case_referrals(session, ids["case_b"])
    assert retention.preview(lead)["persons"] == 0
    assert retention.apply(lead).persons == 0
    assert retention.preview(office_world["admin"])["persons"] == 0


def test_restriction_by_the_case_manager_lifting_by_the_team_lead(office_world):
    anna, lead, admin, ids = (
        office_world["anna"],
        office_world["lead"],
        office_world["admin"],
        office_world["ids"],
    )
    with pytest.raises(PermissionDeniedError):
        retention.restrict(anna, ids["person_b"], "Widerspruch der Person")
    with pytest.raises(PermissionDeniedError):
        retention.restrict(office_world["empfang"], ids["person_a"], "Widerspruch der Person")
    retention.restrict(anna, ids["person_a"], "Widerspruch der Person")
    with pytest.raises(PermissionDeniedError) as denied:
        retention.lift_restriction(anna, ids["person_a"])
    assert denied.value.action == "retention.run"
    retention.lift_restriction(lead, ids["person_a"])
    retention.restrict(admin, ids["person_b"], "Richtigkeit bestritten")
    with office_world["local"].read() as session:
        assert session.get(Person, ids["person_a"]).restricted_at is None
        assert session.get(Person, ids["person_b"]).restricted_at is not None


def test_demo_data_needs_person_write(office_world):
    from kim_desktop.services import demo

    for name in ("empfang", "admin"):
        with pytest.raises(PermissionDeniedError) as denied:
            demo.generate_demo_data(office_world[name], persons=1, seed=1)
        assert denied.value.action == "person.write"


def test_local_single_user_still_sees_everything(office_world):
    local, ids = office_world["local"], office_world["ids"]
    with local.read() as session:
        assert {row.id for row in r.list_referrals(session)} == {ids["referral_a"], ids["referral_b"]}
        assert len(consents.consents_of(session, ids["person_b"])) == 2
