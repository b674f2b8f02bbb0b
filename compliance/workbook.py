"""Printable workbooks shared by the procurement plan and the quarterly report: one look for
every printed table (font, number formats, borders, A4 set-up), the Vietnamese number and date
styles, and the columns both documents print, each defined once."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd

from inventory.choices import LABELS_VI
from inventory.io.cells import set_xlsx_value

# ------------------------------------------------------------------------------ rows as printed


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain-Python dicts: NA -> None, numpy scalars -> int/float/str."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple, dict)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------------ one look

FONT_NAME = "Times New Roman"  # the usual face of Vietnamese administrative documents
INT_FORMAT = "#,##0"
MONEY_FORMAT = "#,##0.00"
PCT_FORMAT = "#,##0.0"
# The documents are Vietnamese: their numbers carry the Vietnamese locale (64.000 / 60.485,95), as
# the list exports do in the Vietnamese UI (inventory.io.table_export.FORMATS).
VI_LOCALE = "[$-42A]"


def vi_format(number_format: str) -> str:
    """`number_format` shown in the Vietnamese locale; a bare "0" (years) or text format as it is."""
    if number_format.startswith("[") or "#" not in number_format:
        return number_format
    return VI_LOCALE + number_format


SUBTOTAL = "_subtotal"  # key of a row that SheetWriter.table writes as a group's subtotal


@dataclass(frozen=True)
class Column:
    """One printed column: header, the row key it shows, width, number format, summed or not."""

    header: str
    key: str
    width: float = 14
    number_format: str | None = None
    total: bool = False
    align: str | None = None  # "left", "center", "right"; default by type


class SheetWriter:
    """Writes title rows and bordered tables onto one worksheet, then sets it up for A4 printing."""

    def __init__(self, ws: Any, width_cols: int):
        from openpyxl.styles import Border, Font, PatternFill, Side

        self.ws = ws
        self.width_cols = width_cols
        self.row = 1
        self.first_header_row: int | None = None
        self.widths: dict[str, float] = {}
        thin = Side(style="thin", color="808080")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.font = Font(name=FONT_NAME, size=11)
        self.bold = Font(name=FONT_NAME, size=11, bold=True)
        self.title_font = Font(name=FONT_NAME, size=14, bold=True)
        self.italic = Font(name=FONT_NAME, size=11, italic=True)
        self.header_fill = PatternFill("solid", fgColor="D9E1F2")
        self.total_fill = PatternFill("solid", fgColor="F2F2F2")

    def title(self, text: str, *, size: int = 14, bold: bool = True, italic: bool = False) -> None:
        from openpyxl.styles import Alignment, Font

        cell = set_xlsx_value(self.ws.cell(row=self.row, column=1), text)
        cell.font = Font(name=FONT_NAME, size=size, bold=bold, italic=italic)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if self.width_cols > 1:
            self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.width_cols)
        self.row += 1

    def note(self, text: str, *, bold: bool = False) -> None:
        from openpyxl.styles import Alignment

        cell = set_xlsx_value(self.ws.cell(row=self.row, column=1), text)
        cell.font = self.bold if bold else self.italic
        cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=False)
        self.row += 1

    def blank(self, n: int = 1) -> None:
        self.row += n

    def table(
        self,
        columns: Sequence[Column],
        rows: Iterable[dict[str, Any]],
        *,
        totals_label: str | None = None,
        totals: dict[str, Any] | None = None,
    ) -> int:
        """Header, rows and (when `totals_label`) a bold totals row; returns the header row number.

        Summed columns are computed here unless `totals` gives the values (e.g. NA-aware sums).
        """
        from openpyxl.styles import Alignment

        header_row = self.row
        if self.first_header_row is None:
            self.first_header_row = header_row
        for i, col in enumerate(columns, start=1):
            cell = set_xlsx_value(self.ws.cell(row=header_row, column=i), col.header)
            cell.font, cell.fill, cell.border = self.bold, self.header_fill, self.border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            letter = cell.column_letter
            self.widths[letter] = max(col.width, self.widths.get(letter, 0))
            self.ws.column_dimensions[letter].width = self.widths[letter]
        self.ws.row_dimensions[header_row].height = 45
        self.row += 1
        sums: dict[str, float] = {c.key: 0 for c in columns if c.total}
        for data in rows:
            subtotal = bool(data.get(SUBTOTAL))  # a group's subtotal row: bold, shaded, not summed again
            for i, col in enumerate(columns, start=1):
                value = _plain(data.get(col.key))
                cell = self._cell(self.row, i, value, col, self.bold if subtotal else self.font)
                if subtotal:
                    cell.fill = self.total_fill
                elif col.total and isinstance(value, (int, float)):
                    sums[col.key] += value
            self.row += 1
        if totals_label is not None:
            values = {k: round(v, 2) for k, v in sums.items()} | (totals or {})
            # the label spans the leading columns that carry no total
            span = next((i for i, c in enumerate(columns) if c.key in values), len(columns)) or 1
            for i, col in enumerate(columns, start=1):
                value = totals_label if i == 1 else _plain(values.get(col.key)) if i > span else None
                cell = self._cell(self.row, i, value, col, self.bold)
                cell.fill = self.total_fill
            if span > 1:
                self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=span)
                self.ws.cell(row=self.row, column=1).alignment = Alignment(horizontal="center", vertical="center")
            self.row += 1
        return header_row

    def _cell(self, row: int, column: int, value: Any, col: Column, font: Any) -> Any:
        from openpyxl.styles import Alignment

        cell = set_xlsx_value(self.ws.cell(row=row, column=column), value)
        cell.font, cell.border = font, self.border
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numeric and col.number_format:
            cell.number_format = vi_format(col.number_format)
        align = col.align or ("right" if numeric else "left")
        cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=not numeric)
        return cell

    def autofilter(self, header_row: int, last_row: int, columns: int) -> None:
        """Filter buttons on a table's header, over its rows (not its totals row)."""
        from openpyxl.utils import get_column_letter

        if last_row > header_row:
            self.ws.auto_filter.ref = f"A{header_row}:{get_column_letter(columns)}{last_row}"

    def finish(self, *, freeze: bool = True, repeat_header: bool = True, landscape: bool = True) -> None:
        """Freeze panes under the first table header, repeat it on each printed page, A4, fit width."""
        ws = self.ws
        if self.first_header_row is not None:
            if freeze:
                ws.freeze_panes = ws.cell(row=self.first_header_row + 1, column=1)
            if repeat_header:
                ws.print_title_rows = f"{self.first_header_row}:{self.first_header_row}"
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.oddFooter.center.text = "Trang &P / &N"
        ws.oddFooter.center.font = FONT_NAME


