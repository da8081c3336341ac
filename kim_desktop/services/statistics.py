"""Statistics for a period: aggregated counts only, with small numbers suppressed. No Qt.

Every indicator is defined in one place, ``indicators()`` below (documented for offices in
``docs/statistik.md``): an id, a German label, the section it belongs to, a description and one SQL aggregate
(``GROUP BY`` in the database, never a Python loop over the rows). Offices add their own counts without code:
a small declarative JSON list in the setting ``statistics.custom_counts`` ("count records of ENTITY whose FIELD
is one of VALUES"), checked against a whitelist of entities and fields (``CUSTOM_ENTITIES``) – no SQL from users.

Scope: the cases the actor may see (``permissions.visible_case_clause``: a case manager gets their own and
shared cases, a team lead the team's, ``Actor.local()`` everything), optionally narrowed to a team or one case
manager. Records hang off their case (journal entries, referrals, goals, assessments); appointments and
structural findings without a case count for their case manager or author.

Small-number suppression (``statistics.min_cell``, default 5): a cell whose underlying count is 1 to 4 is
shown as "< 5" and its number is dropped from the result, so no export can carry it. Secondary suppression,
kept simple: within one indicator that shows a total, when exactly one cell is suppressed, the next smallest
non-zero cell is suppressed as well (otherwise total minus the other cells would reveal it). Zero is shown as
0. Suppression does not look across indicators (documented limitation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, distinct, extract, func, literal, or_, select

from ..db.models import (
    Appointment,
    Assessment,
    Case,
    Goal,
    JournalEntry,
    Offer,
    Person,
    PersonNationality,
    Referral,
    Setting,
    StructuralFinding,
    Team,
    UserAccount,
)
from ..errors import UserError, ValidationError
from ..i18n import _, format_date, format_number
from . import audit
from .context import ServiceContext
from .localtime import range_bounds_utc
from .permissions import TEAM_LEAD, require, visible_case_clause

THRESHOLD_KEY = "statistics.min_cell"
CUSTOM_KEY = "statistics.custom_counts"
DEFAULT_THRESHOLD = 5
THRESHOLD_MAX = 50
CUSTOM_MAX = 50
UNKNOWN = "__unknown__"

AGE_BANDS = ("0-17", "18-26", "27-44", "45-64", "65+")


def section_labels() -> dict[str, str]:
    return {
        "cases": _("Fälle"),
        "closure": _("Abschluss und Zielerreichung"),
        "persons_intake": _("Personen bei Aufnahme"),
        "persons_closure": _("Personen bei Abschluss"),
        "life_areas": _("Lebensbereiche"),
        "contacts": _("Kontakte und Beratung"),
        "appointments": _("Termine"),
        "referrals": _("Vermittlungen"),
        "findings": _("Systemlücken"),
        "custom": _("Eigene Zählungen"),
    }


# --- the scope of one computation -------------------------------------------------------------------------


@dataclass
class Scope:
    """Period and filters of one computation, and the SQL conditions derived from them."""

    first: date
    last: date
    actor: Any
    team_id: str | None = None
    case_manager_id: str | None = None
    dialect: str = "sqlite"

    @property
    def rows_filtered(self) -> bool:
        """Whether only some cases count (permissions, team or case manager filter)."""
        return visible_case_clause(self.actor) is not None or bool(self.team_id) or bool(self.case_manager_id)

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        return range_bounds_utc(self.first, self.last)

    def case_conditions(self) -> list:
        """Conditions on ``Case``: live, visible to the actor, team and case manager filter."""
        conditions = [Case.deleted_at.is_(None)]
        visible = visible_case_clause(self.actor)
        if visible is not None:
            conditions.append(visible)
        if self.case_manager_id:
            conditions.append(Case.case_manager_id == self.case_manager_id)
        if self.team_id:
            manager_team = (
                select(UserAccount.team_id).where(UserAccount.id == Case.case_manager_id).scalar_subquery()
            )
            conditions.append(or_(Case.team_id == self.team_id, manager_team == self.team_id))
        return conditions

    def manager_condition(self, column):
        """For records without a case: the case manager/author column must be in scope."""
        conditions = []
        actor = self.actor
        if actor.user_id is not None:
            own = column == actor.user_id
            if TEAM_LEAD in actor.roles:
                my_team = select(UserAccount.team_id).where(UserAccount.id == actor.user_id).scalar_subquery()
                their_team = select(UserAccount.team_id).where(UserAccount.id == column).scalar_subquery()
                own = or_(own, their_team == my_team)
            conditions.append(own)
        if self.case_manager_id:
            conditions.append(column == self.case_manager_id)
        if self.team_id:
            conditions.append(
                select(UserAccount.team_id).where(UserAccount.id == column).scalar_subquery() == self.team_id
            )
        return and_(*conditions) if conditions else literal(True)

    # the case sets every indicator starts from
    def new_cases(self) -> list:
        return [*self.case_conditions(), Case.opened_on >= self.first, Case.opened_on <= self.last]

    def closed_cases(self) -> list:
        return [*self.case_conditions(), Case.closed_on.is_not(None), Case.closed_on >= self.first,
                Case.closed_on <= self.last]  # fmt: skip

    def active_cases(self) -> list:
        return [
            *self.case_conditions(),
            Case.opened_on <= self.last,
            or_(Case.closed_on.is_(None), Case.closed_on >= self.first),
        ]

    def case_or_manager(self, case_column, manager_column):
        """Records with a case in scope, or without a case and a manager/author in scope."""
        if not self.rows_filtered:  # every case counts: only the (few) deleted cases are left out
            deleted = select(Case.id).where(Case.deleted_at.is_not(None))
            return or_(case_column.is_(None), case_column.not_in(deleted))
        in_scope = select(Case.id).where(Case.id == case_column, *self.case_conditions()).exists()
        return or_(
            and_(case_column.is_not(None), in_scope),
            and_(case_column.is_(None), self.manager_condition(manager_column)),
        )


# --- indicators ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One statistic. ``query(scope)`` returns a SELECT of rows ``(key, value, n)``: the group key (None for a
    single figure), the value shown and the number of records behind it (what suppression looks at).
    ``labels(session)`` names the keys; ``total`` says whether a total row is shown."""

    id: str
    section: str
    label: str
    description: str
    query: Callable[[Scope], Any] | Derived
    labels: Callable[[Any], dict[str, str]] | None = None
    unit: str = "count"  # count|hours
    total: bool = True
    grouped: bool = True


