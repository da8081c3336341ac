"""Person search: one engine for the GUI's search-as-you-type, the CLI and duplicate checks.

The index is the ``search_key`` table (see ``db.models.SearchKey``): typed keys such as ``n:muller``
(folded name token), ``p:657`` (phonetic key), ``d:1990-05-01``, ``y:1990``, ``t:01701234567``,
``f:kim20260042``. A query is split into tokens; each token becomes one or more key ranges. The most
selective token drives a range scan in key order (so ``LIMIT`` stops early), the others filter with an
indexed ``EXISTS`` on the same table. No query ever scans persons in Python.

Ranking: exact token (0) before prefix (1) before phonetic (2) before phonetic prefix (3); other spellings
rank half a tier lower than the main name; ties by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, delete, exists, func, insert, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased

from ..db.models import Case, Person, PersonNameVariant, SearchKey
from . import names
from .dates import PartialDate
from .permissions import require_session

HIGH = "\x7f"  # sorts after every character a folded key can contain
MIN_PHONETIC_LEN = 3  # phonetic keys of shorter fragments match almost everything
MIN_PHONETIC_PREFIX_LEN = 5
DEFAULT_LIMIT = 50

_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[./](\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(19|20)\d{2}$")
_PHONE = re.compile(r"^\+?[\d/()\-]{5,}$")
_FILE_NUMBER = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9\-/_.]*$")


# --- building the index ---------------------------------------------------------------------------------


def file_number_key(file_number: str) -> str:
    return "".join(ch for ch in file_number.lower() if ch.isalnum() and ch.isascii())


def name_keys(text: str | None, weight: int) -> dict[str, int]:
    keys: dict[str, int] = {}
    if not text:
        return keys
    for variant in names.fold_variants(text) or {""}:
        for token in names.tokens(variant) if variant else []:
            keys.setdefault(f"n:{token}", weight)
            code = names.phonetic_key(token)
            if code:
                keys.setdefault(f"p:{code}", weight)
    for token in names.tokens(text):
        keys.setdefault(f"n:{token}", weight)
        code = names.phonetic_key(token)
        if code:
            keys.setdefault(f"p:{code}", weight)
    return keys


def person_keys(
    family_name: str | None,
    given_names: str | None,
    birth_name: str | None = None,
    variants: Iterable[tuple[str | None, str | None]] = (),
    birth: PartialDate | None = None,
    phone: str | None = None,
    file_numbers: Iterable[str] = (),
) -> dict[str, int]:
    """All index keys of one person with their weight (0 = main name; lower is better)."""
    keys: dict[str, int] = {}

    def merge(new: dict[str, int]) -> None:
        for key, weight in new.items():
            if key not in keys or weight < keys[key]:
                keys[key] = weight

    merge(name_keys(family_name, 0))
    merge(name_keys(given_names, 0))
    merge(name_keys(birth_name, 1))
    for family, given in variants:
        merge(name_keys(family, 1))
        merge(name_keys(given, 1))
    if birth is not None:
        keys[f"y:{birth.year:04d}"] = 0
        if birth.month is not None:
            keys[f"m:{birth.year:04d}-{birth.month:02d}"] = 0
        if birth.day is not None:
            keys[f"d:{birth.iso()}"] = 0
    digits = names.digits(phone or "")
    if len(digits) >= 5:
        keys[f"t:{digits[:40]}"] = 0
    for number in file_numbers:
        folded = file_number_key(number)
        if folded:
            keys[f"f:{folded[:100]}"] = 0
    return {key[:220]: weight for key, weight in keys.items()}


def sort_name(family_name: str | None, given_names: str | None) -> str:
    return f"{names.fold(family_name or '')} {names.fold(given_names or '')}".strip()[:420]


def reindex_persons(session, person_ids: Sequence[str]) -> None:
    """Rebuild the keys of the given persons from the database (call after every write)."""
    if not person_ids:
        return
    ids = list(person_ids)
    persons = session.execute(select(Person).where(Person.id.in_(ids))).scalars().all()
    variants: dict[str, list[tuple[str, str]]] = {pid: [] for pid in ids}
    for pid, family, given in session.execute(
        select(
            PersonNameVariant.person_id, PersonNameVariant.family_name, PersonNameVariant.given_names
        ).where(PersonNameVariant.person_id.in_(ids))
    ):
        variants[pid].append((family, given))
    numbers: dict[str, list[str]] = {pid: [] for pid in ids}
    for pid, number in session.execute(
        select(Case.person_id, Case.file_number).where(Case.person_id.in_(ids), Case.deleted_at.is_(None))
    ):
        numbers[pid].append(number)
    session.execute(delete(SearchKey).where(SearchKey.person_id.in_(ids)))
    rows = []
    for person in persons:
        if person.deleted_at is not None or person.merged_into_id is not None:
            continue
        keys = person_keys(
            person.family_name,
            person.given_names,
            person.birth_name,
            variants.get(person.id, ()),
            PartialDate.from_parts(person.birth_year, person.birth_month, person.birth_day),
            person.phone,
            numbers.get(person.id, ()),
        )
        rows += [{"key": k, "person_id": person.id, "weight": w} for k, w in keys.items()]
    if rows:
        session.execute(insert(SearchKey), rows)


# --- parsing a query ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyMatch:
    """One way a token can match: an exact key or a key prefix, with its ranking tier."""

    key: str
    prefix: bool
    tier: int


@dataclass(frozen=True)
class QueryToken:
    text: str
    matches: tuple[KeyMatch, ...]
    selectivity: int  # lower = fewer expected hits = better driver


@dataclass
class SearchHit:
    id: str
    family_name: str
    given_names: str
    birth: PartialDate | None
    city: str | None
    score: float
    matched: list[str] = field(default_factory=list)

    @property
    def birth_date_iso(self) -> str | None:
        return self.birth.iso() if self.birth else None


def parse_query(text: str) -> list[QueryToken]:
    text = (text or "").strip()[:500]
    if not text:
        return []
    compact = re.sub(r"[\s/()\-]", "", text)
    # A phone number typed with spaces ("0170 123 4567") is one token; dates ("1990-05-12", "05/1990")
    # also consist of digits and separators only, but are dates.
    is_date = any(
        p.match(t) for t in text.split() for p in (_ISO_DATE, _ISO_MONTH, _MONTH_YEAR, _GERMAN_DATE)
    )
    if compact.lstrip("+").isdigit() and len(compact) >= 6 and not _YEAR.match(compact) and not is_date:
        return [_phone_token(text)]
    tokens: list[QueryToken] = []
    for raw in text.split():
        token = _classify(raw)
        if token is not None:
            tokens.append(token)
    return tokens


def _phone_token(raw: str) -> QueryToken:
    digits = names.digits(raw)
    return QueryToken(raw, (KeyMatch(f"t:{digits}", True, 1),), 1)


def _classify(raw: str) -> QueryToken | None:
    m = _GERMAN_DATE.match(raw) or _ISO_DATE.match(raw)
    if m:
        groups = [int(g) for g in m.groups()]
        year, month, day = (groups[2], groups[1], groups[0]) if _GERMAN_DATE.match(raw) else groups
        full = f"d:{year:04d}-{month:02d}-{day:02d}"
        # A full date also finds persons recorded with the same month+year or only the year, ranked lower.
        return QueryToken(raw, (KeyMatch(full, False, 0), KeyMatch(f"m:{year:04d}-{month:02d}", False, 3)), 0)
    m, iso = _MONTH_YEAR.match(raw), _ISO_MONTH.match(raw)
    if m or iso:
        month, year = (int(m.group(1)), int(m.group(2))) if m else (int(iso.group(2)), int(iso.group(1)))
        return QueryToken(raw, (KeyMatch(f"m:{year:04d}-{month:02d}", False, 0),), 2)
    if _YEAR.match(raw):
        return QueryToken(raw, (KeyMatch(f"y:{raw}", False, 0),), 5)
    if _PHONE.match(raw) and sum(ch.isdigit() for ch in raw) >= 5:
        return _phone_token(raw)
    if _FILE_NUMBER.match(raw) and any(ch.isdigit() for ch in raw) and len(raw) >= 4:
        key = file_number_key(raw)
        name = "".join(names.fold(raw).split())
        matches = [KeyMatch(f"f:{key}", True, 0)]
        if name and not name.isdigit():
            matches.append(KeyMatch(f"n:{name}", True, 1))
        return QueryToken(raw, tuple(matches), 1)
    # Joined like the index joins "Oliveira-Esteves": folding again applies the umlaut rule across the join.
    # Cyrillic input also matches its national passport spelling (fold_variants), as the index does.
    forms = [names.fold("".join(variant.split())) for variant in sorted(names.fold_variants(raw))]
    forms = list(dict.fromkeys(f for f in forms if f))
    if not forms:
        return None
    matches: list[KeyMatch] = []
    for folded in forms:
        matches += [KeyMatch(f"n:{folded}", False, 0), KeyMatch(f"n:{folded}", True, 1)]
        if len(folded) >= MIN_PHONETIC_LEN:
            code = names.phonetic_key(folded)
            if code:
                matches.append(KeyMatch(f"p:{code}", False, 2))
                if len(folded) >= MIN_PHONETIC_PREFIX_LEN and len(code) >= 2:
                    matches.append(KeyMatch(f"p:{code}", True, 3))
    # Longer name fragments are more selective; one or two letters are the worst drivers.
    return QueryToken(raw, tuple(dict.fromkeys(matches)), 10 + max(0, 8 - min(len(f) for f in forms)))


# --- running a query ------------------------------------------------------------------------------------

ESTIMATE_CAP = 20_000  # counting stops here: beyond it a token is "large" anyway
MATERIALISE_BELOW = 20_000  # other tokens smaller than this are filtered with one IN (subquery)


@dataclass(frozen=True)
class KeyRange:
    """A half-open key range ``[lo, hi)``; an exact key is the range ``[key, key + NUL)``."""

    lo: str
    hi: str

    def clause(self, column):
        if self.hi == self.lo + "\x00":
            return column == self.lo
        return and_(column >= self.lo, column < self.hi)


def _ranges(token: QueryToken) -> list[tuple[KeyRange, int]]:
    """The distinct key ranges of a token with their best tier; an exact key inside a prefix range of the
    same token is not scanned twice (the exact key sorts first in the range, so it still ranks first)."""
    ranges: list[tuple[KeyRange, int]] = []
    prefixes = [m for m in token.matches if m.prefix]
    for match in sorted(token.matches, key=lambda m: m.tier):
        if not match.prefix and any(match.key.startswith(p.key) for p in prefixes):
            continue
        rng = KeyRange(match.key, match.key + (HIGH if match.prefix else "\x00"))
        if all(rng != existing for existing, _tier in ranges):
            tier = min(m.tier for m in token.matches if _covers(m, match.key))
            ranges.append((rng, tier))
    return sorted(ranges, key=lambda pair: pair[1])


def _covers(match: KeyMatch, key: str) -> bool:
    return key.startswith(match.key) if match.prefix else key == match.key


def _tier(token: QueryToken, key: str) -> int:
    return min((m.tier for m in token.matches if _covers(m, key)), default=9)


def _token_clause(column, token: QueryToken):
    return or_(*(rng.clause(column) for rng, _tier in _ranges(token)))


def _estimate(session, token: QueryToken) -> int:
    """How many index rows a token matches, counted index-only and capped (well under a millisecond)."""
    total = 0
    for rng, _tier in _ranges(token):
        inner = select(SearchKey.person_id).where(rng.clause(SearchKey.key)).limit(ESTIMATE_CAP).subquery()
        total += session.scalar(select(func.count()).select_from(inner)) or 0
    return total


def search_persons(session, text: str, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """Best matches first; every token of the query must match (names, dates, phone, file number).

    The token matching the fewest index rows drives a scan of its key ranges in key order; every other
    token filters, small ones through one materialised ``IN (subquery)``, large ones through an indexed
    ``EXISTS`` per row.

    Hits show names, birth dates and places to every role with ``person.read_basic`` (reception too).
    """
    require_session(session, "person.read_basic")
    tokens = parse_query(text)
    if not tokens or limit <= 0:
        return []
    sizes = [_estimate(session, t) for t in tokens] if len(tokens) > 1 else [0]
    driver_index = min(range(len(tokens)), key=lambda i: (sizes[i], tokens[i].selectivity))
    driver = tokens[driver_index]
    sk = aliased(SearchKey)
    filters = []
    materialised = large = 0
    for i, other in enumerate(tokens):
        if i == driver_index:
            continue
        sk2 = aliased(SearchKey)
        if sizes[i] < MATERIALISE_BELOW and sizes[i] < 10 * max(sizes[driver_index], 1):
            materialised += 1
            filters.append(sk.person_id.in_(select(sk2.person_id).where(_token_clause(sk2.key, other))))
        else:
            large += sizes[i] >= ESTIMATE_CAP
            filters.append(exists().where(sk2.person_id == sk.person_id, _token_clause(sk2.key, other)))
    found: dict[str, tuple[float, str]] = {}
    # PostgreSQL estimates a narrow key range at about one row and then re-scans the IN subquery's keys
    # once per driver row (nested loop semi join, ~100 ms at 100,000 persons). Without nested loops for
    # these statements it hashes the small filter sets once. Not when a filter token is huge (its EXISTS
    # must stay an index probe per driver row). The setting is local to the transaction and restored.
    previous = None
    if materialised and not large and session.get_bind().dialect.name == "postgresql":
        previous = session.execute(
            sql_text("SELECT current_setting('enable_nestloop'), set_config('enable_nestloop', 'off', true)")
        ).scalar()
    for rng, _best in _ranges(driver):
        if len(found) >= limit:
            break
        stmt: Select = (
            select(sk.person_id, sk.key, sk.weight)
            .where(rng.clause(sk.key), *filters)
            .order_by(sk.key)
            .limit(limit * 3)
        )
        for person_id, key, weight in session.execute(stmt):
            score = _tier(driver, key) + 0.5 * min(weight, 1)
            if person_id not in found or score < found[person_id][0]:
                found[person_id] = (score, key)
            if len(found) >= limit * 2:
                break
    if previous is not None:
        session.execute(sql_text("SELECT set_config('enable_nestloop', :value, true)"), {"value": previous})
    if not found:
        return []
    rows = session.execute(
        select(
            Person.id,
            Person.family_name,
            Person.given_names,
            Person.birth_year,
            Person.birth_month,
            Person.birth_day,
            Person.city,
            Person.sort_name,
        ).where(Person.id.in_(list(found)), Person.deleted_at.is_(None))
    ).all()
    hits = []
    for row in rows:
        score, key = found[row.id]
        hits.append(
            (
                (score, key, row.sort_name, row.id),
                SearchHit(
                    row.id,
                    row.family_name,
                    row.given_names,
                    PartialDate.from_parts(row.birth_year, row.birth_month, row.birth_day),
                    row.city,
                    score,
                    [key],
                ),
            )
        )
    hits.sort(key=lambda pair: pair[0])
    return [hit for _, hit in hits[:limit]]
