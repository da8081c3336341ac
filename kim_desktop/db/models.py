"""The data model of KIM Desktop, designed for all planned capabilities.

Naming follows ../shared/GLOSSARY.md. Code lists (residence statuses, life areas, closure reasons, …) are
rows of ``code_entry`` seeded from ``resources/codelists``; countries and languages are stored as ISO codes
and named through Babel (see ``kim_desktop.i18n``). Nothing here imports Qt.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Entity, IdMixin, TimestampMixin, new_id, utcnow

# --- constants kept in code because the process, not local practice, defines them -----------------------

SEXES = ("f", "m", "d", "x", "u")  # weiblich, männlich, divers, ohne Angabe (Personenstand), unbekannt
CASE_PHASES = ("intake", "assessment", "planning", "implementation", "monitoring", "closed")
LANGUAGE_LEVELS = ("native", "C2", "C1", "B2", "B1", "A2", "A1", "none")
APPOINTMENT_STATUSES = ("planned", "confirmed", "held", "cancelled", "no_show")
REFERRAL_STATUSES = ("draft", "sent", "accepted", "rejected", "completed", "revoked")
CONSENT_KINDS = ("case_management", "release", "privacy_notice")
ROLES = ("case_management", "team_lead", "reception", "admin")


# --- configuration -------------------------------------------------------------------------------------


class CodeEntry(IdMixin, TimestampMixin, Base):
    """One entry of an editable code list (``list_name`` e.g. ``residence_status``)."""

    __tablename__ = "code_entry"
    __table_args__ = (UniqueConstraint("list_name", "code"),)

    list_name: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(60))
    label_de: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    time_limited: Mapped[bool] = mapped_column(Boolean, default=False)  # residence status with "gültig bis"
    extra: Mapped[dict | None] = mapped_column(JSON, default=None)


class Setting(TimestampMixin, Base):
    """Key/value settings: office profile, file-number pattern, retention period, letter form, …"""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON)


class Team(Entity, Base):
    __tablename__ = "team"

    name: Mapped[str] = mapped_column(String(200))


class UserAccount(Entity, Base):
    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(60))
    password_hash: Mapped[str | None] = mapped_column(String(300))  # Argon2 (data protection issue)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("team.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    db_role: Mapped[str | None] = mapped_column(String(63))  # PostgreSQL role in server mode

    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class UserRole(Base):
    __tablename__ = "user_role"
    __table_args__ = (CheckConstraint("role IN ('case_management','team_lead','reception','admin')", name="role"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)


class KeySlot(IdMixin, TimestampMixin, Base):
    """The database key wrapped with one user's password (SQLCipher key slots)."""

    __tablename__ = "key_slot"

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    kdf: Mapped[str] = mapped_column(String(40))
    kdf_params: Mapped[dict] = mapped_column(JSON)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


# --- persons and households ----------------------------------------------------------------------------


class Household(Entity, Base):
    __tablename__ = "household"

    label: Mapped[str | None] = mapped_column(String(200))
    members: Mapped[list[HouseholdMember]] = relationship(back_populates="household", cascade="all, delete-orphan")