def _count_by(key, *conditions, count=None):
    count = count if count is not None else func.count()
    return select(key.label("key"), count.label("value"), count.label("n")).where(*conditions).group_by(key)


def _single(count, *conditions, from_=None):
    stmt = select(literal(None).label("key"), count.label("value"), count.label("n"))
    if from_ is not None:
        stmt = stmt.select_from(from_)
    return stmt.where(*conditions)


def _age_band(on_column):
    age = extract("year", on_column) - Person.birth_year
    return case(
        (Person.birth_year.is_(None), literal(UNKNOWN)),
        (age < 18, literal("0-17")),
        (age < 27, literal("18-26")),
        (age < 45, literal("27-44")),
        (age < 65, literal("45-64")),
        else_=literal("65+"),
    )


def _first_nationality():
    return (
        select(PersonNationality.country_code)
        .where(PersonNationality.person_id == Case.person_id)
        .order_by(PersonNationality.sort_order, PersonNationality.country_code)
        .limit(1)
        .scalar_subquery()
    )


def _code_labels(list_name: str):
    def labels(session):
        from .codes import code_labels

        return code_labels(session, list_name, _language())

    return labels


def _language() -> str:
    from ..i18n import current_language

    return current_language()


def _static(mapping: Callable[[], dict[str, str]]):
    return lambda _session: mapping()


def sex_labels() -> dict[str, str]:
    return {
        "f": _("weiblich"),
        "m": _("männlich"),
        "d": _("divers"),
        "x": _("ohne Angabe"),
        "u": _("unbekannt"),
    }


def age_band_labels() -> dict[str, str]:
    return {
        "0-17": _("unter 18 Jahre"),
        "18-26": _("18 bis 26 Jahre"),
        "27-44": _("27 bis 44 Jahre"),
        "45-64": _("45 bis 64 Jahre"),
        "65+": _("65 Jahre und älter"),
    }


def goal_achievement_labels() -> dict[str, str]:
    return {"full": _("vollständig"), "partial": _("teilweise"), "none": _("nicht erreicht")}


def goal_status_labels() -> dict[str, str]:
    return {
        "open": _("offen"),
        "achieved": _("erreicht"),
        "partly": _("teilweise erreicht"),
        "not_achieved": _("nicht erreicht"),
        "dropped": _("verworfen"),
    }


def _phase_labels() -> dict[str, str]:
    from ..db.models import CASE_PHASES
    from .cases import phase_label

    return {p: phase_label(p) for p in CASE_PHASES}


def _appointment_status_labels() -> dict[str, str]:
    from .appointments import status_labels

    return status_labels()


def _referral_status_labels() -> dict[str, str]:
    from .referrals import status_labels

    return status_labels()


def _country_labels(_session) -> dict[str, str]:
    from ..i18n import countries

    return countries()


def _language_labels(_session) -> dict[str, str]:
    from ..i18n import languages

    return languages()


def _status_change_labels(session) -> dict[str, str]:
    from .codes import code_labels

    return _PairLabels(code_labels(session, "residence_status", _language()))


class _PairLabels(dict):
    """Labels for "from→to" keys built from a code list (missing keys are composed on lookup)."""

    def __init__(self, codes: dict[str, str]) -> None:
        super().__init__()
        self.codes = codes

    def get(self, key, default=None):  # type: ignore[override]
        if not isinstance(key, str) or "→" not in key:
            return default
        before, after = key.split("→", 1)
        name = lambda code: self.codes.get(code, code) if code != UNKNOWN else _("keine Angabe")  # noqa: E731
        return f"{name(before)} → {name(after)}"


def _journal_scope(s: Scope) -> list:
    conditions = [
        JournalEntry.deleted_at.is_(None),
        JournalEntry.system_generated.is_(False),
        JournalEntry.entry_date >= s.first,
        JournalEntry.entry_date <= s.last,
        JournalEntry.contact_type.is_not(None),
        JournalEntry.contact_type != "notiz",
    ]
    if s.rows_filtered:
        return [*conditions, *s.case_conditions()]
    # every case counts: no join per entry, only the (few) deleted cases are left out
    deleted = select(Case.id).where(Case.deleted_at.is_not(None))
    return [*conditions, JournalEntry.case_id.is_not(None), JournalEntry.case_id.not_in(deleted)]


def _journal_select(s: Scope, *columns):
    stmt = select(*columns).select_from(JournalEntry)
    return stmt.join(Case, Case.id == JournalEntry.case_id) if s.rows_filtered else stmt


def _appointment_scope(s: Scope) -> list:
    start, end = s.utc_bounds
    return [
        Appointment.deleted_at.is_(None),
        Appointment.busy_only.is_(False),
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        s.case_or_manager(Appointment.case_id, Appointment.case_manager_id),
    ]


def _referral_scope(s: Scope) -> list:
    return [
        Referral.deleted_at.is_(None),
        Referral.sent_on.is_not(None),
        Referral.sent_on >= s.first,
        Referral.sent_on <= s.last,
        *s.case_conditions(),
    ]


def _category_status_labels(session) -> dict[str, str]:
    from .codes import code_labels

    categories = code_labels(session, "offer_category", _language())
    statuses = _referral_status_labels()
    return {
        f"{c}|{st}": f"{categories.get(c, c)} – {statuses.get(st, st)}"
        for c in [*categories, UNKNOWN]
        for st in statuses
    } | {f"{UNKNOWN}|{st}": f"{_('ohne Angebot')} – {statuses.get(st, st)}" for st in statuses}


