"""The quarterly report as a PDF: the same sections as its workbook (`report_sections`), A4
portrait, in a Unicode TTF font with the Vietnamese diacritics (DejaVu Sans by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from compliance.report import QuarterlyReport, quarter_label_vi, report_sections
from compliance.workbook import INT_FORMAT, MONEY_FORMAT, PCT_FORMAT, Column, vi_date, vi_number

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
    "C:/Windows/Fonts/DejaVuSans.ttf",
)


class ReportPdfError(RuntimeError):
    """The PDF cannot be written here (reportlab or a Unicode TTF font missing)."""


def find_font(font_path: Path | str | None = None) -> tuple[Path, Path | None]:
    """(regular, bold or None) TTF paths with Vietnamese glyphs; DejaVu Sans by default."""
    candidates = [Path(font_path)] if font_path else [Path(p) for p in FONT_CANDIDATES]
    for regular in candidates:
        if regular.is_file():
            bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
            return regular, bold if bold.is_file() else None
    raise ReportPdfError(f"no Unicode TTF font for Vietnamese text: install fonts-dejavu-core (looked for {', '.join(map(str, candidates))}) or pass font_path")


def write_report_pdf(report: QuarterlyReport, path: Path | str, *, font_path: Path | str | None = None) -> Path:
    """The same sections as the workbook, A4 portrait, DejaVu Sans (Vietnamese diacritics)."""
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    except ImportError as exc:
        raise ReportPdfError("reportlab is not installed (pip install reportlab)") from exc

    path = Path(path)
    regular, bold = find_font(font_path)
    pdfmetrics.registerFont(TTFont("KiemkeSans", str(regular)))
    pdfmetrics.registerFont(TTFont("KiemkeSans-Bold", str(bold or regular)))
    base = ParagraphStyle("base", fontName="KiemkeSans", fontSize=9, leading=11.5)
    cell = ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5)
    head = ParagraphStyle("head", parent=cell, fontName="KiemkeSans-Bold", alignment=1)
    num = ParagraphStyle("num", parent=cell, alignment=2)
    title = ParagraphStyle("title", parent=base, fontName="KiemkeSans-Bold", fontSize=14, leading=18, alignment=1)
    subtitle = ParagraphStyle("subtitle", parent=base, fontSize=10, leading=13, alignment=1)
    section_style = ParagraphStyle("section", parent=base, fontName="KiemkeSans-Bold", fontSize=11, leading=14, spaceBefore=8, spaceAfter=4, keepWithNext=1)
    note_style = ParagraphStyle("note", parent=base, fontSize=8.5, leading=10.5, spaceBefore=2)

    width = A4[0] - 30 * mm
    story: list[Any] = [
        Paragraph(_esc(report.title_vi), title),
        Paragraph(_esc(f"Từ ngày {vi_date(report.start)} đến ngày {vi_date(report.end)}"), subtitle),
        Spacer(1, 4 * mm),
    ]
    for section in (section for section in report_sections(report) if section.in_pdf):
        story.append(Paragraph(_esc(section.title), section_style))
        data = [[Paragraph(_esc(c.header), head) for c in section.columns]]
        body_rows = list(section.rows)
        for row in body_rows:
            data.append([_pdf_cell(row.get(c.key), c, cell, num) for c in section.columns])
        if section.totals_label is not None:
            sums = {c.key: sum(r.get(c.key) or 0 for r in body_rows) for c in section.columns if c.total}
            values = sums | (section.totals or {})
            data.append([
                Paragraph(_esc(section.totals_label), head) if i == 0
                else _pdf_cell(values.get(c.key), c, head, num, bold=True) if c.key in values else ""
                for i, c in enumerate(section.columns)
            ])  # fmt: skip
        total_width = sum(c.width for c in section.columns)
        table = Table(data, colWidths=[width * c.width / total_width for c in section.columns], repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9E1F2")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        if section.totals_label is not None:
            style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")))
        table.setStyle(TableStyle(style))
        story.append(table)
        for note in section.notes:
            story.append(Paragraph(_esc(note), note_style))

    story.append(Spacer(1, 10 * mm))
    story.append(Table(
        [["", Paragraph(_esc("......, ngày ...... tháng ...... năm ......"), subtitle)],
         ["", Paragraph("NGƯỜI KÝ BÁO CÁO", ParagraphStyle("sig", parent=title, fontSize=10, leading=13))],
         ["", Paragraph(_esc("(Ký, ghi rõ họ tên)"), subtitle)]],
        colWidths=[width / 2, width / 2],
    ))  # fmt: skip

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("KiemkeSans", 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{report.title_vi} - Trang {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=18 * mm,
        title=report.title_vi, author="kiemke", subject=f"Báo cáo {quarter_label_vi(report.quarter)}",
    )  # fmt: skip
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _pdf_cell(value: Any, col: Column, text_style: Any, num_style: Any, *, bold: bool = False) -> Any:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        decimals = 2 if col.number_format == MONEY_FORMAT else 1 if col.number_format == PCT_FORMAT else 0
        if col.number_format == INT_FORMAT and not float(value).is_integer():
            decimals = 1
        style = ParagraphStyle("n", parent=num_style, fontName=text_style.fontName) if bold else num_style
        if col.align == "center":
            style = ParagraphStyle("c", parent=style, alignment=1)
        return Paragraph(vi_number(value, decimals), style)
    return Paragraph(_esc(value), text_style)
