"""Case conference summary (Fallkonferenz, Lenkungsgruppe): structural findings and selected cases, anonymised.
No Qt.

What leaves: the structural findings of the period by category with their descriptions, and each selected case as
"Fall A", "Fall B", … with an age band, a residence status *category* (not the exact title), the phase, the
duration in whole months, the life areas with need for action, the goals as life area and rating (never their
wording), the referrals as offer category and state, and the number of contacts. What never leaves: names,
dates of birth, file numbers, exact dates, free text of goals or the journal, confidential entries.

Finding descriptions are free text written to be anonymous; as a safety net the names of the persons of the
finding's case, its file number, anything shaped like a file number and any written date are replaced by "[…]".
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from ..db.models import (
    Assessment,
    Case,
    CaseMember,
    CodeEntry,
    Goal,
    JournalEntry,
    Offer,
    Person,
    Referral,
    StructuralFinding,
)
from ..errors import NotFoundError, UserError
from ..i18n import _
from . import audit
from .context import ServiceContext
from .permissions import can_see_case, require
from .statistics import Scope, _check_period, age_band_labels, goal_status_labels

MAX_CASES = 26
REDACTED = "[…]"

#: residence status code → category (offices may set ``extra.category`` on their own codes).
RESIDENCE_CATEGORIES = {
    "gestattung": "asylum",
    "duldung": "toleration",
    "ausbildungsduldung": "toleration",
    "beschaeftigungsduldung": "toleration",
    "duldung_60b": "toleration",
    "chancen_aufenthaltsrecht": "permit",
    "bleiberecht_25a_25b": "permit",
    "schutz_24": "permit",
    "schutz_25_1_2": "permit",
    "abschiebungsverbot_25_3": "permit",
    "aufenthalt_25_5": "permit",
    "familiennachzug": "permit",
    "erwerb_ausbildung_studium": "permit",
    "niederlassung": "settled",
    "eu_freizuegigkeit": "eu",
    "deutsch": "german",
    "ungeklaert": "unknown",
}


def residence_category_labels() -> dict[str, str]:
    return {
        "asylum": _("Asylverfahren (Gestattung)"),
        "toleration": _("Duldung"),
        "permit": _("Aufenthaltserlaubnis"),
        "settled": _("unbefristeter Aufenthalt"),
        "eu": _("EU/EWR-Freizügigkeit"),
        "german": _("deutsche Staatsangehörigkeit"),
        "unknown": _("ungeklärt / keine Angabe"),
        "other": _("sonstiger Status"),
    }


@dataclass
class FindingGroup:
    category: str
    label: str
    descriptions: list[str]

    @property
    def count(self) -> int:
        return len(self.descriptions)


@dataclass
class AnonymousCase:
    alias: str
    age_band: str
    residence_category: str
    phase: str
    duration_months: int
    life_areas: list[str]
    goals: list[tuple[str, str]]  # (life area, rating)
    referrals: list[tuple[str, str]]  # (offer category, state)
    contacts: int

    def to_json(self) -> dict:
        return {
            "alias": self.alias, "age_band": self.age_band, "residence_category": self.residence_category,
            "phase": self.phase, "duration_months": self.duration_months, "life_areas": self.life_areas,
            "goals": [{"life_area": a, "rating": r} for a, r in self.goals],
            "referrals": [{"category": c, "state": s} for c, s in self.referrals], "contacts": self.contacts,
        }  # fmt: skip


@dataclass
class ConferenceSummary:
    first: date
    last: date
    findings: list[FindingGroup]
    cases: list[AnonymousCase]
    generated_at: datetime = field(default_factory=datetime.now)

    def to_json(self) -> dict:
        return {
            "period": {"from": self.first.isoformat(), "to": self.last.isoformat()},
            "findings": [{"category": g.category, "label": g.label, "count": g.count, "descriptions": g.descriptions}
                         for g in self.findings],
            "cases": [c.to_json() for c in self.cases],
        }  # fmt: skip


_DATE = re.compile(r"\b\d{1,2}\.\s?\d{1,2}\.\s?(\d{4}|\d{2})\b|\b\d{4}-\d{2}-\d{2}\b")
_FILE_NUMBER = re.compile(r"\b[A-ZÄÖÜ]{2,}[-/ ]?\d{2,4}[-/]\d{1,6}\b")


def scrub(text: str, names: set[str], file_numbers: set[str]) -> str:
    """Replace known names, file numbers and anything shaped like a date or a file number by ``[…]``."""
    for number in sorted(file_numbers, key=len, reverse=True):
        if number:
            text = re.sub(re.escape(number), REDACTED, text, flags=re.IGNORECASE)
    text = _FILE_NUMBER.sub(REDACTED, text)
    text = _DATE.sub(REDACTED, text)
    for name in sorted(names, key=len, reverse=True):
        if len(name) >= 2:
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REDACTED, text, flags=re.IGNORECASE)
    return text


def _name_tokens(family: str, given: str, birth_name: str | None) -> set[str]:
    tokens = set()
    for part in (family, given, birth_name or ""):
        part = part.strip()
        if part:
            tokens.add(part)
            tokens.update(t for t in re.split(r"[\s\-]+", part) if len(t) >= 2)
    return tokens


def _aliases():
    for letter in string.ascii_uppercase:
        yield _("Fall {letter}").format(letter=letter)


def case_conference_summary(
    ctx: ServiceContext,
    first: date,
    last: date,
    *,
    case_ids: list[str] | tuple[str, ...] = (),
    team_id: str | None = None,
    today: date | None = None,
) -> ConferenceSummary:
    """The anonymised summary for a case conference or steering group (see the module docstring)."""
    require(ctx.actor, "case.read")
    _check_period(first, last)
    if len(case_ids) > MAX_CASES:
        raise UserError(
            _("Höchstens {n} Fälle können in eine Zusammenfassung aufgenommen werden.").format(n=MAX_CASES)
        )
    today = today or date.today()
    with ctx.write() as session:
        from .codes import code_labels

        scope = Scope(first, last, ctx.actor, team_id, None, session.get_bind().dialect.name)
        categories = code_labels(session, "finding_category")
        rows = session.execute(
            select(StructuralFinding.category, StructuralFinding.description, StructuralFinding.case_id)
            .where(
                StructuralFinding.deleted_at.is_(None),
                StructuralFinding.observed_on >= first,
                StructuralFinding.observed_on <= last,
                scope.case_or_manager(StructuralFinding.case_id, StructuralFinding.author_id),
            )
            .order_by(StructuralFinding.observed_on, StructuralFinding.id)
        ).all()
        finding_cases = {r.case_id for r in rows if r.case_id}
        names: dict[str, set[str]] = {}
        numbers: dict[str, str] = {}
        if finding_cases:
            names, numbers = _identifiers(session, finding_cases)
        all_numbers = set(numbers.values())
        groups: dict[str, FindingGroup] = {}
        for category, description, case_id in rows:
            group = groups.setdefault(
                category, FindingGroup(category, categories.get(category, category), [])
            )
            group.descriptions.append(scrub(description or "", names.get(case_id, set()), all_numbers))
        order = list(categories)
        findings = sorted(
            groups.values(), key=lambda g: order.index(g.category) if g.category in order else 999
        )

        cases = []
        aliases = _aliases()
        seen: set[str] = set()
        for case_id in case_ids:
            if case_id in seen:
                continue
            seen.add(case_id)
            case = session.get(Case, case_id)
            if case is None or case.deleted_at is not None:
                raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
            if not can_see_case(session, ctx.actor, case):
                from .permissions import PermissionDeniedError

                raise PermissionDeniedError("case.read")
            cases.append(_anonymous_case(session, case, next(aliases), today))
            audit.record(
                session, "export", entity_type="case_conference", entity_id=case.id, person_id=case.person_id,
                case_id=case.id, detail={"findings": len(rows), "cases": len(case_ids)},
            )  # fmt: skip
        if not case_ids:
            audit.record(
                session, "export", entity_type="case_conference", detail={"findings": len(rows), "cases": 0}
            )
        return ConferenceSummary(first, last, findings, cases)


def _identifiers(session, case_ids: set[str]) -> tuple[dict[str, set[str]], dict[str, str]]:
    names: dict[str, set[str]] = {}
    numbers: dict[str, str] = {}
    for case_id, number, family, given, birth_name in session.execute(
        select(Case.id, Case.file_number, Person.family_name, Person.given_names, Person.birth_name)
        .join(Person, Person.id == Case.person_id)
        .where(Case.id.in_(case_ids))
    ):
        numbers[case_id] = number
        names.setdefault(case_id, set()).update(_name_tokens(family, given, birth_name))
    for case_id, family, given, birth_name in session.execute(
        select(CaseMember.case_id, Person.family_name, Person.given_names, Person.birth_name)
        .join(Person, Person.id == CaseMember.person_id)
        .where(CaseMember.case_id.in_(case_ids))
    ):
        names.setdefault(case_id, set()).update(_name_tokens(family, given, birth_name))
    return names, numbers


def _residence_category(session, code: str | None) -> str:
    labels = residence_category_labels()
    if not code:
        return labels["unknown"]
    key = RESIDENCE_CATEGORIES.get(code)
    if key is None:
        extra = session.scalar(
            select(CodeEntry.extra).where(CodeEntry.list_name == "residence_status", CodeEntry.code == code)
        )
        key = (extra or {}).get("category") if isinstance(extra, dict) else None
    return labels.get(key or "other", labels["other"])


def _anonymous_case(session, case: Case, alias: str, today: date) -> AnonymousCase:
    from .cases import phase_label
    from .codes import code_labels
    from .referrals import status_labels

    person = session.get(Person, case.person_id)
    bands = age_band_labels()
    if person is None or person.birth_year is None:
        band = _("keine Angabe")
    else:
        age = today.year - person.birth_year
        band = bands["0-17" if age < 18 else "18-26" if age < 27 else "27-44" if age < 45 else "45-64" if age < 65
                     else "65+"]  # fmt: skip
    until = case.closed_on or today
    months = max(0, (until.year - case.opened_on.year) * 12 + until.month - case.opened_on.month)
    areas = code_labels(session, "life_area")
    needed = session.scalars(
        select(Assessment.life_area).where(
            Assessment.case_id == case.id, Assessment.deleted_at.is_(None), Assessment.need_level >= 1
        )
    ).all()
    goal_rows = session.execute(
        select(Goal.life_area, Goal.status)
        .where(Goal.case_id == case.id, Goal.deleted_at.is_(None))
        .order_by(Goal.sort_order, Goal.id)
    ).all()
    ratings = goal_status_labels()
    goals = [(areas.get(a, _("ohne Lebensbereich")) if a else _("ohne Lebensbereich"), ratings.get(s, s))
             for a, s in goal_rows]  # fmt: skip
    life_areas = [areas[a] for a in areas if a in set(needed) | {g[0] for g in goal_rows if g[0]}]
    categories = code_labels(session, "offer_category")
    states = status_labels()
    referral_rows = session.execute(
        select(Offer.category, Referral.status)
        .select_from(Referral)
        .outerjoin(Offer, Offer.id == Referral.offer_id)
        .where(Referral.case_id == case.id, Referral.deleted_at.is_(None), Referral.status != "draft")
        .order_by(Referral.sent_on, Referral.id)
    ).all()
    referrals = [(categories.get(c, _("ohne Angebot")) if c else _("ohne Angebot"), states.get(s, s))
                 for c, s in referral_rows]  # fmt: skip
    contacts = session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(
            JournalEntry.case_id == case.id,
            JournalEntry.deleted_at.is_(None),
            JournalEntry.system_generated.is_(False),
            JournalEntry.contact_type.is_not(None),
        )
    )
    return AnonymousCase(
        alias, band, _residence_category(session, case.residence_status_at_closure or person.residence_status
                                         if person else None),
        phase_label(case.phase), months, life_areas, goals, referrals, contacts or 0,
    )  # fmt: skip