def _findings_by_category(s: Scope):
    return _count_by(
        StructuralFinding.category,
        StructuralFinding.deleted_at.is_(None),
        StructuralFinding.observed_on >= s.first,
        StructuralFinding.observed_on <= s.last,
        s.case_or_manager(StructuralFinding.case_id, StructuralFinding.author_id),
    )


def _goals_by(key_of, conditions_of):
    def query(s: Scope):
        key = func.coalesce(key_of(), UNKNOWN)
        return (
            select(key.label("key"), func.count().label("value"), func.count().label("n"))
            .select_from(Goal)
            .join(Case, Case.id == Goal.case_id)
            .where(Goal.deleted_at.is_(None), *conditions_of(s))
            .group_by(key)
        )

    return query


def _assessed_life_areas(s: Scope):
    cases = func.count(distinct(Assessment.case_id))
    return (
        select(Assessment.life_area.label("key"), cases.label("value"), cases.label("n"))
        .select_from(Assessment)
        .join(Case, Case.id == Assessment.case_id)
        .where(Assessment.deleted_at.is_(None), Assessment.need_level >= 1, *s.active_cases())
        .group_by(Assessment.life_area)
    )


def _goals_agreed_in_period(s: Scope) -> list:
    return [*s.case_conditions(), Goal.agreed_on >= s.first, Goal.agreed_on <= s.last]


# --- shared sources: one grouped query feeds several indicators ----------------------------------------------


@dataclass(frozen=True)
class Derived:
    """An indicator computed from a shared source query (``SOURCES``): the source runs once per computation and
    ``derive`` folds its (few) grouped rows into ``(key, value, n)``. Keeps a year at 100,000 persons to a dozen
    scans instead of one per indicator."""

    source: str
    derive: Callable[[list], list[tuple]]


def _fold(rows, keep, key_of, count_at: int = -1) -> list[tuple]:
    sums: dict = {}
    for row in rows:
        if keep(row):
            key = key_of(row)
            sums[key] = sums.get(key, 0) + row[count_at]
    return [(k, v, v) for k, v in sums.items()]


def _total(rows, keep, count_at: int = -1) -> list[tuple]:
    n = sum(row[count_at] for row in rows if keep(row))
    return [(None, n, n)]


def _or_unknown(value):
    return UNKNOWN if value is None else value


def _source_cases(s: Scope):
    """Cases active in the period, grouped by everything the case indicators need."""
    is_new = case((Case.opened_on >= s.first, 1), else_=0)
    is_closed = case((and_(Case.closed_on.is_not(None), Case.closed_on <= s.last), 1), else_=0)
    columns = (is_new, is_closed, Case.phase, Case.access_channel, Case.closure_reason, Case.goal_achievement,
               Case.residence_status_at_intake, Case.residence_status_at_closure)  # fmt: skip
    return select(*columns, func.count()).where(*s.active_cases()).group_by(*columns)


_NEW, _CLOSED = (lambda r: r[0] == 1), (lambda r: r[1] == 1)


def _cases_total(keep):
    return Derived("cases", lambda rows: _total(rows, keep))


def _cases_folded(keep, index: int):
    return Derived("cases", lambda rows: _fold(rows, keep, lambda r: _or_unknown(r[index])))


def _status_change_rows(rows):
    changed = lambda r: _CLOSED(r) and (r[6] or "") != (r[7] or "")  # noqa: E731
    return _fold(rows, changed, lambda r: f"{_or_unknown(r[6])}→{_or_unknown(r[7])}")


def _source_persons(on_column, status_column, cases_of):
    def query(s: Scope):
        columns = (_age_band(on_column), Person.sex, _first_nationality(), status_column)
        return (
            select(*columns, func.count(distinct(Case.person_id)))
            .select_from(Case)
            .join(Person, Person.id == Case.person_id)
            .where(*cases_of(s))
            .group_by(*columns)
        )

    return query


def _persons_folded(source: str, index: int):
    return Derived(source, lambda rows: _fold(rows, lambda r: True, lambda r: _or_unknown(r[index])))


def _interpreter_key(id_column, language_column):
    return case(
        (or_(id_column.is_not(None), language_column.is_not(None)), func.coalesce(language_column, UNKNOWN)),
        else_=None,
    )


def _source_journal(s: Scope):
    """Contacts of the period grouped by type, interpreter language and the (text of the) life-area list, in one
    scan without JSON functions: offices use few distinct lists, which ``_life_area_rows`` unpacks."""
    lang = _interpreter_key(JournalEntry.interpreter_id, JournalEntry.interpreter_language)
    columns = (JournalEntry.contact_type, lang, cast(JournalEntry.life_areas, String))
    minutes = func.coalesce(func.sum(JournalEntry.duration_min), 0)
    return _journal_select(s, *columns, minutes, func.count()).where(*_journal_scope(s)).group_by(*columns)


def _life_area_rows(rows) -> list[tuple]:
    import json

    counts: dict[str, int] = {}
    parsed: dict[str, list] = {}
    for _type, _lang, areas, _minutes, n in rows:
        if not areas:
            continue
        if areas not in parsed:
            try:
                value = json.loads(areas)
            except ValueError:
                value = None
            parsed[areas] = (
                sorted({a for a in value if isinstance(a, str)}) if isinstance(value, list) else []
            )
        for area in parsed[areas]:
            counts[area] = counts.get(area, 0) + n
    return [(k, v, v) for k, v in counts.items()]


def _hours_rows(rows, key_of):
    minutes: dict = {}
    counts: dict = {}
    for contact_type, _lang, _areas, total, n in rows:
        key = key_of(contact_type)
        minutes[key] = minutes.get(key, 0) + total
        counts[key] = counts.get(key, 0) + n
    return [(k, round(minutes[k] / 60, 1), counts[k]) for k in minutes] or [(key_of(None), 0, 0)]


