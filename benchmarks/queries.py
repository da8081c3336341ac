"""Realistic search queries built from the benchmark database, and their timing.

Persons are sampled deterministically (fixed seed, by rowid). Kinds of query, in roughly equal numbers:
family-name prefixes of 1–6 letters (search-as-you-type), full family names, "family given" pairs,
transliteration and umlaut variants (another spelling of the same name from the demo pools: Mohammed →
Muhammad/Mohamad; Öztürk → Oeztuerk/Ozturk; Müller → Mueller/Muller), native-script spellings (Cyrillic),
"family year", birth dates as TT.MM.JJJJ, years, phone numbers as typed, file numbers.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

KINDS = (
    "prefix", "family", "family_given", "variant", "native", "family_year", "birth_date", "year", "phone",
    "file_number",
)  # fmt: skip

_UMLAUTS_E = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_UMLAUTS_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "ss"})
_TURKISH_PLAIN = str.maketrans({"ş": "s", "Ş": "S", "ğ": "g", "ı": "i", "İ": "I", "ç": "c", "Ç": "C"})


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    person_id: str | None = None  # the person the query was built from (should be among the hits)


def _spelling_map() -> dict[str, list[str]]:
    """Each spelling of a name in the demo pools → the other spellings of the same name."""
    from kim_desktop.services import demo

    alternatives: dict[str, list[str]] = {}
    for name in dir(demo):
        pool = getattr(demo, name)
        if not (name.isupper() and isinstance(pool, tuple) and pool and isinstance(pool[0], tuple)):
            continue
        for entry in pool:
            spellings = entry[0] if isinstance(entry[0], tuple) else ()
            for spelling in spellings:
                others = [s for s in spellings if s != spelling]
                if others:
                    alternatives.setdefault(spelling, others)
    return alternatives


def _variants_of(text: str, spellings: dict[str, list[str]], rng: random.Random) -> list[str]:
    out = []
    if text in spellings:
        out.append(rng.choice(spellings[text]))
    for table in (_UMLAUTS_E, _UMLAUTS_PLAIN, _TURKISH_PLAIN):
        changed = text.translate(table)
        if changed != text:
            out.append(changed)
    return out


def _sample(session, model, count: int, rng: random.Random, *where) -> list:
    """About ``count`` random rows of ``model`` (by rowid, deterministic for a given rng)."""
    from sqlalchemy import literal_column

    if session.get_bind().dialect.name != "sqlite":  # no rowid (the office server): sample the sorted ids
        ids = list(session.scalars(select(model.id).where(*where).order_by(model.id)))
        picked = rng.sample(ids, min(count, len(ids)))
        rows = []
        for chunk in range(0, len(picked), 500):
            rows.extend(session.scalars(select(model).where(model.id.in_(picked[chunk : chunk + 500]))))
        rows.sort(key=lambda r: r.id)
        rng.shuffle(rows)
        return rows
    rowid = literal_column("rowid")
    top = session.scalar(select(func.max(rowid)).select_from(model)) or 0
    rows: list = []
    seen: set[int] = set()
    attempts = 0
    while len(rows) < count and attempts < 20 and top:
        attempts += 1
        wanted = [rng.randint(1, top) for _ in range((count - len(rows)) * 2)]
        wanted = [w for w in wanted if w not in seen]
        seen.update(wanted)
        for chunk in range(0, len(wanted), 500):
            stmt = select(model).where(rowid.in_(wanted[chunk : chunk + 500]), *where)
            rows.extend(session.execute(stmt).scalars().all())
    rows.sort(key=lambda r: r.id)
    rng.shuffle(rows)
    return rows[:count]


def build_queries(session, total: int = 300, seed: int = 2024) -> list[Query]:
    """At least ``total`` queries, spread over ``KINDS``."""
    from kim_desktop.db.models import Case, Person, PersonNameVariant

    rng = random.Random(seed)
    per_kind = -(-total // len(KINDS))
    persons = _sample(session, Person, per_kind * 8, rng, Person.deleted_at.is_(None))
    spellings = _spelling_map()
    queries: list[Query] = []
    by_kind: dict[str, list[Query]] = defaultdict(list)

    def add(kind: str, text: str, person_id: str | None) -> None:
        text = " ".join(text.split())
        if text and len(by_kind[kind]) < per_kind:
            query = Query(kind, text, person_id)
            by_kind[kind].append(query)

    for i, p in enumerate(persons):
        family, given = p.family_name, p.given_names
        length = 1 + i % 6
        add("prefix", family[:length].rstrip(" -'"), None)
        add("family", family, p.id)
        if given:
            add("family_given", f"{family} {given.split()[0]}", p.id)
        family_variants = _variants_of(family, spellings, rng)
        given_variants = _variants_of(given, spellings, rng) if given else []
        if family_variants:
            add("variant", f"{rng.choice(family_variants)} {given.split()[0] if given else ''}", p.id)
        elif given_variants:
            add("variant", f"{family} {rng.choice(given_variants)}", p.id)
        if p.birth_year:
            add("family_year", f"{family} {p.birth_year}", p.id)
            add("year", str(p.birth_year), None)
        if p.birth_day:
            add("birth_date", f"{p.birth_day:02d}.{p.birth_month:02d}.{p.birth_year}", p.id)
        if p.phone:
            add("phone", p.phone if i % 2 else p.phone.replace(" ", ""), p.id)

    for v in _sample(session, PersonNameVariant, per_kind * 10, rng, PersonNameVariant.kind == "native"):
        add("native", f"{v.family_name} {v.given_names}", v.person_id)
    for c in _sample(session, Case, per_kind * 2, rng, Case.deleted_at.is_(None)):
        add(
            "file_number",
            c.file_number if rng.random() < 0.7 else c.file_number.lower().replace("-", ""),
            c.person_id,
        )

    for kind in KINDS:
        queries.extend(by_kind[kind])
    return queries


@dataclass
class SearchTiming:
    p50_ms: float
    p95_ms: float
    max_ms: float
    count: int
    found: int  # queries built from a person whose person is among the hits
    with_target: int
    by_kind: dict[str, dict[str, float]]
    slowest: list[tuple[str, str, float]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def time_search(session, queries: list[Query], warmup: list[Query] = (), limit: int = 50) -> SearchTiming:
    from kim_desktop.services.search import search_persons

    for query in warmup:
        search_persons(session, query.text, limit=limit)
    times: list[float] = []
    kinds: dict[str, list[float]] = defaultdict(list)
    found = with_target = 0
    slow: list[tuple[str, str, float]] = []
    for query in queries:
        started = time.perf_counter()
        hits = search_persons(session, query.text, limit=limit)
        ms = (time.perf_counter() - started) * 1000
        times.append(ms)
        kinds[query.kind].append(ms)
        slow.append((query.kind, query.text, ms))
        if query.person_id is not None:
            with_target += 1
            found += query.person_id in {h.id for h in hits}
    by_kind = {
        kind: {"n": len(v), "p50_ms": round(statistics.median(v), 2), "p95_ms": round(percentile(v, 0.95), 2),
               "max_ms": round(max(v), 2)}
        for kind, v in kinds.items()
    }  # fmt: skip
    slow.sort(key=lambda item: -item[2])
    return SearchTiming(
        statistics.median(times), percentile(times, 0.95), max(times), len(times), found, with_target, by_kind,
        [(k, t, round(ms, 2)) for k, t, ms in slow[:10]],
    )  # fmt: skip
