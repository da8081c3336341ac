"""DIN 5008 letters rendered to PDF with ReportLab platypus. No Qt.

``render_letter(letter, profile) -> bytes``. Geometry comes from :mod:`kim_desktop.reports.din5008`;
fonts are the shipped DejaVu Sans TTFs (embedded as subsets). All user text is escaped before it reaches
Paragraph markup, and drawn with ``drawString`` (no markup) in the fixed zones.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
)

from kim_desktop.reports import bidi_text
from kim_desktop.reports.bidi_text import ARABIC_FONT, ARABIC_FONT_BOLD, BidiParagraph, has_rtl
from kim_desktop.reports.din5008 import PAGE_SIZE_PT, DinGeometry, geometry, mm_to_pt, x_pt, y_pt
from kim_desktop.resources import resource_path

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
ELLIPSIS = "…"

BODY_FONT_SIZE = 11.0
BODY_LEADING = 14.0
INFO_LABEL_SIZE = 7.5
INFO_VALUE_SIZE = 9.0
INFO_LINE = 11.0  # points per info block line
INFO_LABEL_WIDTH_MM = 30.0
FOOTER_SIZE = 7.0
FOOTER_LEADING = 8.5
HEADER_SIZE = 8.0


# --- data -----------------------------------------------------------------------------------------


@dataclass
class OfficeProfile:
    """The sending office: letterhead and first-page footer."""

    organisation: str
    unit: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""
    office_hours: str = ""
    dpo_contact: str = ""  # data protection officer (Datenschutzbeauftragte/r)
    logo: bytes | None = None  # PNG/JPEG bytes, validated and scaled when the office stored it


@dataclass
class Translation:
    """A translation that follows the German letter (bilingual client letters)."""

    heading: str
    note: str  # "only the German text is binding", in the target language
    subject: str
    salutation: str
    body: list[str]
    closing: str
    signature: str
    direction: str = "ltr"  # "rtl" for Arabic and Persian


@dataclass
class Letter:
    form: str = "B"
    return_address: str = ""  # Rücksendeangabe, one line
    recipient_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Vermerke, e.g. "Einschreiben"
    info_items: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    salutation: str = ""
    body: list[str] = field(default_factory=list)
    closing: str = ""
    signature: str = ""
    translation: Translation | None = None

    def reference(self) -> str:
        """The Aktenzeichen for the header of later pages ("Unser Zeichen" / "Aktenzeichen")."""
        for label, value in self.info_items:
            folded = label.casefold()
            if "aktenzeichen" in folded or "unser zeichen" in folded:
                return value
        return ""


# --- fonts ----------------------------------------------------------------------------------------


_fonts_registered = False


def register_fonts() -> None:
    """Register the shipped fonts once (idempotent): DejaVu Sans (Latin, Greek, Cyrillic, Vietnamese) and
    Noto Sans Arabic (Arabic, Persian; shaped with HarfBuzz)."""
    global _fonts_registered
    if _fonts_registered:
        return
    registered = pdfmetrics.getRegisteredFontNames()
    for name, filename, shapable in (
        (FONT, "DejaVuSans.ttf", False),
        (FONT_BOLD, "DejaVuSans-Bold.ttf", False),
        (ARABIC_FONT, "NotoSansArabic-Regular.ttf", True),
        (ARABIC_FONT_BOLD, "NotoSansArabic-Bold.ttf", True),
    ):
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(resource_path(f"fonts/{filename}")), shapable=shapable))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    _fonts_registered = True


def text_width(text: str, size: float, font: str = FONT) -> float:
    register_fonts()
    if has_rtl(text):
        return bidi_text.line_width(text, font, size)
    return pdfmetrics.stringWidth(text, font, size)


def draw_text(canv, x: float, y: float, text: str, font: str, size: float) -> None:
    """One line of user text at a fixed position; right-to-left script is ordered and shaped."""
    if has_rtl(text):
        bidi_text.draw_line(canv, x, y, text, font, size)
    else:
        canv.setFont(font, size)
        canv.drawString(x, y, text)


# --- address fitting ------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _pieces(text: str) -> list[tuple[str, str]]:
    """(joiner, piece) tokens: breaks are allowed at spaces and after hyphens (double names)."""
    pieces: list[tuple[str, str]] = []
    for word in _clean(text).split(" "):
        parts = re.findall(r"[^-]+-*|-+", word) or [word]
        pieces.append((" ", parts[0]))
        pieces.extend(("", part) for part in parts[1:])
    return pieces


def wrap_line(text: str, max_width_pt: float, size: float, font: str = FONT) -> list[str]:
    """Wrap one line at spaces and after hyphens; pieces wider than the field break between characters."""
    lines: list[str] = []
    current = ""
    for joiner, piece in _pieces(text):
        if not piece:
            continue
        candidate = f"{current}{joiner}{piece}" if current else piece
        if text_width(candidate, size, font) <= max_width_pt:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while text_width(piece, size, font) > max_width_pt:  # break an over-long piece
            cut = len(piece) - 1
            while cut > 1 and text_width(piece[:cut], size, font) > max_width_pt:
                cut -= 1
            lines.append(piece[:cut])
            piece = piece[cut:]
        current = piece
    if current:
        lines.append(current)
    return lines


def _with_ellipsis(text: str, max_width_pt: float, size: float, font: str = FONT) -> str:
    text = text.rstrip()
    while text and text_width(text + ELLIPSIS, size, font) > max_width_pt:
        text = text[:-1].rstrip()
    return text + ELLIPSIS


def fit_address(lines: list[str], geo: DinGeometry, font: str = FONT) -> tuple[list[str], float]:
    """Fit recipient lines into the Anschriftzone: wrap to the field width, at most six lines.

    Tries the normal size (10 pt), then the minimum size (9 pt). If the wrapped address is still too
    long, continuation lines of the longest entries are dropped and marked with "…"; if there are more
    than six entries, the middle ones go (the last line — postcode and city — is always kept).
    Returns (lines, font size). Every returned line fits ``geo.address_text_width``.
    """
    entries = [_clean(line) for line in lines if _clean(line)]
    max_lines = geo.anschrift_lines
    max_width = mm_to_pt(geo.address_text_width)
    size = geo.address_font_size
    wrapped: list[list[str]] = []
    for size in (geo.address_font_size, geo.address_min_font_size):
        wrapped = [wrap_line(entry, max_width, size, font) for entry in entries]
        if sum(len(w) for w in wrapped) <= max_lines:
            return [line for w in wrapped for line in w], size

    # Still too long at the minimum size: truncate.
    if len(wrapped) > max_lines:
        kept = wrapped[: max_lines - 1] + [wrapped[-1]]
        kept[max_lines - 2] = [kept[max_lines - 2][0] + " " + ELLIPSIS]
        wrapped = kept
    truncated: set[int] = set()
    while sum(len(w) for w in wrapped) > max_lines:
        longest = max(range(len(wrapped)), key=lambda i: (len(wrapped[i]), -i))
        wrapped[longest] = wrapped[longest][:-1]
        truncated.add(longest)
    result: list[str] = []
    for index, segments in enumerate(wrapped):
        for position, segment in enumerate(segments):
            is_last = position == len(segments) - 1
            if (is_last and index in truncated) or text_width(segment, size, font) > max_width:
                segment = _with_ellipsis(segment, max_width, size, font)
            result.append(segment)
    return result, size


def fit_single_line(text: str, max_width_pt: float, size: float, font: str = FONT) -> str:
    text = _clean(text)
    if text_width(text, size, font) <= max_width_pt:
        return text
    return _with_ellipsis(text, max_width_pt, size, font)


# --- paragraph helpers ----------------------------------------------------------------------------


def markup(text: str) -> str:
    """User text -> safe Paragraph markup (escaped; line breaks kept)."""
    return "<br/>".join(escape(part) for part in str(text).split("\n"))


def paragraph(text: str, style: ParagraphStyle, direction: str = "ltr"):
    """A flowable for user text: ReportLab's Paragraph (escaped), or a BidiParagraph for right-to-left script."""
    if direction == "rtl" or has_rtl(text):
        return BidiParagraph(
            str(text), style.fontName, style.fontSize, style.leading, direction=direction,
            space_after=style.spaceAfter, color=style.textColor,
        )
    return Paragraph(markup(text), style)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body",
        fontName=FONT,
        fontSize=BODY_FONT_SIZE,
        leading=BODY_LEADING,
        alignment=TA_LEFT,
        spaceAfter=BODY_LEADING,
    )
    return {
        "body": body,
        "subject": ParagraphStyle("subject", parent=body, fontName=FONT_BOLD, spaceAfter=2 * BODY_LEADING),
        "closing": ParagraphStyle("closing", parent=body, spaceAfter=3 * BODY_LEADING),
        "signature": ParagraphStyle("signature", parent=body, spaceAfter=0),
        "heading": ParagraphStyle("heading", parent=body, fontName=FONT_BOLD, spaceAfter=4),
        "note": ParagraphStyle("note", parent=body, fontSize=9, leading=11.5, spaceAfter=BODY_LEADING,
                               textColor=colors.dimgrey),
        "info_label": ParagraphStyle(
            "info_label", fontName=FONT, fontSize=INFO_LABEL_SIZE, leading=INFO_LINE, textColor=colors.dimgrey
        ),
        "info_value": ParagraphStyle(
            "info_value", fontName=FONT, fontSize=INFO_VALUE_SIZE, leading=INFO_LINE
        ),
    }