def _source_appointments(s: Scope):
    lang = _interpreter_key(Appointment.interpreter_id, Appointment.interpreter_language)
    return (
        select(Appointment.status, lang, func.count())
        .where(*_appointment_scope(s))
        .group_by(Appointment.status, lang)
    )


def _source_referrals(s: Scope):
    columns = (
        func.coalesce(Offer.category, UNKNOWN),
        Referral.status,
        func.coalesce(Referral.outcome, UNKNOWN),
    )
    return (
        select(*columns, func.count())
        .select_from(Referral)
        .join(Case, Case.id == Referral.case_id)
        .outerjoin(Offer, Offer.id == Referral.offer_id)
        .where(*_referral_scope(s))
        .group_by(*columns)
    )


def _referrals_folded(key_of):
    return Derived("referrals", lambda rows: _fold(rows, lambda r: True, key_of))


SOURCES: dict[str, Callable[[Scope], Any]] = {
    "cases": _source_cases,
    "persons_intake": _source_persons(Case.opened_on, Case.residence_status_at_intake, Scope.new_cases),
    "persons_closure": _source_persons(Case.closed_on, Case.residence_status_at_closure, Scope.closed_cases),
    "journal": _source_journal,
    "appointments": _source_appointments,
    "referrals": _source_referrals,
}


