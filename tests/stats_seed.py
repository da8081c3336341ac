"""Hand-countable synthetic data for the statistics, report, export and CLI tests (not collected by pytest).

Period under test: 2025. Expected figures are written out in tests/test_statistics.py.
Two teams: "Team Nord" (case manager Nora Nord = U1) and "Team Süd" (Sami Süd = U2, team lead Tilda Tal = U3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from kim_desktop.db.models import (
    Appointment,
    Assessment,
    Case,
    Goal,
    JournalEntry,
    Offer,
    Person,
    PersonNationality,
    Provider,
    Referral,
    StructuralFinding,
    Team,
    UserAccount,
    UserRole,
)

FIRST, LAST = date(2025, 1, 1), date(2025, 12, 31)

#: Names, birth dates and file numbers that must never appear in anonymised output.
PERSONS = {
    "P1": ("Haddad", "Samira", (1990, 4, 17)),
    "P2": ("Karimi", "Omid", (2010, 9, 3)),
    "P3": ("Petrenko", "Bohdan", (None, None, None)),
    "P4": ("Okonkwo", "Adaeze", (1980, 11, 23)),
}
FILE_NUMBERS = {"C1": "KIM-2025-0001", "C2": "KIM-2025-0002", "C3": "KIM-2024-0017", "C4": "KIM-2024-0003",
                "C5": "KIM-2025-0099", "C6": "KIM-2025-0050"}  # fmt: skip


def _at(y, m, d, hour=10):
    return datetime(y, m, d, hour, tzinfo=UTC)


def seed(ctx) -> dict[str, str]:
    """Insert the data set; returns the ids by short name (P1…, C1…, U1…, T1…)."""
    ids: dict[str, str] = {}
    with ctx.write() as s:
        t1, t2 = Team(name="Team Nord"), Team(name="Team Süd")
        s.add_all([t1, t2])
        s.flush()
        u1 = UserAccount(username="nnord", display_name="Nora Nord", team_id=t1.id)
        u2 = UserAccount(username="ssued", display_name="Sami Süd", team_id=t2.id)
        u3 = UserAccount(username="ttal", display_name="Tilda Tal", team_id=t2.id)
        s.add_all([u1, u2, u3])
        s.flush()
        s.add_all([UserRole(user_id=u1.id, role="case_management"), UserRole(user_id=u2.id, role="case_management"),
                   UserRole(user_id=u3.id, role="team_lead")])  # fmt: skip
        ids.update(T1=t1.id, T2=t2.id, U1=u1.id, U2=u2.id, U3=u3.id)

        sexes = {"P1": "f", "P2": "m", "P3": "m", "P4": "f"}
        nations = {"P1": ["SY"], "P2": ["AF", "DE"], "P3": [], "P4": ["UA"]}
        for key, (family, given, (y, m, d)) in PERSONS.items():
            p = Person(family_name=family, given_names=given, sort_name=f"{family} {given}".lower(),
                       birth_year=y, birth_month=m, birth_day=d, sex=sexes[key], city="Dülmen",
                       phone="02594 12345", residence_status="duldung")  # fmt: skip
            p.nationalities = [
                PersonNationality(country_code=c, sort_order=i) for i, c in enumerate(nations[key])
            ]
            s.add(p)
            s.flush()
            ids[key] = p.id

        def case_(key, person, manager, opened, phase, *, closed=None, reason=None, achievement=None,
                  intake=None, closure=None, channel=None, deleted=False):  # fmt: skip
            c = Case(file_number=FILE_NUMBERS[key], person_id=ids[person], case_manager_id=ids[manager],
                     opened_on=opened, phase=phase, closed_on=closed, closure_reason=reason,
                     goal_achievement=achievement, residence_status_at_intake=intake,
                     residence_status_at_closure=closure, access_channel=channel,
                     deleted_at=_at(2025, 7, 1) if deleted else None)  # fmt: skip
            s.add(c)
            s.flush()
            ids[key] = c.id

        case_(
            "C1",
            "P1",
            "U1",
            date(2025, 2, 1),
            "closed",
            closed=date(2025, 10, 1),
            reason="ziele_erreicht",
            achievement="full",
            intake="duldung",
            closure="bleiberecht_25a_25b",
            channel="jobcenter",
        )
        case_(
            "C2", "P2", "U2", date(2025, 3, 1), "implementation", intake="gestattung", channel="sprechstunde"
        )
        case_(
            "C3",
            "P3",
            "U1",
            date(2024, 5, 1),
            "closed",
            closed=date(2025, 1, 15),
            reason="wegzug",
            achievement="none",
            intake="duldung",
            closure="duldung",
        )
        case_("C4", "P4", "U1", date(2024, 1, 1), "closed", closed=date(2024, 12, 31), reason="sonstiges")
        case_("C5", "P4", "U2", date(2025, 12, 31), "intake", intake="schutz_24")
        case_("C6", "P1", "U2", date(2025, 6, 1), "intake", deleted=True)

        def goal(key, case, status, area, agreed):
            g = Goal(
                case_id=ids[case],
                status=status,
                life_area=area,
                agreed_on=agreed,
                title=f"Ziel für {PERSONS['P1'][1]} {PERSONS['P1'][0]}",
            )  # names in titles must not leak
            s.add(g)
            s.flush()
            ids[key] = g.id

        goal("G1", "C1", "achieved", "sprache", date(2025, 3, 1))
        goal("G2", "C1", "partly", "arbeit", date(2025, 4, 1))
        goal("G3", "C2", "open", None, date(2024, 12, 1))
        goal("G4", "C3", "not_achieved", "wohnen", date(2024, 6, 1))

        s.add_all([
            Assessment(case_id=ids["C1"], life_area="sprache", need_level=2),
            Assessment(case_id=ids["C1"], life_area="wohnen", need_level=0),
            Assessment(case_id=ids["C2"], life_area="sprache", need_level=1),
            Assessment(case_id=ids["C4"], life_area="arbeit", need_level=3),
        ])  # fmt: skip

        def entry(case, day, kind, minutes=None, *, lang=None, areas=None, confidential=False, system=False,
                  deleted=False, text="Gespräch"):  # fmt: skip
            s.add(JournalEntry(case_id=ids[case], person_id=None, entry_date=day, contact_type=kind,
                               duration_min=minutes, interpreter_language=lang, life_areas=areas, text=text,
                               confidential=confidential, system_generated=system,
                               deleted_at=_at(2025, 8, 1) if deleted else None))  # fmt: skip

        entry("C1", date(2025, 3, 10), "persoenlich", 60, lang="ar", areas=["sprache", "arbeit"])
        entry(
            "C1",
            date(2025, 3, 11),
            "telefon",
            30,
            areas=["sprache"],
            confidential=True,
            text="VERTRAULICH: Geheimnis von Samira",
        )
        entry("C2", date(2025, 5, 1), "persoenlich", 90, lang="uk")
        entry("C2", date(2024, 12, 31), "persoenlich", 30)
        entry("C2", date(2025, 6, 1), "notiz", 10)
        entry("C2", date(2025, 6, 2), "persoenlich", 20, system=True)
        entry("C1", date(2025, 6, 3), "persoenlich", 45, deleted=True)

        def appointment(case, at, status, *, manager="U1", lang=None, busy=False):
            s.add(Appointment(case_id=ids[case] if case else None, type="beratung", starts_at=at,
                              ends_at=at.replace(hour=at.hour + 1), case_manager_id=ids[manager],
                              interpreter_language=lang, status=status, busy_only=busy))  # fmt: skip

        appointment("C1", _at(2025, 3, 10), "held", lang="ar")
        appointment("C2", _at(2025, 4, 1), "no_show", manager="U2")
        appointment(None, _at(2025, 5, 5), "held")
        appointment("C1", _at(2024, 6, 1), "held")
        appointment(None, _at(2025, 5, 5, 14), "planned", busy=True)
        appointment("C2", _at(2025, 7, 1), "cancelled", manager="U2")

        provider = Provider(name="Synthetischer Träger e. V.")
        s.add(provider)
        s.flush()
        o1 = Offer(provider_id=provider.id, title="Integrationskurs A", category="integrationskurs")
        o2 = Offer(provider_id=provider.id, title="Berufssprachkurs B", category="berufssprachkurs")
        s.add_all([o1, o2])
        s.flush()

        def referral(case, person, offer, sent, status, outcome=None):
            s.add(Referral(case_id=ids[case], person_id=ids[person], offer_id=offer.id if offer else None,
                           provider_id=provider.id, sent_on=sent, status=status, outcome=outcome))  # fmt: skip

        referral("C1", "P1", o1, date(2025, 3, 1), "completed", "abgeschlossen")
        referral("C2", "P2", o2, date(2025, 4, 1), "rejected")
        referral("C2", "P2", o1, None, "draft")
        referral("C1", "P1", None, date(2025, 5, 1), "sent")

        s.add_all([
            StructuralFinding(category="wohnraum", case_id=ids["C1"], observed_on=date(2025, 2, 1),
                              description="Kaum bezahlbarer Wohnraum für Familie Haddad, Aktenzeichen "
                                          "KIM-2025-0001, geb. 17.04.1990", author_id=ids["U1"]),
            StructuralFinding(category="wohnraum", observed_on=date(2025, 3, 1), author_id=ids["U2"],
                              description="Wartezeit auf WBS über sechs Monate"),
            StructuralFinding(category="anerkennung", observed_on=date(2024, 1, 1), author_id=ids["U1"],
                              description="Anerkennung dauert zu lange"),
        ])  # fmt: skip
    return ids
