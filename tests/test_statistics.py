"""Statistics: every indicator against hand-counted data (tests/stats_seed.py), filters and roles, small-number
suppression, the office's own counts and their validation."""

from __future__ import annotations

import json

import pytest
from stats_seed import FIRST, LAST, seed

from kim_desktop.errors import ValidationError
from kim_desktop.services import statistics as st
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError

UNKNOWN = st.UNKNOWN

#: indicator id → expected {key: value} (None key: a single figure). Counted by hand from stats_seed.py.
EXPECTED = {
    "cases_new": {None: 3},  # C1, C2, C5 (C6 deleted)
    "cases_active": {None: 4},  # C1, C2, C3 (closed 15.01.2025), C5; not C4 (closed 31.12.2024)
    "cases_closed": {None: 2},  # C1, C3
    "cases_new_by_access_channel": {"jobcenter": 1, "sprechstunde": 1, UNKNOWN: 1},
    "cases_active_by_phase": {"closed": 2, "implementation": 1, "intake": 1},
    "closure_reasons": {"ziele_erreicht": 1, "wegzug": 1},
    "goal_achievement": {"full": 1, "none": 1},
    "goals_at_closure": {"achieved": 1, "partly": 1, "not_achieved": 1},
    "persons_intake_by_age_band": {"27-44": 1, "0-17": 1, "45-64": 1},  # 2025-1990, 2025-2010, 2025-1980
    "persons_intake_by_sex": {"f": 2, "m": 1},
    "persons_intake_by_nationality": {"SY": 1, "AF": 1, "UA": 1},  # first nationality of P2 is AF
    "persons_intake_by_residence_status": {"duldung": 1, "gestattung": 1, "schutz_24": 1},
    "persons_closure_by_age_band": {"27-44": 1, UNKNOWN: 1},
    "persons_closure_by_sex": {"f": 1, "m": 1},
    "persons_closure_by_nationality": {"SY": 1, UNKNOWN: 1},
    "persons_closure_by_residence_status": {"bleiberecht_25a_25b": 1, "duldung": 1},
    "residence_status_changes": {"duldung→bleiberecht_25a_25b": 1},
    "life_areas_assessed": {"sprache": 2},  # need ≥ 1 in active cases; C4 not active
    "goals_by_life_area": {"sprache": 1, "arbeit": 1},  # agreed in 2025
    "contacts_by_life_area": {"sprache": 2, "arbeit": 1},
    "contacts_by_type": {"persoenlich": 2, "telefon": 1},  # no notes, no system entries, no deleted
    "counselling_hours": {None: 3.0},  # 60 + 30 + 90 minutes
    "counselling_hours_by_type": {"persoenlich": 2.5, "telefon": 0.5},
    "interpreter_contacts": {"ar": 1, "uk": 1},
    "appointments_held": {None: 2},  # A1 and A3 (no case, case manager U1); not 2024, not busy time
    "appointments_missed": {None: 1},
    "appointments_by_status": {"held": 2, "no_show": 1, "cancelled": 1},
    "appointment_interpreters": {"ar": 1},
    "referrals_by_category": {"integrationskurs": 1, "berufssprachkurs": 1, UNKNOWN: 1},
    "referrals_by_status": {"completed": 1, "rejected": 1, "sent": 1},  # draft never sent
    "referrals_by_outcome": {"abgeschlossen": 1, UNKNOWN: 2},
    "referrals_by_category_status": {
        "integrationskurs|completed": 1, "berufssprachkurs|rejected": 1, f"{UNKNOWN}|sent": 1},
    "findings_by_category": {"wohnraum": 2},  # 2024 finding outside
}  # fmt: skip


def _figures(result, indicator_id):
    item = result.indicator(indicator_id)
    return {row.key: row.value for row in item.rows}


@pytest.fixture
def seeded(ctx):
    ids = seed(ctx)
    st.set_threshold(ctx, 1)  # exact figures for the hand count; suppression is tested separately
    return ids


def test_registry_ids_unique_and_every_indicator_expected():
    ids = [i.id for i in st.indicators()]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(EXPECTED), "every indicator needs a hand-counted expectation"
    for item in st.indicators():
        assert item.label and item.description and item.section in st.section_labels()


def test_every_indicator_against_hand_count(ctx, seeded):
    result = st.compute(ctx, FIRST, LAST)
    for indicator_id, expected in EXPECTED.items():
        assert _figures(result, indicator_id) == expected, indicator_id


