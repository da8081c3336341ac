"""Statistics output: CSV (German Excel: semicolon, UTF-8 with BOM, decimal comma), XLSX (openpyxl), JSON and a
PDF report with charts (ReportLab graphics); the PDF of the case conference summary. No Qt.

Everything here works on the already aggregated and suppressed results of ``services.statistics``: a
suppressed cell has no number, so no output format can reveal it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..errors import UserError
from ..i18n import _, format_date
from .letter import FONT, FONT_BOLD, register_fonts

FORMATS = ("csv", "xlsx", "pdf", "json")
PALETTE = [colors.HexColor(c) for c in ("#1f5f8b", "#e07b39", "#4c9a5b", "#8c5fa8", "#c9a227", "#3aa3a3",
                                        "#b5485d", "#6d7f8c", "#9bbb59", "#4f6228")]  # fmt: skip
PIE_INDICATORS = {
    "goal_achievement",
    "persons_intake_by_sex",
    "persons_closure_by_sex",
    "appointments_by_status",
}


def _rows(result):
    """(section label, indicator, row label, text, cell) for every cell and total, in display order."""
    for _key, section, items in result.sections():
        for item in items:
            for cell in item.rows:
                yield section, item, cell.label, cell
            if item.total is not None:
                yield section, item, item.total.label, item.total


# --- CSV, JSON, XLSX -----------------------------------------------------------------------------------


def to_csv(result) -> bytes:
    """Semicolon-separated, UTF-8 with BOM, numbers as German Excel reads them ("1.234", "409,5")."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_("Abschnitt"), _("Kennzahl-ID"), _("Kennzahl"), _("Ausprägung"), _("Wert"), _("Einheit"),
                     _("Zeitraum von"), _("Zeitraum bis")])  # fmt: skip
    first, last = format_date(result.first), format_date(result.last)
    for section, item, label, cell in _rows(result):
        unit = _("Stunden") if item.unit == "hours" else _("Anzahl")
        writer.writerow([section, item.id, item.label, label, cell.text, unit, first, last])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(result) -> bytes:
    return json.dumps(result.to_json(), ensure_ascii=False, indent=2).encode("utf-8")


def _text_cell(text: str) -> str:
    """Labels an office typed (own counts) must not become spreadsheet formulas."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _sheet_title(text: str, used: set[str]) -> str:
    clean = "".join("-" if ch in "[]:*?/\\" else ch for ch in text)[:31].strip() or "Blatt"
    title, n = clean, 2
    while title.lower() in used:
        title = f"{clean[:28]} {n}"
        n += 1
    used.add(title.lower())
    return title


def to_xlsx(result) -> bytes:
    """One overview sheet, then one sheet per section: each indicator a block with a bold header."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    workbook = Workbook()
    overview = workbook.active
    overview.title = _("Übersicht")[:31]
    used = {overview.title.lower()}
    overview.append([_("Statistik Kommunales Integrationsmanagement")])
    overview["A1"].font = Font(bold=True, size=14)
    overview.append([result.filter_text()])
    overview.append([result.suppression_text()])
    overview.append([_("Erstellt am {date}").format(date=format_date(result.generated_at))])
    overview.append([])
    overview.append([_("Abschnitt"), _("Kennzahl"), _("Beschreibung")])
    for cell in overview[6]:
        cell.font = bold
    for _key, section, items in result.sections():
        for item in items:
            overview.append([section, _text_cell(item.label), _text_cell(item.description)])
    overview.column_dimensions["A"].width = 30
    overview.column_dimensions["B"].width = 48
    overview.column_dimensions["C"].width = 90
    for _key, section, items in result.sections():
        sheet = workbook.create_sheet(_sheet_title(section, used))
        widest = 20
        for item in items:
            sheet.append([item.label])
            sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=12)
            sheet.append([_("Ausprägung"), _("Stunden") if item.unit == "hours" else _("Anzahl")])
            for cell in sheet[sheet.max_row]:
                cell.font = bold
            cells = list(item.rows) + ([item.total] if item.total is not None else [])
            for cell in cells:
                value = cell.value if cell.value is not None else cell.text
                sheet.append([_text_cell(cell.label), value])
                target = sheet.cell(sheet.max_row, 2)
                if cell.value is not None:
                    target.number_format = "#,##0.0" if item.unit == "hours" else "#,##0"
                else:
                    target.alignment = Alignment(horizontal="right")
                if cell is item.total:
                    sheet.cell(sheet.max_row, 1).font = bold
                    target.font = bold
                widest = max(widest, len(cell.label))
            sheet.append([])
        sheet.column_dimensions["A"].width = min(80, widest + 2)
        sheet.column_dimensions["B"].width = 14
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- PDF -------------------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=22, leading=28, spaceAfter=10),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=12, leading=16, spaceAfter=6),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceBefore=4,
                             spaceAfter=8, textColor=colors.HexColor("#1f5f8b")),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=10,
                             spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
    }  # fmt: skip


