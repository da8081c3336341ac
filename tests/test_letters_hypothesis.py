"""Hypothesis through every letter template (``letters.make_letter`` on a real SQLite file) and through the
plain renderer (``render_letter``).

Persons get names and addresses from many scripts (Latin with diacritics incl. Vietnamese, Turkish, Polish,
Romanian ș ț; Greek; Cyrillic; Arabic; Persian with ZWNJ), markup- and template-like text, 200-character words,
empty and whitespace-only optional fields. Every template key is rendered, the bilingual ones in every letter
language that ships the template. Properties:

* the result is a PDF that pypdf reads (at least one page), or a ``UserError`` with the German message about
  the missing address (exactly when the address is incomplete), never any other exception;
* user text is printed literally, never evaluated as template syntax (a name ``{{ buero.email }}`` stays
  ``{{ buero.email }}``);
* Latin, Greek and Cyrillic names and addresses round-trip through pypdf's text (whitespace-insensitive:
  lines may wrap at spaces and hyphens, 200-character words between characters);
* the address is drawn inside the DIN 5008 address field: text positions from a pypdf visitor (baselines in
  the Anschriftzone, at most six lines; the return address in the Vermerkzone) and the glyph boxes from PDFium
  (no ink outside the field) are compared with ``din5008.geometry(form)``.

The examples are derandomised (``derandomize=True``), so CI sees the same inputs every run.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from kim_desktop.db.engine import open_database
from kim_desktop.db.models import (
    Appointment,
    AppointmentParticipant,
    Location,
    Offer,
    Person,
    Provider,
    Referral,
    Setting,
)
from kim_desktop.errors import UserError
from kim_desktop.reports.bidi_text import has_rtl
from kim_desktop.reports.din5008 import MM, PAGE_HEIGHT_MM, DinGeometry, geometry
from kim_desktop.reports.letter import (
    ELLIPSIS,
    FONT,
    Letter,
    OfficeProfile,
    Translation,
    render_letter,
    text_width,
)
from kim_desktop.services import cases, journal, letter_templates, letters, persons
from kim_desktop.services.context import Actor, ServiceContext

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- what the letters service offers ---------------------------------------------------------------------

LANGUAGES = tuple(getattr(letters, "LANGUAGES", ("de",)))
BILINGUAL = tuple(getattr(letters, "BILINGUAL_LETTERS", ()))
FOREIGN = tuple(language for language in LANGUAGES if language != "de")


def shipped_languages(key: str) -> tuple[str, ...]:
    """German, plus every letter language that ships a translation of ``key`` (bilingual letters only)."""
    if key not in BILINGUAL:
        return ("de",)
    return ("de", *(lang for lang in FOREIGN if key in letter_templates.default_templates(lang)))


# --- text strategies -------------------------------------------------------------------------------------

REAL_NAMES = {
    "german": ["Müller", "Jürgen Groß", "Schäfer-Wiśniewska", "Käthe Weiß-Özdemir"],
    "vietnamese": ["Nguyễn Thị Lan", "Trần Văn Thắng", "Phạm Đức Anh", "Lê Thị Hồng Nhung", "Huỳnh Ngọc Ẩn"],
    "turkish": ["Ayşe Yılmaz", "Çağlar Öztürk", "İsmail Güneş", "Şükrü Kılıç", "Gülşen Ağaoğlu"],
    "polish": [
        "Paweł Łukasiewicz",
        "Małgorzata Wiśniewska-Szczepańska",
        "Grzegorz Brzęczyszczykiewicz",
        "Żaneta Kędzierska",
    ],
    "romanian": ["Ștefan Țurcanu", "Ioana Mărgărit", "Florin Câmpeanu", "Țiței-Ștefănescu"],
    "greek": ["Γιώργος Παπαδόπουλος", "Ελένη Κωνσταντινίδου", "Ιωάννης Οικονόμου"],
    "cyrillic": ["Ольга Жукова", "Олександр Шевченко", "Їжак Ґудзь", "Сергей Иванов-Петров", "Євгенія Її"],
    "arabic": ["محمد الأحمد", "فاطمة الزهراء", "عبد الله بن علي", "لؤي الحسن"],
    "persian": ["مریم محمدی\u200cنژاد", "علی\u200cرضا کاظمی", "زهرا رضایی", "می\u200cتوانید"],
}
MARKUP = [
    "<b>", "</b>", "&amp;", "&lt;x&gt;", "{{ x }}", "{{ buero.email }}", "{{ 7*7 }}", "{% if %}", "{% if true %}x{% endif %}",
    "{# Kommentar #}", '"Zitat"', "'Apostroph'", "O'Connor <GmbH> & Söhne", "<img src=x onerror=alert(1)>",
    "<br/>", "<para>", "${HOME}", "%s", "{0}", "\\n",
]  # fmt: skip

ALPHABETS = {
    "latin": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüßÄÖÜàáâèéêíîóôúûçñÿ",
    "vietnamese": "aăâđeêioôơuưyạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĐƠƯ",
    "turkish": "abcçdefgğhıijklmnoöprsştuüvyzÇĞİÖŞÜ",
    "polish": "aąbcćdeęfghijklłmnńoóprsśtuwyzźżĄĆĘŁŃÓŚŹŻ",
    "romanian": "aăâbcdefghiîjklmnoprsștțuvxzĂÂÎȘȚ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯїієґЇІЄҐ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةى",
    "persian": "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی\u200c",
}
RTL_SCRIPTS = ("arabic", "persian")


def word(script: str, min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet=ALPHABETS[script], min_size=min_size, max_size=max_size).filter(
        lambda w: w.strip("\u200c")
    )


def name_in(script: str) -> st.SearchStrategy[str]:
    parts = st.lists(st.tuples(word(script), st.sampled_from([" ", " ", "-"])), min_size=1, max_size=3)
    generated = parts.map(lambda ps: "".join(w + sep for w, sep in ps)[:-1])
    real = REAL_NAMES.get(script) or REAL_NAMES["german"]
    return st.one_of(st.sampled_from(real), generated)


SCRIPTS = tuple(ALPHABETS)
LONG_WORD = st.sampled_from(SCRIPTS).flatmap(lambda s: word(s, 200, 200))
MARKUP_TEXT = st.lists(st.sampled_from(MARKUP), min_size=1, max_size=3).map(" ".join)


@st.composite
def name_text(draw) -> str:
    """A non-blank single-line name in one script (or markup-like, or one 200-character word)."""
    kind = draw(st.sampled_from(["script"] * 6 + ["markup", "long"]))
    if kind == "markup":
        return draw(MARKUP_TEXT)
    if kind == "long":
        return draw(LONG_WORD)
    return draw(st.sampled_from(SCRIPTS).flatmap(name_in))


BLANK = st.sampled_from([None, "", " ", "   ", "\u00a0 "])


def mostly(
    usual: st.SearchStrategy[str], *, blank_weight: int = 1, usual_weight: int = 4
) -> st.SearchStrategy:
    """``usual`` most of the time, sometimes an empty or whitespace-only value (optional fields)."""
    return st.sampled_from([True] * usual_weight + [False] * blank_weight).flatmap(
        lambda use: usual if use else BLANK
    )


ADDRESS_EXTRA = st.one_of(
    BLANK, st.sampled_from(["c/o Familie Yılmaz", "Gemeinschaftsunterkunft Haus 3, Zimmer 214"]), name_text()
)
POSTCODES = st.sampled_from(["", "42651", "01067", "48249", "1010", "SW1A 1AA", "D-40213"])
CITIES = mostly(
    st.one_of(st.sampled_from(["Solingen", "Mönchengladbach", "Bad Neuenahr-Ahrweiler", "Köln"]), name_text())
)
STREETS = mostly(
    st.one_of(
        st.sampled_from(
            ["Kölner Straße 12", "Lindenweg 7", "Friedrich-Ebert-Straße 123a", "Am Weiher 3 / Whg. 12"]
        ),
        name_text().map(lambda s: f"{s[:190]} 7"),
    )
)


@st.composite
def person_values(draw) -> dict:
    return {
        "family_name": draw(name_text()),
        "given_names": draw(mostly(name_text())),
        "sex": draw(st.sampled_from(["f", "m", "d", "x", "u"])),
        "birth_date": draw(st.sampled_from([None, "14.03.1987", "1990", "03.1975"])),
        "address_extra": draw(ADDRESS_EXTRA),
        "street": draw(STREETS),
        "postcode": draw(POSTCODES),
        "city": draw(CITIES),
    }


# --- reading the PDF back ----------------------------------------------------------------------------------


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    return reader


@dataclass(frozen=True)
class Run:
    text: str
    x: float  # mm from the left edge
    y: float  # baseline, mm from the top edge
    size: float


def runs_on(reader: PdfReader, page_index: int = 0) -> list[Run]:
    """Every text run of one page with its position (as in tests/test_letters.py)."""
    runs: list[Run] = []

    def visitor(text, cm, tm, font_dict, font_size):
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = (tm[3] * cm[3]) or 1.0
        runs.append(Run(text.strip(), x / MM, PAGE_HEIGHT_MM - y / MM, round(font_size * scale, 2)))

    reader.pages[page_index].extract_text(visitor_text=visitor)
    return runs


@dataclass(frozen=True)
class Ink:
    char: str
    left: float  # mm from the left edge
    top: float  # mm from the top edge
    right: float
    bottom: float


def ink_on(pdf: bytes, page_index: int = 0) -> list[Ink]:
    """Tight glyph boxes of every visible character of one page, measured by PDFium (an independent reader)."""
    document = pdfium.PdfDocument(pdf)
    try:
        textpage = document[page_index].get_textpage()
        boxes = []
        for index in range(textpage.count_chars()):
            char = textpage.get_text_range(index, 1)
            left, bottom, right, top = textpage.get_charbox(index)
            if not char.strip() or right <= left:
                continue
            boxes.append(
                Ink(char, left / MM, PAGE_HEIGHT_MM - top / MM, right / MM, PAGE_HEIGHT_MM - bottom / MM)
            )
        return boxes
    finally:
        document.close()


def squash(text: str) -> str:
    """Text without any whitespace (lines may wrap at spaces, after hyphens and inside over-long words)."""
    return "".join(text.split())


def arabic_letters(text: str) -> set[str]:
    return {ch for ch in unicodedata.normalize("NFKC", text) if has_rtl(ch)}


@dataclass
class AddressField:
    vermerk: list[list[Run]]  # lines top to bottom, each a list of runs left to right
    anschrift: list[list[Run]]

    @staticmethod
    def text(lines: list[list[Run]]) -> list[str]:
        return [" ".join(run.text for run in line) for line in lines]


def lines_of(runs: list[Run]) -> list[list[Run]]:
    by_baseline: dict[float, list[Run]] = {}
    for run in runs:
        by_baseline.setdefault(round(run.y, 1), []).append(run)
    return [sorted(by_baseline[y], key=lambda r: r.x) for y in sorted(by_baseline)]


def check_address_field(pdf: bytes, reader: PdfReader, geo: DinGeometry) -> AddressField:
    """Everything drawn left of the info block between the letterhead and the earliest possible body start
    must be inside the address field: return address/Vermerke in the Vermerkzone, the address in the
    Anschriftzone (at most six lines, one font size), and no glyph's ink outside the field."""
    band_bottom = geo.address_bottom + geo.space_before_body
    left_of_info = geo.info_block_left - 0.5  # the info block starts at 125 mm (float noise: 124.99999)
    band = [r for r in runs_on(reader) if geo.address_top < r.y < band_bottom and r.x < left_of_info]
    vermerk, anschrift = [], []
    for run in band:
        assert run.x >= geo.address_text_left - 0.05, run
        if run.size == pytest.approx(geo.vermerk_font_size):
            assert geo.vermerk_top < run.y < geo.vermerk_bottom, run
            vermerk.append(run)
        else:
            assert run.size in (geo.address_font_size, geo.address_min_font_size), run
            assert geo.anschrift_top < run.y < geo.anschrift_bottom, run
            anschrift.append(run)
    assert len({r.size for r in anschrift}) <= 1, "one font size for the whole address"
    field = AddressField(lines_of(vermerk), lines_of(anschrift))
    assert len(field.vermerk) <= geo.vermerk_lines
    assert len(field.anschrift) <= geo.anschrift_lines

    for ink in ink_on(pdf):
        centre = (ink.top + ink.bottom) / 2
        if ink.left < left_of_info and geo.address_top <= centre < band_bottom:
            assert geo.address_left - 0.05 <= ink.left and ink.right <= geo.address_right + 0.05, ink
            assert geo.address_top - 0.05 <= ink.top and ink.bottom <= geo.address_bottom + 0.05, ink
    return field


