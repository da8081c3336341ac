"""Referrals: the consent gate (no way round it without a logged reason), the workflow's transitions (dated and
attributed), overdue feedback (the same rule as the start page's reminders), views and statistics."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kim_desktop.db.models import (
    AuditEvent,
    Consent,
    FollowUp,
    Referral,
    ReferralStatusChange,
    Setting,
    UserAccount,
)
from kim_desktop.errors import NotFoundError, UserError, ValidationError
from kim_desktop.services import cases, followups, journal, persons
from kim_desktop.services import directory as d
from kim_desktop.services import referrals as r
from kim_desktop.services.context import Actor, ServiceContext

TODAY = date.today()
DAYS = timedelta(days=1)


@pytest.fixture
def world(ctx):
    """Two case managers, a person with a case, two providers with an offer each."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        session.add_all([anna, ben])
        session.flush()
        users = {"anna": anna.id, "ben": ben.id}
    person = persons.create_person(
        ctx,
        {"family_name": "Haidari", "given_names": "Zahra", "sex": "f", "birth_date": "1990", "street": "Weg 1",
         "postcode": "48249", "city": "Dülmen"},  # fmt: skip
        allow_duplicate=True,
    ).id
    case = cases.open_case(ctx, person, case_manager_id=users["anna"], opened_on=TODAY - 200 * DAYS).id
    school = d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispielstadt e. V.", postcode="48249", city="Dülmen"))
    jobs = d.save_provider(ctx, d.ProviderData(name="Jobcenter Beispielkreis", city="Coesfeld"))
    course = d.save_offer(ctx, d.OfferData(provider_id=school, title="Integrationskurs", category="integrationskurs"))
    placement = d.save_offer(ctx, d.OfferData(provider_id=jobs, title="Arbeitsvermittlung", category="jobcenter"))
    return {"person": person, "case": case, "school": school, "jobs": jobs, "course": course,
            "placement": placement, **users}  # fmt: skip


def as_user(ctx, user_id: str, name: str = "Anna Becker") -> ServiceContext:
    return ServiceContext(ctx.database, Actor(user_id, name, frozenset({"case_management"})))


def referral(ctx, world, **kwargs) -> str:
    return r.create_referral(ctx, case_id=world["case"], offer_id=kwargs.pop("offer_id", world["course"]), **kwargs)


def release(ctx, world, provider: str = "school", **kwargs) -> str:
    kwargs.setdefault("given_on", TODAY - 100 * DAYS)
    return r.record_release(ctx, person_id=world["person"], provider_id=world[provider], **kwargs)


def stored(ctx, referral_id: str) -> Referral:
    with ctx.read() as session:
        row = session.get(Referral, referral_id)
        session.expunge(row)
        return row


def audit_actions(ctx, referral_id: str) -> list[tuple[str, dict | None]]:
    with ctx.read() as session:
        return [
            (a, detail)
            for a, detail in session.execute(
                select(AuditEvent.action, AuditEvent.detail).where(AuditEvent.entity_id == referral_id).order_by(
                    AuditEvent.id
                )
            )
        ]


def statuses(ctx, referral_id: str) -> list[tuple[str | None, str]]:
    with ctx.read() as session:
        return [(h.from_status, h.to_status) for h in r.history(session, referral_id)]


# --- the consent gate ------------------------------------------------------------------------------------


def assert_blocked(ctx, referral_id: str, state: str, **kwargs) -> r.ConsentRequiredError:
    with pytest.raises(r.ConsentRequiredError) as caught:
        r.send_referral(ctx, referral_id, sent_via="post", **kwargs)
    error = caught.value
    assert error.state == state
    assert "Schweigepflichtentbindung" in error.message
    # nothing written: still a draft, no status change, no override, no audit of a send
    row = stored(ctx, referral_id)
    assert (row.status, row.sent_on, row.sent_via, row.consent_override_reason) == ("draft", None, None, None)
    assert statuses(ctx, referral_id) == [(None, "draft")]
    assert [a for a, _d in audit_actions(ctx, referral_id)] == ["create"]
    return error


