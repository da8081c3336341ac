"""Right-to-left text in letters: bidi order, bracket mirroring, shaping, wrapping, and the PDF itself."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader

from kim_desktop.reports.bidi_text import (
    ARABIC_FONT,
    BidiParagraph,
    has_rtl,
    line_width,
    visual_runs,
    wrap_words,
)
from kim_desktop.reports.letter import FONT, Letter, OfficeProfile, Translation, register_fonts, render_letter

register_fonts()


def logical_from_run(text: str) -> str:
    """Undo presentation forms (NFKC) and the visual order of one shaped Arabic run."""
    return "".join(unicodedata.normalize("NFKC", ch) for ch in reversed(str(text)))


def test_has_rtl():
    assert has_rtl("محمد") and has_rtl("Name: مریم") and has_rtl("שלום")
    assert not has_rtl("Nguyễn Thị Lan, Ștefan, Ölçer, Ωμέγα, Олександр")


def test_latin_line_is_one_plain_run():
    runs = visual_runs("Kölner Straße 12", FONT, 11)
    assert [str(r.text) for r in runs] == ["Kölner Straße 12"]
    assert runs[0].font == FONT


def test_rtl_line_order_mirroring_and_shaping():
    runs = visual_runs("المكان: Rathaus 2.14 (الطابق الثاني). لا", FONT, 11, "rtl")
    # Drawn left to right: the last logical word first, the first logical word at the right end.
    assert logical_from_run(runs[0].text) == "لا"
    assert logical_from_run(runs[-1].text) == "المكان"
    assert runs[0].font == ARABIC_FONT and runs[-1].font == ARABIC_FONT
    latin = [str(r.text) for r in runs if r.font == FONT]
    # Brackets mirrored in the right-to-left context, the Latin place name kept left to right.
    assert " .(" in latin and ") Rathaus 2.14 :" in latin
    assert logical_from_run(runs[2].text) == "الطابق الثاني"
    # Shaped: joining forms (presentation forms) instead of the plain letters; lam-alef is one glyph.
    assert str(runs[0].text) == "\ufefb"
    forms = [ch for ch in str(runs[2].text) if "\ufb50" <= ch <= "\ufeff"]
    assert len(forms) >= len(str(runs[2].text).replace(" ", "")) // 2


def test_latin_name_inside_arabic_sentence_stays_in_place():
    runs = visual_runs("السيدة Nguyễn المحترمة،", FONT, 11, "rtl")
    texts = [logical_from_run(r.text) if r.font == ARABIC_FONT else str(r.text) for r in runs]
    assert texts == ["المحترمة،", " Nguyễn ", "السيدة"]


def test_persian_zwnj_keeps_the_word_apart_without_space():
    runs = visual_runs("می‌توانید", FONT, 11, "rtl")
    assert len(runs) == 1 and runs[0].font == ARABIC_FONT
    spaced = visual_runs("می توانید", FONT, 11, "rtl")
    assert runs[0].width < spaced[0].width - 1  # ZWNJ takes no room


def test_wrap_words_fits_and_keeps_all_words():
    text = "ندعوكم بكل سرور إلى موعد استشارة في مكتبنا. يرجى إحضار جواز السفر وتصريح الإقامة. " * 3
    lines = wrap_words(text, FONT, 11, 200, "rtl")
    assert len(lines) > 3
    assert all(line_width(line, FONT, 11, "rtl") <= 200 for line in lines)
    assert " ".join(lines).split() == text.split()


def test_paragraph_splits_across_pages():
    para = BidiParagraph("كلمة " * 400, FONT, 11, 14, direction="rtl")
    width, height = para.wrap(400, 10_000)
    first, rest = para.split(400, height / 2)
    _, h1 = first.wrap(400, 10_000)
    _, h2 = rest.wrap(400, 10_000)
    assert h1 + h2 == height


def test_bilingual_letter_pdf_embeds_the_arabic_font_and_keeps_all_letters():
    arabic = "ندعوكم بكل سرور إلى موعد استشارة (الطابق الثاني)."
    translation = Translation(
        heading="الترجمة العربية", note="النص الألماني وحده هو الملزم.", subject="موعد الاستشارة",
        salutation="السيدة Nguyễn المحترمة،", body=[arabic], closing="مع أطيب التحيات",
        signature="Alex Schäfer", direction="rtl",
    )  # fmt: skip
    letter = Letter(
        recipient_lines=["Thị Lan Nguyễn", "Kölner Straße 12", "42651 Solingen"], subject="Ihr Termin",
        salutation="Sehr geehrte Frau Nguyễn,", body=["wir laden Sie ein."], closing="Mit freundlichen Grüßen",
        signature="Alex Schäfer", translation=translation,
    )  # fmt: skip
    pdf = render_letter(letter, OfficeProfile(organisation="Stadt Solingen"))
    reader = PdfReader(io.BytesIO(pdf))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]))
            descendant = font.get("/DescendantFonts")
            if descendant is not None:
                assert "/FontFile2" in descendant[0].get_object()["/FontDescriptor"]
    assert any("NotoSansArabic" in name for name in fonts)
    text = unicodedata.normalize("NFKC", "".join(page.extract_text() for page in reader.pages))
    # Every Arabic letter of the paragraph arrives in the PDF's text layer (order is visual there).
    for letter_char in set(arabic) - set(" ().،"):
        assert letter_char in text, letter_char
    assert "Nguyễn" in text and "Wir laden Sie ein." not in text and "wir laden Sie ein." in text


def test_arabic_name_in_the_address_field_is_shaped():
    letter = Letter(recipient_lines=["محمد الأحمد", "Kölner Straße 12", "42651 Solingen"], body=["Text"])
    pdf = render_letter(letter, OfficeProfile(organisation="Stadt Solingen"))
    text = unicodedata.normalize("NFKC", PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert "Kölner Straße 12" in text
    assert all(ch in text for ch in "محمدالأ")


def test_embedded_left_to_right_data_keeps_its_order_and_controls_are_not_drawn():
    from kim_desktop.services.letters import embed_ltr

    context = embed_ltr({"telefon": "02541 18-0", "leer": "", "name": "مریم", "liste": ["Kreis Coesfeld"]})
    assert context["leer"] == "" and context["name"] == "مریم"
    runs = visual_runs(f"تلفن: {context['telefon']}", FONT, 11, "rtl")
    assert "02541 18-0" in "".join(str(r.text) for r in runs if r.font == FONT)
    plain = visual_runs(context["liste"][0], FONT, 11, "rtl")
    assert [str(r.text) for r in plain] == ["Kreis Coesfeld"]


def test_phone_numbers_in_template_text_keep_their_order():
    runs = visual_runs("الهاتف: 0211 38424-0 أو 0212 290-0000.", FONT, 11, "rtl")
    latin = "".join(str(r.text) for r in runs if r.font == FONT)
    assert "0211 38424-0" in latin and "0212 290-0000" in latin


def test_persian_zwnj_survives_the_reordering():
    from kim_desktop.reports.bidi_text import _shaped

    runs = visual_runs("داده‌ها", FONT, 11, "rtl")
    assert len(runs) == 1
    # With ZWNJ the heh stays in its final form and the next letter starts anew: other glyphs than without.
    joined, _width = _shaped("دادهها", ARABIC_FONT, 11)
    assert str(runs[0].text) != str(joined)