def _on_page(title: str):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        width, _height = A4
        canvas.drawString(20 * mm, 12 * mm, title)
        canvas.drawRightString(width - 20 * mm, 12 * mm, _("Seite {n}").format(n=doc.page))
        canvas.restoreState()

    return draw


#: Bars in one chart at most; with more values the largest are drawn (the table lists every value).
MAX_BARS = 15


def chart_cells(item, limit: int = MAX_BARS) -> tuple[list, int]:
    """The cells a chart draws (shown, unsuppressed, above zero): with more than ``limit`` of them the largest,
    in the table's order. Also returns how many there were (for the note under the chart)."""
    cells = [c for c in item.rows if c.value is not None and c.value > 0]
    total = len(cells)
    if total > limit:
        largest = {id(c) for c in sorted(cells, key=lambda c: c.value, reverse=True)[:limit]}
        cells = [c for c in cells if id(c) in largest]
    return cells, total


def chart_note(total: int, limit: int = MAX_BARS) -> str:
    return _("Diagramm: die {n} größten von {total} Ausprägungen").format(n=limit, total=total)


def _short(text: str, limit: int = 42) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chart(item, width: float):
    """A bar chart (or pie) of the shown, unsuppressed cells; None when fewer than two are left."""
    cells = [c for c in item.rows if c.value is not None and c.value > 0]
    if len(cells) < 2:
        return None
    if item.id in PIE_INDICATORS and len(cells) <= 8:
        drawing = Drawing(width, 120)
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 10, 10, 100, 100
        pie.data = [c.value for c in cells]
        pie.labels = None
        pie.strokeColor = colors.white
        for i in range(len(cells)):
            pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
        drawing.add(pie)
        total = sum(pie.data)
        for i, cell in enumerate(cells):
            y = 100 - i * 14
            from reportlab.graphics.shapes import Rect

            drawing.add(Rect(130, y, 8, 8, fillColor=PALETTE[i % len(PALETTE)], strokeColor=None))
            share = round(100 * cell.value / total)
            drawing.add(
                String(143, y + 1, f"{_short(cell.label, 50)} ({share} %)", fontName=FONT, fontSize=8)
            )
        return drawing
    cells, shown_of = chart_cells(item)
    bar_height = 13
    note = shown_of > MAX_BARS
    height = len(cells) * bar_height + 30 + (12 if note else 0)
    drawing = Drawing(width, height)
    if note:
        drawing.add(
            String(
                0, 0,
                chart_note(shown_of),
                fontName=FONT, fontSize=7,
            )
        )  # fmt: skip
    chart = HorizontalBarChart()
    label_space = 170
    chart.x, chart.y = label_space, 18 + (12 if note else 0)
    chart.width, chart.height = width - label_space - 20, len(cells) * bar_height
    chart.data = [[c.value for c in reversed(cells)]]
    chart.categoryAxis.categoryNames = [_short(c.label) for c in reversed(cells)]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    if item.unit == "hours":
        chart.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}".replace(",", ".")
    else:
        chart.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}".replace(",", ".") if v == int(v) else ""
    chart.bars[0].fillColor = PALETTE[0]
    chart.bars[0].strokeColor = None
    chart.barSpacing = 1
    drawing.add(chart)
    return drawing