# --- the database ------------------------------------------------------------------------------------------

OFFICE = {
    "organisation": "Stadt Solingen",
    "unit": "Kommunales Integrationsmanagement",
    "street": "Rathausplatz 1",
    "postcode": "42651",
    "city": "Solingen",
    "phone": "0212 290-4711",
    "email": "kim-buero@solingen.example.org",
    "office_hours": "Mo–Do 9–12 Uhr",
    "dpo_contact": "datenschutz@solingen.example.org",
}


@pytest.fixture(scope="module")
def lctx(tmp_path_factory):
    database = open_database(tmp_path_factory.mktemp("letters-hypothesis") / "kim.sqlite3")
    ctx = ServiceContext(database, Actor(None, "Alex Schäfer", Actor.local().roles))
    with ctx.write() as session:
        session.merge(Setting(key="office_profile", value=OFFICE))
    yield ctx
    database.dispose()


@dataclass
class Records:
    person_id: str
    case_id: str
    appointment_id: str
    referral_id: str


def create_records(ctx: ServiceContext, values: dict, texts: dict, form: str) -> Records:
    """Person, case (with a goal and a step), appointment at a location, referral to a provider's offer."""
    person = persons.create_person(ctx, values, allow_duplicate=True)
    case = cases.open_case(ctx, person.id)
    goal = journal.add_goal(ctx, case.id, texts["goal"])
    journal.add_step(ctx, goal, texts["step"], due_on=date(2026, 12, 15))
    with ctx.write() as session:
        session.merge(Setting(key="letter_form", value=form))
        location = Location(name=texts["place"], street="Rathausplatz 1", city="Solingen")
        provider = Provider(name=texts["provider"])
        session.add_all([location, provider])
        session.flush()
        offer = Offer(provider_id=provider.id, title=texts["offer"], category="counselling")
        appointment = Appointment(
            case_id=case.id,
            type="consultation",
            location_id=location.id,
            starts_at=datetime(2026, 4, 21, 8, 0, tzinfo=UTC),
            ends_at=datetime(2026, 4, 21, 9, 0, tzinfo=UTC),
            note=texts["bring"],
        )
        session.add_all([offer, appointment])
        session.flush()
        session.add(AppointmentParticipant(appointment_id=appointment.id, person_id=person.id))
        referral = Referral(
            case_id=case.id,
            person_id=person.id,
            offer_id=offer.id,
            provider_id=provider.id,
            reason=texts["reason"],
        )
        session.add(referral)
        session.flush()
        return Records(person.id, case.id, appointment.id, referral.id)


