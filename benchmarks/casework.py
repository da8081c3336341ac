"""Case-journey targets: open a case with 2,000 journal entries, load the start page, check for duplicates.

``case_open_ms``
    One case of the database (deterministic: a case that already holds ≥ 2,000 journal entries, otherwise the
    oldest open case) is filled up to 2,000 journal entries with realistic German text, dates spread over two
    years and contact types from the code list (one Core ``INSERT`` in one transaction; idempotent because the
    count is checked first). Then ``ui.case_page.CasePage`` gets ``set_context(ctx)`` once and ``load(case_id)``
    is timed in-process (offscreen ``QApplication``, page shown): median of 20 runs after 2 warm-ups. The same
    calls without Qt (``get_case`` + ``journal(limit=200)`` + ``goals`` + ``assessments``) are timed as the
    services-only figure, with a per-call breakdown in the JSON.
``workplace_ms``
    ``ui.workplace_page.WorkplacePage`` ``set_context(ctx)`` and then ``refresh()``: median of 10 after a
    warm-up, for ``Actor.local()`` (``user_id=None``: the whole office, the worst case) and for the case
    manager with the most cases.
``duplicate_check_ms``
    ``services.duplicates.find_duplicates(session, family, given, birth)`` for 200 entries built from stored
    persons (exact, spelling/umlaut/transliteration variants, swapped family/given names, year-only birth
    dates; 50 each) and 50 new, unseen names; p50/p95 in one read session after 10 warm-up checks.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from .queries import _sample, _spelling_map, _variants_of, percentile

#: Journal entries the measured case must hold.
CASE_JOURNAL_ENTRIES = 2_000

# --- synthetic journal text ----------------------------------------------------------------------------

_OPENERS = {
    "persoenlich": ("Beratungsgespräch im Büro.", "Gespräch mit Klient*in.", "Termin wahrgenommen.", ""),
    "telefon": ("Telefonat:", "Anruf von Klient*in:", "Rückruf:"),
    "hausbesuch": ("Hausbesuch.", "Hausbesuch in der Unterkunft."),
    "begleitung": ("Begleitung zum Termin.", "Begleitung zur Behörde."),
    "email": ("E-Mail erhalten:", "Schreiben verschickt:", "Brief an die Behörde:"),
    "videoberatung": ("Videoberatung:", "Online-Termin per Video:"),
    "fallkonferenz": ("Fallkonferenz mit den beteiligten Stellen.", "Helferkonferenz:"),
    "netzwerk": (
        "Rücksprache mit dem Jobcenter.",
        "Kontakt mit der Ausländerbehörde.",
        "Abstimmung mit dem Träger.",
    ),
    "notiz": ("Aktennotiz:", "Vermerk:"),
}
_TOPICS = (
    "Antrag auf Verlängerung des Aufenthaltstitels gemeinsam ausgefüllt, Unterlagen (Pass, Mietvertrag, "
    "Einkommensnachweis) vollständig.",
    "Bescheid des Jobcenters besprochen; die Kosten der Unterkunft wurden nur teilweise übernommen, "
    "Widerspruch wird vorbereitet.",
    "Anmeldung zum Integrationskurs (B1) erledigt, Kursbeginn im nächsten Monat.",
    "Wohnungssuche: zwei Besichtigungen vereinbart, WBS-Antrag ist gestellt.",
    "Schulanmeldung der Kinder besprochen, Termin beim Schulamt steht.",
    "Kita-Platz: Zusage liegt vor, Betreuungsvertrag gemeinsam gelesen.",
    "Gesundheit: Überweisung zur Fachärztin erklärt, Dolmetschung für den Termin organisiert.",
    "Anerkennung des Berufsabschlusses: Unterlagen für die Anerkennungsstelle zusammengestellt.",
    "Schulden: Übersicht der offenen Forderungen erstellt, Kontakt zur Schuldnerberatung hergestellt.",
    "Arbeitsvertrag gemeinsam durchgesehen, Fragen zur Probezeit und zum Lohn geklärt.",
    "Familiennachzug: Stand des Visumverfahrens bei der Botschaft nachgefragt.",
    "Kindergeld und Kinderzuschlag beantragt, Bescheinigungen nachgereicht.",
    "Sprachstand besprochen, Prüfungstermin für den DTZ angemeldet.",
    "Psychosoziale Belastung angesprochen, Kontakt zum Beratungszentrum angeboten.",
    "Mietrückstand: Gespräch mit dem Vermieter, Ratenzahlung vereinbart.",
    "Einbürgerung: Voraussetzungen erläutert, Einbürgerungstest empfohlen.",
)
_FOLLOW_UPS = (
    " Nächster Termin ist vereinbart.",
    " Klient*in bringt die fehlenden Unterlagen nächste Woche mit.",
    " Rückmeldung der Behörde steht noch aus.",
    " Wiedervorlage in zwei Wochen.",
    " Ziel im Hilfeplan angepasst.",
    "",
)
_DETAILS = (
    "Klient*in wirkte erleichtert, die Situation ist aber weiterhin angespannt.",
    "Die Frist endet Ende des Monats; bis dahin muss der Antrag vollständig sein.",
    "Dolmetschung war telefonisch zugeschaltet, Verständigung gut.",
    "Vereinbart: Klient*in kümmert sich um die Meldebescheinigung, ich schreibe an das Amt.",
    "Die Kinder waren beim Gespräch dabei; ein eigener Termin wäre besser.",
)


def journal_text(rng: random.Random, contact: str) -> str:
    """One journal entry as a case manager would write it: a line, sometimes a second paragraph."""
    opener = rng.choice(_OPENERS.get(contact, ("",)))
    text = f"{opener} {rng.choice(_TOPICS)}{rng.choice(_FOLLOW_UPS)}".strip()
    if rng.random() < 0.25:
        text += "\n\n" + " ".join(rng.sample(_DETAILS, rng.randint(1, 3)))
    return text


# --- the case with 2,000 entries -----------------------------------------------------------------------


def pick_case(session) -> str:
    """A case that already holds ≥ CASE_JOURNAL_ENTRIES entries (an earlier run), else the oldest open one."""
    from kim_desktop.db.models import Case, JournalEntry

    filled = session.scalar(
        select(JournalEntry.case_id)
        .join(Case, Case.id == JournalEntry.case_id)
        .where(JournalEntry.deleted_at.is_(None), Case.deleted_at.is_(None))
        .group_by(JournalEntry.case_id)
        .having(func.count() >= CASE_JOURNAL_ENTRIES)
        .order_by(func.min(Case.file_number))
        .limit(1)
    )
    if filled:
        return filled
    return session.scalar(
        select(Case.id)
        .where(Case.deleted_at.is_(None), Case.phase != "closed")
        .order_by(Case.opened_on, Case.file_number)
        .limit(1)
    )


def ensure_case_journal(
    ctx, case_id: str, *, wanted: int = CASE_JOURNAL_ENTRIES, seed: int = 7
) -> tuple[int, int]:
    """Fill the case up to ``wanted`` live journal entries; returns (entries before, entries added)."""
    from kim_desktop.db.models import Case, CodeEntry, JournalEntry, Person
    from kim_desktop.services.journal import journal_count

    with ctx.write() as session:
        before = journal_count(session, case_id)
        missing = wanted - before
        if missing <= 0:
            return before, 0
        case = session.get(Case, case_id)
        person = session.get(Person, case.person_id)
        codes = {
            name: list(session.scalars(
                select(CodeEntry.code).where(CodeEntry.list_name == name).order_by(CodeEntry.sort_order, CodeEntry.code)
            ))
            for name in ("contact_type", "life_area")
        }  # fmt: skip
        contacts = codes["contact_type"] or ["persoenlich"]
        weights = [{"persoenlich": 40, "telefon": 25, "email": 12, "notiz": 8}.get(c, 3) for c in contacts]
        areas = codes["life_area"] or [None]
        rng = random.Random(f"{seed}:{case_id}")
        today = date.today()
        first = max(case.opened_on, today - timedelta(days=730))
        span = max(0, (today - first).days)
        rows = []
        for _ in range(missing):
            day = first + timedelta(days=rng.randint(0, span))
            if day.weekday() >= 5:
                day -= timedelta(days=day.weekday() - 4)
                day = max(day, first)
            stamp = datetime(
                day.year, day.month, day.day, 8 + rng.randrange(9), rng.choice((0, 15, 30, 45)), tzinfo=UTC
            )
            contact = rng.choices(contacts, weights)[0]
            interpreter = (
                person.interpreter_needed
                and contact in ("persoenlich", "hausbesuch", "begleitung")
                and rng.random() < 0.8
            )
            rows.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "case_id": case.id,
                "person_id": case.person_id, "entry_date": day, "contact_type": contact,
                "duration_min": rng.choice((10, 15, 20, 30, 30, 45, 45, 60, 60, 90)),
                "interpreter_id": None, "interpreter_language": person.interpreter_language if interpreter else None,
                "location_id": None, "life_areas": [a for a in rng.sample(areas, min(len(areas), rng.randint(1, 2))) if a],
                "text": journal_text(rng, contact), "confidential": rng.random() < 0.03, "system_generated": False,
                "author_id": case.case_manager_id, "created_at": stamp, "updated_at": stamp, "version": 1,
                "deleted_at": None,
            })  # fmt: skip
        session.execute(insert(JournalEntry.__table__), rows)
        return before, missing


@dataclass
class Stats:
    median_ms: float
    min_ms: float
    max_ms: float
    runs: list[float]

    def as_dict(self, prefix: str) -> dict:
        return {
            f"{prefix}_ms": round(self.median_ms, 2),
            f"{prefix}_min_ms": round(self.min_ms, 2),
            f"{prefix}_max_ms": round(self.max_ms, 2),
        }


def _timed(fn, runs: int, warmup: int) -> Stats:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return Stats(statistics.median(times), min(times), max(times), [round(t, 2) for t in times])


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["benchmarks"])


def measure_case_open(ctx, case_id: str, *, runs: int = 20, warmup: int = 2) -> dict:
    from kim_desktop.services import cases, followups, journal
    from kim_desktop.ui.case_page import JOURNAL_PAGE, CasePage

    case_follow_ups = getattr(followups, "case_follow_ups", None)

    app = _app()
    started = time.perf_counter()
    page = CasePage()
    page.resize(1200, 800)
    page.set_context(ctx)
    page.show()
    page.load(case_id)
    app.processEvents()
    first_ms = (time.perf_counter() - started) * 1000

    load = _timed(lambda: page.load(case_id), runs, warmup)

    def load_and_paint() -> None:
        page.load(case_id)
        app.processEvents()

    painted = _timed(load_and_paint, max(5, runs // 2), 1)
    shown_rows = page.journal_model.rowCount()
    total = page.journal_model.total

    parts: dict[str, list[float]] = defaultdict(list)

    def services() -> None:
        """What ``load()`` asks the services for, each call timed on its own (one read session per call,
        as the page does)."""
        t0 = time.perf_counter()
        cases.get_case(ctx, case_id)
        t1 = time.perf_counter()
        with ctx.read() as session:
            journal.journal_count(session, case_id)
        t2 = time.perf_counter()
        with ctx.read() as session:
            journal.journal(session, case_id, offset=0, limit=JOURNAL_PAGE)
        t3 = time.perf_counter()
        with ctx.read() as session:
            journal.goals(session, case_id)
        t4 = time.perf_counter()
        with ctx.read() as session:
            journal.assessments(session, case_id)
        t5 = time.perf_counter()
        if case_follow_ups is not None:  # the Wiedervorlagen tab
            with ctx.read() as session:
                case_follow_ups(session, case_id, include_done=True)
            parts["follow_ups"].append((time.perf_counter() - t5) * 1000)
        for name, a, b in (("get_case", t0, t1), ("journal_count", t1, t2), ("journal_200", t2, t3),
                           ("goals", t3, t4), ("assessments", t4, t5)):  # fmt: skip
            parts[name].append((b - a) * 1000)
        # The four calls named in the target (without journal_count).
        parts["core"].append((t1 - t0 + t5 - t2) * 1000)

    service_stats = _timed(services, runs, warmup)
    breakdown = {name: round(statistics.median(v[warmup:]), 2) for name, v in parts.items() if name != "core"}
    core = statistics.median(parts["core"][warmup:])
    page.close()
    page.deleteLater()
    app.processEvents()
    return {
        **load.as_dict("case_open"),
        "case_open_runs": load.runs,
        "case_open_painted_ms": round(painted.median_ms, 2),
        "case_page_first_ms": round(first_ms, 2),
        "case_services_ms": round(core, 2),  # get_case + journal(limit=200) + goals + assessments
        "case_services_all_ms": round(service_stats.median_ms, 2),  # the same + journal_count + follow-ups
        "case_services_breakdown_ms": breakdown,
        "case_journal_total": total,
        "case_journal_shown": shown_rows,
    }


def manager_actor(session):
    """The user account holding the most (non-deleted) cases, as a case-management actor."""
    from kim_desktop.db.models import Case, UserAccount
    from kim_desktop.services.context import Actor

    row = session.execute(
        select(UserAccount.id, UserAccount.display_name, func.count(Case.id).label("n"))
        .join(Case, Case.case_manager_id == UserAccount.id)
        .where(Case.deleted_at.is_(None))
        .group_by(UserAccount.id, UserAccount.display_name)
        .order_by(func.count(Case.id).desc(), UserAccount.id)
        .limit(1)
    ).first()
    if row is None:
        return None, 0
    return Actor(user_id=row.id, display_name=row.display_name, roles=frozenset({"case_management"})), row.n


def measure_workplace(ctx, *, runs: int = 10, warmup: int = 1) -> dict:
    from kim_desktop.services.followups import workplace
    from kim_desktop.ui.workplace_page import WorkplacePage

    app = _app()
    page = WorkplacePage()
    page.resize(1200, 800)
    page.show()
    app.processEvents()
    started = time.perf_counter()
    page.set_context(ctx)  # the first refresh()
    first_ms = (time.perf_counter() - started) * 1000
    refresh = _timed(page.refresh, runs, warmup)
    reminders = page.model.rowCount()

    def services() -> None:
        with ctx.read() as session:
            workplace(session, user_id=ctx.actor.user_id, today=date.today())

    service_stats = _timed(services, runs, warmup)
    by_kind: dict[str, int] = defaultdict(int)
    for row in range(reminders):
        by_kind[page.model.reminder(row).kind] += 1
    page.close()
    page.deleteLater()
    app.processEvents()
    return {
        "ms": round(refresh.median_ms, 2),
        "max_ms": round(refresh.max_ms, 2),
        "first_ms": round(first_ms, 2),
        "services_ms": round(service_stats.median_ms, 2),
        "reminders": reminders,
        "reminders_by_kind": dict(by_kind),
        "runs": refresh.runs,
    }


# --- duplicate check -----------------------------------------------------------------------------------

DUPLICATE_KINDS = ("exact", "variant", "swapped", "year_only", "new")

_SYLLABLES = ("qua", "zel", "vor", "bri", "tox", "hum", "dra", "lenk", "mip", "sor", "wet", "jag", "kru", "fos",
              "nib", "yel", "thar", "plo", "gist", "rav")  # fmt: skip


@dataclass(frozen=True)
class Entry:
    kind: str
    family: str
    given: str
    birth: object  # PartialDate | None
    person_id: str | None  # the stored person the entry was built from (should be found)


def build_duplicate_entries(session, *, per_kind: int = 50, new: int = 50, seed: int = 4711) -> list[Entry]:
    from kim_desktop.db.models import Person
    from kim_desktop.services.dates import PartialDate

    rng = random.Random(seed)
    persons = _sample(
        session, Person, per_kind * 12, rng, Person.deleted_at.is_(None), Person.merged_into_id.is_(None)
    )
    spellings = _spelling_map()
    out: dict[str, list[Entry]] = defaultdict(list)

    def add(kind: str, family: str, given: str, birth, person_id) -> None:
        if family.strip() and len(out[kind]) < per_kind:
            out[kind].append(Entry(kind, family, given, birth, person_id))

    for p in persons:
        birth = PartialDate.from_parts(p.birth_year, p.birth_month, p.birth_day)
        if len(out["exact"]) < per_kind:
            add("exact", p.family_name, p.given_names, birth, p.id)
            continue
        family_variants = _variants_of(p.family_name, spellings, rng)
        given_variants = _variants_of(p.given_names, spellings, rng) if p.given_names else []
        if len(out["variant"]) < per_kind and (family_variants or given_variants):
            family = rng.choice(family_variants) if family_variants else p.family_name
            given = rng.choice(given_variants) if given_variants and (not family_variants or rng.random() < 0.5) \
                else p.given_names  # fmt: skip
            add("variant", family, given, birth, p.id)
            continue
        if len(out["swapped"]) < per_kind and p.given_names:
            add("swapped", p.given_names, p.family_name, birth, p.id)
            continue
        if len(out["year_only"]) < per_kind and p.birth_year:
            add("year_only", p.family_name, p.given_names, PartialDate(p.birth_year), p.id)
            continue
    given_pool = sorted({p.given_names.split()[0] for p in persons if p.given_names})
    for _ in range(new):
        family = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        given = rng.choice(given_pool) if given_pool and rng.random() < 0.8 else \
            "".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize()  # fmt: skip
        birth = PartialDate(rng.randint(1950, 2020), rng.randint(1, 12), rng.randint(1, 28))
        add("new", family, given, birth, None)
    return [e for kind in DUPLICATE_KINDS for e in out[kind]]


def measure_duplicates(ctx, *, seed: int = 4711) -> dict:
    from kim_desktop.services.duplicates import find_duplicates

    with ctx.read() as session:
        entries = build_duplicate_entries(session, seed=seed)
        warm = build_duplicate_entries(session, per_kind=2, new=2, seed=seed + 1)
        for e in warm:
            find_duplicates(session, e.family, e.given, e.birth)
        times: list[float] = []
        kinds: dict[str, list[float]] = defaultdict(list)
        found: dict[str, int] = defaultdict(int)
        flagged_new = 0
        slow = []
        for e in entries:
            started = time.perf_counter()
            hits = find_duplicates(session, e.family, e.given, e.birth)
            ms = (time.perf_counter() - started) * 1000
            times.append(ms)
            kinds[e.kind].append(ms)
            slow.append((e.kind, f"{e.family}, {e.given} {e.birth.german() if e.birth else ''}".strip(), len(hits),
                         round(ms, 2)))  # fmt: skip
            if e.person_id is not None:
                found[e.kind] += e.person_id in {h.id for h in hits}
            elif hits:
                flagged_new += 1
    slow.sort(key=lambda item: -item[3])
    return {
        "duplicate_check_p50_ms": round(statistics.median(times), 2),
        "duplicate_check_p95_ms": round(percentile(times, 0.95), 2),
        "duplicate_check_max_ms": round(max(times), 2),
        "duplicate_checks": len(times),
        "duplicate_by_kind": {
            kind: {
                "n": len(v),
                "p50_ms": round(statistics.median(v), 2),
                "p95_ms": round(percentile(v, 0.95), 2),
                "max_ms": round(max(v), 2),
                **({"found": found[kind]} if kind != "new" else {"flagged": flagged_new}),
            }
            for kind, v in kinds.items()
        },  # fmt: skip
        "duplicate_slowest": slow[:10],
    }


# --- all together --------------------------------------------------------------------------------------


def measure_casework(
    db: Path, *, case_runs: int = 20, workplace_runs: int = 10, log=print, key: bytes | None = None
) -> dict:
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(db, key=key)  # key: an encrypted copy (benchmarks/encryption.py)
    office = ServiceContext(database, Actor.local())
    result: dict = {}
    try:
        with office.read() as session:
            case_id = pick_case(session)
            actor, manager_cases = manager_actor(session)
        if case_id is None:
            log("Case page: no case in the database, skipped.")
        else:
            started = time.perf_counter()
            before, added = ensure_case_journal(office, case_id)
            if added:
                log(f"Case page: added {added:,} journal entries to case {case_id} "
                    f"(had {before:,}) in {time.perf_counter() - started:.1f} s.")  # fmt: skip
            log(f"Case page: CasePage.load() of a case with {max(before, CASE_JOURNAL_ENTRIES):,} journal entries, "
                f"{case_runs} runs after 2 warm-ups …")  # fmt: skip
            result["case_id"] = case_id
            result.update(measure_case_open(office, case_id, runs=case_runs))

        log(f"Start page: WorkplacePage.refresh(), whole office (Actor.local()), {workplace_runs} runs …")
        whole = measure_workplace(office, runs=workplace_runs)
        result.update(workplace_ms=whole["ms"], workplace_office=whole)
        if actor is not None:
            log(f"Start page: case manager {actor.display_name} ({manager_cases:,} cases) …")
            mine = measure_workplace(ServiceContext(database, actor), runs=workplace_runs)
            mine["cases"] = manager_cases
            result.update(workplace_manager_ms=mine["ms"], workplace_manager=mine)

        log("Duplicate check: 250 find_duplicates calls (200 from stored persons, 50 new names) …")
        result.update(measure_duplicates(office))
    finally:
        database.dispose()
    return result