def test_no_release_blocks_sending_and_names_the_way_out(ctx, world):
    rid = referral(ctx, world)
    error = assert_blocked(ctx, rid, "missing")
    assert "Begründung" in error.message and "10 Zeichen" in error.message
    assert (error.person_id, error.provider_id, error.referral_id) == (world["person"], world["school"], rid)
    assert "Haidari" not in error.message and "Zahra" not in error.message


def test_expired_release_blocks(ctx, world):
    release(ctx, world, given_on=TODAY - 400 * DAYS, valid_until=TODAY - DAYS)
    assert_blocked(ctx, referral(ctx, world), "expired")


def test_revoked_release_blocks(ctx, world):
    consent = release(ctx, world)
    r.revoke_release(ctx, consent)
    error = assert_blocked(ctx, referral(ctx, world), "revoked")
    assert "widerrufen" in error.message
    with pytest.raises(UserError, match="bereits widerrufen"):
        r.revoke_release(ctx, consent)


def test_release_for_another_provider_does_not_count(ctx, world):
    release(ctx, world, provider="jobs")
    assert_blocked(ctx, referral(ctx, world), "missing")


def test_release_given_after_the_day_of_sending_does_not_count(ctx, world):
    release(ctx, world, given_on=TODAY - 5 * DAYS)
    assert_blocked(ctx, referral(ctx, world), "missing", sent_on=TODAY - 10 * DAYS)


def test_deleted_release_does_not_count(ctx, world):
    consent = release(ctx, world)
    with ctx.write() as session:
        from kim_desktop.db.base import utcnow

        session.get(Consent, consent).deleted_at = utcnow()
    assert_blocked(ctx, referral(ctx, world), "missing")


@pytest.mark.parametrize("reason", ["kurz", "   neun  ze   ", "a  b  c  d  e", "x\n\n\n\n\n\n\n\n\n\n\ny"])
def test_override_reason_too_short_is_refused(ctx, world, reason):
    rid = referral(ctx, world)
    error = assert_blocked(ctx, rid, "missing", override_reason=reason)
    assert "zu kurz" in error.message
    assert "override_reason" in error.field_errors


def test_blank_override_reason_counts_as_none(ctx, world):
    error = assert_blocked(ctx, referral(ctx, world), "missing", override_reason=" \n\t " * 5)
    assert "zu kurz" not in error.message


def test_override_with_reason_is_stored_and_logged_without_its_text(ctx, world):
    rid = referral(ctx, world)
    reason = "Person hat mündlich zugestimmt, Formular folgt beim Termin."
    r.send_referral(ctx, rid, sent_via="personal", override_reason=f"  {reason}  ")
    row = stored(ctx, rid)
    assert (row.status, row.sent_via, row.sent_on) == ("sent", "personal", TODAY)
    assert row.consent_override_reason == reason
    assert row.release_consent_id is None
    events = audit_actions(ctx, rid)
    overrides = [detail for action, detail in events if action == "consent_override"]
    assert overrides == [{"provider_id": world["school"], "reason_length": len(reason)}]
    assert all(reason not in str(detail) and "mündlich" not in str(detail) for _a, detail in events)
    with ctx.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "consent_override")).one()
        assert (event.person_id, event.case_id, event.entity_type) == (world["person"], world["case"], "referral")
        (listed,) = r.case_referrals(session, world["case"])
        assert listed.override and not listed.has_release
        assert r.referral_stats(session).overrides == 1
        assert r.history(session, rid)[-1].note == "ohne Schweigepflichtentbindung"