def test_totals_and_labels(ctx, seeded):
    result = st.compute(ctx, FIRST, LAST)
    reasons = result.indicator("closure_reasons")
    assert reasons.total.value == 2
    assert [r.label for r in reasons.rows] == ["Ziele erreicht", "Wegzug aus dem Kreis"]  # code-list order
    change = result.indicator("residence_status_changes").rows[0]
    assert change.label.startswith("Duldung (§ 60a AufenthG) → Aufenthaltserlaubnis §§ 25a / 25b")
    assert result.indicator("counselling_hours").rows[0].text == "3,0"
    assert result.indicator("persons_intake_by_nationality").total.value == 3  # distinct persons
    assert {r.label for r in result.indicator("persons_intake_by_nationality").rows} == {
        "Syrien", "Afghanistan", "Ukraine"}  # fmt: skip


def test_team_and_case_manager_filters(ctx, seeded):
    north = st.compute(ctx, FIRST, LAST, team_id=seeded["T1"])
    assert north.team == "Team Nord"
    assert _figures(north, "cases_new") == {None: 1}  # C1
    assert _figures(north, "cases_closed") == {None: 2}  # C1, C3
    assert _figures(north, "appointments_held") == {None: 2}  # A1 and the caseless A3 of Nora Nord
    assert _figures(north, "findings_by_category") == {"wohnraum": 1}  # the one attached to C1
    south = st.compute(ctx, FIRST, LAST, case_manager_id=seeded["U2"])
    assert south.case_manager == "Sami Süd"
    assert _figures(south, "cases_new") == {None: 2}  # C2, C5
    assert _figures(south, "appointments_by_status") == {"no_show": 1, "cancelled": 1}
    assert _figures(south, "findings_by_category") == {"wohnraum": 1}  # caseless, author U2


def test_roles_case_manager_sees_own_team_lead_team_reception_nothing(ctx, seeded):
    st.set_threshold(ctx, 1)
    nora = ServiceContext(ctx.database, Actor(seeded["U1"], "Nora Nord", frozenset({"case_management"})))
    assert _figures(st.compute(nora, FIRST, LAST), "cases_new") == {None: 1}
    assert _figures(st.compute(nora, FIRST, LAST), "contacts_by_type") == {"persoenlich": 1, "telefon": 1}
    lead = ServiceContext(ctx.database, Actor(seeded["U3"], "Tilda Tal", frozenset({"team_lead"})))
    assert _figures(st.compute(lead, FIRST, LAST), "cases_new") == {None: 2}  # C2, C5 of Team Süd
    teams, managers = st.filter_options(nora)
    assert managers == [(seeded["U1"], "Nora Nord")]
    for roles in ({"reception"}, {"admin"}):
        other = ServiceContext(ctx.database, Actor("x", "X", frozenset(roles)))
        with pytest.raises(PermissionDeniedError):
            st.compute(other, FIRST, LAST)


def test_suppression_default_threshold(ctx):
    seed(ctx)
    result = st.compute(ctx, FIRST, LAST)
    assert result.threshold == 5
    new = result.indicator("cases_new").rows[0]
    assert (new.value, new.text, new.suppressed) == (None, "< 5", True)
    for item in result.indicators:
        for cell in [*item.rows, *([item.total] if item.total else [])]:
            if cell.suppressed:
                assert cell.value is None and cell.text in ("< 5", "x")
            else:
                assert cell.value == 0 or cell.value >= 5 or item.unit == "hours"
    # the JSON carries no suppressed number
    text = json.dumps(result.to_json())
    data = result.to_json()
    cells = [c for s in data["sections"] for i in s["indicators"] for c in i["rows"]]
    assert all(c["value"] is None for c in cells if c["suppressed"])
    assert '"text": "< 5"' in text


def test_secondary_suppression_and_threshold_setting(ctx):
    rows = [("a", 10, 10), ("b", 3, 3), ("c", 7, 7)]
    out = st._suppress(rows, "count", 5, with_total=True)
    assert [(k, v, t) for k, v, t, _s, _x in out] == [("a", 10, "10"), ("b", None, "< 5"), ("c", None, "x")]
    # two primary cells protect each other; without a total nothing more is needed
    out = st._suppress([("a", 10, 10), ("b", 3, 3), ("c", 2, 2)], "count", 5, with_total=True)
    assert [t for _k, _v, t, _s, _x in out] == ["10", "< 5", "< 5"]
    out = st._suppress(rows, "count", 5, with_total=False)
    assert [t for _k, _v, t, _s, _x in out] == ["10", "< 5", "7"]
    # hours are suppressed by the number of contacts behind them
    out = st._suppress([("a", 12.5, 4)], "hours", 5, with_total=False)
    assert out[0][2] == "< 5"
    st.set_threshold(ctx, 3)
    with ctx.read() as session:
        assert st.get_threshold(session) == 3
    for bad in (0, 51, "5", True):
        with pytest.raises(ValidationError, match="Mindestfallzahl"):
            st.set_threshold(ctx, bad)


