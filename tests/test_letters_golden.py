"""Golden letters: fixed DIN 5008 letters rendered in ReportLab's invariant mode, compared byte for byte.

Each case below builds one ``Letter`` + ``OfficeProfile`` and renders it with ``render_letter`` while
``reportlab.rl_config.invariant = 1`` (fixed creation date and document ID; the fixture restores the old
value). The PDF must be byte-identical across two renders and to ``tests/golden/letters/<case>.pdf``. A few
key texts are also read back with pypdf, so a regenerated golden file can never be silently empty or wrong.

After an intended change of the letter layout (or an upgrade of ReportLab, HarfBuzz, Pillow, the fonts, or a
Python whose zlib compresses differently), regenerate the golden files and look at every page before
committing them::

    KIM_UPDATE_GOLDEN=1 uv run pytest tests/test_letters_golden.py
    pdftoppm -png -r 70 tests/golden/letters/form-b-default.pdf /tmp/form-b-default

With ``KIM_UPDATE_GOLDEN=1`` the tests write the golden files instead of comparing (the other checks still
run). On a mismatch the rendered PDF is kept in pytest's temporary directory; the assertion message says where,
how to render both versions to PNG for comparison, and whether the decompressed page content is the same (then
the difference is in compression or font embedding, not in the layout).
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab import rl_config

from kim_desktop.reports.letter import Letter, OfficeProfile, Translation, render_letter

GOLDEN_DIR = Path(__file__).parent / "golden" / "letters"
UPDATE = os.environ.get("KIM_UPDATE_GOLDEN") == "1"


@contextmanager
def reportlab_invariant() -> Iterator[None]:
    """ReportLab's invariant mode (fixed timestamp and document ID); the old value is restored afterwards."""
    old = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield
    finally:
        rl_config.invariant = old


@pytest.fixture
def invariant_mode():
    with reportlab_invariant():
        yield


# --- the fixed letters -----------------------------------------------------------------------------------


def office(**overrides) -> OfficeProfile:
    values = dict(
        organisation="Stadt Solingen",
        unit="Kommunales Integrationsmanagement",
        street="Rathausplatz 1",
        postcode="42651",
        city="Solingen",
        phone="0212 290-4711",
        email="kim@solingen.example.org",
        office_hours="Mo–Do 9–12 Uhr",
        dpo_contact="Behördliche Datenschutzbeauftragte\nRathausplatz 1, 42651 Solingen\ndatenschutz@solingen.example.org",
    )
    values.update(overrides)
    return OfficeProfile(**values)


RETURN_ADDRESS = "Stadt Solingen, Rathausplatz 1, 42651 Solingen"
CLOSING = "Mit freundlichen Grüßen"


def info(reference: str = "KIM-2026-0042", date: str = "27.11.2026") -> list[tuple[str, str]]:
    return [
        ("Aktenzeichen", reference),
        ("Ansprechpartner/in", "Alex Schäfer"),
        ("Telefon", "0212 290-4711"),
        ("E-Mail", "kim@solingen.example.org"),
        ("Datum", date),
    ]


def form_b_default() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="B",
        return_address=RETURN_ADDRESS,
        notes=["Persönlich/Vertraulich"],
        recipient_lines=[
            "Frau",
            "Dr. Aleksandra-Małgorzata Wiśniewska-Szczepańska",
            "c/o Gemeinschaftsunterkunft Haus 3, Zimmer 214",
            "Kölner Straße 123a",
            "42651 Solingen",
        ],
        info_items=[
            ("Ihr Zeichen", "JC-123/2026-Wi"),
            ("Ihre Nachricht vom", "03.11.2026"),
            ("Aktenzeichen", "KIM-2026-0042"),
            ("Ansprechpartner/in", "Alexandra Schäfer-Wiśniewska"),
            ("Telefon", "0212 290-4711"),
            ("E-Mail", "alexandra.schaefer-wisniewska@solingen.example.org"),
            ("Zimmer", "2.14, Rathaus Solingen, Eingang B (barrierefrei)"),
            ("Datum", "27.11.2026"),
        ],
        subject="Ihr Beratungstermin am 21.04.2026 um 10:00 Uhr",
        salutation="Sehr geehrte Frau Dr. Wiśniewska-Szczepańska,",
        body=[
            "wir laden Sie herzlich zu einem Beratungsgespräch ein. Hier finden Sie die wichtigsten Angaben "
            "zu Ihrem Termin:",
            "Datum: 21.04.2026\nUhrzeit: 10:00 bis 11:00 Uhr\nOrt: Rathaus Solingen, Raum 2.14",
            "Bitte bringen Sie Ihren Pass und das Schreiben des Jobcenters mit.",
            "Die Beratung ist freiwillig und kostenlos.",
        ],
        closing=CLOSING,
        signature="Alexandra Schäfer-Wiśniewska",
    )
    return letter, office()