def test_valid_release_lets_the_referral_go_out(ctx, world):
    consent = release(ctx, world, valid_until=TODAY + 30 * DAYS)
    rid = referral(ctx, world)
    r.send_referral(ctx, rid, sent_via="email", override_reason="wird nicht gebraucht, es gibt eine Entbindung")
    row = stored(ctx, rid)
    assert (row.status, row.release_consent_id, row.consent_override_reason) == ("sent", consent, None)
    assert "consent_override" not in [a for a, _d in audit_actions(ctx, rid)]
    with ctx.read() as session:
        assert r.release_for(session, rid).id == consent
        assert r.release_for(session, (world["person"], world["school"]), today=TODAY + 31 * DAYS) is None
        assert r.case_referrals(session, world["case"])[0].has_release


def test_release_valid_until_the_day_of_sending_counts(ctx, world):
    release(ctx, world, valid_until=TODAY)
    rid = referral(ctx, world)
    r.send_referral(ctx, rid, sent_via="post")
    assert stored(ctx, rid).status == "sent"


def test_referral_to_a_provider_without_offer_is_gated_too(ctx, world):
    rid = r.create_referral(ctx, case_id=world["case"], provider_id=world["jobs"])
    assert_blocked(ctx, rid, "missing")
    release(ctx, world, provider="jobs")
    r.send_referral(ctx, rid, sent_via="post")


def test_release_form_and_referral_letter(ctx, world):
    rid = referral(ctx, world, reason="Deutsch lernen für die Arbeit")
    form = r.release_form(ctx, rid)
    assert form.pdf.startswith(b"%PDF") and form.document_id
    letter = r.referral_letter(ctx, rid)
    assert letter.pdf.startswith(b"%PDF") and letter.title == "Vermittlungsschreiben"


def test_record_release_checks_its_input(ctx, world):
    with pytest.raises(ValidationError) as caught:
        r.record_release(ctx, person_id=world["person"], provider_id=world["school"], given_on=TODAY + DAYS)
    assert "given_on" in caught.value.field_errors
    with pytest.raises(ValidationError):
        r.record_release(ctx, person_id=world["person"], provider_id=world["school"], given_on=TODAY,
                         valid_until=TODAY - DAYS)  # fmt: skip
    with pytest.raises(NotFoundError):
        r.record_release(ctx, person_id=world["person"], provider_id="nope")


# --- workflow ----------------------------------------------------------------------------------------------


def sent(ctx, world, **kwargs) -> str:
    release(ctx, world)
    rid = referral(ctx, world, **kwargs)
    r.send_referral(ctx, rid, sent_via="post", sent_on=TODAY - 10 * DAYS)
    return rid


def test_full_way_is_dated_and_attributed(ctx, world):
    anna = as_user(ctx, world["anna"])
    release(ctx, world)
    rid = r.create_referral(anna, case_id=world["case"], offer_id=world["course"], reason="Sprachkurs")
    r.send_referral(anna, rid, sent_via="email", sent_on=TODAY - 20 * DAYS)
    r.accept(anna, rid, on=TODAY - 15 * DAYS, note="Platz ab nächstem Monat", outcome="warteliste")
    r.complete(anna, rid, "abgeschlossen", "Kurs mit B1 bestanden.", on=TODAY - DAYS)
    with ctx.read() as session:
        changes = r.history(session, rid)
        assert [(c.from_status, c.to_status, c.changed_on) for c in changes] == [
            (None, "draft", TODAY), ("draft", "sent", TODAY - 20 * DAYS), ("sent", "accepted", TODAY - 15 * DAYS),
            ("accepted", "completed", TODAY - DAYS),
        ]  # fmt: skip
        assert {c.changed_by for c in changes} == {world["anna"]}
        assert {c.changed_by_name for c in changes} == {"Anna Becker"}
        assert [c.to_label for c in changes] == ["Entwurf", "Versendet", "Angenommen", "Abgeschlossen"]
        (row,) = r.case_referrals(session, world["case"])
        assert (row.status_label, row.sent_on, row.answered_on, row.outcome_label) == (
            "Abgeschlossen", TODAY - 20 * DAYS, TODAY - 15 * DAYS, "Erfolgreich abgeschlossen"
        )
        assert (row.offer_title, row.provider_name, row.sent_via, row.due_on, row.overdue) == (
            "Integrationskurs", "Bildungswerk Beispielstadt e. V.", "email", None, False
        )
        assert session.get(Referral, rid).feedback == "Kurs mit B1 bestanden."
    assert [d_["status"] for a, d_ in audit_actions(ctx, rid) if a == "update"] == ["sent", "accepted", "completed"]