def indicators() -> list[Indicator]:
    """The registry: every indicator KIM Desktop computes, in display order (see docs/statistik.md)."""
    residence = _code_labels("residence_status")
    return [
        # --- cases
        Indicator("cases_new", "cases", _("Neu aufgenommene Fälle"),
                  _("Fälle mit Eröffnungsdatum im Zeitraum."), _cases_total(_NEW), grouped=False),
        Indicator("cases_active", "cases", _("Aktive Fälle im Zeitraum"),
                  _("Fälle, die im Zeitraum mindestens einen Tag offen waren (eröffnet bis Zeitraumende, "
                    "nicht vor Zeitraumbeginn abgeschlossen)."), _cases_total(lambda r: True), grouped=False),
        Indicator("cases_closed", "cases", _("Abgeschlossene Fälle"),
                  _("Fälle mit Abschlussdatum im Zeitraum."), _cases_total(_CLOSED), grouped=False),
        Indicator("cases_new_by_access_channel", "cases", _("Neue Fälle nach Zugangsweg"),
                  _("Neu aufgenommene Fälle nach dem Zugangsweg bei der Aufnahme."),
                  _cases_folded(_NEW, 3), _code_labels("access_channel")),
        Indicator("cases_active_by_phase", "cases", _("Aktive Fälle nach aktueller Phase"),
                  _("Aktive Fälle des Zeitraums nach ihrer Phase zum Zeitpunkt der Auswertung."),
                  _cases_folded(lambda r: True, 2), _static(_phase_labels)),
        # --- closure
        Indicator("closure_reasons", "closure", _("Abschlussgründe"),
                  _("Abgeschlossene Fälle des Zeitraums nach Abschlussgrund."),
                  _cases_folded(_CLOSED, 4), _code_labels("closure_reason")),
        Indicator("goal_achievement", "closure", _("Zielerreichung bei Abschluss"),
                  _("Abgeschlossene Fälle nach Zielerreichung (vollständig: alle bewerteten Ziele erreicht; "
                    "teilweise: mindestens eines erreicht oder teilweise erreicht; keine Angabe: ohne bewertete "
                    "Ziele)."),
                  _cases_folded(_CLOSED, 5), _static(goal_achievement_labels)),
        Indicator("goals_at_closure", "closure", _("Ziele abgeschlossener Fälle nach Bewertung"),
                  _("Ziele der im Zeitraum abgeschlossenen Fälle nach ihrer Bewertung."),
                  _goals_by(lambda: Goal.status, Scope.closed_cases), _static(goal_status_labels)),
        # --- persons at intake / at closure
        *[
            Indicator(f"persons_{when}_by_{dim}", f"persons_{when}", label, description,
                      _persons_folded(f"persons_{when}", index), labels)
            for when in ("intake", "closure")
            for dim, index, label, description, labels in (
                ("age_band", 0, _("Personen nach Altersgruppe"),
                 _("Klient*innen der Fälle nach Alter im Jahr der Aufnahme bzw. des Abschlusses "
                   "(Geburtsjahr; ohne Geburtsjahr: keine Angabe)."), _static(age_band_labels)),
                ("sex", 1, _("Personen nach Geschlecht"), _("Klient*innen der Fälle nach Geschlecht."),
                 _static(sex_labels)),
                ("nationality", 2, _("Personen nach Staatsangehörigkeit"),
                 _("Klient*innen der Fälle nach der ersten erfassten Staatsangehörigkeit."), _country_labels),
            )
        ],
        Indicator("persons_intake_by_residence_status", "persons_intake", _("Aufenthaltsstatus bei Aufnahme"),
                  _("Klient*innen neuer Fälle nach dem bei der Aufnahme festgehaltenen Aufenthaltsstatus."),
                  _persons_folded("persons_intake", 3), residence),
        Indicator("persons_closure_by_residence_status", "persons_closure", _("Aufenthaltsstatus bei Abschluss"),
                  _("Klient*innen abgeschlossener Fälle nach dem beim Abschluss festgehaltenen Aufenthaltsstatus."),
                  _persons_folded("persons_closure", 3), residence),
        Indicator("residence_status_changes", "persons_closure", _("Statuswechsel zwischen Aufnahme und Abschluss"),
                  _("Abgeschlossene Fälle, deren Aufenthaltsstatus bei Abschluss ein anderer war als bei der "
                    "Aufnahme, nach Wechsel (z. B. Duldung → Aufenthaltserlaubnis §§ 25a/25b)."),
                  Derived("cases", _status_change_rows), _status_change_labels),
        # --- life areas
        Indicator("life_areas_assessed", "life_areas", _("Lebensbereiche mit Handlungsbedarf"),
                  _("Aktive Fälle mit Handlungsbedarf (Assessment, Stufe 1 bis 3) je Lebensbereich; ein Fall "
                    "zählt in jedem seiner Lebensbereiche."), _assessed_life_areas, _code_labels("life_area"),
                  total=False),
        Indicator("goals_by_life_area", "life_areas", _("Vereinbarte Ziele nach Lebensbereich"),
                  _("Im Zeitraum vereinbarte Ziele nach Lebensbereich."),
                  _goals_by(lambda: Goal.life_area, _goals_agreed_in_period), _code_labels("life_area")),
        Indicator("contacts_by_life_area", "life_areas", _("Kontakte nach Lebensbereich"),
                  _("Kontakte im Zeitraum nach den im Verlauf angegebenen Lebensbereichen; ein Kontakt zählt in "
                    "jedem seiner Lebensbereiche."),
                  Derived("journal", _life_area_rows),
                  _code_labels("life_area"),
                  total=False),
        # --- contacts
        Indicator("contacts_by_type", "contacts", _("Kontakte nach Art"),
                  _("Verlaufseinträge mit Kontaktart im Zeitraum (ohne Aktennotizen und vom Programm erzeugte "
                    "Einträge; vertrauliche Einträge zählen mit, ihr Inhalt nicht)."),
                  Derived("journal", lambda rows: _fold(rows, lambda r: True, lambda r: r[0])),
                  _code_labels("contact_type")),
        Indicator("counselling_hours", "contacts", _("Beratungsstunden"),
                  _("Summe der erfassten Dauer der Kontakte im Zeitraum in Stunden (eine Nachkommastelle)."),
                  Derived("journal", lambda rows: _hours_rows(rows, lambda _t: None)), unit="hours",
                  grouped=False),
        Indicator("counselling_hours_by_type", "contacts", _("Beratungsstunden nach Kontaktart"),
                  _("Stunden je Kontaktart; gesperrt wird nach der Zahl der Kontakte dahinter."),
                  Derived("journal", lambda rows: _hours_rows(rows, lambda t: t)), _code_labels("contact_type"),
                  unit="hours"),
        Indicator("interpreter_contacts", "contacts", _("Kontakte mit Sprachmittlung nach Sprache"),
                  _("Kontakte im Zeitraum, bei denen Sprachmittler*innen beteiligt waren, nach Sprache."),
                  Derived("journal", lambda rows: _fold(rows, lambda r: r[1] is not None, lambda r: r[1])),
                  _language_labels),
        # --- appointments
        Indicator("appointments_held", "appointments", _("Stattgefundene Termine"),
                  _("Termine im Zeitraum mit dem Status „stattgefunden“ (ohne importierte Belegt-Zeiten)."),
                  Derived("appointments", lambda rows: _total(rows, lambda r: r[0] == "held")), grouped=False),
        Indicator("appointments_missed", "appointments", _("Nicht wahrgenommene Termine"),
                  _("Termine im Zeitraum mit dem Status „nicht erschienen“."),
                  Derived("appointments", lambda rows: _total(rows, lambda r: r[0] == "no_show")), grouped=False),
        Indicator("appointments_by_status", "appointments", _("Termine nach Status"),
                  _("Alle Termine im Zeitraum nach Status."), Derived("appointments", lambda rows: _fold(rows, lambda r: True, lambda r: r[0])),
                  _static(_appointment_status_labels)),
        Indicator("appointment_interpreters", "appointments", _("Stattgefundene Termine mit Sprachmittlung"),
                  _("Stattgefundene Termine mit Sprachmittler*in nach Sprache."), Derived("appointments", lambda rows: _fold(rows, lambda r: r[0] == "held" and r[1] is not None,
                                                            lambda r: r[1])),
                  _language_labels),
        # --- referrals
        Indicator("referrals_by_category", "referrals", _("Vermittlungen nach Angebotskategorie"),
                  _("Im Zeitraum versandte Vermittlungen nach Kategorie des Angebots."),
                  _referrals_folded(lambda r: r[0]), _code_labels("offer_category")),
        Indicator("referrals_by_status", "referrals", _("Vermittlungen nach Stand"),
                  _("Im Zeitraum versandte Vermittlungen nach ihrem heutigen Stand."),
                  _referrals_folded(lambda r: r[1]), _static(_referral_status_labels)),
        Indicator("referrals_by_outcome", "referrals", _("Vermittlungen nach Ergebnis"),
                  _("Im Zeitraum versandte Vermittlungen nach der Rückmeldung des Trägers."),
                  _referrals_folded(lambda r: r[2]), _code_labels("referral_outcome")),
        Indicator("referrals_by_category_status", "referrals", _("Vermittlungen nach Kategorie und Stand"),
                  _("Kreuztabelle: versandte Vermittlungen je Angebotskategorie und Stand."),
                  _referrals_folded(lambda r: f"{r[0]}|{r[1]}"),
                  _category_status_labels),
        # --- structural findings
        Indicator("findings_by_category", "findings", _("Systemlücken nach Kategorie"),
                  _("Im Zeitraum beobachtete Systemlücken nach Kategorie."), _findings_by_category,
                  _code_labels("finding_category")),
    ]  # fmt: skip


# --- office-configured counts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entity:
    model: Any
    label: str
    date_fields: tuple[str, ...]
    fields: dict[str, str | None]  # field → code list (None: fixed values)


def custom_entities() -> dict[str, _Entity]:
    """The whitelist for ``statistics.custom_counts``: entities, the date fields that place a record in the
    period (the first is the default), and the fields whose values may be counted."""
    return {
        "journal_entry": _Entity(JournalEntry, _("Verlaufseinträge"), ("entry_date",),
                                 {"contact_type": "contact_type", "interpreter_language": None, "confidential": None}),
        "appointment": _Entity(Appointment, _("Termine"), ("starts_at",),
                               {"type": "appointment_type", "status": None, "interpreter_language": None}),
        "referral": _Entity(Referral, _("Vermittlungen"), ("sent_on", "answered_on"),
                            {"status": None, "outcome": "referral_outcome", "sent_via": None}),
        "case": _Entity(Case, _("Fälle"), ("opened_on", "closed_on"),
                        {"access_channel": "access_channel", "closure_reason": "closure_reason",
                         "goal_achievement": None, "phase": None, "residence_status_at_intake": "residence_status",
                         "residence_status_at_closure": "residence_status"}),
        "structural_finding": _Entity(StructuralFinding, _("Systemlücken"), ("observed_on",),
                                      {"category": "finding_category"}),
    }  # fmt: skip


