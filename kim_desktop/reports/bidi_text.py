"""Right-to-left text (Arabic, Persian) for the PDF letters: Unicode bidi order plus HarfBuzz shaping. No Qt.

ReportLab shapes text with HarfBuzz (``uharfbuzz``) but orders right-to-left lines only with ``rlbidi``, which
is not on PyPI. So a line is laid out in two steps:

1. ``python-bidi`` (the Unicode Bidirectional Algorithm, UAX #9) turns the logical line into visual order,
   with the paragraph direction given (German text: left to right; an Arabic translation: right to left),
   and mirrors brackets in right-to-left runs (rule L4).
2. The visual line is cut into runs of Arabic script and runs of everything else. An Arabic run is turned
   back into logical order and shaped by ReportLab/HarfBuzz in the Arabic font: HarfBuzz picks the joining
   forms (initial, medial, final, isolated, lam-alef) and returns the glyphs in visual order. Other runs
   (Latin names, digits, punctuation) are drawn as they are in the Latin font.

Words are measured one at a time: Arabic letters never join across a space, so a line's width is the sum of
its words' widths and spaces. Lines are broken in logical order, as UAX #9 requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bidi.algorithm import get_display  # the pure-Python UAX #9 with mirroring (L4); the Rust one skips L4
from reportlab.lib.abag import ABag
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import shapeFragWord
from reportlab.platypus import Flowable

ARABIC_FONT = "NotoSansArabic"
ARABIC_FONT_BOLD = "NotoSansArabic-Bold"

# Arabic script letters and marks, Arabic presentation forms, ZWNJ/ZWJ (Persian), tatweel.
_ARABIC = "\u0600-\u06ff\u0750-\u077f\u0870-\u089f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u200c\u200d"
_RTL_RE = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_RUN_RE = re.compile(rf"([{_ARABIC}]+(?: +[{_ARABIC}]+)*)")


def has_rtl(text: str) -> bool:
    """Whether ``text`` contains right-to-left letters (Hebrew or Arabic script)."""
    return bool(_RTL_RE.search(text))


def arabic_font_for(latin_font: str) -> str:
    return ARABIC_FONT_BOLD if "Bold" in latin_font else ARABIC_FONT


@dataclass(frozen=True)
class Run:
    """A piece of a line in visual order: what to draw, in which font, how wide (points)."""

    text: str  # a ShapedStr for Arabic runs
    font: str
    width: float


def _logical(run: str) -> str:
    """A visual Arabic run back in logical order (UAX #9 reversed it; HarfBuzz reverses it again)."""
    return run[::-1]


@lru_cache(maxsize=4096)
def _shaped(logical: str, font: str, size: float):
    # Discretionary ligatures off: Noto's "Muhammad" ligature adds vowel marks nobody typed.
    word = [pdfmetrics.stringWidth(logical, font, size), (ABag(fontName=font, fontSize=size), logical)]
    shaped = shapeFragWord(word, features=_FEATURES)[1][1]
    # The pen moves by the glyphs' advances (ZWNJ advances by 0 although its glyph has a width).
    data = getattr(shaped, "__shapeData__", None)  # plain str when shaping changed nothing
    if data is None:
        return shaped, pdfmetrics.stringWidth(shaped, font, size)
    return shaped, sum(item.x_advance for item in data) * size / 1000


_FEATURES = {"kern": True, "liga": True, "dlig": False}
_NUMBER_RE = re.compile(r"[+\d][\d \-/.:]*\d")
_ZWNJ = "\u200c"
# Rare Arabic-script letters (class AL, so the reordering treats them like the letters around them); the first
# one that does not occur in the line stands in for ZWNJ.
_STAND_INS = ("\u0620", "\u08a1", "\u08a2", "\u08a3", "\u08a4")
_CONTROLS_RE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # bidi marks, embeddings, isolates


def visual_runs(line: str, font: str, size: float, direction: str = "ltr") -> list[Run]:
    """The runs of one line, left to right as they are drawn."""
    if not has_rtl(line):
        line = _CONTROLS_RE.sub("", line)
        return [Run(line, font, pdfmetrics.stringWidth(line, font, size))] if line else []
    # Numbers with inner spaces, hyphens or slashes ("0211 38424-0", "12/2026") stay one left-to-right unit;
    # ZWNJ (Persian: a break in the join without a space) would be dropped by get_display, so it travels
    # through the reordering as a stand-in letter the texts do not use and is put back before shaping.
    stand_in = next((c for c in _STAND_INS if c not in line), None) if _ZWNJ in line else None
    prepared = line.replace(_ZWNJ, stand_in) if stand_in else line
    prepared = _NUMBER_RE.sub(lambda m: f"\u202a{m[0]}\u202c", prepared)
    visual = _CONTROLS_RE.sub("", get_display(prepared, base_dir="R" if direction == "rtl" else "L"))
    if stand_in:
        visual = visual.replace(stand_in, _ZWNJ)
    arabic_font = arabic_font_for(font)
    runs: list[Run] = []
    for index, piece in enumerate(_RUN_RE.split(visual)):
        if not piece:
            continue
        if index % 2:  # Arabic script
            shaped, width = _shaped(_logical(piece), arabic_font, size)
            runs.append(Run(shaped, arabic_font, width))
        else:
            runs.append(Run(piece, font, pdfmetrics.stringWidth(piece, font, size)))
    return runs


def line_width(line: str, font: str, size: float, direction: str = "ltr") -> float:
    return sum(run.width for run in visual_runs(line, font, size, direction))


def draw_line(canv, x: float, y: float, line: str, font: str, size: float, direction: str = "ltr",
              align: str = "left", width: float = 0.0) -> float:
    """Draw ``line`` with its baseline at ``y``; ``align`` right uses ``x + width`` as the right edge.

    Returns the drawn width.
    """
    runs = visual_runs(line, font, size, direction)
    total = sum(run.width for run in runs)
    if align == "right":
        x = x + width - total
    for run in runs:
        canv.setFont(run.font, size)
        canv.drawString(x, y, run.text)
        x += run.width
    return total


def wrap_words(text: str, font: str, size: float, max_width: float, direction: str = "ltr") -> list[str]:
    """Break ``text`` (logical order) into lines no wider than ``max_width``; ``\\n`` forces a break."""
    lines: list[str] = []
    space = pdfmetrics.stringWidth(" ", font, size)
    for raw in text.split("\n"):
        words = raw.split()
        current: list[str] = []
        width = 0.0
        for word in words:
            w = line_width(word, font, size, direction)
            if current and width + space + w > max_width:
                lines.append(" ".join(current))
                current, width = [], 0.0
            if not current and w > max_width:  # an over-long word: cut between characters
                while word and line_width(word, font, size, direction) > max_width:
                    cut = len(word) - 1
                    while cut > 1 and line_width(word[:cut], font, size, direction) > max_width:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                w = line_width(word, font, size, direction) if word else 0.0
                if not word:
                    continue
            width = width + space + w if current else w
            current.append(word)
        lines.append(" ".join(current))
    return lines


class BidiParagraph(Flowable):
    """A plain-text paragraph that may contain right-to-left script; right-aligned when ``direction`` is rtl."""

    def __init__(self, text: str, font: str, size: float, leading: float, *, direction: str = "ltr",
                 space_after: float = 0.0, lines: list[str] | None = None, color=None) -> None:
        super().__init__()
        self.color = color
        self.text, self.font, self.size, self.leading = text, font, size, leading
        self.direction = direction
        self.spaceAfter = space_after
        self._lines = lines
        self._width = 0.0

    def wrap(self, availWidth, availHeight):  # noqa: N803 (ReportLab API)
        # Pieces made by split() keep their lines; a new width (another frame) wraps again.
        if self._lines is None or (self._width and availWidth != self._width):
            self._lines = wrap_words(self.text, self.font, self.size, availWidth, self.direction)
        self._width = availWidth
        self.width, self.height = availWidth, len(self._lines) * self.leading
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803 (ReportLab API)
        self.wrap(availWidth, availHeight)
        fit = int(availHeight // self.leading)
        if fit <= 0 or fit >= len(self._lines):
            return [] if fit <= 0 else [self]
        make = lambda lines, after: BidiParagraph(  # noqa: E731
            " ".join(lines), self.font, self.size, self.leading, direction=self.direction,
            space_after=after, lines=lines, color=self.color,
        )
        return [make(self._lines[:fit], 0.0), make(self._lines[fit:], self.spaceAfter)]

    def draw(self):
        ascent, _ = pdfmetrics.getAscentDescent(self.font, self.size)
        baseline = self.height - ascent  # as ReportLab's Paragraph: first baseline one ascent below the top
        if self.color is not None:
            self.canv.setFillColor(self.color)
        for line in self._lines or []:
            draw_line(self.canv, 0, baseline, line, self.font, self.size, self.direction,
                      align="right" if self.direction == "rtl" else "left", width=self.width)
            baseline -= self.leading
