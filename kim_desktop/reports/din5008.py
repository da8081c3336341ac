"""DIN 5008:2020 letter geometry in one place (see /work/shared/DIN5008.md).

All lengths are millimetres measured from the **top-left** corner of an A4 sheet, as in the norm.
ReportLab measures points from the **bottom-left** corner; convert with :func:`x_pt` and :func:`y_pt`.
Nothing here imports Qt or draws anything; ``letter.py`` does the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MM = 72.0 / 25.4  # points per millimetre
PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
PAGE_SIZE_PT = (PAGE_WIDTH_MM * MM, PAGE_HEIGHT_MM * MM)

FormName = Literal["A", "B"]


def mm_to_pt(value_mm: float) -> float:
    return value_mm * MM


def pt_to_mm(value_pt: float) -> float:
    return value_pt / MM


def x_pt(x_mm: float) -> float:
    """Horizontal position: millimetres from the left edge -> ReportLab points."""
    return x_mm * MM


def y_pt(y_mm_from_top: float) -> float:
    """Vertical position: millimetres from the top edge -> ReportLab points from the bottom edge."""
    return (PAGE_HEIGHT_MM - y_mm_from_top) * MM


@dataclass(frozen=True)
class DinGeometry:
    """The letter geometry of one DIN 5008 form. Millimetres from the top-left corner."""

    form: FormName
    letterhead_height: float  # = top edge of the address field
    info_block_top: float
    fold_marks: tuple[float, float]

    # Address field (same for both forms)
    address_left: float = 20.0
    address_width: float = 85.0
    address_height: float = 45.0
    address_text_left: float = 25.0  # 5 mm indent inside the field
    address_text_margin: float = 2.0  # kept free at the field's right edge when wrapping

    # Zusatz- und Vermerkzone (incl. Rücksendeangabe) and Anschriftzone
    vermerk_lines: int = 5
    vermerk_height: float = 17.7
    vermerk_font_size: float = 8.0  # Rücksendeangabe and Vermerke
    anschrift_lines: int = 6
    anschrift_height: float = 27.3
    address_font_size: float = 10.0
    address_min_font_size: float = 9.0
    address_leading: float = 12.0  # points

    # Informationsblock
    info_block_left: float = 125.0
    info_block_width: float = 75.0

    # Marks at the left edge
    hole_mark: float = 148.5
    mark_left: float = 4.0
    fold_mark_length: float = 4.0
    hole_mark_length: float = 7.0

    # Body text
    body_left: float = 25.0
    body_width: float = 165.0
    body_right_margin: float = 20.0
    space_before_body: float = 8.46  # two 4.23 mm lines after the info block / address field

    # Letterhead block (logo, sender)
    letterhead_top: float = 8.0
    letterhead_left: float = 25.0
    letterhead_right: float = 125.0

    # Footer on page 1
    footer_baseline: float = 281.0

    # Later pages (not fixed by the norm; house style)
    later_header_baseline: float = 15.0
    later_body_top: float = 25.0
    body_bottom: float = 272.0  # page 1: above the footer
    later_body_bottom: float = 282.0

    # --- derived values -------------------------------------------------------------------

    @property
    def address_top(self) -> float:
        return self.letterhead_height

    @property
    def address_bottom(self) -> float:
        return self.address_top + self.address_height

    @property
    def address_right(self) -> float:
        return self.address_left + self.address_width

    @property
    def vermerk_top(self) -> float:
        return self.address_top

    @property
    def vermerk_bottom(self) -> float:
        return self.vermerk_top + self.vermerk_height

    @property
    def vermerk_line_height(self) -> float:
        return self.vermerk_height / self.vermerk_lines

    @property
    def anschrift_top(self) -> float:
        return self.vermerk_bottom

    @property
    def anschrift_bottom(self) -> float:
        return self.anschrift_top + self.anschrift_height

    @property
    def address_text_width(self) -> float:
        """Usable width for address lines: field minus indent minus a safety margin (78 mm)."""
        return self.address_right - self.address_text_left - self.address_text_margin

    @property
    def body_right(self) -> float:
        return self.body_left + self.body_width


FORM_A = DinGeometry(form="A", letterhead_height=27.0, info_block_top=32.0, fold_marks=(87.0, 192.0))
FORM_B = DinGeometry(form="B", letterhead_height=45.0, info_block_top=50.0, fold_marks=(105.0, 210.0))

FORMS: dict[str, DinGeometry] = {"A": FORM_A, "B": FORM_B}


def geometry(form: str) -> DinGeometry:
    try:
        return FORMS[form.upper()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown DIN 5008 form {form!r}; expected 'A' or 'B'") from None