def test_reject_needs_a_reason(ctx, world):
    rid = sent(ctx, world)
    with pytest.raises(ValidationError) as caught:
        r.reject(ctx, rid, "   ")
    assert "reason" in caught.value.field_errors
    assert stored(ctx, rid).status == "sent"
    r.reject(ctx, rid, "Kurs ausgebucht", outcome="warteliste")
    row = stored(ctx, rid)
    assert (row.status, row.rejection_reason, row.outcome, row.answered_on) == (
        "rejected", "Kurs ausgebucht", "warteliste", TODAY
    )


@pytest.mark.parametrize(
    ("steps", "action", "message"),
    [
        ([], lambda c, i: r.accept(c, i), "„Entwurf“ kann nicht „Angenommen“"),
        ([], lambda c, i: r.complete(c, i, "abgeschlossen"), "„Entwurf“ kann nicht „Abgeschlossen“"),
        (["send"], lambda c, i: r.complete(c, i, "abgeschlossen"), "„Versendet“ kann nicht „Abgeschlossen“"),
        (["send"], lambda c, i: r.send_referral(c, i, sent_via="post"), "„Versendet“ kann nicht „Versendet“"),
        (["send", "reject"], lambda c, i: r.accept(c, i), "„Abgelehnt“ kann nicht"),
        (["send", "reject"], lambda c, i: r.revoke(c, i), "„Abgelehnt“ kann nicht „Widerrufen“"),
        (["send", "accept", "complete"], lambda c, i: r.revoke(c, i), "„Abgeschlossen“ kann nicht"),
        (["revoke"], lambda c, i: r.send_referral(c, i, sent_via="post"), "„Widerrufen“ kann nicht"),
    ],
)
def test_wrong_transitions_are_refused_in_german(ctx, world, steps, action, message):
    release(ctx, world)
    rid = referral(ctx, world)
    for step in steps:
        {"send": lambda: r.send_referral(ctx, rid, sent_via="post"), "reject": lambda: r.reject(ctx, rid, "voll"),
         "accept": lambda: r.accept(ctx, rid), "complete": lambda: r.complete(ctx, rid, "teilnahme"),
         "revoke": lambda: r.revoke(ctx, rid)}[step]()  # fmt: skip
    before = statuses(ctx, rid)
    with pytest.raises(r.TransitionError, match=message):
        action(ctx, rid)
    assert statuses(ctx, rid) == before


@pytest.mark.parametrize("steps", [[], ["send"], ["send", "accept"]])
def test_revoke_from_every_open_state(ctx, world, steps):
    release(ctx, world)
    rid = referral(ctx, world)
    if steps:
        r.send_referral(ctx, rid, sent_via="post")
    if "accept" in steps:
        r.accept(ctx, rid)
    r.revoke(ctx, rid, "Person ist weggezogen.")
    assert stored(ctx, rid).status == "revoked"
    assert statuses(ctx, rid)[-1][1] == "revoked"
    with ctx.read() as session:
        assert r.history(session, rid)[-1].note == "Person ist weggezogen."


def test_complete_needs_a_known_outcome(ctx, world):
    rid = sent(ctx, world)
    r.accept(ctx, rid)
    with pytest.raises(ValidationError) as caught:
        r.complete(ctx, rid, "")
    assert "outcome" in caught.value.field_errors
    with pytest.raises(ValidationError, match="Bekannt sind"):
        r.complete(ctx, rid, "bestens")
    assert stored(ctx, rid).status == "accepted"