@dataclass(frozen=True)
class CustomCount:
    id: str
    label: str
    entity: str
    field: str
    values: tuple[str, ...]
    date_field: str
    group_by: str | None = None

    def to_json(self) -> dict:
        data = {"id": self.id, "label": self.label, "entity": self.entity, "field": self.field,
                "values": list(self.values), "date_field": self.date_field}  # fmt: skip
        if self.group_by:
            data["group_by"] = self.group_by
        return data


_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def validate_custom_counts(config: Any) -> list[CustomCount]:
    """Check an office's configuration; raise ``ValidationError`` with a German message naming the entry."""
    if not isinstance(config, list):
        raise ValidationError({"custom_counts": _("Die eigenen Zählungen müssen eine Liste sein.")})
    if len(config) > CUSTOM_MAX:
        raise ValidationError(
            {"custom_counts": _("Höchstens {n} eigene Zählungen sind möglich.").format(n=CUSTOM_MAX)}
        )
    entities = custom_entities()
    builtin = {i.id for i in indicators()}
    result: list[CustomCount] = []
    seen: set[str] = set()
    for number, item in enumerate(config, start=1):

        def fail(message: str, number=number) -> None:
            raise ValidationError(
                {"custom_counts": _("Eigene Zählung Nr. {n}: {message}").format(n=number, message=message)}
            )

        if not isinstance(item, dict):
            fail(_("Jeder Eintrag muss ein Objekt mit id, label, entity, field und values sein."))
        unknown_keys = set(item) - {"id", "label", "entity", "field", "values", "date_field", "group_by"}
        if unknown_keys:
            fail(_("Unbekannte Angabe: {key}").format(key=sorted(unknown_keys)[0][:40]))
        ident = item.get("id")
        if not isinstance(ident, str) or not _ID.match(ident):
            fail(
                _(
                    "Die Kennung (id) muss mit einem Kleinbuchstaben beginnen und darf nur a–z, 0–9 und _ enthalten."
                )
            )
        if ident in seen or ident in builtin:
            fail(_("Die Kennung {id} ist bereits vergeben.").format(id=ident))
        seen.add(ident)
        label = item.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            fail(_("Bitte eine Bezeichnung (label) mit 1 bis 200 Zeichen angeben."))
        entity_name = item.get("entity")
        entity = entities.get(entity_name) if isinstance(entity_name, str) else None
        if entity is None:
            fail(_("Unbekannter Bereich (entity). Erlaubt: {allowed}.").format(allowed=", ".join(entities)))
        field_name = item.get("field")
        if field_name not in entity.fields:
            fail(_("Das Feld kann für {entity} nicht gezählt werden. Erlaubt: {allowed}.").format(
                entity=entity.label, allowed=", ".join(entity.fields)))  # fmt: skip
        values = item.get("values")
        if (
            not isinstance(values, list)
            or not values
            or len(values) > 100
            or not all(
                isinstance(v, str | bool) and (not isinstance(v, str) or 0 < len(v) <= 60) for v in values
            )
        ):
            fail(_("Bitte die gezählten Werte (values) als Liste von 1 bis 100 Codes angeben."))
        date_field = item.get("date_field", entity.date_fields[0])
        if date_field not in entity.date_fields:
            fail(
                _("Unbekanntes Datumsfeld. Erlaubt: {allowed}.").format(allowed=", ".join(entity.date_fields))
            )
        group_by = item.get("group_by")
        if group_by is not None and group_by not in entity.fields:
            fail(_("Nach diesem Feld kann nicht aufgeteilt werden. Erlaubt: {allowed}.").format(
                allowed=", ".join(entity.fields)))  # fmt: skip
        result.append(CustomCount(ident, label.strip(), entity_name, field_name,
                                  tuple(values), date_field, group_by))  # fmt: skip
    return result


def _custom_indicator(count: CustomCount) -> Indicator:
    entity = custom_entities()[count.entity]
    model = entity.model
    column = getattr(model, count.field)
    date_column = getattr(model, count.date_field)

    def query(s: Scope):
        if count.date_field == "starts_at":
            start, end = s.utc_bounds
            period = [date_column >= start, date_column < end]
        else:
            period = [date_column.is_not(None), date_column >= s.first, date_column <= s.last]
        conditions = [model.deleted_at.is_(None), column.in_(count.values), *period]
        if model is Case:
            conditions += s.case_conditions()
        elif model is JournalEntry or model is Referral:
            conditions.append(select(Case.id).where(Case.id == model.case_id, *s.case_conditions()).exists())
        elif model is Appointment:
            conditions.append(s.case_or_manager(Appointment.case_id, Appointment.case_manager_id))
        else:
            conditions.append(s.case_or_manager(StructuralFinding.case_id, StructuralFinding.author_id))
        if count.group_by:
            key = func.coalesce(getattr(model, count.group_by), UNKNOWN)
            return _count_by(key, *conditions)
        return _single(func.count(), *conditions, from_=model)

    labels = None
    if count.group_by:
        list_name = entity.fields[count.group_by]
        labels = _code_labels(list_name) if list_name else _fixed_field_labels(count.group_by)
    return Indicator(
        f"custom_{count.id}", "custom", count.label,
        _("Eigene Zählung der Dienststelle: {entity}, Feld {field} in {values}.").format(
            entity=entity.label, field=count.field, values=", ".join(str(v) for v in count.values)),
        query, labels, grouped=bool(count.group_by),
    )  # fmt: skip