# --- drawing of the fixed zones -------------------------------------------------------------------


def _info_block_layout(letter: Letter, geo: DinGeometry, styles) -> tuple[list, float]:
    """Paragraph pairs of the information block, wrapped; returns (rows, total height in points)."""
    label_w = mm_to_pt(INFO_LABEL_WIDTH_MM)
    value_w = mm_to_pt(geo.info_block_width) - label_w
    rows = []
    height = 0.0
    for label, value in letter.info_items:
        label_p = paragraph(label, styles["info_label"])
        value_p = paragraph(value, styles["info_value"])
        _, lh = label_p.wrap(label_w, 1000)
        _, vh = value_p.wrap(value_w, 1000)
        row_h = max(lh, vh)
        rows.append((label_p, value_p, row_h))
        height += row_h
    return rows, height


def _draw_marks(canv, geo: DinGeometry, first_page: bool) -> None:
    canv.saveState()
    canv.setStrokeColor(colors.black)
    canv.setLineWidth(0.4)
    x0 = x_pt(geo.mark_left)
    if first_page:
        for fold in geo.fold_marks:
            canv.line(x0, y_pt(fold), x0 + mm_to_pt(geo.fold_mark_length), y_pt(fold))
    canv.line(x0, y_pt(geo.hole_mark), x0 + mm_to_pt(geo.hole_mark_length), y_pt(geo.hole_mark))
    canv.restoreState()