def test_dates_cannot_be_in_the_future_or_before_sending(ctx, world):
    release(ctx, world)
    rid = referral(ctx, world)
    with pytest.raises(ValidationError, match="Zukunft"):
        r.send_referral(ctx, rid, sent_via="post", sent_on=TODAY + DAYS)
    with pytest.raises(ValidationError, match="versendet"):
        r.send_referral(ctx, rid, sent_via="fax")
    r.send_referral(ctx, rid, sent_via="post", sent_on=TODAY - 5 * DAYS)
    with pytest.raises(ValidationError, match="vor dem Versand"):
        r.accept(ctx, rid, on=TODAY - 6 * DAYS)
    assert stored(ctx, rid).status == "sent"


def test_expired_offer_cannot_be_referred_to(ctx, world):
    old = d.save_offer(ctx, d.OfferData(provider_id=world["school"], title="Sommerkurs", category="integrationskurs",
                                        valid_until=TODAY - DAYS))  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        referral(ctx, world, offer_id=old)
    assert "abgelaufen" in caught.value.field_errors["offer_id"]
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_offer_running_out_before_sending_blocks_the_send(ctx, world):
    release(ctx, world)
    offer = d.save_offer(ctx, d.OfferData(provider_id=world["school"], title="Herbstkurs", category="integrationskurs"))
    rid = referral(ctx, world, offer_id=offer)
    with ctx.write() as session:
        from kim_desktop.db.models import Offer

        session.get(Offer, offer).valid_until = TODAY - DAYS
    with pytest.raises(ValidationError, match="abgelaufen"):
        r.send_referral(ctx, rid, sent_via="post")
    r.send_referral(ctx, rid, sent_via="post", sent_on=TODAY - 2 * DAYS)  # it went out while it was valid


def test_create_checks_case_offer_and_plan(ctx, world):
    with pytest.raises(NotFoundError):
        r.create_referral(ctx, case_id="nope", offer_id=world["course"])
    with pytest.raises(ValidationError, match="Angebot oder einen Träger"):
        r.create_referral(ctx, case_id=world["case"])
    with pytest.raises(ValidationError, match="anderen Träger"):
        r.create_referral(ctx, case_id=world["case"], offer_id=world["course"], provider_id=world["jobs"])
    other_person = persons.create_person(ctx, {"family_name": "Other", "birth_date": "1970"}, allow_duplicate=True).id
    other_case = cases.open_case(ctx, other_person).id
    foreign_goal = journal.add_goal(ctx, other_case, "Arbeit finden")
    with pytest.raises(ValidationError, match="gehört nicht"):
        referral(ctx, world, goal_id=foreign_goal)
    with pytest.raises(ValidationError, match="zwischen 1 und"):
        referral(ctx, world, follow_up_days=0)
    goal = journal.add_goal(ctx, world["case"], "Deutsch B1")
    step = journal.add_step(ctx, goal, "Anmeldung zum Kurs")
    rid = referral(ctx, world, step_id=step)
    row = stored(ctx, rid)
    assert (row.goal_id, row.step_id, row.provider_id, row.person_id) == (goal, step, world["school"], world["person"])
    with ctx.read() as session:
        assert r.case_referrals(session, world["case"])[0].goal_title == "Deutsch B1"


def test_draft_can_be_changed_and_discarded_but_not_once_sent(ctx, world):
    rid = referral(ctx, world)
    r.update_referral(ctx, rid, offer_id=world["placement"], reason="Arbeit", follow_up_days=10)
    row = stored(ctx, rid)
    assert (row.offer_id, row.provider_id, row.reason, row.follow_up_days) == (
        world["placement"], world["jobs"], "Arbeit", 10
    )
    r.delete_draft(ctx, rid)
    with ctx.read() as session:
        assert r.case_referrals(session, world["case"]) == []
    rid = sent(ctx, world)
    with pytest.raises(r.TransitionError):
        r.update_referral(ctx, rid, offer_id=world["course"])
    with pytest.raises(r.TransitionError):
        r.delete_draft(ctx, rid)