# ------------------------------------------------------------------------------ Vietnamese text


def class_label(cls: str) -> str:
    """A device class as printed (its Vietnamese label)."""
    return LABELS_VI.get(cls, cls)


def vi_number(value: float | int | None, decimals: int = 0) -> str:
    """Vietnamese number style for text: 64.000 and 60.485,95 (empty for NA).

    >>> vi_number(60485.95, 2), vi_number(64000)
    ('60.485,95', '64.000')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def vi_date(d: date) -> str:
    """Vietnamese date style: 22/12/2026."""
    return d.strftime("%d/%m/%Y")


def number_format_for_share(value: float) -> str:
    """A whole percentage without decimals, any other with one."""
    return INT_FORMAT if float(value).is_integer() else PCT_FORMAT


# ------------------------------------------------------------------------------ columns

TO_BUY_LABEL = "Mua sắm dự kiến trong năm"
SHORTFALL_LABEL = "Còn thiếu nếu từ nay không mua thêm"

# How many of the devices the plan looks at are of unknown compliance state: counted among
# "Hiện có đạt chuẩn" when the policy's unknown_counts_toward_schedule is on, left out when off.
UNKNOWN_COUNTED_LABEL = "Trong đó chưa rõ tuân thủ"
UNKNOWN_NOT_COUNTED_LABEL = "Chưa rõ tuân thủ (không tính)"


def unknown_column(counted: bool, width: float = 12) -> Column:
    """The column of a plan's `unknown` figure, titled by what it means under the policy."""
    return Column(UNKNOWN_COUNTED_LABEL if counted else UNKNOWN_NOT_COUNTED_LABEL, "unknown", width, INT_FORMAT, total=True)


# The columns both the plan and the report print: one header and number format per row key. A
# table that wants another width asks `column(key, width)`.
SHARED_COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("Mã đơn vị", "site_code", 12),
        Column("Tên đơn vị", "site_name", 30),
        Column("Loại thiết bị", "class_vi", 28),
        Column("Số lượng được duyệt", "approved", 12, INT_FORMAT, total=True),
        Column("Hiện có đạt chuẩn", "counting", 12, INT_FORMAT, total=True),
        Column("Tỷ lệ kế hoạch (%)", "share_pct", 11, INT_FORMAT),
        Column("Chỉ tiêu", "target", 11, INT_FORMAT, total=True),
        # Two questions, two labels (compliance.planner): what the plan buys in the year, and
        # what the year's target lacks if nothing is bought from now on.
        Column(TO_BUY_LABEL, "to_buy", 12, INT_FORMAT, total=True),
        Column(SHORTFALL_LABEL, "shortfall", 12, INT_FORMAT, total=True),
        Column("Thành tiền (triệu đồng)", "cost", 18, MONEY_FORMAT, total=True),
        # The fundable plan's sites below a target (compliance.fundable): the plan's sheet and the report's.
        Column("Có sau khi mua", "in_place", 12, INT_FORMAT, total=True),
        Column("Còn thiếu so với chỉ tiêu", "missing", 12, INT_FORMAT, total=True),
    )
}


def column(key: str, width: float | None = None) -> Column:
    """The shared column that shows `key`, `width` wide when given.

    >>> column("to_buy", 11).header, column("to_buy", 11).width, column("to_buy").width
    ('Mua sắm dự kiến trong năm', 11, 12)
    """
    shared = SHARED_COLUMNS[key]
    return shared if width is None else replace(shared, width=width)
