"""Households and family relations; the members of a case (a case for the whole household).

A person belongs to at most one household here (``household_member``). ``add_member`` puts two persons into
one household (creating "Haushalt <Familienname>" when neither has one) and records their relation in both
directions. A ``PersonRelation`` row reads "``related_person`` is the ``relation`` of ``person``", so

    add_member(ctx, mother, son, "child")

writes (mother, son, ``child``) and (son, mother, ``parent``). A guardian's ward is recorded as ``other``
(there is no code for "Mündel"). Relations are family facts: leaving a household (``remove_member``) keeps
them. Every write is audited (``audit.record``) in the same transaction; ``detail`` holds codes and ids only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..db.models import Case, CaseMember, Household, HouseholdMember, Person, PersonRelation
from ..errors import NotFoundError, UserError, ValidationError
from ..i18n import _
from . import audit
from .context import ServiceContext
from .dates import PartialDate
from .permissions import ensure_case_id_visible, ensure_case_visible, require, require_session

# In the order the UI offers them.
RELATIONS = ("spouse", "child", "parent", "sibling", "guardian", "other")
INVERSE = {
    "spouse": "spouse",
    "child": "parent",
    "parent": "child",
    "sibling": "sibling",
    "guardian": "other",  # the ward
    "other": "other",
}
# Household roles (head|partner|child|other) of (person, member) when a new household is created for them.
_NEW_HOUSEHOLD_ROLES = {
    "spouse": ("head", "partner"),
    "child": ("head", "child"),
    "parent": ("child", "head"),
    "sibling": ("head", "other"),
    "guardian": ("other", "head"),
    "other": ("head", "other"),
}
# The role of someone joining an existing household, by what they are to the person already in it.
_JOINING_ROLE = {"spouse": "partner", "child": "child"}


def relation_label(relation: str | None) -> str:
    """What a member is to the person, as the UI shows it (``None``: no relation recorded)."""
    if relation is None:
        return _("ohne Angabe")
    return {
        "spouse": _("Ehepartner/in"),
        "child": _("Kind"),
        "parent": _("Elternteil"),
        "sibling": _("Geschwister"),
        "guardian": _("Vormund/in"),
        "other": _("andere"),
    }.get(relation, relation)


@dataclass
class HouseholdMemberView:
    """A member of a person's household and what the member is to that person."""

    household_id: str
    person_id: str
    family_name: str
    given_names: str
    birth: PartialDate | None
    role: str | None
    relation: str | None  # the member is the <relation> of the person asked about; None: not recorded

    @property
    def name(self) -> str:
        return f"{self.family_name}, {self.given_names}" if self.given_names else self.family_name

    @property
    def relation_label(self) -> str:
        return relation_label(self.relation)


# --- reading --------------------------------------------------------------------------------------------


def household_id_of(session, person_id: str) -> str | None:
    """The (live) household the person belongs to, or ``None``."""
    require_session(session, "person.read_basic")
    return session.scalar(
        select(Household.id)
        .join(HouseholdMember, HouseholdMember.household_id == Household.id)
        .where(HouseholdMember.person_id == person_id, Household.deleted_at.is_(None))
        .order_by(Household.created_at, Household.id)
        .limit(1)
    )


def household_of(session, person_id: str) -> list[HouseholdMemberView]:
    """The other members of the person's household, with their relation to the person.

    Ordered by relation (spouse, children, parents, siblings, guardian, others, not recorded), then birth and
    name. Deleted and merged-away persons are left out. Not audited: names and birth dates only, as in the
    person list (``person.read_basic``).
    """
    require_session(session, "person.read_basic")
    household_id = household_id_of(session, person_id)
    if household_id is None:
        return []
    relations = dict(
        session.execute(
            select(PersonRelation.related_person_id, PersonRelation.relation).where(
                PersonRelation.person_id == person_id
            )
        ).all()
    )
    rows = session.execute(
        select(
            Person.id,
            Person.family_name,
            Person.given_names,
            Person.birth_year,
            Person.birth_month,
            Person.birth_day,
            Person.sort_name,
            HouseholdMember.role,
        )  # fmt: skip
        .join(HouseholdMember, HouseholdMember.person_id == Person.id)
        .where(
            HouseholdMember.household_id == household_id,
            Person.id != person_id,
            Person.deleted_at.is_(None),
            Person.merged_into_id.is_(None),
        )
    ).all()
    members = []
    for pid, family, given, year, month, day, sort_name, role in rows:
        birth = PartialDate.from_parts(year, month, day)
        view = HouseholdMemberView(household_id, pid, family, given or "", birth, role, relations.get(pid))
        order = RELATIONS.index(view.relation) if view.relation in RELATIONS else len(RELATIONS)
        members.append(((order, birth.earliest().toordinal() if birth else 0, sort_name or "", pid), view))
    return [view for _key, view in sorted(members, key=lambda item: item[0])]