def test_reception_may_not_refer(ctx, world):
    reception = ServiceContext(ctx.database, Actor(None, "Empfang", frozenset({"reception"})))
    with pytest.raises(UserError, match="Berechtigung"):
        r.create_referral(reception, case_id=world["case"], offer_id=world["course"])


# --- overdue feedback ----------------------------------------------------------------------------------------


def send_on(ctx, world, days_ago: int, **kwargs) -> str:
    rid = referral(ctx, world, **kwargs)
    r.send_referral(ctx, rid, sent_via="post", sent_on=TODAY - days_ago * DAYS)
    return rid


def overdue_ids(ctx, **kwargs) -> list[str]:
    with ctx.read() as session:
        return [row.id for row in r.overdue_referrals(session, **kwargs)]


def test_overdue_after_the_office_default_or_the_referral_own_period(ctx, world):
    release(ctx, world, given_on=TODAY - 300 * DAYS)
    on_time = send_on(ctx, world, 21)  # due today (21 days default): not overdue yet
    late = send_on(ctx, world, 22)
    own_period = send_on(ctx, world, 22, follow_up_days=30)
    short = send_on(ctx, world, 8, follow_up_days=7)
    answered = send_on(ctx, world, 60)
    r.accept(ctx, answered)
    assert set(overdue_ids(ctx)) == {late, short}
    with ctx.read() as session:
        rows = {row.id: row for row in r.case_referrals(session, world["case"])}
    assert rows[on_time].due_on == TODAY and not rows[on_time].overdue
    assert rows[late].due_on == TODAY - DAYS and rows[late].overdue
    assert rows[own_period].due_on == TODAY + 8 * DAYS and not rows[own_period].overdue
    assert rows[answered].due_on is None and not rows[answered].overdue
    with ctx.write() as session:
        session.merge(Setting(key="referral_feedback_days", value=10))
    assert set(overdue_ids(ctx)) == {on_time, late, short}
    assert set(overdue_ids(ctx, today=TODAY + 9 * DAYS)) == {on_time, late, short, own_period}


def test_overdue_matches_the_start_page_reminders(ctx, world):
    release(ctx, world, given_on=TODAY - 300 * DAYS)
    send_on(ctx, world, 40)
    send_on(ctx, world, 25, follow_up_days=14)
    with ctx.read() as session:
        overdue = r.overdue_referrals(session, today=TODAY)
        reminders = [x for x in followups.reminders(session, today=TODAY) if x.kind == "referral"]
    assert sorted(o.due_on for o in overdue) == sorted(x.due_on for x in reminders if x.overdue)


def test_overdue_of_one_case_manager(ctx, world):
    release(ctx, world, given_on=TODAY - 300 * DAYS)
    mine = send_on(ctx, world, 40)
    other_person = persons.create_person(ctx, {"family_name": "Other", "birth_date": "1970"}, allow_duplicate=True).id
    other_case = cases.open_case(ctx, other_person, case_manager_id=world["ben"]).id
    r.record_release(ctx, person_id=other_person, provider_id=world["school"], given_on=TODAY - 300 * DAYS)
    theirs = r.create_referral(ctx, case_id=other_case, offer_id=world["course"])
    r.send_referral(ctx, theirs, sent_via="post", sent_on=TODAY - 40 * DAYS)
    assert overdue_ids(ctx, case_manager_id=world["anna"]) == [mine]
    assert overdue_ids(ctx, case_manager_id=world["ben"]) == [theirs]
    assert set(overdue_ids(ctx)) == {mine, theirs}
    with ctx.read() as session:
        (row,) = r.overdue_referrals(session, case_manager_id=world["ben"])
    assert (row.person_name, row.case_manager_id) == ("Other", world["ben"])