def stored_person(ctx: ServiceContext, person_id: str) -> Person:
    with ctx.read() as session:
        person = session.get(Person, person_id)
        session.expunge(person)
    return person


def letter_kwargs(key: str, records: Records, with_case: bool) -> dict:
    if key == "invitation":
        return {"appointment_id": records.appointment_id}
    if key == "referral":
        return {"referral_id": records.referral_id}
    if key in letters.CASE_LETTERS or with_case:
        return {"case_id": records.case_id}
    return {"person_id": records.person_id}


def expected_address(person) -> list[str]:
    lines = [f"{person.given_names} {person.family_name}", person.address_extra or "", person.street or ""]
    lines.append(f"{person.postcode or ''} {person.city or ''}")
    return [" ".join(line.split()) for line in lines if line and line.strip()]


CASE_TEXT = st.one_of(name_text(), MARKUP_TEXT)


@st.composite
def case_texts(draw) -> dict:
    return {
        "goal": draw(CASE_TEXT),
        "step": draw(CASE_TEXT),
        "place": draw(CASE_TEXT),
        "provider": draw(CASE_TEXT),
        "offer": draw(CASE_TEXT),
        "bring": draw(st.one_of(st.none(), CASE_TEXT)),
        "reason": draw(st.one_of(st.none(), CASE_TEXT)),
    }