def _draw_letterhead(canv, profile: OfficeProfile, geo: DinGeometry) -> None:
    width = mm_to_pt(geo.letterhead_right - geo.letterhead_left)
    x = x_pt(geo.letterhead_left)
    top = geo.letterhead_top
    ascent, _ = pdfmetrics.getAscentDescent(FONT_BOLD, 13)
    baseline = y_pt(top) - ascent
    # A long organisation name wraps onto a second line (13 pt) or three lines (11 pt) rather than being cut.
    size = 13.0
    names = wrap_line(_clean(profile.organisation), width, size, FONT_BOLD)
    if len(names) > 2:
        size = 11.0
        names = wrap_line(_clean(profile.organisation), width, size, FONT_BOLD)
        if len(names) > 3:
            names = names[:2] + [_with_ellipsis(" ".join(names[2:]), width, size, FONT_BOLD)]
    for name in names:
        draw_text(canv, x, baseline, name, FONT_BOLD, size)
        baseline -= size + 2
    if profile.unit:
        draw_text(canv, x, baseline + 2, fit_single_line(profile.unit, width, 10), FONT, 10)
    if profile.logo:
        image = _logo_image(profile.logo)
        if image is not None:
            iw, ih = image.getSize()
            max_w, max_h = mm_to_pt(55), mm_to_pt(geo.letterhead_height - geo.letterhead_top - 3)
            scale = min(max_w / iw, max_h / ih)
            w, h = iw * scale, ih * scale
            canv.drawImage(image, x_pt(geo.body_right) - w, y_pt(top) - h, w, h, mask="auto")


