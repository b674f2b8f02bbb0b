"""The quarterly report as a PDF: the same sections as its workbook (`report_sections`), A4
portrait, in a Unicode TTF font with the Vietnamese diacritics (DejaVu Sans by default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from compliance.report import QuarterlyReport, quarter_label_vi, report_sections
from compliance.workbook import INT_FORMAT, MONEY_FORMAT, PCT_FORMAT, Column, vi_date, vi_number
from inventory.letterhead import Letterhead

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


def write_report_pdf(report: QuarterlyReport, path: Path | str, *, font_path: Path | str | None = None, letterhead: Letterhead | None = None) -> Path:
    """The same sections as the workbook, A4 portrait, DejaVu Sans (Vietnamese diacritics), under
    the agency's letterhead (defaults when none is given)."""
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    except ImportError as exc:
        raise ReportPdfError("reportlab is not installed (pip install reportlab)") from exc

    path = Path(path)
    regular, bold = find_font(font_path)
    pdfmetrics.registerFont(TTFont("KiemkeSans", str(regular)))
    pdfmetrics.registerFont(TTFont("KiemkeSans-Bold", str(bold or regular)))
    base = ParagraphStyle("base", fontName="KiemkeSans", fontSize=9, leading=11.5)
    title = ParagraphStyle("title", parent=base, fontName="KiemkeSans-Bold", fontSize=14, leading=18, alignment=1)
    subtitle = ParagraphStyle("subtitle", parent=base, fontSize=10, leading=13, alignment=1)
    section_style = ParagraphStyle("section", parent=base, fontName="KiemkeSans-Bold", fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
    note_style = ParagraphStyle("note", parent=base, fontSize=8.5, leading=10.5, spaceBefore=2)

    width = A4[0] - 30 * mm
    story: list[Any] = [
        _letterhead_block(letterhead or Letterhead(), report.today, width, base),
        Spacer(1, 5 * mm),
        Paragraph(_esc(report.title_vi), title),
        Paragraph(_esc(f"Từ ngày {vi_date(report.start)} đến ngày {vi_date(report.end)}"), subtitle),
        Spacer(1, 4 * mm),
    ]
    sections = [section for section in report_sections(report) if section.in_pdf]
    signature = [
        Spacer(1, 8 * mm),
        Table(
            [["", Paragraph("NGƯỜI KÝ BÁO CÁO", ParagraphStyle("sig", parent=title, fontSize=10, leading=13))],
             ["", Paragraph(_esc("(Ký, ghi rõ họ tên)"), subtitle)]],
            colWidths=[width / 2, width / 2],
        ),
    ]  # fmt: skip
    for index, section in enumerate(sections):
        data, sizes = _table_data(section, width)
        table = Table(data, colWidths=sizes.widths, repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9E1F2")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ]
        if section.totals_label is not None:
            style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")))
        table.setStyle(TableStyle(style))
        parts = [Paragraph(_esc(section.title), section_style), table, *(Paragraph(_esc(note), note_style) for note in section.notes)]
        last = index == len(sections) - 1
        if last:
            parts += signature
        if len(data) <= SHORT_TABLE_ROWS:
            # A short section is never split: no page ends with its heading or a few of its rows,
            # and the signature never stands alone on the last page.
            story.append(KeepTogether(parts))
        else:
            # The heading, the column headers and a few rows together; then the table splits by row
            # (its header repeated), without a forced break that would leave a page nearly empty.
            story.append(CondPageBreak(section_style.leading + sizes.header_height + 4 * sizes.row_height + 12))
            story.extend(parts[:-2] if last else parts)
            if last:
                story.append(KeepTogether(parts[-2:]))

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


CELL_PADDING = 3
SHORT_TABLE_ROWS = 16  # header and totals included
FONT_SIZES = (8.5, 7.5, 6.5)  # tried in turn until every word of a table fits its column
LONG_TOKEN_SHARE = 0.34  # a token wider than this share of the page may still wrap inside itself


@dataclass(frozen=True)
class TableSizes:
    widths: list[float]
    header_height: float
    row_height: float


def _letterhead_block(letterhead: Letterhead, printed_on: date, width: float, base: Any) -> Any:
    """The administrative document header: the agency and number on the left, the national motto
    and the place and date on the right."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table, TableStyle

    left = ParagraphStyle("lh-left", parent=base, fontSize=10, leading=13, alignment=1)
    left_bold = ParagraphStyle("lh-left-bold", parent=left, fontName="KiemkeSans-Bold")
    right_bold = ParagraphStyle("lh-right-bold", parent=left_bold, fontSize=10)
    day = letterhead.dated(printed_on)
    rows = [
        [Paragraph(_esc(letterhead.parent_agency.upper()), left), Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", right_bold)],
        [Paragraph(_esc(letterhead.agency.upper()), left_bold), Paragraph(_esc("Độc lập - Tự do - Hạnh phúc"), right_bold)],
        [Paragraph(_esc(f"Số: {letterhead.document_number}"), left),
         Paragraph(_esc(f"{letterhead.place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"), left)],
    ]  # fmt: skip
    table = Table(rows, colWidths=[width * 0.42, width * 0.58])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 2), (-1, 2), 6)]))  # fmt: skip
    return table


def _table_data(section: Any, width: float) -> tuple[list[list[Any]], TableSizes]:
    """The section's cells in the largest font whose words all fit their columns (no word broken
    across lines unless it is a long token such as an address)."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    body_rows = list(section.rows)
    totals_row: dict[str, Any] | None = None
    if section.totals_label is not None:
        sums = {c.key: sum(r.get(c.key) or 0 for r in body_rows) for c in section.columns if c.total}
        totals_row = sums | (section.totals or {})
    texts = [[c.header for c in section.columns]]
    texts += [[_cell_text(row.get(c.key), c) for c in section.columns] for row in body_rows]
    if totals_row is not None:
        texts.append([section.totals_label if i == 0 else _cell_text(totals_row.get(c.key), c) if c.key in totals_row else "" for i, c in enumerate(section.columns)])
    natural = [c.width for c in section.columns]
    for size in FONT_SIZES:
        widths = _fit_widths(natural, _min_widths(texts, size, width), width)
        if widths is not None:
            break
    else:
        size = FONT_SIZES[-1]
        widths = _fit_widths(natural, [0.0] * len(natural), width) or [width / len(natural)] * len(natural)
    leading = size + 2
    cell = ParagraphStyle("cell", fontName="KiemkeSans", fontSize=size, leading=leading)
    head = ParagraphStyle("head", parent=cell, fontName="KiemkeSans-Bold", alignment=1)
    num = ParagraphStyle("num", parent=cell, alignment=2)
    data = [[Paragraph(_esc(text), head) for text in texts[0]]]
    for row, row_texts in zip(body_rows, texts[1 : len(body_rows) + 1], strict=True):
        data.append([_pdf_text(text, _is_number(row.get(c.key)), c, cell, num) for text, c in zip(row_texts, section.columns, strict=True)])
    if totals_row is not None:
        data.append([Paragraph(_esc(section.totals_label), head) if i == 0 else _pdf_text(text, _is_number(totals_row.get(c.key)), c, head, num, bold=True)
                     for i, (text, c) in enumerate(zip(texts[-1], section.columns, strict=True))])  # fmt: skip
    header_lines = max(1, *(len(_wrap_words(h, w - 2 * CELL_PADDING, size, bold=True)) for h, w in zip(texts[0], widths, strict=True)))
    return data, TableSizes(widths, header_lines * leading + 6, leading + 6)


def _min_widths(texts: list[list[str]], size: float, width: float) -> list[float]:
    """Per column, the widest word (headers in bold) plus padding, long tokens capped."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    cap = width * LONG_TOKEN_SHARE
    widest = [0.0] * len(texts[0])
    for r, row in enumerate(texts):
        font = "KiemkeSans-Bold" if r == 0 else "KiemkeSans"
        for i, text in enumerate(row):
            for word in text.split():
                widest[i] = max(widest[i], min(cap, stringWidth(word, font, size) + 2 * CELL_PADDING + 1))
    return widest


def _fit_widths(natural: list[float], minimum: list[float], total: float) -> list[float] | None:
    """Widths in proportion to the natural ones, each at least its minimum; None when the minima
    alone are wider than the page."""
    if sum(minimum) > total:
        return None
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(natural)) if i not in fixed]
        room = total - sum(fixed.values())
        weight = sum(natural[i] for i in free) or 1.0
        widths = {i: room * natural[i] / weight for i in free}
        short = [i for i in free if widths[i] < minimum[i]]
        if not short:
            return [fixed.get(i, widths.get(i, 0.0)) for i in range(len(natural))]
        for i in short:
            fixed[i] = minimum[i]


def _wrap_words(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap, to estimate a header's height."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font = "KiemkeSans-Bold" if bold else "KiemkeSans"
    lines: list[str] = []
    for word in text.split():
        if lines and stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell_text(value: Any, col: Column) -> str:
    """A cell as printed: numbers in the Vietnamese format (64.000 / 60.485,95), as on every page."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        decimals = 2 if col.number_format == MONEY_FORMAT else 1 if col.number_format == PCT_FORMAT else 0
        if col.number_format == INT_FORMAT and not float(value).is_integer():
            decimals = 1
        return vi_number(value, decimals)
    if isinstance(value, date):
        return vi_date(value)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not (isinstance(value, float) and pd.isna(value))


def _pdf_text(text: str, numeric: bool, col: Column, text_style: Any, num_style: Any, *, bold: bool = False) -> Any:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    if not text:
        return ""
    if not numeric:
        return Paragraph(_esc(text), text_style)
    style = ParagraphStyle("n", parent=num_style, fontName=text_style.fontName) if bold else num_style
    if col.align == "center":
        style = ParagraphStyle("c", parent=style, alignment=1)
    return Paragraph(_esc(text), style)