# --- every template through make_letter -------------------------------------------------------------------


class LetterText:
    """pypdf's text of a letter, extracted page by page only as far as a search needs it (speed)."""

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.pages: list[str] = []

    def _more(self) -> bool:
        if len(self.pages) == len(self.reader.pages):
            return False
        self.pages.append(self.reader.pages[len(self.pages)].extract_text())
        return True

    def contains(self, needle: str) -> bool:
        """Whether ``needle`` occurs, whitespace-insensitively (also across line and page breaks)."""
        needle = squash(needle)
        while needle not in squash("".join(self.pages)):
            if not self._more():
                return False
        return True

    def everything(self) -> str:
        while self._more():
            pass
        return "\n".join(self.pages)


def check_made_letter(ctx, key: str, language: str, kwargs: dict, person, form: str, literal: dict) -> None:
    # The Art. 15 access report is also handed over in person: it needs no postal address.
    complete = bool(person.street and (person.postcode or person.city)) or key == "access-report"
    try:
        made = letters.make_letter(ctx, key, language=language, **kwargs)
    except UserError as exc:
        assert not complete, f"{key}/{language}: unexpected refusal {exc.message!r}"
        assert "Anschrift" in exc.message and "Bitte" in exc.message, exc.message  # the German message
        event("refused: incomplete address")
        return
    assert complete, f"{key}/{language}: a letter without a complete address"
    reader = read(made.pdf)
    text = LetterText(reader)
    name = f"{person.given_names} {person.family_name}"

    field = check_address_field(made.pdf, reader, geometry(form))
    assert field.anschrift, "the address field is empty"
    address = expected_address(person)
    drawn = AddressField.text(field.anschrift)
    truncated = any(ELLIPSIS in line for line in drawn)
    event(f"{len(reader.pages)} page(s), {len(drawn)} address line(s)" + (", truncated" if truncated else ""))
    if not has_rtl(" ".join(address)):
        if not truncated:
            assert squash("".join(drawn)) == squash("".join(address))
        assert text.contains(person.family_name)  # in the salutation, whatever the address did
        assert truncated or text.contains(name)
    else:
        assert arabic_letters(name) <= arabic_letters(text.everything())

    # User text is printed literally: template-like values are not evaluated.
    for value in literal.values():
        if value and not has_rtl(value):
            assert text.contains(value), value
    if "{{ buero.email }}" in name:
        assert text.contains("{{ buero.email }}")