class Person(Entity, Base):
    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("sex IN ('f','m','d','x','u')", name="sex"),
        CheckConstraint("birth_month IS NULL OR (birth_month BETWEEN 1 AND 12)", name="birth_month"),
        CheckConstraint("birth_day IS NULL OR (birth_day BETWEEN 1 AND 31)", name="birth_day"),
        CheckConstraint("birth_day IS NULL OR birth_month IS NOT NULL", name="birth_day_needs_month"),
        CheckConstraint("birth_month IS NULL OR birth_year IS NOT NULL", name="birth_month_needs_year"),
        Index("ix_person_list_order", "sort_name", "id"),
        Index("ix_person_residence_valid_until", "residence_valid_until"),
    )

    family_name: Mapped[str] = mapped_column(String(200))
    given_names: Mapped[str] = mapped_column(String(200), default="")
    birth_name: Mapped[str | None] = mapped_column(String(200))
    # Folded "family given" for the list order (case/diacritic-insensitive, stable with the search engine).
    sort_name: Mapped[str] = mapped_column(String(420), default="")
    # Birth date, possibly partial: year only, month+year, or unknown. 01.01. placeholders are kept as given.
    birth_year: Mapped[int | None] = mapped_column(Integer)
    birth_month: Mapped[int | None] = mapped_column(Integer)
    birth_day: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1), default="u")
    country_of_birth: Mapped[str | None] = mapped_column(String(3))  # ISO 3166-1 alpha-2 (or XK, XX)
    place_of_birth: Mapped[str | None] = mapped_column(String(200))
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(20))  # BCP 47 / ISO 639
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(200))
    address_extra: Mapped[str | None] = mapped_column(String(200))  # c/o, Unterkunft, Zimmer
    phone: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(200))
    residence_status: Mapped[str | None] = mapped_column(String(60))  # code_entry(residence_status)
    residence_valid_until: Mapped[date | None] = mapped_column(Date)
    entry_date: Mapped[date | None] = mapped_column(Date)  # Einreise nach Deutschland
    district_since: Mapped[date | None] = mapped_column(Date)  # im Kreis seit (eligibility)
    note: Mapped[str | None] = mapped_column(Text)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    restricted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # Art. 18 DSGVO
    restriction_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    name_variants: Mapped[list[PersonNameVariant]] = relationship(
        cascade="all, delete-orphan", order_by="PersonNameVariant.sort_order"
    )
    nationalities: Mapped[list[PersonNationality]] = relationship(
        cascade="all, delete-orphan", order_by="PersonNationality.sort_order"
    )
    languages: Mapped[list[PersonLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="PersonLanguage.sort_order"
    )


class PersonNameVariant(IdMixin, Base):
    """Other spellings: passport transliteration, native script, aliases, earlier names."""

    __tablename__ = "person_name_variant"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    family_name: Mapped[str] = mapped_column(String(200), default="")
    given_names: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="spelling")  # spelling|passport|native|alias
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class PersonNationality(Base):
    __tablename__ = "person_nationality"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    country_code: Mapped[str] = mapped_column(String(3), primary_key=True)  # ISO alpha-2; XX unknown, XS stateless
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class PersonLanguage(Base):
    __tablename__ = "person_language"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    language_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(10), default="none")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class ResidenceStatusChange(IdMixin, Base):
    """History of residence statuses, for "status at intake / at closure" statistics."""

    __tablename__ = "residence_status_change"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    status: Mapped[str | None] = mapped_column(String(60))
    valid_until: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))


class HouseholdMember(Base):
    __tablename__ = "household_member"

    household_id: Mapped[str] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str | None] = mapped_column(String(30))  # head|partner|child|other
    household: Mapped[Household] = relationship(back_populates="members")


class PersonRelation(IdMixin, Base):
    __tablename__ = "person_relation"
    __table_args__ = (UniqueConstraint("person_id", "related_person_id", "relation"),)

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    related_person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(30))  # parent|child|spouse|sibling|guardian|other


