"""``kim-desktop referrals``, ``offers`` and ``directory import|export``: the JSON fields the issue names, filters,
files written and read back, one German line and exit 1 for bad input (never a traceback, nothing imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kim_desktop import cli
from kim_desktop.db.models import AuditEvent, Offer, Provider, UserAccount
from kim_desktop.services import cases, persons
from kim_desktop.services import directory as d
from kim_desktop.services import referrals as r

PROJECT = Path(__file__).resolve().parent.parent
TODAY = date.today()
DAYS = timedelta(days=1)


def call(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(code: int, out: str, err: str) -> str:
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Fehler: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def world(ctx, tmp_db_path):
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        session.add_all([anna, ben])
        session.flush()
        users = {"anna": anna.id, "ben": ben.id}
    zahra = persons.create_person(ctx, {"family_name": "Haidari", "given_names": "Zahra", "birth_date": "1990"}).id
    omar = persons.create_person(ctx, {"family_name": "Nasser", "given_names": "Omar", "birth_date": "1980"}).id
    case_z = cases.open_case(ctx, zahra, case_manager_id=users["anna"]).id
    case_o = cases.open_case(ctx, omar, case_manager_id=users["ben"]).id
    school = d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispielstadt e. V.", city="Dülmen"))
    counsel = d.save_provider(ctx, d.ProviderData(name="Beratung Musterland", city="Coesfeld"))
    course = d.save_offer(ctx, d.OfferData(provider_id=school, title="Integrationskurs", category="integrationskurs",
                                           languages=["de"]))  # fmt: skip
    mbe = d.save_offer(ctx, d.OfferData(provider_id=counsel, title="Migrationsberatung", category="mbe",
                                        languages=["de", "ar", "fa_AF"]))  # fmt: skip
    d.save_offer(ctx, d.OfferData(provider_id=counsel, title="Alter Kurs", category="mbe", languages=["ar"],
                                  valid_until=TODAY - DAYS))  # fmt: skip
    for person, provider in ((zahra, school), (omar, counsel)):
        r.record_release(ctx, person_id=person, provider_id=provider, given_on=TODAY - 100 * DAYS)
    sent = r.create_referral(ctx, case_id=case_z, offer_id=course)
    r.send_referral(ctx, sent, sent_via="post", sent_on=TODAY - 40 * DAYS)
    draft = r.create_referral(ctx, case_id=case_z, offer_id=mbe)
    answered = r.create_referral(ctx, case_id=case_o, offer_id=mbe)
    r.send_referral(ctx, answered, sent_via="email", sent_on=TODAY - 5 * DAYS)
    r.accept(ctx, answered)
    return {"db": str(tmp_db_path), "case_z": case_z, "case_o": case_o, "zahra": zahra, "omar": omar,
            "sent": sent, "draft": draft, "answered": answered, **users}  # fmt: skip


def test_referrals_json_has_the_named_fields(capsys, world):
    code, out, err = call(capsys, "referrals", "--db", world["db"], "--json")
    assert code == 0, err
    items = {i["id"]: i for i in json.loads(out)}
    assert set(items) == {world["sent"], world["draft"], world["answered"]}
    sent = items[world["sent"]]
    assert {k: sent[k] for k in ("case_id", "person_id", "offer", "provider", "status", "sent_on")} == {
        "case_id": world["case_z"], "person_id": world["zahra"], "offer": "Integrationskurs",
        "provider": "Bildungswerk Beispielstadt e. V.", "status": "sent", "sent_on": (TODAY - 40 * DAYS).isoformat(),
    }  # fmt: skip
    assert sent["overdue"] is True and sent["has_release"] is True and sent["sent_via"] == "post"
    assert items[world["draft"]]["sent_on"] is None


def test_referrals_filters(capsys, world):
    def ids(*args):
        code, out, err = call(capsys, "referrals", "--db", world["db"], "--json", *args)
        assert code == 0, err
        return {i["id"] for i in json.loads(out)}

    assert ids("--status", "sent") == {world["sent"]}
    assert ids("--status", "open") == {world["sent"], world["draft"], world["answered"]}
    assert ids("--case", world["case_o"]) == {world["answered"]}
    assert ids("--case", world["case_z"], "--status", "draft") == {world["draft"]}
    assert ids("--manager", "ben") == {world["answered"]}
    assert ids("--overdue") == {world["sent"]}
    assert ids("--overdue", "--manager", "ben") == set()


def test_referrals_table_and_audit(capsys, world, ctx):
    code, out, err = call(capsys, "referrals", "--db", world["db"], "--case", world["case_z"])
    assert code == 0, err
    assert "Versendet" in out and "Rückmeldung überfällig" in out and "2 Vermittlungen" in out
    with ctx.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_type == "referral")
        ).one()
    assert event.case_id == world["case_z"] and event.detail == {"count": 2}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--status", "verloren"), "Unbekannter Status"),
        (("--case", "gibt-es-nicht"), "Keine Fallakte"),
        (("--manager", "niemand"), "Fachkraft"),
        (("--overdue", "--status", "draft"), "--overdue"),
    ],
)
def test_referrals_bad_input(capsys, world, args, needle):
    line = one_error_line(*call(capsys, "referrals", "--db", world["db"], *args))
    assert needle in line


def test_offers(capsys, world):
    def titles(*args):
        code, out, err = call(capsys, "offers", "--db", world["db"], "--json", *args)
        assert code == 0, err
        return {i["title"] for i in json.loads(out)}

    assert titles() == {"Integrationskurs", "Migrationsberatung"}
    assert titles("--all") == {"Integrationskurs", "Migrationsberatung", "Alter Kurs"}
    assert titles("--category", "mbe") == {"Migrationsberatung"}
    assert titles("--category", "Integrationskurs") == {"Integrationskurs"}
    assert titles("--language", "prs") == {"Migrationsberatung"}
    assert titles("--place", "dülmen") == {"Integrationskurs"}
    code, out, _err = call(capsys, "offers", "--db", world["db"], "--json", "--language", "ar")
    (item,) = json.loads(out)
    assert {k: item[k] for k in ("title", "category", "provider", "municipality", "languages", "expired")} == {
        "title": "Migrationsberatung", "category": "mbe", "provider": "Beratung Musterland",
        "municipality": "Coesfeld", "languages": ["de", "ar", "fa_AF"], "expired": False,
    }  # fmt: skip
    code, out, _err = call(capsys, "offers", "--db", world["db"], "--place", "Coesfeld")
    assert code == 0 and "Migrationsberatung – Beratung Musterland, Coesfeld [de, ar, fa_AF]" in out
    assert "1 Angebot" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [(("--category", "Zauberei"), "Kategorie „Zauberei“"), (("--language", "xx"), "Unbekannte Sprache")],
)
def test_offers_bad_input(capsys, world, args, needle):
    assert needle in one_error_line(*call(capsys, "offers", "--db", world["db"], *args))


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_directory_export_and_import_into_another_database(capsys, world, tmp_path, suffix):
    out_file = tmp_path / f"verzeichnis{suffix}"
    code, out, err = call(capsys, "directory", "--db", world["db"], "export", str(out_file))
    assert code == 0, err
    assert "Verzeichnis exportiert" in out and out_file.stat().st_size > 0
    other = tmp_path / "buero2.sqlite3"
    assert call(capsys, "init", "--db", str(other))[0] == 0
    code, out, err = call(capsys, "directory", "--db", str(other), "import", str(out_file))
    assert code == 0, err
    assert "2 Träger und 3 Angebote neu, 0 Träger und 0 Angebote aktualisiert" in out
    code, out, err = call(capsys, "directory", "--db", str(other), "import", str(out_file))
    assert "0 Träger und 0 Angebote neu" in out
    code, out, _err = call(capsys, "offers", "--db", str(other), "--json", "--all")
    assert {i["title"] for i in json.loads(out)} == {"Integrationskurs", "Migrationsberatung", "Alter Kurs"}


def test_directory_import_with_broken_rows_names_every_line_and_stores_nothing(capsys, tmp_path):
    db = tmp_path / "leer.sqlite3"
    assert call(capsys, "init", "--db", str(db))[0] == 0
    header = ";".join(d.CSV_COLUMNS)
    good = ";".join(["Gut e. V."] + [""] * 9 + ["Kurs", "mbe"] + [""] * 10)
    unknown = ";".join(["Gut e. V."] + [""] * 9 + ["Kurs 2", "zauberei"] + [""] * 10)
    nameless = ";".join([""] * 10 + ["Kurs 3", "mbe"] + [""] * 10)
    source = tmp_path / "import.csv"
    source.write_text("\n".join([header, good, unknown, nameless]) + "\n", encoding="utf-8")
    line = one_error_line(*call(capsys, "directory", "--db", str(db), "import", str(source)))
    assert "nichts wurde übernommen (2 fehlerhafte Einträge)" in line
    assert "Zeile 3:" in line and "zauberei" in line and "Zeile 4:" in line
    from kim_desktop.db.engine import open_database

    database = open_database(db)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Provider)) == 0
        assert session.scalar(select(func.count()).select_from(Offer)) == 0
    database.dispose()


def test_directory_bad_files(capsys, world, tmp_path):
    missing = tmp_path / "fehlt.csv"
    assert "kann nicht gelesen werden" in one_error_line(
        *call(capsys, "directory", "--db", world["db"], "import", str(missing))
    )
    broken = tmp_path / "kaputt.json"
    broken.write_text("{", encoding="utf-8")
    assert "kein gültiges JSON" in one_error_line(*call(capsys, "directory", "--db", world["db"], "import", str(broken)))
    assert "Ordner" in one_error_line(
        *call(capsys, "directory", "--db", world["db"], "export", str(tmp_path / "nix" / "a.csv"))
    )
    code, _out, err = call(capsys, "directory", "--db", world["db"], "export", str(tmp_path / "a.csv"), "--format", "xml")
    assert code == 2 and "Aufruf fehlerhaft" in err


def test_referrals_json_in_a_real_process(world):
    env = {**os.environ, "KIM_DESKTOP_NO_LOG_FILE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "kim_desktop", "referrals", "--db", world["db"], "--status", "sent", "--json"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (item,) = json.loads(done.stdout)
    assert item["id"] == world["sent"] and item["offer"] == "Integrationskurs"