def _table(item, styles, width: float):
    head = [Paragraph(escape(_("Ausprägung")), styles["cell"]),
            Paragraph(escape(_("Stunden") if item.unit == "hours" else _("Anzahl")), styles["cell"])]  # fmt: skip
    data = [head]
    cells = list(item.rows) + ([item.total] if item.total is not None else [])
    for cell in cells:
        data.append([Paragraph(escape(cell.label), styles["cell"]), cell.text])
    table = Table(data, colWidths=[width - 30 * mm, 30 * mm], repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f5f8b")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if item.total is not None:
        style += [
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, 8.5),
            ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.grey),
        ]
    if item.total is not None:
        data[-1][0] = Paragraph(f"<b>{escape(item.total.label)}</b>", styles["cell"])
    table.setStyle(TableStyle(style))
    return table


def _figures_table(items, styles, width: float):
    """Single figures of a section in one table: indicator, description, value."""
    data = [[Paragraph(escape(_("Kennzahl")), styles["cell"]), Paragraph(escape(_("Wert")), styles["cell"])]]
    for item in items:
        text = (
            f"<b>{escape(item.label)}</b><br/><font size=7 color='#555555'>{escape(item.description)}</font>"
        )
        data.append([Paragraph(text, styles["cell"]), item.rows[0].text])
    table = Table(data, colWidths=[width - 30 * mm, 30 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 10), ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5),
        ("FONT", (1, 1), (1, -1), FONT_BOLD, 11), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f5f8b")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
    ]))  # fmt: skip
    return table


def to_pdf(result, *, organisation: str | None = None) -> bytes:
    """The statistics report: German title page with period and filters, one chapter per section with a table
    and a chart for each indicator, page numbers."""
    styles = _styles()
    buffer = io.BytesIO()
    title = _("Statistik Kommunales Integrationsmanagement")
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=20 * mm, title=title, author=organisation or "KIM Desktop",
                            subject=result.filter_text(), creator="KIM Desktop")  # fmt: skip
    width = A4[0] - 40 * mm
    story = [Spacer(1, 50 * mm), Paragraph(escape(title), styles["title"])]
    if organisation:
        story.append(Paragraph(escape(organisation), styles["subtitle"]))
    story += [
        Paragraph(escape(result.filter_text()), styles["subtitle"]),
        Spacer(1, 8 * mm),
        Paragraph(escape(_("Erstellt am {date}").format(date=format_date(result.generated_at))), styles["body"]),
        Paragraph(escape(result.suppression_text()), styles["body"]),
        Paragraph(escape(_("Die Auswertung enthält nur zusammengefasste Zahlen, keine Angaben zu einzelnen Personen. "
                           "Die Kennzahlen sind im Benutzerhandbuch (Statistik) beschrieben.")), styles["body"]),
        Spacer(1, 10 * mm),
        Paragraph(escape(_("Inhalt")), styles["h2"]),
    ]  # fmt: skip
    for _key, section, items in result.sections():
        story.append(Paragraph(escape(f"{section} ({len(items)})"), styles["body"]))
    for _key, section, items in result.sections():
        story.append(PageBreak())
        story.append(Paragraph(escape(section), styles["h1"]))
        singles = [
            item for item in items if item.total is None and len(item.rows) == 1 and item.rows[0].key is None
        ]
        if singles:
            story += [_figures_table(singles, styles, width), Spacer(1, 3 * mm)]
        for item in items:
            if item in singles:
                continue
            block = [Paragraph(escape(item.label), styles["h2"]), Paragraph(escape(item.description), styles["small"]),
                     Spacer(1, 2 * mm), _table(item, styles, width)]  # fmt: skip
            chart = _chart(item, width)
            if chart is not None:
                block += [Spacer(1, 2 * mm), chart]
                if any(c.suppressed for c in item.rows):
                    block.append(Paragraph(escape(_("Gesperrte Werte sind im Diagramm nicht dargestellt.")),
                                           styles["small"]))  # fmt: skip
            story.append(KeepTogether(block))
    footer = f"{title} · {result.filter_text()}"
    doc.build(story, onFirstPage=_on_page(footer), onLaterPages=_on_page(footer))
    return buffer.getvalue()