class SearchKey(Base):
    """The person search index: one row per (typed key, person).

    Keys carry a one-letter type prefix: ``n:`` folded name token, ``p:`` phonetic key, ``d:`` ISO birth
    date, ``y:`` birth year, ``t:`` phone digits, ``f:`` folded file number. Prefix search is a range scan on
    the primary key, so the table is ``WITHOUT ROWID`` on SQLite (a clustered covering index).
    """

    __tablename__ = "search_key"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # Bytewise order on PostgreSQL too, whatever the database's collation (migration 0009).
    key: Mapped[str] = mapped_column(
        String(220).with_variant(String(220, collation="C"), "postgresql"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    weight: Mapped[int] = mapped_column(Integer, default=0)  # 0 = primary name, 1 = other spelling, …


# --- cases ---------------------------------------------------------------------------------------------


class Case(Entity, Base):
    __tablename__ = "case_file"
    __table_args__ = (
        Index("ix_case_file_manager_phase", "case_manager_id", "phase"),
        CheckConstraint(
            "phase IN ('intake','assessment','planning','implementation','monitoring','closed')", name="phase"
        ),
    )

    file_number: Mapped[str] = mapped_column(String(60), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    household_id: Mapped[str | None] = mapped_column(ForeignKey("household.id"))
    phase: Mapped[str] = mapped_column(String(20), default="intake")
    case_manager_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("team.id"))
    access_channel: Mapped[str | None] = mapped_column(String(60))  # code_entry(access_channel)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closure_reason: Mapped[str | None] = mapped_column(String(60))  # code_entry(closure_reason)
    goal_achievement: Mapped[str | None] = mapped_column(String(20))  # full|partial|none
    eligibility: Mapped[dict | None] = mapped_column(JSON)  # criteria answered at intake
    retention_until: Mapped[date | None] = mapped_column(Date)
    residence_status_at_intake: Mapped[str | None] = mapped_column(String(60))
    residence_status_at_closure: Mapped[str | None] = mapped_column(String(60))


class CaseMember(Base):
    __tablename__ = "case_member"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)


class CaseShare(Base):
    """A case shared with a colleague (deputy, handover in progress)."""

    __tablename__ = "case_share"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    until: Mapped[date | None] = mapped_column(Date)


class CasePhaseChange(IdMixin, Base):
    __tablename__ = "case_phase_change"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    from_phase: Mapped[str | None] = mapped_column(String(20))
    to_phase: Mapped[str] = mapped_column(String(20))
    changed_on: Mapped[date] = mapped_column(Date)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Assessment(Entity, Base):
    """Needs and resources in one life area."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("case_id", "life_area"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    life_area: Mapped[str] = mapped_column(String(60))  # code_entry(life_area)
    need_level: Mapped[int | None] = mapped_column(Integer)  # Handlungsbedarf: 0 none … 3 urgent
    priority: Mapped[int | None] = mapped_column(Integer)  # 1 high, 2 medium, 3 low
    situation: Mapped[str | None] = mapped_column(Text)
    resources: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    assessed_on: Mapped[date | None] = mapped_column(Date)


class Goal(Entity, Base):
    __tablename__ = "goal"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    life_area: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    agreed_on: Mapped[date | None] = mapped_column(Date)
    review_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|achieved|partly|not_achieved|dropped
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Step(Entity, Base):
    __tablename__ = "step"

    goal_id: Mapped[str] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str] = mapped_column(String(20), default="client")  # client|case_manager|other
    responsible_note: Mapped[str | None] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class JournalEntry(Entity, Base):
    __tablename__ = "journal_entry"
    __table_args__ = (Index("ix_journal_entry_case_date", "case_id", "entry_date"),)

    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    contact_type: Mapped[str | None] = mapped_column(String(60))  # code_entry(contact_type)
    duration_min: Mapped[int | None] = mapped_column(Integer)
    interpreter_id: Mapped[str | None] = mapped_column(ForeignKey("interpreter.id"))
    interpreter_language: Mapped[str | None] = mapped_column(String(20))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("location.id"))
    life_areas: Mapped[list | None] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text, default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    system_generated: Mapped[bool] = mapped_column(Boolean, default=False)  # e.g. "Personen zusammengeführt"
    author_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))


class FollowUp(Entity, Base):
    """Wiedervorlage."""

    __tablename__ = "follow_up"

    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[str | None] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(300))
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StructuralFinding(Entity, Base):
    """Systemlücke: a barrier in the system, reported anonymised."""

    __tablename__ = "structural_finding"

    category: Mapped[str] = mapped_column(String(60))  # code_entry(finding_category)
    description: Mapped[str] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"))
    journal_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entry.id", ondelete="SET NULL"))
    observed_on: Mapped[date] = mapped_column(Date)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))


# --- appointments --------------------------------------------------------------------------------------


class Location(Entity, Base):
    __tablename__ = "location"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="office")  # office|branch|room|external
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("location.id"))  # rooms belong to a building
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OfficeHours(Entity, Base):
    __tablename__ = "office_hours"

    location_id: Mapped[str] = mapped_column(ForeignKey("location.id"))
    case_manager_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class Interpreter(Entity, Base):
    __tablename__ = "interpreter"

    family_name: Mapped[str] = mapped_column(String(200))
    given_names: Mapped[str] = mapped_column(String(200), default="")
    languages: Mapped[list] = mapped_column(JSON, default=list)  # language codes
    phone: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(200))
    availability: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Appointment(Entity, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_manager_start", "case_manager_id", "starts_at"),
        Index("ix_appointment_start", "starts_at"),
        Index("ix_appointment_interpreter_start", "interpreter_id", "starts_at"),
        Index("ix_appointment_location_start", "location_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"), index=True)
    type: Mapped[str] = mapped_column(String(60))  # code_entry(appointment_type)
    title: Mapped[str | None] = mapped_column(String(300))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("location.id"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    case_manager_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    interpreter_id: Mapped[str | None] = mapped_column(ForeignKey("interpreter.id"))
    interpreter_language: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    note: Mapped[str | None] = mapped_column(Text)
    conflict_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    ical_uid: Mapped[str] = mapped_column(String(200), default=lambda: f"{new_id()}@kim-desktop")
    busy_only: Mapped[bool] = mapped_column(Boolean, default=False)  # imported .ics busy time


class AppointmentParticipant(Base):
    __tablename__ = "appointment_participant"

    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)


# --- providers, offers, referrals, consent ---------------------------------------------------------------


class Provider(Entity, Base):
    __tablename__ = "provider"

    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str | None] = mapped_column(String(300))
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    opening_hours: Mapped[str | None] = mapped_column(Text)


class ProviderContact(Entity, Base):
    __tablename__ = "provider_contact"

    provider_id: Mapped[str] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    function: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(200))


class Offer(Entity, Base):
    __tablename__ = "offer"
    __table_args__ = (Index("ix_offer_category", "category"),)

    provider_id: Mapped[str] = mapped_column(ForeignKey("provider.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(60))  # code_entry(offer_category)
    description: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    target_group: Mapped[str | None] = mapped_column(Text)
    access_conditions: Mapped[str | None] = mapped_column(Text)
    residence_statuses: Mapped[list | None] = mapped_column(JSON)  # None = open to all statuses
    cost: Mapped[str | None] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    last_checked_on: Mapped[date | None] = mapped_column(Date)


class Referral(Entity, Base):
    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_status_sent", "status", "sent_on"),
        Index("ix_referral_offer", "offer_id"),
        Index("ix_referral_provider", "provider_id"),
        CheckConstraint(
            "status IN ('draft','sent','accepted','rejected','completed','revoked')", name="status"
        ),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offer.id"))
    provider_id: Mapped[str | None] = mapped_column(ForeignKey("provider.id"))
    goal_id: Mapped[str | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    step_id: Mapped[str | None] = mapped_column(ForeignKey("step.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    reason: Mapped[str | None] = mapped_column(Text)
    sent_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(60))  # code_entry(referral_outcome)
    feedback: Mapped[str | None] = mapped_column(Text)
    follow_up_days: Mapped[int | None] = mapped_column(Integer)
    release_consent_id: Mapped[str | None] = mapped_column(ForeignKey("consent.id"))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    sent_via: Mapped[str | None] = mapped_column(String(20))  # post|email|personal
    consent_override_reason: Mapped[str | None] = mapped_column(Text)  # sent without a release: why (logged)


class ReferralStatusChange(IdMixin, Base):
    __tablename__ = "referral_status_change"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_on: Mapped[date] = mapped_column(Date)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Consent(Entity, Base):
    """Einwilligung, Schweigepflichtentbindung (release) or the record that privacy notices were given."""

    __tablename__ = "consent"
    __table_args__ = (
        Index("ix_consent_valid_until", "valid_until"),
        CheckConstraint("kind IN ('case_management','release','privacy_notice')", name="kind"),
    )

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    recipient_provider_id: Mapped[str | None] = mapped_column(ForeignKey("provider.id"))
    recipient_name: Mapped[str | None] = mapped_column(String(300))
    scope: Mapped[str | None] = mapped_column(Text)
    includes_special_categories: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 9 DSGVO
    form: Mapped[str] = mapped_column(String(20), default="written")  # written|oral|electronic
    given_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("document.id", use_alter=True, name="fk_consent_document_id_document")
    )  # use_alter: consent → document → referral → consent is a cycle


# --- documents and templates ---------------------------------------------------------------------------


class Document(Entity, Base):
    """A generated letter or an attached file, archived with the case."""

    __tablename__ = "document"

    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # invitation|referral|consent|release|privacy_notice|…
    title: Mapped[str] = mapped_column(String(300))
    template_key: Mapped[str | None] = mapped_column(String(80))
    template_version: Mapped[int | None] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    referral_id: Mapped[str | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointment.id", ondelete="SET NULL"))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))


class LetterTemplate(Entity, Base):
    __tablename__ = "letter_template"
    __table_args__ = (UniqueConstraint("key", "language"),)

    key: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(10), default="de")
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # sandboxed Jinja2 template text
    revision: Mapped[int] = mapped_column(Integer, default=1)


class ImportMapping(Entity, Base):
    __tablename__ = "import_mapping"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    mapping: Mapped[dict] = mapped_column(JSON)


# --- audit and sync ------------------------------------------------------------------------------------


class AuditEvent(Base):
    """Append-only access log: who read, printed, exported or changed which record, when.

    ``detail`` holds identifiers and counts only, never personal data.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_person", "person_id", "at"),
        Index("ix_audit_event_case", "case_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36))  # no FK: the log outlives deleted users
    action: Mapped[str] = mapped_column(String(30))  # read|create|update|delete|print|export|merge|login|…
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(36))
    person_id: Mapped[str | None] = mapped_column(String(36))
    case_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict | None] = mapped_column(JSON)


