"""Letters: one invitation warm, 500 invitations of a day, and LibreOffice as the yardstick.

``letter_ms`` / ``letter_p95_ms``
    ``services.letters.make_letter(ctx, "invitation", appointment_id=…, person_id=…)`` for one appointment of
    the benchmark day: median and p95 of 60 runs after 5 warm-ups. Each run is what the counsellor gets:
    context from the database, template, PDF, archived as a ``document`` and audited, committed.
``bulk_letters_s`` / ``bulk_letters_per_s``
    ``services.bulk_letters.make_invitations(ctx, day, tmp)`` for a day with exactly 500 invitations (500
    appointments, one participant each), written into a temporary folder; wall time and letters per second.
``libreoffice_*``
    The yardstick: the same 100 letters (same data, same texts from the same templates) as DOCX made with
    python-docx in a comparable layout (letterhead, return line, address field and information block side by
    side, subject, body, closing, footer), then one ``soffice --headless --convert-to pdf --outdir TMP *.docx``
    call for all 100, timed from spawn to exit (its start included; the LibreOffice user profile is created by
    an untimed one-document run first, as on a desk where LibreOffice has been used before). Making the DOCX
    files is timed separately and not counted. ``libreoffice_ratio`` = our letters/s ÷ LibreOffice's.
    CPU seconds (``bulk_letters_cpu_s``: this process; ``libreoffice_cpu_s``: the finished soffice processes)
    are reported next to the wall times: on a shared machine they say more than the wall clock.

The benchmark day is a weekday about 400 days ahead (no demo appointments there). Its 500 appointments are
added with SQLAlchemy Core for persons with an address (deterministic sample of open cases), marked with
``ical_uid`` ``bench-letters-…``; afterwards the appointments and every document, audit event and change
record the run made are deleted again, so the reused benchmark database does not grow from run to run.

Standalone: ``python -m benchmarks.letters`` (fresh 2,000-person demo database in a temporary folder) or
``python -m benchmarks.letters --db PATH``; the main runner calls ``measure_letters(db)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select

from .queries import percentile

BULK_LETTERS = 500
SINGLE_RUNS = 60
SINGLE_WARMUP = 5
COMPARE_LETTERS = 100
MARK = "bench-letters-"
NO_LIBREOFFICE = "LibreOffice nicht installiert – Vergleich übersprungen"


# --- the benchmark day -----------------------------------------------------------------------------------


def bench_day(today: date | None = None) -> date:
    """A Tuesday about 400 days ahead: beyond every demo appointment (those reach 35 days ahead)."""
    day = (today or date.today()) + timedelta(days=400)
    return day + timedelta(days=(1 - day.weekday()) % 7)


def cleanup(ctx) -> int:
    """Delete the benchmark appointments and every document, audit event and change record made for them."""
    from kim_desktop.db.models import Appointment, AppointmentParticipant, AuditEvent, ChangeRecord, Document

    with ctx.write() as session:
        ids = list(session.scalars(select(Appointment.id).where(Appointment.ical_uid.like(f"{MARK}%"))))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            documents = list(session.scalars(select(Document.id).where(Document.appointment_id.in_(chunk))))
            for d_start in range(0, len(documents), 500):
                d_chunk = documents[d_start : d_start + 500]
                session.execute(
                    delete(AuditEvent).where(
                        AuditEvent.entity_type == "document", AuditEvent.entity_id.in_(d_chunk)
                    )
                )
                session.execute(
                    delete(ChangeRecord).where(
                        ChangeRecord.entity_type == "document", ChangeRecord.entity_id.in_(d_chunk)
                    )
                )
                session.execute(delete(Document).where(Document.id.in_(d_chunk)))
            session.execute(
                delete(AppointmentParticipant).where(AppointmentParticipant.appointment_id.in_(chunk))
            )
            session.execute(delete(Appointment).where(Appointment.id.in_(chunk)))
    return len(ids)


def add_bench_day(ctx, day: date, count: int = BULK_LETTERS, seed: int = 11) -> list[tuple[str, str]]:
    """``count`` appointments on ``day`` (local 08:00–17:45 in 15-minute slots), one participant each."""
    from kim_desktop.db.models import Appointment, AppointmentParticipant, Case, Location, Person
    from kim_desktop.services.localtime import day_bounds_utc

    rng = random.Random(seed)
    with ctx.write() as session:
        candidates = session.execute(
            select(Case.id, Case.person_id)
            .join(Person, Person.id == Case.person_id)
            .where(
                Case.deleted_at.is_(None), Case.phase != "closed", Person.deleted_at.is_(None),
                Person.street.is_not(None), Person.street != "", Person.postcode.is_not(None), Person.city.is_not(None),
            )
            .order_by(Case.id)
            .limit(max(count * 4, 2000))
        ).all()  # fmt: skip
        if not candidates:
            raise SystemExit("letters benchmark: no open case of a person with an address in the database")
        chosen = (
            rng.sample(candidates, count)
            if len(candidates) >= count
            else [rng.choice(candidates) for _ in range(count)]
        )
        locations = list(session.scalars(select(Location.id).where(Location.deleted_at.is_(None)).limit(20)))
        start_utc, _end = day_bounds_utc(day)
        first = start_utc + timedelta(hours=8)
        now = datetime.now(UTC)
        appointments, participants, pairs = [], [], []
        for i, (case_id, person_id) in enumerate(chosen):
            appointment_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            starts = first + timedelta(minutes=15 * (i % 40))  # 40 slots a day, several rooms
            appointments.append({
                "id": appointment_id, "case_id": case_id, "type": "beratung", "title": "Beratung",
                "location_id": rng.choice(locations) if locations and rng.random() < 0.7 else None,
                "starts_at": starts, "ends_at": starts + timedelta(minutes=45), "case_manager_id": None,
                "interpreter_id": None, "interpreter_language": "ar" if rng.random() < 0.3 else None,
                "status": "planned" if i % 3 else "confirmed", "note": None, "conflict_accepted": False,
                "ical_uid": f"{MARK}{appointment_id}", "busy_only": False, "created_at": now, "updated_at": now,
                "version": 1, "deleted_at": None,
            })  # fmt: skip
            participants.append({"appointment_id": appointment_id, "person_id": person_id})
            pairs.append((appointment_id, person_id))
        session.execute(insert(Appointment.__table__), appointments)
        session.execute(insert(AppointmentParticipant.__table__), participants)
    return pairs


# --- our letters -------------------------------------------------------------------------------------------


def measure_single(ctx, appointment_id: str, person_id: str) -> dict:
    from kim_desktop.services.letters import make_letter

    def one() -> None:
        make_letter(ctx, "invitation", appointment_id=appointment_id, person_id=person_id)

    for _ in range(SINGLE_WARMUP):
        one()
    times = []
    for _ in range(SINGLE_RUNS):
        started = time.perf_counter()
        one()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "letter_ms": round(statistics.median(times), 2),
        "letter_p95_ms": round(percentile(times, 0.95), 2),
        "letter_max_ms": round(max(times), 2),
        "letter_runs": len(times),
    }


def measure_bulk(ctx, day: date, out_dir: Path) -> dict:
    from kim_desktop.services.bulk_letters import make_invitations

    started, cpu = time.perf_counter(), time.process_time()
    result = make_invitations(ctx, day, out_dir)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    sizes = [p.stat().st_size for p in result.written]
    return {
        "bulk_letters_s": round(elapsed, 2),
        "bulk_letters_cpu_s": round(cpu, 2),
        "bulk_letters_per_s": round(len(result.written) / elapsed, 1) if elapsed else None,
        "bulk_letters_written": len(result.written),
        "bulk_letters_skipped": len(result.skipped),
        "bulk_letters_kb": round(statistics.median(sizes) / 1024, 1) if sizes else None,
    }


# --- the same letters as DOCX, converted by LibreOffice ----------------------------------------------------


def letter_contents(ctx, pairs: list[tuple[str, str]]) -> list[dict]:
    """The data and the texts of the letters as ``make_letter`` builds them (same templates, same context)."""
    from kim_desktop.i18n import format_date
    from kim_desktop.services import letter_templates, letters

    out = []
    with ctx.read() as session:
        template = letter_templates.get_template(session, "invitation", "de")
        profile = letters.office_profile(session)
        for appointment_id, person_id in pairs:
            context, person, case = letters.build_context(
                session, ctx, appointment_id=appointment_id, person_id=person_id
            )
            out.append({
                "profile": profile, "address": letters.address_lines(person),
                "subject": letter_templates.render_subject(template.subject, context),
                "salutation": context["person"]["anrede"], "body": letter_templates.render(template.body, context),
                "file_number": case.file_number if case else "—", "contact": ctx.actor.display_name,
                "date": format_date(date.today()),
            })  # fmt: skip
    return out


def write_docx(content: dict, path: Path) -> None:
    """A DIN 5008 style letter in Word: the layout a counsellor would set up in a Word template."""
    from docx import Document as Docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Mm, Pt

    profile = content["profile"]
    doc = Docx()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    section.top_margin, section.bottom_margin = Mm(20), Mm(25)
    normal = doc.styles["Normal"]
    normal.font.name = "DejaVu Sans"
    normal.font.size = Pt(10)
    normal.paragraph_format.space_after = Pt(0)
    head = doc.add_paragraph()
    run = head.add_run(profile["organisation"])
    run.bold, run.font.size = True, Pt(14)
    if profile["unit"]:
        head.add_run("\n" + profile["unit"]).font.size = Pt(9)
    head.paragraph_format.space_after = Pt(60)  # address field about 45 mm from the top, as in DIN 5008 B
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    left, right = table.rows[0].cells
    left.width, right.width = Mm(85), Mm(75)
    back = ", ".join(
        p
        for p in (
            profile["organisation"],
            profile["street"],
            f"{profile['postcode']} {profile['city']}".strip(),
        )
        if p
    )
    first = left.paragraphs[0]
    small = first.add_run(back)
    small.font.size, small.underline = Pt(7), True
    for line in content["address"]:
        left.add_paragraph(line)
    info = right.paragraphs[0]
    rows = [("Aktenzeichen", content["file_number"]), ("Ansprechpartner/in", content["contact"])]
    rows += [
        (label, profile[key]) for label, key in (("Telefon", "phone"), ("E-Mail", "email")) if profile[key]
    ]
    rows.append(("Datum", content["date"]))
    for i, (label, value) in enumerate(rows):
        target = info if i == 0 else right.add_paragraph()
        target.add_run(f"{label}: ").font.size = Pt(8)
        target.add_run(value).font.size = Pt(9)
    subject = doc.add_paragraph()
    subject.paragraph_format.space_before = Pt(36)
    subject.paragraph_format.space_after = Pt(18)
    subject.add_run(content["subject"]).bold = True
    doc.add_paragraph(content["salutation"]).paragraph_format.space_after = Pt(10)
    for text in content["body"]:
        doc.add_paragraph(text).paragraph_format.space_after = Pt(8)
    doc.add_paragraph("Mit freundlichen Grüßen").paragraph_format.space_before = Pt(6)
    closing = doc.add_paragraph(content["contact"])
    closing.paragraph_format.space_before = Pt(30)
    footer = section.footer.paragraphs[0]
    footer.add_run(
        " · ".join(
            p
            for p in (
                profile["organisation"],
                profile["street"],
                profile["phone"],
                profile["email"],
                profile["office_hours"],
            )
            if p
        )  # fmt: skip
    ).font.size = Pt(7)
    doc.save(str(path))


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def measure_libreoffice(
    ctx,
    pairs: list[tuple[str, str]],
    ours_per_s: float | None,
    work: Path,
    log=print,
    ours_cpu_per_letter: float | None = None,
) -> dict:
    soffice = find_soffice()
    if soffice is None:
        log(NO_LIBREOFFICE)
        return {"libreoffice": NO_LIBREOFFICE}
    version = subprocess.run(
        [soffice, "--version"], capture_output=True, text=True, timeout=60
    ).stdout.strip()
    docx_dir, pdf_dir, profile_dir = work / "docx", work / "pdf", work / "lo-profile"
    for folder in (docx_dir, pdf_dir, profile_dir):
        folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    contents = letter_contents(ctx, pairs)
    files = []
    for i, content in enumerate(contents):
        path = docx_dir / f"Einladung_{i:03d}.docx"
        write_docx(content, path)
        files.append(path)
    docx_s = time.perf_counter() - started
    base = [soffice, f"-env:UserInstallation={profile_dir.resolve().as_uri()}", "--headless", "--norestore"]
    warm_dir = work / "warm"
    warm_dir.mkdir(exist_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [*base, "--convert-to", "pdf", "--outdir", str(warm_dir), str(files[0])],
        capture_output=True,
        timeout=600,
    )
    first_start_s = time.perf_counter() - started
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [*base, "--convert-to", "pdf", "--outdir", str(pdf_dir), *map(str, files)],
        capture_output=True,
        timeout=1800,
    )
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    pdfs = list(pdf_dir.glob("*.pdf"))
    if done.returncode != 0 or len(pdfs) != len(files):
        log(f"LibreOffice: exit {done.returncode}, {len(pdfs)} of {len(files)} PDFs")
    per_s = len(pdfs) / elapsed if elapsed else None
    return {
        "libreoffice_version": version,
        "libreoffice_letters": len(pdfs),
        "libreoffice_s": round(elapsed, 2),
        "libreoffice_cpu_s": round(cpu, 2) if cpu is not None else None,
        "libreoffice_per_s": round(per_s, 1) if per_s else None,
        "libreoffice_first_start_s": round(first_start_s, 2),
        "libreoffice_docx_s": round(docx_s, 2),
        "libreoffice_pdf_kb": round(statistics.median(p.stat().st_size for p in pdfs) / 1024, 1)
        if pdfs
        else None,
        "libreoffice_ratio": round(ours_per_s / per_s, 2) if ours_per_s and per_s else None,
        "libreoffice_cpu_ratio": round(cpu / len(pdfs) / ours_cpu_per_letter, 2)
        if cpu and pdfs and ours_cpu_per_letter
        else None,
    }


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes (soffice and the soffice.bin it waits for)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- all together ------------------------------------------------------------------------------------------


def measure_letters(db: Path, *, libreoffice: bool = True, log=print) -> dict:
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext

    database = open_database(db)
    ctx = ServiceContext(database, Actor.local())
    result: dict = {}
    work = Path(tempfile.mkdtemp(prefix="kim-bench-letters-"))
    try:
        cleanup(ctx)  # leftovers of an interrupted run
        day = bench_day()
        pairs = add_bench_day(ctx, day)
        result["letters_day"] = day.isoformat()
        log(f"Letters: one invitation with make_letter, {SINGLE_RUNS} runs after {SINGLE_WARMUP} warm-ups …")
        result.update(measure_single(ctx, *pairs[0]))
        log(f"Letters: {BULK_LETTERS} invitations of {day:%d.%m.%Y} with make_invitations …")
        result.update(measure_bulk(ctx, day, work / "bulk"))
        if libreoffice:
            log(f"Letters: the same {COMPARE_LETTERS} letters as DOCX, converted by one soffice call …")
            result.update(
                measure_libreoffice(
                    ctx,
                    pairs[:COMPARE_LETTERS],
                    result.get("bulk_letters_per_s"),
                    work / "lo",
                    log,
                    ours_cpu_per_letter=result["bulk_letters_cpu_s"] / max(1, result["bulk_letters_written"]),
                )
            )
    finally:
        try:
            removed = cleanup(ctx)
            log(f"Letters: removed the {removed} benchmark appointments and their documents again.")
        finally:
            database.dispose()
            shutil.rmtree(work, ignore_errors=True)
    return result


def print_letters(results: dict) -> None:
    if "letter_ms" not in results:
        return
    print(f"letters: one invitation median {results['letter_ms']} ms, p95 {results['letter_p95_ms']} ms, "
          f"max {results['letter_max_ms']} ms; {results['bulk_letters_written']} invitations in "
          f"{results['bulk_letters_s']} s (CPU {results['bulk_letters_cpu_s']} s) = {results['bulk_letters_per_s']} letters/s "
          f"({results['bulk_letters_skipped']} skipped, {results['bulk_letters_kb']} KB each)")  # fmt: skip
    if "libreoffice_s" in results:
        print(f"LibreOffice ({results['libreoffice_version']}): {results['libreoffice_letters']} DOCX → PDF in "
              f"{results['libreoffice_s']} s (CPU {results['libreoffice_cpu_s']} s) = {results['libreoffice_per_s']} "
              f"letters/s (first start with a new "
              f"profile {results['libreoffice_first_start_s']} s; making the DOCX {results['libreoffice_docx_s']} s, "
              f"not counted); ours {results['libreoffice_ratio']} × faster "
              f"(CPU per letter: {results['libreoffice_cpu_ratio']} × less)")  # fmt: skip
    elif "libreoffice" in results:
        print(results["libreoffice"])


def main(argv=None) -> int:
    os.environ.setdefault("KIM_DESKTOP_NO_LOG_FILE", "1")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.letters", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", type=Path, default=None, help="database (default: fresh demo database in a temp dir)"
    )
    parser.add_argument(
        "--persons", type=int, default=2000, help="persons of the fresh demo database (default 2000)"
    )
    parser.add_argument("--skip-libreoffice", action="store_true")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.json")
    args = parser.parse_args(argv)
    temp = None
    db = args.db
    if db is None:
        from kim_desktop.db.engine import open_database
        from kim_desktop.services.context import Actor, ServiceContext
        from kim_desktop.services.demo import generate_demo_data

        temp = Path(tempfile.mkdtemp(prefix="kim-bench-db-"))
        db = temp / "letters.sqlite3"
        database = open_database(db)
        started = time.perf_counter()
        generate_demo_data(ServiceContext(database, Actor.local()), persons=args.persons, seed=1)
        database.dispose()
        print(f"Fresh demo database with {args.persons:,} persons in {time.perf_counter() - started:.1f} s.")
    try:
        results = measure_letters(db, libreoffice=not args.skip_libreoffice)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    print()
    print_letters(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