_logo_cache: dict[int, object] = {}


def _logo_image(data: bytes):
    """ImageReader for the logo bytes (cached: bulk letters reuse it); None if the bytes are no image."""
    from reportlab.lib.utils import ImageReader

    key = hash(data)
    if key not in _logo_cache:
        try:
            image = ImageReader(io.BytesIO(data))
            image.getSize()
        except Exception:  # a broken logo must not prevent the letter; the office settings validate logos
            image = None
        _logo_cache.clear()
        _logo_cache[key] = image
    return _logo_cache[key]


def _draw_address_field(canv, letter: Letter, geo: DinGeometry) -> None:
    x = x_pt(geo.address_text_left)
    max_width = mm_to_pt(geo.address_text_width)

    # Zusatz- und Vermerkzone: Rücksendeangabe on top of the Vermerke, block filled from the bottom up.
    zone: list[tuple[str, float]] = []
    if _clean(letter.return_address):
        zone.extend(_return_address_lines(letter.return_address, max_width, geo.vermerk_font_size))
    zone.extend((fit_single_line(n, max_width, geo.vermerk_font_size), geo.vermerk_font_size)
                for n in letter.notes if _clean(n))  # fmt: skip
    zone = zone[-geo.vermerk_lines :]
    line_pt = mm_to_pt(geo.vermerk_line_height)
    first_slot = geo.vermerk_lines - len(zone)
    for i, (text, size) in enumerate(zone):
        _, descent = pdfmetrics.getAscentDescent(FONT, size)
        bottom_of_slot = y_pt(geo.vermerk_top) - (first_slot + i + 1) * line_pt
        draw_text(canv, x, bottom_of_slot - descent, text, FONT, size)

    # Anschriftzone
    lines, size = fit_address(letter.recipient_lines, geo)
    ascent, _ = pdfmetrics.getAscentDescent(FONT, size)
    baseline = y_pt(geo.anschrift_top) - ascent - 0.5
    canv.setFont(FONT, size)
    for line in lines:
        draw_text(canv, x, baseline, line, FONT, size)
        baseline -= geo.address_leading


RETURN_ADDRESS_MIN_SIZE = 6.0


def _return_address_lines(text: str, max_width: float, size: float) -> list[tuple[str, float]]:
    """The Rücksendeangabe: one line, shrunk down to 6 pt if needed; else two lines split after a comma, so
    that street, postcode and town are never cut off."""
    text = _clean(text)
    for candidate in (size, size - 1, RETURN_ADDRESS_MIN_SIZE):
        if text_width(text, candidate) <= max_width:
            return [(text, candidate)]
    parts = [p.strip() for p in text.split(",") if p.strip()]
    size = RETURN_ADDRESS_MIN_SIZE
    for cut in range(len(parts) - 1, 0, -1):
        first, second = ", ".join(parts[:cut]), ", ".join(parts[cut:])
        if text_width(second, size) <= max_width:
            return [(fit_single_line(first, max_width, size), size), (second, size)]
    return [(line, size) for line in wrap_line(text, max_width, size)[:2]]


def _draw_info_block(canv, rows, geo: DinGeometry) -> None:
    x = x_pt(geo.info_block_left)
    label_w = mm_to_pt(INFO_LABEL_WIDTH_MM)
    y = y_pt(geo.info_block_top)
    for label_p, value_p, row_h in rows:
        label_p.drawOn(canv, x, y - label_p.height)  # both top-aligned
        value_p.drawOn(canv, x + label_w, y - value_p.height)
        y -= row_h


