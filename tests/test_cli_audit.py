"""``kim-desktop audit`` and ``export-person``: JSON with the access log and the change history, the read
itself audited, the Art. 15 ZIP written; one German line and exit 1 for bad input."""

from __future__ import annotations

import json
import zipfile
from datetime import date

from sqlalchemy import select

from kim_desktop import cli
from kim_desktop.db.models import AuditEvent
from kim_desktop.services import cases, persons


def call(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _person(ctx):
    view = persons.create_person(
        ctx, {"family_name": "Petrenko", "given_names": "Olena", "sex": "f", "street": "Weg 2", "postcode": "48249",
              "city": "Dülmen"},
    )  # fmt: skip
    case = cases.open_case(ctx, view.id, consent_on=date.today())
    persons.update_person(ctx, view.id, {"phone": "0171 555"})
    return view.id, case.id


def test_audit_json_for_person_and_case(ctx, tmp_db_path, capsys):
    person_id, case_id = _person(ctx)
    code, out, err = call(capsys, "audit", "--db", str(tmp_db_path), "--person", person_id, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"access", "changes"} <= data.keys()
    assert any(a["action_label"] == "geändert" and a["what"] == "Person" for a in data["access"])
    phone = next(c for c in data["changes"] if c["field"] == "phone")
    assert phone["old_value"] is None and phone["new_value"] == "0171 555" and phone["user"] == "Einzelplatz"
    code, out, _err = call(
        capsys, "audit", "--db", str(tmp_db_path), "--case", case_id, "--changes", "--json"
    )
    data = json.loads(out)
    assert code == 0 and "access" not in data
    assert data["changes"] and not any(c["field"] == "phone" for c in data["changes"])
    code, out, _err = call(capsys, "audit", "--db", str(tmp_db_path), "--person", person_id)
    assert code == 0 and "Zugriffe:" in out and "Telefon: — → 0171 555" in out
    with ctx.read() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "audit_trail")).all()
    assert len(reads) == 3 and {r.person_id for r in reads} == {person_id}


def test_audit_bad_input(ctx, tmp_db_path, capsys):
    _person(ctx)
    code, _out, err = call(capsys, "audit", "--db", str(tmp_db_path), "--person", "nope")
    assert code == 1 and err.startswith("Fehler: ") and len(err.strip().splitlines()) == 1
    code, _out, err = call(capsys, "audit", "--db", str(tmp_db_path))
    assert code == 2
    code, _out, err = call(capsys, "audit", "--db", str(tmp_db_path), "--person", "x", "--from", "gestern")
    assert code == 1 and "Ungültiges Datum" in err


def test_export_person_writes_the_zip(ctx, tmp_db_path, tmp_path, capsys):
    person_id, _case_id = _person(ctx)
    out_file = tmp_path / "auskunft.zip"
    code, out, err = call(
        capsys, "export-person", person_id, "--db", str(tmp_db_path), "--out", str(out_file)
    )
    assert code == 0, err
    assert str(out_file) in out
    with zipfile.ZipFile(out_file) as archive:
        assert {"auskunft.pdf", "daten.json"} <= set(archive.namelist())
    code, _out, err = call(
        capsys, "export-person", "nope", "--db", str(tmp_db_path), "--out", str(tmp_path / "x.zip")
    )
    assert code == 1 and err.startswith("Fehler: ") and not (tmp_path / "x.zip").exists()