def form_a() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="A",
        return_address=RETURN_ADDRESS,
        recipient_lines=["Herrn", "Ștefan Țurcanu", "Lindenweg 7", "42651 Solingen"],
        info_items=info(),
        subject="Bescheinigung über die Beratung",
        salutation="Sehr geehrter Herr Țurcanu,",
        body=["hiermit bestätigen wir, dass Sie seit dem 02.02.2026 von uns beraten werden."],
        closing=CLOSING,
        signature="Alex Schäfer",
    )
    return letter, office()


TWO_PAGE_PARAGRAPH = (
    "Wir verarbeiten Ihre Daten, um Sie im Kommunalen Integrationsmanagement (KIM) zu beraten und zu "
    "begleiten: für Termine, für Ihren Hilfeplan, für die Vermittlung an andere Stellen und um die Beratung "
    "zu dokumentieren. Für Statistiken nutzen wir nur Zahlen ohne Namen."
)


def two_pages() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="B",
        return_address=RETURN_ADDRESS,
        recipient_lines=["Herrn", "Γιώργος Παπαδόπουλος", "Kölner Straße 12", "42651 Solingen"],
        info_items=info(),
        subject="Informationen zum Datenschutz in der Beratung (Art. 13 DSGVO)",
        salutation="Sehr geehrter Herr Papadopoulos,",
        body=[f"{number}. {TWO_PAGE_PARAGRAPH}" for number in range(1, 12)],
        closing=CLOSING,
        signature="Alex Schäfer",
    )
    return letter, office()


ARABIC_BODY = [
    "ندعوكم بكل سرور إلى موعد استشارة في مكتبنا يوم 21.04.2026 الساعة 10:00.",
    "المكان: Rathaus Solingen، الغرفة 2.14 (الطابق الثاني).",
    "يرجى إحضار جواز السفر وتصريح الإقامة.",
]


def bilingual_arabic() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="B",
        return_address=RETURN_ADDRESS,
        recipient_lines=["Herrn", "Mohammad Al-Ahmad", "Kölner Straße 12", "42651 Solingen"],
        info_items=info(),
        subject="Ihr Beratungstermin am 21.04.2026 um 10:00 Uhr",
        salutation="Sehr geehrter Herr Al-Ahmad,",
        body=["wir laden Sie zu einem Beratungsgespräch am 21.04.2026 um 10:00 Uhr in Raum 2.14 ein."],
        closing=CLOSING,
        signature="Alex Schäfer",
        translation=Translation(
            heading="الترجمة العربية",
            note="هذه الترجمة للاطلاع فقط. النص الألماني وحده هو الملزم قانونيًا.",
            subject="موعد الاستشارة في 21.04.2026 الساعة 10:00",
            salutation="السيد Al-Ahmad المحترم،",
            body=ARABIC_BODY,
            closing="مع أطيب التحيات",
            signature="Alex Schäfer",
            direction="rtl",
        ),
    )
    return letter, office()


def bilingual_ukrainian() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="B",
        return_address=RETURN_ADDRESS,
        recipient_lines=["Frau", "Olena Kovalenko", "Kölner Straße 12", "42651 Solingen"],
        info_items=info(),
        subject="Ihr Beratungstermin am 21.04.2026 um 10:00 Uhr",
        salutation="Sehr geehrte Frau Kovalenko,",
        body=["wir laden Sie herzlich zu einem Beratungsgespräch am 21.04.2026 um 10:00 Uhr ein."],
        closing=CLOSING,
        signature="Alex Schäfer",
        translation=Translation(
            heading="Переклад українською мовою",
            note="Цей переклад надано для Вашої інформації. Юридично обов’язковим є лише текст німецькою мовою.",
            subject="Ваша консультація 21.04.2026 о 10:00",
            salutation="Шановна пані Коваленко!",
            body=[
                "Запрошуємо Вас на консультацію 21.04.2026 о 10:00 у ратуші Золінгена, кімната 2.14.",
                "Будь ласка, візьміть із собою паспорт і дозвіл на проживання. Консультація безкоштовна.",
            ],
            closing="З повагою",
            signature="Alex Schäfer",
        ),
    )
    return letter, office()