def _draw_footer(canv, profile: OfficeProfile, geo: DinGeometry) -> None:
    columns = [
        [profile.organisation, profile.street, _clean(f"{profile.postcode} {profile.city}")],
        [
            _clean(f"Telefon {profile.phone}") if profile.phone else "",
            profile.email,
            _clean(f"Sprechzeiten: {profile.office_hours}") if profile.office_hours else "",
        ],
        ["Datenschutzbeauftragte/r:" if profile.dpo_contact else "", *profile.dpo_contact.split("\n")],
    ]
    col_width = mm_to_pt(geo.body_width) / 3
    canv.saveState()
    canv.setFillColor(colors.dimgrey)
    for c, column in enumerate(columns):
        x = x_pt(geo.body_left) + c * col_width
        baseline = y_pt(geo.footer_baseline)
        for line in _footer_lines([t for t in column if _clean(t)], col_width - 6):
            draw_text(canv, x, baseline, line, FONT, FOOTER_SIZE)
            baseline -= FOOTER_LEADING
    canv.restoreState()


FOOTER_LINES = 4


def _footer_lines(entries: list[str], width: float) -> list[str]:
    """Footer entries wrapped to the column width, at most four lines; only the very last one may be cut."""
    lines: list[str] = []
    for entry in entries:
        lines.extend(wrap_line(_clean(entry), width, FOOTER_SIZE))
    if len(lines) > FOOTER_LINES:
        lines = lines[: FOOTER_LINES - 1] + [_with_ellipsis(" ".join(lines[FOOTER_LINES - 1 :]), width, FOOTER_SIZE)]
    return lines


# --- page numbering ("Seite x von y") -------------------------------------------------------------


def _numbered_canvas_class(letter: Letter, profile: OfficeProfile, geo: DinGeometry):
    """Canvas that defers page decorations needing the total page count until save()."""

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict] = []

        def showPage(self):  # noqa: N802 (ReportLab API)
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self._draw_numbering(total)
                super().showPage()
            super().save()

        def _draw_numbering(self, total: int) -> None:
            page = self._pageNumber
            label = f"Seite {page} von {total}"
            self.saveState()
            if page == 1:
                if total > 1:
                    self.setFont(FONT, HEADER_SIZE)
                    self.drawRightString(x_pt(geo.body_right), y_pt(geo.body_bottom + 4), label)
            else:
                baseline = y_pt(geo.later_header_baseline)
                width = mm_to_pt(geo.body_width)
                self.setFont(FONT, HEADER_SIZE)
                left = profile.organisation
                reference = letter.reference()
                if reference:
                    left = f"{left} · Aktenzeichen {reference}"
                right_w = text_width(label, HEADER_SIZE) + 12
                self.drawString(
                    x_pt(geo.body_left), baseline, fit_single_line(left, width - right_w, HEADER_SIZE)
                )
                self.drawRightString(x_pt(geo.body_right), baseline, label)
                self.setLineWidth(0.3)
                self.setStrokeColor(colors.grey)
                self.line(x_pt(geo.body_left), baseline - 4, x_pt(geo.body_right), baseline - 4)
            self.restoreState()

    return NumberedCanvas


# --- rendering ------------------------------------------------------------------------------------