@settings(max_examples=12, **SETTINGS)
@given(values=person_values(), texts=case_texts(), form=st.sampled_from(["A", "B"]), with_case=st.booleans())
def test_every_template_renders_or_refuses_in_german(lctx, values, texts, form, with_case):
    records = create_records(lctx, values, texts, form)
    person = stored_person(lctx, records.person_id)
    for key in letter_templates.TEMPLATE_KEYS:
        literal = {}
        if key == "referral":
            literal = {"provider": texts["provider"]}
        elif key == "invitation":
            literal = {"place": texts["place"]}
        elif key == "plan":
            literal = {"goal": texts["goal"], "step": texts["step"]}
        check_made_letter(lctx, key, "de", letter_kwargs(key, records, with_case), person, form, literal)


@pytest.mark.skipif(not FOREIGN or not BILINGUAL, reason="the letters service has no bilingual letters yet")
@settings(max_examples=3, **SETTINGS)
@given(values=person_values(), texts=case_texts(), form=st.sampled_from(["A", "B"]))
def test_bilingual_letters_in_every_language(lctx, values, texts, form):
    records = create_records(lctx, values, texts, form)
    person = stored_person(lctx, records.person_id)
    for key in BILINGUAL:
        for language in shipped_languages(key):
            literal = {"place": texts["place"]} if key == "invitation" else {}
            check_made_letter(lctx, key, language, letter_kwargs(key, records, True), person, form, literal)


# --- the plain renderer ------------------------------------------------------------------------------------

LINE = st.one_of(
    name_text(),
    st.sampled_from(["", "   "]),
    MARKUP_TEXT,
    STREETS.filter(bool),
    st.sampled_from(["42651 Solingen"]),
)
PARAGRAPH = st.lists(
    st.one_of(name_text(), MARKUP_TEXT, st.sampled_from(["\n", " ", "wir laden Sie ein."])), max_size=8
).map(" ".join)