class DeletionProtocol(Base):
    """What a retention run or an erasure request deleted or anonymised: counts per kind of record, the rule and
    the run; never who the person was (the protocol must not keep what was deleted)."""

    __tablename__ = "deletion_protocol"
    __table_args__ = (Index("ix_deletion_protocol_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[str | None] = mapped_column(String(36))
    rule: Mapped[str] = mapped_column(String(60))  # retention|request_art17|…
    action: Mapped[str] = mapped_column(String(20))  # deleted|anonymised
    entity_type: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(36))
    detail: Mapped[dict | None] = mapped_column(JSON)  # counts and dates only


class ChangeRecord(Base):
    """Field-level change history (old → new, who, when) and the outgoing sync feed.

    ``base_version`` is the row version the change was made on; sync uses it to detect conflicts.
    """

    __tablename__ = "change_record"
    __table_args__ = (
        Index("ix_change_record_entity", "entity_type", "entity_id"),
        Index("ix_change_record_outgoing", "synced", "origin"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[str | None] = mapped_column(String(36))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(36))
    operation: Mapped[str] = mapped_column(String(10))  # insert|update|delete
    field: Mapped[str | None] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(Integer)
    origin: Mapped[str | None] = mapped_column(String(36))  # replica id that made the change
    synced: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncConflict(IdMixin, TimestampMixin, Base):
    """A field changed on the laptop and in the office since the common base: both values, until chosen.

    ``resolution`` is ``local``, ``remote`` or ``value`` (combined); ``resolved_value`` what was chosen."""

    __tablename__ = "sync_conflict"
    __table_args__ = (Index("ix_sync_conflict_entity", "entity_type", "entity_id", "field"),)

    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(60))
    base_version: Mapped[int | None] = mapped_column(Integer)
    local_value: Mapped[str | None] = mapped_column(Text)
    remote_value: Mapped[str | None] = mapped_column(Text)
    remote_user: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    base_value: Mapped[str | None] = mapped_column(Text)
    resolved_value: Mapped[str | None] = mapped_column(Text)


class ReplicaState(IdMixin, TimestampMixin, Base):
    """This database as a laptop replica (or the office's view of one)."""

    __tablename__ = "replica_state"

    name: Mapped[str] = mapped_column(String(200))
    server_url: Mapped[str | None] = mapped_column(String(500))
    last_pushed_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_pulled_seq: Mapped[int] = mapped_column(Integer, default=0)
    case_ids: Mapped[list] = mapped_column(JSON, default=list)
    office_id: Mapped[str | None] = mapped_column(String(64))  # the office database it was taken from
    user_id: Mapped[str | None] = mapped_column(String(36))  # whose replica
    person_ids: Mapped[list | None] = mapped_column(JSON)
    scope: Mapped[str | None] = mapped_column(String(20))  # caseload (follows the caseload) | chosen
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncReceipt(Base):
    """Office side: a change of a replica that was applied or refused (idempotent repeated pushes)."""

    __tablename__ = "sync_receipt"

    replica_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(10))  # applied|conflict|rejected
    value: Mapped[str | None] = mapped_column(Text)  # the office value of a conflict
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportBatch(IdMixin, Base):
    """One import of persons from an Excel or CSV file; "Import rückgängig machen" removes exactly its persons.

    Counts only, never personal data; ``file_name`` is the base name the counsellor chose.
    """

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_created_at", "created_at"),)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36))  # no FK: the record outlives deleted users
    file_name: Mapped[str] = mapped_column(String(260), default="")
    file_format: Mapped[str] = mapped_column(String(10), default="csv")  # csv|xlsx
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(36))


class ImportBatchPerson(Base):
    """A person created by an import batch, with the file line and the values flagged for review."""

    __tablename__ = "import_batch_person"

    batch_id: Mapped[str] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    line: Mapped[int] = mapped_column(Integer)
    flags: Mapped[list | None] = mapped_column(JSON)  # German review notes (values as written in the file)