def render_letter(letter: Letter, profile: OfficeProfile, *, draw_guides: bool = False) -> bytes:
    """Render ``letter`` as a DIN 5008 PDF (Form A or B) and return the PDF bytes.

    ``draw_guides`` outlines the address field, zones and info block (for layout checks only).
    """
    register_fonts()
    geo = geometry(letter.form)
    styles = _styles()
    info_rows, info_height = _info_block_layout(letter, geo, styles)

    info_bottom_mm = geo.info_block_top + info_height / mm_to_pt(1)
    first_body_top = max(geo.address_bottom, info_bottom_mm) + geo.space_before_body

    frame_kwargs = dict(leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    first_frame = Frame(
        x_pt(geo.body_left),
        y_pt(geo.body_bottom),
        mm_to_pt(geo.body_width),
        mm_to_pt(geo.body_bottom - first_body_top),
        id="first",
        **frame_kwargs,
    )
    later_frame = Frame(
        x_pt(geo.body_left),
        y_pt(geo.later_body_bottom),
        mm_to_pt(geo.body_width),
        mm_to_pt(geo.later_body_bottom - geo.later_body_top),
        id="later",
        **frame_kwargs,
    )

    def on_first_page(canv, doc):
        canv.saveState()
        _draw_letterhead(canv, profile, geo)
        _draw_marks(canv, geo, first_page=True)
        _draw_address_field(canv, letter, geo)
        _draw_info_block(canv, info_rows, geo)
        _draw_footer(canv, profile, geo)
        if draw_guides:
            _draw_guides(canv, geo, info_height)
        canv.restoreState()

    def on_later_page(canv, doc):
        _draw_marks(canv, geo, first_page=False)

    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=PAGE_SIZE_PT,
        leftMargin=0,
        rightMargin=0,
        topMargin=0,
        bottomMargin=0,
        initialFontName=FONT,
        initialFontSize=BODY_FONT_SIZE,  # else an unembedded Helvetica is referenced
        title=_clean(letter.subject),
        author=_clean(profile.organisation),
        creator="KIM Desktop",
    )
    doc.addPageTemplates(
        [
            PageTemplate(id="First", frames=[first_frame], onPage=on_first_page),
            PageTemplate(id="Later", frames=[later_frame], onPage=on_later_page),
        ]
    )

    story: list = [NextPageTemplate("Later")]
    story.extend(
        _letter_part(
            styles, letter.subject, letter.salutation, letter.body, letter.closing, letter.signature, "ltr"
        )
    )
    if letter.translation is not None:
        t = letter.translation
        story.append(Spacer(1, BODY_LEADING))
        story.append(_Rule())
        story.append(paragraph(t.heading, styles["heading"], t.direction))
        if _clean(t.note):
            story.append(paragraph(t.note, styles["note"], t.direction))
        story.extend(_letter_part(styles, t.subject, t.salutation, t.body, t.closing, t.signature, t.direction))
    if len(story) == 1:
        story.append(Spacer(1, 1))

    doc.build(story, canvasmaker=_numbered_canvas_class(letter, profile, geo))
    return buffer.getvalue()


def _letter_part(styles, subject, salutation, body, closing, signature, direction: str) -> list:
    """Subject, salutation, paragraphs and the closing block kept together."""
    part: list = []
    if _clean(subject):
        part.append(paragraph(subject, styles["subject"], direction))
    if _clean(salutation):
        part.append(paragraph(salutation, styles["body"], direction))
    paragraphs = [paragraph(text, styles["body"], direction) for text in body if str(text).strip()]
    # The closing never stands alone on a page: the last paragraph goes with it.
    tail = paragraphs[-1:]
    part.extend(paragraphs[:-1])
    if _clean(closing):
        tail.append(paragraph(closing, styles["closing"], direction))
    if _clean(signature):
        tail.append(paragraph(signature, styles["signature"], direction))
    if tail:
        part.append(KeepTogether(tail))
    return part


class _Rule(Spacer):
    """A thin line across the text width that separates the translation from the German letter."""

    def __init__(self) -> None:
        super().__init__(1, BODY_LEADING)

    def wrap(self, availWidth, availHeight):  # noqa: N803 (ReportLab API)
        self.width = availWidth
        return availWidth, BODY_LEADING

    def draw(self):
        self.canv.saveState()
        self.canv.setStrokeColor(colors.grey)
        self.canv.setLineWidth(0.4)
        self.canv.line(0, BODY_LEADING / 2, self.width, BODY_LEADING / 2)
        self.canv.restoreState()


def _draw_guides(canv, geo: DinGeometry, info_height: float) -> None:
    canv.saveState()
    canv.setLineWidth(0.3)
    canv.setStrokeColor(colors.red)
    for top, bottom in ((geo.vermerk_top, geo.vermerk_bottom), (geo.anschrift_top, geo.anschrift_bottom)):
        canv.rect(x_pt(geo.address_left), y_pt(bottom), mm_to_pt(geo.address_width), mm_to_pt(bottom - top))
    canv.setStrokeColor(colors.blue)
    canv.rect(
        x_pt(geo.info_block_left),
        y_pt(geo.info_block_top) - info_height,
        mm_to_pt(geo.info_block_width),
        info_height,
    )
    canv.restoreState()
