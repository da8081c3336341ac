"""Duplicate scoring: is a new person probably someone already recorded?

Candidates come from the search index (family name or given names by folded token or phonetic key, so
swapped name order is found too). Each candidate is scored; the weights and the threshold below are the
documented model (docs/decisions/006-duplicate-scoring.md). Precision and recall are measured in
``tests/test_duplicate_scoring.py`` on a labelled set of name variants.

Score = family + given + birth + phone + nationality, where

=====================  ====================================================================  =======
component              condition                                                             points
=====================  ====================================================================  =======
family name            a folded token in common (Müller = Mueller)                           0.40
                       same phonetic key (Mohammadi / Muhammadi)                              0.32
                       matches the other's *given* names instead (swapped order)              0.28
given names            a folded token in common                                               0.30
                       same phonetic key                                                      0.24
                       missing on one side                                                    0.15
                       both known, nothing in common (siblings!)                             −0.30
birth date             equal full dates                                                       0.30
                       compatible partial dates (year only, ``01.01.`` placeholder)          0.20
                       unknown on one side                                                    0.10
                       incompatible                                                          −1.00
phone                  same digits                                                            0.20
nationality            a nationality in common                                                0.05
=====================  ====================================================================  =======

``THRESHOLD`` = 0.60: same name + compatible or unknown birth date is a probable duplicate; siblings (same
family name, other given names) and namesakes with another birth date are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, union
from sqlalchemy.orm import aliased

from ..db.models import Person, PersonNameVariant, PersonNationality, SearchKey
from . import names
from .dates import PartialDate
from .permissions import require_session

THRESHOLD = 0.60
CANDIDATE_LIMIT = 2000

W_FAMILY_TOKEN, W_FAMILY_PHONETIC, W_FAMILY_SWAPPED = 0.40, 0.32, 0.28
W_GIVEN_TOKEN, W_GIVEN_PHONETIC, W_GIVEN_MISSING, W_GIVEN_MISMATCH = 0.30, 0.24, 0.15, -0.30
W_BIRTH_EQUAL, W_BIRTH_COMPATIBLE, W_BIRTH_UNKNOWN, W_BIRTH_CONFLICT = 0.30, 0.20, 0.10, -1.00
W_PHONE, W_NATIONALITY = 0.20, 0.05


@dataclass
class NameKeys:
    tokens: set[str]
    codes: set[str]

    @classmethod
    def of(cls, *texts: str | None) -> NameKeys:
        toks: set[str] = set()
        for text in texts:
            for variant in names.fold_variants(text or ""):
                toks.update(names.tokens(variant))
            toks.update(names.tokens(text or ""))
        # One- and two-letter particles (al, el, de) say nothing about identity, unless they are all there is
        # (Vietnamese family names: Hồ, Lý, Vũ, Lê).
        longer = {t for t in toks if len(t) > 2}
        toks = longer or toks
        return cls(toks, {c for t in toks if len(c := names.phonetic_key(t)) >= 2})

    def __bool__(self) -> bool:
        return bool(self.tokens)


def _name_points(a: NameKeys, b: NameKeys, token: float, phonetic: float) -> float:
    if a.tokens & b.tokens:
        return token
    if a.codes & b.codes:
        return phonetic
    return 0.0


def placeholder_free(birth: PartialDate | None) -> PartialDate | None:
    """``01.01.YYYY`` is often a placeholder in documents: compare it as year only."""
    if birth is not None and birth.day == 1 and birth.month == 1:
        return PartialDate(birth.year)
    return birth


def birth_points(a: PartialDate | None, b: PartialDate | None) -> float:
    if a is None or b is None:
        return W_BIRTH_UNKNOWN
    if a.is_full and a == b:
        return W_BIRTH_EQUAL
    if placeholder_free(a).compatible_with(placeholder_free(b)):
        return W_BIRTH_COMPATIBLE
    return W_BIRTH_CONFLICT


@dataclass
class PersonFacts:
    """What the scoring looks at, for a stored person or for a new entry."""

    family: NameKeys
    given: NameKeys
    birth: PartialDate | None
    phone: str = ""
    nationalities: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        family_name: str,
        given_names: str,
        birth: PartialDate | None,
        phone: str | None = None,
        nationalities: list[str] | tuple[str, ...] = (),
        variants: list[tuple[str, str]] | tuple = (),
    ) -> PersonFacts:
        return cls(
            NameKeys.of(family_name, *(f for f, _g in variants)),
            NameKeys.of(given_names, *(g for _f, g in variants)),
            birth,
            names.digits(phone or ""),
            frozenset(nationalities),
        )


def score(new: PersonFacts, old: PersonFacts) -> float:
    family = _name_points(new.family, old.family, W_FAMILY_TOKEN, W_FAMILY_PHONETIC)
    swapped = False
    if family == 0.0:
        swapped = bool(
            _name_points(new.family, old.given, 1, 1) and _name_points(new.given, old.family, 1, 1)
        )
        family = W_FAMILY_SWAPPED if swapped else 0.0
    if family == 0.0:
        return 0.0
    if swapped:
        given = W_GIVEN_TOKEN  # the given names matched the other's family name
    elif not new.given or not old.given:
        given = W_GIVEN_MISSING
    else:
        given = _name_points(new.given, old.given, W_GIVEN_TOKEN, W_GIVEN_PHONETIC) or W_GIVEN_MISMATCH
    total = family + given + birth_points(new.birth, old.birth)
    if new.phone and len(new.phone) >= 6 and new.phone == old.phone:
        total += W_PHONE
    if new.nationalities & old.nationalities:
        total += W_NATIONALITY
    return round(total, 4)


@dataclass
class DuplicateCandidate:
    id: str
    family_name: str
    given_names: str
    birth_date: PartialDate | None
    city: str | None
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family_name": self.family_name,
            "given_names": self.given_names,
            "birth_date": self.birth_date.iso() if self.birth_date else None,
            "city": self.city,
            "score": round(self.score, 2),
        }


def find_duplicates(
    session,
    family_name: str,
    given_names: str,
    birth: PartialDate | None,
    *,
    phone: str | None = None,
    nationalities: list[str] | tuple[str, ...] = (),
    exclude_id: str | None = None,
    threshold: float = THRESHOLD,
) -> list[DuplicateCandidate]:
    """Stored persons scoring at least ``threshold`` against the entry, best first."""
    require_session(session, "person.read_basic")
    new = PersonFacts.of(family_name, given_names, birth, phone, nationalities)
    if not new.family and not new.given:
        return []
    family_keys = sorted({f"n:{t}" for t in new.family.tokens} | {f"p:{c}" for c in new.family.codes})
    given_keys = sorted({f"n:{t}" for t in new.given.tokens} | {f"p:{c}" for c in new.given.codes})
    # Persons matching the family name AND the given names (in either field: the index does not tell them
    # apart, which also finds swapped order), plus those recorded without given names. A person matching
    # only one of the two cannot reach the threshold, so the candidate set stays small and the check fast.
    sk, sk2 = aliased(SearchKey), aliased(SearchKey)
    live = [Person.deleted_at.is_(None), Person.merged_into_id.is_(None)]
    if birth is not None:
        # A known, different birth year scores -1.00 and can never reach the threshold: filter it in SQL,
        # before the candidate cap, so common names do not flood the check.
        live.append(Person.birth_year.is_(None) | (Person.birth_year == birth.year))
    if exclude_id:
        live.append(Person.id != exclude_id)
    if family_keys and given_keys:
        with_given = (
            select(Person.id)
            .join(sk, sk.person_id == Person.id)
            .where(
                sk.key.in_(family_keys),
                exists().where(sk2.person_id == sk.person_id, sk2.key.in_(given_keys)),
                *live,
            )
        )
        without_given = (
            select(Person.id)
            .join(sk2, sk2.person_id == Person.id)
            .where(sk2.key.in_(family_keys), Person.given_names == "", *live)
        )
        stmt = union(with_given, without_given)
    else:
        stmt = (
            select(Person.id)
            .join(sk, sk.person_id == Person.id)
            .where(sk.key.in_(family_keys or given_keys), *live)
        )
    ids = list(session.scalars(select(stmt.subquery().c[0]).distinct().limit(CANDIDATE_LIMIT)))
    if not ids:
        return []
    # Plain columns, not ORM objects: the check runs while the counsellor types.
    variants: dict[str, list[tuple[str, str]]] = {}
    for pid, family, given in session.execute(
        select(
            PersonNameVariant.person_id, PersonNameVariant.family_name, PersonNameVariant.given_names
        ).where(PersonNameVariant.person_id.in_(ids))
    ):
        variants.setdefault(pid, []).append((family, given))
    countries: dict[str, list[str]] = {}
    for pid, code in session.execute(
        select(PersonNationality.person_id, PersonNationality.country_code).where(
            PersonNationality.person_id.in_(ids)
        )
    ):
        countries.setdefault(pid, []).append(code)
    candidates = []
    for pid, family, given, year, month, day, phone_number, city in session.execute(
        select(
            Person.id, Person.family_name, Person.given_names, Person.birth_year, Person.birth_month,
            Person.birth_day, Person.phone, Person.city,
        ).where(Person.id.in_(ids))
    ):  # fmt: skip
        old_birth = PartialDate.from_parts(year, month, day)
        old = PersonFacts.of(
            family, given, old_birth, phone_number, countries.get(pid, ()), variants.get(pid, ())
        )
        value = score(new, old)
        if value >= threshold:
            candidates.append(DuplicateCandidate(pid, family, given, old_birth, city, value))
    candidates.sort(key=lambda c: (-c.score, c.family_name, c.given_names, c.id))
    return candidates
