"""Referral and directory targets with 100,000 referrals and 2,000 offers.

The demo database holds the referrals the demo generator made (about one per two cases) and its 21 offers of 13
fictitious providers. Before measuring, it is topped up with synthetic rows (SQLAlchemy Core, idempotent: only
the missing number is added):

- providers ("Synthetischer Träger N", one of the demo towns) with five offers each until ``OFFERS`` offers
  exist: every category of the code list, 1–4 languages (German mostly among them), a residence-status list on
  one offer in five (else open to all), 8 % expired, a municipality of their own on one in three;
- referrals until ``REFERRALS`` exist, spread over the demo's cases and the offers, with the demo's status mix
  by case phase, their status changes, and a release consent for every referral that went out.

``directory_search_ms``
    ``services.directory.search_offers(session, …)`` for 200 searches with the filter combinations a counsellor
    uses (category; category + language; place + category; a word; language + residence status; word + place;
    everything; with expired), p50/p95/max.
``case_referrals_ms``
    ``services.referrals.case_referrals(session, case_id)`` for 200 random cases with referrals, the ones with
    the most referrals among them, p50/p95/max.
``overdue_referrals_ms``
    ``services.referrals.overdue_referrals(session, case_manager_id=m)`` ("my open referrals with overdue
    feedback") for the case manager with the most cases: median of 10 runs (and the whole office for reference).
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from .queries import percentile

REFERRALS = 100_000
OFFERS = 2_000
OFFERS_PER_PROVIDER = 5
_LANGUAGES = ("ar", "fa", "fa_AF", "ps", "uk", "ru", "tr", "ku", "ti", "so", "en", "fr", "ro", "bg", "sq", "pl")
_TOWNS = (("Dülmen", "48249"), ("Coesfeld", "48653"), ("Lüdinghausen", "59348"), ("Senden", "48308"),
          ("Nottuln", "48301"), ("Ascheberg", "59387"), ("Olfen", "59399"), ("Havixbeck", "48329"),
          ("Billerbeck", "48727"), ("Rosendahl", "48720"), ("Nordkirchen", "59394"))  # fmt: skip
_WORDS = ("Kurs", "Beratung", "Gruppe", "Frauen", "Jugend", "Begleitung", "Abend", "online", "Pflege", "Eltern")
_STATUS_BY_PHASE = {
    "implementation": (("draft", "sent", "accepted", "rejected", "completed"), (15, 35, 30, 10, 10)),
    "monitoring": (("sent", "accepted", "completed", "rejected", "revoked"), (10, 35, 40, 10, 5)),
    None: (("completed", "rejected", "accepted", "revoked", "sent"), (55, 15, 15, 5, 10)),
}
_CHAINS = {"draft": ["draft"], "sent": ["draft", "sent"], "accepted": ["draft", "sent", "accepted"],
           "rejected": ["draft", "sent", "rejected"], "completed": ["draft", "sent", "accepted", "completed"],
           "revoked": ["draft", "sent", "revoked"]}  # fmt: skip


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _top_up_offers(ctx, total: int, rng: random.Random, log) -> int:
    from kim_desktop.db.models import CodeEntry, Offer, Provider

    with ctx.read() as session:
        have = session.scalar(select(func.count()).select_from(Offer).where(Offer.deleted_at.is_(None))) or 0
        if have >= total:
            return 0
        categories = dict(
            session.execute(
                select(CodeEntry.code, CodeEntry.label_de).where(CodeEntry.list_name == "offer_category")
            ).all()
        )
        statuses = list(
            session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == "residence_status"))
        )
        providers_before = session.scalar(select(func.count()).select_from(Provider)) or 0
    missing = total - have
    log(f"Referrals: adding {missing:,} offers (database holds {have:,}) …")
    stamp = datetime.now(UTC).replace(tzinfo=None)
    common = {"created_at": stamp, "updated_at": stamp, "version": 1, "deleted_at": None}
    today = date.today()
    providers, offers = [], []
    number = providers_before
    codes = list(categories)
    while len(offers) < missing:
        number += 1
        town, postcode = rng.choice(_TOWNS)
        provider_id = _uid(rng)
        providers.append({
            "id": provider_id, "name": f"Synthetischer Träger {number} e. V.", "unit": None,
            "street": f"Beispielweg {rng.randint(1, 80)}", "postcode": postcode, "city": town, "municipality": town,
            "phone": f"0259 {rng.randrange(10000, 99999)}", "email": f"info@traeger-{number}.example",
            "website": None, "opening_hours": "Mo–Fr 9–15 Uhr", **common,
        })  # fmt: skip
        for index in range(min(OFFERS_PER_PROVIDER, missing - len(offers))):
            category = rng.choice(codes)
            langs = ["de"] if rng.random() < 0.9 else []
            langs += rng.sample(_LANGUAGES, rng.randint(0, 3))
            offers.append({
                "id": _uid(rng), "provider_id": provider_id,
                "title": f"{categories[category]}: {rng.choice(_WORDS)} {number}-{index + 1}", "category": category,
                "description": f"Angebot {rng.choice(_WORDS)} für Zugewanderte in {town}.", "languages": langs or ["de"],
                "target_group": rng.choice((None, "Erwachsene", "Jugendliche 16–27", "Frauen", "Familien")),
                "access_conditions": rng.choice((None, None, "auch mit Duldung", "nur mit Aufenthaltserlaubnis")),
                "residence_statuses": rng.sample(statuses, rng.randint(1, 4)) if rng.random() < 0.2 else None,
                "cost": rng.choice(("kostenfrei", "kostenfrei", "Kostenbeitrag möglich")),
                "municipality": rng.choice([t for t, _p in _TOWNS]) if rng.random() < 0.33 else None,
                "valid_from": None, "valid_until": today - timedelta(days=rng.randint(1, 400)) if rng.random() < 0.08
                else (today + timedelta(days=rng.randint(30, 700)) if rng.random() < 0.3 else None),
                "last_checked_on": today - timedelta(days=rng.randint(0, 500)), **common,
            })  # fmt: skip
    with ctx.write() as session:
        session.execute(insert(Provider), providers)
        session.execute(insert(Offer), offers)
    return missing


def _top_up_referrals(ctx, total: int, rng: random.Random, log) -> int:
    from kim_desktop.db.models import Case, Consent, Offer, Provider, Referral, ReferralStatusChange

    with ctx.read() as session:
        have = session.scalar(select(func.count()).select_from(Referral)) or 0
        if have >= total:
            return 0
        cases = session.execute(
            select(Case.id, Case.person_id, Case.phase, Case.case_manager_id, Case.opened_on, Case.closed_on)
            .where(Case.phase.in_(("implementation", "monitoring", "closed")), Case.deleted_at.is_(None))
        ).all()
        offers = session.execute(
            select(Offer.id, Offer.provider_id, Provider.name)
            .join(Provider, Provider.id == Offer.provider_id)
            .where(Offer.deleted_at.is_(None))
        ).all()
    missing = total - have
    log(f"Referrals: adding {missing:,} referrals (database holds {have:,}) …")
    today = date.today()
    stamp = datetime.now(UTC).replace(tzinfo=None)
    done = 0
    while done < missing:
        referrals, changes, consents = [], [], []
        for _ in range(min(20_000, missing - done)):
            case_id, person_id, phase, manager, opened_on, closed_on = rng.choice(cases)
            offer_id, provider_id, provider_name = rng.choice(offers)
            values, weights = _STATUS_BY_PHASE.get(phase, _STATUS_BY_PHASE[None])
            status = rng.choices(values, weights)[0]
            start_ord = (opened_on or today - timedelta(days=700)).toordinal()
            end_ord = max(start_ord, (closed_on or today).toordinal())
            ords = [rng.randint(start_ord, end_ord)]
            for _step in _CHAINS[status][1:]:
                ords.append(min(end_ord, ords[-1] + rng.randint(1, 40)))
            referral_id = _uid(rng)
            sent_on = date.fromordinal(ords[1]) if len(ords) > 1 else None
            answered_on = date.fromordinal(ords[2]) if len(ords) > 2 else None
            consent_id = None
            created = datetime.combine(date.fromordinal(ords[0]), datetime.min.time()).replace(hour=10)
            if sent_on is not None:
                consent_id = _uid(rng)
                consents.append({
                    "id": consent_id, "person_id": person_id, "case_id": case_id, "kind": "release",
                    "recipient_provider_id": provider_id, "recipient_name": provider_name, "scope": None,
                    "includes_special_categories": False, "form": "written", "given_on": date.fromordinal(ords[0]),
                    "valid_until": None, "revoked_on": None, "document_id": None, "created_at": created,
                    "updated_at": created, "version": 1, "deleted_at": None,
                })  # fmt: skip
            outcome = {"completed": "abgeschlossen", "accepted": "teilnahme"}.get(status)
            referrals.append({
                "id": referral_id, "case_id": case_id, "person_id": person_id, "offer_id": offer_id,
                "provider_id": provider_id, "goal_id": None, "step_id": None, "status": status,
                "reason": "Vermittlung (synthetisch).", "sent_on": sent_on, "answered_on": answered_on,
                "rejection_reason": "Kurs ausgebucht." if status == "rejected" else None, "outcome": outcome,
                "feedback": None, "follow_up_days": 14 if rng.random() < 0.3 else None,
                "release_consent_id": consent_id, "created_by": manager,
                "sent_via": ("post", "email", "personal")[ords[0] % 3] if sent_on else None,
                "consent_override_reason": None, "created_at": created, "updated_at": stamp, "version": 1,
                "deleted_at": None,
            })  # fmt: skip
            previous = None
            for to_status, o in zip(_CHAINS[status], ords, strict=True):
                changes.append({
                    "id": _uid(rng), "referral_id": referral_id, "from_status": previous, "to_status": to_status,
                    "changed_on": date.fromordinal(o), "changed_at": created, "changed_by": manager, "note": None,
                })  # fmt: skip
                previous = to_status
        with ctx.write() as session:
            session.execute(insert(Consent), consents)
            session.execute(insert(Referral), referrals)
            session.execute(insert(ReferralStatusChange), changes)
        done += len(referrals)
    return missing


def top_up(ctx, referrals: int = REFERRALS, offers: int = OFFERS, seed: int = 13, log=print) -> dict:
    rng = random.Random(seed)
    added_offers = _top_up_offers(ctx, offers, rng, log)
    added_referrals = _top_up_referrals(ctx, referrals, rng, log)
    return {"offers_added": added_offers, "referrals_added": added_referrals}


def _searches(session, rng: random.Random, n: int) -> list[dict]:
    from kim_desktop.db.models import CodeEntry

    categories = list(
        session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == "offer_category"))
    )
    statuses = list(session.scalars(select(CodeEntry.code).where(CodeEntry.list_name == "residence_status")))
    towns = [t for t, _p in _TOWNS]
    words = ("kurs", "beratung", "frauen", "jugend", "pflege", "eltern", "sprach", "integrationskurs")
    kinds = [
        lambda: {"category": rng.choice(categories)},
        lambda: {"category": rng.choice(categories), "language": rng.choice(_LANGUAGES)},
        lambda: {"municipality": rng.choice(towns), "category": rng.choice(categories)},
        lambda: {"text": rng.choice(words)},
        lambda: {"language": rng.choice(_LANGUAGES), "residence_status": rng.choice(statuses)},
        lambda: {"text": rng.choice(words), "municipality": rng.choice(towns)},
        lambda: {},
        lambda: {"category": rng.choice(categories), "include_expired": True},
    ]
    return [kinds[i % len(kinds)]() for i in range(n)]


def measure(db: Path, log=print) -> dict:
    from kim_desktop.db.engine import open_database
    from kim_desktop.db.models import Case, Offer, Provider, Referral
    from kim_desktop.services import directory, referrals
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(db)
    ctx = ServiceContext(database, Actor.local())
    try:
        added = top_up(ctx, log=log)
        with database.engine.connect() as connection:
            for table in ("referral", "offer", "provider", "consent", "referral_status_change"):
                connection.exec_driver_sql(f"ANALYZE {table}")
            connection.commit()
        rng = random.Random(17)
        with ctx.read() as session:
            total = session.scalar(select(func.count()).select_from(Referral))
            offers = session.scalar(select(func.count()).select_from(Offer).where(Offer.deleted_at.is_(None)))
            providers = session.scalar(select(func.count()).select_from(Provider))

            searches = _searches(session, rng, 200)
            for filters in searches[:10]:  # warm-up
                directory.search_offers(session, **filters)
            search_times, found = [], []
            for filters in searches:
                started = time.perf_counter()
                rows = directory.search_offers(session, **filters)
                search_times.append((time.perf_counter() - started) * 1000)
                found.append(len(rows))

            busiest = [c for c, _n in session.execute(
                select(Referral.case_id, func.count()).group_by(Referral.case_id)
                .order_by(func.count().desc()).limit(20))]  # fmt: skip
            with_referrals = list(session.scalars(select(Referral.case_id).distinct().limit(50_000)))
            sample = rng.sample(with_referrals, min(180, len(with_referrals)))
            case_ids = busiest + sample
            referrals.case_referrals(session, case_ids[0])
            case_times, case_sizes = [], []
            for case_id in case_ids:
                started = time.perf_counter()
                rows = referrals.case_referrals(session, case_id)
                case_times.append((time.perf_counter() - started) * 1000)
                case_sizes.append(len(rows))

            managers = [m for m, _n in session.execute(
                select(Case.case_manager_id, func.count()).where(Case.case_manager_id.is_not(None))
                .group_by(Case.case_manager_id).order_by(func.count().desc()).limit(3))]  # fmt: skip
            overdue = {}
            for label, manager in (("busiest", managers[0] if managers else None), ("office", None)):
                referrals.overdue_referrals(session, case_manager_id=manager)
                times = []
                for _ in range(10):
                    started = time.perf_counter()
                    rows = referrals.overdue_referrals(session, case_manager_id=manager)
                    times.append((time.perf_counter() - started) * 1000)
                overdue[label] = (statistics.median(times), max(times), len(rows))

            top_offer = session.scalar(
                select(Referral.offer_id).group_by(Referral.offer_id).order_by(func.count().desc()).limit(1)
            )
            started = time.perf_counter()
            by_offer = referrals.referrals_by_offer(session, top_offer)
            by_offer_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            referrals.referral_stats(session)
            stats_ms = (time.perf_counter() - started) * 1000
        return {
            "referrals": total,
            "offers": offers,
            "providers": providers,
            **added,
            "directory_search_ms": round(statistics.median(search_times), 2),
            "directory_search_p95_ms": round(percentile(search_times, 0.95), 2),
            "directory_search_max_ms": round(max(search_times), 2),
            "directory_search_hits": round(statistics.mean(found), 1),
            "case_referrals_ms": round(statistics.median(case_times), 2),
            "case_referrals_p95_ms": round(percentile(case_times, 0.95), 2),
            "case_referrals_max_ms": round(max(case_times), 2),
            "case_referrals_most": max(case_sizes),
            "overdue_referrals_ms": round(overdue["busiest"][0], 2),
            "overdue_referrals_max_ms": round(overdue["busiest"][1], 2),
            "overdue_referrals_rows": overdue["busiest"][2],
            "overdue_referrals_office_ms": round(overdue["office"][0], 2),
            "overdue_referrals_office_rows": overdue["office"][2],
            "referrals_by_offer_ms": round(by_offer_ms, 2),
            "referrals_by_offer_rows": len(by_offer),
            "referral_stats_ms": round(stats_ms, 2),
        }
    finally:
        database.dispose()


def print_referrals(results: dict) -> None:
    print(f"\nreferrals: {results['referrals']:,} referrals, {results['offers']:,} offers of "
          f"{results['providers']:,} providers; directory search p50 {results['directory_search_ms']} ms, p95 "
          f"{results['directory_search_p95_ms']} ms, max {results['directory_search_max_ms']} ms "
          f"(~{results['directory_search_hits']} hits); a case's referrals p95 {results['case_referrals_p95_ms']} ms "
          f"(max {results['case_referrals_max_ms']} ms, up to {results['case_referrals_most']} rows); my overdue "
          f"referrals {results['overdue_referrals_ms']} ms ({results['overdue_referrals_rows']} rows), whole office "
          f"{results['overdue_referrals_office_ms']} ms ({results['overdue_referrals_office_rows']} rows); "
          f"referrals of the busiest offer {results['referrals_by_offer_ms']} ms "
          f"({results['referrals_by_offer_rows']} rows), statistics {results['referral_stats_ms']} ms")  # fmt: skip


if __name__ == "__main__":
    import argparse
    import json
    import os

    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.referrals", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a demo database (topped up in place)")
    args = parser.parse_args()
    figures = measure(args.db.expanduser().resolve())
    print(json.dumps(figures, indent=2))
    print_referrals(figures)