def conference_pdf(summary, *, organisation: str | None = None) -> bytes:
    """The anonymised case conference summary as PDF (no names, birth dates, file numbers or dates of cases)."""
    styles = _styles()
    buffer = io.BytesIO()
    title = _("Zusammenfassung für die Fallkonferenz")
    period = _("Zeitraum {first} bis {last}").format(
        first=format_date(summary.first), last=format_date(summary.last)
    )
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=20 * mm, title=title, author=organisation or "KIM Desktop",
                            creator="KIM Desktop")  # fmt: skip
    width = A4[0] - 40 * mm
    story = [Paragraph(escape(title), styles["title"])]
    if organisation:
        story.append(Paragraph(escape(organisation), styles["subtitle"]))
    story += [
        Paragraph(escape(period), styles["subtitle"]),
        Paragraph(escape(_("Anonymisiert: ohne Namen, Geburtsdaten und Aktenzeichen. Nur für die Beratung in der "
                           "Fallkonferenz bzw. Lenkungsgruppe.")), styles["small"]),
        Spacer(1, 4 * mm),
        Paragraph(escape(_("Systemlücken")), styles["h1"]),
    ]  # fmt: skip
    if not summary.findings:
        story.append(Paragraph(escape(_("Im Zeitraum wurden keine Systemlücken erfasst.")), styles["body"]))
    for group in summary.findings:
        story.append(Paragraph(escape(f"{group.label} ({group.count})"), styles["h2"]))
        for text in group.descriptions:
            story.append(Paragraph("• " + escape(text).replace("\n", "<br/>"), styles["body"]))
    if summary.cases:
        story.append(Paragraph(escape(_("Ausgewählte Fälle")), styles["h1"]))
    for item in summary.cases:
        rows = [
            [_("Altersgruppe"), item.age_band],
            [_("Aufenthalt"), item.residence_category],
            [_("Phase"), item.phase],
            [_("Dauer"), _("{n} Monate").format(n=item.duration_months)],
            [_("Kontakte"), str(item.contacts)],
            [_("Lebensbereiche"), ", ".join(item.life_areas) or "–"],
            [_("Ziele"), "; ".join(f"{a}: {r}" for a, r in item.goals) or "–"],
            [_("Vermittlungen"), "; ".join(f"{c}: {s}" for c, s in item.referrals) or "–"],
        ]
        data = [[Paragraph(escape(k), styles["cell"]), Paragraph(escape(v), styles["cell"])] for k, v in rows]
        table = Table(data, colWidths=[35 * mm, width - 35 * mm])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]))  # fmt: skip
        story.append(KeepTogether([Paragraph(escape(item.alias), styles["h2"]), table]))
    footer = f"{title} · {period}"
    doc.build(story, onFirstPage=_on_page(footer), onLaterPages=_on_page(footer))
    return buffer.getvalue()


def render(result, fmt: str, *, organisation: str | None = None) -> bytes:
    if fmt == "csv":
        return to_csv(result)
    if fmt == "xlsx":
        return to_xlsx(result)
    if fmt == "json":
        return to_json(result)
    if fmt == "pdf":
        return to_pdf(result, organisation=organisation)
    raise UserError(_("Unbekanntes Format: {fmt} (möglich: csv, xlsx, pdf, json)").format(fmt=str(fmt)[:10]))


def write(result, fmt: str, path: Path, *, organisation: str | None = None) -> Path:
    """Render and write atomically (a temporary file next to the target, then rename)."""
    data = render(result, fmt, organisation=organisation)
    return write_bytes(path, data)


def write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserError(_("Der Ordner für die Ausgabedatei existiert nicht: {path}").format(path=path.parent))
    temp = path.with_name(f".{path.name}.{datetime.now():%H%M%S%f}.tmp")
    try:
        temp.write_bytes(data)
        temp.replace(path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UserError(_("Die Datei konnte nicht geschrieben werden: {path}").format(path=path)) from exc
    return path