LOGO_SIZE = (240, 96)


def logo_png() -> bytes:
    """A small RGBA logo from fixed bytes: a blue disc and a teal bar on a transparent background."""
    width, height = LOGO_SIZE
    pixels = bytearray()
    for y in range(height):
        for x in range(width):
            if (x - 48) ** 2 + (y - 48) ** 2 <= 40**2:
                pixels += bytes((0, 61, 122, 255))
            elif 104 <= x <= 232 and 36 <= y <= 60:
                pixels += bytes((0, 128, 128, 255))
            else:
                pixels += bytes((255, 255, 255, 0))
    out = io.BytesIO()
    Image.frombytes("RGBA", LOGO_SIZE, bytes(pixels)).save(out, format="PNG")
    return out.getvalue()


def with_logo() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="B",
        return_address=RETURN_ADDRESS,
        recipient_lines=[
            "Frau",
            "Thị Lan Nguyễn",
            "bei Familie Yılmaz",
            "Kölner Straße 12",
            "42651 Solingen",
        ],
        info_items=info(),
        subject="Abschluss Ihrer Beratung – Aktenzeichen KIM-2026-0042",
        salutation="Sehr geehrte Frau Nguyễn,",
        body=[
            "Ihre Beratung bei uns ist nun abgeschlossen. Für Ihren weiteren Weg wünschen wir Ihnen alles Gute."
        ],
        closing=CLOSING,
        signature="Alex Schäfer",
    )
    profile = office(
        organisation="Stadt Solingen – Kommunales Integrationsmanagement",  # wraps onto two lines
        unit="Fachdienst 50.3 Integration, Migration und Teilhabe",
        logo=logo_png(),
    )
    return letter, profile


HOSTILE_COMPANY = "O'Connor <GmbH> & Söhne"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"


def markup_text() -> tuple[Letter, OfficeProfile]:
    letter = Letter(
        form="B",
        return_address=f"{HOSTILE_COMPANY}, Rathausplatz 1, 42651 Solingen",
        notes=["<b>Einschreiben</b>"],
        recipient_lines=[HOSTILE_COMPANY, f"z. Hd. {HOSTILE_IMG}", "Lindenweg 7 &amp; 9", "42651 Solingen"],
        info_items=[("Ihr Zeichen", "<i>A&B</i>"), *info()],
        subject=f"Ihre Anfrage {HOSTILE_IMG} & <b>dringend</b>",
        salutation="Guten Tag,",
        body=[
            f"Firma {HOSTILE_COMPANY} schreibt {HOSTILE_IMG} und <br/><para>nichts</para> & &lt;mehr&gt;.",
            "Platzhalter bleiben Text: {{ buero.email }} {% if true %}x{% endif %} ${HOME} %s {0}",
        ],
        closing=CLOSING,
        signature=HOSTILE_COMPANY,
    )
    return letter, office(organisation=HOSTILE_COMPANY, unit=HOSTILE_IMG)


@dataclass(frozen=True)
class Case:
    build: Callable[[], tuple[Letter, OfficeProfile]]
    pages: int
    texts: tuple[str, ...]  # must appear (whitespace-normalised) in pypdf's text of the whole letter
    arabic_words: tuple[str, ...] = ()  # Arabic words (logical order) that must be in the text layer


