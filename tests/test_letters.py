"""DIN 5008 letters (kim_desktop.reports): text round-trip, escaping, embedded fonts, paging, geometry."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from kim_desktop.reports.din5008 import FORM_A, FORM_B, MM, PAGE_HEIGHT_MM, geometry
from kim_desktop.reports.letter import (
    FONT,
    Letter,
    OfficeProfile,
    fit_address,
    render_letter,
    text_width,
    wrap_line,
)

NAMES = [
    "Ayşe Yılmaz Öğüt",  # Turkish ş ğ ı
    "Paweł Łukasiewicz",  # Polish ł
    "Ștefan Țurcanu",  # Romanian ș ț (comma below)
    "Nguyễn Văn Thắng",  # Vietnamese
    "Ольга Жукова",  # Cyrillic
    "Γιώργος Παπαδόπουλος",  # Greek
]
RETURN_ADDRESS = "Migrationsberatung Musterstadt, Hauptstr. 12, 12345 Musterstadt"


@pytest.fixture
def profile() -> OfficeProfile:
    return OfficeProfile(
        organisation="Migrationsberatung Musterstadt e. V.",
        unit="Fachdienst Integration",
        street="Hauptstraße 12",
        postcode="12345",
        city="Musterstadt",
        phone="0123 45678-0",
        email="beratung@example.org",
        office_hours="Mo–Do 9–12 Uhr",
        dpo_contact="datenschutz@example.org",
    )


def make_letter(form: str = "B", **overrides) -> Letter:
    values = dict(
        form=form,
        return_address=RETURN_ADDRESS,
        notes=["Einschreiben"],
        recipient_lines=["Frau", "Ayşe Yılmaz", "Lindenweg 7", "12345 Musterstadt"],
        info_items=[
            ("Ihr Zeichen", "XY-1"),
            ("Unser Zeichen", "AZ-2026-0042"),
            ("Ansprechpartnerin", "Maria Schmidt"),
            ("Telefon", "0123 45678-12"),
            ("E-Mail", "m.schmidt@example.org"),
            ("Datum", "27.11.2026"),
        ],
        subject="Ihr Antrag vom 12.11.2026",
        salutation="Sehr geehrte Frau Yılmaz,",
        body=["wir haben Ihren Antrag erhalten und melden uns in Kürze."],
        closing="Mit freundlichen Grüßen",
        signature="Maria Schmidt",
    )
    values.update(overrides)
    return Letter(**values)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF")
    return PdfReader(io.BytesIO(pdf))


def all_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def positioned_text(pdf: bytes, page_index: int = 0) -> list[tuple[str, float, float, float]]:
    """(text, x mm from left, baseline y mm from top, font size) for every text run on one page."""
    runs: list[tuple[str, float, float, float]] = []

    def visitor(text, cm, tm, font_dict, font_size):
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = (tm[3] * cm[3]) or 1.0
        runs.append((text.strip(), x / MM, PAGE_HEIGHT_MM - y / MM, font_size * scale))

    read(pdf).pages[page_index].extract_text(visitor_text=visitor)
    return runs


def find_run(runs, needle: str):
    matches = [run for run in runs if needle in run[0]]
    assert matches, f"{needle!r} not found in {[r[0] for r in runs]}"
    return matches[0]


# --- content --------------------------------------------------------------------------------------


def test_international_names_round_trip(profile):
    letter = make_letter(recipient_lines=[NAMES[0], "Lindenweg 7", "12345 Musterstadt"], body=NAMES)
    text = all_text(render_letter(letter, profile))
    for name in NAMES:
        assert name in text


def test_markup_like_user_text_prints_literally(profile):
    hostile = "O'Connor <GmbH> & Söhne"
    letter = make_letter(
        recipient_lines=[hostile, "Lindenweg 7", "12345 Musterstadt"],
        subject="Betreff <img src=x>",
        body=[f"Firma {hostile} schreibt <b>nicht fett</b> & <img src=x>."],
        info_items=[("Ihr Zeichen", "<i>A&B</i>")],
    )
    text = all_text(render_letter(letter, profile))
    assert hostile in text
    assert "Betreff <img src=x>" in text
    assert "<b>nicht fett</b> & <img src=x>" in text
    assert "<i>A&B</i>" in text


def test_fonts_are_embedded(profile):
    reader = read(render_letter(make_letter(), profile))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        if "/DescendantFonts" in font:
            font = font["/DescendantFonts"][0].get_object()
        assert "DejaVuSans" in str(font["/BaseFont"])
        assert "/FontFile2" in font["/FontDescriptor"].get_object()


def test_long_body_gets_second_page_with_header(profile):
    letter = make_letter(body=[" ".join(["Dies ist ein langer Absatz."] * 40)] * 4)
    pdf = render_letter(letter, profile)
    reader = read(pdf)
    assert len(reader.pages) == 2
    second = reader.pages[1].extract_text()
    assert "Seite 2 von 2" in second
    assert "AZ-2026-0042" in second
    assert "Migrationsberatung Musterstadt e. V." in second
    assert "Seite 1 von 2" in reader.pages[0].extract_text()


def test_short_letter_is_one_page_without_numbering(profile):
    reader = read(render_letter(make_letter(), profile))
    assert len(reader.pages) == 1
    assert "Seite" not in reader.pages[0].extract_text()


def test_footer_contents(profile):
    text = read(render_letter(make_letter(), profile)).pages[0].extract_text()
    for part in (
        "Hauptstraße 12",
        "12345 Musterstadt",
        "Sprechzeiten: Mo–Do 9–12 Uhr",
        "datenschutz@example.org",
    ):
        assert part in text


def test_unknown_form_rejected(profile):
    with pytest.raises(ValueError):
        render_letter(make_letter(form="C"), profile)


# --- geometry -------------------------------------------------------------------------------------


def test_geometry_constants_match_the_spec():
    assert (FORM_B.address_top, FORM_B.vermerk_bottom, FORM_B.anschrift_bottom) == pytest.approx(
        (45, 62.7, 90)
    )
    assert (FORM_A.address_top, FORM_A.vermerk_bottom, FORM_A.anschrift_bottom) == pytest.approx(
        (27, 44.7, 72)
    )
    assert FORM_B.fold_marks == (105, 210) and FORM_A.fold_marks == (87, 192)
    assert FORM_A.info_block_top == 32 and FORM_B.info_block_top == 50
    assert FORM_B.body_left + FORM_B.body_width + FORM_B.body_right_margin == 210
    assert FORM_B.address_right == 105


@pytest.mark.parametrize("form", ["A", "B"])
def test_address_and_return_line_inside_their_zones(profile, form):
    geo = geometry(form)
    runs = positioned_text(render_letter(make_letter(form), profile))
    _, x, y, size = find_run(runs, "Frau")
    assert geo.address_left <= x <= geo.address_right
    assert x == pytest.approx(geo.address_text_left, abs=0.1)
    # baseline below the zone top by at least the ascent, and the line above the zone bottom
    assert geo.anschrift_top + 0.3 * size / MM < y < geo.anschrift_bottom
    _, _, city_y, _ = find_run(runs, "12345 Musterstadt")
    assert city_y < geo.anschrift_bottom

    _, rx, ry, rsize = find_run(runs, "Migrationsberatung Musterstadt, Hauptstr.")
    assert 6 <= rsize <= 8  # shrunk (DIN 5008: at least 6 pt) rather than cut
    assert geo.address_left <= rx and geo.vermerk_top < ry < geo.vermerk_bottom
    # fills from the bottom up: the last Vermerk sits on the zone's last line
    _, _, note_y, _ = find_run(runs, "Einschreiben")
    assert note_y > ry
    assert geo.vermerk_bottom - note_y < geo.vermerk_line_height


def test_form_a_and_b_differ_by_18_mm(profile):
    a = positioned_text(render_letter(make_letter("A"), profile))
    b = positioned_text(render_letter(make_letter("B"), profile))
    for needle in ("Frau", "Einschreiben", "Unser Zeichen", "AZ-2026-0042"):
        assert find_run(b, needle)[2] - find_run(a, needle)[2] == pytest.approx(18, abs=0.05)
        assert find_run(b, needle)[1] == pytest.approx(find_run(a, needle)[1], abs=0.01)


def test_body_starts_below_info_block_and_address(profile):
    geo = FORM_B
    runs = positioned_text(render_letter(make_letter(), profile))
    _, x, y, _ = find_run(runs, "Ihr Antrag vom")
    assert x == pytest.approx(geo.body_left, abs=0.1)
    assert y > geo.address_bottom + geo.space_before_body


@pytest.mark.parametrize("form", ["A", "B"])
def test_very_long_name_wraps_inside_the_field(profile, form):
    geo = geometry(form)
    long_name = "Dr. Aleksandra-Małgorzata Wiśniewska-Szczepańska-Nowakowska-Konstantinopoulou geb. Brzęczyszczykiewicz"
    letter = make_letter(form, recipient_lines=["Frau", long_name, "Lindenweg 7", "12345 Musterstadt"])
    runs = positioned_text(render_letter(letter, profile))
    address_runs = [
        r for r in runs if geo.anschrift_top < r[2] < geo.anschrift_bottom + 5 and r[1] < geo.address_right
    ]
    assert len(address_runs) > 4  # the name was wrapped onto more lines
    assert len(address_runs) <= geo.anschrift_lines
    for text, x, y, size in address_runs:
        assert x + text_width(text, size, FONT) / MM <= geo.address_right
        assert y < geo.anschrift_bottom
    assert address_runs[-1][0] == "12345 Musterstadt"
    joined = "".join(r[0].replace(" ", "") for r in address_runs)
    assert long_name.replace(" ", "") in joined


def test_overlong_address_shrinks_then_truncates():
    geo = FORM_B
    width = geo.address_text_width * MM
    lines, size = fit_address(
        ["Firma " + "Sehrlangername " * 30, "Abteilung X", "Lindenweg 7", "12345 Musterstadt"], geo
    )
    assert size == 9
    assert len(lines) == 6
    assert any(line.endswith("…") for line in lines)
    assert lines[-1] == "12345 Musterstadt"
    assert all(text_width(line, size, FONT) <= width for line in lines)

    lines, size = fit_address([f"Zeile {i}" for i in range(9)], geo)
    assert len(lines) == 6 and lines[-1] == "Zeile 8"

    lines, size = fit_address(["  Frau ", "", "Ayşe   Yılmaz"], geo)
    assert (lines, size) == (["Frau", "Ayşe Yılmaz"], 10)


def test_wrap_prefers_spaces_and_hyphens():
    width = FORM_B.address_text_width * MM
    name = "Aleksandra-Małgorzata Wiśniewska-Szczepańska-Nowakowska-Konstantinopoulou"
    lines = wrap_line(name, width, 10)
    assert len(lines) > 1
    assert all(line.endswith("-") for line in lines[:-1])  # broken after hyphens, not inside a name part
    assert "".join(lines) == name
    assert wrap_line("  Ayşe   Yılmaz ", width, 10) == ["Ayşe Yılmaz"]
    assert all(text_width(line, 10, FONT) <= width for line in wrap_line("X" * 200, width, 10))


# --- visual check ---------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_renders_to_png(profile, tmp_path: Path):
    pdf_path = tmp_path / "letter.pdf"
    pdf_path.write_bytes(render_letter(make_letter(), profile))
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf_path), str(tmp_path / "letter")], check=True)
    assert (tmp_path / "letter-1.png").stat().st_size > 1000