@st.composite
def translations(draw) -> Translation | None:
    if not draw(st.booleans()):
        return None
    script = draw(st.sampled_from(SCRIPTS))
    text = name_in(script)
    return Translation(
        heading=draw(text), note=draw(st.one_of(st.just(""), text)), subject=draw(text), salutation=draw(text),
        body=draw(st.lists(st.lists(text, max_size=12).map(" ".join), max_size=3)), closing=draw(text),
        signature=draw(text), direction="rtl" if script in RTL_SCRIPTS else "ltr",
    )  # fmt: skip


@st.composite
def plain_letters(draw) -> Letter:
    return Letter(
        form=draw(st.sampled_from(["A", "B"])),
        return_address=draw(st.one_of(st.just(""), LINE)),
        notes=draw(st.lists(LINE, max_size=3)),
        recipient_lines=draw(st.lists(LINE, max_size=10)),
        info_items=draw(
            st.lists(st.tuples(name_text().map(lambda s: s[:40]), LINE.map(lambda s: s[:60])), max_size=6)
        ),
        subject=draw(st.one_of(st.just(""), PARAGRAPH)),
        salutation=draw(st.one_of(st.just(""), name_text())),
        body=draw(st.lists(PARAGRAPH, max_size=5)),
        closing=draw(st.sampled_from(["", "Mit freundlichen Grüßen"])),
        signature=draw(st.one_of(st.just(""), name_text())),
        translation=draw(translations()),
    )


PLAIN_PROFILE = OfficeProfile(
    organisation="Stadt Solingen", unit="Kommunales Integrationsmanagement", street="Rathausplatz 1",
    postcode="42651", city="Solingen", phone="0212 290-4711", email="kim@solingen.example.org",
)  # fmt: skip


@settings(max_examples=40, **SETTINGS)
@given(letter=plain_letters())
def test_render_letter_always_gives_a_pdf_with_the_address_in_the_field(letter):
    pdf = render_letter(letter, PLAIN_PROFILE)
    reader = read(pdf)
    geo = geometry(letter.form)
    field = check_address_field(pdf, reader, geo)

    entries = [" ".join(line.split()) for line in letter.recipient_lines if line.strip()]
    drawn = AddressField.text(field.anschrift)
    assert bool(drawn) == bool(entries)
    truncated = any(ELLIPSIS in line for line in drawn)
    if entries and not has_rtl(" ".join(entries)):
        if not truncated:
            assert squash("".join(drawn)) == squash("".join(entries))
        last = entries[-1]
        if text_width(last, geo.address_min_font_size, FONT) <= geo.address_text_width * MM:
            assert squash(drawn[-1]) == squash(last), "the last address line (postcode, city) is always kept"

    zone = [" ".join(t.split()) for t in [letter.return_address, *letter.notes] if t.strip()][
        -geo.vermerk_lines :
    ]
    vermerk = AddressField.text(field.vermerk)
    assert len(vermerk) == len(zone)
    for shown, expected in zip(vermerk, zone, strict=True):
        if not has_rtl(expected) and ELLIPSIS not in shown:
            assert squash(shown) == squash(expected)


# --- rare letters -----------------------------------------------------------------------------------------


def test_kashmiri_yeh_next_to_a_zwnj_is_kept():
    """U+0620 (ؠ) must not be taken for the ZWNJ stand-in: exactly one zero-advance glyph (the ZWNJ) remains."""
    from kim_desktop.reports.bidi_text import ARABIC_FONT, visual_runs
    from kim_desktop.reports.letter import FONT

    runs = [r for r in visual_runs("ؠلی می‌رود", FONT, 11, "rtl") if r.font == ARABIC_FONT]
    advances = [d.x_advance for r in runs for d in getattr(r.text, "__shapeData__", [])]
    assert advances.count(0) == 1
    # Printed as a glyph (ReportLab maps its joining form, which has no code point of its own, to the private
    # use area, so the PDF's text layer cannot name it; the page shows it).
    letter = Letter(recipient_lines=["ؠلی رضا", "Lindenweg 7", "42651 Solingen"], body=["Guten Tag ؠلی رضا,"])
    text = unicodedata.normalize(
        "NFKC", "".join(page.extract_text() for page in read(render_letter(letter, PLAIN_PROFILE)).pages)
    )
    assert "Lindenweg 7" in text and "لی" in text