CASES: dict[str, Case] = {
    "form-b-default": Case(
        form_b_default,
        1,
        (
            "Persönlich/Vertraulich",
            "Kölner Straße 123a",
            "42651 Solingen",
            "c/o Gemeinschaftsunterkunft Haus 3, Zimmer 214",
            "JC-123/2026-Wi",
            "Ihr Beratungstermin am 21.04.2026 um 10:00 Uhr",
            "Sehr geehrte Frau Dr. Wiśniewska-Szczepańska,",
            "Mit freundlichen Grüßen",
            "datenschutz@solingen.example.org",
            "Sprechzeiten: Mo–Do 9–12 Uhr",
        ),
    ),
    "form-a": Case(
        form_a, 1, ("Ștefan Țurcanu", "Sehr geehrter Herr Țurcanu,", "KIM-2026-0042", "Lindenweg 7")
    ),
    "two-pages": Case(
        two_pages,
        2,
        (
            "Γιώργος Παπαδόπουλος",
            "Seite 1 von 2",
            "Seite 2 von 2",
            "Stadt Solingen · Aktenzeichen KIM-2026-0042",
            "11. Wir verarbeiten Ihre Daten",
            "Alex Schäfer",
        ),
    ),
    "bilingual-arabic": Case(
        bilingual_arabic,
        1,
        (
            "Mohammad Al-Ahmad",
            "Sehr geehrter Herr Al-Ahmad,",
            "Al-Ahmad",
            "Rathaus Solingen",
            "21.04.2026",
            "10:00",
        ),
        arabic_words=("الترجمة", "العربية", "ندعوكم", "الاستشارة", "الإقامة", "المحترم", "التحيات"),
    ),
    "bilingual-ukrainian": Case(
        bilingual_ukrainian,
        1,
        (
            "Olena Kovalenko",
            "Переклад українською мовою",
            "Шановна пані Коваленко!",
            "Юридично обов’язковим є лише текст німецькою мовою.",
            "Будь ласка, візьміть із собою паспорт",
            "З повагою",
        ),
    ),
    "logo": Case(
        with_logo,
        1,
        (
            "Thị Lan Nguyễn",
            "bei Familie Yılmaz",
            "Stadt Solingen – Kommunales Integrationsmanagement",
            "Fachdienst 50.3 Integration, Migration und Teilhabe",
        ),
    ),
    "markup": Case(
        markup_text,
        1,
        (
            HOSTILE_COMPANY,
            f"z. Hd. {HOSTILE_IMG}",
            "Lindenweg 7 &amp; 9",
            "<b>Einschreiben</b>",
            "<i>A&B</i>",
            f"Ihre Anfrage {HOSTILE_IMG} & <b>dringend</b>",
            "<br/><para>nichts</para> & &lt;mehr&gt;.",
            "{{ buero.email }} {% if true %}x{% endif %} ${HOME} %s {0}",
        ),
    ),
}


# --- helpers ---------------------------------------------------------------------------------------------


def normalised(text: str) -> str:
    return " ".join(text.split())


def squash(text: str) -> str:
    return "".join(text.split())


def without_presentation_forms(text: str) -> str:
    """pypdf's text layer with Arabic presentation forms and ligatures undone (NFKC). pypdf returns the
    right-to-left runs in logical order, so Arabic words can be searched as they are written."""
    return unicodedata.normalize("NFKC", text)


def content_streams(pdf: bytes) -> list[bytes]:
    return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages]


def mismatch_message(name: str, golden: Path, actual: Path) -> str:
    same_content = content_streams(golden.read_bytes()) == content_streams(actual.read_bytes())
    hint = (
        "The decompressed page content is identical: the difference is in compression, font embedding or "
        "images (a library or zlib upgrade?), not in the layout."
        if same_content
        else "The page content differs: the layout or the text changed."
    )
    return (
        f"{name}: the rendered PDF differs from the golden file {golden}.\n{hint}\n"
        f"Inspect: pdftoppm -png -r 70 {golden} {actual.parent}/golden-{name} && "
        f"pdftoppm -png -r 70 {actual} {actual.parent}/actual-{name} (then compare the PNGs).\n"
        "If the change is intended: KIM_UPDATE_GOLDEN=1 uv run pytest tests/test_letters_golden.py, "
        "look at the new PNGs and commit tests/golden/letters/."
    )


# --- tests -----------------------------------------------------------------------------------------------


def test_invariant_mode_is_switched_on_and_restored():
    before = rl_config.invariant
    with reportlab_invariant():
        assert rl_config.invariant == 1
    assert rl_config.invariant == before
    with pytest.raises(RuntimeError), reportlab_invariant():
        raise RuntimeError("a failing render")
    assert rl_config.invariant == before


@pytest.mark.parametrize("name", list(CASES))
def test_golden_letter(name, invariant_mode, tmp_path):
    case = CASES[name]
    letter, profile = case.build()
    pdf = render_letter(letter, profile)
    assert pdf == render_letter(letter, profile), "invariant mode must make two renders byte-identical"

    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.creation_date.year == 2000  # ReportLab's fixed invariant-mode timestamp
    assert len(reader.pages) == case.pages
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = normalised(text)
    for needle in case.texts:
        assert normalised(needle) in flat, f"{name}: {needle!r} missing from the text layer"
    if case.arabic_words:
        plain = without_presentation_forms(text)
        for word in case.arabic_words:
            assert word in plain, f"{name}: Arabic word {word!r} missing from the text layer"

    golden = GOLDEN_DIR / f"{name}.pdf"
    if UPDATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(pdf)
        return
    assert golden.is_file(), (
        f"Golden file {golden} is missing: create it with KIM_UPDATE_GOLDEN=1 uv run pytest "
        "tests/test_letters_golden.py and look at it (pdftoppm -png -r 70) before committing."
    )
    if pdf != golden.read_bytes():
        actual = tmp_path / f"{name}.pdf"
        actual.write_bytes(pdf)
        pytest.fail(mismatch_message(name, golden, actual), pytrace=False)