def test_answer_closes_the_referral_wiedervorlage(ctx, world):
    rid = sent(ctx, world)
    with ctx.write() as session:
        session.add(FollowUp(case_id=world["case"], referral_id=rid, due_on=TODAY, title="Rückmeldung"))
    r.accept(ctx, rid)
    with ctx.read() as session:
        assert session.scalars(select(FollowUp.done_at).where(FollowUp.referral_id == rid)).one() is not None


# --- views and statistics ------------------------------------------------------------------------------------


def test_views_by_offer_provider_and_status(ctx, world):
    release(ctx, world)
    release(ctx, world, provider="jobs")
    a = send_on(ctx, world, 3)
    b = referral(ctx, world, offer_id=world["placement"])
    c = r.create_referral(ctx, case_id=world["case"], provider_id=world["school"])
    with ctx.read() as session:
        assert {x.id for x in r.referrals_by_offer(session, world["course"])} == {a}
        assert {x.id for x in r.referrals_by_provider(session, world["school"])} == {a, c}
        assert {x.id for x in r.referrals_by_provider(session, world["jobs"])} == {b}
        assert {x.id for x in r.list_referrals(session, status="draft")} == {b, c}
        assert {x.id for x in r.list_referrals(session, status="open")} == {a, b, c}
        with pytest.raises(UserError, match="Unbekannter Status"):
            r.list_referrals(session, status="lost")
        row = next(x for x in r.case_referrals(session, world["case"]) if x.id == c)
        assert (row.offer_title, row.provider_name, row.has_release) == ("", "Bildungswerk Beispielstadt e. V.", True)
        stats = r.referral_stats(session)
    assert stats.by_status["draft"] == 2 and stats.by_status["sent"] == 1 and stats.total == 3
    assert r.status_labels()["revoked"] == "Widerrufen"
    assert r.sent_via_labels() == {"post": "Post", "email": "E-Mail", "personal": "persönlich mitgegeben"}


def test_stats_count_outcomes(ctx, world):
    release(ctx, world)
    for outcome in ("abgeschlossen", "abgeschlossen", "abgebrochen"):
        rid = send_on(ctx, world, 5)
        r.accept(ctx, rid)
        r.complete(ctx, rid, outcome)
    rid = send_on(ctx, world, 5)
    r.reject(ctx, rid, "voll")
    with ctx.read() as session:
        stats = r.referral_stats(session)
    assert stats.by_outcome == {"abgeschlossen": 2, "abgebrochen": 1, "": 1}
    assert stats.outcome_labels["abgebrochen"] == "Abgebrochen"
    assert stats.by_status["completed"] == 3 and stats.by_status["rejected"] == 1


def test_open_referral_is_an_audited_read(ctx, world):
    rid = sent(ctx, world)
    view = r.open_referral(ctx, rid)
    assert view.allowed == ("accepted", "rejected", "revoked")
    assert view.release_consent_id is not None and [h.to_status for h in view.history] == ["draft", "sent"]
    with ctx.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_id == rid)
        ).one()
    assert (event.person_id, event.case_id, event.detail) == (world["person"], world["case"], None)
    rows = r.read_referrals(ctx, case_id=world["case"])
    assert [x.id for x in rows] == [rid]
    with ctx.read() as session:
        listed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_type == "referral",
                                     AuditEvent.entity_id.is_(None))  # fmt: skip
        ).one()
    assert listed.detail == {"count": 1} and listed.case_id == world["case"]


def test_status_change_rows_are_stored(ctx, world):
    rid = sent(ctx, world)
    with ctx.read() as session:
        assert session.scalar(
            select(func.count()).select_from(ReferralStatusChange).where(ReferralStatusChange.referral_id == rid)
        ) == 2