def _fixed_field_labels(field_name: str):
    mapping = {
        "status": lambda: {**_appointment_status_labels(), **_referral_status_labels()},
        "phase": _phase_labels,
        "goal_achievement": goal_achievement_labels,
        "interpreter_language": lambda: {},
    }.get(field_name, lambda: {})
    if field_name == "interpreter_language":
        return _language_labels
    return _static(mapping)


def get_custom_counts(session) -> list[CustomCount]:
    row = session.get(Setting, CUSTOM_KEY)
    if row is None or not row.value:
        return []
    try:
        return validate_custom_counts(row.value)
    except ValidationError:
        return []  # a stored configuration that no longer fits the whitelist is ignored, not fatal


def set_custom_counts(ctx: ServiceContext, config: Any) -> list[CustomCount]:
    """Validate and store the office's own counts (replaces the whole list)."""
    require(ctx.actor, "settings.manage")
    counts = validate_custom_counts(config)
    with ctx.write() as session:
        row = session.get(Setting, CUSTOM_KEY)
        value = [c.to_json() for c in counts]
        if row is None:
            session.add(Setting(key=CUSTOM_KEY, value=value))
        else:
            row.value = value
        audit.record(
            session, "update", entity_type="setting", entity_id=CUSTOM_KEY, detail={"counts": len(counts)}
        )
    return counts


def get_threshold(session) -> int:
    row = session.get(Setting, THRESHOLD_KEY)
    if row is None or not isinstance(row.value, int) or isinstance(row.value, bool):
        return DEFAULT_THRESHOLD
    return max(1, min(THRESHOLD_MAX, row.value))


def set_threshold(ctx: ServiceContext, threshold: int) -> None:
    """Smallest count shown as a number (1 = no suppression)."""
    require(ctx.actor, "settings.manage")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= THRESHOLD_MAX:
        raise ValidationError(
            {
                "threshold": _("Die Mindestfallzahl muss eine ganze Zahl von 1 bis {max} sein.").format(
                    max=THRESHOLD_MAX
                )
            }
        )
    with ctx.write() as session:
        row = session.get(Setting, THRESHOLD_KEY)
        if row is None:
            session.add(Setting(key=THRESHOLD_KEY, value=threshold))
        else:
            row.value = threshold
        audit.record(
            session, "update", entity_type="setting", entity_id=THRESHOLD_KEY, detail={"value": threshold}
        )


# --- results and suppression ----------------------------------------------------------------------------


@dataclass
class Cell:
    """One figure. ``value`` is None when suppressed: the number never leaves the service."""

    key: str | None
    label: str
    value: float | int | None
    text: str
    suppressed: bool = False
    secondary: bool = False

    def to_json(self) -> dict:
        return {"key": self.key, "label": self.label, "value": self.value, "text": self.text,
                "suppressed": self.suppressed}  # fmt: skip


@dataclass
class IndicatorResult:
    id: str
    section: str
    label: str
    description: str
    unit: str
    rows: list[Cell]
    total: Cell | None

    def to_json(self) -> dict:
        return {
            "id": self.id, "section": self.section, "label": self.label, "unit": self.unit,
            "rows": [r.to_json() for r in self.rows], "total": self.total.to_json() if self.total else None,
        }  # fmt: skip


@dataclass
class StatisticsResult:
    first: date
    last: date
    team: str | None
    case_manager: str | None
    threshold: int
    indicators: list[IndicatorResult]
    generated_at: datetime = field(default_factory=datetime.now)

    def sections(self) -> list[tuple[str, str, list[IndicatorResult]]]:
        labels = section_labels()
        out: dict[str, list[IndicatorResult]] = {}
        for item in self.indicators:
            out.setdefault(item.section, []).append(item)
        return [(key, labels.get(key, key), items) for key, items in out.items()]

    def indicator(self, indicator_id: str) -> IndicatorResult:
        for item in self.indicators:
            if item.id == indicator_id:
                return item
        raise KeyError(indicator_id)

    def filter_text(self) -> str:
        parts = [
            _("Zeitraum {first} bis {last}").format(
                first=format_date(self.first), last=format_date(self.last)
            )
        ]
        if self.team:
            parts.append(_("Team: {team}").format(team=self.team))
        if self.case_manager:
            parts.append(_("Case Manager/in: {name}").format(name=self.case_manager))
        return " · ".join(parts)

    def suppression_text(self) -> str:
        if self.threshold <= 1:
            return _("Keine Sperrung kleiner Fallzahlen eingestellt.")
        return _(
            "Werte von 1 bis {m} werden als „< {n}“ ausgewiesen; zusätzlich gesperrte Werte als „x“."
        ).format(m=self.threshold - 1, n=self.threshold)

    def to_json(self) -> dict:
        return {
            "period": {"from": self.first.isoformat(), "to": self.last.isoformat()},
            "filters": {"team": self.team, "case_manager": self.case_manager},
            "suppression_threshold": self.threshold,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "sections": [
                {"id": key, "label": label, "indicators": [i.to_json() for i in items]}
                for key, label, items in self.sections()
            ],
        }


def format_value(value: float | int, unit: str) -> str:
    if unit == "hours":
        from babel.numbers import format_decimal

        return format_decimal(value, format="#,##0.0", locale="de_DE" if _language() == "de" else "en")
    return format_number(int(value))


def _suppress(rows: list[tuple[str | None, float, int]], unit: str, threshold: int, with_total: bool):
    """Rows ``(key, value, n)`` → list of (key, value or None, text, suppressed, secondary)."""
    primary = {i for i, (_k, _v, n) in enumerate(rows) if 0 < n < threshold}
    secondary: set[int] = set()
    if with_total and len(primary) == 1 and threshold > 1:
        others = sorted((n, i) for i, (_k, _v, n) in enumerate(rows) if n > 0 and i not in primary)
        if others:
            secondary.add(others[0][1])
    out = []
    for i, (key, value, _n) in enumerate(rows):
        if i in primary:
            out.append((key, None, f"< {threshold}", True, False))
        elif i in secondary:
            out.append((key, None, "x", True, True))
        else:
            out.append((key, value, format_value(value, unit), False, False))
    return out