def test_logo_golden_embeds_the_logo_at_its_pixel_size(invariant_mode):
    letter, profile = with_logo()
    page = PdfReader(io.BytesIO(render_letter(letter, profile))).pages[0]
    images = list(page.images)
    assert len(images) == 1
    assert images[0].image.size == LOGO_SIZE


def test_golden_files_are_all_known():
    """No stale golden file stays behind when a case is renamed or removed."""
    if not GOLDEN_DIR.is_dir():
        pytest.fail(
            f"{GOLDEN_DIR} is missing: run KIM_UPDATE_GOLDEN=1 uv run pytest tests/test_letters_golden.py"
        )
    assert sorted(path.stem for path in GOLDEN_DIR.glob("*.pdf")) == sorted(CASES)


# --- layout rules found by looking at the golden letters ------------------------------------------------------


def page_text(letter: Letter, profile: OfficeProfile, page: int = 0) -> str:
    return PdfReader(io.BytesIO(render_letter(letter, profile))).pages[page].extract_text()


def test_return_address_keeps_postcode_and_city():
    # Exactly what letters.make_letter composes for an office that kept the default organisation name.
    return_address = "Kommunales Integrationsmanagement, Rathausplatz 1, 42651 Solingen"
    letter, profile = form_a()
    letter.return_address = return_address
    assert squash(return_address) in squash(page_text(letter, profile))


def test_footer_prints_the_office_hours_completely():
    letter, profile = form_a()
    profile.office_hours = "Mo–Mi 9–12 Uhr, Do 14–18 Uhr"
    assert "Sprechzeiten: Mo–Mi 9–12 Uhr, Do 14–18 Uhr" in normalised(page_text(letter, profile))


def test_letterhead_prints_a_long_organisation_name_completely():
    letter, profile = form_a()
    profile.organisation = "Kreisverwaltung Rhein-Erft-Kreis – Kommunales Integrationsmanagement"  # 68 chars
    text = page_text(letter, profile)
    letterhead = text.split(RETURN_ADDRESS)[0]  # what is printed above the return address
    assert profile.organisation in normalised(letterhead)


def test_closing_never_stands_alone_on_the_last_page():
    letter, profile = two_pages()
    letter.body = letter.body[:6]  # page 1 is full after the sixth paragraph
    reader = PdfReader(io.BytesIO(render_letter(letter, profile)))
    assert len(reader.pages) == 2
    last = [line.strip() for line in reader.pages[-1].extract_text().splitlines() if line.strip()]
    header = [line for line in last if "Seite 2 von 2" in line or "Aktenzeichen KIM-2026-0042" in line]
    body = [line for line in last if line not in header and line not in (CLOSING, letter.signature)]
    assert body, f"the last page holds only the closing block: {last}"


def fill_colours(pdf: bytes) -> list[tuple[str, tuple[float, ...]]]:
    """(text, fill colour) of every text run on page 1, tracking rg/g/k with the q/Q graphics-state stack."""
    stack: list[tuple[float, ...]] = []
    fill: tuple[float, ...] = (0.0,)
    found: list[tuple[str, tuple[float, ...]]] = []

    def before(operator, operands, cm, tm):
        nonlocal fill
        if operator == b"q":
            stack.append(fill)
        elif operator == b"Q":
            fill = stack.pop() if stack else (0.0,)
        elif operator in (b"rg", b"g", b"k"):
            fill = tuple(round(float(value), 3) for value in operands)

    def visitor(text, cm, tm, font_dict, font_size):
        if text.strip():
            found.append((unicodedata.normalize("NFKC", text.strip()), fill))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_operand_before=before, visitor_text=visitor)
    return found


def test_translation_note_is_grey_in_right_to_left_translations_too():
    ltr = fill_colours(render_letter(*bilingual_ukrainian()))
    rtl = fill_colours(render_letter(*bilingual_arabic()))
    ltr_note = {colour for text, colour in ltr if "Цей переклад" in text}
    rtl_note = {colour for text, colour in rtl if "الترجمة للاطلاع" in text}
    assert len(ltr_note) == 1 and all(sum(c) > 0 for c in ltr_note)  # grey, as the style says
    assert rtl_note == ltr_note