def test_custom_counts(ctx, seeded):
    config = [
        {"id": "telefonate", "label": "Telefonate", "entity": "journal_entry", "field": "contact_type",
         "values": ["telefon"]},
        {"id": "abschluesse", "label": "Abschlüsse Ziele/Wegzug", "entity": "case", "field": "closure_reason",
         "values": ["wegzug", "ziele_erreicht"], "date_field": "closed_on", "group_by": "closure_reason"},
        {"id": "angenommen", "label": "Abgelehnte Vermittlungen", "entity": "referral", "field": "status",
         "values": ["rejected"]},
        {"id": "ausfall", "label": "Ausgefallene Termine", "entity": "appointment", "field": "status",
         "values": ["no_show", "cancelled"], "group_by": "status"},
    ]  # fmt: skip
    st.set_custom_counts(ctx, config)
    with ctx.read() as session:
        assert [c.id for c in st.get_custom_counts(session)] == [
            "telefonate",
            "abschluesse",
            "angenommen",
            "ausfall",
        ]
    result = st.compute(ctx, FIRST, LAST)
    assert _figures(result, "custom_telefonate") == {None: 1}
    assert _figures(result, "custom_abschluesse") == {"ziele_erreicht": 1, "wegzug": 1}
    assert result.indicator("custom_abschluesse").rows[0].label == "Ziele erreicht"
    assert _figures(result, "custom_angenommen") == {None: 1}
    assert _figures(result, "custom_ausfall") == {"no_show": 1, "cancelled": 1}
    assert result.indicator("custom_telefonate").section == "custom"
    admin_only = ServiceContext(ctx.database, Actor("x", "X", frozenset({"case_management"})))
    with pytest.raises(PermissionDeniedError):
        st.set_custom_counts(admin_only, config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"id": "x"}, "Liste"),
        ([["telefon"]], "Objekt"),
        ([{"id": "Bad Id", "label": "x", "entity": "case", "field": "phase", "values": ["intake"]}], "Kennung"),
        ([{"id": "a", "label": "", "entity": "case", "field": "phase", "values": ["intake"]}], "Bezeichnung"),
        ([{"id": "a", "label": "A", "entity": "person", "field": "sex", "values": ["f"]}], "Unbekannter Bereich"),
        ([{"id": "a", "label": "A", "entity": "journal_entry", "field": "text", "values": ["x"]}],
         "kann für Verlaufseinträge nicht gezählt werden"),
        ([{"id": "a", "label": "A", "entity": "case", "field": "phase; DROP TABLE person", "values": ["x"]}],
         "nicht gezählt"),
        ([{"id": "a", "label": "A", "entity": "case", "field": "phase", "values": []}], "values"),
        ([{"id": "a", "label": "A", "entity": "case", "field": "phase", "values": ["intake"], "sql": "1"}],
         "Unbekannte Angabe"),
        ([{"id": "a", "label": "A", "entity": "case", "field": "phase", "values": ["intake"],
           "date_field": "created_at"}], "Datumsfeld"),
        ([{"id": "cases_new", "label": "A", "entity": "case", "field": "phase", "values": ["intake"]}], "vergeben"),
        ([{"id": "a", "label": "A", "entity": "case", "field": "phase", "values": ["intake"]},
          {"id": "a", "label": "B", "entity": "case", "field": "phase", "values": ["closed"]}], "Nr. 2"),
    ],
)  # fmt: skip
def test_bad_custom_config_is_rejected_in_german(ctx, config, message):
    with pytest.raises(ValidationError, match=message):
        st.set_custom_counts(ctx, config)
    with ctx.read() as session:
        assert st.get_custom_counts(session) == []


def test_bad_period_and_unknown_filters(ctx, seeded):
    with pytest.raises(ValidationError, match="endet vor seinem Beginn"):
        st.compute(ctx, LAST, FIRST)
    with pytest.raises(st.UserError, match="Team"):
        st.compute(ctx, FIRST, LAST, team_id="nope")


def test_empty_database_gives_zeros(ctx):
    result = st.compute(ctx, FIRST, LAST)
    assert result.indicator("cases_new").rows[0].text == "0"
    assert result.indicator("closure_reasons").rows == []
    assert result.indicator("closure_reasons").total.text == "0"


def test_every_indicator_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "statistik.md").read_text(encoding="utf-8")
    for item in st.indicators():
        assert f"`{item.id}`" in doc, item.id
        assert item.label in doc, item.label