# --- computation ----------------------------------------------------------------------------------------


def _check_period(first: date, last: date) -> None:
    if first > last:
        raise ValidationError({"period": _("Der Zeitraum endet vor seinem Beginn.")})
    if (last - first).days > 366 * 10:
        raise ValidationError({"period": _("Der Zeitraum darf höchstens zehn Jahre umfassen.")})


def compute(
    ctx: ServiceContext,
    first: date,
    last: date,
    *,
    team_id: str | None = None,
    case_manager_id: str | None = None,
    only: set[str] | None = None,
) -> StatisticsResult:
    """All indicators (and the office's own counts) for the period, aggregated and suppressed."""
    require(ctx.actor, "case.read")
    _check_period(first, last)
    with ctx.read() as session:
        team_name = manager_name = None
        if team_id:
            team = session.get(Team, team_id)
            if team is None or team.deleted_at is not None:
                raise UserError(_("Das Team wurde nicht gefunden."))
            team_name = team.name
        if case_manager_id:
            manager = session.get(UserAccount, case_manager_id)
            if manager is None:
                raise UserError(_("Die Case Manager/in wurde nicht gefunden."))
            manager_name = manager.display_name
        dialect = session.get_bind().dialect.name
        scope = Scope(first, last, ctx.actor, team_id, case_manager_id, dialect)
        threshold = get_threshold(session)
        registry = indicators() + [_custom_indicator(c) for c in get_custom_counts(session)]
        results = []
        cache: dict = {}
        for indicator in registry:
            if only is not None and indicator.id not in only:
                continue
            results.append(_evaluate(session, scope, indicator, threshold, cache))
        return StatisticsResult(first, last, team_name, manager_name, threshold, results)


def run_query(session, scope: Scope, query, cache: dict) -> list[tuple]:
    """Rows ``(key, value, n)`` of an indicator's query; shared sources run once per ``cache``."""
    if isinstance(query, Derived):
        if query.source not in cache:
            cache[query.source] = [tuple(row) for row in session.execute(SOURCES[query.source](scope))]
        return query.derive(cache[query.source])
    return [tuple(row) for row in session.execute(query(scope))]


def _evaluate(session, scope: Scope, indicator: Indicator, threshold: int, cache: dict) -> IndicatorResult:
    raw = [(row[0], row[1] or 0, row[2] or 0) for row in run_query(session, scope, indicator.query, cache)]
    if not indicator.grouped:
        key, value, n = raw[0] if raw else (None, 0, 0)
        cells = _suppress([(None, value, n)], indicator.unit, threshold, with_total=False)
        _k, v, text, suppressed, secondary = cells[0]
        cell = Cell(None, indicator.label, v, text, suppressed, secondary)
        return IndicatorResult(indicator.id, indicator.section, indicator.label, indicator.description,
                               indicator.unit, [cell], None)  # fmt: skip
    labels = indicator.labels(session) if indicator.labels else {}
    rows = [(str(k) if k is not None else UNKNOWN, v, n) for k, v, n in raw if n > 0]

    def label_of(key: str) -> str:
        if key == UNKNOWN:
            return _("keine Angabe")
        found = labels.get(key)
        return found if found else key

    order = list(labels)
    rows.sort(
        key=lambda r: (order.index(r[0]) if r[0] in order else len(order), r[0] == UNKNOWN, label_of(r[0]))
    )
    total_cell = None
    if indicator.total:
        total_value = sum(v for _k, v, _n in rows)
        total_n = sum(n for _k, _v, n in rows)
        if indicator.id.startswith("persons_"):  # distinct persons: the total is not a sum of rows
            key = "distinct_" + indicator.section
            if key not in cache:
                cache[key] = _distinct_persons(session, scope, indicator.id)
            total_value = total_n = cache[key]
        if indicator.unit == "hours":
            total_value = round(total_value, 1)
        t = _suppress([(None, total_value, total_n)], indicator.unit, threshold, with_total=False)[0]
        total_cell = Cell(None, _("Summe"), t[1], t[2], t[3])
    cells = [
        Cell(key, label_of(key), value, text, suppressed, secondary)
        for key, value, text, suppressed, secondary in _suppress(
            rows, indicator.unit, threshold, indicator.total
        )
    ]
    return IndicatorResult(indicator.id, indicator.section, indicator.label, indicator.description,
                           indicator.unit, cells, total_cell)  # fmt: skip


def _distinct_persons(session, scope: Scope, indicator_id: str) -> int:
    conditions = scope.new_cases() if "_intake_" in indicator_id else scope.closed_cases()
    return (
        session.scalar(select(func.count(distinct(Case.person_id))).select_from(Case).where(*conditions)) or 0
    )


def filter_options(ctx: ServiceContext) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Teams and case managers the filters may offer, as (id, name)."""
    require(ctx.actor, "case.read")
    with ctx.read() as session:
        teams = [(t.id, t.name) for t in session.scalars(
            select(Team).where(Team.deleted_at.is_(None)).order_by(Team.name))]  # fmt: skip
        stmt = select(UserAccount.id, UserAccount.display_name).where(UserAccount.deleted_at.is_(None))
        if ctx.actor.user_id is not None and TEAM_LEAD not in ctx.actor.roles:
            stmt = stmt.where(UserAccount.id == ctx.actor.user_id)
        managers = [(r[0], r[1]) for r in session.execute(stmt.order_by(UserAccount.display_name))]
    return teams, managers


__all__ = [
    "Cell",
    "CustomCount",
    "Indicator",
    "IndicatorResult",
    "StatisticsResult",
    "compute",
    "filter_options",
    "get_custom_counts",
    "get_threshold",
    "indicators",
    "set_custom_counts",
    "set_threshold",
    "validate_custom_counts",
]