def case_members(session, case_id: str) -> list[str]:
    """Ids of the persons a case is about (the client first, then the others by name). Case content:
    ``case.read`` and a visible case."""
    ensure_case_id_visible(session, case_id)
    case = session.get(Case, case_id)
    ids = list(
        session.scalars(
            select(CaseMember.person_id)
            .join(Person, Person.id == CaseMember.person_id)
            .where(CaseMember.case_id == case_id)
            .order_by(Person.sort_name, Person.id)
        )
    )
    if case is not None and case.person_id in ids:
        ids.remove(case.person_id)
        ids.insert(0, case.person_id)
    return ids


# --- checks ---------------------------------------------------------------------------------------------


def _live_person(session, person_id: str) -> Person:
    person = session.get(Person, person_id) if person_id else None
    if person is None or person.deleted_at is not None or person.merged_into_id is not None:
        raise NotFoundError(_("Keine Person mit dieser Kennung gefunden."))
    return person


def _check_relation(relation: str) -> None:
    if relation not in RELATIONS:
        raise ValidationError(
            {
                "relation": _("Unbekannte Beziehung: {relation} (erlaubt: {allowed}).").format(
                    relation=str(relation)[:30], allowed=", ".join(RELATIONS)
                )
            }
        )


def check_member(session, person_id: str, member_id: str, relation: str) -> HouseholdMemberView:
    """What ``add_member`` would add, without writing; raises the same German errors it would."""
    require_session(session, "person.write")
    if person_id == member_id:
        raise UserError(_("Eine Person kann nicht ihr eigenes Haushaltsmitglied sein."))
    _check_relation(relation)
    _live_person(session, person_id)
    member = _live_person(session, member_id)
    own, theirs = household_id_of(session, person_id), household_id_of(session, member_id)
    if own is not None and theirs is not None and own != theirs:
        raise UserError(
            _(
                "Die beiden Personen gehören zu verschiedenen Haushalten. "
                "Bitte nehmen Sie eine von ihnen zuerst aus ihrem Haushalt heraus."
            )
        )
    birth = PartialDate.from_parts(member.birth_year, member.birth_month, member.birth_day)
    return HouseholdMemberView(own or theirs or "", member.id, member.family_name, member.given_names or "", birth,
                               None, relation)  # fmt: skip


# --- writing --------------------------------------------------------------------------------------------


def _set_relation(session, person_id: str, related_id: str, relation: str) -> bool:
    """Make ``relation`` the only relation recorded from ``person_id`` to ``related_id``; True if changed."""
    current = list(
        session.scalars(
            select(PersonRelation).where(
                PersonRelation.person_id == person_id, PersonRelation.related_person_id == related_id
            )
        )
    )
    if [r.relation for r in current] == [relation]:
        return False
    for row in current:
        if row.relation != relation:
            session.delete(row)
    if not any(r.relation == relation for r in current):
        session.add(PersonRelation(person_id=person_id, related_person_id=related_id, relation=relation))
    return True


def add_member(ctx: ServiceContext, person_id: str, member_id: str, relation: str) -> str:
    """Put ``member_id`` into ``person_id``'s household as their ``relation``; returns the household id.

    Creates "Haushalt <Familienname>" when neither person has a household; refuses persons who already
    belong to two different households. Idempotent: a second call with the same values changes nothing. A
    different relation between the two replaces the recorded one (both directions).
    """
    require(ctx.actor, "person.write")
    with ctx.write() as session:
        check_member(session, person_id, member_id, relation)
        person = _live_person(session, person_id)
        own, theirs = household_id_of(session, person_id), household_id_of(session, member_id)
        changed: dict[str, object] = {}
        if own is None and theirs is None:
            household = Household(label=f"Haushalt {person.family_name}"[:200])
            session.add(household)
            session.flush()
            person_role, member_role = _NEW_HOUSEHOLD_ROLES[relation]
            session.add(HouseholdMember(household_id=household.id, person_id=person_id, role=person_role))
            session.add(HouseholdMember(household_id=household.id, person_id=member_id, role=member_role))
            household_id = household.id
            changed["household"] = "created"
        elif theirs is None:
            household_id = own
            session.add(
                HouseholdMember(
                    household_id=own, person_id=member_id, role=_JOINING_ROLE.get(relation, "other")
                )
            )
            changed["joined"] = member_id
        elif own is None:
            household_id = theirs
            session.add(
                HouseholdMember(
                    household_id=theirs,
                    person_id=person_id,
                    role=_JOINING_ROLE.get(INVERSE[relation], "other"),
                )
            )
            changed["joined"] = person_id
        else:
            household_id = own
        forward = _set_relation(session, person_id, member_id, relation)
        backward = _set_relation(session, member_id, person_id, INVERSE[relation])
        if forward or backward:
            changed["relation"] = relation
        if changed:
            session.flush()
            audit.record(
                session, "update", entity_type="household", entity_id=household_id, person_id=person_id,
                detail={"member": member_id, **changed},
            )  # fmt: skip
        return household_id


