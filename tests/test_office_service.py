"""Office settings: letterhead profile, logo (checked, downscaled, stored as PNG), letter form, template editor
services and the sample-letter preview; ``kim-desktop office`` on the command line."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from kim_desktop.cli import main
from kim_desktop.db.models import AuditEvent, Setting
from kim_desktop.errors import UserError, ValidationError
from kim_desktop.services import letter_templates, letters, office


def audit_events(ctx, entity_type: str) -> list[AuditEvent]:
    with ctx.read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.entity_type == entity_type)))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` pixels but carries almost no data (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# --- profile -------------------------------------------------------------------------------------------------


def test_profile_defaults_and_partial_save(ctx):
    with ctx.read() as session:
        profile = office.load_profile(session)
    assert profile["organisation"] == "Kommunales Integrationsmanagement"
    assert profile["dpo_contact"] == "Datenschutzbeauftragte/r der Verwaltung"
    assert set(profile) == set(office.FIELDS) and profile["city"] == ""

    saved = office.save_profile(
        ctx,
        {"organisation": "  Kreis   Coesfeld ", "postcode": "48653", "city": "Coesfeld", "email": "kim@kreis-coe.de",
         "dpo_contact": "Frau Beispiel\r\n\r\n  datenschutz@kreis-coe.de  "},
    )  # fmt: skip
    assert saved["organisation"] == "Kreis Coesfeld"
    assert saved["dpo_contact"] == "Frau Beispiel\ndatenschutz@kreis-coe.de"
    office.save_profile(ctx, {"phone": "02541 18-0"})  # only the given field changes
    with ctx.read() as session:
        profile = office.load_profile(session)
        assert profile["phone"] == "02541 18-0" and profile["city"] == "Coesfeld"
        assert letters.office_profile(session) == profile  # the letters read the same row the same way
    events = audit_events(ctx, "setting")
    assert [e.detail["fields"] for e in events] == [
        ["organisation", "postcode", "city", "email", "dpo_contact"],
        ["phone"],
    ]
    assert all(e.action == "update" and e.entity_id == "office_profile" for e in events)


@pytest.mark.parametrize(
    ("values", "field", "needle"),
    [
        ({"postcode": "4265"}, "postcode", "5 Ziffern"),
        ({"postcode": "D-42651"}, "postcode", "5 Ziffern"),
        ({"email": "kim@"}, "email", "E-Mail-Adresse"),
        ({"email": "kim at stadt.de"}, "email", "E-Mail-Adresse"),
        ({"organisation": "   "}, "organisation", "Dienststelle"),
        ({"city": "x" * 81}, "city", "höchstens 80 Zeichen"),
        ({"dpo_contact": "a\nb\nc\nd"}, "dpo_contact", "höchstens 3 Zeilen"),
    ],
)
def test_profile_validation_stores_nothing(ctx, values, field, needle):
    office.save_profile(ctx, {"city": "Solingen"})
    with pytest.raises(ValidationError) as info:
        office.save_profile(ctx, {"street": "Rathausplatz 1", **values})
    assert needle in info.value.field_errors[field]
    with ctx.read() as session:
        profile = office.load_profile(session)
    assert profile["street"] == "" and profile["city"] == "Solingen"  # nothing half-written
    assert len(audit_events(ctx, "setting")) == 1


def test_profile_rejects_unknown_fields(ctx):
    with pytest.raises(UserError, match="Unbekanntes Feld"):
        office.save_profile(ctx, {"fax": "123"})


# --- logo ----------------------------------------------------------------------------------------------------


def test_logo_missing_file(ctx, tmp_path):
    missing = tmp_path / "gibt-es-nicht.png"
    with pytest.raises(UserError) as info:
        office.set_logo(ctx, missing)
    assert info.value.message == f"Die Logodatei wurde nicht gefunden: {missing}"


def test_logo_of_50_mb_is_refused_with_the_size(ctx, tmp_path):
    big = tmp_path / "riesig.png"
    with big.open("wb") as handle:
        handle.write(png_header_only(100, 100))
        handle.truncate(50 * 1024 * 1024)  # a sparse file: 50 MB on paper, nothing to decode
    assert big.stat().st_size == 50 * 1024 * 1024
    with pytest.raises(UserError) as info:
        office.set_logo(ctx, big)
    assert info.value.message == "Das Logo ist zu groß (50,0 MB). Bitte eine Datei bis 5 MB wählen."
    with ctx.read() as session:
        assert office.load_logo(session) is None


def test_logo_that_is_no_image(ctx, tmp_path):
    fake = tmp_path / "logo.png"
    fake.write_text("Das ist kein Bild, nur Text.", encoding="utf-8")
    with pytest.raises(UserError, match="kein lesbares Bild.*PNG, JPEG, GIF oder BMP"):
        office.set_logo(ctx, fake)
    truncated = tmp_path / "kaputt.png"
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(buffer, format="PNG")
    truncated.write_bytes(buffer.getvalue()[:200])
    with pytest.raises(UserError, match="kein lesbares Bild"):
        office.set_logo(ctx, truncated)
    tiff = tmp_path / "logo.tif"
    Image.new("RGB", (20, 20), "red").save(tiff, format="TIFF")
    with pytest.raises(UserError, match="kein lesbares Bild"):
        office.set_logo(ctx, tiff)
    assert audit_events(ctx, "setting") == []


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (10_000, 5_000)])
def test_logo_decompression_bomb_is_refused_before_decoding(ctx, tmp_path, width, height):
    bomb = tmp_path / "bombe.png"
    bomb.write_bytes(png_header_only(width, height))
    assert bomb.stat().st_size < 1000
    with pytest.raises(UserError, match="Das Bild ist zu groß"):
        office.set_logo(ctx, bomb)
    with ctx.read() as session:
        assert session.get(Setting, office.LOGO_KEY) is None


def test_logo_round_trip_downscaled_png(ctx, tmp_path):
    source = tmp_path / "wappen.png"
    image = Image.new("RGBA", (2400, 800), (0, 80, 160, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    image.save(source)
    assert office.set_logo(ctx, source) == {"width": 1200, "height": 400}
    with ctx.read() as session:
        png = office.load_logo(session)
        stored = session.get(Setting, office.LOGO_KEY).value
    assert stored["width"] == 1200 and stored["height"] == 400
    decoded = Image.open(io.BytesIO(png))
    assert decoded.format == "PNG" and decoded.size == (1200, 400) and decoded.mode == "RGBA"

    photo = tmp_path / "logo.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(photo, quality=90)
    assert office.set_logo(ctx, photo) == {"width": 640, "height": 480}
    with ctx.read() as session:
        decoded = Image.open(io.BytesIO(office.load_logo(session)))
    assert decoded.format == "PNG" and decoded.mode == "RGB"

    assert office.clear_logo(ctx) is True
    assert office.clear_logo(ctx) is False
    with ctx.read() as session:
        assert office.load_logo(session) is None
    assert [(e.action, e.entity_id) for e in audit_events(ctx, "setting")] == [
        ("update", "office_logo"),
        ("update", "office_logo"),
        ("delete", "office_logo"),
    ]


def test_corrupt_stored_logo_reads_as_none(ctx):
    for value in ({"png": "!!! kein base64"}, {"png": "aGFsbG8="}, "text", {"width": 3}):
        with ctx.write() as session:
            row = session.get(Setting, office.LOGO_KEY) or Setting(key=office.LOGO_KEY)
            row.value = value
            session.add(row)
        with ctx.read() as session:
            assert office.load_logo(session) is None


def test_logo_reaches_the_letterhead(ctx, tmp_path):
    source = tmp_path / "logo.gif"
    Image.new("P", (300, 100), 3).save(source, transparency=0)
    office.set_logo(ctx, source)
    with ctx.read() as session:
        profile = office.letterhead(session)
        pdf = office.preview_pdf(session, "Betreff", "Text.")
    assert profile.logo is not None and profile.logo.startswith(b"\x89PNG")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert page["/Resources"]["/XObject"], "the logo is drawn as an image"


# --- letter form ---------------------------------------------------------------------------------------------


def test_letter_form(ctx):
    with ctx.read() as session:
        assert office.letter_form(session) == "B"
    assert office.set_letter_form(ctx, "a") == "A"
    with ctx.read() as session:
        assert office.letter_form(session) == "A"
    with pytest.raises(UserError, match="Möglich sind A und B"):
        office.set_letter_form(ctx, "C")
    with ctx.read() as session:
        assert office.letter_form(session) == "A"


# --- template editor services --------------------------------------------------------------------------------


def test_template_edit_export_import_audited(ctx, tmp_path):
    stored = office.save_template(
        ctx,
        "invitation",
        title="Einladung",
        subject="Termin am {{ termin.datum }}",
        body="Hallo {{ person.name }}.",
    )
    assert stored.revision == 2
    path = office.export_template_file(ctx, "invitation", tmp_path / "einladung.kimvorlage")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("key: invitation\n") and "Hallo {{ person.name }}." in text
    office.restore_template(ctx, "invitation")
    with ctx.read() as session:
        assert "Hallo" not in letter_templates.get_template(session, "invitation").body
    imported = office.import_template_file(ctx, path)
    assert imported.body == "Hallo {{ person.name }}." and imported.revision == 4
    hows = [e.detail["how"] for e in audit_events(ctx, "letter_template") if e.action == "update"]
    assert hows == ["edit", "restore_default", "import"]


def test_template_import_refuses_bad_files(ctx, tmp_path):
    with pytest.raises(UserError, match="nicht gefunden"):
        office.import_template_file(ctx, tmp_path / "fehlt.kimvorlage")
    binary = tmp_path / "bild.j2"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    with pytest.raises(UserError, match="UTF-8"):
        office.import_template_file(ctx, binary)
    broken = tmp_path / "fremd.kimvorlage"
    broken.write_text("key: invitation\ntitle: X\n---\n{{ person.alter }}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="person.alter"):
        office.import_template_file(ctx, broken)
    with ctx.read() as session:
        assert letter_templates.get_template(session, "invitation").revision == 0  # nothing stored


def test_preview_renders_sample_letter_with_the_office_profile(ctx):
    office.save_profile(ctx, {"organisation": "Stadt Solingen", "street": "Rathausplatz 1", "postcode": "42651",
                              "city": "Solingen", "phone": "0212 290-0"})  # fmt: skip
    office.set_letter_form(ctx, "A")
    with ctx.read() as session:
        pdf = office.preview_pdf(
            session, "Termin am {{ termin.datum }}", "Wir sind {{ buero.name }}.\n\nBis bald."
        )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for needle in ("Termin am 21.04.2026", "Sehr geehrte Frau Nguyễn,", "Wir sind Stadt Solingen.", "Bis bald.",
                   "Mit freundlichen Grüßen", "Kölner Straße 12", "0212 290-0", "KIM-2026-0042"):  # fmt: skip
        assert needle in text, needle
    with ctx.read() as session, pytest.raises(ValidationError) as info:
        office.preview_pdf(session, "", "Alter: {{ person.alter }}")
    assert "Unbekannter Platzhalter „person.alter“" in info.value.field_errors["body"]


def test_preview_of_a_translation_is_the_bilingual_letter(ctx):
    with ctx.read() as session:
        english = letter_templates.get_template(session, "invitation", "en")
        pdf = office.preview_pdf(
            session, english.subject, english.body + "\n\nSee you soon.", "en", key="invitation"
        )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for needle in ("Ihr Beratungstermin am 21.04.2026", "Mit freundlichen Grüßen", "English translation",
                   "Only the German text is legally binding", "Dear Ms Nguyễn,", "See you soon.", "Kind regards"):  # fmt: skip
        assert needle in text, needle
    assert text.index("Mit freundlichen Grüßen") < text.index("English translation")
    with ctx.read() as session, pytest.raises(ValidationError, match="person.alter"):
        office.preview_pdf(session, "", "{{ person.alter }}", "en", key="invitation")


def test_template_languages_german_first():
    languages = office.template_languages()
    assert languages[0] == "de"
    assert office.template_keys("de") == list(letter_templates.TEMPLATE_KEYS)


# --- command line ------------------------------------------------------------------------------------------


def cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_db_path, capsys) -> str:
    code, _out, err = cli(capsys, "--db", str(tmp_db_path), "init")
    assert code == 0, err
    return str(tmp_db_path)


def one_error_line(code: int, err: str) -> str:
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Fehler: ") and "Traceback" not in err, err
    return lines[0]


def test_cli_office_show_and_set(capsys, db):
    code, out, _err = cli(capsys, "--db", db, "office", "show")
    assert code == 0
    assert re.search(r"^Dienststelle / Organisation: +Kommunales Integrationsmanagement$", out, re.M)
    assert re.search(r"^Briefform: +B$", out, re.M)
    code, out, err = cli(
        capsys, "--db", db, "office", "set", "--organisation", "Stadt Solingen", "--postcode", "42651",
        "--office-hours", "Mo–Do 9–12 Uhr", "--dpo", "Datenschutz\ndatenschutz@solingen.de",
    )  # fmt: skip
    assert code == 0, err
    assert "Stadt Solingen" in out and "datenschutz@solingen.de" in out
    code, out, _err = cli(capsys, "--db", db, "office", "set", "--city", "Solingen")
    code, out, _err = cli(capsys, "--db", db, "office", "show", "--json")
    import json

    shown = json.loads(out)
    assert shown["organisation"] == "Stadt Solingen" and shown["city"] == "Solingen"
    assert (
        shown["office_hours"] == "Mo–Do 9–12 Uhr" and shown["letter_form"] == "B" and shown["logo"] is False
    )


def test_cli_office_bad_input(capsys, db, tmp_path):
    line = one_error_line(*cli(capsys, "--db", db, "office", "set", "--postcode", "123")[::2])
    assert "5 Ziffern" in line
    line = one_error_line(*cli(capsys, "--db", db, "office", "set", "--email", "x@y", "--postcode", "1")[::2])
    assert "PLZ" in line and "E-Mail" in line
    one_error_line(*cli(capsys, "--db", db, "office", "set")[::2])
    missing = tmp_path / "fehlt.png"
    line = one_error_line(*cli(capsys, "--db", db, "office", "logo", str(missing))[::2])
    assert line == f"Fehler: Die Logodatei wurde nicht gefunden: {missing}"
    one_error_line(*cli(capsys, "--db", db, "office", "logo")[::2])
    line = one_error_line(*cli(capsys, "--db", db, "office", "form", "C")[::2])
    assert "A und B" in line


def test_cli_office_logo_and_form(capsys, db, tmp_path):
    logo = tmp_path / "logo.bmp"
    Image.new("RGB", (1600, 400), (10, 90, 40)).save(logo)
    code, out, err = cli(capsys, "--db", db, "office", "logo", str(logo))
    assert code == 0, err
    assert out.strip() == "Logo gespeichert (1200 × 300 Pixel)."
    code, out, _err = cli(capsys, "--db", db, "office", "form", "A")
    assert code == 0 and out.strip() == "Briefform A eingestellt."
    code, out, _err = cli(capsys, "--db", db, "office", "show")
    assert "Logo:" in out and "vorhanden" in out
    code, out, _err = cli(capsys, "--db", db, "office", "logo", "--clear")
    assert code == 0 and out.strip() == "Logo entfernt."
    code, out, _err = cli(capsys, "--db", db, "office", "logo", "--clear")
    assert code == 0 and out.strip() == "Es war kein Logo gespeichert."