def remove_member(ctx: ServiceContext, household_id: str, person_id: str) -> None:
    """Take a person out of a household (the relations stay); an empty household is removed."""
    require(ctx.actor, "person.write")
    with ctx.write() as session:
        household = session.get(Household, household_id)
        if household is None or household.deleted_at is not None:
            raise NotFoundError(_("Diesen Haushalt gibt es nicht (mehr)."))
        row = session.get(HouseholdMember, (household_id, person_id))
        if row is None:
            raise NotFoundError(_("Diese Person gehört nicht zu diesem Haushalt."))
        session.delete(row)
        session.flush()
        left = session.scalar(
            select(HouseholdMember.person_id).where(HouseholdMember.household_id == household_id)
        )
        if left is None:
            from ..db.base import utcnow

            household.deleted_at = utcnow()
        audit.record(
            session, "update", entity_type="household", entity_id=household_id, person_id=person_id,
            detail={"removed": person_id, "empty": left is None},
        )  # fmt: skip


def insert_case_members(session, case: Case, person_ids: Iterable[str]) -> list[str]:
    """Add the client and ``person_ids`` to the case's members (in the caller's transaction).

    Returns the ids newly added. Unknown or deleted persons raise ``NotFoundError`` (nothing is written
    then, as the caller's transaction rolls back). When other members are added and the case has no
    household yet, it becomes the case of the client's household.
    """
    require_session(session, "case.write")
    wanted = list(dict.fromkeys([case.person_id, *person_ids]))
    for pid in wanted:
        _live_person(session, pid)
    present = set(session.scalars(select(CaseMember.person_id).where(CaseMember.case_id == case.id)))
    added = [pid for pid in wanted if pid not in present]
    for pid in added:
        session.add(CaseMember(case_id=case.id, person_id=pid))
    if case.household_id is None and len(set(wanted) | present) > 1:
        case.household_id = household_id_of(session, case.person_id)
    session.flush()
    return added


def add_case_members(ctx: ServiceContext, case_id: str, person_ids: Iterable[str]) -> list[str]:
    """Make a case also about ``person_ids`` (household members); returns the ids newly added."""
    require(ctx.actor, "case.write")
    with ctx.write() as session:
        case = session.get(Case, case_id)
        if case is None or case.deleted_at is not None:
            raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
        ensure_case_visible(session, case, action="case.write")
        added = insert_case_members(session, case, person_ids)
        if added:
            audit.record(
                session, "update", entity_type="case", entity_id=case.id, person_id=case.person_id,
                case_id=case.id, detail={"members_added": added},
            )  # fmt: skip
        return added


def remove_case_member(ctx: ServiceContext, case_id: str, person_id: str) -> None:
    """Take a household member out of a case (never the client the case is opened for)."""
    require(ctx.actor, "case.write")
    with ctx.write() as session:
        case = session.get(Case, case_id)
        if case is None or case.deleted_at is not None:
            raise NotFoundError(_("Keine Fallakte mit dieser Kennung gefunden."))
        ensure_case_visible(session, case, action="case.write")
        if person_id == case.person_id:
            raise UserError(_("Die Klient*in, für die der Fall eröffnet wurde, bleibt im Fall."))
        result = session.execute(
            delete(CaseMember).where(CaseMember.case_id == case_id, CaseMember.person_id == person_id)
        )
        if result.rowcount:
            audit.record(
                session, "update", entity_type="case", entity_id=case.id, person_id=case.person_id,
                case_id=case.id, detail={"members_removed": [person_id]},
            )  # fmt: skip
